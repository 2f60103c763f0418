"""Where the frames of a LAMMPS text dump start, found without parsing an atom, and a dump cut
before a step: what :mod:`harness.io.lammps_dump` reads frames by, and what a resumed MD run
does to its trajectory. A frame re-written after a restart counts once (the last copy); a
last frame cut short by a kill is left out and said."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass
class DumpIndex:
    """Where the frames of a LAMMPS dump start, one entry per frame kept.

    A step that re-appears (a dump appended after a restart) replaces the earlier frames
    from that step on, so the kept steps are strictly increasing (the last occurrence wins).
    """

    path: Path
    offsets: np.ndarray  # byte offset of each kept frame's "ITEM: TIMESTEP" line
    steps: np.ndarray
    # a last frame cut short (what a killed run leaves) is left out of the index; this says
    # which, for readers to report (None: the file ends with a complete frame)
    truncated: str | None = None

    @property
    def n_frames(self) -> int:
        return len(self.steps)

    def select(self, idx) -> DumpIndex:
        return DumpIndex(self.path, self.offsets[idx], self.steps[idx], self.truncated)


def _has_text(fh) -> bool:
    fh.seek(0)
    return bool(fh.read(4096).strip())


def _last_frame(fh, offset: int) -> tuple[bool, bool]:
    """(complete, junk after it) for the frame starting at ``offset``, the last of the file:
    complete when it runs to its last atom line's newline."""
    fh.seek(offset)
    lines = fh.read().split(b"\n")
    try:
        n_atoms = int(lines[3])
        n_columns = len(lines[8].split()) - 2  # "ITEM: ATOMS id type ..."
    except (IndexError, ValueError):
        return False, False
    if len(lines) < 9 + n_atoms + 1 or not lines[8].startswith(b"ITEM: ATOMS"):
        return False, False
    complete = len(lines[8 + n_atoms].split()) == n_columns
    return complete, any(ln.strip() for ln in lines[9 + n_atoms:])


def index_dump(dump_path: str | Path, chunk_bytes: int = 1 << 24) -> DumpIndex:
    """Scan a LAMMPS dump for its frames (offsets and steps) without parsing atoms.

    Reads ``chunk_bytes`` at a time (a memory map would count the whole file in the
    process's resident memory). A last frame cut short (a killed run) is left out and its
    step recorded in :attr:`DumpIndex.truncated_step`.
    """
    import bisect

    path = Path(dump_path)
    offsets: list[int] = []
    steps: list[int] = []
    tag = b"ITEM: TIMESTEP"
    truncated_header = False
    with open(path, "rb") as fh:
        base, buf = 0, b""
        while True:
            data = fh.read(chunk_bytes)
            buf += data
            pos, cut = 0, None
            while (i := buf.find(tag, pos)) >= 0:
                start = buf.find(b"\n", i) + 1
                end = buf.find(b"\n", start) if start else -1
                if end < 0:
                    if data:  # the step line is in the next chunk
                        cut = i
                        break
                    truncated_header = True  # the file ends inside this frame's first lines
                    break
                try:
                    step = int(buf[start:end])
                except ValueError:
                    raise ValueError(f"{path.name}: unreadable step after ITEM: TIMESTEP at byte {base + i}") from None
                if steps and step <= steps[-1]:  # re-written after a restart: the last copy wins
                    k = bisect.bisect_left(steps, step)
                    del steps[k:], offsets[k:]
                steps.append(step)
                offsets.append(base + i)
                pos = end
            if not data or truncated_header:
                break
            if cut is None:
                cut = max(pos, len(buf) - len(tag) + 1)  # a tag may straddle the chunk boundary
            base += cut
            buf = buf[cut:]
        truncated = None
        if offsets:
            complete, junk = _last_frame(fh, offsets[-1])
            if not complete:
                truncated = f"the frame at step {steps.pop()} is cut short"
                offsets.pop()
            elif junk or truncated_header:
                truncated = f"a frame after step {steps[-1]} is cut short"
        elif truncated_header or path.stat().st_size and _has_text(fh):
            truncated = "its first frame is cut short"
    return DumpIndex(path, np.asarray(offsets, np.int64), np.asarray(steps, np.int64), truncated)


def dump_n_atoms(index: DumpIndex) -> int:
    """Atoms of the first frame of ``index`` (its header only is read); 0 for no frame."""
    if not index.n_frames:
        return 0
    with open(index.path, "rb") as fh:
        fh.seek(int(index.offsets[0]))
        for _ in range(3):
            fh.readline()
        return int(fh.readline())


def truncate_dump(dump_path: str | Path, step: int) -> int:
    """Cut the dump before the first frame at or after ``step`` (it is recomputed on resume).

    Returns the number of frames kept. A frame re-written after a restart counts once.
    """
    path = Path(dump_path)
    if not path.is_file():
        return 0
    index = index_dump(path)
    later = np.flatnonzero(index.steps >= step)
    if len(later):
        with open(path, "r+b") as fh:
            fh.truncate(int(index.offsets[later[0]]))
        return int(later[0])
    return index.n_frames
