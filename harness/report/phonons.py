"""Phonon figures: band structure (with an optional reference overlay), DOS, the VDOS check, σ(t),
class confusion; and the phonons task's headline (the lines a terminal shows of results.json)."""

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


def plot_vdos_check(path: Path, check: dict, *, n_qpoints: int, run_name: str) -> Path:
    """The harmonic modes of the MD cell (broadened) over the MD run's VDOS, E_VDOS in the title;
    ``check`` as :func:`harness.analysis.phonons.vdos_against_modes` returns it."""
    fd, sd = check["harmonic"]
    fv, sv = check["vdos"]
    return plot_spectra(path, [(fd, sd, f"harmonic modes at the {n_qpoints} q-points of the MD cell"),
                               (fv, sv, f"VDOS from MD ({run_name})")], xmax=1.3 * check["max_mode_THz"],
                        title=f"E_VDOS = {check['E_VDOS_percent']:.1f} %")


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


# ---------------------------------------------------------------------- the headline
def headline(doc: dict) -> list[str]:
    """The phonons task's headline from its results.json: the VDOS check, the maximum frequency
    and stability, the thermodynamics (without a reference) or the comparison with the reference."""
    out = []
    if "vdos_vs_dos" in doc:
        v = doc["vdos_vs_dos"]
        out.append(f"VDOS of {v['run']} vs phonon DOS: E_VDOS = {v['E_VDOS_percent']:.1f} %")
    out.append(f"max frequency {doc['max_frequency_THz']:.3f} THz; {stability_text(doc)}")
    c = doc.get("comparison")
    th = doc.get("thermodynamics")
    if th and not c:
        k = _headline_temperature(th["temperatures_K"])
        out.append(f"harmonic thermodynamics at {th['temperatures_K'][k]:g} K: "
                   f"F {th['helmholtz_free_energy_eV_per_atom'][k]:.4f} eV/atom, "
                   f"S {th['entropy_J_per_K_per_mol_atoms'][k]:.3f} J/K/mol, "
                   f"C_v {th['heat_capacity_J_per_K_per_mol_atoms'][k]:.3f} J/K/mol (per mole of atoms)"
                   + ("" if th.get("reliable", True) else "; imaginary modes left out"))
    if c:
        vg = c.get("rmse_group_velocity_THz_A")
        vg_text = "n/a (every band imaginary)" if vg is None else f"{vg:.3f} THz·Å"
        dropped = c.get("group_velocity_bands_dropped") or []
        if dropped and vg is not None:
            vg_text += f" over {c['group_velocity_n_bands']} real bands (imaginary bands {dropped} left out)"
        out.append(f"vs reference: RMSE(ω²) {c['rmse_omega2_THz2']:.3f} THz², RMSE(v_g) {vg_text}, "
                   f"max-frequency ratio {c['max_frequency_ratio']:.3f}")
        if "reference_stability" in c:
            rs = c["reference_stability"]
            stable_rmse = c.get("rmse_omega2_reference_stable_THz2")
            out.append(f"reference: {stability_text(rs)} -> "
                       f"{'agree' if c['stability_agree'] else 'DISAGREE'} ({c['stability_agreement']})"
                       + ("" if rs["dynamically_stable"] or stable_rmse is None else
                          f"; RMSE(ω²) over the reference's real modes {stable_rmse:.3f} THz²"))
        err = (c.get("thermodynamics") or {}).get("error")
        if err:
            k = _headline_temperature(err["temperatures_K"])
            out.append(f"thermodynamics at {err['temperatures_K'][k]:g} K, model − reference: "
                       f"F {err['helmholtz_free_energy_error_meV_per_atom'][k]:+.2f} meV/atom, "
                       f"S {err['entropy_error_J_per_K_per_mol_atoms'][k]:+.3f} J/K/mol, "
                       f"C_v {err['heat_capacity_error_J_per_K_per_mol_atoms'][k]:+.3f} J/K/mol (per mole of atoms)")
    return out


def _headline_temperature(temperatures) -> int:
    """Index of the temperature the headline quotes: 300 K if present, else the highest."""
    temps = list(temperatures)
    return temps.index(300.0) if 300.0 in temps else int(np.argmax(temps))


def stability_text(st: dict) -> str:
    """'dynamically stable' or the imaginary modes: how many q-points, the lowest and where."""
    if st["dynamically_stable"]:
        return "dynamically stable"
    q = st.get("lowest_mode_q")
    where = f" at q = ({', '.join(f'{x:.3g}' for x in q)})" if q else ""
    return (f"IMAGINARY MODES at {st['n_imaginary_qpoints']} q-points (lowest {st['min_frequency_THz']:.3f} THz"
            f"{where}; tolerance {st['imaginary_tolerance_THz']} THz)")
