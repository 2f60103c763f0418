"""A LAMMPS dump as a reference trajectory, with what the harness run folder around it adds.

A dump alone names neither its elements nor its time step, and holds no stress. In a harness
MD run folder the rest is next to it: the element of each type and the time step in
``summary.json`` (read through :func:`harness.runs.load_run`), the pressure tensor and the
potential energy at the dumped steps in ``thermo.dat``. Outside a run folder the user gives
the elements (and the time step); the reference then has no stress (unless a ``thermo.dat``
with the dumped steps sits beside the dump).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import RunFolderError, TrajectoryError
from ..runs import SUMMARY, load_run
from ..units import stress_from_pressure_GPa
from .lammps_dump import dump_cells, load_dump_universe, read_dump_fast, read_frames
from .thermo import read_thermo
from .trajectory_data import ReferenceTrajectory, uniform_interval


def read_dump_trajectory(path: Path, elements: list[str] | None, timestep_fs: float | None) -> ReferenceTrajectory:
    """A LAMMPS dump as a reference trajectory, with what its run folder (if any) adds.

    Parameters
    ----------
    path : Path
        ``dump custom`` with ``id type xu yu zu [vx vy vz]``.
    elements : list of str, optional
        Element of LAMMPS type k (``elements[k-1]``); default: the run folder's.
    timestep_fs : float, optional
        MD time step (fs); default: the run folder's, else 1 fs (for MDAnalysis' clock only).

    Returns
    -------
    ReferenceTrajectory
        Stride from the dump's steps; time step, temperature, pressure tensor and potential
        energy from the run folder when the dump sits in one.
    """
    try:
        record = load_run(path.parent)
    except RunFolderError:
        record = None
    notes = []
    run_ts = None
    if record is not None and record.is_md:
        run_ts = record.md.timestep_fs
        if elements is None:
            elements = record.elements
            notes.append(f"elements of the atom types from {path.parent / SUMMARY}")
    if elements is None:
        raise TrajectoryError(f"{path}: a LAMMPS dump does not name its elements; give the element of each atom "
                              f"type (--elements A,B in type order)")
    ts = timestep_fs or run_ts or 1.0
    try:  # numpy reader (~10x faster); MDAnalysis for layouts it does not read (e.g. scaled coordinates)
        fr, symbols = read_dump_fast(path, list(elements))
    except ValueError as exc:
        if "types" in str(exc):
            raise
        u = load_dump_universe(path, list(elements), ts)
        fr, symbols = read_frames(u), [str(e) for e in u.atoms.elements]
    cells = dump_cells(fr)
    # float32 as read (1e-5 Å on 100 Å), as the other formats: half the memory of float64
    traj = ReferenceTrajectory(symbols=list(symbols), positions_A=np.asarray(fr.positions_A, np.float32),
                               cells_A=cells, source=str(path), format="lammps-dump", notes=notes,
                               velocities_A_per_ps=None if fr.velocities_A_per_ps is None
                               else np.asarray(fr.velocities_A_per_ps, np.float32))
    if run_ts is not None:
        traj.timestep_fs = run_ts
        traj.temperature_K = record.md.temperature_K
    if fr.n_frames > 1:
        traj.stride = int(uniform_interval(np.diff(fr.step).astype(float), str(path), "step"))
    thermo_path = path.parent / "thermo.dat"
    if thermo_path.is_file():
        th = read_thermo(thermo_path, ts)
        where = {int(s): k for k, s in enumerate(th["step"])}
        rows = [where.get(int(s)) for s in fr.step]
        keys = ("pxx_GPa", "pyy_GPa", "pzz_GPa", "pyz_GPa", "pxz_GPa", "pxy_GPa")
        if rows and all(r is not None for r in rows) and all(k in th for k in keys):
            p = np.stack([th[k][rows] for k in keys], axis=1)
            traj.stress_eV_A3 = stress_from_pressure_GPa(p)  # LAMMPS pressure (positive = compression) incl. kinetic
            traj.stress_includes_kinetic = True
            traj.energy_eV = th["pe_eV"][rows] if "pe_eV" in th else None
            traj.notes.append(f"pressure tensor from {thermo_path} (includes the kinetic part)")
    traj._steps = fr.step  # noqa: SLF001  (kept for writers)
    return traj
