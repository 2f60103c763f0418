"""What a model file says about itself, read before any compute: the elements it covers, its
cutoff and the precision it was trained in.

Each family reads its own format (:attr:`harness.models.family.Family.read_info`: a MACE
model's ``atomic_numbers``, ``r_max`` and parameter dtype; a SevenNet checkpoint's
``chemical_species``; CHGNet's atom embedding, one row per element from H; the cutoff in an EAM
file); a registry YAML's ``elements``/``files`` say it for the others. Reading a torch file
costs seconds, so the answer is cached by the files' sha256 in the harness cache
(``metadata/<sha256>.json``) and in this process: commands that only need to refuse an
uncovered element stay fast.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from functools import lru_cache
from pathlib import Path

from ..cache import cache_dir
from ..config import ModelSpec
from ..errors import StructureError
from ..files import files_sha256, write_json
from .family import ModelInfo, family

CACHE_VERSION = 1


def _cache_file(digest: str) -> Path:

    return cache_dir("metadata") / f"{digest}.json"


@lru_cache(maxsize=64)
def _info_of_files(family_name: str, files: tuple[str, ...], digest: str) -> ModelInfo:
    path = _cache_file(digest)
    if path.is_file():
        data = json.loads(path.read_text())
        if data.get("version") == CACHE_VERSION:
            return ModelInfo(**{k: (tuple(v) if k == "elements" and v is not None else v)
                                for k, v in data["info"].items()})
    info = family(family_name).read_info([Path(f) for f in files])
    write_json(path, {"version": CACHE_VERSION, "family": family_name, "files": list(files), "info": asdict(info)})
    return info


def model_info(spec: ModelSpec) -> ModelInfo:
    """What ``spec`` covers, from its YAML where it says, else from its file (cached). A
    corrected model (``spec.base``) covers what its base covers."""
    if spec.base is not None:
        return model_info(spec.base)
    declared = ModelInfo(elements=spec.elements, cutoff_A=spec.cutoff_A)
    fam = family(spec)
    if fam.read_info is None or (spec.elements is not None and spec.cutoff_A is not None):
        return declared  # the YAML says all (or the family has nothing to read)
    files = fam.weights(spec)
    read = _info_of_files(spec.family, tuple(str(f) for f in files), files_sha256(files))
    return ModelInfo(elements=spec.elements if spec.elements is not None else read.elements,
                     cutoff_A=spec.cutoff_A or read.cutoff_A, dtype=read.dtype)


def check_covers(spec: ModelSpec, elements, source: str = "") -> None:
    """One line naming the elements of a structure the model does not cover, and those it does."""
    covered = model_info(spec).elements
    if covered is None:
        return
    missing = [el for el in dict.fromkeys(elements) if el not in covered]
    if missing:
        where = f" of the {source}" if source else ""
        raise StructureError(f"model {spec.name} does not cover element(s) {', '.join(missing)}{where} "
                             f"(it covers: {', '.join(covered)})")
