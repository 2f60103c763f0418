"""What a model file says about itself, read before any compute: the elements it covers, its
cutoff and the precision it was trained in.

Each family reads its own format (a MACE model's ``atomic_numbers``, ``r_max`` and parameter
dtype; a SevenNet checkpoint's ``chemical_species``; CHGNet's atom embedding, one row per
element from H; a registry YAML's ``elements``/``files`` for EAM and EMT). Reading a torch
file costs seconds, so the answer is cached by the files' sha256 in the harness cache
(``metadata/<sha256>.json``) and in this process: commands that only need to refuse an
uncovered element stay fast.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable

from ..config import ModelSpec
from ..errors import ConfigError, StructureError

CACHE_VERSION = 1


@dataclass(frozen=True)
class ModelInfo:
    """``elements``: the element symbols the model covers (``None``: not limited, or not stated);
    ``cutoff_A``: its interaction cutoff; ``dtype``: the precision its weights are stored in."""

    elements: tuple[str, ...] | None = None
    cutoff_A: float | None = None
    dtype: str | None = None


_READERS: dict[str, Callable[[list[Path]], ModelInfo]] = {}


def reader(family: str):
    def deco(fn):
        if family in _READERS:
            raise ValueError(f"metadata reader for {family!r} registered twice")
        _READERS[family] = fn
        return fn

    return deco


def _torch_load(path: Path):
    """``torch.load`` of a model file; one line when it is not one (an empty or text file, a
    truncated download: torch raises EOFError, UnpicklingError, RuntimeError ...)."""
    from ..config.model import check_torch_file
    from .._env import prepare_torch

    check_torch_file(Path(path), f"model file {path}")
    prepare_torch()
    import torch

    try:
        return torch.load(str(path), map_location="cpu", weights_only=False)
    except Exception as exc:  # torch and pickle raise many types; a bad file is input
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:120]
        raise ConfigError(f"model file {path}: torch cannot load it ({type(exc).__name__}: {first})") from None


@reader("mace")
def _mace(files: list[Path]) -> ModelInfo:
    from ase.data import chemical_symbols

    from .._quiet import quiet_prints

    with quiet_prints():  # unpickling imports mace, which prints a note about an optional library
        model = _torch_load(files[0])
    if not all(hasattr(model, k) for k in ("atomic_numbers", "r_max", "parameters")):
        raise ConfigError(f"model file {files[0]}: not a MACE model (torch loads a {type(model).__name__}, without "
                          f"atomic_numbers and r_max)")
    zs = [int(z) for z in model.atomic_numbers]
    dtype = next(model.parameters()).dtype
    return ModelInfo(elements=tuple(chemical_symbols[z] for z in zs), cutoff_A=float(model.r_max),
                     dtype={"torch.float64": "float64", "torch.float32": "float32"}.get(str(dtype), str(dtype)))


@reader("sevennet")
def _sevennet(files: list[Path]) -> ModelInfo:
    try:
        cfg = _torch_load(files[0])["config"]
        return ModelInfo(elements=tuple(cfg["chemical_species"]), cutoff_A=float(cfg["cutoff"]), dtype="float32")
    except (KeyError, TypeError, IndexError, ValueError) as exc:
        raise ConfigError(f"model file {files[0]}: not a SevenNet checkpoint (no {exc} in its config)") from None


@reader("chgnet")
def _chgnet(files: list[Path]) -> ModelInfo:
    from ase.data import chemical_symbols

    try:
        state = _torch_load(files[0])["model"]["state_dict"]
        n = int(state["atom_embedding.embedding.weight"].shape[0])  # one row per element, Z = 1 .. n
    except (KeyError, TypeError, IndexError, AttributeError) as exc:
        raise ConfigError(f"model file {files[0]}: not a CHGNet checkpoint (no {exc} in it)") from None
    return ModelInfo(elements=tuple(chemical_symbols[1:n + 1]), dtype="float32")


@reader("eam")
def _eam(files: list[Path]) -> ModelInfo:
    """The cutoff of EAM files: funcfl line 3 and setfl line 5 end with it (Å)."""
    cutoffs = []
    for f in files:
        lines = Path(f).read_text(errors="replace").splitlines()
        try:
            words = lines[2].split()
            funcfl = len(words) == 5 and words[0].replace(".", "").isdigit()
            cutoffs.append(float((words if funcfl else lines[4].split())[4]))
        except (IndexError, ValueError):
            continue
    return ModelInfo(cutoff_A=max(cutoffs) if cutoffs else None, dtype=None)


def _cache_file(digest: str) -> Path:
    from ..cache import cache_dir

    return cache_dir("metadata") / f"{digest}.json"


@lru_cache(maxsize=64)
def _info_of_files(family: str, files: tuple[str, ...], digest: str) -> ModelInfo:
    path = _cache_file(digest)
    if path.is_file():
        data = json.loads(path.read_text())
        if data.get("version") == CACHE_VERSION:
            return ModelInfo(**{k: (tuple(v) if k == "elements" and v is not None else v)
                                for k, v in data["info"].items()})
    info = _READERS[family]([Path(f) for f in files])
    from ..files import write_json

    write_json(path, {"version": CACHE_VERSION, "family": family, "files": list(files), "info": asdict(info)})
    return info


def model_info(spec: ModelSpec) -> ModelInfo:
    """What ``spec`` covers, from its YAML where it says, else from its file (cached)."""
    if spec.family == "scaled":
        return model_info(spec.base)
    declared = ModelInfo(elements=spec.elements, cutoff_A=spec.cutoff_A)
    if spec.family not in _READERS or (spec.elements is not None and spec.cutoff_A is not None):
        return declared  # the YAML says all (or the family has nothing to read)
    from ..files import files_sha256
    from . import weight_files

    files = weight_files(spec)
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
