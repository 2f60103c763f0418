"""A model gives the same energy, forces and stress through LAMMPS as called directly."""

from __future__ import annotations

import numpy as np
import pytest
from ase import units
from ase.build import bulk

from harness.config import load_model
from harness.forces import ForceSession


def rattled(atoms, amplitude=0.05, seed=3):
    atoms = atoms.copy()
    atoms.rattle(amplitude, seed=seed)
    return atoms


def direct(atoms, calc):
    atoms = atoms.copy()
    atoms.calc = calc
    return atoms.get_potential_energy(), atoms.get_forces(), atoms.get_stress(voigt=True)


@pytest.mark.parametrize(
    "atoms",
    [
        bulk("Cu", "fcc", a=3.6, cubic=True).repeat(2),  # orthogonal box
        bulk("Cu", "fcc", a=3.6).repeat(3),  # primitive fcc: triclinic, LAMMPS rotates the cell
    ],
    ids=["cubic", "triclinic"],
)
def test_bridge_equals_direct_calculator(atoms, tmp_path):
    from ase.calculators.emt import EMT

    atoms = rattled(atoms)
    e0, f0, s0 = direct(atoms, EMT())
    with ForceSession(load_model("emt"), atoms, engine="bridge", workdir=tmp_path) as fs:
        first = fs.result
        assert abs(first.energy_eV - e0) < 1e-8
        assert np.abs(first.forces_eV_A - f0).max() < 1e-6
        assert np.abs(first.stress_eV_A3 - s0).max() < 1e-9
        # a second frame through the same session (scatter positions, run 0)
        moved = rattled(atoms, 0.03, seed=7)
        e1, f1, s1 = direct(moved, EMT())
        r = fs.evaluate(moved.positions)
        assert abs(r.energy_eV - e1) < 1e-8
        assert np.abs(r.forces_eV_A - f1).max() < 1e-6
        assert np.abs(r.stress_eV_A3 - s1).max() < 1e-9


def test_thermo_pressure_is_calculator_stress_trace(tmp_path):
    """LAMMPS' own `press` (bar), from the bridge's virial, equals -tr(σ)/3 of the calculator."""
    from ase.calculators.emt import EMT

    atoms = rattled(bulk("Cu", "fcc", a=3.50, cubic=True).repeat(2))  # compressed: P >> 0
    _, _, s = direct(atoms, EMT())
    with ForceSession(load_model("emt"), atoms, engine="bridge", workdir=tmp_path) as fs:
        press_bar = fs.session.lmp.get_thermo("press")
    expected_bar = -s[:3].sum() / 3 / units.bar
    assert expected_bar > 1e4  # the check is not trivially 0 = 0
    # rel 1e-6: LAMMPS' metal-unit constant nktv2p (1.6021765e6) vs ASE's CODATA eV/Å³ -> bar
    assert press_bar == pytest.approx(expected_bar, rel=1e-6)


def test_eam_lammps_equals_ase_eam_same_file(tmp_path):
    """LAMMPS pair_style eam and ASE's own EAM implementation read the same Cu_u3.eam."""
    from harness.models import calculator

    spec = load_model("eam")
    from harness.models import for_elements

    cu = for_elements(spec, ["Cu"])
    atoms = rattled(bulk("Cu", "fcc", a=3.615, cubic=True).repeat(3), 0.08)
    ase_eam = calculator(cu)
    # funcfl files store effective charges Z; phi = 27.2*0.529 Z_i Z_j / r in LAMMPS, while ASE
    # uses CODATA Hartree*Bohr (0.075 % larger). Same convention on both sides, then compare:
    from ase.units import Bohr, Hartree

    ase_eam.rphi_data *= 27.2 * 0.529 / (Hartree * Bohr)
    ase_eam.set_splines()
    e0, f0, s0 = direct(atoms, ase_eam)
    with ForceSession(spec, atoms, engine="classic", workdir=tmp_path / "classic") as fs:
        r = fs.result
    # Two independent spline interpolations of the same tables.
    assert abs(r.energy_eV - e0) / len(atoms) < 1e-5
    assert np.abs(r.forces_eV_A - f0).max() < 5e-4  # measured 2.3e-4 on |F| up to 1.6 eV/Å
    assert np.abs(r.stress_eV_A3 - s0).max() < 1e-6
    assert np.abs(f0).max() > 0.1  # rattled enough that forces are not all ~0


