"""MACE: foundation weights (downloaded once into the harness cache, :mod:`harness.cache`) or a local file."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from ..config import ModelSpec, list_models, potentials_dir
from ..errors import ModelUnavailableError
from .._env import prepare_torch

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
        except Exception:  # a broken YAML must not hide the real error
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
        os.replace(tmp.name, target)
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ModelUnavailableError(
            f"{label} weights are not cached and cannot be downloaded ({reason}); {_offline_hint()}"
        ) from None
    return target


def mace_calculator(spec: ModelSpec):
    """mace-torch's ASE calculator on the CPU, in the model's dtype."""
    (path,) = mace_weights(spec)
    prepare_torch()
    from .._quiet import quiet_prints

    try:
        with quiet_prints():
            from mace.calculators import MACECalculator
    except ImportError as exc:
        raise ModelUnavailableError(f"MACE needs mace-torch ({exc}): pip install mace-torch") from None
    dtype = spec.dtype
    if dtype is None:  # not chosen: the precision the model was trained in
        from .metadata import model_info

        dtype = model_info(spec).dtype or "float64"
    return MACECalculator(model_paths=str(path), device="cpu", default_dtype=dtype)


def export_mliap(spec: ModelSpec, dtype: str | None = None) -> Path:
    """``<model>-mliap_lammps.pt`` for ``pair_style mliap unified``, exported once and cached.

    Uses mace-torch's own exporter (``mace_create_lammps_model --format=mliap``), which needs
    cuequivariance-torch installed.
    """
    (path,) = mace_weights(spec)
    # The exporter writes <input>-mliap_lammps.pt beside its input: give it a link named like
    # the weights in a cache folder of their own (keyed by file, size, mtime and dtype), so the
    # export never lands beside a user's file nor in an installed package, and a replaced
    # weights file is exported again.
    from ..cache import cache_dir as harness_cache

    stat = path.stat()
    key = f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}:{dtype or spec.dtype}"
    link = harness_cache("mliap", hashlib.sha256(key.encode()).hexdigest()[:16]) / path.name
    out = Path(str(link) + "-mliap_lammps.pt")
    if out.is_file():
        return out
    try:
        link.symlink_to(path.resolve())
    except FileExistsError:  # linked by an earlier (or a concurrent) export
        pass
    exe = Path(sys.executable).with_name("mace_create_lammps_model")
    cmd = [str(exe), str(link), "--format=mliap", f"--dtype={dtype or spec.dtype}"]
    env = dict(os.environ, TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD="1")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0 or not out.is_file():
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise ModelUnavailableError(f"ML-IAP export of {path.name} failed: {last} (needs: pip install cuequivariance-torch)")
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
