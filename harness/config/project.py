"""Where the project's ``inputs/``, ``potentials/`` and ``templates/`` are."""

from __future__ import annotations

import os
from pathlib import Path


def project_root() -> Path:
    """The folder holding ``inputs/``, ``potentials/`` and ``templates/``.

    ``$HARNESS_ROOT`` wins; then the current directory if it has ``inputs/``; then the
    checkout the package was installed from (editable install, the normal case).
    """
    env = os.environ.get("HARNESS_ROOT")
    if env:
        return Path(env).resolve()
    cwd = Path.cwd()
    if (cwd / "inputs").is_dir() and (cwd / "potentials").is_dir():
        return cwd
    return Path(__file__).resolve().parent.parent.parent


def inputs_dir() -> Path:
    return project_root() / "inputs"


def potentials_dir() -> Path:
    return project_root() / "potentials"


def templates_dir() -> Path:
    return project_root() / "templates"
