"""Energy, forces and stress of many frames from ONE LAMMPS session (any engine).

The deck (``templates/forces.in.j2``) sets up the structure and the interactions once; for
every frame we scatter the new positions into LAMMPS and repeat ``run 0``. This is what
phonon displacements and reference frames need: no process (and no model load) per frame.
"""

from __future__ import annotations

import ctypes
import tempfile
from pathlib import Path

import numpy as np
from ase import Atoms, units
from ase.calculators.lammps import Prism

from .. import __version__
from ..config import ModelSpec
from ..engines import ENGINES, MliapEngine, choose
from ..errors import ConfigError
from ..lammps.bridge import Bridge
from ..lammps.probe import Capabilities, probe
from ..lammps.render import render
from ..lammps.session import Session
from ..models import calculator, restrict_eam
from ..runs import write_text
from ..systems import check_atoms, species_order

_LAMMPS_TO_ASE_VOIGT = (0, 1, 2, 5, 4, 3)  # ASE (xx yy zz yz xz xy) from LAMMPS (xx yy zz xy xz yz)


def stress_from_pressure(p_bar_lammps: np.ndarray) -> np.ndarray:
    """ASE stress (eV/Å³, ASE Voigt order) from LAMMPS' pressure tensor (bar; xx yy zz xy xz yz).

    LAMMPS' pressure is positive under compression, ASE's stress positive under tension.
    Valid when the kinetic part is zero (single points have no velocities).
    """
    p = np.asarray(p_bar_lammps, dtype=float)
    return -p[list(_LAMMPS_TO_ASE_VOIGT)] * units.bar


def shared_calculator(model: ModelSpec, engine: str = "auto", caps: Capabilities | None = None):
    """The model's calculator, to share between :class:`ForceSession` s over many cells, when the
    bridge engine will be used (``None`` otherwise, and for EAM, whose ASE calculator is built
    for each structure's elements)."""
    if model.family == "eam" or choose(engine, model, caps or probe()).name != "bridge":
        return None
    return calculator(model)


class ForceSession:
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
        cells then load the weights once); default ``calculator(model)``.
    """

    def __init__(self, model: ModelSpec, atoms: Atoms, engine: str = "auto", workdir: Path | None = None,
                 caps: Capabilities | None = None, calc=None):
        self.elements = species_order(atoms)
        if model.family == "eam":
            model = restrict_eam(model, self.elements)
        check_atoms(atoms, model)
        self.model = model
        self.atoms = atoms.copy()
        self.caps = caps or probe()
        self.choice = choose(engine, model, self.caps)
        self._tmp = None
        if workdir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="harness-forces-")
            workdir = Path(self._tmp.name)
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        # LAMMPS wants a lower-triangular cell: Prism rotates vectors and tensors both ways.
        self.prism = Prism(np.array(atoms.cell), pbc=True)
        from ase.io import write

        write(self.workdir / "structure.data", atoms, format="lammps-data", specorder=self.elements, masses=True,
              units="metal", atom_style="atomic")
        engine_obj = ENGINES[self.choice.name]
        ctx = {
            "run_name": f"{model.label}-forces", "harness_version": __version__, "model": model.label,
            "engine": self.choice.name, "elements": self.elements, "data_file": "structure.data",
            "neighbor_skin_A": 1.0, **engine_obj.context(model, self.elements, self.workdir),
        }
        deck = render("forces.in.j2", **ctx)
        write_text(self.workdir / "in.forces.lammps", deck)
        self.session = Session(self.workdir, log="log.forces.lammps")
        if self.choice.name == "bridge":
            self.session.bridge = Bridge(self.session.lmp, calc or calculator(model), atoms.get_chemical_symbols())
        elif self.choice.name == "mliap":
            MliapEngine().stage(model, self.workdir)
        self.session.execute(deck)  # ends with `run 0` on the structure as given
        self.n = len(atoms)
        self._last = self._read()

    def _read(self) -> dict:
        lmp = self.session.lmp
        f = np.ctypeslib.as_array(lmp.gather_atoms("f", 1, 3)).reshape(self.n, 3).copy()
        # current thermo values of the `run 0` just done (the deck's thermo_style uses pe and press)
        p = np.array([lmp.get_thermo(k) for k in ("pxx", "pyy", "pzz", "pxy", "pxz", "pyz")])
        stress_lmp = stress_from_pressure(p)
        # back to the user's frame (identity for cells LAMMPS accepts as they are)
        forces = self.prism.vector_to_ase(f)
        stress = self.prism.tensor2_to_ase(_voigt_to_matrix(stress_lmp))
        return {
            "energy_eV": float(lmp.get_thermo("pe")),
            "forces_eV_A": forces,
            "stress_eV_A3": _matrix_to_voigt(stress),
        }

    def evaluate(self, positions: np.ndarray, cell: np.ndarray | None = None) -> dict:
        """Energy (eV), forces (eV/Å, n×3) and stress (eV/Å³, ASE Voigt) at ``positions`` (Å)."""
        if cell is not None and not np.allclose(np.asarray(cell), self.atoms.cell, atol=1e-8):
            raise ConfigError("ForceSession evaluates frames of one cell; this frame has another cell")
        positions = np.asarray(positions, dtype=float)
        if positions.shape != (self.n, 3):
            raise ConfigError(f"frame has shape {positions.shape}, expected ({self.n}, 3)")
        boxlo = np.asarray(self.session.lmp.extract_box()[0])
        x = self.prism.vector_to_lammps(positions, wrap=True) + boxlo
        buf = (ctypes.c_double * (3 * self.n))(*x.ravel())
        self.session.lmp.scatter_atoms("x", 1, 3, buf)
        self.session.command("run 0 post no")
        self._last = self._read()
        return self._last

    def close(self) -> None:
        self.session.close()
        if self._tmp is not None:
            self._tmp.cleanup()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _voigt_to_matrix(v: np.ndarray) -> np.ndarray:
    xx, yy, zz, yz, xz, xy = v
    return np.array([[xx, xy, xz], [xy, yy, yz], [xz, yz, zz]])


def _matrix_to_voigt(m: np.ndarray) -> np.ndarray:
    return np.array([m[0, 0], m[1, 1], m[2, 2], m[1, 2], m[0, 2], m[0, 1]])
