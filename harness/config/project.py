"""Where systems (``inputs/``), models (``potentials/``) and templates (``templates/``) are found.

Three places are searched in this order; for each file name the first place that has it wins,
so a user's file overrides the shipped one of the same name and every other name falls back:

1. ``$HARNESS_ROOT``, when set;
2. the project folder: the current directory, or its nearest parent, that holds ``inputs/``,
   ``potentials/`` or ``templates/`` (``harness init`` writes one; found from inside a run
   folder too, so a job script that runs ``harness execute .`` sees the same files);
3. the shipped defaults: ``harness/_shipped/`` inside an installed wheel (``setup.py`` puts
   them there at build time), or the checkout itself when the package is imported from a
   source checkout (``pip install -e .``).

This module only looks at the file system and imports nothing heavy (``harness --help`` stays
fast).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError

FOLDERS = ("inputs", "potentials", "templates")  # any of them makes a folder a project
REGISTRIES = (*FOLDERS, "clusters")  # folders whose files are looked up by name
# What ships inside the wheel and what `harness init` copies: folder -> glob patterns. A
# `clusters/` folder (cluster profiles) is shipped and copied the same way as soon as the
# checkout has one. setup.py holds the same table (it cannot import the package at build
# time); tests/test_install.py checks that the wheel carries exactly these files.
SHIPPED_FILES: dict[str, tuple[str, ...]] = {
    "inputs": ("*.yaml",),
    "potentials": ("*.yaml", "recipes/*.yaml"),  # never potentials/.cache/
    "templates": ("**/*.j2",),
    "clusters": ("*.yaml",),
}
PACKAGE_DIR = Path(__file__).resolve().parent.parent
SHIPPED_DIR = PACKAGE_DIR / "_shipped"


@dataclass(frozen=True)
class Place:
    """One place searched: its origin (``HARNESS_ROOT``, ``project``, ``shipped``) and root folder."""

    origin: str
    root: Path


@dataclass(frozen=True)
class Found:
    """A file found in a folder of the search path.

    ``name`` is its path inside the folder (``Cu.yaml``, ``pair/bridge.j2``); ``shadows``
    the origins further down the search path that have a file of the same name.
    """

    name: str
    path: Path
    origin: str
    shadows: tuple[str, ...] = ()


# ---------------------------------------------------------------------- the three places
def checkout_root() -> Path | None:
    """The source checkout the package is imported from (an editable install), else ``None``."""
    root = PACKAGE_DIR.parent
    if (root / "pyproject.toml").is_file() and all((root / f).is_dir() for f in FOLDERS):
        return root
    return None


def shipped_root() -> Path | None:
    """The shipped defaults: ``harness/_shipped`` of a wheel, else the checkout, else ``None``."""
    return SHIPPED_DIR if SHIPPED_DIR.is_dir() else checkout_root()


def is_project(folder: Path) -> bool:
    """Whether ``folder`` holds any of ``inputs/``, ``potentials/``, ``templates/``."""
    return any((folder / name).is_dir() for name in FOLDERS)


def find_project(start: Path | None = None) -> Path | None:
    """The nearest folder from ``start`` (default: the current directory) upwards that is a project."""
    try:
        here = Path(start or Path.cwd()).resolve()
    except FileNotFoundError:  # the current directory was deleted under us
        return None
    for folder in (here, *here.parents):
        if is_project(folder):
            return folder
    return None


def harness_root_env() -> Path | None:
    """``$HARNESS_ROOT`` as a folder (one line if it names none), or ``None`` when not set."""
    env = os.environ.get("HARNESS_ROOT")
    if not env:
        return None
    root = Path(env).expanduser().resolve()
    if not root.is_dir():
        raise ConfigError(f"HARNESS_ROOT={env}: no such folder")
    return root


def places() -> list[Place]:
    """The search path, first place first; a folder that is two places is searched once."""
    out: list[Place] = []
    for origin, root in (("HARNESS_ROOT", harness_root_env()), ("project", find_project()),
                         ("shipped", shipped_root())):
        if root is not None and all(root != p.root for p in out):
            out.append(Place(origin, root))
    return out


def project_root() -> Path:
    """The folder new files are written to and ``inputs_dir()`` & co. point into.

    ``$HARNESS_ROOT``; else the project found from the current directory; else the source
    checkout (editable install); else the current directory (a project starts there: e.g.
    ``harness softening --fit-correction`` writes ``potentials/<model>.yaml`` into it).
    """
    return harness_root_env() or find_project() or checkout_root() or Path.cwd()


def inputs_dir() -> Path:
    """``inputs/`` of :func:`project_root` (where new systems go; lookups search every place)."""
    return project_root() / "inputs"


def potentials_dir() -> Path:
    """``potentials/`` of :func:`project_root` (where new models go; lookups search every place)."""
    return project_root() / "potentials"


def use_as(model_yaml: Path) -> str:
    """How a user names a model YAML a command wrote: ``MODEL=<stem>`` when it sits in the
    project's ``potentials/`` (the registry), else ``--model <path>``."""
    model_yaml = Path(model_yaml)
    if model_yaml.parent.resolve() == potentials_dir().resolve():
        return f"MODEL={model_yaml.stem}"
    return f"--model {model_yaml}"


