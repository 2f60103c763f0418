import numpy as np
import pytest

from harness.analysis.msd import compute_msd, fit_diffusion
from harness.analysis.trajectory import memory_universe, read_frames, universe_from_arrays
from harness.io.lammps_dump import load_dump_universe


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
    assert fit["fit_window_ps"] == pytest.approx([0.2 * t[-1], 0.8 * t[-1]])
    # ~200 atoms x few independent windows: statistical error ~5-10 %
    assert fit["D_A2_per_ps"] == pytest.approx(D, rel=0.15)
    assert fit["D_cm2_per_s"] == pytest.approx(fit["D_A2_per_ps"] * 1e-4)
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
    assert abs(fit["D_A2_per_ps"]) < 1e-4


def test_com_drift_is_not_diffusion():
    rng = np.random.default_rng(2)
    n_frames = 200
    drift = np.arange(n_frames)[:, None, None] * np.array([0.05, 0.0, 0.0])
    pos = rng.uniform(0, 20, size=(1, 50, 3)) + drift \
        + rng.normal(0, 0.05, size=(n_frames, 50, 3))
    u = universe_from_arrays(pos, ["Cu"] * 50, [20, 20, 20, 90, 90, 90])
    t, msd = compute_msd(u, 1.0)
    assert abs(fit_diffusion(t, msd)["D_A2_per_ps"]) < 1e-4
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
