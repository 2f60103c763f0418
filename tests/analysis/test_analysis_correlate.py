"""Streaming correlations: exact against brute force and against MDAnalysis' EinsteinMSD."""

import numpy as np
import pytest

from harness.analysis.correlate import LagCorrelator
from harness.analysis.msd import MSDAccumulator, compute_msd
from harness.analysis.trajectory import universe_from_arrays


@pytest.mark.parametrize("block", [None, 1, 7, 100])
@pytest.mark.parametrize("chunk", [1, 13, 400])
def test_lag_correlator_equals_brute_force_for_any_blocking(block, chunk):
    rng = np.random.default_rng(1)
    n, n_atoms, lag = 301, 7, 40
    x = rng.normal(size=(n, n_atoms, 3))
    w = rng.uniform(1, 3, n_atoms)
    groups = np.array([0, 1, 0, 1, 1, 0, 2])
    brute = np.zeros((3, lag))
    for k in range(lag):
        d = np.einsum("tad,tad->ta", x[:n - k], x[k:])
        for g in range(3):
            brute[g, k] = (d[:, groups == g] * w[groups == g]).sum()
    corr = LagCorrelator(lag, groups, w, block=block)
    for a in range(0, n, chunk):
        corr.add(x[a:a + chunk])
    sums, origins = corr.finish()
    np.testing.assert_allclose(sums, brute, rtol=1e-10, atol=1e-9)
    assert origins.tolist() == list(range(n, n - lag, -1))


def test_lag_window_longer_than_the_run_gives_all_lags():
    x = np.random.default_rng(2).normal(size=(5, 2, 3))
    corr = LagCorrelator(50, np.zeros(2, int))
    corr.add(x)
    sums, origins = corr.finish()
    assert sums.shape == (1, 5) and sums[0, 4] == pytest.approx(np.sum(x[0] * x[4]))


def test_streamed_msd_equals_einstein_msd():
    rng = np.random.default_rng(3)
    n = 301
    pos = np.cumsum(rng.normal(scale=0.1, size=(n, 7, 3)), axis=0) + rng.uniform(0, 10, (7, 3))
    u = universe_from_arrays(pos, ["Cu"] * 4 + ["Au"] * 3, [30, 30, 30, 90, 90, 90], 0.01)
    t, msd = compute_msd(u, 0.01)  # EinsteinMSD, COM drift removed, all frames in memory
    for lag, chunk in ((n, 50), (60, 17)):
        acc = MSDAccumulator(u.atoms.masses, max_lag=lag)
        for a in range(0, n, chunk):
            acc.add(pos[a:a + chunk].astype(np.float32))
        t2, msd2 = acc.finish(0.01)
        assert len(t2) == lag
        np.testing.assert_allclose(t2, t[:lag])
        np.testing.assert_allclose(msd2, msd[:lag], rtol=1e-5, atol=1e-6)


def test_streamed_msd_in_plane():
    rng = np.random.default_rng(4)
    pos = np.cumsum(rng.normal(scale=0.1, size=(200, 5, 3)), axis=0)
    u = universe_from_arrays(pos, ["Cu"] * 5, [30, 30, 30, 90, 90, 90], 0.01)
    _, msd = compute_msd(u, 0.01, dimension=2)
    acc = MSDAccumulator(u.atoms.masses, dimension=2, max_lag=200)
    acc.add(pos)
    np.testing.assert_allclose(acc.finish(0.01)[1], msd, rtol=1e-5, atol=1e-6)
