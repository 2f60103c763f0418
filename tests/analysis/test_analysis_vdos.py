import numpy as np
import pytest

from harness.analysis.vdos import partial_vdos, vacf, vdos


def cosine_velocities(nu0_THz, dt_ps, n_frames, n_atoms, rng):
    """v_i(t) = cos(2 pi nu0 t + phi_i) along random directions: VACF = cos(2 pi nu0 t)."""
    t = np.arange(n_frames) * dt_ps
    phase = rng.uniform(0, 2 * np.pi, size=n_atoms)
    direction = rng.normal(size=(n_atoms, 3))
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    amp = np.cos(2 * np.pi * nu0_THz * t[:, None] + phase[None, :])
    return amp[:, :, None] * direction[None, :, :]


def test_vacf_starts_at_one_and_matches_cosine():
    rng = np.random.default_rng(0)
    dt, nu0 = 0.01, 3.3
    v = cosine_velocities(nu0, dt, 1000, 64, rng)
    c = vacf(v)
    assert c[0] == pytest.approx(1.0)
    lags = np.arange(200)
    # Phase average over 64 atoms is not perfect: allow a few percent.
    np.testing.assert_allclose(c[:200], np.cos(2 * np.pi * nu0 * lags * dt), atol=0.05)
    assert vacf(v, masses=rng.uniform(1, 100, size=64))[0] == pytest.approx(1.0)


def test_vacf_matches_direct_unbiased_average():
    rng = np.random.default_rng(1)
    v = rng.normal(size=(50, 7, 3))
    m = rng.uniform(1, 10, size=7)
    direct = np.array([
        np.mean(np.einsum("i,tid,tid->t", m, v[: 50 - k], v[k:])) for k in range(50)])
    np.testing.assert_allclose(vacf(v, masses=m), direct / direct[0], rtol=1e-10, atol=1e-12)


def test_vdos_peak_at_cosine_frequency_and_unit_area():
    rng = np.random.default_rng(2)
    dt, nu0 = 0.01, 3.3  # Nyquist 50 THz; nu0 deliberately off the frequency grid
    freq, spec = vdos(cosine_velocities(nu0, dt, 2000, 32, rng), dt)
    df = freq[1] - freq[0]
    assert df == pytest.approx(1 / (2 * 2000 * dt))
    assert abs(freq[np.argmax(spec)] - nu0) <= df
    assert np.trapezoid(spec, freq) == pytest.approx(1.0)
    # essentially all weight within +-0.3 THz of nu0
    near = np.abs(freq - nu0) < 0.3
    assert np.trapezoid(spec * near, freq) > 0.95


def test_partials_sum_to_total_and_weight_by_mass():
    rng = np.random.default_rng(3)
    dt = 0.01
    v = np.concatenate([cosine_velocities(2.0, dt, 1000, 20, rng),
                        cosine_velocities(8.0, dt, 1000, 20, rng)], axis=1)
    masses = np.array([3.0] * 20 + [1.0] * 20)
    groups = {"A": np.arange(20), "B": np.arange(20, 40)}
    freq, total, parts = partial_vdos(v, dt, groups, masses=masses)
    np.testing.assert_allclose(parts["A"] + parts["B"], total, atol=1e-12)
    # same velocity amplitudes: mass-weighted shares are 3:1
    assert np.trapezoid(parts["A"], freq) == pytest.approx(0.75, abs=0.02)
    assert abs(freq[np.argmax(parts["A"])] - 2.0) < 0.1
    assert abs(freq[np.argmax(parts["B"])] - 8.0) < 0.1
    # unweighted: equal shares
    _, _, parts_u = partial_vdos(v, dt, groups)
    assert np.trapezoid(parts_u["A"], freq) == pytest.approx(0.5, abs=0.02)


def test_vacf_agrees_with_transport_analysis(tmp_path):
    ta = pytest.importorskip("transport_analysis.velocityautocorr")
    from harness.analysis.trajectory import universe_from_arrays

    rng = np.random.default_rng(4)
    n_frames, n_atoms = 200, 10
    # An Ornstein-Uhlenbeck-like velocity series: decaying, non-trivial VACF.
    v = np.zeros((n_frames, n_atoms, 3))
    v[0] = rng.normal(size=(n_atoms, 3))
    for k in range(1, n_frames):
        v[k] = 0.9 * v[k - 1] + np.sqrt(1 - 0.81) * rng.normal(size=(n_atoms, 3))
    pos = np.cumsum(v, axis=0) * 0.01
    u = universe_from_arrays(pos, ["Ar"] * n_atoms, [50, 50, 50, 90, 90, 90],
                             velocities_A_per_ps=v.astype(np.float32))
    ref = ta.VelocityAutocorr(u.atoms, dim_type="xyz", fft=True).run()
    ref_c = np.asarray(ref.results.timeseries)
    np.testing.assert_allclose(vacf(v), ref_c / ref_c[0], atol=1e-5)
