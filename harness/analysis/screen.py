"""A screen's table rows and their statistics over materials: pure functions on dicts.

A row is one material (see :mod:`harness.tasks.screen`; :func:`phonon_row` makes its phonon
columns from the phonons results.json): ``status`` ("done" or "failed"),
``reference_stable`` / ``model_stable`` (bool or ``None`` without a reference),
``max_frequency_ratio``, ``rmse_omega2_THz2``, σ^(2) classes ``class_fc_reference`` /
``class_fc_model`` and ``sigma_error`` (⟨σ⟩ with Φ from the model − with Φ from the reference).
"""

from __future__ import annotations

import numpy as np

from .sigma import CLASSES, confusion_matrix

STABILITY_CLASSES = ("stable", "unstable")
# A max-frequency ratio below 1 is softening (Deng et al.); this margin only keeps a model
# identical to its reference (ratio 1 − 1e-12 from rounding) out of the count.
SOFTENED_MARGIN = 1e-6


def is_softened(ratio: float | None) -> bool | None:
    """Max-frequency ratio model/reference below 1 (``None`` without a ratio)."""
    return None if ratio is None else bool(ratio < 1.0 - SOFTENED_MARGIN)


def phonon_row(doc: dict) -> dict:
    """The table's phonon columns from a phonons results.json."""
    from ase.formula import Formula

    c = doc.get("comparison") or {}
    symbols = doc["primitive_cell"]["symbols"]
    row = {"formula": str(Formula("".join(symbols)).reduce()[0]), "n_atoms_primitive": len(symbols),
           "model_stable": doc["dynamically_stable"], "model_min_frequency_THz": doc["min_frequency_THz"],
           "model_n_imaginary_qpoints": doc["n_imaginary_qpoints"], "max_frequency_model_THz": doc["max_frequency_THz"]}
    thermo = doc.get("thermodynamics") or {}
    for k, t in enumerate(thermo.get("temperatures_K", [])):
        row[f"F_model_{t:g}K_eV_per_atom"] = thermo["helmholtz_free_energy_eV_per_atom"][k]
    if c:
        rs = c["reference_stability"]
        row.update(reference_stable=rs["dynamically_stable"], reference_min_frequency_THz=rs["min_frequency_THz"],
                   reference_n_imaginary_qpoints=rs["n_imaginary_qpoints"],
                   stability_agreement=c["stability_agreement"],
                   max_frequency_model_THz=c["max_frequency_model_THz"],
                   max_frequency_reference_THz=c["max_frequency_reference_THz"],
                   max_frequency_ratio=c["max_frequency_ratio"], softened=is_softened(c["max_frequency_ratio"]),
                   rmse_omega2_THz2=c["rmse_omega2_THz2"],
                   rmse_omega2_reference_stable_THz2=c["rmse_omega2_reference_stable_THz2"],
                   rmse_group_velocity_THz_A=c.get("rmse_group_velocity_THz_A"),
                   group_velocity_bands_dropped=c.get("group_velocity_bands_dropped"),
                   mae_frequency_THz=c["mae_frequency_THz"])
        err = c["thermodynamics"]["error"]
        # imaginary modes are left out of the harmonic sums: an error involving them is not physics
        row["thermodynamics_reliable"] = bool(thermo.get("reliable") and c["thermodynamics"]["reference"]["reliable"])
        for k, t in enumerate(err["temperatures_K"]):
            row[f"dF_{t:g}K_meV_per_atom"] = err["helmholtz_free_energy_error_meV_per_atom"][k]
            row[f"dS_{t:g}K_J_per_K_per_mol_atoms"] = err["entropy_error_J_per_K_per_mol_atoms"][k]
            row[f"dCv_{t:g}K_J_per_K_per_mol_atoms"] = err["heat_capacity_error_J_per_K_per_mol_atoms"][k]
    return row


def _with(rows: list[dict], *keys) -> list[dict]:
    return [r for r in rows if r.get("status") == "done" and all(r.get(k) is not None for k in keys)]


