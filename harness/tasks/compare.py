"""Compare a model's MD run with a reference trajectory (Dyna-Mat errors) and single points.

``compare_run(CompareSettings(run, reference))`` computes, on matched frame intervals and durations, the
RDF, VDOS and pressure of both sides with the same functions
(:func:`~harness.analysis.rdf.compute_rdf`, :func:`~harness.analysis.vdos.partial_vdos`,
:func:`~harness.analysis.pressure.summarize_series`) and their errors
(:mod:`harness.analysis.dynamat`), and writes ``<run>/compare-<ref stem>.json`` and overlay
figures. ``system_from_reference`` writes a system YAML that runs the model in the
reference's cell from its first frame. (Single points on labelled frames are the singlepoint
task, :mod:`harness.tasks.singlepoint`.)
"""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import numpy as np

from ..analysis import dynamat as dm
from ..analysis.trajectory import element_mass
from ..config import CompareSettings
from ..errors import CompareError, RunFolderError
from ..io.trajectory import ReferenceTrajectory, read_trajectory
from ..progress import frame_progress
from ..files import jsonable, write_json
from ..provenance import host_info, now, package_versions
from ..units import EV_A3_TO_GPA

MIN_FRAMES = 4  # time correlations (VDOS) need a few frames
PRESSURE_BINS = 50  # at most; fewer for short series (√n), so a histogram is not mostly empty bins


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


# ============================================================================ the model run
class ModelRun:
    """A completed harness MD run: frames after equilibration, thermo rows, settings."""

    def __init__(self, run_dir: Path | str, partial: bool = False):
        from ..analysis.thermo import read_thermo
        from ..io.lammps_dump import index_dump, iter_dump
        from .analyze import require_md

        self.run_dir = Path(run_dir)
        try:
            self.record = record = require_md(self.run_dir, partial=partial, what="compare")
        except RunFolderError as exc:
            raise CompareError(str(exc)) from None
        md = record.md
        self.timestep_fs = md.timestep_fs
        self.dump_every, self.thermo_every = md.dump_every, md.thermo_every
        self.temperature_K = md.temperature_K
        self.elements = record.elements
        dt_ps = self.timestep_fs * 1e-3
        index = index_dump(self.run_dir / "traj.lammpstrj")
        thermo = read_thermo(self.run_dir / "thermo.dat", self.timestep_fs)
        first = [int(s) for s in index.steps[:1]] + ([int(thermo["step"][0])] if len(thermo["step"]) else [])
        step0 = min(first) if first else 0
        min_step = step0 + int(math.ceil(md.equilibration_ps / dt_ps - 1e-9))
        self.index = index.select(index.steps >= min_step)  # frames after equilibration; parsed on demand
        keep = thermo["step"] >= min_step
        self.thermo = {k: v[keep] for k, v in thermo.items()}
        self.frame_dt_ps = self.dump_every * dt_ps
        self.thermo_dt_ps = self.thermo_every * dt_ps
        if self.n_frames > 1 and np.any(np.diff(self.index.steps) != self.dump_every):
            raise CompareError(f"{self.run_dir}: dump frames are not every {self.dump_every} steps")
        self.first, self.symbols = next(iter_dump(self.index.select(slice(0, 1)), self.elements)) \
            if self.n_frames else (None, [])
        self.masses = np.array([element_mass(e) for e in self.symbols])

    @property
    def n_frames(self) -> int:
        return self.index.n_frames

    def blocks(self, idx):
        """Frames ``idx`` (after equilibration), parsed block by block (see :func:`iter_dump`)."""
        from ..io.lammps_dump import iter_dump

        return (frames for frames, _ in iter_dump(self.index.select(idx), self.elements))

    @property
    def label(self) -> str:
        return self.record.model_label

    def first_cell(self) -> np.ndarray:
        from MDAnalysis.lib.mdamath import triclinic_vectors

        return np.asarray(triclinic_vectors(self.first.dimensions[0]), dtype=float)


