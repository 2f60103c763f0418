"""What differs between model families, held in one object per family.

A :class:`Family` says how a model of its family becomes an ASE calculator, which files define
it, what those files say about it (elements, cutoff, trained precision), and the few traits the
rest of the harness asks about: whether its files are per element (EAM funcfl: a structure uses
its elements' files), whether a calculator must be built per structure, whether it exports to
ML-IAP. Each family lives in its own module (:mod:`.classic`, :mod:`.wheels`, :mod:`.mace`,
:mod:`.scaled`) and is found by name through :mod:`harness.catalog`: nothing branches on a
family's name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .. import catalog
from .._env import prepare_torch
from ..config import ModelSpec
from ..config.model import check_torch_file
from ..errors import ConfigError, ModelUnavailableError


@dataclass(frozen=True)
class ModelInfo:
    """``elements``: the element symbols the model covers (``None``: not limited, or not stated);
    ``cutoff_A``: its interaction cutoff; ``dtype``: the precision its weights are stored in."""

    elements: tuple[str, ...] | None = None
    cutoff_A: float | None = None
    dtype: str | None = None


@dataclass(frozen=True)
class Family:
    """One model family (see the module docstring).

    Attributes
    ----------
    name : str
        As a model YAML's ``family:`` names it.
    calculator : callable(ModelSpec) -> ase Calculator
        Energy, forces and stress in eV, eV/Å, eV/Å³.
    weights : callable(ModelSpec) -> list of Path
        The files that define the model (hashed, staged into run folders); may download.
    read_info : callable(list of Path) -> ModelInfo, optional
        What the files say about the model; ``None``: they say nothing the YAML does not.
    per_element_files : bool
        The model's ``files`` are one per element and a structure uses only its own (EAM funcfl).
    per_structure_calculator : bool
        A calculator is built for each structure's elements (ASE's EAM reads one funcfl file).
    atomic_calculator : callable(ModelSpec) -> ase Calculator, optional
        A calculator that also gives per-atom energies and stresses (``energies`` in eV,
        ``stresses`` in eV/Å³, Voigt, summing to the totals): what the bridge hands LAMMPS for
        the heat flux. ``None``: the family's calculator has none.
    batched_forces : callable(ModelSpec, Atoms) -> evaluator, optional
        Energies and forces of many positions of one structure in one model call (an NEB band's
        images): ``evaluator(list of positions) -> [(energy eV, forces eV/Å), ...]``, with
        ``name`` and ``close()``. ``None``: the family has none.
    mliap_export : bool
        The model exports to LAMMPS' ML-IAP unified format (``mace_create_lammps_model``).
    staged_keys : tuple of str
        Keys of the registry YAML a run folder's staged copy keeps besides the files.
    torch : bool
        The calculator runs on torch: on a GPU when the process sees one
        (:func:`harness._env.torch_device`), so the bridge's jobs ask for one.
    """

    name: str
    calculator: Callable[[ModelSpec], object]
    weights: Callable[[ModelSpec], list[Path]]
    read_info: Callable[[list[Path]], ModelInfo] | None = None
    per_element_files: bool = False
    per_structure_calculator: bool = False
    atomic_calculator: Callable[[ModelSpec], object] | None = None
    batched_forces: Callable[[ModelSpec, object], object] | None = None
    mliap_export: bool = False
    staged_keys: tuple[str, ...] = field(default=())
    torch: bool = False


def family(spec: ModelSpec | str) -> Family:
    """The :class:`Family` of a model (or of a family name)."""
    name = spec if isinstance(spec, str) else spec.family
    try:
        return catalog.load("model family", name)
    except ConfigError:
        source = "" if isinstance(spec, str) else f"{spec.source}: "
        raise ConfigError(f"{source}no loader for family '{name}' (known: "
                          f"{', '.join(catalog.names('model family'))})") from None


def runs_on_torch(spec: ModelSpec) -> bool:
    """Whether the model's calculator is a torch one (a corrected model: its base's)."""
    return family(spec.base if spec.base is not None else spec).torch


def torch_load(path: Path):
    """``torch.load`` of a model file; one line when it is not one (an empty or text file, a
    truncated download: torch raises EOFError, UnpicklingError, RuntimeError ...)."""

    check_torch_file(Path(path), f"model file {path}")
    prepare_torch()
    import torch

    try:
        return torch.load(str(path), map_location="cpu", weights_only=False)
    except Exception as exc:  # noqa: BLE001 - torch and pickle raise many types; a bad file is input
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:120]
        raise ConfigError(f"model file {path}: torch cannot load it ({type(exc).__name__}: {first})") from None


def existing(path: str, what: str) -> Path:
    """``path`` as a file that exists, or one line naming ``what`` is missing."""

    p = Path(path).expanduser()
    if not p.is_file():
        raise ModelUnavailableError(f"{what} not found: {p}")
    return p


def for_elements(spec: ModelSpec, elements: list[str]) -> ModelSpec:
    """The model as used on a structure of these elements: a family whose files are per
    element (EAM funcfl) keeps those of the structure; any other model is returned as is."""
    from dataclasses import replace

    if not family(spec).per_element_files:
        return spec
    return replace(spec, files={el: spec.files[el] for el in elements if el in spec.files})