def stability_confusion(rows: list[dict]) -> dict:
    """Counts of (reference, model) dynamical stability, rows = reference: [[stable→stable,
    stable→unstable], [unstable→stable, unstable→unstable]], with the agreement."""
    m = np.zeros((2, 2), dtype=int)
    for r in _with(rows, "reference_stable", "model_stable"):
        m[0 if r["reference_stable"] else 1, 0 if r["model_stable"] else 1] += 1
    n = int(m.sum())
    return {"classes": list(STABILITY_CLASSES), "rows": "reference", "columns": "model", "counts": m.tolist(),
            "n": n, "n_agree": int(np.trace(m)), "agreement": float(np.trace(m) / n) if n else None,
            "false_instabilities": int(m[0, 1]), "missed_instabilities": int(m[1, 0])}


def sigma_confusion(rows: list[dict]) -> dict:
    """Knoop classes of ⟨σ^(2)⟩ with Φ from the reference (rows) vs Φ from the model (columns)."""
    mine = _with(rows, "class_fc_reference", "class_fc_model")
    out = confusion_matrix([r["class_fc_model"] for r in mine], [r["class_fc_reference"] for r in mine])
    counts = np.asarray(out["counts"])
    out.update(n=int(counts.sum()), n_agree=int(np.trace(counts)),
               rows="Φ from the reference", columns="Φ from the model")
    return out


def softening(rows: list[dict]) -> dict:
    """How many materials have a softened max frequency (ratio < 1): Deng et al.'s headline."""
    ratios = [r["max_frequency_ratio"] for r in _with(rows, "max_frequency_ratio")]
    n_soft = sum(bool(is_softened(x)) for x in ratios)
    return {"n_materials": len(ratios), "n_softened": n_soft,
            "fraction_softened": n_soft / len(ratios) if ratios else None,
            "median_ratio": float(np.median(ratios)) if ratios else None, "criterion": "max_frequency_ratio < 1"}


def distribution(values, bins: int | None = None) -> dict:
    """n, mean, median, min, max and a histogram (√n bins between 5 and 30 by default)."""
    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], dtype=float)
    if not len(v):
        return {"n": 0}
    bins = bins or int(np.clip(np.sqrt(len(v)), 5, 30))
    lo, hi = float(v.min()), float(v.max())
    if hi - lo < 1e-12:  # one value (or all equal): a bin around it
        lo, hi = lo - 0.05 * max(abs(lo), 1e-3), hi + 0.05 * max(abs(hi), 1e-3)
    counts, edges = np.histogram(v, bins=bins, range=(lo, hi))
    return {"n": int(len(v)), "mean": float(v.mean()), "median": float(np.median(v)), "min": float(v.min()),
            "max": float(v.max()), "counts": counts.tolist(), "edges": edges.tolist()}


DISTRIBUTIONS = {  # row key -> what the histogram shows
    "max_frequency_ratio": "max-frequency ratio model/reference",
    "rmse_omega2_THz2": "RMSE(ω²) (THz²)",
    "sigma_error": "⟨σ⟩ error: Φ from the model − Φ from the reference",
}


def summarize(rows: list[dict]) -> dict:
    """Everything the screen's table and figures state about all materials."""
    done = [r for r in rows if r.get("status") == "done"]
    failed = [r for r in rows if r.get("status") == "failed"]
    return {
        "n_materials": len(rows), "n_done": len(done), "n_failed": len(failed),
        "n_rendered": sum(1 for r in rows if r.get("status") == "rendered"),
        "failed": {r["material"]: r.get("reason") for r in failed},
        "softening": softening(rows),
        "stability": stability_confusion(rows),
        "sigma_classes": sigma_confusion(rows),
        "distributions": {k: distribution(r.get(k) for r in done) for k in DISTRIBUTIONS},
        "model_unstable": sum(1 for r in done if r.get("model_stable") is False),
    }


__all__ = ["CLASSES", "DISTRIBUTIONS", "STABILITY_CLASSES", "distribution", "is_softened", "phonon_row",
           "sigma_confusion", "softening", "stability_confusion", "summarize"]
