"""PES softening: parity statistics, the linear correction through every engine, DFT frames, bad input.

Real LAMMPS; reference frames are labelled by the base model itself (so a model scaled by c
must give a softening scale of exactly c), plus the mlearn VASP PBE Cu frames when present.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import write
from clihelp import fails

from harness.cli import main
from harness.config import load_model
from harness.forces import ForceSession
from harness.io.frames import write_frames

MLEARN_CU = Path(__file__).resolve().parents[2] / "shared" / "data" / "mlearn-dft" / "Cu_test.json"




def scaled_yaml(folder: Path, base: str, scale: float, name: str = "soft") -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(f"family: scaled\nbase: {base}\nscale: {scale!r}\n")
    return path


def rattled_cu(n_frames=4, amplitude=0.1, seed=0):
    """Rattled Cu supercells: two cells (cubic 32 atoms; strained triclinic 27 atoms), so frames group."""
    out = []
    for k in range(n_frames):
        atoms = bulk("Cu", "fcc", a=3.615, cubic=True).repeat(2) if k % 2 == 0 else bulk("Cu", "fcc", a=3.66).repeat(3)
        atoms.rattle(amplitude, seed=seed + k)
        out.append(atoms)
    return out


def label(frames, model_name: str, engine: str, path: Path, workdir: Path) -> Path:
    """Write frames to extxyz with the model's own energy, forces and stress as the 'reference'."""
    spec = load_model(model_name)
    labelled = []
    for k, atoms in enumerate(frames):
        with ForceSession(spec, atoms, engine=engine, workdir=workdir / f"label{k}") as fs:
            r = fs.result
        a = atoms.copy()
        a.calc = SinglePointCalculator(a, energy=r.energy_eV, forces=r.forces_eV_A, stress=r.stress_eV_A3)
        labelled.append(a)
    write_frames(path, labelled)  # full double precision (ASE's extxyz writer keeps 8 decimals)
    return path


def results(run_dir: Path) -> dict:
    return json.loads((run_dir / "results.json").read_text())


def softening(model: str, reference, runs_dir: Path, **settings):
    """The softening task end to end through the library (render, execute, collect): (run folder, results)."""
    from harness.config import SofteningSettings
    from harness.tasks.base import run_task
    from harness.tasks.softening import SofteningTask

    task = SofteningTask(SofteningSettings(model=load_model(model), reference=reference, **settings))
    return run_task(task, runs_dir, progress=False)


# ----------------------------------------------------------------------------- pure numbers
def test_parity_definitions():
    from harness.analysis.parity import fit_correction, force_parity

    rng = np.random.default_rng(1)
    ref = rng.normal(size=(50, 3))
    p = force_parity(ref, 0.8 * ref)
    assert p["softening_scale"] == pytest.approx(0.8, abs=1e-12)
    assert p["force_cmae_eV_A"] < 1e-12 and p["force_mae_eV_A"] == pytest.approx(0.2 * np.abs(ref).mean())
    assert p["fit_with_intercept"]["r2"] == pytest.approx(1.0)
    assert fit_correction(ref, 0.8 * ref)["c"] == pytest.approx(1.25, abs=1e-12)


# ----------------------------------------------------------------------------- scaled = exact
@pytest.mark.parametrize("engine", ["classic", "bridge"])
def test_scaled_model_has_softening_scale_c(tmp_path, engine):
    ref = label(rattled_cu(), "eam", engine, tmp_path / "ref.extxyz", tmp_path)
    soft = scaled_yaml(tmp_path, "eam", 0.9)
    run_dir, res = softening(str(soft), ref, engine=engine, runs_dir=tmp_path / "runs")
    p = res["parity"]
    assert res["engine"] == engine
    assert p["softening_scale"] == pytest.approx(0.9, abs=1e-9)
    assert p["force_cmae_eV_A"] < 1e-9 and p["force_mae_eV_A"] > 0.01
    assert res["per_element"]["Cu"]["softening_scale"] == pytest.approx(0.9, abs=1e-9)
    assert all(f["softening_scale"] == pytest.approx(0.9, abs=1e-9) for f in res["per_frame"])
    assert (run_dir / "parity.png").stat().st_size > 0 and results(run_dir)["reference"]["n_frames"] == 4
    # the base model against its own labels: scale 1, MAE 0
    _, same = softening("eam", ref, engine=engine, runs_dir=tmp_path / "runs")
    assert same["parity"]["softening_scale"] == pytest.approx(1.0, abs=1e-9) and same["parity"]["force_mae_eV_A"] < 1e-9


