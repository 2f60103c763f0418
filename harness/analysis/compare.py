"""The numbers of a comparison of a model's MD run with a reference trajectory (Dyna-Mat errors).

Both sides go through the same functions on matched frame intervals and durations: the RDF,
VDOS and MSD through :class:`~harness.analysis.md.TrajectoryObservables`, the pressure through
:func:`~harness.analysis.pressure.summarize_series`, the errors through
:mod:`harness.analysis.dynamat`. The task (:mod:`harness.tasks.compare`) reads the run folder
and the reference, checks they hold the same system, and writes the document and figures;
what is computed here goes into that document unchanged. Input that cannot be compared is a
one-line :class:`~harness.errors.CompareError`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Protocol

import numpy as np

from ..errors import CompareError
from ..io.lammps_dump import Frames
from ..io.trajectory_data import ReferenceTrajectory, kinetic_stress
from ..progress import frame_progress
from ..units import EV_A3_TO_GPA
from . import dynamat as dm
from .pressure import in_plane_pressure, summarize_series
from .rdf import DEFAULT_BINS, default_r_max
from .stream import MAX_LAG_FRAMES, RDF_R_MAX_A, TrajectoryObservables

MIN_FRAMES = 4  # time correlations (VDOS) need a few frames
PRESSURE_BINS = 50  # at most; fewer for short series (√n), so a histogram is not mostly empty bins
BLOCK_FRAMES = 256  # reference frames fed at a time, as the model's: the accumulators' memory stays bounded
ERROR_KEYS = ("E_RDF_percent", "E_P_percent", "delta_P_GPa", "E_VDOS_percent", "E_RPV_percent", "L_RPV_percent",
              "W1_VDOS_THz", "W1_P_GPa")  # the order of the document's "errors"
PRESSURE_KEYS = ("E_P_percent", "delta_P_GPa", "W1_P_GPa")


def pressure_bins(n_samples: int) -> int:
    """Histogram bins for E_P: √n, between 5 and :data:`PRESSURE_BINS`."""
    return int(max(5, min(PRESSURE_BINS, round(math.sqrt(n_samples)))))


DEFINITIONS = {
    "E_RDF_percent": "min(1, ∫|g_REF − g_MLIP| dr / ∫|g_REF − 1| dr) × 100 (100 if the denominator is 0); total g(r), "
                     "500 bins to half the shortest cell width",
    "E_P_percent": "Σ_k |h_REF − h_MLIP| Δ_k / (Σ h_REF Δ_k + Σ h_MLIP Δ_k) × 100, area-normalised pressure histograms "
                   "on shared edges (√n bins, 5 to 50, over the range of both series)",
    "delta_P_GPa": "|⟨P_REF⟩ − ⟨P_MLIP⟩|",
    "E_VDOS_percent": "∫|f_REF − f_MLIP| dν / (∫f_REF dν + ∫f_MLIP dν) × 100, unit-area spectra over the common range "
                      "(L1 overlap: saturates at 100 when peaks no longer overlap)",
    "E_RPV_percent": "(E_RDF + E_P + E_VDOS) / 3",
    "L_RPV_percent": "(E_RDF² + E_P² + E_VDOS²) / (E_RDF + E_P + E_VDOS) (Lehmer mean: weights the worst observable)",
    "W1_VDOS_THz": "Wasserstein-1 (earth-mover) distance between the VDOS spectra as distributions over frequency "
                   "(matbench-discovery; keeps growing with a peak shift where E_VDOS saturates)",
    "W1_P_GPa": "Wasserstein-1 distance between the pressure samples",
    "pressure": "P = −tr(σ)/3 (3-D) or −(σxx+σyy)/2 (2-D) with the kinetic term Σ m v v / V; the model's from "
                "LAMMPS (thermo.dat), the reference's from its stress (+ kinetic term from its velocities when the "
                "stress is the potential part only)",
    "vdos": "Hann-windowed VACF (mass-weighted) → cosine transform, unit area; both sides from the same number of "
            "frames at the same interval",
}


class ModelSide(Protocol):
    """What the comparison reads of the model's run (:class:`harness.tasks.compare.ModelRun` is one)."""

    symbols: list[str]  # element of each atom
    n_frames: int  # frames available (after equilibration)
    frame_dt_ps: float
    first: Frames | None  # the first frame: whether the dump has velocities
    temperature_K: float | None  # the run's, for the equipartition check when the reference states none
    thermo: dict[str, np.ndarray]  # thermo.dat rows after equilibration (keys of io.thermo.read_thermo)
    thermo_dt_ps: float

    def blocks(self, idx) -> Iterable[Frames]:
        """Frames ``idx`` (indices into the available frames), block by block."""


