"""Which template, system and model files a task was rendered from: ``summary.json``'s ``source_files``.

Each entry names the file's kind (``template``, ``system``, ``structure``, ``model``), the
name it was asked by, where it came from (``HARNESS_ROOT``, ``project``, ``shipped`` or
``file`` for a path given directly: :mod:`.project`), its absolute path and its sha256, so a
run folder says which of the three places every file was read from.
"""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from pathlib import Path

from ..files import file_sha256
from .model import ModelSpec
from .project import locate, origin_of, source_path
from .system import SystemSpec


def file_entry(kind: str, name: str, path: Path | None, origin: str | None = None) -> dict:
    """One entry: kind, name, origin, absolute path and sha256 (``missing`` when there is no file)."""
    if path is None or not Path(path).is_file():
        return {"kind": kind, "name": name, "origin": "missing", "path": None, "sha256": None}
    path = Path(path)
    return {"kind": kind, "name": name, "origin": origin or origin_of(path), "path": str(path.resolve()),
            "sha256": file_sha256(path)}


def _specs(value, seen: set[int]):
    """The system and model specs inside frozen settings (nested settings, lists, scaled bases)."""

    if id(value) in seen:
        return
    seen.add(id(value))
    if isinstance(value, (SystemSpec, ModelSpec)):
        yield value
        if isinstance(value, ModelSpec) and value.base is not None:
            yield from _specs(value.base, seen)
    elif is_dataclass(value) and not isinstance(value, type):
        for f in fields(value):
            yield from _specs(getattr(value, f.name), seen)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _specs(item, seen)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _specs(item, seen)


def source_files(settings, templates: tuple[str, ...] = ()) -> list[dict]:
    """The files ``settings`` (a task's frozen settings) and its ``templates`` were read from.

    Parameters
    ----------
    settings
        A task's settings dataclass; every system and model spec inside it is recorded.
    templates
        Template names as the task renders them (``md.in.j2``, ``pair/classic.j2``).

    Returns
    -------
    list of dict
        ``{"kind", "name", "origin", "path", "sha256"}`` per file, each file once.
    """

    out: list[dict] = []
    for name in templates:
        found = locate("templates", name)
        out.append(file_entry("template", name, found.path if found else None, found.origin if found else None))
    for spec in _specs(settings, set()):
        kind = "system" if isinstance(spec, SystemSpec) else "model"
        out.append(file_entry(kind, spec.name, source_path(spec.source)))
        if kind == "system" and spec.structure.file:
            out.append(file_entry("structure", spec.name, Path(spec.structure.file)))
    unique: dict[tuple, dict] = {}
    for entry in out:
        unique.setdefault((entry["kind"], entry["path"] or entry["name"]), entry)
    return list(unique.values())
