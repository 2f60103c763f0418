"""Figures of energy profiles along a path: NEB bands, fixed paths, sliding scans."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .figure import save_figure  # noqa: E402


def plot_profile(card: dict, path: Path, *, title: str = "", reference: dict | None = None,
                 xlabel: str = "reaction coordinate") -> Path:
    """Energy of every image (relative to the first) on the reaction coordinate, the spline
    through them, the saddle marked; a reference band overlaid when given."""
    fig, ax = plt.subplots(figsize=(6, 4))
    rc, e = np.asarray(card["reaction_coordinate"]), np.asarray(card["energies_eV"])
    spline = card.get("spline")
    if spline:
        ax.plot(spline["rc"], spline["energy_eV"], "-", color="C0", lw=1, alpha=0.6, label="cubic spline")
    ax.plot(rc, e, "o", color="C0", label="images")
    k = card["saddle_image"]
    ax.plot(rc[k], e[k], "*", ms=14, color="C3", label=f"saddle (image {k + 1})")
    if reference and reference.get("reference_energies_eV") is not None:
        ax.plot(reference["reference_reaction_coordinate"], reference["reference_energies_eV"], "s--", color="k",
                mfc="none", label="reference")
    barrier = card.get("barrier_eV")
    note = f"barrier {barrier:.3f} eV" if barrier is not None else card.get("status", "")
    ax.set_title(f"{title}\n{note}" if title else note, fontsize=9)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("E − E(first image) (eV)")
    ax.axhline(0, color="0.7", lw=0.5)
    ax.legend(fontsize=8)
    return save_figure(fig, path)


def plot_slide(shift: np.ndarray, energy_meV_A2: np.ndarray, path: Path, *, title: str = "") -> Path:
    """A sliding profile: energy per area (meV/Å²) against the shift (fraction of a period)."""
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(shift, energy_meV_A2, "o-")
    ax.set_xlabel("shift (fraction of the period)")
    ax.set_ylabel("ΔE per area (meV/Å²)")
    ax.set_title(title, fontsize=9)
    return save_figure(fig, path)
