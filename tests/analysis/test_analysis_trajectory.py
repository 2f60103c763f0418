import numpy as np
import pytest

from harness.io.elements import element_mass
from harness.io.lammps_dump import load_dump_universe, read_frames


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


def test_numpy_dump_reader_restart_duplicates_and_blocks(tmp_path, write_dump):
    """index_dump keeps the last occurrence of a re-written step; iter_dump agrees with MDAnalysis."""
    from harness.io.lammps_dump import index_dump, iter_dump, read_dump_fast

    rng = np.random.default_rng(1)
    pos, vel = rng.uniform(1, 9, size=(6, 3, 3)), rng.normal(0, 5, size=(6, 3, 3))
    path = tmp_path / "traj.lammpstrj"
    write_dump(path, [0, 10, 20, 30, 20, 30], pos, vel, [10, 11, 12], [2, 1, 2])
    index = index_dump(path)
    assert index.steps.tolist() == [0, 10, 20, 30]
    raw = path.read_bytes()
    assert all(raw[o:o + 14] == b"ITEM: TIMESTEP" for o in index.offsets)
    for chunk in (15, 22, 64, 101):  # tags and step lines cut by the read-chunk boundary
        small = index_dump(path, chunk_bytes=chunk)
        assert small.offsets.tolist() == index.offsets.tolist() and small.steps.tolist() == index.steps.tolist()
    blocks = list(iter_dump(index, ["Pt", "Co"], block_frames=3))
    assert [b.n_frames for b, _ in blocks] == [3, 1] and blocks[0][1] == ["Co", "Pt", "Co"]
    frames, _ = read_dump_fast(path, ["Pt", "Co"])
    ref = read_frames(load_dump_universe(path, ["Pt", "Co"], 1.0))
    assert frames.step.tolist() == ref.step.tolist()
    np.testing.assert_allclose(frames.positions_A, ref.positions_A, atol=1e-6)
    np.testing.assert_allclose(frames.velocities_A_per_ps, ref.velocities_A_per_ps, atol=1e-6)
    np.testing.assert_allclose(frames.dimensions, ref.dimensions)
    with pytest.raises(ValueError, match="types"):
        list(iter_dump(index, ["Pt"]))


def test_numpy_dump_reader_triclinic_lammps_box_equals_mdanalysis(tmp_path, lammps_factory):
    """A tilted LAMMPS box (bounding-box form in the dump) reads as MDAnalysis reads it."""
    from harness.io.lammps_dump import read_dump_fast

    make_lammps, potentials = lammps_factory
    path = tmp_path / "tri.lammpstrj"
    lmp = make_lammps()
    lmp.commands_string(f"""
        units metal
        atom_style atomic
        region box prism 0 10.8 0 10.1 0 9.5 2.1 -1.3 0.9
        create_box 1 box
        create_atoms 1 random 40 4527 box overlap 2.0
        mass 1 63.546
        pair_style eam
        pair_coeff 1 1 {potentials / 'Cu_u3.eam'}
        velocity all create 600 87287
        timestep 0.001
        fix nve all nve
        dump d all custom 5 {path} id type xu yu zu vx vy vz
        run 15
    """)
    lmp.close()
    frames, symbols = read_dump_fast(path, ["Cu"])
    ref = read_frames(load_dump_universe(path, ["Cu"], 1.0))
    assert symbols == ["Cu"] * 40 and frames.step.tolist() == [0, 5, 10, 15]
    np.testing.assert_allclose(frames.dimensions, ref.dimensions, rtol=1e-6)
    assert not np.allclose(frames.dimensions[0, 3:], 90.0)  # really triclinic
    np.testing.assert_allclose(frames.positions_A, ref.positions_A, atol=2e-5)
    np.testing.assert_allclose(frames.velocities_A_per_ps, ref.velocities_A_per_ps, atol=2e-5)


def test_extxyz_reference_equals_ase_with_and_without_forces(tmp_path):
    """The reference reader (arrays allocated once from a frame count, float32) gives ASE's own
    positions, velocities and forces; forces=False drops only the forces."""
    from ase import Atoms
    from ase.calculators.singlepoint import SinglePointCalculator
    from ase.io import read, write

    from harness.io.trajectory import read_trajectory
    from harness.io.trajectory_ase import _Stack

    rng = np.random.default_rng(3)
    frames, base = [], rng.uniform(1, 6, (4, 3))
    for k in range(70):  # more than the growing stack's first allocation; small steps: nothing to unwrap
        a = Atoms("Cu3Au", positions=base + rng.normal(0, 0.1, (4, 3)), cell=[7.0, 7.0, 7.0], pbc=True)
        a.set_velocities(rng.normal(0, 0.01, (4, 3)))
        a.calc = SinglePointCalculator(a, energy=-1.0 - k, forces=rng.normal(0, 1, (4, 3)))
        a.info.update(time_fs=2.0 * k, step=2 * k, timestep_fs=1.0)
        frames.append(a)
    path = tmp_path / "ref.extxyz"
    write(path, frames, format="extxyz")
    back = read(path, index=":")
    t = read_trajectory(path)
    assert t.n_frames == 70 and t.positions_A.dtype == np.float32
    np.testing.assert_allclose(t.positions_A, [b.positions for b in back], atol=1e-5)
    np.testing.assert_allclose(t.forces_eV_A, [b.get_forces() for b in back], atol=1e-5)
    np.testing.assert_allclose(t.energy_eV, -1.0 - np.arange(70))
    lean = read_trajectory(path, forces=False)
    assert lean.forces_eV_A is None
    np.testing.assert_array_equal(lean.velocities_A_per_ps, t.velocities_A_per_ps)

    grow = _Stack()  # no frame count: grows in place, then trimmed to what was added
    for k in range(150):
        grow.add(np.full((4, 3), k))
    out = grow.array()
    assert out.shape == (150, 4, 3) and out[:, 0, 0].tolist() == list(range(150))


def test_dump_reader_padded_columns_and_truncated_rows(tmp_path):
    """User-formatted dumps (padded columns, trailing spaces) parse as LAMMPS' own; a short row
    is one ValueError naming the frames, not a wrong array."""
    from harness.io.lammps_dump import index_dump, iter_dump

    head = ("ITEM: TIMESTEP\n{step}\nITEM: NUMBER OF ATOMS\n2\nITEM: BOX BOUNDS pp pp pp\n0 5\n0 5\n0 5\n"
            "ITEM: ATOMS id type xu yu zu\n")
    path = tmp_path / "padded.lammpstrj"
    path.write_text(head.format(step=0) + "   2    1   1.5  2.5 3.5  \n   1 1 0.5 0.5 0.5 \n"
                    + head.format(step=10) + "1 1 0.6 0.5 0.5\n2 1 1.5 2.5 3.6\n")
    frames, symbols = next(iter_dump(index_dump(path), ["Cu"]))
    np.testing.assert_allclose(frames.positions_A, [[[0.5, 0.5, 0.5], [1.5, 2.5, 3.5]],
                                                    [[0.6, 0.5, 0.5], [1.5, 2.5, 3.6]]])
    short = tmp_path / "short.lammpstrj"
    short.write_text(head.format(step=0) + "1 1 0.5 0.5\n2 1 1.5 2.5 3.5\n" + head.format(step=10)
                     + "1 1 0.6 0.5 0.5\n2 1 1.5 2.5 3.6\n")
    with pytest.raises(ValueError, match="unreadable atom lines"):
        list(iter_dump(index_dump(short), ["Cu"]))