def compare_observables(ref: ReferenceTrajectory, model: ModelSide, *, dimension: int = 3,
                        vdos_resolution_THz: float | None = None, reference_name: str = "the reference",
                        run_name: str = "the run", progress: bool = False) -> dict:
    """Dyna-Mat errors of ``model`` against ``ref`` on matched frame intervals and durations.

    The finer side is subsampled to the coarser interval and both are cut to the shorter
    duration (:func:`~harness.analysis.dynamat.match_intervals`); velocities are both files'
    or, when either side has none, central differences of unwrapped positions on both sides.

    Parameters
    ----------
    ref : ReferenceTrajectory
        With its frame interval known, and the frames to skip already dropped.
    model : ModelSide
        The model's run, with at least one frame.
    dimension : {3, 2}
        3-D pressure and MSD, or in-plane (slabs, layers).
    vdos_resolution_THz : float, optional
        Refuse matched series too short for this VDOS resolution; widen the VACF window to reach it.
    reference_name, run_name : str
        How messages name the two sides.
    progress : bool
        Report the model's frames read, with rates, on stderr.

    Returns
    -------
    dict
        ``velocities`` (how they were obtained), ``temperature_from_velocities_K`` (the reference's),
        ``matching``, ``errors`` (every key of :data:`ERROR_KEYS`, None where not computed),
        ``skipped`` (why), ``rdf``, ``vdos``, ``diffusion`` and, when both sides have one,
        ``pressure``.

    Raises
    ------
    CompareError
        Intervals that are not integer multiples, fewer than :data:`MIN_FRAMES` matched
        frames, too short for ``vdos_resolution_THz``, or a reference whose temperature from
        velocities contradicts its stated one (a wrong frame interval).
    """
    m = _match_frames(ref, model, vdos_resolution_THz, reference_name, run_name)
    n, dt, lag = m["n"], m["dt"], m["lag"]
    ref_m = ref.select(slice(0, n * m["stride_ref"], m["stride_ref"]))  # a slice: arrays viewed, not copied
    masses = ref.masses
    # one g(r) range for both sides, known before the first frame: half the narrowest cell width
    r_max = min(default_r_max(_dims(ref_m.cells_A)), default_r_max(model.first.dimensions), RDF_R_MAX_A)
    obs_ref = TrajectoryObservables(ref.symbols, n, dt, dimension=dimension, max_lag=lag, rdf_r_max_A=r_max)
    obs_mod = TrajectoryObservables(model.symbols, n, dt, dimension=dimension, max_lag=lag, rdf_r_max_A=r_max)

    # ---- velocities: both files', or central differences on both sides alike
    if ref_m.velocities_A_per_ps is not None and model.first.velocities_A_per_ps is not None:
        v_ref, how = ref_m.velocities_A_per_ps, "file"
        report = frame_progress("compare: the model's frames") if progress else None
        for fr in model.blocks(np.arange(n) * m["stride_mod"]):  # the model's frames stream through
            obs_mod.add(fr.positions_A, fr.velocities_A_per_ps, fr.dimensions)
            if report is not None:
                report(obs_mod.done, n)
    else:
        v_ref = dm.finite_difference_velocities(ref_m.positions_A, dt)
        fr = list(model.blocks(np.arange(n) * m["stride_mod"]))
        pos_mod = np.concatenate([f.positions_A for f in fr]).astype(float)
        obs_mod.add(pos_mod, dm.finite_difference_velocities(pos_mod, dt), np.concatenate([f.dimensions for f in fr]))
        del fr, pos_mod
        how = "central finite differences of unwrapped positions (both sides)"
    dims_ref = _dims(ref_m.cells_A)
    for a in range(0, n, BLOCK_FRAMES):
        obs_ref.add(ref_m.positions_A[a:a + BLOCK_FRAMES], v_ref[a:a + BLOCK_FRAMES], dims_ref[a:a + BLOCK_FRAMES])
    t_ref = float(np.mean(dm.kinetic_temperature(v_ref, masses)))
    why = dm.equipartition_check(t_ref, ref.temperature_K or model.temperature_K, finite_differences=how != "file")
    if why:
        raise CompareError(f"{reference_name}: {why}")

    out: dict = {
        "velocities": how, "temperature_from_velocities_K": t_ref,
        "matching": {"frame_dt_ps": dt, "n_frames": n, "duration_ps": n * dt,
                     "stride_reference": m["stride_ref"], "stride_model": m["stride_mod"],
                     "reference_frames_available": ref.n_frames, "model_frames_available": model.n_frames,
                     "vacf_window_frames": lag},
    }
    errors, skipped = {}, {}
    out.update(_structure_and_dynamics(obs_ref, obs_mod, dt, m["resolution_THz"], errors))
    pressure = compare_pressure(ref, model.thermo, model.thermo_dt_ps, dimension, errors, skipped,
                                reference_name=reference_name, run_name=run_name)
    if "E_P_percent" in errors:
        errors.update(dm.combined(errors["E_RDF_percent"], errors["E_P_percent"], errors["E_VDOS_percent"]))
    out["errors"] = {k: errors.get(k) for k in ERROR_KEYS}
    out["skipped"] = skipped
    if pressure is not None:
        out["pressure"] = pressure
    return out


