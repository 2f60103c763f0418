"""Energy, forces and stress of many frames from ONE LAMMPS session (any engine).

The deck (``templates/forces.in.j2``) sets up the structure and the interactions once; for
every frame we scatter the new positions into LAMMPS and repeat ``run 0``. This is what
phonon displacements and reference frames need: no process (and no model load) per frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.calculators.lammps import Prism

from .config import ModelSpec
from .engines import ENGINES, choose
from .errors import ConfigError
from .lammps.bridge import lammps_cell
from .lammps.framesession import FrameSession, single_point_deck
from .lammps.probe import Capabilities, probe
from .lammps.render import render
from .units import matrix_to_voigt, stress_from_lammps_pressure, voigt_to_matrix

# what a ForceSession renders (tasks that use one record these templates' sha256)
TEMPLATES = ("forces.in.j2", "pair/bridge.j2", "pair/mliap.j2", "pair/classic.j2")


@dataclass(frozen=True)
class ForceResult:
    """One single point: energy (eV), forces (eV/Å, n×3, the frame's atom order) and stress
    (eV/Å³, ASE sign and Voigt order xx yy zz yz xz xy)."""

    energy_eV: float
    forces_eV_A: np.ndarray
    stress_eV_A3: np.ndarray


def shared_calculator(model: ModelSpec, engine: str = "auto", caps: Capabilities | None = None):
    """What :class:`ForceSession` s over many cells can share (the bridge's calculator, so the
    weights load once), or ``None`` when the chosen engine has nothing to share."""

    return ENGINES[choose(engine, model, caps or probe()).name].shared_calculator(model)


class ForceSession(FrameSession):
    """Evaluate a model on frames of one structure (same cell, same atoms) through LAMMPS.

    Parameters
    ----------
    model : ModelSpec
    atoms : ase.Atoms
        The structure; frames must keep its cell and atom order.
    engine : str
        ``auto`` or an engine name.
    workdir : Path, optional
        Where the deck, data and log go (a temporary folder otherwise).
    calc : ase calculator, optional
        For the bridge engine: this model's calculator, already built (sessions over many
        cells then load the weights once); default: built from ``model``.

    Attributes
    ----------
    result : ForceResult
        The last evaluation; right after construction, the structure as given.
    """

    def __init__(self, model: ModelSpec, atoms: Atoms, engine: str = "auto", workdir: Path | None = None,
                 caps: Capabilities | None = None, calc=None):
        from .models import for_elements
        from .systems import check_atoms, species_order

        self.elements = species_order(atoms)
        model = for_elements(model, self.elements)
        check_atoms(atoms, model)
        self.model = model
        self.atoms = atoms.copy()
        self.caps = caps or probe()
        self.choice = choose(engine, model, self.caps)
        self.engine = ENGINES[self.choice.name]
        self._prepare(atoms, self.elements, workdir, "harness-forces-")
        self.engine.stage(model, self.elements, self.workdir)
        deck = single_point_deck(f"{model.label}-forces", model.label, self.choice.name, self.elements,
                                 **self.engine.context(model, self.elements))
        self._start(deck, "forces", attach=lambda session: self.engine.attach(
            session, model, atoms.get_chemical_symbols(), self.workdir, self.caps, calc=calc))

    def _read(self) -> ForceResult:
        lmp = self.session.lmp
        f = np.ctypeslib.as_array(lmp.gather_atoms("f", 1, 3)).reshape(self.n, 3).copy()
        # current thermo values of the `run 0` just done (the deck's thermo_style uses pe and press)
        p = np.array([lmp.get_thermo(k) for k in ("pxx", "pyy", "pzz", "pxy", "pxz", "pyz")])
        stress_lmp = stress_from_lammps_pressure(p)
        # back to the user's frame (identity for cells LAMMPS accepts as they are)
        forces = self.prism.vector_to_ase(f)
        stress = self.prism.tensor2_to_ase(voigt_to_matrix(stress_lmp))
        return ForceResult(float(lmp.get_thermo("pe")), forces, matrix_to_voigt(stress))

    def evaluate(self, positions: np.ndarray, cell: np.ndarray | None = None) -> ForceResult:
        """Energy, forces and stress at ``positions`` (Å) of this session's atoms."""
        if cell is not None and not np.allclose(np.asarray(cell), self.atoms.cell, atol=1e-8):
            raise ConfigError("ForceSession evaluates frames of one cell; this frame has another cell")
        return super().evaluate(positions)

    def relax(self, positions: np.ndarray, *, hold: str | None = None, ftol_eV_A: float = 1e-3,
              maxiter: int = 10000, min_style: str | None = None) -> tuple[ForceResult, np.ndarray]:
        """Minimise from ``positions`` (Å) in this session (``templates/minimize.in.j2``); ``hold``:
        a ``fix setforce`` pattern (``0.0 0.0 NULL``: only along z); ``min_style``: LAMMPS'
        (default: the session's, cg). Returns the result and the relaxed positions (the user's frame)."""
        self.evaluate(positions)
        self.session.execute(minimize_deck(f"{self.model.label}-forces", ftol_eV_A=ftol_eV_A, maxiter=maxiter,
                                           hold=hold, min_style=min_style))
        self.result = self._read()
        return self.result, self.prism.vector_to_ase(self._positions_lammps(), wrap=True)

    def relax_cell(self, positions: np.ndarray, *, ftol_eV_A: float = 1e-3,
                   maxiter: int = 10000) -> tuple[np.ndarray, np.ndarray]:
        """Minimise positions and cell to zero stress (LAMMPS' ``fix box/relax``: ``aniso`` for an
        orthogonal box, ``tri`` otherwise). Returns the new cell and positions (Å, the user's
        frame). The session's cell is then not :attr:`atoms`' any more: it is closed here, and
        the caller evaluates the result in a new session (:func:`harness.relax.relax_structure`)."""
        self.evaluate(positions)
        self.session.execute(minimize_deck(f"{self.model.label}-forces", ftol_eV_A=ftol_eV_A, maxiter=maxiter,
                                           box_relax=box_relax_style(self.prism)))
        cell_lmp, _ = lammps_cell(self.session.lmp)
        cell = self.prism.vector_to_ase(cell_lmp)
        positions = self.prism.vector_to_ase(self._positions_lammps())
        self.close()
        return cell, positions

    def _positions_lammps(self) -> np.ndarray:
        """Positions relative to the box origin, LAMMPS' frame."""
        x = np.ctypeslib.as_array(self.session.lmp.gather_atoms("x", 1, 3)).reshape(self.n, 3).copy()
        return x - np.asarray(self.session.lmp.extract_box()[0])


