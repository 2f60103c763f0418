"""Figures of ``harness train``: training curves and the test forces before and after."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .figure import save_figure  # noqa: E402

# (history key, label, scale to the plotted unit)
_LOSSES = (("train_loss", "train loss", 1.0), ("valid_loss", "validation loss", 1.0))
_FORCES = (("train_force_mae_eV_A", "train force MAE", 1.0), ("valid_force_mae_eV_A", "validation force MAE", 1.0),
           ("valid_force_rmse_eV_A", "validation force RMSE", 1.0))
_ENERGIES = (("train_energy_mae_eV_per_atom", "train energy MAE", 1e3),
             ("valid_energy_mae_eV_per_atom", "validation energy MAE", 1e3),
             ("valid_energy_rmse_eV_per_atom", "validation energy RMSE", 1e3))


def training_figure(training: dict, path: Path, *, title: str = "") -> Path:
    """Loss (when the trainer reports one), force errors (eV/Å) and energy errors (meV/atom) per
    epoch on a log scale; the value before the first step at epoch 0 (open marker) and the kept
    epoch (vertical line)."""
    rows, initial = training["history"], training.get("initial_validation") or {}
    panels = [p for p in (_LOSSES, _FORCES, _ENERGIES) if any(r.get(k) is not None for r in rows for k, _, _ in p)]
    fig, axes = plt.subplots(1, len(panels), figsize=(4.6 * len(panels), 3.8), squeeze=False)
    units = {id(_LOSSES): "loss (trainer's weights)", id(_FORCES): "force error (eV/Å)",
             id(_ENERGIES): "energy error (meV/atom)"}
    for ax, panel in zip(axes[0], panels):
        for key, label, scale in panel:
            pts = [(r["epoch"] + 1, r[key] * scale) for r in rows if r.get(key) is not None]
            if not pts:
                continue
            x, y = np.array(pts).T
            (line,) = ax.plot(x, y, "-", lw=1.3, label=label)
            start = initial.get(key)
            if start is not None:
                ax.plot([0], [start * scale], "o", mfc="none", color=line.get_color())
        if training.get("kept_epoch") is not None:
            ax.axvline(training["kept_epoch"] + 1, color="k", ls=":", lw=1, label="kept checkpoint")
        ax.set_yscale("log")
        ax.set_xlabel("epoch (0: before the first step)")
        ax.set_ylabel(units[id(panel)])
        ax.legend(fontsize=8)
    fig.suptitle(title)
    return save_figure(fig, path)


def test_parity_figure(f_ref: np.ndarray, forces: dict[str, np.ndarray], errors: dict, path: Path, *,
                       title: str = "") -> Path:
    """Model vs reference force components on the test frames, before (the model compared
    with) and after training, with y = x and each one's softening-scale line."""
    fig, ax = plt.subplots(figsize=(5.4, 5.0))
    x = np.asarray(f_ref).ravel()
    lim = 1.05 * max([np.abs(x).max(initial=1e-3)] + [np.abs(f).max(initial=0.0) for f in forces.values()])
    line = np.array([-lim, lim])
    ax.plot(line, line, "k--", lw=1, label="y = x")
    for role, colour in (("before", "tab:orange"), ("after", "tab:blue")):
        if role not in forces:
            continue
        e = errors[role]
        ax.plot(x, np.asarray(forces[role]).ravel(), ".", ms=2, alpha=0.35, color=colour)
        ax.plot(line, e["softening_scale"] * line, "-", color=colour, lw=1.3,
                label=f"{role}: {e['model']} (s = {e['softening_scale']:.3f}, MAE {e['force_mae_eV_A']:.3f} eV/Å)")
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.set_xlabel("reference force component (eV/Å)")
    ax.set_ylabel("model force component (eV/Å)")
    ax.set_title(title)
    ax.legend(fontsize=8, loc="upper left")
    return save_figure(fig, path)
