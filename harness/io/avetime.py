"""Files written by LAMMPS' ``fix ave/time``: the in-situ observables of an MD run.

Two layouts (LAMMPS' ``mode scalar`` and ``mode vector``)::

    # Time-averaged data for fix msd_out            # scalar: one row per output step
    # TimeStep c_msd_all[4] c_msd_Cu[4]
    0 0 0
    10 0.0134 0.0134

    # Time-averaged data for fix rdf_out            # vector: a block per output step
    # TimeStep Number-of-rows
    # Row c_rdf[1] c_rdf[2] c_rdf[3]
    500 200
    1 0.025 0 0
    ...

A run resumed from a restart appends to the file, repeating the header and the rows from the
restart step on; the last copy of a step wins. A last row or block cut short by a kill is left
out. :func:`truncate_avetime` cuts a file before a step (an interrupted run resumes there).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..files import write_text


@dataclass
class AveTime:
    """One ``fix ave/time`` file: column names, the step of each row (scalar mode) or block
    (vector mode), and the values: (n_steps, n_columns), or (n_steps, n_rows, n_columns)."""

    path: Path
    columns: list[str]
    steps: np.ndarray
    values: np.ndarray
    vector: bool

    def column(self, name: str) -> np.ndarray:
        return self.values[..., self.columns.index(name)]

    def after(self, step: int) -> AveTime:
        """The rows or blocks at ``step`` and later."""
        keep = self.steps >= step
        return AveTime(self.path, self.columns, self.steps[keep], self.values[keep], self.vector)


def _complete_lines(text: str) -> list[str]:
    """The lines of ``text`` that end with their newline (a last one without it was cut by a kill)."""
    lines = text.splitlines()
    return lines if text.endswith("\n") else lines[:-1]


def _numbers(words: list[str]) -> list[float] | None:
    try:
        return [float(w) for w in words]
    except ValueError:
        return None


def read_avetime(path: Path | str) -> AveTime:
    """Read a ``fix ave/time`` file of either layout (see the module docstring)."""
    path = Path(path)
    complete = _complete_lines(path.read_text())
    headers = [ln[1:].split() for ln in complete if ln.startswith("#")]
    vector = any(h[:2] == ["TimeStep", "Number-of-rows"] for h in headers)
    if vector:
        columns = next(h for h in headers if h and h[0] == "Row")[1:]
    else:
        columns = next((h for h in headers if h and h[0] == "TimeStep"), ["TimeStep"])[1:]
    blocks: dict[int, np.ndarray] = {}
    i, n = 0, len(complete)
    while i < n:
        words = complete[i].split()
        i += 1
        if not words or complete[i - 1].startswith("#"):
            continue
        row = _numbers(words)
        if row is None:
            continue
        step = int(row[0])
        if not vector:
            if len(row) == len(columns) + 1:
                blocks[step] = np.asarray(row[1:])
            continue
        n_rows = int(row[1])
        rows = []
        for ln in complete[i:i + n_rows]:
            values = _numbers(ln.split())
            if values is None or len(values) != len(columns) + 1:
                break
            rows.append(values[1:])
        i += len(rows)
        if len(rows) == n_rows:  # a block cut short by a kill is left out
            blocks[step] = np.asarray(rows)
    steps = np.array(sorted(blocks), dtype=np.int64)
    if len(steps):
        values = np.stack([blocks[s] for s in steps])
    else:
        values = np.zeros((0, 0, len(columns)) if vector else (0, len(columns)))
    return AveTime(path, columns, steps, values, vector)


def truncate_avetime(path: Path | str, step: int, *, keep_step: bool = False) -> None:
    """Drop the rows (or blocks) at or after ``step``, and a last one cut short by a kill: what a
    run resumed at ``step`` writes again. ``keep_step``: keep the one at ``step`` itself (a block
    averaging samples before it: the resumed run cannot write it again)."""
    path = Path(path)
    if not path.is_file():
        return
    text = path.read_text()
    complete = _complete_lines(text)
    out, i, n = [], 0, len(complete)
    vector = "# TimeStep Number-of-rows" in text
    while i < n:
        line = complete[i]
        words = line.split()
        if line.startswith("#") or not words:
            out.append(line)
            i += 1
            continue
        row = _numbers(words)
        if row is None:
            i += 1
            continue
        limit = step + 1 if keep_step else step
        if not vector:
            if int(row[0]) < limit:
                out.append(line)
            i += 1
            continue
        n_rows = int(row[1]) if len(row) > 1 else 0
        block = complete[i:i + 1 + n_rows]
        whole = len(block) == n_rows + 1 and all(_numbers(b.split()) for b in block[1:])
        if int(row[0]) < limit and whole:
            out.extend(block)
        i += 1 + n_rows
    write_text(path, "".join(ln + "\n" for ln in out))
