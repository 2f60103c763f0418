"""A screen's headline, table (CSV + Markdown) and figures: distributions and confusion matrices.

Every figure states what it shows, over how many materials, and its headline number, so it
can be read without the table.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from .figure import save_figure  # noqa: E402
from .phonons import plot_confusion  # noqa: E402

# The table's columns, in order (thermodynamics columns are added per temperature).
COLUMNS = (
    "material", "status", "reason", "formula", "n_atoms_primitive",
    "reference_stable", "model_stable", "stability_agreement",
    "reference_min_frequency_THz", "model_min_frequency_THz",
    "reference_n_imaginary_qpoints", "model_n_imaginary_qpoints",
    "max_frequency_reference_THz", "max_frequency_model_THz", "max_frequency_ratio", "softened",
    "rmse_omega2_THz2", "rmse_omega2_reference_stable_THz2", "rmse_group_velocity_THz_A",
    "group_velocity_bands_dropped", "mae_frequency_THz",
)
SIGMA_COLUMNS = ("sigma_md_K", "sigma_fc_reference", "class_fc_reference", "sigma_fc_model", "class_fc_model",
                 "sigma_error")
RUN_COLUMNS = ("phonons_run", "md_run", "sigma_runs")
# the Markdown table: what fits on a page
MD_COLUMNS = ("material", "status", "reference_stable", "model_stable", "max_frequency_ratio", "softened",
              "rmse_omega2_THz2", "rmse_group_velocity_THz_A")


def thermo_columns(temperatures_K, with_reference: bool) -> list[str]:
    cols = ["thermodynamics_reliable"] if with_reference else []
    for t in temperatures_K:
        cols.append(f"F_model_{t:g}K_eV_per_atom")
        if with_reference:
            cols += [f"dF_{t:g}K_meV_per_atom", f"dS_{t:g}K_J_per_K_per_mol_atoms",
                     f"dCv_{t:g}K_J_per_K_per_mol_atoms"]
    return cols


def _cell(v, digits: int = 4) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.{digits}g}"
    if isinstance(v, (list, tuple)):
        return " ".join(str(x) for x in v)
    return str(v).replace("|", "/").replace("\n", " ")


def columns(rows: list[dict], temperatures_K, with_reference: bool, with_sigma: bool) -> list[str]:
    cols = list(COLUMNS) + thermo_columns(temperatures_K, with_reference)
    if with_sigma:
        cols += list(SIGMA_COLUMNS)
    return cols + list(RUN_COLUMNS)


def write_csv(path: Path, rows: list[dict], cols: list[str]) -> Path:
    from ..files import write_text

    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: ("" if r.get(k) is None else
                        " ".join(map(str, r[k])) if isinstance(r.get(k), (list, tuple)) else r[k]) for k in cols})
    write_text(path, buf.getvalue())
    return Path(path)


def _matrix_md(conf: dict, what: str) -> list[str]:
    names = conf["classes"]
    lines = [f"| {what} | " + " | ".join(names) + " |", "|" + "---|" * (len(names) + 1)]
    lines += [f"| {name} | " + " | ".join(str(v) for v in row) + " |" for name, row in zip(names, conf["counts"])]
    return lines


def write_markdown(path: Path, doc: dict, cols: list[str]) -> Path:
    """The headline, both confusion matrices, the distributions, the failures and the table."""
    from ..files import write_text

    s, rows = doc["summary"], doc["rows"]
    st, sg, soft = s["stability"], s["sigma_classes"], s["softening"]
    md = [f"# Screen: {doc['model']} over {s['n_materials']} materials", "",
          *[f"- {line}" for line in doc["headline"]], ""]
    if st["n"]:
        md += [f"## Dynamical stability, reference (rows) vs model (columns): agree {st['n_agree']} of {st['n']}", "",
               *_matrix_md(st, "reference \\ model"), "",
               f"False instabilities (model unstable, reference stable): {st['false_instabilities']}; "
               f"missed instabilities (reference unstable, model stable): {st['missed_instabilities']}. "
               f"Imaginary: a mode below −{doc['imaginary_tolerance_THz']} THz on the q-mesh or the band path.", ""]
    if sg["n"]:
        md += [f"## σ^(2) classes, Φ from the reference (rows) vs Φ from the model (columns), along the model's "
               f"MD at {doc['sigma_md_K']:g} K: agree {sg['n_agree']} of {sg['n']}", "",
               *_matrix_md(sg, "Φ reference \\ Φ model"), "",
               "Knoop et al.: ⟨σ⟩ < 0.5 weakly anharmonic, 0.5–1 strongly anharmonic, > 1 dynamically unstable.", ""]
    md += ["## Distributions", "", "| quantity | n | mean | median | min | max |", "|---|---|---|---|---|---|"]
    for key, d in s["distributions"].items():
        if d["n"]:
            md.append(f"| {key} | {d['n']} | {d['mean']:.4g} | {d['median']:.4g} | {d['min']:.4g} | {d['max']:.4g} |")
    if soft["n_materials"]:
        md += ["", f"Softened max frequency (ratio < 1): {soft['n_softened']} of {soft['n_materials']} "
                   f"({100 * soft['fraction_softened']:.0f} %)."]
    if s["failed"]:
        md += ["", "## Failed (retried by the next `harness screen`)", ""]
        md += [f"- {name}: {why}" for name, why in s["failed"].items()]
    shown = [c for c in MD_COLUMNS if c in cols] + [c for c in cols if c.startswith("dF_")] \
        + [c for c in ("sigma_fc_reference", "sigma_fc_model") if c in cols]
    md += ["", "## Materials", "", f"All columns: `{Path(doc['tables'][0]).name}`.", "",
           "| " + " | ".join(shown) + " |", "|" + "---|" * len(shown)]
    md += ["| " + " | ".join(_cell(r.get(c)) for c in shown) + " |" for r in rows]
    md += ["", "Figures: " + ", ".join(f"`figures/{Path(f).name}`" for f in doc["figures"])]
    write_text(path, "\n".join(md) + "\n")
    return Path(path)


def headline(doc: dict) -> list[str]:
    """A few lines for the terminal: counts, softening, stability and σ agreement, failures."""
    s = doc["summary"]
    out = [f"{s['n_done']} of {s['n_materials']} materials screened with {doc['model']}"
           + (f", {s['n_failed']} failed" if s["n_failed"] else "")
           + (f", {s['n_rendered']} rendered (run their folders: members.txt)" if s["n_rendered"] else "")]
    soft, st, sg = s["softening"], s["stability"], s["sigma_classes"]
    if soft["n_materials"]:
        out.append(f"softened max frequency (ratio < 1): {soft['n_softened']} of {soft['n_materials']} "
                   f"({100 * soft['fraction_softened']:.0f} %), median ratio {soft['median_ratio']:.3f}")
    if st["n"]:
        out.append(f"dynamical stability, reference vs model: agree {st['n_agree']} of {st['n']} "
                   f"(false instabilities {st['false_instabilities']}, missed {st['missed_instabilities']})")
    elif s["n_done"]:
        out.append(f"dynamically unstable with the model: {s['model_unstable']} of {s['n_done']}")
    if sg["n"]:
        out.append(f"σ^(2) classes, Φ reference vs Φ model: agree {sg['n_agree']} of {sg['n']}")
    for name, why in s["failed"].items():
        out.append(f"failed: {name} ({why})")
    return out


# ---------------------------------------------------------------------- figures
def plot_distribution(values, path: Path, *, xlabel: str, title: str, marker: float | None = None,
                      marker_label: str | None = None, empty: str = "no material has this value") -> Path:
    """A histogram of one quantity over materials; ``marker`` draws a reference line (ratio 1, error 0)."""
    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], dtype=float)
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    if len(v):
        bins = int(np.clip(np.sqrt(len(v)), 5, 30))
        lo, hi = v.min(), v.max()
        if marker is not None:
            lo, hi = min(lo, marker), max(hi, marker)
        pad = 0.05 * (hi - lo) if hi > lo else 0.05 * max(abs(hi), 1e-3)
        ax.hist(v, bins=bins, range=(lo - pad, hi + pad), color="C0", edgecolor="white")
        ax.axvline(np.median(v), color="k", lw=1.0, ls="--", label=f"median {np.median(v):.3g}")
        if marker is not None:
            ax.axvline(marker, color="C3", lw=1.2, label=marker_label)
        ax.legend(loc="best", fontsize=8)
        ax.set_ylabel("materials")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # counts of materials
    else:
        ax.text(0.5, 0.5, empty, ha="center", va="center", transform=ax.transAxes)
        ax.set_yticks([])
    ax.set_xlabel(xlabel)
    ax.set_title(f"{title} (n = {len(v)})", fontsize=10)
    return save_figure(fig, path)


def plot_screen(doc: dict, out: Path) -> list[Path]:
    """The screen's figures into ``out``: three distributions and two confusion matrices."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows = [r for r in doc["rows"] if r.get("status") == "done"]
    s = doc["summary"]
    soft, st, sg = s["softening"], s["stability"], s["sigma_classes"]
    figs = []
    frac = (f": {soft['n_softened']} of {soft['n_materials']} softened (< 1)" if soft["n_materials"] else "")
    figs.append(plot_distribution([r.get("max_frequency_ratio") for r in rows], out / "max_frequency_ratio.png",
                                  xlabel="max phonon frequency, model / reference", marker=1.0,
                                  marker_label="1 (no softening)", title=f"Max-frequency ratio{frac}",
                                  empty="no reference: no ratio"))
    figs.append(plot_distribution([r.get("rmse_omega2_THz2") for r in rows], out / "rmse_omega2.png",
                                  xlabel="RMSE(ω²) model vs reference (THz²)",
                                  title="RMSE(ω²) over all modes of the q-mesh", empty="no reference: no RMSE"))
    figs.append(plot_distribution([r.get("sigma_error") for r in rows], out / "sigma_error.png",
                                  xlabel="⟨σ⟩(Φ model) − ⟨σ⟩(Φ reference)", marker=0.0, marker_label="0",
                                  title="⟨σ$^{(2)}$⟩ error along the model's MD",
                                  empty="no σ with both Φ (needs --sigma-md and references)"))
    agree = f"agree {st['n_agree']} of {st['n']}" if st["n"] else "no material with a reference"
    figs.append(plot_confusion(st, out / "stability_confusion.png",
                               title=f"Dynamical stability: {agree}\n(false instab. {st['false_instabilities']}, "
                                     f"missed {st['missed_instabilities']})"))
    agree = f"agree {sg['n_agree']} of {sg['n']}" if sg["n"] else "no σ with both Φ"
    at = f" along model MD at {doc['sigma_md_K']:g} K" if doc.get("sigma_md_K") else ""
    figs.append(plot_confusion(sg, out / "sigma_confusion.png", xlabel="Φ from the model",
                               ylabel="Φ from the reference", title=f"σ$^{{(2)}}$ classes{at}: {agree}"))
    return figs
