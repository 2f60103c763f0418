"""Figures of ``harness versus``: a bar per model for every metric, and the NEB paths overlaid."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .figure import save_figure  # noqa: E402


def bars_figure(rows: list[dict], metrics: list[str], references: dict, path: Path, *, title: str = "") -> Path:
    """One panel per metric (its name carries the unit), one bar per model; a reference the
    user gave is a dashed line and each bar is labelled with its error against it."""
    n = max(len(metrics), 1)
    cols = min(n, 4)
    fig, axes = plt.subplots((n + cols - 1) // cols, cols, figsize=(3.6 * cols, 3.2 * ((n + cols - 1) // cols)),
                             squeeze=False)
    labels = [r["label"] for r in rows]
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, metric in zip(axes.ravel(), metrics):
        values = [r.get(metric) for r in rows]
        x = np.arange(len(rows))
        heights = [v if v is not None else 0.0 for v in values]
        ax.bar(x, heights, color=[colours[i % len(colours)] for i in range(len(rows))])
        ref = references.get(metric)
        if ref is not None:
            ax.axhline(ref, color="k", ls="--", lw=1, label=f"reference {ref:g}")
            for xi, v in zip(x, values):
                if v is not None:
                    ax.annotate(f"{v - ref:+.3g}", (xi, v), ha="center", va="bottom", fontsize=8)
            ax.legend(fontsize=8)
        ax.set_xticks(x, labels, rotation=30, ha="right", fontsize=8)
        ax.set_title(metric, fontsize=9)
    for ax in axes.ravel()[len(metrics):]:
        ax.axis("off")
    fig.suptitle(title)
    return save_figure(fig, path)


def mep_figure(profiles: dict, path: Path, *, reference: float | None = None, title: str = "") -> Path:
    """Energy (eV, from the initial state) along the normalised reaction coordinate, one line per
    model; the reference barrier as a dashed line."""
    fig, ax = plt.subplots(figsize=(5.2, 3.8))
    for label, (rc, energies) in profiles.items():
        rc = np.asarray(rc, float)
        span = rc[-1] if len(rc) and rc[-1] > 0 else 1.0
        ax.plot(rc / span, energies, "o-", ms=4, label=f"{label} ({max(energies):.3f} eV)")
    if reference is not None:
        ax.axhline(reference, color="k", ls="--", lw=1, label=f"reference barrier {reference:g} eV")
    ax.set_xlabel("reaction coordinate (normalised)")
    ax.set_ylabel("energy (eV)")
    ax.set_title(title)
    ax.legend(fontsize=8)
    return save_figure(fig, path)
