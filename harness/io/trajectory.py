"""Reference trajectories (AIMD or any MD) for ``harness compare``: ASE and MDAnalysis readers.

``read_trajectory(path)`` returns a :class:`ReferenceTrajectory`: unwrapped positions (Å),
cells, and where the file has them velocities (Å/ps), stress (eV/Å³, ASE sign and Voigt
order), energies and forces, plus the frame interval when the file states it.

Formats (parsed by ASE or MDAnalysis, never by hand):

=================  =====================================================================
``extxyz``         ASE extended XYZ. Velocities from ``momenta``; stress from the
                   ``stress`` key (potential part, ASE's convention, unless the frame says
                   ``stress_includes_kinetic=T``). Time from the info keys ``time_ps``,
                   ``time_fs`` or ``time`` (fs), or ``step`` × ``timestep_fs`` (or
                   ``timestep``/``dt_fs``, fs); temperature from ``temperature_K``.
``vasp-xml``       vasprun.xml (every ionic step): stress and forces; POTIM (fs) and TEBEG
                   (K) from the ``<incar>``/``<parameters>`` block (a light lookup).
``vasp-out``       OUTCAR: as vasprun.xml; POTIM and TEBEG from the parameter echo.
``vasp-xdatcar``   XDATCAR: positions only; every NBLOCK-th step, so POTIM and NBLOCK come
                   from an INCAR next to it or from ``--reference-timestep``/``--reference-stride``.
``lammps-dump``    ``dump custom`` with ``id type xu yu zu [vx vy vz]`` (MDAnalysis). Element
                   of each type, time step and pressure from the harness run folder it
                   sits in (summary.json, thermo.dat), else ``elements=``/``--reference-timestep``.
=================  =====================================================================

VASP's stress in MD excludes the kinetic (ideal-gas) term, as ASE's calculators do; the
comparison adds Σ m v_a v_b / V (what LAMMPS' pressure of the model contains).

This module is the entry point: it picks the reader, then settles the frame interval from the
file and the user's values. The readers are :mod:`harness.io.trajectory_ase` (ASE formats)
and :mod:`harness.io.trajectory_dump` (LAMMPS dumps); the data class and the conventions they
share are in :mod:`harness.io.trajectory_data`. :func:`write_extxyz` writes a trajectory back
out (tests and benchmarks make references from the harness' own runs with it).
"""

from __future__ import annotations

from pathlib import Path

from ..errors import HarnessError, TrajectoryError
from . import format_of
from .trajectory_ase import read_ase_trajectory
from .trajectory_data import PS_IN_ASE_TIME, ReferenceTrajectory, kinetic_stress
from .trajectory_dump import read_dump_trajectory

__all__ = ["FORMATS", "ReferenceTrajectory", "guess_format", "read_trajectory", "write_extxyz"]

FORMATS = ("extxyz", "vasp-xml", "vasp-out", "vasp-xdatcar", "lammps-dump")


def guess_format(path: Path) -> str:
    """The trajectory format a file's name suggests (one of :data:`FORMATS`), else a one-line
    :class:`~harness.errors.TrajectoryError` asking for ``--format``."""
    return format_of(path, FORMATS, "the trajectory format", TrajectoryError)


def read_trajectory(path, fmt: str | None = None, *, timestep_fs: float | None = None, stride: int | None = None,
                    elements: list[str] | None = None, temperature_K: float | None = None,
                    progress=None, forces: bool = True) -> ReferenceTrajectory:
    """Read a reference trajectory; time step and stride from the file where it states them.

    Parameters
    ----------
    path : str or Path
    fmt : str, optional
        One of :data:`FORMATS` (default: from the file name).
    timestep_fs, stride : optional
        MD time step (fs) and steps between stored frames, for files that do not state them.
        A value that contradicts the file is an error.
    elements : list of str, optional
        Element of LAMMPS type k (``elements[k-1]``) for a dump outside a harness run folder.
    temperature_K : float, optional
        The reference's temperature when the file does not state it (for the equipartition check).
    progress : callable(done, total), optional
        Called after each frame read through ASE with total None (the count is not known in
        advance), and once at the end with done == total.
    forces : bool
        Keep per-atom forces where the file has them (False saves a third of the memory of a
        comparison of observables, which does not use them).
    """
    path = Path(path)
    if fmt is not None and fmt not in FORMATS:
        raise TrajectoryError(f"unknown trajectory format '{fmt}' (valid: {', '.join(FORMATS)})")
    if not path.is_file():
        raise TrajectoryError(f"reference trajectory {path}: no such file")
    fmt = fmt or guess_format(path)
    if timestep_fs is not None and not timestep_fs > 0:
        raise TrajectoryError(f"--reference-timestep must be positive, got {timestep_fs}")
    if stride is not None and not (int(stride) == stride and stride > 0):
        raise TrajectoryError(f"--reference-stride must be a positive integer, got {stride}")
    try:
        if fmt == "lammps-dump":
            traj = read_dump_trajectory(path, elements, timestep_fs)
        else:
            traj = read_ase_trajectory(path, fmt, progress, forces=forces)
    except TrajectoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - parsers raise anything from StopIteration to XML errors
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise TrajectoryError(f"reference trajectory {path}: cannot read as {fmt} ({msg})") from None
    if traj.n_frames == 0:
        raise TrajectoryError(f"reference trajectory {path}: no frames")
    _resolve_time(traj, timestep_fs, stride)
    if traj.temperature_K is None and temperature_K is not None:
        traj.temperature_K = float(temperature_K)
    return traj


