import numpy as np
import pytest

from harness.analysis.trajectory import element_mass, load_dump_universe, read_frames


def test_dump_reader_units_masses_and_restart_duplicates(tmp_path, write_dump):
    rng = np.random.default_rng(0)
    n_atoms = 4
    pos = rng.uniform(1, 9, size=(5, n_atoms, 3))
    vel = rng.normal(0, 5, size=(5, n_atoms, 3))  # A/ps in metal units
    types = np.array([1, 2, 2, 1])
    path = tmp_path / "traj.lammpstrj"
    # steps 0,10,20 then a restart that re-writes 10 and 20
    steps = [0, 10, 20, 10, 20]
    write_dump(path, steps, pos, vel, [10, 10, 10], types)
    u = load_dump_universe(path, ["Pt", "Co"], timestep_fs=2.0)
    assert list(u.atoms.elements) == ["Pt", "Co", "Co", "Pt"]
    assert u.atoms.masses[0] == pytest.approx(element_mass("Pt"))
    assert u.atoms.masses[1] == pytest.approx(58.933, abs=1e-2)
    # time = step * MD timestep (not frame index * dump interval)
    u.trajectory[1]
    assert u.trajectory.ts.time == pytest.approx(10 * 0.002)
    frames = read_frames(u)
    assert frames.step.tolist() == [0, 10, 20]
    # last occurrence wins: frames 3, 4 of the file
    np.testing.assert_allclose(frames.positions_A[1:], pos[3:], atol=1e-5)
    # velocities are NOT converted by MDAnalysis: still A/ps
    np.testing.assert_allclose(frames.velocities_A_per_ps[1:], vel[3:], atol=1e-5)
    np.testing.assert_allclose(frames.dimensions[0], [10, 10, 10, 90, 90, 90])
    # equilibration cut by step
    assert read_frames(u, min_step=10).step.tolist() == [10, 20]


def test_unknown_type_is_an_error(tmp_path, write_dump):
    path = tmp_path / "traj.lammpstrj"
    write_dump(path, [0], np.zeros((1, 2, 3)), np.zeros((1, 2, 3)), [5, 5, 5], [1, 3])
    with pytest.raises(ValueError, match="types"):
        load_dump_universe(path, ["Cu"], 1.0)
