"""Distances between spectra and distributions (Dyna-Mat definitions), pure numpy."""

from __future__ import annotations

import numpy as np


def normalise(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """y scaled to unit area over x (trapezoid rule)."""
    area = np.trapezoid(y, x)
    return np.asarray(y, dtype=float) / area if area > 0 else np.asarray(y, dtype=float)


def spectrum_error(f_ref: np.ndarray, s_ref: np.ndarray, f_mod: np.ndarray, s_mod: np.ndarray,
                   n_grid: int = 2000) -> float:
    """E_VDOS = ∫|f_REF − f_MLIP| dν / (∫f_REF dν + ∫f_MLIP dν) × 100 %, both spectra normalised
    to unit area and compared over the common frequency range (linear interpolation)."""
    lo = max(np.min(f_ref), np.min(f_mod))
    hi = min(np.max(f_ref), np.max(f_mod))
    if hi <= lo:
        raise ValueError("spectra share no frequency range")
    grid = np.linspace(lo, hi, n_grid)
    a = normalise(grid, np.interp(grid, f_ref, s_ref))
    b = normalise(grid, np.interp(grid, f_mod, s_mod))
    return float(100 * np.trapezoid(np.abs(a - b), grid) / (np.trapezoid(a, grid) + np.trapezoid(b, grid)))