def templates_dir() -> Path:
    """``templates/`` of :func:`project_root` (lookups search every place: :func:`search_dirs`)."""
    return project_root() / "templates"


# ---------------------------------------------------------------------- lookups
def search_dirs(folder: str) -> list[tuple[Place, Path]]:
    """The existing ``<root>/<folder>`` directories of the search path, first place first."""
    return [(p, p.root / folder) for p in places() if (p.root / folder).is_dir()]


def locate(folder: str, name: str) -> Found | None:
    """The file ``<folder>/<name>`` of the first place that has it (``None`` if none has)."""
    for place, directory in search_dirs(folder):
        path = directory / name
        if path.is_file():
            return Found(name, path, place.origin)
    return None


def available(folder: str, patterns: tuple[str, ...] | None = None) -> dict[str, Found]:
    """Every file of ``folder`` over the search path (first place wins), by name inside the folder.

    ``patterns`` default to what ships in that folder (``*.yaml``, ``**/*.j2``).
    """
    patterns = patterns or SHIPPED_FILES.get(folder, ("*",))
    out: dict[str, Found] = {}
    for place, directory in search_dirs(folder):
        for pattern in patterns:
            for path in sorted(directory.glob(pattern)):
                if not path.is_file() or any(part.startswith(".") for part in path.relative_to(directory).parts):
                    continue
                name = path.relative_to(directory).as_posix()
                if name in out:
                    if place.origin not in out[name].shadows:
                        out[name] = Found(name, out[name].path, out[name].origin, (*out[name].shadows, place.origin))
                else:
                    out[name] = Found(name, path, place.origin)
    return dict(sorted(out.items()))


def registry(folder: str) -> dict[str, Found]:
    """The registry of a YAML folder (``inputs``, ``potentials``): name (file stem) -> file."""
    return {Path(name).stem: found for name, found in available(folder, ("*.yaml",)).items()}


def origin_of(path: Path) -> str:
    """Which place a file is in (``HARNESS_ROOT``, ``project``, ``shipped``), or ``file``."""
    path = Path(path).resolve()
    # the most specific root wins: a venv (and its shipped defaults) may live inside a project
    holders = [p for p in places() if path.is_relative_to(p.root.resolve())]
    return max(holders, key=lambda p: len(p.root.resolve().parts)).origin if holders else "file"


def source_path(source: str) -> Path | None:
    """The file behind a spec's ``source`` (``inputs/Cu.yaml`` is looked up; a path is itself)."""
    folder, _, name = source.partition("/")
    if folder in REGISTRIES and name and "/" not in name and not Path(source).is_absolute():
        found = locate(folder, name)
        return found.path if found else None
    path = Path(source)
    return path if path.is_file() else None


def describe_places() -> list[tuple[str, str]]:
    """The search path as (label, folder or why there is none), for ``harness list``."""
    env_root, project, shipped = harness_root_env(), find_project(), shipped_root()

    def show(root: Path | None, earlier: list[Path | None], note: str = "") -> str:
        same = " (searched once: same folder as above)" if root is not None and root in earlier else ""
        return f"{root}{note}{same}"

    return [
        ("$HARNESS_ROOT", str(env_root) if env_root else "(not set)"),
        ("project", show(project, [env_root]) if project
         else "(none: no inputs/, potentials/ or templates/ in the current directory or above)"),
        ("shipped", show(shipped, [env_root, project], " (the source checkout)" if shipped == checkout_root() else "")
         if shipped else "(none: neither harness/_shipped nor a source checkout)"),
    ]
