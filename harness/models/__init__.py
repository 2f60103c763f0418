"""Models: a :class:`~harness.config.ModelSpec` -> what each engine needs.

Each model family is one :class:`~harness.models.family.Family` object in a module of its own
(:mod:`.classic`: eam, lammps; :mod:`.wheels`: emt, chgnet, sevennet; :mod:`.mace`;
:mod:`.scaled`: linear corrections), named in :mod:`harness.catalog` and imported on first
use, so ``harness --help`` and the classic engine never import torch. Adding a model is one
YAML file; adding a family is one module and one catalog line.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ..config import ModelSpec
from .family import Family, ModelInfo, family, for_elements
from .metadata import model_info


def calculator(spec: ModelSpec):
    """An ASE calculator for the model (energy, forces, stress in eV, eV/Å, eV/Å³)."""
    return family(spec).calculator(spec)


def weight_files(spec: ModelSpec) -> list[Path]:
    """The files that define the model (for hashing and provenance); may download."""
    return family(spec).weights(spec)


def with_precision(spec: ModelSpec, purpose: str) -> tuple[ModelSpec, dict]:
    """The model set to run in a stated precision, and what was chosen and why.

    A YAML's ``dtype`` is the user's choice; otherwise MD runs in the precision the model was
    trained in and everything that differentiates energies (phonons, NEB, relaxation, single
    points) in float64.
    """
    trained = model_info(spec).dtype
    if spec.dtype is not None:
        used, why = spec.dtype, f"stated in {spec.source}"
    elif trained is None:
        return spec, {"trained": None, "used": "float64", "why": f"{spec.family}: computed in float64"}
    elif purpose == "md":
        used, why = trained, "MD runs in the precision the model was trained in"
    else:
        used, why = "float64", f"{purpose} uses float64 by default"
    if spec.base is not None:  # a corrected model runs its base in that precision
        spec = replace(spec, base=replace(spec.base, dtype=used), dtype=used)
    else:
        spec = replace(spec, dtype=used)
    return spec, {"trained": trained, "used": used, "why": why}


def builds_per_structure(spec: ModelSpec) -> bool:
    """Whether a calculator of this model is built for each structure (not shared across them)."""
    return family(spec.base if spec.base is not None else spec).per_structure_calculator


__all__ = ["Family", "ModelInfo", "builds_per_structure", "calculator", "family", "for_elements", "model_info",
           "weight_files", "with_precision"]
