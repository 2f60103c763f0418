import numpy as np
import pytest

from harness.analysis.pressure import in_plane_pressure, pressure_summary, statistical_inefficiency, summarize_series


def ar1(n, phi, rng):
    x = np.empty(n)
    x[0] = rng.normal()
    noise = rng.normal(size=n) * np.sqrt(1 - phi**2)
    for i in range(1, n):
        x[i] = phi * x[i - 1] + noise[i]
    return x


def test_uncorrelated_sem_is_std_over_sqrt_n():
    rng = np.random.default_rng(0)
    x = rng.normal(2.0, 0.5, size=20000)
    s = summarize_series(x, "GPa")
    assert s["statistical_inefficiency"] < 1.2
    assert s["sem_GPa"] == pytest.approx(0.5 / np.sqrt(len(x)), rel=0.1)
    assert s["mean_GPa"] == pytest.approx(2.0, abs=4 * s["sem_GPa"])


def test_ar1_statistical_inefficiency_matches_theory():
    # For AR(1) with coefficient phi: g = (1 + phi) / (1 - phi) = 19 for phi = 0.9
    rng = np.random.default_rng(1)
    g = statistical_inefficiency(ar1(100000, 0.9, rng))
    assert g == pytest.approx(19.0, rel=0.2)


def test_sem_covers_true_mean_for_correlated_data():
    # The SEM must reflect the actual spread of the mean between independent runs.
    rng = np.random.default_rng(2)
    means, sems = [], []
    for _ in range(40):
        s = summarize_series(ar1(4000, 0.95, rng), "GPa")
        means.append(s["mean_GPa"])
        sems.append(s["sem_GPa"])
    assert np.mean(sems) == pytest.approx(np.std(means), rel=0.35)


def test_histogram_is_area_normalised():
    rng = np.random.default_rng(3)
    s = summarize_series(rng.normal(size=5000), "GPa", bins=40)
    edges = np.array(s["histogram"]["edges_GPa"])
    dens = np.array(s["histogram"]["density_per_GPa"])
    assert len(edges) == len(dens) + 1 == 41
    assert np.sum(dens * np.diff(edges)) == pytest.approx(1.0)


def test_in_plane_pressure_and_summary_definitions():
    thermo = {"pressure_GPa": np.array([1.0, 2.0, 3.0]),
              "pxx_GPa": np.array([1.0, 1.0, 1.0]),
              "pyy_GPa": np.array([3.0, 5.0, 7.0])}
    np.testing.assert_allclose(in_plane_pressure(thermo["pxx_GPa"], thermo["pyy_GPa"]),
                               [2.0, 3.0, 4.0])
    assert pressure_summary(thermo, dimension=3)["mean_GPa"] == pytest.approx(2.0)
    s2 = pressure_summary(thermo, dimension=2)
    assert s2["mean_GPa"] == pytest.approx(3.0)
    assert s2["definition"] == "(pxx+pyy)/2"
