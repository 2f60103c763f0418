"""Force parity of a model against reference labels: softening scale, MAE, cMAE, correction.

Pure numpy. Definitions (Deng et al., npj Comput. Mater. 2025):

- softening scale s: least-squares slope *through the origin* of model vs reference force
  components (all atoms, all x/y/z components): s = Σ F_ref·F_model / Σ F_ref². s < 1 means
  the model's potential-energy surface is softer than the reference's.
- the fit with intercept (slope, intercept, R²) as a check that a line describes the data;
- MAE = mean |F_model − F_ref| over components (eV/Å); cMAE = mean |F_model/s − F_ref|, the
  error left once the systematic softening is divided out;
- linear correction c: slope through the origin of reference vs model forces,
  c = Σ F_ref·F_model / Σ F_model²; the corrected model is E' = c·E, F' = c·F, W' = c·W.
"""

from __future__ import annotations

import numpy as np

from ..errors import CorrectionError

# Below this RMS reference force (eV/Å) frames sit too close to a minimum: forces are small,
# dominated by noise and by the equilibrium geometry's mismatch, and carry no force scale.
MIN_RMS_FORCE_EV_A = 0.05


def slope_through_origin(x: np.ndarray, y: np.ndarray) -> float:
    """Least-squares slope of y = s·x."""
    x, y = np.ravel(x), np.ravel(y)
    sxx = float(x @ x)
    if sxx == 0.0:
        return float("nan")
    return float(x @ y) / sxx


def linear_fit(x: np.ndarray, y: np.ndarray) -> dict:
    """y = a·x + b by least squares, with R²."""
    x, y = np.ravel(x), np.ravel(y)
    if len(x) < 2 or np.ptp(x) == 0:
        return {"slope": float("nan"), "intercept_eV_A": float("nan"), "r2": float("nan")}
    a, b = np.polyfit(x, y, 1)
    resid = y - (a * x + b)
    ss_tot = float(((y - y.mean()) ** 2).sum())
    r2 = 1.0 - float((resid ** 2).sum()) / ss_tot if ss_tot > 0 else float("nan")
    return {"slope": float(a), "intercept_eV_A": float(b), "r2": r2}


def force_parity(f_ref: np.ndarray, f_model: np.ndarray) -> dict:
    """Softening scale, fit with intercept, MAE, RMSE and cMAE of force components (eV/Å)."""
    x = np.asarray(f_ref, dtype=float).ravel()
    y = np.asarray(f_model, dtype=float).ravel()
    if x.shape != y.shape:
        raise ValueError(f"reference and model forces differ in shape: {x.shape} vs {y.shape}")
    s = slope_through_origin(x, y)
    fit = linear_fit(x, y)
    out = {
        "n_components": int(x.size),
        "softening_scale": s,
        "fit_with_intercept": fit,
        "force_mae_eV_A": float(np.abs(y - x).mean()) if x.size else float("nan"),
        "force_rmse_eV_A": float(np.sqrt(((y - x) ** 2).mean())) if x.size else float("nan"),
        "force_cmae_eV_A": float(np.abs(y / s - x).mean()) if x.size and np.isfinite(s) and s != 0 else float("nan"),
        "reference_rms_force_eV_A": float(np.sqrt((x ** 2).mean())) if x.size else float("nan"),
        "model_rms_force_eV_A": float(np.sqrt((y ** 2).mean())) if y.size else float("nan"),
    }
    return out


def parity_by_element(f_ref: np.ndarray, f_model: np.ndarray, symbols: list[str]) -> dict:
    """:func:`force_parity` per element (rows of the n×3 force arrays belong to ``symbols``)."""
    f_ref, f_model = np.asarray(f_ref).reshape(-1, 3), np.asarray(f_model).reshape(-1, 3)
    symbols = np.asarray(symbols)
    return {str(el): force_parity(f_ref[symbols == el], f_model[symbols == el]) for el in dict.fromkeys(symbols)}


def check_fit_reference(f_ref: np.ndarray, *, min_rms_force_eV_A: float = MIN_RMS_FORCE_EV_A) -> float:
    """RMS of the reference forces meant for a fit; :class:`CorrectionError` when too small to fit on."""
    x = np.asarray(f_ref, dtype=float).ravel()
    rms_ref = float(np.sqrt((x ** 2).mean())) if x.size else 0.0
    if rms_ref < min_rms_force_eV_A:
        raise CorrectionError(
            f"cannot fit the correction: the RMS reference force of these frames is {rms_ref:.3g} eV/Å "
            f"(< {min_rms_force_eV_A:g} eV/Å), near-equilibrium frames carry no information on the force scale; "
            "use rattled or high-temperature frames (harness highenergy)"
        )
    return rms_ref


def fit_correction(f_ref: np.ndarray, f_model: np.ndarray, *, min_rms_force_eV_A: float = MIN_RMS_FORCE_EV_A) -> dict:
    """The factor c of E' = c·E (F' = c·F) that best maps model forces onto reference forces.

    Refuses (:class:`CorrectionError`) frames whose RMS reference force is below
    ``min_rms_force_eV_A``: near a minimum the forces carry no information on the scale.
    """
    x = np.asarray(f_ref, dtype=float).ravel()
    y = np.asarray(f_model, dtype=float).ravel()
    rms_ref = check_fit_reference(x, min_rms_force_eV_A=min_rms_force_eV_A)
    rms_model = float(np.sqrt((y ** 2).mean())) if y.size else 0.0
    if rms_model < 1e-3 * min_rms_force_eV_A:
        raise CorrectionError(f"cannot fit the correction: the model's forces on these frames are ~0 "
                              f"(RMS {rms_model:.3g} eV/Å) while the reference's are not")
    c = float(x @ y) / float(y @ y)
    if not c > 0:
        raise CorrectionError(f"cannot fit the correction: model and reference forces are anti-correlated "
                              f"(c = {c:.3g})")
    return {"c": c, "n_components": int(x.size), "reference_rms_force_eV_A": rms_ref,
            "model_rms_force_eV_A": rms_model, "residual_mae_eV_A": float(np.abs(c * y - x).mean())}
