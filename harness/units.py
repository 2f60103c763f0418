"""The one place for unit and Voigt conversions.

Inside the harness everything is LAMMPS ``metal``: eV, Å, ps, bar, K, amu. Results carry
their unit in their names (``pressure_GPa``, ``D_cm2_per_s``); the conversions to those units,
and between the two Voigt orders in play, live here and nowhere else.

Voigt orders:

* ASE (and this package's stress arrays): ``xx yy zz yz xz xy``, stress positive under tension.
* LAMMPS (``pxx pyy pzz pxy pxz pyz``, ``fix external`` virial): ``xx yy zz xy xz yz``,
  pressure positive under compression.
"""

from __future__ import annotations

import numpy as np
from ase import units as _ase

BAR_TO_GPA = 1.0e-4
"""1 bar = 1e5 Pa = 1e-4 GPa."""
EV_A3_TO_GPA = 1.0 / _ase.GPa
"""1 eV/Å³ = 160.2 GPa."""
BAR_IN_EV_A3 = _ase.bar
"""1 bar in eV/Å³ (6.24e-7)."""
GPA_IN_EV_A3 = _ase.GPa
A2_PER_PS_TO_CM2_PER_S = 1.0e-4
"""1 Å²/ps = 1e-16 cm² / 1e-12 s = 1e-4 cm²/s."""
MVV2E = _ase._amu * 1.0e4 / _ase._e
"""amu·(Å/ps)² in eV (1.0364e-4)."""
KB_EV = _ase.kB
"""Boltzmann's constant, eV/K."""

ASE_VOIGT = ("xx", "yy", "zz", "yz", "xz", "xy")
LAMMPS_VOIGT = ("xx", "yy", "zz", "xy", "xz", "yz")
_LAMMPS_FROM_ASE = [ASE_VOIGT.index(c) for c in LAMMPS_VOIGT]  # (0, 1, 2, 5, 4, 3), its own inverse


def voigt_to_matrix(v) -> np.ndarray:
    """3×3 symmetric tensor from ASE Voigt (xx yy zz yz xz xy); a 3×3 input is returned as is."""
    v = np.asarray(v, dtype=float)
    if v.shape == (3, 3):
        return v
    xx, yy, zz, yz, xz, xy = v
    return np.array([[xx, xy, xz], [xy, yy, yz], [xz, yz, zz]])


def matrix_to_voigt(m) -> np.ndarray:
    """ASE Voigt (xx yy zz yz xz xy) from a 3×3 tensor (or a 9-vector); a 6-vector is returned as is."""
    m = np.asarray(m, dtype=float)
    if m.shape == (6,):
        return m
    m = m.reshape(3, 3)
    return np.array([m[0, 0], m[1, 1], m[2, 2], m[1, 2], m[0, 2], m[0, 1]])


def ase_to_lammps_voigt(v) -> np.ndarray:
    """Reorder ASE Voigt (xx yy zz yz xz xy) to LAMMPS' (xx yy zz xy xz yz); also the inverse."""
    return np.asarray(v, dtype=float)[..., _LAMMPS_FROM_ASE]


lammps_to_ase_voigt = ase_to_lammps_voigt  # the permutation is its own inverse


def stress_from_lammps_pressure(p_bar) -> np.ndarray:
    """ASE stress (eV/Å³, ASE Voigt) from LAMMPS' pressure tensor (bar; xx yy zz xy xz yz).

    LAMMPS' pressure is positive under compression, ASE's stress positive under tension. For
    single points (no velocities) the two differ only by sign and unit.
    """
    return -lammps_to_ase_voigt(p_bar) * BAR_IN_EV_A3


def stress_from_pressure_GPa(p_GPa_ase_order) -> np.ndarray:
    """ASE stress (eV/Å³) from a pressure tensor in GPa already in ASE Voigt order."""
    return -np.asarray(p_GPa_ase_order, dtype=float) * GPA_IN_EV_A3


def virial_from_stress(stress_voigt, volume_A3: float) -> list[float]:
    """LAMMPS global virial (eV; xx yy zz xy xz yz) from an ASE stress (eV/Å³; xx yy zz yz xz xy).

    For a potential, W_ab = −V σ_ab: ASE's stress is dE/dε / V, positive under tension,
    while LAMMPS' virial enters the pressure as P = (N k T + (W_xx+W_yy+W_zz)/3) / V.
    """
    return [float(w) for w in -volume_A3 * ase_to_lammps_voigt(stress_voigt)]
