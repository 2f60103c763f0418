"""MDAnalysis universes of trajectories (held in memory) and element masses.

LAMMPS dumps are read by :mod:`harness.io.lammps_dump` (the one dump reader); its
MDAnalysis route is documented here.

Unit behaviour of MDAnalysis' ``LAMMPSDUMP`` reader (checked for 2.11):

* It performs **no unit conversion** (its ``units`` are all ``None``): numbers
  are taken verbatim from the file. For ``units metal`` this means positions
  in A and velocities in A/ps, which are MDAnalysis' base units anyway, so we
  keep them as read. (For other LAMMPS unit styles, e.g. ``real`` with A/fs,
  the caller would have to convert.)
* Time is ``step * dt`` where ``dt`` is the reader keyword. It is therefore the
  **MD timestep** in ps, not the spacing between dumped frames; without it
  MDAnalysis warns and uses 1 ps, making ``ts.time`` equal to the step number.
* Positions, velocities and forces are stored as float32.
* The topology built from the dump alone has ``types`` as strings ("1", "2")
  and all masses guessed as 1.0; we set masses/elements from the type map.
* The reader shifts positions so that the box lower corner is the origin.
"""

from __future__ import annotations


import numpy as np

import MDAnalysis as mda
from MDAnalysis.coordinates.memory import MemoryReader
from ase.data import atomic_masses, atomic_numbers

from ..io.lammps_dump import Frames


def element_mass(symbol: str) -> float:
    """Standard atomic mass (g/mol) of an element symbol, from ASE's table (the same masses
    ASE writes into the LAMMPS data file; MDAnalysis' guesser table lacks e.g. Co)."""
    if symbol not in atomic_numbers:
        raise ValueError(f"unknown element {symbol!r}")
    return float(atomic_masses[atomic_numbers[symbol]])


def read_frames(u: mda.Universe, min_step: int | None = None) -> Frames:
    """Stream all frames of ``u`` into preallocated arrays (one pass over the file).

    Frames with ``step < min_step`` are skipped. A step that re-appears (a dump
    appended after a restart) overwrites the earlier frames from that step on,
    so the last occurrence wins and steps stay strictly increasing.

    Parameters
    ----------
    u : MDAnalysis.Universe
    min_step : int, optional

    Returns
    -------
    Frames
    """
    traj = u.trajectory
    n_max, n_atoms = traj.n_frames, u.atoms.n_atoms
    has_vel = traj.ts.has_velocities
    steps = np.zeros(n_max, dtype=np.int64)
    pos = np.empty((n_max, n_atoms, 3), dtype=np.float32)
    vel = np.empty((n_max, n_atoms, 3), dtype=np.float32) if has_vel else None
    dims = np.empty((n_max, 6), dtype=np.float64)
    n = 0
    for ts in traj:
        step = int(ts.data["step"])
        if min_step is not None and step < min_step:
            continue
        if n and step <= steps[n - 1]:
            n = int(np.searchsorted(steps[:n], step))
        steps[n] = step
        pos[n] = ts.positions
        if vel is not None:
            vel[n] = ts.velocities
        dims[n] = ts.dimensions
        n += 1
    # Slices are views: no copy of the (possibly large) arrays.
    return Frames(steps[:n], pos[:n], None if vel is None else vel[:n], dims[:n])


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

