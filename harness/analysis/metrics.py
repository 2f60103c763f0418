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


def spectrum_wasserstein(f_ref: np.ndarray, s_ref: np.ndarray, f_mod: np.ndarray, s_mod: np.ndarray,
                         n_grid: int = 2000) -> float:
    """Wasserstein-1 (earth-mover) distance between two spectra, in the unit of the frequency axis.

    Both spectra are put on the common frequency range (as :func:`spectrum_error`), negative
    values (noise of a windowed transform) are clipped to 0, and each is used as the weights of
    a distribution over the grid (``scipy.stats.wasserstein_distance``). Unlike the L1 overlap,
    which saturates at 100 % once two peaks stop overlapping, W1 keeps growing with a shift:
    a spectrum shifted rigidly by δ has W1 = δ.
    """
    from scipy.stats import wasserstein_distance

    lo = max(np.min(f_ref), np.min(f_mod))
    hi = min(np.max(f_ref), np.max(f_mod))
    if hi <= lo:
        raise ValueError("spectra share no frequency range")
    grid = np.linspace(lo, hi, n_grid)
    a = np.clip(np.interp(grid, f_ref, s_ref), 0.0, None)
    b = np.clip(np.interp(grid, f_mod, s_mod), 0.0, None)
    if not (a.sum() > 0 and b.sum() > 0):
        raise ValueError("a spectrum is zero over the common range")
    return float(wasserstein_distance(grid, grid, u_weights=a, v_weights=b))
