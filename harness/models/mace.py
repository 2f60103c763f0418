"""MACE: foundation weights (downloaded once into the harness cache, :mod:`harness.cache`) or a local file."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from functools import partial
from pathlib import Path

from .._env import prepare_torch, torch_device
from ..config import ModelSpec, list_models, potentials_dir
from ..errors import ConfigError, ModelUnavailableError
from ..files import file_mode
from .family import Family, ModelInfo, torch_load

DOWNLOAD_TIMEOUT_S = 30


def cache_dir() -> Path:
    """Where downloaded MACE weights go (see :mod:`harness.cache`)."""
    from ..cache import cache_dir as harness_cache

    return harness_cache()


def _offline_hint() -> str:
    offline = []
    for name in list_models():
        try:
            from ..config import load_model

            if load_model(name).offline:
                offline.append(name)
        except Exception:  # noqa: BLE001 - a broken YAML must not hide the real error
            continue
    return (
        f"offline models: {', '.join(offline) or '(none)'}; "
        "or give a local file with MODEL=/path/to/file.model "
        f"(or put the file in {cache_dir()})"
    )


def mace_weights(spec: ModelSpec) -> list[Path]:
    """The ``.model`` file: local path, cached download, or mace-torch's own cache; else download."""
    if spec.weights:
        path = Path(spec.weights).expanduser()
        if not path.is_absolute():
            path = potentials_dir() / path
        if not path.is_file():
            raise ModelUnavailableError(f"MACE weights file not found: {path}")
        return [path]
    info = spec.variants.get(spec.variant or "", {})
    url, fname = info.get("url"), info.get("file")
    if not url or not fname:
        raise ModelUnavailableError(f"{spec.source}: variant '{spec.variant}' needs 'url' and 'file'")
    target = cache_dir() / fname
    if target.is_file():
        return [target]
    mace_cache = Path.home() / ".cache" / "mace" / os.path.basename(url)
    if mace_cache.is_file():  # downloaded earlier by mace-torch itself
        return [mace_cache]
    return [_download(url, target, f"{spec.name}:{spec.variant}")]


def _download(url: str, target: Path, label: str) -> Path:
    """Download atomically (to a temporary file, then rename); one clear line offline."""
    target.parent.mkdir(parents=True, exist_ok=True)
    print(f"harness: downloading {label} weights to {target} ...", file=sys.stderr)
    try:
        with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as resp:
            with tempfile.NamedTemporaryFile(dir=target.parent, delete=False, suffix=".part") as tmp:
                shutil.copyfileobj(resp, tmp)
            os.chmod(tmp.name, file_mode())  # the group's cache too (NamedTemporaryFile: 0600)
        os.replace(tmp.name, target)
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ModelUnavailableError(
            f"{label} weights are not cached and cannot be downloaded ({reason}); {_offline_hint()}"
        ) from None
    return target


def mace_calculator(spec: ModelSpec, *, atomic_stresses: bool = False):
    """mace-torch's ASE calculator on the device :func:`torch_device` picks (the GPU a job asked
    for, else the CPU), in the model's dtype; with ``atomic_stresses`` it also gives per-atom
    energies and stresses (``energies``, ``stresses``: the heat flux's terms, at the cost of the
    edge forces)."""
    (path,) = mace_weights(spec)
    prepare_torch()
    from .._quiet import quiet_prints

    try:
        with quiet_prints():
            from mace.calculators import MACECalculator
    except ImportError as exc:
        raise ModelUnavailableError(f"MACE needs mace-torch ({exc}): pip install mace-torch") from None
    return MACECalculator(model_paths=str(path), device=torch_device(), default_dtype=mace_dtype(spec),
                          compute_atomic_stresses=atomic_stresses)


