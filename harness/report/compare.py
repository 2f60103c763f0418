"""Figures of a comparison with a reference: RDF, VDOS and pressure-histogram overlays, Pareto front."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .figure import save_figure  # noqa: E402

REF_STYLE = {"color": "k", "lw": 1.6, "label": "reference"}


def _note(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, wrap=True)
    ax.set_axis_off()


def _err(doc: dict, key: str, unit: str = "%") -> str:
    v = (doc.get("errors") or {}).get(key)
    return "n/a" if v is None else f"{v:.1f} {unit}" if unit == "%" else f"{v:.3g} {unit}"


def draw_rdf(ax, docs: dict[str, dict]) -> None:
    """Reference g(r) (from the first document) and each model's."""
    first = next(iter(docs.values()))
    ax.plot(first["rdf"]["r_A"], first["rdf"]["reference"], **REF_STYLE)
    for label, doc in docs.items():
        ax.plot(doc["rdf"]["r_A"], doc["rdf"]["model"], lw=1.0,
                label=f"{label} (E_RDF {_err(doc, 'E_RDF_percent')})")
    ax.axhline(1.0, color="grey", lw=0.5)
    ax.set_xlabel("r (Å)")
    ax.set_ylabel("g(r)")
    ax.legend(loc="best", fontsize=8)


def draw_vdos(ax, docs: dict[str, dict]) -> None:
    first = next(iter(docs.values()))
    ax.plot(first["vdos"]["frequency_THz"], first["vdos"]["reference"], **REF_STYLE)
    for label, doc in docs.items():
        ax.plot(doc["vdos"]["frequency_THz"], doc["vdos"]["model"], lw=1.0,
                label=f"{label} (E_VDOS {_err(doc, 'E_VDOS_percent')}, W1 {_err(doc, 'W1_VDOS_THz', 'THz')})")
    ax.set_xlabel("frequency (THz)")
    ax.set_ylabel("VDOS (1/THz, unit area)")
    f, s = np.asarray(first["vdos"]["frequency_THz"]), np.clip(np.asarray(first["vdos"]["reference"]), 0, None)
    cum = np.cumsum(s)
    top = f[min(np.searchsorted(cum, 0.995 * cum[-1]), len(f) - 1)] if cum[-1] > 0 else f[-1]
    ax.set_xlim(0, min(f[-1], 1.5 * top) if top > 0 else f[-1])
    ax.legend(loc="best", fontsize=8)


def draw_pressure(ax, docs: dict[str, dict]) -> None:
    with_p = {k: d for k, d in docs.items() if "pressure" in d}
    if not with_p:
        reason = next(iter(docs.values())).get("skipped", {}).get("E_P_percent", "not computed")
        _note(ax, f"pressure: {reason}")
        return
    first = next(iter(with_p.values()))["pressure"]["histogram"]
    ax.stairs(first["reference_density_per_GPa"], first["edges_GPa"], color="k", lw=1.6, label="reference")
    for label, doc in with_p.items():
        h = doc["pressure"]["histogram"]
        ax.stairs(h["model_density_per_GPa"], h["edges_GPa"], lw=1.0,
                  label=f"{label} (E_P {_err(doc, 'E_P_percent')}, ΔP {_err(doc, 'delta_P_GPa', 'GPa')})")
    ax.set_xlabel("pressure (GPa)")
    ax.set_ylabel("density (1/GPa)")
    ax.legend(loc="best", fontsize=8)


def plot_compare(doc: dict, out_dir: Path, prefix: str, reference_name: str) -> list[Path]:
    """``<prefix>-rdf.png``, ``-vdos.png``, ``-pressure.png``: reference vs the run's model."""
    out_dir = Path(out_dir)
    docs = {doc["model"]: doc}
    written = []
    for name, draw in (("rdf", draw_rdf), ("vdos", draw_vdos), ("pressure", draw_pressure)):
        fig, ax = plt.subplots(figsize=(6.5, 4.2))
        draw(ax, docs)
        ax.set_title(f"{doc['system']}: {doc['model']} vs {reference_name}", fontsize=9)
        written.append(save_figure(fig, out_dir / f"{prefix}-{name}.png"))
    return written


def plot_overlays(system: str, docs: dict[str, dict], path: Path, reference_name: str = "reference") -> Path:
    """One figure per system: RDF, VDOS and pressure histograms of the reference and all models."""
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.4))
    draw_rdf(axes[0], docs)
    draw_vdos(axes[1], docs)
    draw_pressure(axes[2], docs)
    fig.suptitle(f"{system}: models vs {reference_name}")
    return save_figure(fig, Path(path))


def pareto_front(points: list[tuple[float, float]]) -> list[int]:
    """Indices of the non-dominated points (lower cost and lower error are both better), by cost."""
    order = sorted(range(len(points)), key=lambda i: (points[i][0], points[i][1]))
    front, best = [], float("inf")
    for i in order:
        if points[i][1] < best:
            front.append(i)
            best = points[i][1]
    return front


def plot_pareto(rows: list[dict], path: Path, *, error_key: str = "E_RPV_percent",
                cost_key: str = "ms_per_step") -> Path:
    """Error vs cost, one point per model (means over systems), the Pareto front joined."""
    fig, ax = plt.subplots(figsize=(6.5, 4.6))
    pts = [(r[cost_key], r[error_key]) for r in rows if r.get(cost_key) is not None and r.get(error_key) is not None]
    labels = [r["model"] for r in rows if r.get(cost_key) is not None and r.get(error_key) is not None]
    if not pts:
        _note(ax, f"no model has both {error_key} and {cost_key} (no references with stress?)")
        return save_figure(fig, Path(path))
    x, y = np.array(pts).T
    front = pareto_front(pts)
    ax.scatter(x, y, s=40, color="tab:blue", zorder=3)
    for xi, yi, lab in zip(x, y, labels):
        ax.annotate(lab, (xi, yi), textcoords="offset points", xytext=(5, 5), fontsize=9)
    ax.plot(x[front], y[front], color="tab:red", lw=1.2, marker="o", mfc="none", ms=12, label="Pareto front")
    ax.set_xscale("log")
    ax.set_xlabel("mean wall time per MD step (ms)")
    ax.set_ylabel(f"{error_key.replace('_percent', '')} (%), mean over systems")
    ax.legend(loc="best")
    return save_figure(fig, Path(path))