def test_correction_fitted_on_one_frame_reproduces_c_on_the_others(tmp_path):
    import yaml

    ref = label(rattled_cu(6), "eam", "classic", tmp_path / "ref.extxyz", tmp_path)
    soft = scaled_yaml(tmp_path, "eam", 0.9)
    pot = tmp_path / "potentials"
    _, res = softening(str(soft), ref, runs_dir=tmp_path / "runs", fit=True, fit_frames=(0,), potentials_out=pot,
                       tag="one")
    c = res["correction"]["c"]
    assert c == pytest.approx(1 / 0.9, abs=1e-9) and res["correction"]["frames"] == [0]
    yaml_path = pot / "soft-corrected-one.yaml"
    data = yaml.safe_load(yaml_path.read_text())
    assert data["family"] == "scaled" and data["base"] == str(soft) and data["scale"] == c
    prov = data["provenance"]
    assert prov["frames"]["indices"] == [0] and len(prov["frames"]["sha256"]) == 64 and len(prov["base_sha256"]) == 64
    corrected = load_model(str(yaml_path))  # a correction of a scaled model: one factor on the original EAM
    assert corrected.base.name == "eam" and corrected.scale == pytest.approx(1.0, abs=1e-12)
    # c fitted on each of the other frames alone is the same
    from harness.analysis.parity import fit_correction
    from harness.forces import evaluate_frames as model_forces
    from harness.io.frames import read_frames

    frames = read_frames(ref)
    forces, _ = model_forces(load_model(str(soft)), frames, engine="classic")
    for k in range(1, len(frames)):
        assert fit_correction(frames[k].get_forces(), forces[k].forces_eV_A)["c"] == pytest.approx(c, rel=1e-9)
    # and the corrected model reproduces the reference on all of them
    _, after = softening(str(yaml_path), ref, runs_dir=tmp_path / "runs")
    assert after["parity"]["softening_scale"] == pytest.approx(1.0, abs=1e-9)


# ----------------------------------------------------------------------------- stress and phonons
def test_corrected_model_scales_stress_in_bridge_and_classic(tmp_path):
    c = 1.07
    soft = load_model(str(scaled_yaml(tmp_path, "eam", c)))
    atoms = bulk("Cu", "fcc", a=3.55, cubic=True).repeat(2)  # compressed: large virial
    atoms.rattle(0.05, seed=4)
    for engine in ("classic", "bridge"):
        with ForceSession(load_model("eam"), atoms, engine=engine, workdir=tmp_path / f"b-{engine}") as fs:
            base = fs.result
        with ForceSession(soft, atoms, engine=engine, workdir=tmp_path / f"s-{engine}") as fs:
            corr = fs.result
            deck = (tmp_path / f"s-{engine}" / "in.forces.lammps").read_text()
        assert np.abs(base.stress_eV_A3).max() > 1e-3
        assert np.allclose(corr.stress_eV_A3, c * base.stress_eV_A3, rtol=1e-9, atol=1e-14)
        assert corr.energy_eV == pytest.approx(c * base.energy_eV, rel=1e-12)
        assert np.allclose(corr.forces_eV_A, c * base.forces_eV_A, rtol=1e-9, atol=1e-12)
        if engine == "classic":
            assert ("pair_style      hybrid/scaled 1.07 eam\n" in deck
                    and "pair_coeff      1 1 eam model/Cu_u3.eam" in deck)


