"""Reference trajectories in the formats ASE parses: extxyz, vasprun.xml, OUTCAR, XDATCAR.

The frames come from ``ase.io.iread``; what ASE does not carry into the frames (the time
step, the stride between stored frames, the temperature) is read here from where each format
keeps it: extxyz info keys, the ``<incar>`` block of vasprun.xml, OUTCAR's parameter echo, an
INCAR next to an XDATCAR. The table of formats and keys is in :mod:`harness.io.trajectory`.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ..errors import TrajectoryError
from ..units import matrix_to_voigt
from .trajectory_data import PS_IN_ASE_TIME, ReferenceTrajectory, Unwrapper, uniform_interval

_INFO_KEYS = ("timestep_fs", "timestep", "dt_fs", "temperature_K", "temperature", "T", "stress_includes_kinetic",
              "time_ps", "time_fs", "time", "step")  # what _extxyz_time reads


def read_ase_trajectory(path: Path, fmt: str, progress=None, *, forces: bool = True) -> ReferenceTrajectory:
    """Frames through ``ase.io.iread``, one at a time into arrays (no list of Atoms is kept).

    Parameters
    ----------
    path : Path
    fmt : str
        ``extxyz``, ``vasp-xml``, ``vasp-out`` or ``vasp-xdatcar`` (ASE's format names).
    progress : callable(done, total), optional
        Called after each frame with total None, and once at the end with done == total.
    forces : bool
        Keep the per-atom forces (False: a comparison of observables has no use for them).

    Returns
    -------
    ReferenceTrajectory
        Time step, stride and temperature set where the file (or an INCAR beside an
        XDATCAR) states them; :func:`harness.io.trajectory.read_trajectory` resolves the rest.
    """
    from ase.io import iread

    symbols = formula0 = None
    unwrap = Unwrapper()
    n_hint = _count_xyz_frames(path) if fmt == "extxyz" else None  # arrays allocated once when known
    pos, vel, frc = _Stack(n_hint), _Stack(n_hint), _Stack(n_hint) if forces else None
    fields: dict[str, list | None] = {"cell": [], "stress": [], "energy": []}
    infos = []
    for i, a in enumerate(iread(str(path), index=":", format=fmt)):
        if symbols is None:
            symbols, formula0 = a.get_chemical_symbols(), a.get_chemical_formula()
        elif a.get_chemical_symbols() != symbols:
            raise TrajectoryError(f"reference trajectory {path}: frame {i} has other atoms than frame 0 "
                                  f"({a.get_chemical_formula()} vs {formula0})")
        cell = np.array(a.cell, dtype=float)
        if abs(np.linalg.det(cell)) < 1e-9:
            raise TrajectoryError(f"reference trajectory {path}: frame {i} has no periodic cell")
        # float32 (1e-5 Å on 100 Å, far below what g(r), MSD or a VDOS resolve): a Dyna-Mat
        # reference (20,000 frames × 256 atoms) then holds ~60 MB per array instead of 123 MB
        pos.add(unwrap(a.positions, cell))
        fields["cell"].append(cell)
        r = a.calc.results if a.calc is not None else {}
        if vel is not None:
            vel = vel.add(a.get_velocities() * PS_IN_ASE_TIME) if "momenta" in a.arrays else None
        if frc is not None:  # a quantity missing from one frame is dropped for all
            frc = None if r.get("forces") is None else frc.add(r["forces"])
        for key, value in (("stress", None if r.get("stress") is None else matrix_to_voigt(r["stress"])),
                           ("energy", None if r.get("energy") is None else float(r["energy"]))):
            if value is None:
                fields[key] = None
            elif fields[key] is not None:
                fields[key].append(value)
        infos.append({k: a.info[k] for k in _INFO_KEYS if k in a.info})
        if progress is not None:
            progress(i + 1, None)
    if symbols is None:
        raise TrajectoryError(f"reference trajectory {path}: no frames")
    if progress is not None:
        progress(len(infos), len(infos))  # the end: now the count is known
    cells = np.array(fields.pop("cell"))
    stack = {k: None if v is None else np.array(v) for k, v in fields.items()}
    traj = ReferenceTrajectory(symbols=symbols, positions_A=pos.array(), cells_A=cells, source=str(path), format=fmt)
    traj.velocities_A_per_ps = None if vel is None else vel.array()
    traj.forces_eV_A = None if frc is None else frc.array()
    traj.stress_eV_A3, traj.energy_eV = stack["stress"], stack["energy"]

    if fmt == "extxyz":
        _extxyz_time(traj, infos)
    elif fmt == "vasp-xml":
        params = _vasprun_incar(path)
        _vasp_params(traj, params)
    elif fmt == "vasp-out":
        _vasp_params(traj, _outcar_params(path))
    elif fmt == "vasp-xdatcar":
        incar = path.parent / "INCAR"
        if incar.is_file():
            params = _incar_params(incar)
            _vasp_params(traj, params)
            if "NBLOCK" in params or "POTIM" in params:
                traj.stride = int(float(params.get("NBLOCK", 1)))
                traj.notes.append(f"POTIM/NBLOCK from {incar}")
    return traj


class _Stack:
    """Per-atom arrays of frames in one float32 array that grows in place.

    ``ndarray.resize`` reallocates, which for a large array the C library does by remapping
    pages, not by copying; unwritten pages cost no memory. So the peak is the result itself,
    not twice it (the join of a list of frames), and no fragmented heap is left behind.
    """

    def __init__(self, n_frames: int | None = None):
        self.a: np.ndarray | None = None
        self.n, self.hint = 0, n_frames

    def add(self, frame: np.ndarray) -> _Stack:
        if self.a is None:
            self.a = np.empty((self.hint or 64, *np.shape(frame)), np.float32)
        elif self.n == len(self.a):
            self.a.resize((2 * len(self.a), *self.a.shape[1:]), refcheck=False)
        self.a[self.n] = frame
        self.n += 1
        return self

    def array(self) -> np.ndarray:
        self.a.resize((self.n, *self.a.shape[1:]), refcheck=False)
        return self.a


def _count_xyz_frames(path: Path) -> int | None:
    """Frames of an (ext)xyz file from its atom-count lines (~0.4 s for 620 MB); None when the
    file does not follow that layout (ASE's parser then says why)."""
    import itertools

    n = 0
    try:
        with open(path, "rb") as fh:
            while (line := fh.readline()).strip():
                for _ in itertools.islice(fh, int(line) + 1):
                    pass
                n += 1
    except ValueError:
        return None
    return n or None


def _extxyz_time(traj: ReferenceTrajectory, infos: list[dict]) -> None:
    first = infos[0]
    for key in ("timestep_fs", "timestep", "dt_fs"):
        if key in first:
            traj.timestep_fs = float(first[key])
            break
    for key in ("temperature_K", "temperature", "T"):
        if key in first:
            traj.temperature_K = float(first[key])
            break
    if bool(first.get("stress_includes_kinetic", False)):
        traj.stress_includes_kinetic = True
    for key, scale in (("time_ps", 1.0), ("time_fs", 1e-3), ("time", 1e-3)):
        if all(key in i for i in infos) and len(infos) > 1:
            t = np.array([float(i[key]) for i in infos]) * scale
            traj.frame_dt_ps = uniform_interval(np.diff(t), traj.source, key)
            break
    if all("step" in i for i in infos) and len(infos) > 1:
        steps = np.array([int(i["step"]) for i in infos])
        traj.stride = int(uniform_interval(np.diff(steps), traj.source, "step"))


def _vasp_params(traj: ReferenceTrajectory, params: dict) -> None:
    if "POTIM" in params:
        traj.timestep_fs = float(params["POTIM"])
    if "TEBEG" in params and traj.temperature_K is None:
        traj.temperature_K = float(params["TEBEG"])


def _vasprun_incar(path: Path) -> dict:
    """POTIM, NBLOCK, TEBEG, ... from vasprun.xml's <incar> (or <parameters>) block, streaming."""
    import xml.etree.ElementTree as ET

    wanted = {"POTIM", "NBLOCK", "TEBEG", "IBRION"}
    found: dict = {}
    for _, elem in ET.iterparse(str(path), events=("end",)):
        if elem.tag == "i" and elem.get("name") in wanted and elem.get("name") not in found:
            found[elem.get("name")] = (elem.text or "").strip()
        if elem.tag == "parameters" or elem.tag == "calculation":
            break
    return found


def _outcar_params(path: Path) -> dict:
    """POTIM and TEBEG from the OUTCAR's parameter echo (the first occurrences)."""
    found: dict = {}
    pat = re.compile(r"^\s*(POTIM|TEBEG|NBLOCK)\s*=\s*([-+0-9.Ee]+)")
    with open(path, errors="replace") as fh:
        for line in fh:
            m = pat.match(line)
            if m and m.group(1) not in found:
                found[m.group(1)] = m.group(2)
            if len(found) == 3 or "Iteration" in line:
                break
    return found


def _incar_params(path: Path) -> dict:
    out = {}
    for line in path.read_text(errors="replace").splitlines():
        for part in line.split("#")[0].split("!")[0].split(";"):
            if "=" in part:
                k, v = part.split("=", 1)
                if v.split():
                    out[k.strip().upper()] = v.split()[0]
    return out