def _match_frames(ref: ReferenceTrajectory, model: ModelSide, vdos_resolution_THz: float | None,
                  reference_name: str, run_name: str) -> dict:
    """Matched interval and frame count (:func:`~harness.analysis.dynamat.match_intervals`), the
    VACF lag window and the VDOS resolution it gives; a one-line error for series that cannot
    be compared."""
    try:
        m = dm.match_intervals(ref.frame_dt_ps, ref.n_frames, model.frame_dt_ps, model.n_frames)
    except ValueError as exc:
        raise CompareError(f"cannot match {reference_name} with {run_name}: {exc}") from None
    n, dt = m["n"], m["dt"]
    if n < MIN_FRAMES:
        raise CompareError(f"only {n} matched frames ({dt * 1e3:g} fs apart) between {reference_name} and the run; "
                           f"the VDOS needs at least {MIN_FRAMES}: a longer reference or run")
    if vdos_resolution_THz is not None and 1.0 / (2.0 * n * dt) > vdos_resolution_THz * (1 + 1e-9):
        raise CompareError(f"trajectory too short for a VDOS resolution of {vdos_resolution_THz:g} THz: {n} matched "
                           f"frames × {dt * 1e3:g} fs = {n * dt:g} ps give {1 / (2 * n * dt):.3g} THz; needs ≥ "
                           f"{1 / (2 * vdos_resolution_THz):g} ps on both sides")
    # VACF lag window: the analysis default, longer if the requested resolution needs it
    lag = min(n, max(MAX_LAG_FRAMES, math.ceil(1.0 / (2.0 * vdos_resolution_THz * dt) - 1e-9)
                     if vdos_resolution_THz else MAX_LAG_FRAMES))
    return {**m, "lag": lag, "resolution_THz": 1.0 / (2.0 * lag * dt)}


def _dims(cells: np.ndarray) -> np.ndarray:
    """[a, b, c, alpha, beta, gamma] per frame (MDAnalysis' dimensions) from cell vectors."""
    from ase.geometry import cell_to_cellpar

    return np.array([cell_to_cellpar(c) for c in cells])


def _structure_and_dynamics(obs_ref: TrajectoryObservables, obs_mod: TrajectoryObservables, dt: float,
                            resolution_THz: float, errors: dict) -> dict:
    """RDF (same bins on both sides), VDOS and MSD of both sides; their errors go into ``errors``."""
    r_max = obs_ref.r_max_A
    rdf_ref, rdf_mod = obs_ref.rdf(), obs_mod.rdf()
    errors["E_RDF_percent"] = dm.rdf_error(rdf_ref["r_A"], rdf_ref["total"], rdf_mod["r_A"], rdf_mod["total"])
    rdf = {"r_A": rdf_ref["r_A"], "reference": rdf_ref["total"], "model": rdf_mod["total"], "r_max_A": r_max,
           "n_bins": DEFAULT_BINS, "first_peak_A": {"reference": rdf_ref["first_peak_A"],
                                                    "model": rdf_mod["first_peak_A"]}}

    vd_ref, vd_mod = obs_ref.vdos(), obs_mod.vdos()
    f_ref, s_ref, p_ref = vd_ref["frequency_THz"], vd_ref["total"], vd_ref["per_element"]
    f_mod, s_mod, p_mod = vd_mod["frequency_THz"], vd_mod["total"], vd_mod["per_element"]
    errors["E_VDOS_percent"] = dm.spectrum_error(f_ref, s_ref, f_mod, s_mod)
    errors["W1_VDOS_THz"] = dm.spectrum_wasserstein(f_ref, s_ref, f_mod, s_mod)
    vdos = {"frequency_THz": f_ref, "reference": s_ref, "model": np.interp(f_ref, f_mod, s_mod),
            "resolution_THz": resolution_THz, "nyquist_THz": 0.5 / dt,
            "per_element": {"reference": p_ref, "model": p_mod}}

    msd_ref, msd_mod = obs_ref.msd(), obs_mod.msd()  # not a Dyna-Mat error; reported for liquids and melts
    diffusion = {"reference_D_cm2_per_s": msd_ref["D_cm2_per_s"], "model_D_cm2_per_s": msd_mod["D_cm2_per_s"],
                 "fit_window_ps": msd_ref["fit_window_ps"], "com_drift_removed": True}
    return {"rdf": rdf, "vdos": vdos, "diffusion": diffusion}


