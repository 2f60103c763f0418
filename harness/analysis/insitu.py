"""The in-situ observables of an MD run (what LAMMPS computed while it ran) as ``results.json``
sections with the same keys and units as the ones computed from a dump, marked
``"source": "in-situ"``.

- g(r): the blocks of ``rdf.dat`` after the equilibration, averaged (LAMMPS' ``compute rdf``:
  the same normalisation as the dump route, an ideal gas gives 1);
- MSD: ``msd.dat`` (LAMMPS' ``compute msd com yes``: per atom, the group's centre-of-mass
  drift removed) from its time origin, the end of the equilibration; D as the dump route fits it;
- VDOS: ``vacf.dat`` (``compute vacf``: ⟨v_i(0)·v_i(t)⟩ over the atoms of each element, one time
  origin, averaged over the atoms), mass-weighted and transformed as the dump route does (Hann
  window over at most ``max_lag`` samples);
- κ: ``heatflux.dat`` (J·V of ``compute heat/flux``) through :func:`harness.analysis.kappa.green_kubo`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..io.avetime import read_avetime
from ..io.elements import element_mass
from .kappa import green_kubo
from .msd import fit_diffusion
from .rdf import first_peak_position
from .vdos import spectra


def _pairs(elements: list[str]) -> list[tuple[str, str]]:
    return [(a, b) for i, a in enumerate(elements) for b in elements[i:]]


def rdf_insitu(path: Path, elements: list[str], from_step: int, n_atoms: int, volume_A3: float | None) -> dict:
    """g(r) total and per element pair, averaged over the blocks at ``from_step`` and later."""
    data = read_avetime(path)
    later = data.after(from_step)
    if not len(later.steps):
        return {"skipped": f"{path.name}: no g(r) block after the equilibration", "source": "in-situ"}
    mean = later.values.mean(axis=0)  # (bins, columns)
    cols = later.columns
    r = mean[:, cols.index("c_rdf_total[1]")]
    g = mean[:, cols.index("c_rdf_total[2]")]
    dr = float(r[1] - r[0]) if len(r) > 1 else float(2 * r[0])
    edges = np.concatenate([r - dr / 2, [r[-1] + dr / 2]])
    pairs = {}
    if any(c.startswith("c_rdf_pairs[") for c in cols):
        for k, (a, b) in enumerate(_pairs(elements)):
            pairs[f"{a}-{b}"] = mean[:, cols.index(f"c_rdf_pairs[{2 + 2 * k}]")]
    else:
        pairs[f"{elements[0]}-{elements[0]}"] = g
    return {"r_A": r, "edges_A": edges, "total": g, "pairs": pairs, "r_max_A": float(edges[-1]),
            "n_bins": int(len(r)), "first_peak_A": first_peak_position(r, g), "n_blocks": int(len(later.steps)),
            "density_per_A3": n_atoms / volume_A3 if volume_A3 else None, "source": "in-situ"}


def msd_insitu(path: Path, elements: list[str], timestep_fs: float, dimension: int = 3) -> dict:
    """MSD(t) from its time origin (the first row), total and per element, and D fitted on it."""
    data = read_avetime(path)
    if len(data.steps) < 4:
        return {"skipped": f"{path.name}: {len(data.steps)} rows < 4", "source": "in-situ"}
    t = (data.steps - data.steps[0]) * timestep_fs * 1e-3
    m = data.column("c_msd_all[4]")
    out = {"time_ps": t, "msd_A2": m, "dimension": dimension, "com_drift_removed": True,
           "per_element": {el: data.column(f"c_msd_{el}[4]") for el in elements
                           if f"c_msd_{el}[4]" in data.columns},
           "time_origins": 1, "origin_step": int(data.steps[0]), "source": "in-situ"}
    return {**out, **fit_diffusion(t, m, dimension)}


def vdos_insitu(path: Path, elements: list[str], counts: dict[str, int], timestep_fs: float,
                max_lag: int) -> dict:
    """Mass-weighted VDOS (total and per element) from the per-element VACF, one time origin."""
    data = read_avetime(path)
    n = min(len(data.steps), max_lag)
    if n < 4:
        return {"skipped": f"{path.name}: {len(data.steps)} rows < 4", "source": "in-situ"}
    dt = float(data.steps[1] - data.steps[0]) * timestep_fs * 1e-3
    # sum over the atoms of each element of m_i v_i(0)·v_i(t): what the dump route's correlator sums
    sums = np.array([element_mass(el) * counts[el] * data.column(f"c_vacf_{el}[4]")[:n] for el in elements])
    freq, total, partials = spectra(sums, np.ones(n), dt, list(elements))
    c = sums.sum(axis=0)
    return {"frequency_THz": freq, "total": total, "per_element": partials, "resolution_THz": float(freq[1] - freq[0]),
            "nyquist_THz": float(0.5 / dt), "peak_THz": float(freq[np.argmax(total)]), "mass_weighted": True,
            "window": "right half of Hann on one-sided VACF", "vacf_window_frames": int(n), "time_origins": 1,
            "vacf": {"time_ps": np.arange(n) * dt, "normalized": c / c[0] if c[0] > 0 else c},
            "source": "in-situ"}


# relative: the per-atom virials of a pair style that supports them add up exactly; a float32
# model's per-atom stresses (the bridge) are each rounded at ~1e-7 (3e-7 measured on 32 atoms);
# a style whose centroid stress misses terms is off by percents
VIRIAL_TOLERANCE = 1e-5


def virial_check(path: Path) -> dict:
    """How far the sum of the per-atom (centroid) virials is from the global virial, as pressures:
    a pair style whose per-atom virials miss terms would give a wrong heat flux."""
    data = read_avetime(path)
    if not len(data.steps):
        return {"skipped": f"{path.name}: no rows"}
    p_global, p_atoms = data.values[:, 0], data.values[:, 1]
    scale = max(float(np.max(np.abs(p_global))), 1e-12)
    diff = float(np.max(np.abs(p_global - p_atoms)) / scale)
    return {"max_relative_difference": diff, "tolerance": VIRIAL_TOLERANCE, "ok": diff <= VIRIAL_TOLERANCE,
            "n_rows": int(len(data.steps)), "definition": "max |P_virial - (-sum_i tr(W_i) / 3V)| / max |P_virial|"}


def kappa_insitu(path: Path, from_step: int, timestep_fs: float, volume_A3: float, temperature_K: float,
                 check: Path | None = None, **options) -> dict:
    """Green–Kubo κ of the heat flux at ``from_step`` and later (see :func:`green_kubo`), refused
    when the per-atom virials in ``check`` (:func:`virial_check`) do not add up."""
    checked = virial_check(check) if check is not None and Path(check).is_file() else None
    if checked is not None and checked.get("ok") is False:
        return {"skipped": f"the per-atom virials miss {checked['max_relative_difference']:.2g} of the global virial "
                           f"(> {VIRIAL_TOLERANCE:g}): the engine's per-atom stress is incomplete, the heat flux "
                           f"would be wrong", "virial_check": checked}
    data = read_avetime(path).after(from_step)
    if len(data.steps) < 16:
        return {"skipped": f"{path.name}: {len(data.steps)} heat-flux samples after the equilibration (< 16)"}
    dt = float(data.steps[1] - data.steps[0]) * timestep_fs * 1e-3
    flux = np.column_stack([data.column(f"c_flux[{k}]") for k in (1, 2, 3)])
    segments = options.pop("segments", None)
    if segments is None:  # independent segments for the spread, when the run is long enough for them
        segments = 5 if len(flux) >= 5000 else 1
    doc = green_kubo(flux, dt, volume_A3, temperature_K, segments=segments, **options)
    return {**doc, "source": "in-situ", **({"virial_check": checked} if checked else {})}