def _mace_info(files: list[Path]) -> ModelInfo:
    """A MACE model's elements (``atomic_numbers``), cutoff (``r_max``) and parameter dtype."""
    from ase.data import chemical_symbols

    from .._quiet import quiet_prints

    with quiet_prints():  # unpickling imports mace, which prints a note about an optional library
        model = torch_load(files[0])
    if not all(hasattr(model, k) for k in ("atomic_numbers", "r_max", "parameters")):
        raise ConfigError(f"model file {files[0]}: not a MACE model (torch loads a {type(model).__name__}, without "
                          f"atomic_numbers and r_max)")
    zs = [int(z) for z in model.atomic_numbers]
    dtype = next(model.parameters()).dtype
    return ModelInfo(elements=tuple(chemical_symbols[z] for z in zs), cutoff_A=float(model.r_max),
                     dtype={"torch.float64": "float64", "torch.float32": "float32"}.get(str(dtype), str(dtype)))


class BatchedMACE:
    """All moving images of a band in one forward pass of a MACE model (a batch of graphs)."""

    name = "MACE, the moving images in one batched forward"

    def __init__(self, calc, atoms):
        self.calc, self.atoms = calc, atoms.copy()

    @classmethod
    def for_model(cls, spec: ModelSpec, atoms) -> BatchedMACE:
        return cls(mace_calculator(spec), atoms)

    def __call__(self, band: list) -> list[tuple[float, object]]:
        """(energy eV, forces eV/Å) of each positions array of ``band`` (the atoms of ``atoms``)."""
        import torch
        from mace import data as mace_data
        from mace.tools import torch_geometric, torch_tools

        calc = self.calc
        keyspec = mace_data.KeySpecification(info_keys=calc.info_keys, arrays_keys=calc.arrays_keys)
        graphs = []
        with torch_tools.default_dtype(calc.default_dtype):
            for positions in band:
                atoms = self.atoms.copy()
                atoms.positions = positions
                config = mace_data.config_from_atoms(atoms, key_specification=keyspec, head_name=calc.head)
                graphs.append(mace_data.AtomicData.from_config(config, z_table=calc.z_table, cutoff=calc.r_max,
                                                               heads=calc.available_heads))
        batch = torch_geometric.Batch.from_data_list(graphs).to(calc.device)
        model = calc.models[0]
        dtype = next(model.parameters()).dtype
        inputs = {k: (v.to(dtype=dtype) if torch.is_tensor(v) and v.is_floating_point() else v)
                  for k, v in batch.to_dict().items()}
        out = model(inputs, compute_stress=False, training=False)
        energies = out["energy"].detach().cpu().numpy() * calc.energy_units_to_eV
        forces = out["forces"].detach().cpu().numpy() * calc.energy_units_to_eV / calc.length_units_to_A
        n = len(self.atoms)
        return [(float(energies[i]), forces[i * n:(i + 1) * n].astype(float)) for i in range(len(band))]

    def close(self) -> None:
        pass


MACE = Family("mace", calculator=mace_calculator, weights=mace_weights, read_info=_mace_info, mliap_export=True,
              atomic_calculator=partial(mace_calculator, atomic_stresses=True), batched_forces=BatchedMACE.for_model,
              torch=True)


def mace_dtype(spec: ModelSpec) -> str:
    """The precision a MACE model runs (and is exported) in: the one chosen, else the one it was
    trained in, else float64."""
    if spec.dtype is not None:
        return spec.dtype
    from .metadata import model_info

    return model_info(spec).dtype or "float64"


MLIAP_SUFFIX = "-mliap_lammps.pt"
EXPORT_RECORD_VERSION = 1


def export_record_path(exported: Path) -> Path:
    """The export's record beside it: ``<model>-mliap_lammps.json`` (what was checked, by whom)."""
    return Path(str(exported)[: -len(".pt")] + ".json")


def _export_versions() -> dict:
    from ..provenance import package_versions

    return package_versions(("mace-torch", "cuequivariance-torch", "cuequivariance", "torch"))


def can_export_mliap() -> tuple[bool, str]:
    """Whether ``mace_create_lammps_model --format=mliap`` can run in this environment, and why not."""
    import importlib.util

    for module, dist in (("cuequivariance_torch", "cuequivariance-torch"), ("cuequivariance", "cuequivariance")):
        if importlib.util.find_spec(module) is None:
            return False, f"{dist} is not installed (pip install -c constraints.txt {dist})"
    if not Path(sys.executable).with_name("mace_create_lammps_model").is_file():
        return False, "mace-torch's mace_create_lammps_model is not installed beside this Python"
    return True, "cuequivariance-torch and mace_create_lammps_model are installed"


