"""Files the harness writes and reads: atomic writes, strict JSON, sha256 of files.

The one sanitiser of the package (:func:`jsonable`) and the one sha256 helper; a leaf: it
imports nothing of the harness, so every floor may use it.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import tempfile
from pathlib import Path


def file_mode(mode: int = 0o666) -> int:
    """``mode`` less the user's umask: what ``open`` gives a new file."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mode & ~mask


def write_text(path: Path, text: str) -> None:
    """Write atomically: a crash leaves the old file or the new one, never half of one. The file
    gets the permissions ``open`` would give it (0666 less the user's umask): run folders are
    shared on clusters, and mkstemp's own 0600 would hide a deck from the user's group."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, file_mode())
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def copy_atomic(src: Path, dest: Path) -> Path:
    """Copy ``src`` to ``dest`` atomically (a temporary file beside it, then rename): a kill
    leaves the old ``dest`` or the whole new one. Permissions as :func:`write_text` gives."""
    dest = Path(dest)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, file_mode())
        with os.fdopen(fd, "wb") as out, open(src, "rb") as inp:
            shutil.copyfileobj(inp, out)
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return dest


def jsonable(x, digits: int | None = None):
    """``x`` as plain JSON: numpy arrays and scalars to lists and numbers, paths to strings,
    tuples and sets to lists, NaN and ±inf to ``null`` (strict JSON); floats rounded to
    ``digits`` significant digits when given. The one sanitiser of the package."""
    import numpy as np

    if isinstance(x, dict):
        return {str(k): jsonable(v, digits) for k, v in x.items()}
    if isinstance(x, np.ndarray):
        x = x.tolist()
    if isinstance(x, (list, tuple, set)):
        return [jsonable(v, digits) for v in x]
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        x = float(x)
        if not math.isfinite(x):
            return None
        return float(f"{x:.{digits}g}") if digits else x
    if isinstance(x, Path):
        return str(x)
    return x


def write_json(path: Path, data: dict, digits: int | None = None) -> None:
    """JSON, sanitised by :func:`jsonable` and written atomically (see :func:`write_text`)."""
    write_text(path, json.dumps(jsonable(data, digits), indent=2, sort_keys=False, allow_nan=False) + "\n")


def read_json(path: Path) -> dict:
    with open(path) as fh:
        return json.load(fh)


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes (provenance of models, references, templates)."""
    return files_sha256([path])


def files_sha256(paths) -> str | None:
    """sha256 over the bytes of ``paths`` in order (``None`` for none: a model defined by code)."""
    paths = list(paths)
    if not paths:
        return None
    h = hashlib.sha256()
    for p in paths:
        with open(p, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()
