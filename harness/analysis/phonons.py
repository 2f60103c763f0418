"""Phonon comparisons and stability checks: pure functions on phonopy outputs (THz, Å).

Conventions: frequencies in THz, imaginary modes as negative frequencies (phonopy's
convention); ω² keeps the sign (ω² = sign(ν) ν², THz²); group velocities in THz·Å.
"""

from __future__ import annotations

import numpy as np

# Acoustic modes near Γ come out slightly imaginary from finite-difference noise; below this
# magnitude (THz) they are not called an instability.
IMAGINARY_TOL_THZ = 0.05


def signed_square(freq_THz: np.ndarray) -> np.ndarray:
    """ω² with the sign of ν (THz²): imaginary modes stay negative."""
    f = np.asarray(freq_THz, dtype=float)
    return np.sign(f) * f**2


def imaginary_modes(qpoints: np.ndarray, freq_THz: np.ndarray, tol_THz: float = IMAGINARY_TOL_THZ) -> list[dict]:
    """q-points (reduced coordinates) whose lowest frequency is below -tol, with that frequency."""
    out = []
    for q, f in zip(np.asarray(qpoints), np.asarray(freq_THz)):
        if f.min() < -tol_THz:
            out.append({"q": [float(x) for x in q], "min_frequency_THz": float(f.min())})
    return out


def compare_frequencies(freq_model_THz: np.ndarray, freq_ref_THz: np.ndarray, weights: np.ndarray | None = None,
                        gv_model: np.ndarray | None = None, gv_ref: np.ndarray | None = None) -> dict:
    """RMSE of ω² and of group velocities over the same q-points and bands; max-frequency ratio.

    Parameters
    ----------
    freq_model_THz, freq_ref_THz : (n_q, n_bands)
        Frequencies at the same q-points, bands in ascending order.
    weights : (n_q,), optional
        q-point weights (irreducible mesh multiplicities); uniform otherwise.
    gv_model, gv_ref : (n_q, n_bands, 3), optional
        Group velocities (THz·Å).

    Returns
    -------
    dict
        ``rmse_omega2_THz2``, ``mae_frequency_THz``, ``max_frequency_model_THz``,
        ``max_frequency_reference_THz``, ``max_frequency_ratio`` (model/reference: < 1 is the
        softening signature), and ``rmse_group_velocity_THz_A`` when velocities are given.
    """
    fm, fr = np.asarray(freq_model_THz, dtype=float), np.asarray(freq_ref_THz, dtype=float)
    if fm.shape != fr.shape:
        raise ValueError(f"frequency arrays differ in shape: {fm.shape} vs {fr.shape}")
    w = np.ones(len(fm)) if weights is None else np.asarray(weights, dtype=float)
    w = w / w.sum()
    d2 = (signed_square(fm) - signed_square(fr)) ** 2
    out = {
        "rmse_omega2_THz2": float(np.sqrt(np.sum(w[:, None] * d2) / fm.shape[1])),
        "mae_frequency_THz": float(np.sum(w[:, None] * np.abs(fm - fr)) / fm.shape[1]),
        "max_frequency_model_THz": float(fm.max()),
        "max_frequency_reference_THz": float(fr.max()),
        "max_frequency_ratio": float(fm.max() / fr.max()) if fr.max() > 0 else None,
    }
    if gv_model is not None and gv_ref is not None:
        dv = np.sum((np.asarray(gv_model) - np.asarray(gv_ref)) ** 2, axis=-1)
        out["rmse_group_velocity_THz_A"] = float(np.sqrt(np.sum(w[:, None] * dv) / fm.shape[1]))
    return out


def commensurate_qpoints(md_cell: np.ndarray, primitive_cell: np.ndarray) -> np.ndarray:
    """q-points (reduced, primitive basis) that a periodic MD cell can hold: its reciprocal
    lattice vectors folded into the primitive Brillouin zone (one per primitive cell)."""
    n_cells = int(round(abs(np.linalg.det(md_cell) / np.linalg.det(primitive_cell))))
    recip = np.linalg.inv(md_cell).T  # rows: MD reciprocal vectors (1/Å, no 2π)
    found = {}
    span = int(np.ceil(n_cells ** (1 / 3))) * 2 + 2
    rng = range(-span, span + 1)
    for i in rng:
        for j in rng:
            for k in rng:
                q = (np.array([i, j, k]) @ recip) @ np.asarray(primitive_cell).T
                q = np.round(q - np.floor(q + 1e-9), 8) % 1.0
                found.setdefault(tuple(np.round(q, 6)), q)
    qs = np.array(list(found.values()))
    if len(qs) != n_cells:
        raise ValueError(f"found {len(qs)} commensurate q-points for {n_cells} primitive cells")
    return qs


def broadened_modes(modes_THz: np.ndarray, width_THz: float, f_max_THz: float, n: int = 4000):
    """Harmonic mode frequencies as a sum of Gaussians of ``width_THz`` on [0, f_max] (THz)."""
    f = np.linspace(0, f_max_THz, n)
    s = np.exp(-0.5 * ((f[:, None] - np.asarray(modes_THz)[None, :]) / width_THz) ** 2).sum(axis=1)
    return f, s
