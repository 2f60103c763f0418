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
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from ase import units

from ..errors import TrajectoryError
from ..units import matrix_to_voigt, stress_from_pressure_GPa
from . import format_of

FORMATS = ("extxyz", "vasp-xml", "vasp-out", "vasp-xdatcar", "lammps-dump")
_PS = 1000.0 * units.fs  # one ps in ASE time units


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
        from ..analysis.trajectory import element_mass

        return np.array([element_mass(s) for s in self.symbols])

    @property
    def volumes_A3(self) -> np.ndarray:
        return np.abs(np.linalg.det(self.cells_A))

    def select(self, idx) -> "ReferenceTrajectory":
        """A copy restricted to frames ``idx`` (slice or index array)."""
        from dataclasses import replace

        pick = (lambda a: None if a is None else a[idx])
        return replace(self, positions_A=self.positions_A[idx], cells_A=self.cells_A[idx],
                       velocities_A_per_ps=pick(self.velocities_A_per_ps), stress_eV_A3=pick(self.stress_eV_A3),
                       energy_eV=pick(self.energy_eV), forces_eV_A=pick(self.forces_eV_A), notes=list(self.notes))

    def first_frame_atoms(self):
        """The first frame as :class:`ase.Atoms` (positions wrapped into the cell)."""
        from ase import Atoms

        atoms = Atoms(self.symbols, positions=self.positions_A[0], cell=self.cells_A[0], pbc=True)
        atoms.wrap()
        return atoms


def guess_format(path: Path) -> str:
    return format_of(path, FORMATS, "the trajectory format", TrajectoryError)


def read_trajectory(path, fmt: str | None = None, *, timestep_fs: float | None = None, stride: int | None = None,
                    elements: list[str] | None = None, temperature_K: float | None = None,
                    progress=None) -> ReferenceTrajectory:
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
            traj = _read_dump(path, elements, timestep_fs)
        else:
            traj = _read_ase(path, fmt, progress)
    except TrajectoryError:
        raise
    except Exception as exc:  # parsers raise anything from StopIteration to XML errors
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


# ----------------------------------------------------------------------------- ASE formats
_INFO_KEYS = ("timestep_fs", "timestep", "dt_fs", "temperature_K", "temperature", "T", "stress_includes_kinetic",
              "time_ps", "time_fs", "time", "step")  # what _extxyz_time reads


def _read_ase(path: Path, fmt: str, progress=None) -> ReferenceTrajectory:
    """Frames through ``ase.io.iread``, one at a time into arrays (no list of Atoms is kept)."""
    from ase.io import iread

    from ..analysis.dynamat import Unwrapper

    symbols = formula0 = None
    unwrap = Unwrapper()
    fields: dict[str, list | None] = {"pos": [], "cell": [], "vel": [], "stress": [], "energy": [], "forces": []}
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
        fields["pos"].append(unwrap(a.positions, cell))
        fields["cell"].append(cell)
        r = a.calc.results if a.calc is not None else {}
        for key, value in (("vel", a.get_velocities() * _PS if "momenta" in a.arrays else None),
                           ("stress", None if r.get("stress") is None else matrix_to_voigt(r["stress"])),
                           ("energy", None if r.get("energy") is None else float(r["energy"])),
                           ("forces", None if r.get("forces") is None else np.array(r["forces"], dtype=float))):
            if value is None:  # a quantity missing from one frame is dropped for all
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
    pos = np.array(fields.pop("pos"))
    stack = {k: None if v is None else np.array(v) for k, v in fields.items()}
    traj = ReferenceTrajectory(symbols=symbols, positions_A=pos, cells_A=cells, source=str(path), format=fmt)
    traj.velocities_A_per_ps = stack["vel"]
    traj.stress_eV_A3, traj.energy_eV, traj.forces_eV_A = stack["stress"], stack["energy"], stack["forces"]

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
            traj.frame_dt_ps = _uniform(np.diff(t), traj.source, key)
            break
    if all("step" in i for i in infos) and len(infos) > 1:
        steps = np.array([int(i["step"]) for i in infos])
        traj.stride = int(_uniform(np.diff(steps), traj.source, "step"))


def _uniform(d: np.ndarray, source: str, key: str) -> float:
    if np.any(d <= 0) or np.ptp(d) > 1e-6 * abs(d.mean()):
        raise TrajectoryError(f"{source}: frames are not equally spaced in '{key}' "
                              f"(intervals {sorted(set(np.round(d, 9).tolist()))[:4]})")
    return float(d.mean())


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


# ----------------------------------------------------------------------------- LAMMPS dump
def _read_dump(path: Path, elements: list[str] | None, timestep_fs: float | None) -> ReferenceTrajectory:
    from MDAnalysis.lib.mdamath import triclinic_vectors

    from ..analysis.thermo import read_thermo
    from ..analysis.trajectory import read_frames
    from ..errors import RunFolderError
    from ..runs import SUMMARY, load_run
    from .lammps_dump import load_dump_universe, read_dump_fast

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
    cells = np.array([triclinic_vectors(d) for d in fr.dimensions], dtype=float)
    traj = ReferenceTrajectory(symbols=list(symbols), positions_A=fr.positions_A.astype(float),
                               cells_A=cells, source=str(path), format="lammps-dump", notes=notes,
                               velocities_A_per_ps=None if fr.velocities_A_per_ps is None
                               else fr.velocities_A_per_ps.astype(float))
    if run_ts is not None:
        traj.timestep_fs = run_ts
        traj.temperature_K = record.md.temperature_K
    if fr.n_frames > 1:
        traj.stride = int(_uniform(np.diff(fr.step).astype(float), str(path), "step"))
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


# ----------------------------------------------------------------------------- writers
def write_extxyz(path, traj: ReferenceTrajectory, *, velocities: bool = True, stress: bool = True) -> Path:
    """A reference trajectory as extended XYZ at full double precision (ASE reads it back).

    Velocities go into ``momenta`` (ASE units); stress is written as its potential part
    (the kinetic term Σ m v v / V removed when the trajectory's stress includes it and
    velocities are known); ``time_ps``, ``timestep_fs``, ``step`` and ``temperature_K`` go into
    the header when known.
    """
    from ..analysis.dynamat import kinetic_stress

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
                row += [f"{x:.17g}" for x in masses[i] * v[f, i] / _PS]
            if traj.forces_eV_A is not None:
                row += [f"{x:.17g}" for x in traj.forces_eV_A[f, i]]
            lines.append(" ".join(row))
    path.write_text("\n".join(lines) + "\n")
    return path


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


def trajectory_from_run(run_dir) -> ReferenceTrajectory:
    """A harness MD run folder as a reference trajectory (its dump, thermo.dat and summary)."""
    return read_trajectory(Path(run_dir) / "traj.lammpstrj", "lammps-dump")