def test_a_pair_style_given_by_parameters_equals_ase_lennard_jones(tmp_path):
    """lj-ar.yaml (`pair_style lj/cut 8.5`, `pair_coeff` per element pair) through LAMMPS gives ASE's
    own Lennard-Jones forces and stress (ASE shifts the energy to 0 at the cutoff: not compared)."""
    from ase.calculators.lj import LennardJones

    atoms = rattled(bulk("Ar", "fcc", a=5.30, cubic=True).repeat(3), 0.1)
    ref = LennardJones(sigma=3.40, epsilon=0.0104, rc=8.5, smooth=False)
    _, f0, s0 = direct(atoms, ref)
    with ForceSession(load_model("lj-ar"), atoms, engine="classic", workdir=tmp_path / "lj") as fs:
        r = fs.result
    assert np.abs(f0).max() > 0.01
    assert np.abs(r.forces_eV_A - f0).max() < 1e-6 * np.abs(f0).max() + 1e-9
    assert np.abs(r.stress_eV_A3 - s0).max() < 1e-6 * np.abs(s0).max() + 1e-12


def test_eam_same_forces_through_classic_and_bridge(tmp_path):
    spec = load_model("eam")
    atoms = rattled(bulk("Cu", "fcc", a=3.615, cubic=True).repeat(2), 0.08)
    with ForceSession(spec, atoms, engine="classic", workdir=tmp_path / "c") as a, \
            ForceSession(spec, atoms, engine="bridge", workdir=tmp_path / "b") as b:
        fa, fb = a.result.forces_eV_A, b.result.forces_eV_A
    # the bridge runs ASE's EAM (CODATA Hartree*Bohr, 0.075 % stiffer pair term, see above)
    assert np.abs(fa - fb).max() < 3e-3 * np.abs(fa).max()


def test_mace_bridge_equals_mace_calculator(tiny_mace, tmp_path):
    from ase.spacegroup import crystal
    from mace.calculators import MACECalculator

    from harness.config import load_model as lm

    atoms = crystal(["Co", "Pt"], [(0, 0, 0), (0, 0.5, 0.5)], spacegroup=221, cellpar=[3.85] * 3 + [90] * 3)
    atoms = rattled(atoms.repeat(2), 0.05)
    from harness._env import prepare_torch

    prepare_torch()  # as the harness loads models: the torch.load notice is the harness's own setting
    e0, f0, s0 = direct(atoms, MACECalculator(model_paths=str(tiny_mace), device="cpu", default_dtype="float64"))
    with ForceSession(lm(str(tiny_mace)), atoms, engine="bridge", workdir=tmp_path) as fs:
        r = fs.result
    assert abs(r.energy_eV - e0) < 1e-8
    assert np.abs(r.forces_eV_A - f0).max() < 1e-6
    assert np.abs(r.stress_eV_A3 - s0).max() < 1e-9


@pytest.mark.slow
@pytest.mark.parametrize("name", ["chgnet", "sevennet"])
def test_offline_foundation_model_bridge_equals_its_calculator(name, tmp_path):
    """The foundation models whose weights ship in their wheels give, through LAMMPS, what their
    ASE calculators give (same positions in; float32 models, so to float32 rounding)."""
    from ase.spacegroup import crystal

    from harness.models import calculator

    spec = load_model(name)
    atoms = crystal(["Co", "Pt"], [(0, 0, 0), (0, 0.5, 0.5)], spacegroup=221, cellpar=[3.85] * 3 + [90] * 3)
    atoms = rattled(atoms.repeat((2, 1, 1)), 0.05)
    e0, f0, s0 = direct(atoms, calculator(spec))
    with ForceSession(spec, atoms, engine="bridge", workdir=tmp_path) as fs:
        r = fs.result
    assert abs(r.energy_eV - e0) < 1e-4
    assert np.abs(r.forces_eV_A - f0).max() < 1e-4
    assert np.abs(r.stress_eV_A3 - s0).max() < 1e-6
    assert np.abs(f0).max() > 0.1  # rattled: the comparison is not of zeros