# ============================================================================ checks
def check_same_system(ref: ReferenceTrajectory, run: ModelRun) -> None:
    """One line for a reference of another atom count, composition or cell."""
    from ase.geometry import cell_to_cellpar

    if ref.n_atoms != len(run.symbols):
        raise CompareError(f"the reference has {ref.n_atoms} atoms, the run {run.run_dir.name} has {len(run.symbols)}; "
                           f"run the model on the reference's cell (harness campaign does)")
    cr, cm = Counter(ref.symbols), Counter(run.symbols)
    if cr != cm:
        fmt = lambda c: " ".join(f"{k}{v}" for k, v in sorted(c.items()))  # noqa: E731
        raise CompareError(f"the reference's composition {fmt(cr)} differs from the run's {fmt(cm)}")
    pr, pm = cell_to_cellpar(ref.cells_A[0]), cell_to_cellpar(run.first_cell())
    if np.any(np.abs(pr[:3] - pm[:3]) > 1e-3 * pm[:3]) or np.any(np.abs(pr[3:] - pm[3:]) > 0.1):
        show = lambda p: "a,b,c = " + ", ".join(f"{x:.4f}" for x in p[:3]) + " Å, angles " + ", ".join(  # noqa: E731
            f"{x:.2f}" for x in p[3:]) + "°"
        raise CompareError(f"the reference's cell ({show(pr)}) differs from the run's ({show(pm)}); run the model in "
                           f"the reference's cell (harness campaign does)")


def _skip_frames(ref: ReferenceTrajectory, skip_ps: float) -> ReferenceTrajectory:
    if not skip_ps:
        return ref
    if ref.frame_dt_ps is None:
        raise CompareError(f"{ref.source}: --reference-skip-ps needs the frame interval (give --reference-timestep "
                           f"and --reference-stride)")
    k = int(math.ceil(skip_ps / ref.frame_dt_ps - 1e-9))
    if k >= ref.n_frames:
        raise CompareError(f"{ref.source}: skipping {skip_ps:g} ps leaves no frames ({ref.n_frames} frames, "
                           f"{ref.frame_dt_ps * 1e3:g} fs apart)")
    return ref.select(slice(k, None))


def _dims(cells: np.ndarray) -> np.ndarray:
    from ase.geometry import cell_to_cellpar

    return np.array([cell_to_cellpar(c) for c in cells])


