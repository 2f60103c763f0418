"""Phonon figures: band structure (with an optional reference overlay), DOS, σ(t)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .figure import save_figure  # noqa: E402


def _segments(summary: dict):
    return summary["band"]["distances"], summary["band"]["frequencies_THz"]


def _ticks(dist, labels, connections):
    """Tick positions and names of a phonopy band path; a break (U|K) shares one tick."""
    ticks, names, it = [], [], iter(labels)
    for i, d in enumerate(dist):
        if i == 0 or (connections and not connections[i - 1]):
            start = next(it, "")
            if ticks and abs(ticks[-1] - d[0]) < 1e-9:
                names[-1] = f"{names[-1]}|{start}"
            else:
                ticks.append(d[0])
                names.append(start)
        ticks.append(d[-1])
        names.append(next(it, ""))
    return ticks, (names if labels else [])


def plot_bands(summary: dict, path: Path, reference: dict | None = None, label: str = "model") -> Path:
    """Band structure along the seekpath path; ``reference`` = {"distances", "frequencies_THz"} overlay."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    dist, freq = _segments(summary)
    for k, (d, f) in enumerate(zip(dist, freq)):
        lines = ax.plot(d, f, color="C0", lw=1.0)
        if k == 0:
            lines[0].set_label(label)
    if reference is not None:
        for k, (d, f) in enumerate(zip(reference["distances"], reference["frequencies_THz"])):
            lines = ax.plot(d, f, color="k", lw=0.9, ls="--")
            if k == 0:
                lines[0].set_label("reference")
    ticks, names = _ticks(dist, summary["band"].get("labels") or [], summary["band"].get("path_connections") or [])
    for t in ticks:
        ax.axvline(t, color="0.7", lw=0.5)
    if names:
        ax.set_xticks(ticks)
        ax.set_xticklabels(names)
    ax.axhline(0, color="0.5", lw=0.5)
    ax.set_xlim(dist[0][0], dist[-1][-1])
    ax.set_ylabel("Frequency (THz)")
    ax.legend(loc="best")
    return save_figure(fig, path)


def plot_spectra(path: Path, curves: list, *, xmax: float | None = None, title: str | None = None,
                 ylabel: str = "1/THz (unit area)") -> Path:
    """Spectra vs frequency: ``curves`` = [(frequency_THz, values, label), ...], the first in black."""
    fig, ax = plt.subplots(figsize=(6, 4))
    for k, (f, g, label) in enumerate(curves):
        ax.plot(f, g, color="k" if k == 0 else f"C{k}", lw=1.2 if k == 0 else 0.9, label=label)
    if xmax is not None:
        ax.set_xlim(0, xmax)
    if title:
        ax.set_title(title)
    ax.set_xlabel("Frequency (THz)")
    ax.set_ylabel(ylabel)
    ax.legend(loc="best")
    return save_figure(fig, path)


def plot_dos(summary: dict, path: Path) -> Path:
    f = np.asarray(summary["dos"]["frequency_THz"])
    curves = [(f, summary["dos"]["total"], "total")]
    per = summary["dos"].get("per_element", {})
    if len(per) > 1:
        curves += [(f, g, el) for el, g in per.items()]
    return plot_spectra(path, curves, ylabel="DOS (states/THz per primitive cell)")


def plot_sigma(time_ps: np.ndarray, sigma_t: np.ndarray, path: Path, mean: float) -> Path:
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(time_ps, sigma_t, lw=1.0, color="C0", label=r"$\sigma^{(2)}(t)$")
    ax.axhline(mean, color="k", ls="--", lw=0.8, label=rf"$\langle\sigma\rangle$ = {mean:.3f}")
    for y in (0.5, 1.0):
        ax.axhline(y, color="0.6", lw=0.6, ls=":")
    ax.set_xlabel("Time (ps)")
    ax.set_ylabel(r"$\sigma^{(2)}$")
    ax.legend(loc="best")
    return save_figure(fig, path)


def plot_confusion(confusion: dict, path: Path, *, title: str | None = None, xlabel: str = "model",
                   ylabel: str = "reference") -> Path:
    """Counts of (reference class, model class) as a heat map, rows = reference; the title states
    the agreement (default: σ^(2) classes)."""
    counts = np.asarray(confusion["counts"])
    names = [c.replace(" ", "\n") for c in confusion["classes"]]
    fig, ax = plt.subplots(figsize=(4.8, 4.2))
    ax.imshow(counts, cmap="Blues", vmin=0, vmax=max(1, counts.max()))
    for (i, j), v in np.ndenumerate(counts):
        ax.text(j, i, str(v), ha="center", va="center", color="white" if v > counts.max() / 2 else "black")
    ax.set_xticks(range(len(names)), names, fontsize=8)
    ax.set_yticks(range(len(names)), names, fontsize=8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    agreement = confusion.get("agreement")
    if title is None:
        title = (f"σ$^{{(2)}}$ classes: agreement {100 * agreement:.0f} %" if agreement is not None else "σ classes")
    ax.set_title(title, fontsize=10)
    return save_figure(fig, path)
