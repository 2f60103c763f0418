"""Jinja rendering of LAMMPS decks and job scripts from ``templates/``.

StrictUndefined: a variable the template needs but the config lacks is an error at render
time, never an empty string in a deck.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import jinja2

from ..config import templates_dir


def environment(folder: Path | None = None) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(folder or templates_dir())),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["g"] = lambda x: f"{x:g}"
    return env


def render(name: str, **context) -> str:
    """Render ``templates/<name>`` with ``context``."""
    try:
        return environment().get_template(name).render(**context)
    except jinja2.UndefinedError as exc:
        raise ValueError(f"template {name}: {exc.message}") from None


def template_sha256(*names: str) -> dict[str, str]:
    """sha256 of each template file as read from disk (provenance)."""
    out = {}
    for name in names:
        out[name] = hashlib.sha256((templates_dir() / name).read_bytes()).hexdigest()
    return out
