"""What a reference trajectory holds, and the conventions its readers, writer and users share.

:class:`ReferenceTrajectory` is the one shape every reader of :mod:`harness.io.trajectory`
returns. Its conventions live beside it so that the readers (ASE formats, LAMMPS dumps), the
writer and the comparison (:mod:`harness.analysis.compare`) apply them the same way:

* positions are unwrapped (:class:`Unwrapper`, for files that store them wrapped);
* stress is ASE's (eV/Å³, positive under tension, Voigt xx yy zz yz xz xy) and holds either
  the potential part or, when ``stress_includes_kinetic``, LAMMPS' full pressure tensor: the
  two differ by :func:`kinetic_stress`;
* frames are equally spaced in time (:func:`uniform_interval` refuses files that are not).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
from ase import units

from ..errors import TrajectoryError
from ..units import MVV2E
from .elements import element_mass

PS_IN_ASE_TIME = 1000.0 * units.fs
"""One ps in ASE time units (ASE momenta are mass × Å per ASE time unit)."""


@dataclass
class ReferenceTrajectory:
    """Frames of a reference trajectory as arrays (metal units).

    ``stress_eV_A3`` is ASE sign and Voigt order (xx yy zz yz xz xy); it holds the
    potential (virial) part unless ``stress_includes_kinetic``.
    """

    symbols: list[str]
    positions_A: np.ndarray  # (F, N, 3), unwrapped
    cells_A: np.ndarray  # (F, 3, 3)
    source: str
    format: str
    velocities_A_per_ps: np.ndarray | None = None
    stress_eV_A3: np.ndarray | None = None
    stress_includes_kinetic: bool = False
    energy_eV: np.ndarray | None = None
    forces_eV_A: np.ndarray | None = None
    frame_dt_ps: float | None = None
    timestep_fs: float | None = None
    stride: int | None = None
    temperature_K: float | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def n_frames(self) -> int:
        return len(self.positions_A)

    @property
    def n_atoms(self) -> int:
        return len(self.symbols)

    @property
    def masses(self) -> np.ndarray:
        return np.array([element_mass(s) for s in self.symbols])

    @property
    def volumes_A3(self) -> np.ndarray:
        return np.abs(np.linalg.det(self.cells_A))

    def select(self, idx) -> ReferenceTrajectory:
        """A copy restricted to frames ``idx`` (slice or index array)."""
        def pick(a):
            return None if a is None else a[idx]

        return replace(self, positions_A=self.positions_A[idx], cells_A=self.cells_A[idx],
                       velocities_A_per_ps=pick(self.velocities_A_per_ps), stress_eV_A3=pick(self.stress_eV_A3),
                       energy_eV=pick(self.energy_eV), forces_eV_A=pick(self.forces_eV_A), notes=list(self.notes))

    def first_frame_atoms(self):
        """The first frame as :class:`ase.Atoms` (positions wrapped into the cell)."""
        from ase import Atoms

        atoms = Atoms(self.symbols, positions=self.positions_A[0], cell=self.cells_A[0], pbc=True)
        atoms.wrap()
        return atoms


def kinetic_stress(velocities_A_ps: np.ndarray, masses_amu: np.ndarray, volume_A3: np.ndarray) -> np.ndarray:
    """Kinetic part of the stress, ASE sign and Voigt order, eV/Å³, per frame: −Σ m v_a v_b / V.

    LAMMPS' pressure tensor is (Σ m v_a v_b + W_ab)/V (so its scalar kinetic part is 2KE/(3V)):
    adding this term to a potential-only stress gives what LAMMPS reports for the model.

    Parameters
    ----------
    velocities_A_ps : numpy.ndarray, (n_frames, n_atoms, 3)
    masses_amu : numpy.ndarray, (n_atoms,)
    volume_A3 : float or numpy.ndarray, (n_frames,)

    Returns
    -------
    numpy.ndarray, (n_frames, 6)
    """
    m = np.asarray(masses_amu, dtype=float)
    n = len(velocities_A_ps)
    k = np.empty((n, 3, 3))
    for a in range(0, n, 1024):  # float64 a block at a time, not a copy of the whole trajectory
        v = np.asarray(velocities_A_ps[a:a + 1024], dtype=float)
        k[a:a + 1024] = np.einsum("i,fia,fib->fab", m, v, v) * MVV2E
    vol = np.broadcast_to(np.asarray(volume_A3, dtype=float), (n,))
    voigt = np.stack([k[:, 0, 0], k[:, 1, 1], k[:, 2, 2], k[:, 1, 2], k[:, 0, 2], k[:, 0, 1]], axis=1)
    return -voigt / vol[:, None]


def uniform_interval(d: np.ndarray, source: str, key: str) -> float:
    """The common spacing of a series whose differences are ``d`` (e.g. times, steps).

    Raises
    ------
    TrajectoryError
        One line naming ``source`` and ``key`` when the frames are not equally spaced (the
        time correlations of the comparison assume they are).
    """
    if np.any(d <= 0) or np.ptp(d) > 1e-6 * abs(d.mean()):
        raise TrajectoryError(f"{source}: frames are not equally spaced in '{key}' "
                              f"(intervals {sorted(set(np.round(d, 9).tolist()))[:4]})")
    return float(d.mean())


class Unwrapper:
    """Unwrap periodic positions frame by frame: each step between frames is taken to its minimum image
    (in fractional coordinates of each frame's cell), so a trajectory can be unwrapped as it is read."""

    def __init__(self):
        self._frac = self._frac_u = None

    def __call__(self, positions: np.ndarray, cell: np.ndarray) -> np.ndarray:
        cell = np.asarray(cell, dtype=float)
        frac = np.asarray(positions, dtype=float) @ np.linalg.inv(cell)
        if self._frac is None:
            self._frac_u = frac
        else:
            d = frac - self._frac
            self._frac_u = self._frac_u + (d - np.round(d))
        self._frac = frac
        return self._frac_u @ cell