# ============================================================================ compare
def compare_run(settings: CompareSettings, *, figures: bool = True, reference_traj: ReferenceTrajectory | None = None,
                progress: bool = False) -> tuple[Path, dict]:
    """Dyna-Mat errors of ``settings.run`` against ``settings.reference``; writes compare-<stem>.json.
    ``reference_traj``: the reference already read (a campaign reads it once for all models);
    ``progress``: frames read and analysed, with rates, on stderr."""
    from ..analysis.md import MAX_LAG_FRAMES, TrajectoryObservables
    from ..analysis.pressure import in_plane_pressure, summarize_series
    from ..analysis.rdf import DEFAULT_BINS
    from ..files import file_sha256

    s = settings
    dimension, vdos_resolution_THz, reference_skip_ps = s.dimension, s.vdos_resolution_THz, s.reference_skip_ps
    run = ModelRun(s.run, partial=s.partial)
    reference = Path(s.reference)
    ref = reference_traj or read_trajectory(reference, s.fmt, timestep_fs=s.reference_timestep_fs,
                                            stride=s.reference_stride, elements=list(s.elements) if s.elements else None,
                                            temperature_K=s.reference_temperature_K,
                                            progress=frame_progress("compare: reading the reference") if progress
                                            else None)
    check_same_system(ref, run)
    if ref.frame_dt_ps is None:
        raise CompareError(f"{reference}: the file does not state its time step; give --reference-timestep and "
                           f"--reference-stride")
    ref = _skip_frames(ref, reference_skip_ps)
    if run.n_frames == 0:
        raise CompareError(f"{run.run_dir}: no trajectory frames after equilibration")

    # ---- matched intervals and durations
    try:
        m = dm.match_intervals(ref.frame_dt_ps, ref.n_frames, run.frame_dt_ps, run.n_frames)
    except ValueError as exc:
        raise CompareError(f"cannot match {reference.name} with {run.run_dir.name}: {exc}") from None
    n, dt = m["n"], m["dt"]
    ri = slice(0, n * m["stride_ref"], m["stride_ref"])  # a slice: the reference's arrays are viewed, not copied
    mi = np.arange(n) * m["stride_mod"]
    if n < MIN_FRAMES:
        raise CompareError(f"only {n} matched frames ({dt * 1e3:g} fs apart) between {reference.name} and the run; "
                           f"the VDOS needs at least {MIN_FRAMES}: a longer reference or run")
    if vdos_resolution_THz is not None and 1.0 / (2.0 * n * dt) > vdos_resolution_THz * (1 + 1e-9):
        raise CompareError(f"trajectory too short for a VDOS resolution of {vdos_resolution_THz:g} THz: {n} matched "
                           f"frames × {dt * 1e3:g} fs = {n * dt:g} ps give {1 / (2 * n * dt):.3g} THz; needs ≥ "
                           f"{1 / (2 * vdos_resolution_THz):g} ps on both sides")
    # VACF lag window: the analysis default, longer if the requested resolution needs it
    lag = min(n, max(MAX_LAG_FRAMES, math.ceil(1.0 / (2.0 * vdos_resolution_THz * dt) - 1e-9)
                     if vdos_resolution_THz else MAX_LAG_FRAMES))
    resolution = 1.0 / (2.0 * lag * dt)
    ref_m = ref.select(ri)
    masses = ref.masses
    obs_ref = TrajectoryObservables(ref.symbols, n, dt, dimension=dimension, max_lag=lag)
    obs_mod = TrajectoryObservables(run.symbols, n, dt, dimension=dimension, max_lag=lag)

    # ---- velocities: both files', or central differences on both sides alike
    if ref_m.velocities_A_per_ps is not None and run.first.velocities_A_per_ps is not None:
        v_ref, how = ref_m.velocities_A_per_ps, "file"
        report = frame_progress("compare: the model's frames") if progress else None
        for fr in run.blocks(mi):  # the model's frames stream through the accumulators
            obs_mod.add(fr.positions_A, fr.velocities_A_per_ps, fr.dimensions)
            if report is not None:
                report(obs_mod.done, n)
    else:
        v_ref = dm.finite_difference_velocities(ref_m.positions_A, dt)
        fr = list(run.blocks(mi))
        pos_mod = np.concatenate([f.positions_A for f in fr]).astype(float)
        obs_mod.add(pos_mod, dm.finite_difference_velocities(pos_mod, dt), np.concatenate([f.dimensions for f in fr]))
        del fr, pos_mod
        how = "central finite differences of unwrapped positions (both sides)"
    dims_ref = _dims(ref_m.cells_A)
    for a in range(0, n, 256):  # in blocks, as the model's frames: the accumulators' memory stays bounded
        obs_ref.add(ref_m.positions_A[a:a + 256], v_ref[a:a + 256], dims_ref[a:a + 256])
    t_ref = float(np.mean(dm.kinetic_temperature(v_ref, masses)))
    t_expected = ref.temperature_K or run.temperature_K
    why = dm.equipartition_check(t_ref, t_expected, finite_differences=how != "file")
    if why:
        raise CompareError(f"{reference.name}: {why}")

    doc: dict = {
        "task": "compare",
        "created": now(),
        "run": run.run_dir.name,
        "system": run.record.system_name,
        "model": run.label,
        "model_sha256": run.record.model_sha256,
        "engine": run.record.engine,
        "timing": {"ms_per_step": run.record.ms_per_step, "n_atoms": len(run.symbols)},
        "reference": {
            "file": str(reference.resolve()), "format": ref.format, "sha256": file_sha256(reference),
            "n_frames": ref.n_frames, "frame_dt_ps": ref.frame_dt_ps, "timestep_fs": ref.timestep_fs,
            "stride": ref.stride, "temperature_K": ref.temperature_K, "skip_ps": reference_skip_ps,
            "velocities": how, "temperature_from_velocities_K": t_ref,
            "stress": None if ref.stress_eV_A3 is None else
            ("includes the kinetic part" if ref.stress_includes_kinetic else "potential part; kinetic term added"),
            "notes": ref.notes,
        },
        "matching": {"frame_dt_ps": dt, "n_frames": n, "duration_ps": n * dt,
                     "stride_reference": m["stride_ref"], "stride_model": m["stride_mod"],
                     "reference_frames_available": ref.n_frames, "model_frames_available": run.n_frames,
                     "vacf_window_frames": lag},
        "definitions": DEFINITIONS,
        "errors": {},
        "skipped": {},
    }
    if run.record.status != "completed":
        doc["partial"] = {"status": run.record.status, "model_frames": run.n_frames,
                          "last_step": int(run.index.steps[-1]) if run.n_frames else None,
                          "steps": (run.record.summary.get("resolved") or {}).get("protocol", {}).get("steps")}
    errors, skipped = doc["errors"], doc["skipped"]

    # ---- RDF (same bins on both sides)
    r_max = min(obs_ref.r_max_A, obs_mod.r_max_A)
    rdf_ref, rdf_mod = obs_ref.rdf(DEFAULT_BINS, r_max), obs_mod.rdf(DEFAULT_BINS, r_max)
    errors["E_RDF_percent"] = dm.rdf_error(rdf_ref["r_A"], rdf_ref["total"], rdf_mod["r_A"], rdf_mod["total"])
    doc["rdf"] = {"r_A": rdf_ref["r_A"], "reference": rdf_ref["total"], "model": rdf_mod["total"], "r_max_A": r_max,
                  "n_bins": DEFAULT_BINS, "first_peak_A": {"reference": rdf_ref["first_peak_A"],
                                                           "model": rdf_mod["first_peak_A"]}}

    # ---- VDOS
    vd_ref, vd_mod = obs_ref.vdos(), obs_mod.vdos()
    f_ref, s_ref, p_ref = vd_ref["frequency_THz"], vd_ref["total"], vd_ref["per_element"]
    f_mod, s_mod, p_mod = vd_mod["frequency_THz"], vd_mod["total"], vd_mod["per_element"]
    errors["E_VDOS_percent"] = dm.spectrum_error(f_ref, s_ref, f_mod, s_mod)
    errors["W1_VDOS_THz"] = dm.spectrum_wasserstein(f_ref, s_ref, f_mod, s_mod)
    doc["vdos"] = {"frequency_THz": f_ref, "reference": s_ref, "model": np.interp(f_ref, f_mod, s_mod),
                   "resolution_THz": resolution, "nyquist_THz": 0.5 / dt,
                   "per_element": {"reference": p_ref, "model": p_mod}}
    msd_ref, msd_mod = obs_ref.msd(), obs_mod.msd()  # not a Dyna-Mat error; reported for liquids and melts
    doc["diffusion"] = {"reference_D_cm2_per_s": msd_ref["D_cm2_per_s"], "model_D_cm2_per_s": msd_mod["D_cm2_per_s"],
                        "fit_window_ps": msd_ref["fit_window_ps"], "com_drift_removed": True}

    # ---- pressure
    if ref.stress_eV_A3 is None:
        why = "the reference has no stress"
        for k in ("E_P_percent", "delta_P_GPa", "W1_P_GPa", "E_RPV_percent", "L_RPV_percent"):
            skipped[k] = why if k in ("E_P_percent", "delta_P_GPa", "W1_P_GPa") else f"needs E_P: {why}"
    elif len(run.thermo["step"]) == 0:
        skipped["E_P_percent"] = skipped["delta_P_GPa"] = skipped["W1_P_GPa"] = "the run has no thermo rows"
    else:
        stress = ref.stress_eV_A3
        if not ref.stress_includes_kinetic:
            v_all = ref.velocities_A_per_ps if ref.velocities_A_per_ps is not None else \
                dm.finite_difference_velocities(ref.positions_A, ref.frame_dt_ps)
            stress = stress + dm.kinetic_stress(v_all, masses, ref.volumes_A3)
        p_ref_all = dm.pressure_from_stress(stress, dimension) * EV_A3_TO_GPA
        p_mod_all = run.thermo["pressure_GPa"] if dimension == 3 else \
            in_plane_pressure(run.thermo["pxx_GPa"], run.thermo["pyy_GPa"])
        try:
            mp = dm.match_intervals(ref.frame_dt_ps, len(p_ref_all), run.thermo_dt_ps, len(p_mod_all))
        except ValueError as exc:
            raise CompareError(f"cannot match the pressure series of {reference.name} and {run.run_dir.name}: "
                               f"{exc}") from None
        p_ref = p_ref_all[np.arange(mp["n"]) * mp["stride_ref"]]
        p_mod = p_mod_all[np.arange(mp["n"]) * mp["stride_mod"]]
        edges = dm.shared_edges(p_ref, p_mod, pressure_bins(mp["n"]))
        errors["E_P_percent"] = dm.histogram_error(p_ref, p_mod, edges)
        errors["delta_P_GPa"] = dm.mean_difference(p_ref, p_mod)
        errors["W1_P_GPa"] = dm.sample_wasserstein(p_ref, p_mod)
        sr, sm = summarize_series(p_ref, "GPa"), summarize_series(p_mod, "GPa")
        sr.pop("histogram"), sm.pop("histogram")
        doc["pressure"] = {
            "dimension": dimension, "reference": sr, "model": sm,
            "matching": {"interval_ps": mp["dt"], "n_samples": mp["n"], "stride_reference": mp["stride_ref"],
                         "stride_model": mp["stride_mod"]},
            "histogram": {"n_bins": len(edges) - 1, "edges_GPa": edges,
                          "reference_density_per_GPa": np.histogram(p_ref, edges, density=True)[0],
                          "model_density_per_GPa": np.histogram(p_mod, edges, density=True)[0]},
        }
    if "E_P_percent" in errors:
        errors.update(dm.combined(errors["E_RDF_percent"], errors["E_P_percent"], errors["E_VDOS_percent"]))
    for k in ("E_RDF_percent", "E_P_percent", "delta_P_GPa", "E_VDOS_percent", "E_RPV_percent", "L_RPV_percent",
              "W1_VDOS_THz", "W1_P_GPa"):
        errors.setdefault(k, None)
    doc["errors"] = {k: errors[k] for k in ("E_RDF_percent", "E_P_percent", "delta_P_GPa", "E_VDOS_percent",
                                            "E_RPV_percent", "L_RPV_percent", "W1_VDOS_THz", "W1_P_GPa")}

    stem = reference.stem if reference.name.lower() != "vasprun.xml" else "vasprun"
    stem = "".join(c if c.isalnum() or c in "._+-" else "-" for c in stem)
    if figures:
        from ..report.compare import plot_compare

        fig_dir = run.run_dir / "figures"
        fig_dir.mkdir(exist_ok=True)
        doc["figures"] = [str(p.relative_to(run.run_dir))
                          for p in plot_compare(doc, fig_dir, f"compare-{stem}", reference.name)]
    doc["versions"] = package_versions()
    doc["host"] = host_info()
    doc = jsonable(doc, 10)
    out = run.run_dir / f"compare-{stem}.json"
    write_json(out, doc)
    return out, doc