def load_mliap(path: Path | str):
    """The exported ML-IAP object, loaded as LAMMPS' ``mliap_unified_connect`` loads a ``.pt`` file
    (``torch.load``, a pickled module: mace-torch and cuequivariance-torch must import)."""
    prepare_torch()
    import torch

    from .._quiet import quiet_prints

    try:
        with quiet_prints():
            return torch.load(str(path), map_location="cpu", weights_only=False)
    except ImportError as exc:
        raise ModelUnavailableError(f"{Path(path).name} needs {exc.name or exc} to load "
                                    "(pip install cuequivariance-torch, as for the export)") from None


def check_export(exported: Path, spec: ModelSpec, dtype: str | None = None) -> dict:
    """Load ``exported`` back and check it is ``spec``'s model as LAMMPS will see it.

    The checks are what ``pair_style mliap unified`` relies on: ``element_types`` (what
    ``pair_coeff * *`` names) equal to the model's elements in the model's order, the pair cutoff
    2 ``rcutfac`` equal to the model's ``r_max``, the precision the export was asked for, and the
    attributes ``mliap_unified_connect`` reads. Raises :class:`ModelUnavailableError` naming the
    first mismatch; returns the record (elements, cutoff, dtype, sha256).
    """
    from ..files import file_sha256
    from .metadata import model_info

    info = model_info(spec)
    unified = load_mliap(exported)
    name = Path(exported).name
    for attr in ("element_types", "rcutfac", "ndescriptors", "nparams", "compute_forces"):
        if getattr(unified, attr, None) is None:
            raise ModelUnavailableError(f"{name}: no '{attr}', which LAMMPS' ML-IAP unified reads")
    elements = [str(e) for e in unified.element_types]
    cutoff = 2.0 * float(unified.rcutfac)  # ML-IAP's dummy descriptor: element radii 1, cut = 2 rcutfac
    got = {"torch.float64": "float64", "torch.float32": "float32"}.get(str(getattr(unified, "dtype", None)),
                                                                         str(getattr(unified, "dtype", None)))
    want = dtype or mace_dtype(spec)
    if info.elements is not None and tuple(elements) != tuple(info.elements):
        raise ModelUnavailableError(f"{name}: elements {' '.join(elements)}, the model has {' '.join(info.elements)}")
    if info.cutoff_A is not None and abs(cutoff - info.cutoff_A) > 1e-9:
        raise ModelUnavailableError(f"{name}: ML-IAP cutoff 2·rcutfac = {cutoff:g} Å, the model's r_max is "
                                    f"{info.cutoff_A:g} Å")
    if got != want:
        raise ModelUnavailableError(f"{name}: exported in {got}, {want} was asked for")
    return {"version": EXPORT_RECORD_VERSION, "file": name, "sha256": file_sha256(Path(exported)),
            "elements": elements, "cutoff_A": cutoff, "dtype": got}


def export_on_record(exported: Path, weights: Path, dtype: str) -> bool:
    """Whether ``exported`` is a checked export of ``weights`` in ``dtype``, as its record beside it
    says (the record names the export's and the weights' sha256): a folder holding one needs no
    new export, and no cuequivariance, on the node that runs it."""
    from ..files import file_sha256, read_json

    record = export_record_path(exported)
    if not (Path(exported).is_file() and record.is_file()):
        return False
    try:
        rec = read_json(record)
    except (OSError, ValueError):
        return False
    return (rec.get("version") == EXPORT_RECORD_VERSION and rec.get("dtype") == dtype
            and rec.get("sha256") == file_sha256(Path(exported)) and rec.get("weights_sha256") == file_sha256(weights))


