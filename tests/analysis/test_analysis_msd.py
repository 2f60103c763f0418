import numpy as np
import pytest

from harness.analysis.msd import compute_msd, fit_diffusion
from harness.analysis.trajectory import memory_universe, universe_from_arrays
from harness.io.lammps_dump import load_dump_universe, read_frames


def test_random_walk_from_dump_gives_known_D(tmp_path, write_dump):
    rng = np.random.default_rng(0)
    D, dt_ps, n_frames, n_atoms, box = 0.5, 0.01, 400, 200, 30.0  # D in A^2/ps
    steps_xyz = rng.normal(0, np.sqrt(2 * D * dt_ps), size=(n_frames, n_atoms, 3))
    steps_xyz[0] = rng.uniform(0, box, size=(n_atoms, 3))
    pos = np.cumsum(steps_xyz, axis=0)  # unwrapped: may leave the box
    vel = np.zeros_like(pos)
    dump_every, timestep_fs = 10, 1.0  # frame spacing 10 fs = 0.01 ps
    path = tmp_path / "traj.lammpstrj"
    write_dump(path, np.arange(n_frames) * dump_every, pos, vel, [box] * 3,
               np.ones(n_atoms, dtype=int))
    u = load_dump_universe(path, ["Ar"], timestep_fs)
    frames = read_frames(u)
    t, msd = compute_msd(memory_universe(u, frames, dt_ps), dt_ps)
    fit = fit_diffusion(t, msd)
    assert fit["D_verdict"] == "diffusive" and fit["diffusive"]
    lo, hi = fit["fit_window_ps"]
    assert lo >= 0.2 * t[-1] - 1e-12 and hi == pytest.approx(0.8 * t[-1])
    # ~200 atoms x few independent windows: statistical error ~5-10 %
    assert fit["D_A2_per_ps"] == pytest.approx(D, rel=0.15)
    assert fit["D_cm2_per_s"] == pytest.approx(fit["D_A2_per_ps"] * 1e-4)
    # the stated uncertainty covers the true value and is not absurdly large
    assert abs(fit["D_A2_per_ps"] - D) < 3 * fit["D_uncertainty_A2_per_ps"] < 0.3 * D
    assert fit["D_uncertainty_cm2_per_s"] == pytest.approx(fit["D_uncertainty_A2_per_ps"] * 1e-4)
    assert fit["r2"] > 0.95
    # Einstein relation at short lags is exact in expectation: MSD(1 frame) = 6 D dt
    assert msd[1] == pytest.approx(6 * D * dt_ps, rel=0.05)


def test_vibrating_crystal_has_zero_D():
    rng = np.random.default_rng(1)
    lattice = rng.uniform(0, 20, size=(100, 3))
    pos = lattice[None] + rng.normal(0, 0.1, size=(300, 100, 3))  # no diffusion
    u = universe_from_arrays(pos, ["Cu"] * 100, [20, 20, 20, 90, 90, 90], frame_dt_ps=0.02)
    t, msd = compute_msd(u, 0.02)
    # plateau at 2 * 3 * sigma^2 = 0.06 A^2
    assert np.mean(msd[10:]) == pytest.approx(0.06, rel=0.05)
    fit = fit_diffusion(t, msd)
    # a plateau: no number as if it diffused, a verdict and a bound
    assert fit["D_verdict"] == "not diffusive" and fit["D_cm2_per_s"] is None and fit["D_A2_per_ps"] is None
    assert fit["D_reason"].startswith("the MSD plateaus at 0.0") and abs(fit["msd_rise"]) < 0.05
    assert 0 < fit["D_upper_bound_cm2_per_s"] < 1e-8  # 1e-4 Å²/ps


def test_com_drift_is_not_diffusion():
    rng = np.random.default_rng(2)
    n_frames = 200
    drift = np.arange(n_frames)[:, None, None] * np.array([0.05, 0.0, 0.0])
    pos = rng.uniform(0, 20, size=(1, 50, 3)) + drift \
        + rng.normal(0, 0.05, size=(n_frames, 50, 3))
    u = universe_from_arrays(pos, ["Cu"] * 50, [20, 20, 20, 90, 90, 90])
    t, msd = compute_msd(u, 1.0)
    assert fit_diffusion(t, msd)["D_verdict"] == "not diffusive"
    u2 = universe_from_arrays(pos, ["Cu"] * 50, [20, 20, 20, 90, 90, 90])
    _, msd_raw = compute_msd(u2, 1.0, remove_com=False)
    assert msd_raw[100] == pytest.approx((0.05 * 100) ** 2, rel=0.05)