# ----------------------------------------------------------------------------- time step
def _resolve_time(traj: ReferenceTrajectory, timestep_fs: float | None, stride: int | None) -> None:
    """Frame interval from the file, the user, or both (which must then agree)."""
    if timestep_fs is not None:
        if traj.timestep_fs is not None and abs(traj.timestep_fs - timestep_fs) > 1e-6 * timestep_fs:
            raise TrajectoryError(f"{traj.source}: the file says a time step of {traj.timestep_fs:g} fs, "
                                  f"--reference-timestep says {timestep_fs:g} fs")
        traj.timestep_fs = float(timestep_fs)
    if stride is not None:
        if traj.stride is not None and traj.stride != stride:
            raise TrajectoryError(f"{traj.source}: the file says frames every {traj.stride} steps, "
                                  f"--reference-stride says {stride}")
        traj.stride = int(stride)
    if traj.frame_dt_ps is not None:
        if timestep_fs is not None and traj.stride is not None:
            implied = traj.timestep_fs * traj.stride * 1e-3
            if abs(implied - traj.frame_dt_ps) > 1e-6 * traj.frame_dt_ps:
                raise TrajectoryError(f"{traj.source}: the file's frames are {traj.frame_dt_ps * 1e3:g} fs apart, "
                                      f"--reference-timestep × --reference-stride gives {implied * 1e3:g} fs")
        return
    if traj.timestep_fs is not None:
        if traj.stride is None and traj.format in ("vasp-xml", "vasp-out"):
            traj.stride = 1  # every ionic step is stored
        if traj.stride is not None:
            traj.frame_dt_ps = traj.timestep_fs * traj.stride * 1e-3
    if traj.frame_dt_ps is None:
        traj.notes.append("no frame interval in the file: give --reference-timestep and --reference-stride")


# ----------------------------------------------------------------------------- writer
def write_extxyz(path, traj: ReferenceTrajectory, *, velocities: bool = True, stress: bool = True) -> Path:
    """A reference trajectory as extended XYZ at full double precision (ASE reads it back).

    Velocities go into ``momenta`` (ASE units); stress is written as its potential part
    (the kinetic term Σ m v v / V removed when the trajectory's stress includes it and
    velocities are known); ``time_ps``, ``timestep_fs``, ``step`` and ``temperature_K`` go into
    the header when known.
    """
    path = Path(path)
    masses = traj.masses
    v = traj.velocities_A_per_ps
    s = traj.stress_eV_A3 if stress else None
    includes_kinetic = traj.stress_includes_kinetic
    if s is not None and includes_kinetic and v is not None:
        s = s - kinetic_stress(v, masses, traj.volumes_A3)
        includes_kinetic = False
    steps = getattr(traj, "_steps", None)
    lines = []
    for f in range(traj.n_frames):
        props = "species:S:1:pos:R:3"
        if velocities and v is not None:
            props += ":momenta:R:3"
        if traj.forces_eV_A is not None:
            props += ":forces:R:3"
        cell = " ".join(f"{x:.17g}" for x in traj.cells_A[f].ravel())
        head = f'Lattice="{cell}" Properties={props}'
        if traj.energy_eV is not None:
            head += f" energy={float(traj.energy_eV[f]):.17g}"
        if s is not None:
            m = s[f]
            full = [m[0], m[5], m[4], m[5], m[1], m[3], m[4], m[3], m[2]]
            head += ' stress="' + " ".join(f"{x:.17g}" for x in full) + '"'
            if includes_kinetic:
                head += " stress_includes_kinetic=T"
        if traj.frame_dt_ps is not None:
            head += f" time_ps={f * traj.frame_dt_ps:.17g}"
        if traj.timestep_fs is not None:
            head += f" timestep_fs={traj.timestep_fs:.17g}"
        if steps is not None:
            head += f" step={int(steps[f])}"
        if traj.temperature_K is not None:
            head += f" temperature_K={traj.temperature_K:.17g}"
        head += ' pbc="T T T"'
        lines += [str(traj.n_atoms), head]
        for i, sym in enumerate(traj.symbols):
            row = [sym] + [f"{x:.17g}" for x in traj.positions_A[f, i]]
            if velocities and v is not None:
                row += [f"{x:.17g}" for x in masses[i] * v[f, i] / PS_IN_ASE_TIME]
            if traj.forces_eV_A is not None:
                row += [f"{x:.17g}" for x in traj.forces_eV_A[f, i]]
            lines.append(" ".join(row))
    path.write_text("\n".join(lines) + "\n")
    return path


def find_reference(reference_dir: Path | None, system: str) -> Path | None:
    """``<dir>/<system>.<ext>`` in a format :func:`read_trajectory` reads (first in name order)."""
    if reference_dir is None:
        return None
    for path in sorted(Path(reference_dir).glob(f"{system}.*")):
        try:
            guess_format(path)
        except HarnessError:
            continue
        if path.is_file():
            return path
    return None
