"""Labelled frames for training: checked, split, written the way trainers read them.

:func:`check_labels` refuses, in one line each and before any training, what would train a
wrong model quietly: a frame without an energy (forces are checked when the frames are read),
stresses on some frames but not others, and labels whose size says they are in other units
than eV and eV/Å (energies per atom far from the rest, forces beyond any DFT relaxation or MD
frame). :func:`split` draws the train/validation/test frames with the recipe's seed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import FramesError

# Per-atom energies of DFT frames (any elements, any zero) sit within a few eV/atom of each
# other; a frame 15 eV/atom off the median was written in other units (kJ/mol is 96x, kcal/mol
# 23x, Hartree 27x) or as a total where the others are per atom.
MAX_ENERGY_SPREAD_EV_PER_ATOM = 15.0
# Forces of MD and relaxation frames stay below a few tens of eV/Å; 1 Hartree/Bohr is 51.4 eV/Å
# and kcal/mol/Å values are 23x the eV/Å ones.
MAX_FORCE_EV_A = 50.0


def where(atoms) -> str:
    return f"frame {atoms.info.get('frame_index', '?')} of {atoms.info.get('frame_source', 'the frames')}"


def check_labels(frames: list) -> dict:
    """One line on frames a trainer cannot use as given (see the module docstring); else what
    the frames carry: ``{"n_frames", "n_atoms", "stress": bool, "elements": [...]}``."""
    missing = [a for a in frames if a.calc is None or a.calc.results.get("energy") is None]
    if missing:
        raise FramesError(f"{where(missing[0])} has no energy ({len(missing)} of {len(frames)} frames lack one); "
                          f"training needs energies and forces on every frame")
    with_stress = [a for a in frames if a.calc.results.get("stress") is not None]
    if 0 < len(with_stress) < len(frames):
        lacking = next(a for a in frames if a.calc.results.get("stress") is None)
        raise FramesError(f"{len(with_stress)} of {len(frames)} frames carry a stress and {where(lacking)} does not: "
                          f"give stresses for every frame or for none")
    per_atom = np.array([a.calc.results["energy"] / len(a) for a in frames])
    median = float(np.median(per_atom))
    worst = int(np.argmax(np.abs(per_atom - median)))
    if abs(per_atom[worst] - median) > MAX_ENERGY_SPREAD_EV_PER_ATOM:
        raise FramesError(f"{where(frames[worst])}: energy {per_atom[worst]:.4g} eV/atom against a median of "
                          f"{median:.4g} eV/atom over all frames: mixed units (kJ/mol, kcal/mol, Hartree?) or "
                          f"total and per-atom energies mixed; every energy must be a total in eV")
    fmax = [float(np.abs(a.calc.results["forces"]).max()) for a in frames]
    worst = int(np.argmax(fmax))
    if fmax[worst] > MAX_FORCE_EV_A:
        raise FramesError(f"{where(frames[worst])}: a force component of {fmax[worst]:.4g} eV/Å (limit "
                          f"{MAX_FORCE_EV_A:g}): forces must be in eV/Å (not kcal/mol/Å or Hartree/Bohr)")
    return {"n_frames": len(frames), "n_atoms": int(sum(len(a) for a in frames)),
            "stress": bool(with_stress), "elements": sorted({s for a in frames for s in a.get_chemical_symbols()})}


def split(n_frames: int, counts: tuple[int, int, int], seed: int) -> dict[str, list[int]]:
    """Frame indices of the train, validation and test sets: a permutation drawn with ``seed``."""
    order = np.random.default_rng(seed).permutation(n_frames).tolist()
    n_train, n_valid, _ = counts
    return {"train": sorted(order[:n_train]), "validation": sorted(order[n_train:n_train + n_valid]),
            "test": sorted(order[n_train + n_valid:])}


ENERGY_KEY, FORCES_KEY, STRESS_KEY = "REF_energy", "REF_forces", "REF_stress"


def write_training_xyz(path: Path, frames: list) -> Path:
    """Frames as extended XYZ with the labels under ``REF_energy`` (eV), ``REF_forces`` (eV/Å)
    and ``REF_stress`` (eV/Å³, ASE's sign, Voigt): the keys ``mace_run_train`` is told to read
    (plain ``energy``/``forces`` would be taken for a calculator's results by ASE's reader)."""
    from ase.io import write

    out = []
    for a in frames:
        res = a.calc.results
        b = a.copy()
        b.calc = None
        b.info = {ENERGY_KEY: float(res["energy"]), "frame_index": a.info.get("frame_index"),
                  "frame_source": str(a.info.get("frame_source", ""))}
        if res.get("stress") is not None:
            b.info[STRESS_KEY] = np.asarray(res["stress"], dtype=float)
        b.arrays[FORCES_KEY] = np.asarray(res["forces"], dtype=float)
        out.append(b)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    write(str(path), out, format="extxyz")
    return Path(path)
