"""High-energy configurations to label with DFT: frames of high-temperature MD with the model.

Softening shows where the PES is sampled away from equilibrium (Deng et al. 2025), so the
frames worth labelling are those of hot MD. We run the existing MD task (LAMMPS, any engine),
take evenly spaced frames of ``traj.lammpstrj`` after equilibration and export them as one
extended XYZ file and one ``frame_XXX/POSCAR`` per frame, ready for a DFT code.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..config import md_settings
from ..errors import ConfigError, SimulationError
from ..runs import now, read_summary, write_json


def dump_timesteps(path: Path) -> list[int]:
    """The ``ITEM: TIMESTEP`` values of a LAMMPS text dump, in file order."""
    steps, grab = [], False
    with open(path) as fh:
        for line in fh:
            if grab:
                steps.append(int(line.split()[0]))
                grab = False
            elif line.startswith("ITEM: TIMESTEP"):
                grab = True
    return steps


def read_md_frames(run_dir: Path) -> tuple[list, list[int], dict]:
    """All frames of a run's ``traj.lammpstrj`` with element symbols; their steps; the summary."""
    from ase.io import read

    run_dir = Path(run_dir)
    summary = read_summary(run_dir)
    traj = run_dir / "traj.lammpstrj"
    if not traj.is_file() or not summary:
        raise SimulationError(f"{run_dir}: no traj.lammpstrj or summary.json to sample frames from")
    order = summary["structure"]["elements_type_order"]
    frames = read(str(traj), index=":", format="lammps-dump-text")
    steps = dump_timesteps(traj)
    if len(steps) != len(frames):
        raise SimulationError(f"{traj}: {len(frames)} frames but {len(steps)} time steps")
    for atoms in frames:
        # without an element column ASE reads LAMMPS types as atomic numbers: type i -> order[i-1]
        types = atoms.get_atomic_numbers()
        atoms.set_chemical_symbols([order[t - 1] for t in types])
        atoms.pbc = True
        atoms.wrap()
    return frames, steps, summary


def select(steps: list[int], timestep_fs: float, equilibration_ps: float, n: int) -> list[int]:
    """Indices of ``n`` evenly spaced frames with time > equilibration (all of them if fewer)."""
    times_ps = np.asarray(steps) * timestep_fs / 1000.0
    eligible = np.flatnonzero(times_ps > equilibration_ps + 1e-12)
    if len(eligible) == 0:
        raise SimulationError(f"no frames after the equilibration ({equilibration_ps:g} ps): run longer (--steps)")
    if n >= len(eligible):
        return eligible.tolist()
    pick = np.unique(np.round(np.linspace(0, len(eligible) - 1, n)).astype(int))
    return eligible[pick].tolist()


def export(frames, indices: list[int], steps: list[int], out_dir: Path, meta: dict) -> dict:
    """``frames.extxyz`` (positions, model forces as ``model_forces``), ``frame_XXX/POSCAR``, ``frames.json``."""
    from ase.io import write

    out_dir.mkdir(parents=True, exist_ok=True)
    picked = []
    for k, i in enumerate(indices):
        src = frames[i]
        # positions, cell, symbols only; the model's forces kept apart from (future) labels
        from ase import Atoms

        atoms = Atoms(src.get_chemical_symbols(), positions=src.positions, cell=src.cell, pbc=True)
        if src.calc is not None and "forces" in src.calc.results:
            atoms.arrays["model_forces"] = np.array(src.calc.results["forces"])
        atoms.info = {"md_step": int(steps[i]), "model": meta["model"], "temperature_K": meta["temperature_K"]}
        picked.append(atoms)
        folder = out_dir / f"frame_{k:03d}"
        folder.mkdir(exist_ok=True)
        write(folder / "POSCAR", atoms, format="vasp", direct=True, sort=False)
    write(out_dir / "frames.extxyz", picked, format="extxyz")
    listing = {**meta, "created": now(), "n_frames": len(picked),
               "frames": [{"folder": f"frame_{k:03d}", "md_step": int(steps[i]), "dump_index": int(i)}
                          for k, i in enumerate(indices)],
               "files": {"extxyz": "frames.extxyz", "poscar": "frame_XXX/POSCAR"},
               "note": "positions only: label them with DFT; model_forces in the extxyz are the sampling model's"}
    write_json(out_dir / "frames.json", listing)
    return listing


def sample_high_energy(system: str, model: str, *, temperature_K: float, frames: int = 10, preset: str | None = None,
                       steps: int | None = None, engine: str = "auto", seed: int = 12345, tag: str | None = None,
                       runs_dir: str | Path = "runs", out_dir: str | Path | None = None, overwrite: bool = False,
                       progress: bool = True) -> tuple[Path, dict]:
    """Hot MD with the model, then export evenly spaced post-equilibration frames for labelling."""
    from .md import MDTask

    if not (isinstance(frames, int) and frames > 0):
        raise ConfigError(f"--frames must be a positive integer, got {frames!r}")
    settings = md_settings(system, model, preset, temperature_K=temperature_K, steps=steps, engine=engine, seed=seed,
                           tag=tag or f"highenergy-T{temperature_K:g}")
    task = MDTask(settings, runs_dir)
    run_dir = task.render(overwrite=overwrite)
    task.execute(run_dir, progress=progress)
    p = settings.protocol
    # the preset's equilibration; a run too short for it (md_settings sets it to 0) drops its first 20 %
    equilibration_ps = p.equilibration_ps if p.equilibration_ps > 0 else 0.2 * p.duration_ps
    all_frames, all_steps, _ = read_md_frames(run_dir)
    indices = select(all_steps, p.timestep_fs, equilibration_ps, frames)
    out = Path(out_dir) if out_dir is not None else run_dir / "highenergy"
    meta = {"system": settings.system.name, "model": settings.model.label, "temperature_K": settings.temperature_K,
            "engine": task.choice.name, "md_run": str(run_dir), "equilibration_ps": equilibration_ps,
            "timestep_fs": p.timestep_fs, "requested_frames": frames}
    return out, export(all_frames, indices, all_steps, out, meta)
