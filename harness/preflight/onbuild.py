"""``harness preflight RUN_DIR --on-build``: the check for the cluster's own LAMMPS build.

What cannot be checked without ML-IAP's Python coupling (the real pair style: LAMMPS' C++
side of ML-IAP, Kokkos device arrays, cuequivariance's CUDA kernels) is checked where the
build is: the real deck, ML-IAP kept, runs a few steps, and the forces and energy of its last
frame are compared with the bridge engine's (the same model as an ASE calculator) on that
frame. On a build without the coupling it says, in one line, what is missing and where to run it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
from ase.io import read

from ..errors import EngineUnavailableError
from ..forces import ForceSession
from ..lammps import probe as lammps_probe
from ..lammps.deck import few_steps, swap_pair_style
from ..lammps.session import Session, deck_lines
from .execute import FEW_STEPS, lammps_message
from .folder import mliap_decks, staged_model
from .result import Check


def on_build(run_dir: Path | str, caps=None, steps: int = FEW_STEPS) -> list[Check]:
    """On a build with ML-IAP Python coupling: the real deck for a few steps, then its forces
    against the bridge engine's on the last frame. Elsewhere: one line saying what is missing.

    Parameters
    ----------
    run_dir : Path or str
        A folder that passed :func:`harness.preflight.preflight`.
    caps : Capabilities, optional
        What this LAMMPS build has (default: :func:`harness.lammps.probe.probe`).
    steps : int
        The steps each deck runs before its last frame is compared.

    Returns
    -------
    list of Check
        ``on-build <deck>`` for every ML-IAP deck of the folder.

    Raises
    ------
    EngineUnavailableError
        This build lacks ML-IAP Python coupling (the message says what to run on the cluster).
    """
    # looked up in the module at call time: what the probe reports may be replaced (tests do)
    caps = caps or lammps_probe.probe()
    if not caps.mliap_python:
        raise EngineUnavailableError(
            "--on-build: this LAMMPS build lacks " + " and ".join(caps.missing_for_mliap())
            + "; run `harness preflight RUN_DIR --on-build` on the cluster, on a GPU node, in the job's "
              "environment (its LAMMPS Python module, mace-torch and cuequivariance-torch)")
    return [_real_deck_against_bridge(Path(run_dir), d, caps, steps) for d in mliap_decks(Path(run_dir))]


def compare_with_bridge(frame_data: Path, forces_eV_A: np.ndarray, energy_eV: float, pair_elements: list[str],
                        spec, scale: float | None = None) -> tuple[float, float]:
    """(max |ΔF| eV/Å, |ΔE| eV) of forces (atom-ID order, the data file's frame) and energy on the
    frame ``frame_data`` (a ``write_data`` file) against the bridge engine's on the same frame.

    Parameters
    ----------
    frame_data : Path
        The frame as LAMMPS wrote it; its atom types are ``pair_elements`` in order.
    forces_eV_A : numpy.ndarray
        n × 3 forces to judge, in atom-ID order.
    energy_eV : float
        The energy to judge.
    pair_elements : list[str]
        The elements of ``pair_coeff * *``: atom type i is ``pair_elements[i-1]``.
    spec : ModelSpec
        The model the bridge evaluates.
    scale : float, optional
        A hybrid/scaled deck's factor: the bridge's forces and energy are scaled by it.
    """
    atoms = read(frame_data, format="lammps-data", atom_style="atomic", units="metal")
    order = np.argsort(atoms.arrays["id"]) if "id" in atoms.arrays else np.arange(len(atoms))
    atoms = atoms[order]
    atoms.set_chemical_symbols([pair_elements[t - 1] for t in atoms.get_array("type")])
    with ForceSession(spec, atoms, engine="bridge", workdir=Path(frame_data).parent / "bridge") as fs:
        ref = fs.result
    c = 1.0 if scale is None else scale  # hybrid/scaled decks: the bridge's model is the base one
    return float(np.abs(np.asarray(forces_eV_A) - c * ref.forces_eV_A).max()), abs(energy_eV - c * ref.energy_eV)


def _real_deck_against_bridge(run_dir: Path, deck_name: str, caps, steps: int) -> Check:
    """The real deck (ML-IAP kept) for a few steps; forces of its last frame against the bridge's."""
    name = f"on-build {deck_name}"
    deck = (run_dir / deck_name).read_text()
    swapped = swap_pair_style(deck, 1.0)
    spec = staged_model(run_dir)
    if spec is None:
        return Check(name, False, "the folder carries no model (model/model.yaml)")
    if caps.kokkos_gpu:
        args = ("-k", "on", "g", "1", "-sf", "kk", "-pk", "kokkos", "newton", "on", "neigh", "half")
    elif caps.kokkos:
        # MACE's ML-IAP object refuses the CPU under Kokkos unless told it may
        os.environ.setdefault("MACE_ALLOW_CPU", "true")
        args = ("-k", "on", "t", "1", "-sf", "kk", "-pk", "kokkos", "newton", "on", "neigh", "half")
    else:
        args = ()
    text = "".join(few_steps(cmd, steps) + "\n" for _, cmd in deck_lines(deck))
    with tempfile.TemporaryDirectory(prefix="harness-onbuild-") as tmp:
        scratch = Path(tmp) / "run"
        shutil.copytree(run_dir, scratch, symlinks=True,
                        ignore=shutil.ignore_patterns("figures", "*.lammpstrj", "log*", "restart.*"))
        with Session(scratch, log="log.onbuild.lammps", extra_args=args) as session:
            try:
                session.execute(text + "write_data onbuild.frame.data\n")
            except Exception as exc:  # noqa: BLE001 - the finding
                return Check(name, False, f"the real deck failed: {lammps_message(exc)}")
            n = int(session.lmp.get_natoms())
            f = np.ctypeslib.as_array(session.lmp.gather_atoms("f", 1, 3)).reshape(n, 3).copy()
            pe = float(session.lmp.get_thermo("pe"))
        df, de = compare_with_bridge(scratch / "onbuild.frame.data", f, pe, swapped.pair_elements, spec, swapped.scale)
    tol = 1e-6 if (spec.dtype or "float64") == "float64" else 1e-3
    ok = df <= tol and de <= tol * max(1, n)
    return Check(name, ok, f"{steps} steps of the real deck ({' '.join(args) or 'no accelerator'}); last frame: "
                           f"max |ΔF| {df:.2e} eV/Å, |ΔE| {de:.2e} eV against the bridge (tolerance {tol:g} eV/Å)")
