"""The shape every task's frozen settings share: a request round trip and the checks of the
fields most tasks have.

Each settings class validates in ``__post_init__`` (before any compute), builds the run
folder's name from its parameters, and round-trips through :meth:`Settings.request` /
:meth:`Settings.from_request`, so ``harness execute RUN_DIR`` rebuilds exactly the task that
was rendered, on any machine that has the same inputs. Paths are stored resolved. Fields that
many tasks share are checked once, here, by name (:meth:`Settings.check_common`): ``engine``
against the catalog, ``tag`` and ``name`` as names, ``supercell``/``mesh``/``dim`` as three
positive integers.
"""

from __future__ import annotations

import math
import typing
from dataclasses import asdict, fields
from pathlib import Path

from .. import catalog
from ..errors import ConfigError, UnknownNameError
from ..names import validate_name
from .model import ModelSpec, load_model
from .system import SystemSpec, load_system

TRIPLES = ("supercell", "mesh", "dim")


def check_engine(engine: str) -> str:
    known = catalog.names("engine")
    if engine != "auto" and engine not in known:
        raise UnknownNameError(f"unknown engine '{engine}' (valid: auto, {', '.join(known)})")
    return engine


def resolved(path) -> str | None:
    """An absolute path string (settings are rebuilt elsewhere: relative paths would break)."""
    return None if path is None else str(Path(path).expanduser().resolve())


def check_temperatures(temperatures) -> tuple[float, ...]:
    """Temperatures (K) as a tuple of floats: at least one, each finite and ≥ 0."""
    temps = tuple(temperatures or ())
    if not temps or not all(isinstance(t, (int, float)) and not isinstance(t, bool) and math.isfinite(t) and t >= 0
                            for t in temps):
        raise ConfigError(f"--temperatures must be one or more non-negative numbers of kelvin, got {temperatures!r}")
    return tuple(float(t) for t in temps)


def existing_file(what: str, path) -> str | None:
    if path is None:
        return None
    p = Path(path).expanduser()
    if not p.is_file():
        raise ConfigError(f"{what} {path}: no such file")
    return str(p.resolve())


def check_triple(key: str, value) -> tuple[int, int, int] | None:
    """``value`` as three positive integers (``None`` passes), or one line naming ``--key``."""
    if value is None:
        return None
    if not (len(value) == 3 and all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in value)):
        raise ConfigError(f"--{key} must be three positive integers, got {value!r}")
    return tuple(value)


class Settings:
    """Request round trip for frozen settings dataclasses.

    :meth:`request` turns model and system specs into the arguments that load them again,
    tuples into lists; :meth:`from_request` reverses it from the field types.
    """

    def request(self) -> dict:
        out = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, (ModelSpec, SystemSpec)):
                v = v.argument
            elif isinstance(v, Settings):
                v = v.request()
            elif isinstance(v, tuple):
                v = list(v)
            out[f.name] = v
        return out

    @classmethod
    def from_request(cls, request: dict):
        hints = typing.get_type_hints(cls)
        kwargs = {}
        for f in fields(cls):
            if f.name not in request:
                continue
            v, hint = request[f.name], str(hints[f.name])
            if v is not None:
                if "ModelSpec" in hint:
                    v = load_model(v)
                elif "SystemSpec" in hint:
                    v = load_system(v)
                elif isinstance(hints[f.name], type) and issubclass(hints[f.name], Settings):
                    v = hints[f.name].from_request(v)
                elif isinstance(v, list):
                    v = tuple(v)
            kwargs[f.name] = v
        return cls(**kwargs)

    def to_dict(self) -> dict:
        return asdict(self)

    def check_common(self) -> None:
        """The checks of the fields many tasks share, by name (see the module docstring)."""
        names = {f.name for f in fields(self)}
        if "engine" in names:
            check_engine(self.engine)
        for key in ("tag", "name"):
            if key in names:
                validate_name(key, getattr(self, key))
        for key in TRIPLES:
            if key in names and getattr(self, key) is not None:
                object.__setattr__(self, key, check_triple(key, getattr(self, key)))


