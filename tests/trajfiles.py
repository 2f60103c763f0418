"""Reference trajectories the tests make from the harness' own runs (imported by the test modules).

Only the tests need these, so they live here rather than in the package: a run folder read as a
reference, an XDATCAR written through ASE (positions only), and whole-array unwrapping (the
package unwraps frame by frame as it reads, with :class:`harness.io.trajectory_data.Unwrapper`).
The extended-XYZ writer stays in the package (:func:`harness.io.trajectory.write_extxyz`): the
benchmarks use it too.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from harness.io.trajectory import ReferenceTrajectory, read_trajectory
from harness.io.trajectory_data import Unwrapper


def trajectory_from_run(run_dir) -> ReferenceTrajectory:
    """A harness MD run folder as a reference trajectory (its dump, thermo.dat and summary)."""
    return read_trajectory(Path(run_dir) / "traj.lammpstrj", "lammps-dump")


def write_xdatcar(path, traj: ReferenceTrajectory) -> Path:
    """Positions only, through ASE's XDATCAR writer (wrapped, direct coordinates)."""
    from ase import Atoms
    from ase.io import write

    images = []
    for f in range(traj.n_frames):
        a = Atoms(traj.symbols, positions=traj.positions_A[f], cell=traj.cells_A[f], pbc=True)
        a.wrap()
        images.append(a)
    write(str(path), images, format="vasp-xdatcar")
    return Path(path)


def unwrap(positions: np.ndarray, cells: np.ndarray) -> np.ndarray:
    """Unwrap periodic positions (n_frames, N, 3) by minimum-image steps between frames."""
    x = np.asarray(positions, dtype=float)
    cells = np.broadcast_to(np.asarray(cells, dtype=float), (len(x), 3, 3))
    step = Unwrapper()
    return np.array([step(p, c) for p, c in zip(x, cells)])
