"""Matplotlib figures of an MD analysis (``analyze_md`` results + thermo arrays)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: CI and batch runs have no display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .figure import save_figure  # noqa: E402


def _skipped(ax, section: dict | None, name: str) -> bool:
    """Write the skip reason on the axes if the section was not computed."""
    if section and "skipped" not in section:
        return False
    reason = (section or {}).get("skipped", "not computed")
    ax.text(0.5, 0.5, f"{name}: {reason}", ha="center", va="center",
            transform=ax.transAxes, wrap=True)
    ax.set_axis_off()
    return True


def _save(fig, path: Path, written: list[Path]) -> None:
    written.append(save_figure(fig, path))


def _thermo(results: dict, thermo: dict | None, path: Path, written: list) -> None:
    fig, axes = plt.subplots(3, 1, figsize=(7, 8), sharex=True)
    if not thermo or len(thermo.get("step", [])) == 0:
        _skipped(axes[0], None, "thermo")
        for ax in axes[1:]:
            ax.set_axis_off()
        _save(fig, path, written)
        return
    t = np.asarray(thermo["time_ps"])
    axes[0].plot(t, thermo["temperature_K"], lw=0.8, label="T")
    target = (results.get("temperature") or {}).get("target_K")
    if target is not None:
        axes[0].axhline(target, color="k", ls="--", lw=1, label=f"target {target:g} K")
    axes[0].set_ylabel("Temperature (K)")
    axes[0].legend(loc="best")
    for key, label in (("etotal_eV", "E total"), ("pe_eV", "E potential")):
        if key in thermo:
            axes[1].plot(t, thermo[key], lw=0.8, label=label)
    axes[1].set_ylabel("Energy (eV)")
    axes[1].legend(loc="best")
    axes[2].plot(t, thermo["pressure_GPa"], lw=0.8)
    axes[2].set_ylabel("Pressure (GPa)")
    axes[2].set_xlabel("Time (ps)")
    eq = (results.get("settings") or {}).get("equilibration_ps")
    if eq:
        for ax in axes:
            ax.axvline(t[0] + eq, color="grey", ls=":", lw=1)
    _save(fig, path, written)


def _rdf(sec: dict, path: Path, written: list) -> None:
    fig, ax = plt.subplots(figsize=(6, 4))
    if not _skipped(ax, sec, "RDF"):
        ax.plot(sec["r_A"], sec["total"], color="k", lw=1.2, label="total")
        if len(sec["pairs"]) > 1:
            for name, g in sec["pairs"].items():
                ax.plot(sec["r_A"], g, lw=0.8, label=name)
        ax.axhline(1.0, color="grey", lw=0.5)
        ax.set_xlabel("r (Å)")
        ax.set_ylabel("g(r)")
        ax.legend(loc="best")
    _save(fig, path, written)


def _vdos(sec: dict, path: Path, written: list) -> None:
    fig, ax = plt.subplots(figsize=(6, 4))
    if not _skipped(ax, sec, "VDOS"):
        ax.plot(sec["frequency_THz"], sec["total"], color="k", lw=1.2, label="total")
        if len(sec["per_element"]) > 1:
            for name, g in sec["per_element"].items():
                ax.plot(sec["frequency_THz"], g, lw=0.8, label=name)
        ax.set_xlabel("Frequency (THz)")
        ax.set_ylabel("VDOS (1/THz)")
        # up to where 99.9 % of the spectrum lies (the Nyquist range is mostly empty)
        f, g = np.asarray(sec["frequency_THz"], dtype=float), np.asarray(sec["total"], dtype=float)
        cum = np.cumsum(np.clip(g, 0, None))
        f_hi = f[min(np.searchsorted(cum, 0.999 * cum[-1]), len(f) - 1)] if cum[-1] > 0 else f[-1]
        ax.set_xlim(0, min(f[-1], 1.3 * f_hi))
        ax.legend(loc="best")
    _save(fig, path, written)


def _msd(sec: dict, path: Path, written: list) -> None:
    fig, ax = plt.subplots(figsize=(6, 4))
    if not _skipped(ax, sec, "MSD"):
        t = np.asarray(sec["time_ps"])
        ax.plot(t, sec["msd_A2"], color="k", lw=1.2, label="MSD")
        lo, hi = sec["fit_window_ps"]
        if sec.get("D_A2_per_ps") is not None:
            tf = np.linspace(lo, hi, 2)
            slope = 2 * sec["dimension"] * sec["D_A2_per_ps"]
            ax.plot(tf, slope * tf + sec["intercept_A2"], "r--",
                    label=f"fit: D = {sec['D_cm2_per_s']:.3g} cm²/s")
        else:  # no diffusive regime: the window looked at, and why there is no D
            ax.axvspan(lo, hi, color="0.9", label="window examined")
            ax.set_title(f"D: {sec.get('D_verdict')}", fontsize=10)
        ax.set_xlabel("Lag time (ps)")
        ax.set_ylabel("MSD (Å²)")
        ax.legend(loc="best")
    _save(fig, path, written)


def _pressure_hist(sec: dict, path: Path, written: list) -> None:
    fig, ax = plt.subplots(figsize=(6, 4))
    if not _skipped(ax, sec, "pressure"):
        h = sec["histogram"]
        edges = np.asarray(h["edges_GPa"])
        ax.stairs(h["density_per_GPa"], edges, fill=True, alpha=0.6)
        ax.axvline(sec["mean_GPa"], color="k", ls="--",
                   label=f"mean {sec['mean_GPa']:.3g} ± {sec['sem_GPa']:.2g} GPa")
        ax.set_xlabel(f"Pressure {sec.get('definition', '')} (GPa)")
        ax.set_ylabel("Probability density (1/GPa)")
        ax.legend(loc="best")
    _save(fig, path, written)


def plot_kappa(sec: dict, path: Path, written: list | None = None) -> Path:
    """HFACF (normalised) and the running Green–Kubo integral, the window marked (Cao & Clancy's
    figure of thermal transport)."""
    written = [] if written is None else written
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(6, 6), sharex=True)
    if not _skipped(top, sec, "kappa"):
        t = np.asarray(sec["time_ps"])
        top.plot(t, sec["hfacf_normalized"], lw=1)
        top.axhline(0, color="0.5", lw=0.5)
        top.set_ylabel("HFACF / HFACF(0)")
        bottom.plot(t, sec["running_W_mK"], lw=1, label="running integral (xyz mean)")
        for line in (top, bottom):
            line.axvline(sec["window_ps"], color="r", ls="--", lw=1)
        label = f"κ = {sec['kappa_W_mK']:.3g} W/(m·K) at {sec['window_ps']:.3g} ps ({sec['window']})"
        if sec.get("segments"):
            label += f"\n{sec['kappa_mean_W_mK']:.3g} ± {sec['kappa_sem_W_mK']:.2g} over {sec['segments']} segments"
        bottom.axhline(sec["kappa_W_mK"], color="r", lw=0.8, label=label)
        bottom.set_xlabel("Correlation time (ps)")
        bottom.set_ylabel("κ(t) (W/(m·K))")
        bottom.legend(loc="best", fontsize=8)
    else:
        bottom.set_axis_off()
    _save(fig, path, written)
    return Path(path)


def plot_md_report(results: dict, thermo: dict | None, out_dir: str | Path) -> list[Path]:
    """Write the MD report figures.

    Parameters
    ----------
    results : dict
        Output of :func:`harness.analysis.analyze_md`.
    thermo : dict or None
        Output of :func:`harness.analysis.read_thermo` (full run, including
        equilibration, which is marked by a dotted line).
    out_dir : str or Path
        Created if missing.

    Returns
    -------
    list of Path
        ``thermo.png``, ``rdf.png``, ``vdos.png``, ``msd.png``,
        ``pressure_hist.png``. A section that was skipped yields a figure
        stating the reason, so the set of files is always the same.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    _thermo(results, thermo, out / "thermo.png", written)
    _rdf(results.get("rdf"), out / "rdf.png", written)
    _vdos(results.get("vdos"), out / "vdos.png", written)
    _msd(results.get("msd"), out / "msd.png", written)
    _pressure_hist(results.get("pressure"), out / "pressure_hist.png", written)
    if "kappa" in results:  # (a run that wrote its heat flux)
        plot_kappa(results["kappa"], out / "kappa.png", written)
    return written