def compare_pressure(ref: ReferenceTrajectory, thermo: dict[str, np.ndarray], thermo_dt_ps: float,
                     dimension: int, errors: dict, skipped: dict, *, reference_name: str = "the reference",
                     run_name: str = "the run") -> dict | None:
    """E_P, ΔP and W1_P of the reference's pressure (from its stress) against the model's (thermo.dat).

    The reference's stress gets the kinetic term Σ m v v / V (from its velocities, or central
    differences) when it holds the potential part only, so both sides are what LAMMPS reports.
    The two series are matched as the frames are, over the whole reference.

    Parameters
    ----------
    ref : ReferenceTrajectory
    thermo : dict
        The model's thermo rows after equilibration (keys of :func:`harness.io.thermo.read_thermo`).
    thermo_dt_ps : float
        Interval between thermo rows.
    dimension : {3, 2}
    errors, skipped : dict
        Filled with the pressure errors, or with why they are skipped.

    Returns
    -------
    dict or None
        The document's ``pressure`` section (summaries, matching, histograms), None when skipped.
    """
    if ref.stress_eV_A3 is None:
        why = "the reference has no stress"
        for k in (*PRESSURE_KEYS, "E_RPV_percent", "L_RPV_percent"):
            skipped[k] = why if k in PRESSURE_KEYS else f"needs E_P: {why}"
        return None
    if len(thermo["step"]) == 0:
        for k in PRESSURE_KEYS:
            skipped[k] = "the run has no thermo rows"
        return None
    stress = ref.stress_eV_A3
    if not ref.stress_includes_kinetic:
        v_all = ref.velocities_A_per_ps if ref.velocities_A_per_ps is not None else \
            dm.finite_difference_velocities(ref.positions_A, ref.frame_dt_ps)
        stress = stress + kinetic_stress(v_all, ref.masses, ref.volumes_A3)
    p_ref_all = dm.pressure_from_stress(stress, dimension) * EV_A3_TO_GPA
    p_mod_all = thermo["pressure_GPa"] if dimension == 3 else in_plane_pressure(thermo["pxx_GPa"], thermo["pyy_GPa"])
    try:
        mp = dm.match_intervals(ref.frame_dt_ps, len(p_ref_all), thermo_dt_ps, len(p_mod_all))
    except ValueError as exc:
        raise CompareError(f"cannot match the pressure series of {reference_name} and {run_name}: {exc}") from None
    p_ref = p_ref_all[np.arange(mp["n"]) * mp["stride_ref"]]
    p_mod = p_mod_all[np.arange(mp["n"]) * mp["stride_mod"]]
    edges = dm.shared_edges(p_ref, p_mod, pressure_bins(mp["n"]))
    errors["E_P_percent"] = dm.histogram_error(p_ref, p_mod, edges)
    errors["delta_P_GPa"] = dm.mean_difference(p_ref, p_mod)
    errors["W1_P_GPa"] = dm.sample_wasserstein(p_ref, p_mod)
    sr, sm = summarize_series(p_ref, "GPa"), summarize_series(p_mod, "GPa")
    sr.pop("histogram"), sm.pop("histogram")
    return {
        "dimension": dimension, "reference": sr, "model": sm,
        "matching": {"interval_ps": mp["dt"], "n_samples": mp["n"], "stride_reference": mp["stride_ref"],
                     "stride_model": mp["stride_mod"]},
        "histogram": {"n_bins": len(edges) - 1, "edges_GPa": edges,
                      "reference_density_per_GPa": np.histogram(p_ref, edges, density=True)[0],
                      "model_density_per_GPa": np.histogram(p_mod, edges, density=True)[0]},
    }