def headline(doc: dict) -> list[str]:
    """Human lines for the terminal."""
    e, sk = doc["errors"], doc.get("skipped", {})

    def show(key, unit="%", fmt="{:.1f}"):
        if e.get(key) is None:
            return f"skipped ({sk.get(key, 'n/a')})"
        return f"{fmt.format(e[key])} {unit}"

    m = doc["matching"]
    partial = doc.get("partial")
    return ([f"partial: the model run is '{partial['status']}'; its {partial['model_frames']} frames to step "
             f"{partial['last_step']} of {partial['steps']}"] if partial else []) + [
        f"{doc['model']} vs {Path(doc['reference']['file']).name}: {m['n_frames']} frames × "
        f"{m['frame_dt_ps'] * 1e3:g} fs ({m['duration_ps']:g} ps) on both sides; velocities: "
        f"{doc['reference']['velocities']}",
        f"E_RDF {show('E_RDF_percent')}   E_VDOS {show('E_VDOS_percent')}   E_P {show('E_P_percent')}",
        f"ΔP {show('delta_P_GPa', 'GPa', '{:.3f}')}   E_RPV {show('E_RPV_percent')}   L_RPV {show('L_RPV_percent')}",
        f"W1 (Wasserstein-1) VDOS {show('W1_VDOS_THz', 'THz', '{:.3f}')}   pressure {show('W1_P_GPa', 'GPa', '{:.3f}')}",
    ]