def test_two_dimensional_msd_uses_4Dt():
    rng = np.random.default_rng(3)
    D, dt = 0.2, 0.05
    pos = np.cumsum(rng.normal(0, np.sqrt(2 * D * dt), size=(300, 150, 3)), axis=0)
    pos[:, :, 2] = 5.0  # flat in z
    u = universe_from_arrays(pos, ["C"] * 150, [100, 100, 100, 90, 90, 90])
    t, msd = compute_msd(u, dt, dimension=2)
    assert fit_diffusion(t, msd, dimension=2)["D_A2_per_ps"] == pytest.approx(D, rel=0.15)


def test_ballistic_or_too_few_lags_is_too_short_for_D():
    """Free flight (MSD ∝ t²) never reaches the diffusive regime; a handful of lags cannot show one."""
    t = np.arange(50) * 0.01
    fit = fit_diffusion(t, 3.0 * t**2)
    assert fit["D_verdict"] == "run too short for D" and fit["D_cm2_per_s"] is None
    assert "still ballistic" in fit["D_reason"]
    assert fit_diffusion(t[:3], 3.0 * t[:3])["D_verdict"] == "run too short for D"
    # a sub-diffusive, still bending MSD (t^0.4 past a ballistic start) is not linear yet
    bend = np.where(t < 0.05, 400 * t**2, 1.0 * (t / 0.05) ** 0.4)
    out = fit_diffusion(t, bend)
    assert out["D_verdict"] == "run too short for D" and "not yet linear" in out["D_reason"]


@pytest.fixture(scope="module")
def eam_copper_runs(tmp_path_factory):
    """EAM Cu (32 atoms): a crystal at 300 K (4 ps), a melt at 3500 K (4 ps) and a 0.12 ps run."""
    from harness.cli import main

    runs = tmp_path_factory.mktemp("msd-runs")
    for tag, args in (("solid", ["--temperature", "300", "--steps", "2000"]),
                      ("liquid", ["--temperature", "3500", "--steps", "4000", "--timestep", "1"]),
                      ("short", ["--temperature", "3500", "--steps", "120", "--timestep", "1"])):
        main(["run", "--system", "Cu", "--model", "eam", *args, "--tag", tag, "--runs-dir", str(runs), "--no-progress"])
    return {tag: runs / f"Cu-eam-md-{tag}" for tag in ("solid", "liquid", "short")}


def test_eam_solid_is_not_diffusive_and_the_melt_is(eam_copper_runs, capsys):
    """The crystal's MSD plateaus: 'not diffusive' and no D in results.json or the headline; the melt
    gives D with its uncertainty (liquid Cu at 3500 K: ~7e-5 cm²/s); a 0.12 ps run is too short."""
    import json

    from harness.cli import main

    res = {k: json.loads((d / "results.json").read_text())["msd"] for k, d in eam_copper_runs.items()}
    solid, liquid, short = res["solid"], res["liquid"], res["short"]
    assert solid["D_verdict"] == "not diffusive" and solid["D_cm2_per_s"] is None
    assert solid["D_upper_bound_cm2_per_s"] < 1e-7 and max(solid["msd_A2"]) < 0.1
    assert liquid["D_verdict"] == "diffusive"
    assert 3e-5 < liquid["D_cm2_per_s"] < 2e-4  # measured 6.6e-5 ± 0.2e-5
    assert liquid["D_uncertainty_cm2_per_s"] < 0.2 * liquid["D_cm2_per_s"]
    assert liquid["fit_window_ps"][0] >= 2 * liquid["ballistic_end_ps"]
    assert short["D_verdict"] == "run too short for D" and short["D_cm2_per_s"] is None
    capsys.readouterr()
    main(["analyze", str(eam_copper_runs["solid"]), "--no-progress"])
    out = capsys.readouterr().out
    assert "D: not diffusive (the MSD plateaus at" in out and "D =" not in out
    main(["analyze", str(eam_copper_runs["liquid"]), "--no-progress"])
    assert f"D = {liquid['D_cm2_per_s']:.3g} ± " in capsys.readouterr().out
