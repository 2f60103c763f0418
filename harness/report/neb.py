"""Figures of energy profiles along a path: NEB bands, fixed paths, sliding scans; the NEB task's
headline and the table of barriers across models."""

from __future__ import annotations

import csv
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ..files import write_text  # noqa: E402
from .figure import save_figure  # noqa: E402


def plot_profile(card: dict, path: Path, *, title: str = "", reference: dict | None = None,
                 xlabel: str = "reaction coordinate") -> Path:
    """Energy of every image (relative to the first) on the reaction coordinate, a monotone
    piecewise-cubic curve through them (its maximum is the highest image), the saddle marked; a
    reference band overlaid when given."""
    fig, ax = plt.subplots(figsize=(6, 4))
    rc, e = np.asarray(card["reaction_coordinate"]), np.asarray(card["energies_eV"])
    if len(rc) >= 2 and np.all(np.diff(rc) > 0):
        # a shape-preserving curve through the images: it never overshoots them, so its
        # maximum is the highest image (the quoted barrier), where a cubic spline would peak above
        from scipy.interpolate import PchipInterpolator

        x = np.linspace(rc[0], rc[-1], 400)
        ax.plot(x, PchipInterpolator(rc, e)(x), "-", color="C0", lw=1, alpha=0.6,
                label="through the images (PCHIP)")
    ax.plot(rc, e, "o", color="C0", label="images")
    k = card["saddle_image"] - 1  # (images are numbered from 1)
    ax.plot(rc[k], e[k], "*", ms=14, color="C3", label=f"saddle (image {k + 1})")
    own = [st["image"] for st in card.get("interior_states") or [] if st.get("state_of_its_own") and st.get("image")]
    if own:
        idx = np.array(own) - 1
        ax.plot(rc[idx], e[idx], "v", ms=10, color="C2", label="image relaxing to a state of its own")
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


def neb_headline(doc: dict) -> list[str]:
    """The NEB task's headline from its results.json: the band's status, the barriers and the
    saddle, convergence and path quality, warnings, the error against a reference barrier."""
    c = doc["band"]
    lines = [f"NEB {doc['run_name']}: {doc['images']} images, {c['status']}"]
    if c["barrier_eV"] is not None:
        lines.append(f"barrier {c['barrier_eV']:.4f} eV (forward; backward {c['backward_barrier_eV']:.4f} eV, "
                     f"KRA {c['kra_barrier_eV']:.4f} eV; spline {c['spline_forward_barrier_eV']:.4f} eV), "
                     f"saddle at image {c['saddle_image']}")
    lines.append(f"max force {c['max_force_eV_A']:.2e} eV/Å (ftol {c['ftol_eV_A']:g}) after {c['iterations']} "
                 f"iterations; image spacing ratio {c['spacing_ratio']:.2f}, largest kink {c['max_kink_deg']:.1f}°")
    lines += [f"warning: {w}" for w in c.get("warnings", [])]
    ref = doc.get("reference")
    if ref and ref.get("forward_barrier_error_eV") is not None:
        lines.append(f"vs reference: barrier error {ref['forward_barrier_error_eV']:+.4f} eV"
                     + (f", per-image RMSE {ref['rmse_eV']:.4f} eV" if "rmse_eV" in ref else ""))
    return lines


def compare_models(results: dict[str, dict], out: Path) -> Path:
    """One table of barriers across models for the same hop: ``<out>.md`` and ``<out>.csv``.

    Parameters
    ----------
    results : dict
        Model label -> that model's NEB results.json, in the table's order.
    out : Path
        The tables' path without suffix.

    Returns
    -------
    Path
        The Markdown table (``<out>.md``).
    """
    rows = []
    for model, doc in results.items():
        c = doc["band"]
        rows.append({"model": model, "engine": doc["engine"], "barrier_eV": c["barrier_eV"],
                     "backward_barrier_eV": c["backward_barrier_eV"], "kra_barrier_eV": c["kra_barrier_eV"],
                     "spline_barrier_eV": c["spline_forward_barrier_eV"], "status": c["status"],
                     "reference_error_eV": (doc.get("reference") or {}).get("forward_barrier_error_eV")})
    with open(out.with_suffix(".csv"), "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    fmt = lambda v: "" if v is None else (f"{v:.4f}" if isinstance(v, float) else str(v))  # noqa: E731
    md = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    md += ["| " + " | ".join(fmt(r[k]) for k in rows[0]) + " |" for r in rows]
    write_text(out.with_suffix(".md"), "\n".join(md) + "\n")
    return out.with_suffix(".md")
