"""Jinja rendering of LAMMPS decks and job scripts from ``templates/``.

Templates are looked up like systems and models (:mod:`harness.config.project`): in
``$HARNESS_ROOT/templates``, then the project folder's ``templates/``, then the shipped ones;
the first that has a name wins, for ``{% include %}`` too, so a project may override one
template (``pair/classic.j2``) and keep the others.

StrictUndefined: a variable the template needs but the config lacks is an error at render
time, never an empty string in a deck.
"""

from __future__ import annotations

import hashlib
import shlex
from pathlib import Path

import jinja2

from ..config.project import locate, search_dirs
from ..errors import ConfigError


def environment(folder: Path | None = None) -> jinja2.Environment:
    """The Jinja environment of ``folder``, or of every ``templates/`` on the search path."""
    searchpath = [str(folder)] if folder else [str(d) for _, d in search_dirs("templates")]
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(searchpath),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["g"] = lambda x: f"{x:g}"
    env.filters["q"] = shlex.quote  # a value placed in a shell line of a job script
    return env


def render(name: str, **context) -> str:
    """Render ``templates/<name>`` with ``context``."""
    try:
        return environment().get_template(name).render(**context)
    except jinja2.UndefinedError as exc:
        raise ValueError(f"template {name}: {exc.message}") from None
    except jinja2.TemplateNotFound as exc:
        raise ConfigError(f"template {exc.name} not found in any templates/ folder "
                          "(see `harness list templates`)") from None


def template_sha256(*names: str) -> dict[str, str]:
    """sha256 of each template file as read from disk: the file the lookup picks (provenance)."""
    out = {}
    for name in names:
        found = locate("templates", name)
        if found is None:
            raise ConfigError(f"template {name} not found in any templates/ folder (see `harness list templates`)")
        out[name] = hashlib.sha256(found.path.read_bytes()).hexdigest()
    return out
