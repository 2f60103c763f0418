"""Figures of the 0 K probes: parity of model vs reference (Deng et al. Fig. 2a–c), the
convergence of a quantity with slab thickness or supercell size, and the mixing energies with
their convex hull."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .figure import save_figure  # noqa: E402


def parity_plot(labels, reference, model, stats: dict, path: Path, *, quantity: str, unit: str,
                title: str = "") -> Path:
    """Model vs reference, one labelled point per entry, y = x and y = s·x (s: the slope
    through the origin), MAE / signed error / slope in the corner."""
    x, y = np.asarray(reference, float), np.asarray(model, float)
    keep = np.isfinite(x) & np.isfinite(y)
    fig, ax = plt.subplots(figsize=(5.2, 5.0))
    lo = float(min(x[keep].min(initial=0.0), y[keep].min(initial=0.0)))
    hi = float(max(x[keep].max(initial=0.0), y[keep].max(initial=0.0)))
    pad = 0.08 * (hi - lo or 1.0)
    line = np.array([lo - pad, hi + pad])
    ax.plot(line, line, "k--", lw=1, label="y = x")
    s = stats.get("slope_through_origin", float("nan"))
    if np.isfinite(s):
        ax.plot(line, s * line, "r-", lw=1.2, label=f"y = {s:.3f} x")
    ax.scatter(x[keep], y[keep], s=28, zorder=3)
    if keep.sum() <= 30:
        for lab, xi, yi in zip(np.asarray(labels)[keep], x[keep], y[keep]):
            ax.annotate(str(lab), (xi, yi), fontsize=7, xytext=(3, 3), textcoords="offset points")
    if stats.get("n"):
        ax.text(0.03, 0.97, f"MAE {stats['mae']:.4g} {unit}\nmean signed error {stats['mean_signed_error']:+.4g} {unit}"
                f"\nslope {s:.3f}\nN = {stats['n']}", transform=ax.transAxes, va="top", ha="left", fontsize=9,
                bbox={"boxstyle": "round", "fc": "white", "alpha": 0.8})
    ax.set_xlim(*line)
    ax.set_ylim(*line)
    ax.set_aspect("equal")
    ax.set_xlabel(f"reference {quantity} ({unit})")
    ax.set_ylabel(f"model {quantity} ({unit})")
    ax.legend(loc="lower right", fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    return save_figure(fig, path)


def convergence_plot(series: dict[str, tuple[list, list]], path: Path, *, xlabel: str, quantity: str, unit: str,
                     tolerance: float | None = None, title: str = "") -> Path:
    """One line per entry: the quantity against slab thickness or supercell size."""
    fig, ax = plt.subplots(figsize=(5.6, 4.0))
    for label, (xs, ys) in series.items():
        ax.plot(xs, ys, "o-", label=label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(f"{quantity} ({unit})")
    if tolerance:
        ax.set_title((title + "\n" if title else "") + f"converged: successive values within {tolerance:g} {unit}",
                     fontsize=9)
    elif title:
        ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    return save_figure(fig, path)


def hull_plot(x, e_meV, hull_idx, labels, path: Path, *, a: str, b: str, reference=None, title: str = "") -> Path:
    """ΔE_mix (meV/atom) of every arrangement against x, the lower hull, and the reference's."""
    x, e = np.asarray(x, float), np.asarray(e_meV, float)
    fig, ax = plt.subplots(figsize=(5.6, 4.2))
    ax.scatter(x, e, s=22, label="model", zorder=3)
    ax.plot(x[hull_idx], e[hull_idx], "-", lw=1.2, label="model hull")
    if reference is not None:
        r = np.asarray(reference, float)
        keep = np.isfinite(r)
        ax.scatter(x[keep], r[keep], s=22, marker="x", color="k", label="reference", zorder=3)
    ax.axhline(0.0, color="0.6", lw=0.8)
    ax.set_xlabel(f"x ({b} fraction of the {a}/{b} sites)")
    ax.set_ylabel("ΔE_mix (meV/atom)")
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    return save_figure(fig, path)
