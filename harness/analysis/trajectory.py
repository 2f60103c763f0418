"""MDAnalysis universes of trajectories held in memory, for the analyses that iterate them
(InterRDF, EinsteinMSD run over arrays instead of re-parsing a text dump).

Reading is not done here: LAMMPS dumps are read by :mod:`harness.io.lammps_dump` (the one
dump reader, where the unit behaviour of MDAnalysis' ``LAMMPSDUMP`` reader is documented, and
``read_frames`` streams a universe into :class:`~harness.io.lammps_dump.Frames`); masses come
from :func:`harness.io.elements.element_mass`.
"""

from __future__ import annotations

import MDAnalysis as mda
import numpy as np
from MDAnalysis.coordinates.memory import MemoryReader

from ..io.elements import element_mass
from ..io.lammps_dump import Frames


def memory_universe(
    template: mda.Universe, frames: Frames, frame_dt_ps: float
) -> mda.Universe:
    """Universe with the topology of ``template`` and ``frames`` held in memory.

    MDAnalysis analyses (InterRDF, EinsteinMSD) then iterate the arrays instead
    of re-parsing the text dump.

    Parameters
    ----------
    template : MDAnalysis.Universe
    frames : Frames
    frame_dt_ps : float
        Time between stored frames (ps).

    Returns
    -------
    MDAnalysis.Universe
    """
    # Merge copies the topology without reopening the text trajectory.
    u = mda.Merge(template.atoms)
    u.load_new(
        frames.positions_A,
        format=MemoryReader,
        dimensions=frames.dimensions,
        velocities=frames.velocities_A_per_ps,
        dt=frame_dt_ps,
    )
    return u


def universe_from_arrays(
    positions_A: np.ndarray,
    elements_per_atom: list[str],
    dimensions: np.ndarray,
    frame_dt_ps: float = 1.0,
    velocities_A_per_ps: np.ndarray | None = None,
) -> mda.Universe:
    """In-memory Universe from arrays (for synthetic data and tests).

    Parameters
    ----------
    positions_A : numpy.ndarray, (n_frames, n_atoms, 3)
    elements_per_atom : list of str, length n_atoms
    dimensions : numpy.ndarray, (6,) or (n_frames, 6)
    frame_dt_ps : float
    velocities_A_per_ps : numpy.ndarray, optional

    Returns
    -------
    MDAnalysis.Universe
    """
    positions_A = np.asarray(positions_A, dtype=np.float32)
    n_frames, n_atoms, _ = positions_A.shape
    dims = np.broadcast_to(np.asarray(dimensions, dtype=float), (n_frames, 6)).copy()
    u = mda.Universe.empty(n_atoms, trajectory=False)
    u.add_TopologyAttr("elements", np.array(elements_per_atom, dtype=object))
    u.add_TopologyAttr("masses", [element_mass(s) for s in elements_per_atom])
    u.load_new(
        positions_A,
        format=MemoryReader,
        dimensions=dims,
        velocities=velocities_A_per_ps,
        dt=frame_dt_ps,
    )
    return u