def test_corrected_model_phonon_frequencies_scale_with_sqrt_c(tmp_path):
    from phonopy import Phonopy
    from phonopy.structure.atoms import PhonopyAtoms

    c = 0.85
    unit = bulk("Cu", "fcc", a=3.615, cubic=True)
    freqs = {}
    for name, spec in (("base", load_model("eam")), ("soft", load_model(str(scaled_yaml(tmp_path, "eam", c))))):
        ph = Phonopy(PhonopyAtoms(symbols=unit.get_chemical_symbols(), cell=unit.cell[:],
                                  scaled_positions=unit.get_scaled_positions()),
                     supercell_matrix=2 * np.eye(3, dtype=int),
                     primitive_matrix="F")  # fcc: what 'auto' finds, given explicitly
        ph.generate_displacements(distance=0.01)
        sc = ph.supercell
        from ase import Atoms

        ideal = Atoms(sc.symbols, cell=sc.cell, scaled_positions=sc.scaled_positions, pbc=True)
        with ForceSession(spec, ideal, engine="classic", workdir=tmp_path / name) as fs:
            ph.forces = [fs.evaluate(d.positions).forces_eV_A.copy() for d in ph.supercells_with_displacements]
        ph.produce_force_constants()
        freqs[name] = np.concatenate([ph.get_frequencies(q) for q in ([0.5, 0, 0], [0.5, 0.5, 0], [0.25, 0, 0])])
    ok = np.abs(freqs["base"]) > 0.5
    assert ok.sum() >= 9 and 5 < freqs["base"].max() < 9  # THz: Cu's highest branch ~7 THz
    assert np.allclose(freqs["soft"][ok] / freqs["base"][ok], np.sqrt(c), rtol=1e-8)


# ----------------------------------------------------------------------------- DFT frames end to end
def test_mlearn_dft_cu_frames_end_to_end(tmp_path, capsys):
    if not MLEARN_CU.is_file():
        pytest.skip(f"mlearn DFT Cu frames not found at {MLEARN_CU}")
    pot, runs = tmp_path / "potentials", tmp_path / "runs"
    main(["softening", "--model", "eam", "--reference", str(MLEARN_CU), "--fit-correction",
          "--potentials-dir", str(pot), "--runs-dir", str(runs), "--tag", "mlearn"])
    out = capsys.readouterr().out
    assert "softening scale" in out and "cMAE" in out
    run_dir = runs / "eam-softening-mlearn"
    res = results(run_dir)
    p = res["parity"]
    assert res["reference"]["n_frames"] == 31 and p["n_components"] == 3 * sum(f["n_atoms"] for f in res["per_frame"])
    assert res["engine"] == "classic" and (run_dir / "parity.png").is_file()
    # EAM (Foiles u3) vs VASP PBE: measured 0.935, MAE 0.040, cMAE 0.038 eV/Å, c = 1.062
    assert 0.85 < p["softening_scale"] < 1.0 and p["force_cmae_eV_A"] < p["force_mae_eV_A"] < 0.1
    assert p["fit_with_intercept"]["r2"] > 0.95
    c = res["correction"]["c"]
    assert 1.0 < c < 1.2
    yaml_path = pot / "eam-corrected-mlearn.yaml"
    assert yaml_path.is_file()
    # the corrected model in MD: the deck uses hybrid/scaled, summary.json records the provenance
    main(["md", "--system", "Cu", "--model", str(yaml_path), "--steps", "8", "--runs-dir", str(runs), "--no-progress"])
    (md_dir,) = [d for d in runs.iterdir() if "-md-" in d.name]
    assert f"pair_style      hybrid/scaled {c!r} eam" in (md_dir / "in.lammps").read_text()
    summary = json.loads((md_dir / "summary.json").read_text())
    corr = summary["model"]["correction"]
    assert summary["status"] == "completed" and corr["scale"] == c and corr["base"] == "eam"
    assert Path(corr["provenance"]["frames"]["file"]) == MLEARN_CU.resolve() and len(corr["base_sha256"]) == 64
    # never silently overwritten
    msg = fails(capsys, "softening", "--model", "eam", "--reference", str(MLEARN_CU), "--fit-correction",
                "--potentials-dir", str(pot), "--runs-dir", str(runs), "--tag", "mlearn")
    assert "already exists" in msg


