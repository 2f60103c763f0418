"""Post-processing against cases with known answers, then on a real LAMMPS run."""

from __future__ import annotations

import json

import numpy as np
import pytest

from harness.analysis.msd import compute_msd, fit_diffusion
from harness.analysis.pressure import summarize_series
from harness.analysis.rdf import compute_rdf, running_coordination
from harness.analysis.thermo import read_thermo
from harness.analysis.trajectory import universe_from_arrays
from harness.analysis.vdos import vacf, vdos


def test_rdf_of_an_ideal_gas_is_one():
    rng = np.random.default_rng(0)
    L, n, frames = 20.0, 400, 20
    pos = rng.uniform(0, L, size=(frames, n, 3))
    u = universe_from_arrays(pos, ["Ar"] * n, [L, L, L, 90, 90, 90])
    r = compute_rdf(u, nbins=100)
    assert r["r_max_A"] == pytest.approx(L / 2)
    g = np.asarray(r["total"])[np.asarray(r["r_A"]) > 3.0]
    assert np.mean(g) == pytest.approx(1.0, abs=0.02)


def test_rdf_of_fcc_first_shell_and_coordination_twelve():
    from ase.build import bulk

    a = 3.615
    atoms = bulk("Cu", "fcc", a=a, cubic=True).repeat(4)
    rng = np.random.default_rng(1)
    pos = atoms.positions[None] + rng.normal(scale=0.05, size=(5, len(atoms), 3))
    u = universe_from_arrays(pos, ["Cu"] * len(atoms), [4 * a] * 3 + [90] * 3)
    r = compute_rdf(u)
    assert r["first_peak_A"] == pytest.approx(a / np.sqrt(2), abs=0.03)
    n = running_coordination(np.asarray(r["edges_A"]), np.asarray(r["total"]), (len(atoms) - 1) / (4 * a) ** 3)
    between = np.searchsorted(np.asarray(r["r_A"]), 0.5 * (a / np.sqrt(2) + a))  # between 1st and 2nd shell
    assert n[between] == pytest.approx(12.0, abs=0.05)


def test_vacf_and_vdos_of_cosine_velocities():
    """v(t) = cos(2π ν0 t + φ_i): C(0) = 1, C(t) = cos(2π ν0 t), VDOS peak at ν0."""
    nu0, dt, n = 5.0, 0.004, 2000  # THz, ps
    t = np.arange(n) * dt
    rng = np.random.default_rng(2)
    phases = rng.uniform(0, 2 * np.pi, size=(50, 3))
    v = np.cos(2 * np.pi * nu0 * t[:, None, None] + phases[None])
    c = vacf(v)
    assert c[0] == pytest.approx(1.0)
    assert np.allclose(c[:200], np.cos(2 * np.pi * nu0 * t[:200]), atol=0.03)
    freq, spec = vdos(v, dt)
    assert np.trapezoid(spec, freq) == pytest.approx(1.0, rel=1e-6)
    assert abs(freq[np.argmax(spec)] - nu0) <= freq[1] - freq[0]


def test_diffusion_of_a_random_walk():
    """Gaussian steps of σ per axis per frame: D = σ² / (2 Δt)."""
    rng = np.random.default_rng(3)
    sigma, dt, frames, n = 0.1, 0.01, 400, 200
    pos = np.cumsum(rng.normal(scale=sigma, size=(frames, n, 3)), axis=0)
    u = universe_from_arrays(pos, ["Ar"] * n, [100, 100, 100, 90, 90, 90], frame_dt_ps=dt)
    t, msd = compute_msd(u, dt, remove_com=False)
    fit = fit_diffusion(t, msd)
    expected = sigma**2 / (2 * dt)
    assert fit["D_A2_per_ps"] == pytest.approx(expected, rel=0.1)
    assert fit["D_cm2_per_s"] == pytest.approx(fit["D_A2_per_ps"] * 1e-4)


def test_crystal_does_not_diffuse():
    rng = np.random.default_rng(4)
    base = rng.uniform(0, 10, size=(1, 64, 3))
    pos = base + rng.normal(scale=0.1, size=(300, 64, 3))
    u = universe_from_arrays(pos, ["Cu"] * 64, [10, 10, 10, 90, 90, 90], frame_dt_ps=0.01)
    t, msd = compute_msd(u, 0.01)
    assert abs(fit_diffusion(t, msd)["D_A2_per_ps"]) < 1e-3


