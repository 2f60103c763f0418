"""Force constants by finite displacements: phonopy generates the symmetry-reduced displaced
supercells, ONE LAMMPS session (:class:`harness.forces.ForceSession`) computes all their
forces, phonopy builds the force constants.

What the phonons task, σ^(2) (force constants of an MD supercell) and the screen share; what
is then done with the force constants is :mod:`harness.analysis.harmonic`'s.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from ase import Atoms

from ..analysis.harmonic import DisplacementSettings, PhononResults, to_ase, to_phonopy
from ..config import ModelSpec
from ..errors import ConfigError, StructureError
from ..forces import ForceSession


def default_supercell(atoms: Atoms, min_length_A: float = 10.0) -> list[list[int]]:
    """Diagonal supercell whose every perpendicular width reaches ``min_length_A``."""
    cell = np.array(atoms.cell)
    vol = abs(np.linalg.det(cell))
    widths = [vol / np.linalg.norm(np.cross(cell[(i + 1) % 3], cell[(i + 2) % 3])) for i in range(3)]
    n = [max(1, int(np.ceil(min_length_A / w - 1e-9))) for w in widths]
    return [[n[0], 0, 0], [0, n[1], 0], [0, 0, n[2]]]


def check_periodic_3d(atoms: Atoms) -> None:
    if not all(atoms.pbc) or atoms.cell.rank != 3:
        raise StructureError("phonons need a structure periodic in 3-D (pbc on all axes, a full cell)")


class FiniteDisplacements:
    """Force constants of one model for one structure, forces through one LAMMPS session.

    Parameters
    ----------
    model : ModelSpec
    unitcell : ase.Atoms
        Periodic in 3-D. phonopy finds the primitive cell (``primitive_matrix='auto'``).
    settings : DisplacementSettings
    nac_params : dict, optional
        Born charges and dielectric tensor (phonopy ``nac_params``), e.g. from a reference BORN.
    calc : ase calculator, optional
        The model's calculator, already built (bridge engine): many structures in one process
        (``harness screen``) then load the weights once (see
        :func:`harness.forces.shared_calculator`).
    """

    def __init__(self, model: ModelSpec, unitcell: Atoms, settings: DisplacementSettings,
                 nac_params: dict | None = None, calc=None):
        check_periodic_3d(unitcell)
        sm = np.asarray(settings.supercell_matrix)
        if sm.shape != (3, 3) or round(abs(np.linalg.det(sm))) < 1:
            raise ConfigError(f"supercell matrix must be 3×3 with non-zero determinant, "
                              f"got {settings.supercell_matrix}")
        if not settings.displacement_A > 0:
            raise ConfigError(f"displacement must be positive, got {settings.displacement_A} Å")
        from phonopy import Phonopy
        from phonopy.structure.cells import get_primitive_matrix_with_auto

        self.model, self.settings, self.shared_calc = model, settings, calc
        cell = to_phonopy(unitcell)
        primitive = settings.primitive_matrix
        if primitive is None or (isinstance(primitive, str) and primitive == "auto"):
            # resolved here and passed explicitly: the same matrix, without phonopy's warning
            # that 'auto' is its new default
            primitive = get_primitive_matrix_with_auto(cell, "auto")
        self.phonon = Phonopy(cell, supercell_matrix=sm, primitive_matrix=primitive)
        if nac_params is not None:
            self.phonon.nac_params = nac_params
        self.phonon.generate_displacements(distance=settings.displacement_A)
        self.timings: dict = {}

    @property
    def n_displacements(self) -> int:
        return len(self.phonon.supercells_with_displacements)

    def compute_forces(self, workdir: Path | None = None) -> np.ndarray:
        """Forces (eV/Å) of every displaced supercell through one LAMMPS session.

        The perfect supercell's residual forces are subtracted (phonopy's recommended practice:
        they are numerical noise or a slightly unrelaxed model structure).
        """
        supercell = to_ase(self.phonon.supercell)
        t0 = time.perf_counter()
        with ForceSession(self.model, supercell, engine=self.settings.engine, workdir=workdir,
                          calc=self.shared_calc) as fs:
            t_setup = time.perf_counter() - t0
            residual = fs.result.forces_eV_A
            forces = []
            t1 = time.perf_counter()
            for cell in self.phonon.supercells_with_displacements:
                forces.append(fs.evaluate(cell.positions).forces_eV_A - residual)
            t_forces = time.perf_counter() - t1
            self.engine = fs.choice.name
        self.timings = {
            "engine": self.engine,
            "n_displacements": self.n_displacements,
            "n_atoms_supercell": len(supercell),
            "session_setup_s": t_setup,
            "forces_s": t_forces,
            "ms_per_displacement": 1000 * t_forces / max(self.n_displacements, 1),
            "max_residual_force_eV_A": float(np.abs(residual).max()),
        }
        return np.array(forces)

    def produce_force_constants(self, workdir: Path | None = None) -> None:
        self.phonon.forces = self.compute_forces(workdir)
        self.phonon.produce_force_constants(show_drift=False)
        # as phonopy.load does: restores translational invariance (acoustic modes 0 at Γ)
        self.phonon.symmetrize_force_constants()

    def run(self, workdir: Path | None = None) -> PhononResults:
        self.produce_force_constants(workdir)
        return PhononResults(self.phonon, self.settings, self.timings)