def export_mliap(spec: ModelSpec, dtype: str | None = None) -> Path:
    """``<model>-mliap_lammps.pt`` for ``pair_style mliap unified``: exported once, cached by the
    model's sha256, loaded back and checked (:func:`check_export`) before it is returned.

    The export is mace-torch's own (``mace_create_lammps_model <model> --format=mliap``), run as
    a subprocess: it converts the model to cuequivariance (needs cuequivariance-torch; on the CPU
    its naive fallback). The cache key is the weights' sha256, the precision and the versions of
    the packages that write the file, so another file, precision or exporter exports again. The
    record of the check (``<model>-mliap_lammps.json``) sits beside the export.
    """
    (path,) = mace_weights(spec)
    from ..cache import cache_dir as harness_cache
    from ..files import file_sha256, read_json, write_json

    dtype = dtype or mace_dtype(spec)
    versions = _export_versions()
    weights_sha = file_sha256(path)
    key = hashlib.sha256(f"{weights_sha}:{dtype}:{sorted(versions.items())}".encode()).hexdigest()[:16]
    folder = harness_cache("mliap", key)
    out = folder / (path.name + MLIAP_SUFFIX)
    record = export_record_path(out)
    if out.is_file() and record.is_file():
        rec = read_json(record)
        if rec.get("version") == EXPORT_RECORD_VERSION and rec.get("sha256") == file_sha256(out):
            return out
    ok, why = can_export_mliap()
    if not ok:
        raise ModelUnavailableError(f"ML-IAP export of {path.name}: {why}")
    # The exporter writes <input>-mliap_lammps.pt beside its input: give it a link named like the
    # weights in a scratch folder of the cache, so the export never lands beside a user's file, and
    # a concurrent export never sees a half-written file (moved into place when checked).
    with tempfile.TemporaryDirectory(dir=folder, prefix=".export-") as tmp:
        link = Path(tmp) / path.name
        link.symlink_to(path.resolve())
        exe = Path(sys.executable).with_name("mace_create_lammps_model")
        cmd = [str(exe), str(link), "--format=mliap", f"--dtype={dtype}"]
        env = dict(os.environ, TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD="1")
        t0 = time.perf_counter()
        # stdin closed: the exporter asks which head to export when a model has several
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL, check=False)
        seconds = time.perf_counter() - t0
        made = Path(str(link) + MLIAP_SUFFIX)
        if proc.returncode != 0 or not made.is_file():
            last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            raise ModelUnavailableError(f"ML-IAP export of {path.name} failed: {last}")
        checked = check_export(made, spec, dtype)
        os.replace(made, out)
    write_json(record, {**checked, "weights": path.name, "weights_sha256": weights_sha, "export_s": round(seconds, 2),
                        "exporter": " ".join(["mace_create_lammps_model", path.name, *cmd[2:]]), "versions": versions})
    return out


def build_small_mace(path: Path | str, elements: list[str], *, channels: int = 8, r_max_A: float = 5.0,
                     num_interactions: int = 2, seed: int = 0, interaction_scale: float = 1.0,
                     atomic_energies_eV: list[float] | None = None) -> Path:
    """Write a small, *untrained* MACE model (a real ScaleShiftMACE, random weights) to ``path``.

    For tests and benchmarks that need the real MACE code path without downloading weights:
    forces are smooth and finite but physically meaningless. Train a real one with
    ``mace_run_train``; this only builds the architecture.
    """
    prepare_torch()
    import numpy as np
    import torch
    from ase.data import atomic_numbers
    from e3nn import o3

    from .._quiet import quiet_prints

    with quiet_prints():
        from mace import modules

    torch.manual_seed(seed)
    zs = sorted(atomic_numbers[e] for e in elements)
    block = modules.interaction_classes["RealAgnosticResidualInteractionBlock"]
    model = modules.ScaleShiftMACE(
        r_max=r_max_A, num_bessel=8, num_polynomial_cutoff=6, max_ell=2,
        interaction_cls=block, interaction_cls_first=block, num_interactions=num_interactions,
        num_elements=len(zs), hidden_irreps=o3.Irreps(f"{channels}x0e + {channels}x1o"),
        MLP_irreps=o3.Irreps(f"{channels}x0e"), gate=torch.nn.functional.silu,
        atomic_energies=np.array(atomic_energies_eV or [-4.0] * len(zs)), avg_num_neighbors=12.0,
        atomic_numbers=zs, correlation=2, radial_type="bessel",
        atomic_inter_scale=interaction_scale, atomic_inter_shift=0.0,
    ).to(torch.float64)
    torch.save(model, str(path))
    return Path(path)
