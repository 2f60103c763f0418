"""What tests read back from a run folder: thermo rows and dump time steps (imported by the test modules)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def thermo_rows(run_dir: Path) -> np.ndarray:
    """``thermo.dat`` as an array: step, T, PE, KE, P, ... one row per output step."""
    rows = [ln.split() for ln in (Path(run_dir) / "thermo.dat").read_text().splitlines()
            if ln.strip() and not ln.startswith("#")]
    return np.array(rows, dtype=float)


def dump_steps(run_dir: Path) -> list[int]:
    """The time step of every frame of ``traj.lammpstrj``, in file order."""
    lines = (Path(run_dir) / "traj.lammpstrj").read_text().splitlines()
    return [int(lines[i + 1]) for i, ln in enumerate(lines) if ln.startswith("ITEM: TIMESTEP")]