def test_highenergy_exports_frames_for_labelling(tmp_path, capsys):
    from ase.io import read

    out = tmp_path / "label"
    main(["highenergy", "--system", "Cu", "--model", "eam", "--temperature", "1200", "--frames", "3", "--steps", "60",
          "--runs-dir", str(tmp_path / "runs"), "--out", str(out), "--no-progress"])
    frames = read(out / "frames.extxyz", index=":")
    listing = json.loads((out / "frames.json").read_text())
    assert len(frames) == 3 == listing["n_frames"] and len(list(out.glob("frame_*/POSCAR"))) == 3
    assert all(f["md_step"] * 2.0 / 1000 > listing["equilibration_ps"] for f in listing["frames"])
    poscar = read(out / "frame_000" / "POSCAR")
    assert poscar.get_chemical_formula() == "Cu32" and np.allclose(poscar.positions, frames[0].positions, atol=1e-6)
    assert frames[0].arrays["model_forces"].shape == (32, 3)
    # not labelled yet: the softening command says so
    msg = fails(capsys, "softening", "--model", "eam", "--reference", str(out / "frames.extxyz"),
                "--runs-dir", str(tmp_path / "runs"))
    assert "frame 0 has no forces" in msg


# ----------------------------------------------------------------------------- bad input
def test_bad_reference_input(capsys, tmp_path):
    rd = ["--runs-dir", str(tmp_path / "runs")]
    nof = tmp_path / "noforces.extxyz"
    write(nof, rattled_cu(1), format="extxyz")
    assert "has no forces" in fails(capsys, "softening", "--model", "eam", "--reference", str(nof), *rd)
    assert "no such file" in fails(capsys, "softening", "--model", "eam", "--reference",
                                   str(tmp_path / "x.extxyz"), *rd)
    msg = fails(capsys, "softening", "--model", "eam", "--reference", str(nof), "--format", "cif", *rd)
    assert "unknown reference format 'cif'" in msg and "pymatgen-json" in msg
    assert "cannot tell the format" in fails(capsys, "softening", "--model", "eam", "--reference",
                                             str(_touch(tmp_path / "frames.dat")), *rd)
    assert not (tmp_path / "runs").exists()  # refused before any folder


def _touch(path: Path) -> Path:
    path.write_text("x\n")
    return path


def test_species_the_model_does_not_cover(capsys, tmp_path):
    co = bulk("Co", "fcc", a=3.55, cubic=True).repeat(2)
    co.rattle(0.05, seed=1)
    co.calc = SinglePointCalculator(co, energy=0.0, forces=np.ones((len(co), 3)))
    path = tmp_path / "co.extxyz"
    write(path, co, format="extxyz")
    msg = fails(capsys, "softening", "--model", "emt", "--reference", str(path), "--runs-dir", str(tmp_path / "runs"))
    assert "does not cover element(s) Co" in msg


def test_near_zero_forces_refuse_a_correction(capsys, tmp_path):
    perfect = [bulk("Cu", "fcc", a=3.615, cubic=True).repeat(2)]
    ref = label(perfect, "eam", "classic", tmp_path / "perfect.extxyz", tmp_path)
    pot = tmp_path / "potentials"
    msg = fails(capsys, "softening", "--model", "eam", "--reference", str(ref), "--fit-correction",
                "--potentials-dir", str(pot), "--runs-dir", str(tmp_path / "runs"))
    assert "cannot fit the correction" in msg and "RMS reference force" in msg and "near-equilibrium" in msg
    assert not pot.exists() and not (tmp_path / "runs").exists()
    msg = fails(capsys, "softening", "--model", "eam", "--reference", str(ref), "--fit-correction", "--fit-frames", "3",
                "--runs-dir", str(tmp_path / "runs"))
    assert "--fit-frames" in msg and "0..0" in msg


def test_pair_templates_with_and_without_scale():
    from harness.lammps.render import render

    plain = render("pair/mliap.j2", mliap_file="m.model-mliap_lammps.pt", elements=["Pt", "Co"], scale=None)
    assert "pair_style      mliap unified m.model-mliap_lammps.pt 0\npair_coeff      * * Pt Co\n" in plain
    assert "hybrid" not in plain
    scaled = render("pair/mliap.j2", mliap_file="m.model-mliap_lammps.pt", elements=["Pt", "Co"], scale=1.05)
    assert "pair_style      hybrid/scaled 1.05 mliap unified m.model-mliap_lammps.pt 0\n" in scaled
    assert "pair_coeff      * * mliap Pt Co\n" in scaled
    alloy = render("pair/classic.j2", pair_style="eam/alloy", pair_coeffs=["* * CuNi.eam.alloy Cu Ni"], scale=0.9)
    assert "pair_style      hybrid/scaled 0.9 eam/alloy\npair_coeff      * * eam/alloy CuNi.eam.alloy Cu Ni\n" in alloy