def test_thermo_reader_units_restart_duplicates(tmp_path):
    header = ("# Time-averaged data for fix thermo_out\n# TimeStep c_thermo_temp c_thermo_pe c_ke c_thermo_press "
              "c_thermo_press[1] c_thermo_press[2] c_thermo_press[3] c_thermo_press[4] c_thermo_press[5] "
              "c_thermo_press[6] v_vol\n")
    row = "{s} 300 -10 1 {p} {p} {p} {p} 0 0 0 100\n"
    text = header + "".join(row.format(s=s, p=1e4) for s in (0, 10, 20))
    text += header + "".join(row.format(s=s, p=2e4) for s in (20, 30))  # a resume re-writes step 20
    path = tmp_path / "thermo.dat"
    path.write_text(text)
    th = read_thermo(path, timestep_fs=2.0)
    assert th["step"].tolist() == [0, 10, 20, 30]
    assert th["pressure_GPa"].tolist() == [1.0, 1.0, 2.0, 2.0]  # 1e4 bar = 1 GPa; last write wins
    assert th["time_ps"].tolist() == pytest.approx([0, 0.02, 0.04, 0.06])
    assert th["etotal_eV"][0] == pytest.approx(-9.0)


def test_pressure_histogram_is_area_normalised():
    x = np.random.default_rng(5).normal(3.0, 0.5, size=5000)
    s = summarize_series(x, "GPa")
    edges, dens = np.asarray(s["histogram"]["edges_GPa"]), np.asarray(s["histogram"]["density_per_GPa"])
    assert np.sum(dens * np.diff(edges)) == pytest.approx(1.0)
    assert s["mean_GPa"] == pytest.approx(3.0, abs=0.03)
    assert s["sem_GPa"] == pytest.approx(0.5 / np.sqrt(5000), rel=0.3)  # uncorrelated samples


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
    assert abs(res["msd"]["D_cm2_per_s"]) < 1e-6  # a solid at 300 K
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
    from harness.analysis.trajectory import load_dump_universe, memory_universe, read_frames
    from harness.analysis.vdos import partial_vdos
    from harness.config import md_settings
    from harness.tasks.md import MDTask

    task = MDTask(md_settings("Cu", "eam", "quick", steps=400, temperature_K=600), tmp_path)
    run_dir = task.render()
    task.execute(run_dir, progress=False)
    kw = dict(elements=["Cu"], timestep_fs=2.0, dump_every=4, thermo_every=4, temperature_K=600, equilibration_ps=0.2)
    u = load_dump_universe(run_dir / "traj.lammpstrj", ["Cu"], 2.0)
    frames = read_frames(u, min_step=100)
    mem = memory_universe(u, frames, 0.008)
    rdf = compute_rdf(mem, r_max_A=default_r_max(frames.dimensions))
    groups = {"Cu": np.arange(u.atoms.n_atoms)}
    freq, total, _ = partial_vdos(frames.velocities_A_per_ps, 0.008, groups, masses=u.atoms.masses)
    t, msd = compute_msd(mem, 0.008)

    monkeypatch.setattr(md_mod, "BLOCK_FRAMES", 7)  # many blocks, each shorter than the lag window
    seen = []
    res = md_mod.analyze_md(run_dir, **kw, progress=lambda done, n: seen.append((done, n)))
    assert res["n_frames"] == frames.n_frames == 76  # 0.8 ps, 0.2 ps skipped, every 8 fs
    assert seen[-1] == (76, 76) and len(seen) == 11
    assert np.allclose(res["rdf"]["total"], rdf["total"], atol=1e-5)
    assert np.allclose(res["vdos"]["frequency_THz"], freq) and np.allclose(res["vdos"]["total"], total, rtol=1e-5, atol=1e-7)
    assert np.allclose(res["msd"]["msd_A2"], msd, rtol=1e-4, atol=1e-6)
    assert res["msd"]["D_A2_per_ps"] == pytest.approx(fit_diffusion(t, msd)["D_A2_per_ps"], rel=1e-4, abs=1e-8)

    # A lag window shorter than the run: the first L lags of the same correlation functions.
    short = md_mod.analyze_md(run_dir, **kw, max_lag=20)
    assert short["msd"]["lag_window_frames"] == short["vdos"]["vacf_window_frames"] == 20
    assert np.allclose(short["msd"]["msd_A2"], msd[:20], rtol=1e-4, atol=1e-6)
    assert np.allclose(short["vdos"]["vacf"]["normalized"], res["vdos"]["vacf"]["normalized"][:20], atol=1e-6)
    assert short["vdos"]["resolution_THz"] == pytest.approx(1 / (2 * 20 * 0.008))

