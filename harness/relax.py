"""Structures relaxed in LAMMPS with the model, one after another, nothing lost on a kill.

:func:`relax_structure` relaxes one structure through :class:`~harness.forces.ForceSession`
(any engine; ``templates/minimize.in.j2``): positions at fixed cell, or positions and cell to
zero stress. A cell relaxation alternates LAMMPS' ``fix box/relax`` (cg) with a fixed-cell
relaxation in a new session on the new cell, until the stress of that fresh session is below
``stress_tol_eV_A3``: box/relax minimises relative to the cell it started from, and the energy
quoted is always that of a session built on the final cell. A fixed-cell relaxation that cg
leaves above the force tolerance (its line search gives up) is finished with FIRE.

:class:`Ledger` keeps what is done in a run folder: ``relaxed/<name>.extxyz`` (the relaxed
structure with its energy, forces and stress) and ``relaxed.json`` (one record per structure,
written atomically after each), so an interrupted task resumes at the structure where it stopped.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from ase import Atoms

from .errors import RunFolderError
from .files import read_json, write_json
from .units import EV_A3_TO_GPA

LEDGER = "relaxed.json"
RELAXED_DIR = "relaxed"
# the residual stress at which a cell counts as relaxed: 1e-4 eV/Å³ = 16 MPa (an energy error
# ~σ²V/2B, below 1e-7 eV/atom for any solid)
STRESS_TOL_EV_A3 = 1e-4


@dataclass
class Relaxed:
    """One relaxed structure: energy (eV), the largest force on an atom (eV/Å), stress (eV/Å³,
    ASE's Voigt order), how it was relaxed and whether it reached the tolerances."""

    atoms: Atoms
    energy_eV: float
    max_force_eV_A: float
    stress_eV_A3: np.ndarray
    cell_relaxed: bool
    rounds: int
    converged: bool
    notes: list[str] = field(default_factory=list)


def structure_sha(atoms: Atoms) -> str:
    """A fingerprint of a structure (species, cell and positions to 1e-6 Å): a ledger entry is
    reused only for the very structure it was computed from."""
    h = hashlib.sha256()
    h.update(" ".join(atoms.get_chemical_symbols()).encode())
    h.update(np.round(np.asarray(atoms.cell, float), 6).tobytes())
    h.update(np.round(atoms.positions, 6).tobytes())
    return h.hexdigest()[:16]


def relax_structure(model, atoms: Atoms, *, cell: bool = False, ftol_eV_A: float = 1e-4,
                    stress_tol_eV_A3: float = STRESS_TOL_EV_A3, engine: str = "auto", workdir: Path | None = None,
                    caps=None, calc=None, max_rounds: int = 8, maxiter: int = 10000) -> Relaxed:
    """``atoms`` relaxed with ``model`` in LAMMPS (see the module docstring); ``workdir``: where
    each session's deck, data and log go (``cell<k>/``, ``fixed<k>/``)."""
    from .forces import ForceSession

    atoms = atoms.copy()
    atoms.pbc = True
    notes: list[str] = []
    res = None
    rounds = 0
    for rounds in range(1, max_rounds + 1 if cell else 2):
        if cell:
            wd = None if workdir is None else Path(workdir) / f"cell{rounds}"
            with ForceSession(model, atoms, engine=engine, workdir=wd, caps=caps, calc=calc) as fs:
                new_cell, positions = fs.relax_cell(atoms.positions, ftol_eV_A=ftol_eV_A, maxiter=maxiter)
            atoms.set_cell(new_cell)
            atoms.positions = positions
            atoms.wrap()
        wd = None if workdir is None else Path(workdir) / f"fixed{rounds}"
        with ForceSession(model, atoms, engine=engine, workdir=wd, caps=caps, calc=calc) as fs:
            res, positions = fs.relax(atoms.positions, ftol_eV_A=ftol_eV_A, maxiter=maxiter)
            if _fmax(res) > ftol_eV_A:  # cg's line search stopped short: FIRE takes it the rest of the way
                res, positions = fs.relax(positions, ftol_eV_A=ftol_eV_A, maxiter=maxiter, min_style="fire")
        atoms.positions = positions
        if not cell or np.abs(res.stress_eV_A3).max() <= stress_tol_eV_A3:
            break
    converged = _fmax(res) <= ftol_eV_A * 1.0001 and (not cell or np.abs(res.stress_eV_A3).max() <= stress_tol_eV_A3)
    if not converged:
        notes.append(f"not converged after {rounds} round(s): largest force {_fmax(res):.2e} eV/Å (tolerance "
                     f"{ftol_eV_A:g})"
                     + (f", largest stress {np.abs(res.stress_eV_A3).max():.2e} eV/Å³" if cell else ""))
    from ase.calculators.singlepoint import SinglePointCalculator

    atoms.calc = SinglePointCalculator(atoms, energy=res.energy_eV, forces=res.forces_eV_A, stress=res.stress_eV_A3)
    return Relaxed(atoms, res.energy_eV, _fmax(res), np.asarray(res.stress_eV_A3), cell, rounds, converged, notes)


def _fmax(res) -> float:
    return float(np.linalg.norm(res.forces_eV_A, axis=1).max()) if len(res.forces_eV_A) else 0.0


class Ledger:
    """What a task has relaxed in ``run_dir`` (see the module docstring)."""

    def __init__(self, run_dir: Path):
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / LEDGER
        self.records: dict[str, dict] = read_json(self.path) if self.path.is_file() else {}

    def done(self, name: str, initial: Atoms, how: dict) -> bool:
        """Whether ``name`` was relaxed from this very structure the same way."""
        rec = self.records.get(name)
        return bool(rec) and rec.get("initial_sha") == structure_sha(initial) and rec.get("how") == how \
            and (self.run_dir / rec["file"]).is_file()

    def add(self, name: str, initial: Atoms, how: dict, relaxed: Relaxed, wall_s: float) -> dict:
        from ase.io import write

        folder = self.run_dir / RELAXED_DIR
        folder.mkdir(exist_ok=True)
        file = f"{RELAXED_DIR}/{name}.extxyz"
        tmp = folder / f".{name}.extxyz.tmp"
        write(tmp, relaxed.atoms, format="extxyz")
        tmp.replace(self.run_dir / file)
        rec = {"energy_eV": relaxed.energy_eV, "n_atoms": len(relaxed.atoms),
               "formula": relaxed.atoms.get_chemical_formula(), "max_force_eV_A": relaxed.max_force_eV_A,
               "max_stress_GPa": float(np.abs(relaxed.stress_eV_A3).max() * EV_A3_TO_GPA),
               "volume_A3": float(relaxed.atoms.get_volume()), "cell_relaxed": relaxed.cell_relaxed,
               "rounds": relaxed.rounds, "converged": relaxed.converged, "notes": relaxed.notes,
               "wall_s": wall_s, "file": file, "initial_sha": structure_sha(initial), "how": how}
        self.records[name] = rec
        write_json(self.path, self.records)
        return rec

    def atoms(self, name: str) -> Atoms:
        from ase.io import read

        rec = self.records.get(name)
        if rec is None:
            raise RunFolderError(f"{self.run_dir}: {name} was not relaxed (run execute first)")
        return read(self.run_dir / rec["file"])

    def energy(self, name: str) -> float:
        return float(self.records[name]["energy_eV"])


class Relaxer:
    """Relaxes named structures into a :class:`Ledger` with one model (its calculator built
    once), skipping those already done; one progress line per structure."""

    def __init__(self, model, run_dir: Path, *, engine: str = "auto", ftol_eV_A: float = 1e-4,
                 progress: bool = True, deadline: float | None = None):
        from .forces import shared_calculator
        from .lammps.probe import probe

        self.model, self.engine, self.ftol = model, engine, ftol_eV_A
        self.ledger = Ledger(run_dir)
        self.caps = probe()
        self.calc = shared_calculator(model, engine, self.caps)
        self.progress, self.deadline = progress, deadline
        self.count = 0
        from .engines import choose

        self.engine_used = choose(engine, model, self.caps).name

    def relax(self, name: str, atoms: Atoms, *, cell: bool = False) -> dict:
        """The ledger's record of ``name`` relaxed from ``atoms`` (computed now if not there)."""
        import sys

        from .errors import WalltimeReached

        how = {"cell": bool(cell), "ftol_eV_A": self.ftol, "stress_tol_eV_A3": STRESS_TOL_EV_A3 if cell else None}
        self.count += 1
        if self.ledger.done(name, atoms, how):
            return self.ledger.records[name]
        if self.deadline is not None and time.time() > self.deadline:
            raise WalltimeReached(f"stopped before relaxing {name}: the walltime is near (resume to continue)")
        t0 = time.perf_counter()
        relaxed = relax_structure(self.model, atoms, cell=cell, ftol_eV_A=self.ftol, engine=self.engine,
                                  workdir=self.ledger.run_dir / "lammps" / name, caps=self.caps, calc=self.calc)
        wall = time.perf_counter() - t0
        rec = self.ledger.add(name, atoms, how, relaxed, wall)
        if self.progress:
            print(f"[relax] {self.count}: {name} ({len(atoms)} atoms{', cell too' if cell else ''}): "
                  f"E = {relaxed.energy_eV:.6f} eV, largest force {relaxed.max_force_eV_A:.1e} eV/Å"
                  f"{'' if relaxed.converged else ' (NOT converged)'}, {wall:.2f} s", file=sys.stderr, flush=True)
        return rec
