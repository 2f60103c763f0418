"""The one reader of LAMMPS text dumps (``dump custom``) in the package.

``index_dump`` scans a dump for where its frames start (no atom is parsed) and
``truncate_dump`` cuts a dump before a step (an interrupted run resumes there): both in
:mod:`harness.io.dump_index`, re-exported here. ``iter_dump`` parses the frames of an index
with numpy, a block at a time, so memory is set by the block, not by the run. For layouts the
numpy parser does not read (scaled coordinates, say) ``load_dump_universe`` goes through
MDAnalysis' ``LAMMPSDUMP`` reader and ``read_frames`` streams that universe into the same
:class:`Frames` arrays.

Units: LAMMPS ``metal`` as written (Å, Å/ps, eV/Å); positions are shifted so the box origin
is 0, as MDAnalysis does.

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

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .dump_index import DumpIndex, dump_n_atoms, index_dump, truncate_dump
from .elements import element_mass

__all__ = ["DumpIndex", "Frames", "dump_cells", "dump_n_atoms", "index_dump", "iter_dump", "load_dump_universe",
           "read_dump_fast", "read_frames", "truncate_dump"]


@dataclass
class Frames:
    """Frames of a trajectory held in preallocated arrays.

    Attributes
    ----------
    step : numpy.ndarray, (n_frames,) int
    positions_A : numpy.ndarray, (n_frames, n_atoms, 3) float32, unwrapped
    velocities_A_per_ps : numpy.ndarray or None, (n_frames, n_atoms, 3) float32
    dimensions : numpy.ndarray, (n_frames, 6) [a, b, c, alpha, beta, gamma] (A, deg)
    forces_eV_A : numpy.ndarray or None, (n_frames, n_atoms, 3) float32 (only when asked for)
    """

    step: np.ndarray
    positions_A: np.ndarray
    velocities_A_per_ps: np.ndarray | None
    dimensions: np.ndarray
    forces_eV_A: np.ndarray | None = None

    @property
    def n_frames(self) -> int:
        return len(self.step)


def _box(fh) -> tuple[np.ndarray, np.ndarray]:
    """Read the three box lines of a dump frame: (origin, [a, b, c, alpha, beta, gamma])."""
    from MDAnalysis.lib.mdamath import triclinic_box

    rows = np.array([fh.readline().split() for _ in range(3)], dtype=float)
    if rows.shape[1] == 2:
        lo, hi = rows[:, 0], rows[:, 1]
        return lo, np.array([*(hi - lo), 90.0, 90.0, 90.0])
    # Triclinic: bounding box -> (xlo, xhi, ...) as in https://docs.lammps.org/Howto_triclinic.html
    (xlo_b, xhi_b, xy), (ylo_b, yhi_b, xz), (zlo, zhi, yz) = rows
    xlo, xhi = xlo_b - min(0.0, xy, xz, xy + xz), xhi_b - max(0.0, xy, xz, xy + xz)
    ylo, yhi = ylo_b - min(0.0, yz), yhi_b - max(0.0, yz)
    box = np.array([[xhi - xlo, 0.0, 0.0], [xy, yhi - ylo, 0.0], [xz, yz, zhi - zlo]])
    return np.array([xlo, ylo, zlo]), np.asarray(triclinic_box(*box), dtype=float)


PARSE_BYTES = 8 * 2**20  # atom lines parsed in one call, at most (transients ~3x this: text, floats, sorted)


def iter_dump(index: DumpIndex, elements: list[str], block_frames: int = 256, *, forces: bool = False):
    """Parse the frames of ``index``, ``block_frames`` at a time.

    The atom lines of a block are parsed by pandas' C reader, at most :data:`PARSE_BYTES` of
    text per call (~5x faster than numpy's ``fromstring`` per frame on 256-atom frames), and
    never more than one block is held. Orthogonal and triclinic boxes; positions from ``xu yu zu`` (else
    ``x y z``), shifted so the box origin is 0 (as MDAnalysis does); atoms sorted by id.
    ``forces=True`` also returns ``fx fy fz`` (a :class:`ValueError` when the dump has none).

    Yields
    ------
    (Frames, list of str)
        A block of frames (float32 positions/velocities) and the element of each atom.

    Raises
    ------
    ValueError
        A layout it cannot read (no id/type/position columns, atom count or types changing).
    """
    symbols = None
    with open(index.path, "rb") as fh:
        for b0 in range(0, index.n_frames, block_frames):
            n_block = min(block_frames, index.n_frames - b0)
            layout = pos = vel = frc = None
            dims, group, g0, text = np.empty((n_block, 6)), [], 0, 0
            for k in range(n_block):
                (n, origin, dims[k], cols), chunk = _read_frame(fh, index, b0 + k)
                if layout is None:
                    layout = _layout(index, cols, forces)
                    n_atoms = n
                    pos = np.empty((n_block, n, 3), np.float32)
                    vel = np.empty((n_block, n, 3), np.float32) if layout["v"] is not None else None
                    frc = np.empty((n_block, n, 3), np.float32) if forces else None
                    origins = np.empty((n_block, 3))
                known = n_atoms if symbols is None else len(symbols)
                if n != known:
                    raise ValueError(f"{index.path.name}: atom count changes from {known} to {n} "
                                     f"at step {index.steps[b0 + k]}")
                if cols != layout["columns"]:
                    raise ValueError(f"{index.path.name}: dump columns change at step {index.steps[b0 + k]} "
                                     f"({' '.join(layout['columns'])} → {' '.join(cols)})")
                origins[k] = origin
                group.append(chunk)
                text += len(chunk)
                if text >= PARSE_BYTES or k == n_block - 1:  # parse what is gathered: memory bounded by text
                    data = _parse_rows(b"".join(group), len(cols), (k + 1 - g0) * n, index, b0 + g0)
                    group, text = [], 0
                    data = data.reshape(k + 1 - g0, n, len(cols))
                    order = np.argsort(data[:, :, layout["id"]], axis=1, kind="stable")
                    data = np.take_along_axis(data, order[:, :, None], axis=1)
                    if symbols is None:
                        symbols = _symbols(data[0, :, layout["type"]], elements)
                    pos[g0:k + 1] = data[:, :, layout["xyz"]] - origins[g0:k + 1, None, :]
                    if vel is not None:
                        vel[g0:k + 1] = data[:, :, layout["v"]]
                    if frc is not None:
                        frc[g0:k + 1] = data[:, :, layout["f"]]
                    del data
                    g0 = k + 1
            yield Frames(index.steps[b0:b0 + n_block], pos, vel, dims, frc), symbols


def _layout(index: DumpIndex, columns: tuple[str, ...], forces: bool) -> dict:
    """Where id, type, positions, velocities and forces are among a dump's ``columns``."""
    col = {c: i for i, c in enumerate(columns)}
    xyz = [col.get(c) for c in ("xu", "yu", "zu")]
    if None in xyz:
        xyz = [col.get(c) for c in ("x", "y", "z")]
    if None in xyz or "id" not in col or "type" not in col:
        raise ValueError(f"{index.path.name}: needs id, type and xu yu zu (or x y z) columns, has {' '.join(columns)}")
    vcols = [col.get(c) for c in ("vx", "vy", "vz")]
    fcols = [col.get(c) for c in ("fx", "fy", "fz")]
    if forces and None in fcols:
        raise ValueError(f"{index.path.name}: no force columns (fx fy fz)")
    return {"columns": columns, "id": col["id"], "type": col["type"], "xyz": xyz,
            "v": None if None in vcols else vcols, "f": None if None in fcols else fcols}


def _symbols(types: np.ndarray, elements: list[str]) -> list[str]:
    types = types.astype(int)
    if types.min() < 1 or types.max() > len(elements):
        raise ValueError(f"dump has atom types {sorted(set(types.tolist()))} but elements={elements}")
    return [elements[t - 1] for t in types]


def _read_frame(fh, index: DumpIndex, k: int) -> tuple[tuple, bytes]:
    """Header ``(n_atoms, origin, box, columns)`` and the atom lines (bytes) of frame ``k``.

    The atom lines are read in one piece up to the next indexed frame when that is where they
    end (the usual case); line by line otherwise (a frame re-written after a restart between).
    """
    fh.seek(int(index.offsets[k]))
    for _ in range(3):
        fh.readline()
    n_atoms = int(fh.readline())
    fh.readline()
    origin, dim = _box(fh)
    columns = tuple(c.decode() for c in fh.readline().split()[2:])
    start = fh.tell()
    if k + 1 < index.n_frames and int(index.offsets[k + 1]) > start:
        chunk = fh.read(int(index.offsets[k + 1]) - start)
        if chunk.count(b"\n") == n_atoms:
            return (n_atoms, origin, dim, columns), chunk
        fh.seek(start)
    chunk = b"".join(fh.readline() for _ in range(n_atoms))
    if chunk.count(b"\n") != n_atoms:
        raise ValueError(f"{index.path.name}: frame at step {index.steps[k]} is truncated")
    return (n_atoms, origin, dim, columns), chunk


def _parse_rows(buf: bytes, n_columns: int, n_rows: int, index: DumpIndex, b0: int) -> np.ndarray:
    """``n_rows`` × ``n_columns`` floats from whitespace-separated lines (pandas' C reader when
    installed, numpy's otherwise); a :class:`ValueError` naming the block when they do not fit."""
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is a dependency; numpy alone is ~5x slower
        data = np.fromstring(buf, sep=" ")  # noqa: NPY201
    else:
        import io

        data = np.empty(0)
        # LAMMPS writes one space between numbers: that separator parses ~1.5x faster than any
        # whitespace (usecols drops a trailing space's empty field); other layouts take the regex
        for sep in (" ", r"\s+"):
            try:
                data = pd.read_csv(io.BytesIO(buf), sep=sep, header=None, usecols=range(n_columns),
                                   dtype=np.float64, engine="c", na_filter=False).to_numpy()
                break
            except (ValueError, pd.errors.ParserError):
                continue
    if data.size != n_rows * n_columns:
        raise ValueError(f"{index.path.name}: unreadable atom lines in the frames from step {index.steps[b0]} "
                         f"(expected {n_rows} rows of {n_columns} numbers)")
    return data.reshape(n_rows, n_columns)


def read_dump_fast(dump_path: str | Path, elements: list[str]) -> tuple[Frames, list[str]]:
    """All frames of a dump in float32 arrays, through :func:`iter_dump` (see there).

    The arrays are allocated once for the indexed frame count and filled block by block, so
    the peak is the result plus one block (not twice the result)."""
    index = index_dump(dump_path)
    if index.n_frames == 0:
        raise ValueError(f"{Path(dump_path).name}: no frames")
    pos = vel = dims = None
    symbols: list[str] = []
    a = 0
    for fr, block_symbols in iter_dump(index, elements):
        symbols = block_symbols
        if pos is None:
            shape = (index.n_frames, fr.positions_A.shape[1], 3)
            pos, dims = np.empty(shape, np.float32), np.empty((index.n_frames, 6))
            vel = None if fr.velocities_A_per_ps is None else np.empty(shape, np.float32)
        b = a + fr.n_frames
        pos[a:b], dims[a:b] = fr.positions_A, fr.dimensions
        if vel is not None:
            vel[a:b] = fr.velocities_A_per_ps
        a = b
    return Frames(index.steps, pos, vel, dims), symbols


def dump_cells(frames: Frames) -> np.ndarray:
    """(n_frames, 3, 3) cell vectors (rows, Å) of a block of frames."""
    from MDAnalysis.lib.mdamath import triclinic_vectors

    return np.array([triclinic_vectors(d) for d in frames.dimensions], dtype=float)


def load_dump_universe(dump_path: str | Path, elements: list[str], timestep_fs: float):
    """Build an MDAnalysis Universe from a LAMMPS dump alone.

    Parameters
    ----------
    dump_path : str or Path
        ``dump custom`` file with columns ``id type xu yu zu [vx vy vz ...]``.
    elements : list of str
        Element of each LAMMPS type: type ``k`` is ``elements[k-1]``.
    timestep_fs : float
        MD timestep in fs (so that ``ts.time`` is in ps).

    Returns
    -------
    MDAnalysis.Universe
        With ``elements`` and ``masses`` (g/mol) set from the type map.
    """
    import MDAnalysis as mda

    with warnings.catch_warnings():
        # "Guessed all Masses to 1.0": we overwrite masses just below.
        warnings.simplefilter("ignore", UserWarning)
        u = mda.Universe(
            str(dump_path),
            format="LAMMPSDUMP",
            topology_format="LAMMPSDUMP",
            lammps_coordinate_convention="unwrapped",
            dt=timestep_fs * 1.0e-3,
        )
    types = u.atoms.types.astype(int)
    if types.min() < 1 or types.max() > len(elements):
        raise ValueError(
            f"dump has atom types {sorted(set(types))} but elements={elements}"
        )
    symbols = np.array([elements[t - 1] for t in types], dtype=object)
    u.add_TopologyAttr("elements", symbols)
    u.atoms.masses = [element_mass(s) for s in symbols]
    return u


def read_frames(u, min_step: int | None = None) -> Frames:
    """Stream all frames of ``u`` into preallocated arrays (one pass over the file).

    Frames with ``step < min_step`` are skipped. A step that re-appears (a dump
    appended after a restart) overwrites the earlier frames from that step on,
    so the last occurrence wins and steps stay strictly increasing.

    Parameters
    ----------
    u : MDAnalysis.Universe
        Typically from :func:`load_dump_universe`.
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
