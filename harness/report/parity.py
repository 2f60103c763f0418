"""Parity figure of model vs reference force components, coloured by point density."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import LogNorm  # noqa: E402

from .figure import save_figure  # noqa: E402


def parity_figure(f_ref: np.ndarray, f_model: np.ndarray, stats: dict, path: Path, *, title: str = "",
                  correction: float | None = None) -> Path:
    """Hexbin of F_model vs F_ref (eV/Å, all components), y = x and y = s·x lines, key numbers."""
    x = np.asarray(f_ref, dtype=float).ravel()
    y = np.asarray(f_model, dtype=float).ravel()
    fig, ax = plt.subplots(figsize=(5.6, 5.0))
    lim = float(max(np.abs(x).max(initial=0.0), np.abs(y).max(initial=0.0), 1e-3)) * 1.05
    hb = ax.hexbin(x, y, gridsize=60, extent=(-lim, lim, -lim, lim), mincnt=1, cmap="viridis",
                   norm=LogNorm())
    fig.colorbar(hb, ax=ax, label="force components per bin")
    line = np.array([-lim, lim])
    s = stats["softening_scale"]
    ax.plot(line, line, "k--", lw=1, label="y = x")
    if np.isfinite(s):
        ax.plot(line, s * line, "r-", lw=1.2, label=f"y = {s:.3f} x (softening scale)")
    text = (f"MAE {stats['force_mae_eV_A']:.3f} eV/Å\ncMAE {stats['force_cmae_eV_A']:.3f} eV/Å\n"
            f"R² {stats['fit_with_intercept']['r2']:.3f}\nN = {stats['n_components']} components")
    if correction is not None:
        text += f"\nfitted c = {correction:.4f}"
    ax.text(0.03, 0.97, text, transform=ax.transAxes, va="top", ha="left", fontsize=9,
            bbox={"boxstyle": "round", "fc": "white", "alpha": 0.8})
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.set_xlabel("reference force component (eV/Å)")
    ax.set_ylabel("model force component (eV/Å)")
    ax.legend(loc="lower right", fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    return save_figure(fig, path)
