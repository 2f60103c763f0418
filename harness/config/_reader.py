"""Reading YAML mappings with errors that name the file, the dotted key and what is allowed."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigError, UnknownNameError


class Reader:
    """Reads keys from a YAML mapping, naming file and dotted key in every error."""

    def __init__(self, data: Any, source: str, prefix: str = ""):
        if not isinstance(data, dict):
            raise ConfigError(f"{source}: {prefix or 'top level'} must be a mapping, got {type(data).__name__}")
        self.data, self.source, self.prefix = data, source, prefix

    def _key(self, key: str) -> str:
        return f"{self.prefix}.{key}" if self.prefix else key

    def fail(self, key: str, msg: str) -> ConfigError:
        return ConfigError(f"{self.source}: key '{self._key(key)}' {msg}")

    def has(self, key: str) -> bool:
        return key in self.data and self.data[key] is not None

    def raw(self, key: str, default: Any = ...) -> Any:
        if key not in self.data or self.data[key] is None:
            if default is ...:
                raise self.fail(key, "is required")
            return default
        return self.data[key]

    def str(self, key: str, default: Any = ..., allowed: tuple[str, ...] | None = None) -> str:
        value = self.raw(key, default)
        if value is None and default is None:
            return None
        if not isinstance(value, str):
            raise self.fail(key, f"must be a string, got {value!r}")
        if allowed is not None and value not in allowed:
            raise self.fail(key, f"must be one of {', '.join(allowed)}; got {value!r}")
        return value

    def name(self, key: str, default: Any = ...) -> str:
        """A string that will become part of a folder name, a deck or a job script."""
        from ..names import NAME_RULE, is_valid_name

        value = self.str(key, default)
        if not is_valid_name(value):
            raise self.fail(key, f"must be a name of {NAME_RULE}; got {value!r}")
        return value

    def positive(self, key: str, default: Any = ..., integer: bool = False) -> float:
        value = self.raw(key, default)
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0
        if integer:
            ok = ok and float(value).is_integer()
        if not ok:
            kind = "a positive integer" if integer else "a positive number"
            raise self.fail(key, f"must be {kind}, got {value!r}")
        return int(value) if integer else float(value)

    def count(self, key: str, default: Any = ..., minimum: int = 0) -> int:
        value = self.raw(key, default)
        if not (isinstance(value, int) and not isinstance(value, bool) and value >= minimum):
            raise self.fail(key, f"must be an integer >= {minimum}, got {value!r}")
        return value

    def flag(self, key: str, default: Any = ...) -> bool | None:
        value = self.raw(key, default)
        if value is not None and not isinstance(value, bool):
            raise self.fail(key, f"must be true or false, got {value!r}")
        return value

    def nonneg(self, key: str, default: Any = ...) -> float:
        value = self.raw(key, default)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not value >= 0:
            raise self.fail(key, f"must be a number >= 0, got {value!r}")
        return float(value)

    def sub(self, key: str, default: Any = ...) -> Reader:
        return Reader(self.raw(key, default), self.source, self._key(key))

    def unknown(self, allowed: set[str]) -> None:
        extra = sorted(set(self.data) - allowed)
        if extra:
            raise self.fail(extra[0], f"is not a known key (allowed: {', '.join(sorted(allowed))})")


def load_yaml(path: Path) -> Any:
    try:
        with open(path) as fh:
            return yaml.safe_load(fh)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}:{where} malformed YAML: {problem}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from None


def resolve(kind: str, name: str, folder: str) -> Path:
    """A registry name (file stem in ``folder``, searched over the project's places) or a path to a YAML file.

    ``folder`` is ``inputs`` or ``potentials``: the first of ``$HARNESS_ROOT``, the project
    folder and the shipped defaults that has ``<folder>/<name>.yaml`` wins
    (:mod:`harness.config.project`).
    """
    from .project import locate, registry

    candidate = Path(name)
    if candidate.suffix in (".yaml", ".yml") and candidate.is_file():
        return candidate.resolve()
    found = locate(folder, f"{name}.yaml") if name and "/" not in name else None
    if found is not None:
        return found.path
    valid = ", ".join(registry(folder)) or "(none)"
    raise UnknownNameError(f"unknown {kind} '{name}' (valid: {valid})")


def relative_source(path: Path) -> str:
    """Provenance of a YAML file: ``inputs/Cu.yaml`` when looking that name up gives this very
    file (from whichever place), so the source round-trips to the registry name; else its
    absolute path (a file given by path, or one shadowed by a file of the same name earlier
    on the search path)."""
    from .project import REGISTRIES, locate

    path = Path(path).resolve()
    folder = path.parent.name
    found = locate(folder, path.name) if folder in REGISTRIES and path.suffix == ".yaml" else None
    if found is not None and found.path.resolve() == path:
        return f"{folder}/{path.name}"
    return str(path)
