import numpy as np
import pytest

from harness.analysis.rdf import compute_rdf, default_r_max, first_peak_position, running_coordination
from harness.analysis.trajectory import universe_from_arrays

A_CU = 3.615


def test_default_r_max_orthorhombic_and_triclinic():
    assert default_r_max([10.0, 12.0, 14.0, 90, 90, 90]) == pytest.approx(5.0)
    # hexagonal cell a=b=10, gamma=120: perpendicular width in-plane = a sin(60)
    assert default_r_max([10.0, 10.0, 30.0, 90, 90, 120]) == pytest.approx(
        0.5 * 10 * np.sin(np.radians(60)))
    # NPT: smallest box over frames
    frames = np.array([[10, 10, 10, 90, 90, 90], [9, 10, 10, 90, 90, 90]], float)
    assert default_r_max(frames) == pytest.approx(4.5)


def test_ideal_gas_is_one_for_total_and_pairs():
    rng = np.random.default_rng(0)
    n_frames, n_atoms, box = 40, 300, 20.0
    pos = rng.uniform(0, box, size=(n_frames, n_atoms, 3))
    elements = ["Pt"] * 100 + ["Co"] * 200
    u = universe_from_arrays(pos, elements, [box, box, box, 90, 90, 90])
    res = compute_rdf(u, nbins=50)
    assert res["r_max_A"] == pytest.approx(box / 2)
    assert set(res["pairs"]) == {"Pt-Pt", "Pt-Co", "Co-Co"}
    r = res["r_A"]
    outer = r > 4.0  # enough counts per bin for a tight check
    for g in [res["total"], *res["pairs"].values()]:
        assert np.mean(g[outer]) == pytest.approx(1.0, abs=0.02)
        assert np.all(np.abs(g[outer] - 1.0) < 0.25)


def test_fcc_first_shell_and_coordination_12(fcc_positions):
    rng = np.random.default_rng(1)
    n = 4
    box = n * A_CU
    lattice = fcc_positions(A_CU, n)
    pos = lattice[None] + rng.normal(0, 0.05, size=(5, len(lattice), 3))
    u = universe_from_arrays(pos, ["Cu"] * len(lattice), [box, box, box, 90, 90, 90])
    res = compute_rdf(u)  # defaults: 500 bins, r_max = box/2
    assert res["n_bins"] == 500
    assert res["r_max_A"] == pytest.approx(box / 2)
    dr = res["r_max_A"] / 500
    assert res["first_peak_A"] == pytest.approx(A_CU / np.sqrt(2), abs=2 * dr + 0.02)
    # Integrate 4 pi r^2 rho g to the gap between first (2.56 A) and second (3.615 A) shells.
    n_atoms = len(lattice)
    density = (n_atoms - 1) / box**3  # partner density, self excluded
    n_r = running_coordination(res["edges_A"], res["total"], density)
    r_cut = 0.5 * (A_CU / np.sqrt(2) + A_CU)
    assert n_r[np.searchsorted(res["edges_A"][1:], r_cut)] == pytest.approx(12.0, abs=1e-6)
    # and 12 + 6 = 18 after the second shell
    r_cut2 = 0.5 * (A_CU + A_CU * np.sqrt(1.5))
    assert n_r[np.searchsorted(res["edges_A"][1:], r_cut2)] == pytest.approx(18.0, abs=1e-6)


def test_first_peak_position_picks_first_region_above_one():
    r = np.linspace(0, 10, 101)
    g = np.where(r < 2, 0.0, 1.0) + 2.0 * np.exp(-((r - 2.5) / 0.2) ** 2) \
        + 3.0 * np.exp(-((r - 6.0) / 0.2) ** 2)
    g[(r > 3.2) & (r < 4)] = 0.5  # dip below 1 between the peaks
    assert first_peak_position(r, g) == pytest.approx(2.5)
    assert first_peak_position(r, np.zeros_like(r)) is None
