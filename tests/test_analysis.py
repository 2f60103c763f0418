"""The analysis through the whole pipeline: `harness run` end to end, and the streamed analysis
against the in-memory MDAnalysis route. (Analytic unit cases live in tests/analysis/.)"""

from __future__ import annotations

import json

import numpy as np
import pytest


def test_harness_run_end_to_end_eam_copper(tmp_path):
    """`harness run` on EAM Cu: results.json with units, physical observables, figures."""
    from harness.cli import main

    runs = tmp_path / "runs"
    main(["run", "--system", "Cu", "--model", "eam", "--steps", "2000", "--runs-dir", str(runs), "--no-progress",
          "--temperature", "300"])
    (run_dir,) = runs.iterdir()
    res = json.loads((run_dir / "results.json").read_text())
    assert res["temperature"]["target_K"] == 300
    assert res["temperature"]["mean_K"] == pytest.approx(300, abs=40)
    assert res["rdf"]["first_peak_A"] == pytest.approx(3.615 / np.sqrt(2), abs=0.06)
    freq, spec = np.asarray(res["vdos"]["frequency_THz"]), np.asarray(res["vdos"]["total"])
    assert 3.0 < freq[np.argmax(spec)] < 8.0  # Cu phonons: max ~7 THz
    assert np.trapezoid(spec[freq > 10], freq[freq > 10]) < 0.02
    assert res["msd"]["D_verdict"] == "not diffusive" and res["msd"]["D_cm2_per_s"] is None  # a solid at 300 K
    for name in ("thermo", "rdf", "vdos", "msd", "pressure_hist"):
        assert (run_dir / "figures" / f"{name}.png").stat().st_size > 10_000
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["results"] == "results.json"
    assert summary["versions"]["lammps"] and summary["templates_sha256"]["md.in.j2"]


def test_streamed_analysis_equals_in_memory_mdanalysis_route(tmp_path, monkeypatch):
    """analyze_md streams the dump through bounded buffers; it gives what the in-memory route gives:
    MDAnalysis' reader + InterRDF, one FFT over all frames for the VDOS, EinsteinMSD for the MSD."""
    from harness.analysis import md as md_mod
    from harness.analysis.msd import compute_msd, fit_diffusion
    from harness.analysis.rdf import compute_rdf, default_r_max
    from harness.analysis.trajectory import memory_universe
    from harness.analysis.vdos import partial_vdos
    from harness.config import md_settings
    from harness.io.lammps_dump import load_dump_universe, read_frames
    from harness.tasks.base import execute_run, render_run
    from harness.tasks.md import MDTask

    run_dir = render_run(MDTask(md_settings("Cu", "eam", "quick", steps=400, temperature_K=600)), tmp_path)
    execute_run(run_dir, progress=False)
    kw = dict(elements=["Cu"], timestep_fs=2.0, dump_every=4, thermo_every=4, temperature_K=600, equilibration_ps=0.2)
    u = load_dump_universe(run_dir / "traj.lammpstrj", ["Cu"], 2.0)
    frames = read_frames(u, min_step=100)
    mem = memory_universe(u, frames, 0.008)
    rdf = compute_rdf(mem, r_max_A=default_r_max(frames.dimensions))
    groups = {"Cu": np.arange(u.atoms.n_atoms)}
    freq, total, _ = partial_vdos(frames.velocities_A_per_ps, 0.008, groups, masses=u.atoms.masses)
    t, msd = compute_msd(mem, 0.008)

    from harness.analysis import stream

    monkeypatch.setattr(stream, "BLOCK_FRAMES", 7)  # many blocks, each shorter than the lag window
    seen = []
    res = md_mod.analyze_md(run_dir, **kw, progress=lambda done, n: seen.append((done, n)))
    assert res["n_frames"] == frames.n_frames == 76  # 0.8 ps, 0.2 ps skipped, every 8 fs
    assert seen[-1] == (76, 76) and len(seen) == 11
    # the same pairs in the same bins, but a pair within ~1e-7 Å of a bin edge (float32 positions,
    # a k-d tree against InterRDF's cell list) may fall on either side: at most one pair's weight
    g, g_ref, shells = np.asarray(res["rdf"]["total"]), rdf["total"], np.diff(rdf["edges_A"] ** 3)
    volume = frames.dimensions[0, :3].prod()
    one_pair = 2 * volume / (32 * 31) / (4 / 3 * np.pi * shells) / 76
    assert np.all(np.abs(g - g_ref) <= one_pair * 1.001 + 1e-5)
    assert np.sum(g * shells) == pytest.approx(np.sum(g_ref * shells), rel=1e-6)  # every pair counted
    assert np.allclose(res["vdos"]["frequency_THz"], freq) and np.allclose(res["vdos"]["total"], total,
                                                                           rtol=1e-5, atol=1e-7)
    assert np.allclose(res["msd"]["msd_A2"], msd, rtol=1e-4, atol=1e-6)
    direct = fit_diffusion(t, msd)
    assert res["msd"]["D_verdict"] == direct["D_verdict"]
    assert res["msd"]["slope_halves_A2_per_ps"] == pytest.approx(direct["slope_halves_A2_per_ps"], rel=1e-4, abs=1e-7)

    # A lag window shorter than the run: the first L lags of the same correlation functions.
    short = md_mod.analyze_md(run_dir, **kw, max_lag=20)
    assert short["msd"]["lag_window_frames"] == short["vdos"]["vacf_window_frames"] == 20
    assert np.allclose(short["msd"]["msd_A2"], msd[:20], rtol=1e-4, atol=1e-6)
    assert np.allclose(short["vdos"]["vacf"]["normalized"], res["vdos"]["vacf"]["normalized"][:20], atol=1e-6)
    assert short["vdos"]["resolution_THz"] == pytest.approx(1 / (2 * 20 * 0.008))

