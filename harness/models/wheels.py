"""Model families whose weights ship inside an installed wheel, and ASE's EMT: ``emt``,
``chgnet`` (CHGNet 0.3.0 inside the chgnet wheel), ``sevennet`` (SevenNet checkpoints inside the
sevenn wheel). Offline by construction; each reads what its checkpoint says about itself."""

from __future__ import annotations

from pathlib import Path

from .._env import prepare_torch, torch_device
from ..config import ModelSpec
from ..errors import ConfigError, ModelUnavailableError
from .family import Family, ModelInfo, existing, torch_load

CHGNET_PIN = "chgnet==0.4.2"
SEVENN_PIN = "sevenn==0.10.4"


def package_dir(module: str, pin: str, model: str) -> Path:
    """Where an installed package lives (its weights ship inside), or one line naming the install."""
    import importlib.util

    found = importlib.util.find_spec(module)
    if found is None or not found.origin:
        raise ModelUnavailableError(f"{model} needs the {module} package: pip install {pin}")
    return Path(found.origin).parent


# --------------------------------------------------------------------------- EMT
def _emt_calculator(spec: ModelSpec):
    """ASE's EMT: cheap, analytic, for tests and examples (Al, Cu, Ag, Au, Ni, Pd, Pt, H, C, N, O)."""
    from ase.calculators.emt import EMT

    return EMT()


EMT = Family("emt", calculator=_emt_calculator, weights=lambda spec: [])


# --------------------------------------------------------------------------- CHGNet
def _chgnet_weights(spec: ModelSpec) -> list[Path]:
    if spec.weights:  # a checkpoint file (a staged copy, or the user's own)
        return [existing(spec.weights, "CHGNet checkpoint")]
    version = spec.variant or "0.3.0"
    folder = package_dir("chgnet", CHGNET_PIN, "CHGNet") / "pretrained" / version
    files = sorted(folder.glob("*.pth.tar"))
    if not files:
        raise ModelUnavailableError(f"CHGNet {version} weights are not inside the installed chgnet wheel ({folder})")
    return files


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
        return CHGNetCalculator(model, use_device=torch_device())


def _chgnet_info(files: list[Path]) -> ModelInfo:
    from ase.data import chemical_symbols

    try:
        state = torch_load(files[0])["model"]["state_dict"]
        n = int(state["atom_embedding.embedding.weight"].shape[0])  # one row per element, Z = 1 .. n
    except (KeyError, TypeError, IndexError, AttributeError) as exc:
        raise ConfigError(f"model file {files[0]}: not a CHGNet checkpoint (no {exc} in it)") from None
    return ModelInfo(elements=tuple(chemical_symbols[1:n + 1]), dtype="float32")


# a staged CHGNet keeps its variant: CHGNet.load names the weights by it
CHGNET = Family("chgnet", calculator=_chgnet_calculator, weights=_chgnet_weights, read_info=_chgnet_info,
                staged_keys=("variant",), torch=True)


# --------------------------------------------------------------------------- SevenNet
def _sevennet_weights(spec: ModelSpec) -> list[Path]:
    if spec.weights:
        return [existing(spec.weights, "SevenNet checkpoint")]
    entry = spec.variants.get(spec.variant or "", {})
    if "file" not in entry:
        raise ConfigError(f"{spec.source}: variant '{spec.variant}' names no checkpoint file")
    path = package_dir("sevenn", SEVENN_PIN, "SevenNet") / "pretrained_potentials" / entry["file"]
    if not path.is_file():
        raise ModelUnavailableError(f"SevenNet checkpoint {entry['file']} is not inside the installed sevenn "
                                    f"package ({path.parent.parent}); pip install {SEVENN_PIN}")
    return [path]


def _sevennet_calculator(spec: ModelSpec):
    prepare_torch()
    try:
        from sevenn.calculator import SevenNetCalculator
    except ImportError as exc:
        raise ModelUnavailableError(f"SevenNet needs the sevenn package ({exc}): pip install {SEVENN_PIN}") from None
    (path,) = _sevennet_weights(spec)
    return SevenNetCalculator(model=str(path), device=torch_device())


def _sevennet_info(files: list[Path]) -> ModelInfo:
    try:
        cfg = torch_load(files[0])["config"]
        return ModelInfo(elements=tuple(cfg["chemical_species"]), cutoff_A=float(cfg["cutoff"]), dtype="float32")
    except (KeyError, TypeError, IndexError, ValueError) as exc:
        raise ConfigError(f"model file {files[0]}: not a SevenNet checkpoint (no {exc} in its config)") from None


SEVENNET = Family("sevennet", calculator=_sevennet_calculator, weights=_sevennet_weights, read_info=_sevennet_info,
                  torch=True)
