"""High-energy configurations to label with DFT: frames of high-temperature MD with the model.

Softening shows where the PES is sampled away from equilibrium (Deng et al. 2025), so the
frames worth labelling are those of hot MD. The highenergy task is the MD task (LAMMPS, any
engine) whose collect takes evenly spaced frames of ``traj.lammpstrj`` after equilibration
and exports them as one extended XYZ file and one ``frame_XXX/POSCAR`` per frame, ready for
a DFT code.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..config import HighEnergySettings, MDSettings
from ..errors import SimulationError
from ..files import write_json
from ..provenance import now
from ..runs import load_run
from .base import register
from .md import MDTask


def read_md_frames(run_dir: Path, indices=None) -> tuple[list, np.ndarray]:
    """Frames of a run's ``traj.lammpstrj`` as :class:`ase.Atoms` (positions wrapped, the model's
    forces attached as a calculator's results) and the steps of all frames.

    ``indices`` selects frames (all by default); only those are parsed.
    """
    from ase import Atoms
    from ase.calculators.singlepoint import SinglePointCalculator

    from ..io.lammps_dump import dump_cells, index_dump, iter_dump

    run_dir = Path(run_dir)
    record = load_run(run_dir)
    traj = run_dir / "traj.lammpstrj"
    if not traj.is_file():
        raise SimulationError(f"{run_dir}: no traj.lammpstrj to sample frames from")
    index = index_dump(traj)
    picked = index if indices is None else index.select(np.asarray(indices, dtype=int))
    out = []
    try:
        for frames, symbols in iter_dump(picked, record.elements, forces=True):
            for pos, cell, f in zip(frames.positions_A, dump_cells(frames), frames.forces_eV_A):
                atoms = Atoms(symbols, positions=pos.astype(float), cell=cell, pbc=True)
                atoms.wrap()
                atoms.calc = SinglePointCalculator(atoms, forces=f.astype(float))
                out.append(atoms)
    except ValueError as exc:
        raise SimulationError(f"{traj}: {exc}") from None
    return out, index.steps


def select(steps, timestep_fs: float, equilibration_ps: float, n: int) -> list[int]:
    """Indices of ``n`` evenly spaced frames with time > equilibration (all of them if fewer)."""
    times_ps = np.asarray(steps) * timestep_fs / 1000.0
    eligible = np.flatnonzero(times_ps > equilibration_ps + 1e-12)
    if len(eligible) == 0:
        raise SimulationError(f"no frames after the equilibration ({equilibration_ps:g} ps): run longer (--steps)")
    if n >= len(eligible):
        return eligible.tolist()
    pick = np.unique(np.round(np.linspace(0, len(eligible) - 1, n)).astype(int))
    return eligible[pick].tolist()


def export(frames, steps: list[int], out_dir: Path, meta: dict) -> dict:
    """``frames.extxyz`` (positions, model forces as ``model_forces``), ``frame_XXX/POSCAR``, ``frames.json``."""
    from ase import Atoms
    from ase.io import write

    out_dir.mkdir(parents=True, exist_ok=True)
    picked = []
    for k, (src, step) in enumerate(zip(frames, steps)):
        # positions, cell, symbols only; the model's forces kept apart from (future) labels
        atoms = Atoms(src.get_chemical_symbols(), positions=src.positions, cell=src.cell, pbc=True)
        if src.calc is not None and "forces" in src.calc.results:
            atoms.arrays["model_forces"] = np.array(src.calc.results["forces"])
        atoms.info = {"md_step": int(step), "model": meta["model"], "temperature_K": meta["temperature_K"]}
        picked.append(atoms)
        folder = out_dir / f"frame_{k:03d}"
        folder.mkdir(exist_ok=True)
        write(folder / "POSCAR", atoms, format="vasp", direct=True, sort=False)
    write(out_dir / "frames.extxyz", picked, format="extxyz")
    listing = {**meta, "created": now(), "n_frames": len(picked),
               "frames": [{"folder": f"frame_{k:03d}", "md_step": int(step), "dump_index": int(i)}
                          for k, (step, i) in enumerate(zip(steps, meta["dump_indices"]))],
               "files": {"extxyz": "frames.extxyz", "poscar": "frame_XXX/POSCAR"},
               "note": "positions only: label them with DFT; model_forces in the extxyz are the sampling model's"}
    write_json(out_dir / "frames.json", listing)
    return listing


@register
class HighEnergyTask(MDTask):
    """Hot NVT with the model (the MD task), then frames exported for labelling (collect)."""

    name = "highenergy"
    settings_class = HighEnergySettings

    @property
    def md(self) -> MDSettings:
        return self.settings.md

    def request(self) -> dict:
        return {"md": super().request(), "frames": self.settings.frames, "out_dir": self.settings.out_dir}

    @property
    def out_dir(self) -> Path | None:
        return Path(self.settings.out_dir) if self.settings.out_dir else None

    def check_results(self, results: dict) -> None:
        pass

    def collect(self, run_dir: Path, *, progress: bool = True, **_) -> dict:
        run_dir = Path(run_dir)
        p = self.md.protocol
        # the preset's equilibration; a run too short for it (md_settings sets it to 0) drops its first 20 %
        equilibration_ps = p.equilibration_ps if p.equilibration_ps > 0 else 0.2 * p.duration_ps
        _, all_steps = read_md_frames(run_dir, indices=[])
        indices = select(all_steps, p.timestep_fs, equilibration_ps, self.settings.frames)
        frames, _ = read_md_frames(run_dir, indices)
        out = self.out_dir or run_dir / "highenergy"
        meta = {"system": self.md.system.name, "model": self.md.model.label, "temperature_K": self.md.temperature_K,
                "engine": self.choice.name, "md_run": str(run_dir), "equilibration_ps": equilibration_ps,
                "timestep_fs": p.timestep_fs, "requested_frames": self.settings.frames, "dump_indices": indices}
        listing = export(frames, [int(all_steps[i]) for i in indices], out, meta)
        listing["folder"] = str(out)
        listing["headline"] = [f"{listing['n_frames']} frames after {equilibration_ps:g} ps -> {out}/frames.extxyz "
                               f"and {out}/frame_XXX/POSCAR"]
        write_json(run_dir / "results.json", listing)
        return listing