# ============================================================================ set up from a reference
def system_from_reference(reference, name: str, out_dir, *, base_system: str | None = None,
                          temperature_K: float | None = None, fmt: str | None = None, **read_kw) -> Path:
    """A system YAML running the model in the reference's cell, species and first frame.

    Writes ``<out_dir>/<name>-first-frame.extxyz`` and ``<out_dir>/<name>.yaml`` (``structure:
    {file: ...}``; presets copied from ``base_system`` with supercell 1×1×1, since the frame is
    the whole cell). The temperature is the reference's (file) or ``temperature_K`` or the base
    system's.
    """
    import yaml
    from ase.io import write

    from ..config import load_system

    ref = reference if isinstance(reference, ReferenceTrajectory) else read_trajectory(reference, fmt, **read_kw)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    struct = out_dir / f"{name}-first-frame.extxyz"
    write(struct, ref.first_frame_atoms(), format="extxyz")
    base = load_system(base_system) if base_system else None
    T = temperature_K or ref.temperature_K or (base.temperature_K if base else None)
    if not T:
        raise CompareError(f"{ref.source}: no temperature in the reference; give one")
    if base is not None:
        presets = {k: {"supercell": [1, 1, 1], "timestep_fs": p.timestep_fs, "steps": p.steps,
                       "thermostat": p.thermostat, "thermostat_damping_fs": p.thermostat_damping_fs,
                       "thermostat_chain": p.thermostat_chain, "dump_every": p.dump_every,
                       "thermo_every": p.thermo_every, "restart_every": p.restart_every,
                       "equilibration_ps": p.equilibration_ps} for k, p in base.presets.items()}
        default = base.default_preset
    else:
        ts = ref.timestep_fs or 1.0
        every = ref.stride or 10
        steps = max(every * 10, int(round((ref.frame_dt_ps or ts * every * 1e-3) * ref.n_frames * 1e3 / ts)))
        presets = {"reference": {"supercell": [1, 1, 1], "timestep_fs": ts, "steps": steps, "dump_every": every,
                                 "thermo_every": every, "restart_every": max(1000 // every, 1) * every,
                                 "thermostat_damping_fs": 100 * ts}}
        default = "reference"
    data = {"name": name,
            "description": f"first frame, cell and species of {ref.source} ({ref.n_frames} frames, {T:g} K)",
            "structure": {"file": struct.name}, "temperature_K": float(T), "default_preset": default,
            "presets": presets}
    path = out_dir / f"{name}.yaml"
    path.write_text("# Written by harness (system_from_reference)\n" + yaml.safe_dump(data, sort_keys=False))
    load_system(str(path))  # it must load back
    return path


__all__ = ["ModelRun", "compare_run", "check_same_system", "headline", "system_from_reference"]