def minimize_deck(run_name: str, *, ftol_eV_A: float, maxiter: int, hold: str | None = None,
                  min_style: str | None = None, box_relax: str | None = None) -> str:
    """One relaxation in a running session (``templates/minimize.in.j2``): ``hold`` a ``fix
    setforce`` pattern, ``min_style`` LAMMPS' (default: the session's), ``box_relax`` the cell too
    (:func:`box_relax_style`); at most ``maxiter`` iterations and ten times as many evaluations."""
    return render("minimize.in.j2", run_name=run_name, hold=hold, ftol_eV_A=ftol_eV_A, maxiter=maxiter,
                  maxeval=10 * maxiter, min_style=min_style, box_relax=box_relax)


def box_relax_style(prism: Prism) -> str:
    """``fix box/relax``'s couple style for a cell: ``tri`` (all six components) when LAMMPS holds
    it as a triclinic box (the data file has tilts exactly when the prism is skewed), else
    ``aniso`` (the three lengths)."""
    return "tri" if prism.is_skewed() else "aniso"


def group_frames(frames) -> dict[tuple, list[int]]:
    """Indices of frames sharing cell (to 1e-6 Å), periodicity and atom list, in first-seen order."""
    groups: dict[tuple, list[int]] = {}
    for i, atoms in enumerate(frames):
        key = (tuple(np.round(np.asarray(atoms.cell), 6).ravel()), tuple(atoms.pbc),
               tuple(atoms.get_chemical_symbols()))
        groups.setdefault(key, []).append(i)
    return groups


def evaluate_frames(model: ModelSpec, frames, *, engine: str = "auto", workdir: Path | None = None,
                    caps: Capabilities | None = None, progress=None) -> tuple[list[ForceResult], str]:
    """The model on every frame (same order) and the engine used: one session per distinct
    cell and atom list, the weights loaded once; ``progress(done, total)`` after each frame."""
    caps = caps or probe()
    calc = shared_calculator(model, engine, caps)
    results: list[ForceResult | None] = [None] * len(frames)
    engine_used = None
    done = 0
    for k, idx in enumerate(group_frames(frames).values()):
        wd = None if workdir is None else Path(workdir) / f"group{k:03d}"
        with ForceSession(model, frames[idx[0]], engine=engine, workdir=wd, caps=caps, calc=calc) as fs:
            engine_used = fs.choice.name
            for j, i in enumerate(idx):
                results[i] = fs.result if j == 0 else fs.evaluate(frames[i].positions)
                done += 1
                if progress is not None:
                    progress(done, len(frames))
    return results, engine_used
