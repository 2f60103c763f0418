"""Energies of 0 K probes from total energies: surface energies, point-defect formation
energies, mixing energies and their convex hull, and the parity of a model against a
reference (Deng et al., npj Comput. Mater. 2025, Fig. 2a–c). Pure numpy.

- γ = (E_slab − N·ε_bulk) / 2A, ε_bulk the relaxed bulk's energy per atom (a symmetric,
  stoichiometric slab: two equal faces); 1 eV/Å² = 16.0218 J/m².
- E_f = E_defect − E_perfect − Σ_i ΔN_i μ_i, ΔN_i atoms of element i added to the perfect
  supercell, μ_i the energy per atom of i's elemental crystal.
- ΔE_mix = (E − n_a e_a − n_b e_b) / N_atoms, e the end members' energy per mixing site; the
  convex hull is the lower hull of (x, ΔE_mix), with every arrangement's distance above it.
- parity: MAE, signed mean error (model − reference), RMSE, and the slope through the origin
  of model vs reference (the softening scale's definition applied to these energies: < 1 means
  the model underpredicts them), with the fit with intercept as a check.
"""

from __future__ import annotations

import numpy as np

from .parity import linear_fit, slope_through_origin

J_M2_PER_EV_A2 = 16.02176634


def surface_energy(e_slab_eV: float, n_slab: int, e_bulk_per_atom_eV: float, area_A2: float) -> dict:
    """γ of a symmetric slab (two faces of area ``area_A2``), in eV/Å² and J/m²."""
    g = (e_slab_eV - n_slab * e_bulk_per_atom_eV) / (2.0 * area_A2)
    return {"gamma_eV_A2": g, "gamma_J_m2": g * J_M2_PER_EV_A2}


def formation_energy(e_defect_eV: float, e_perfect_eV: float, delta: dict[str, int], mu: dict[str, float]) -> float:
    """E_f (eV): ``delta`` atoms added per element (removed < 0), ``mu`` eV/atom per element."""
    return float(e_defect_eV - e_perfect_eV - sum(n * mu[el] for el, n in delta.items()))


def mixing_energy(e_eV: float, n_a: int, n_b: int, e_a_per_site: float, e_b_per_site: float, n_atoms: int) -> float:
    """ΔE_mix (eV/atom) of an arrangement with n_a, n_b mixing sites of species a, b."""
    return float((e_eV - n_a * e_a_per_site - n_b * e_b_per_site) / n_atoms)


def lower_hull(x, y) -> tuple[np.ndarray, np.ndarray]:
    """The vertices (indices into x, y, by increasing x) of the lower convex hull, and every
    point's distance above it (≥ 0; 0 on the hull)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    order = np.lexsort((y, x))
    hull: list[int] = []
    for i in order:
        if hull and x[hull[-1]] == x[i]:
            continue  # same x: the lowest came first
        while len(hull) >= 2:
            o, a = hull[-2], hull[-1]
            cross = (x[a] - x[o]) * (y[i] - y[o]) - (y[a] - y[o]) * (x[i] - x[o])
            if cross <= 1e-15:
                hull.pop()
            else:
                break
        hull.append(int(i))
    hx, hy = x[hull], y[hull]
    above = y - np.interp(x, hx, hy)
    return np.array(hull), np.maximum(above, 0.0)


def parity(reference, model) -> dict:
    """MAE, signed mean error, RMSE, slope through the origin (model vs reference) and the fit
    with intercept of paired values; NaN entries (no reference) are left out."""
    x, y = np.asarray(reference, float), np.asarray(model, float)
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    if not len(x):
        return {"n": 0}
    err = y - x
    return {"n": int(len(x)), "mae": float(np.abs(err).mean()), "mean_signed_error": float(err.mean()),
            "rmse": float(np.sqrt((err ** 2).mean())), "slope_through_origin": slope_through_origin(x, y),
            "fit_with_intercept": linear_fit(x, y), "underpredicted": int(np.sum(err < 0))}
