"""Phonons through LAMMPS against phonopy + independent calculators and DFT force sets; σ^(2)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from ase.build import bulk

from harness.analysis.harmonic import DisplacementSettings, to_ase
from harness.analysis.phonon_reference import compare_with_reference, load_reference
from harness.analysis.sigma import SigmaAnalysis, classify, confusion_matrix, harmonic_forces
from harness.config import load_model
from harness.errors import ConfigError, StructureError
from harness.tasks.displacements import FiniteDisplacements

DFT = Path(__file__).resolve().parents[2] / "shared" / "data" / "phonopy-dft"
needs_dft = pytest.mark.skipif(not DFT.is_dir(), reason=f"DFT phonon data not found at {DFT} (../shared absent)")
Q = [[0, 0, 0], [0.5, 0, 0.5], [0.5, 0.5, 0.5], [0.25, 0, 0.25], [0.1, 0.2, 0.3]]


def frequencies(ph, q=Q, nac_direction=None):
    ph.run_qpoints(q, nac_q_direction=nac_direction)
    return ph.get_qpoints_dict()["frequencies"]


def test_eam_phonons_equal_phonopy_with_ase_eam_on_the_same_file():
    from phonopy import Phonopy

    from harness.models import calculator, for_elements

    cell = bulk("Cu", "fcc", a=3.615, cubic=True)
    task = FiniteDisplacements(load_model("eam"), cell,
                               DisplacementSettings(supercell_matrix=np.diag([3, 3, 3]).tolist(), mesh=(8, 8, 8)))
    task.run()
    # the independent route: phonopy driving ASE's own EAM implementation, no LAMMPS
    ase_eam = calculator(for_elements(load_model("eam"), ["Cu"]))
    from ase.units import Bohr, Hartree

    ase_eam.rphi_data *= 27.2 * 0.529 / (Hartree * Bohr)  # LAMMPS' funcfl constant (see test_engines_agree)
    ase_eam.set_splines()
    ph = Phonopy(task.phonon.unitcell, supercell_matrix=np.diag([3, 3, 3]),
                 primitive_matrix=task.phonon.primitive_matrix)
    ph.generate_displacements(distance=0.01)
    forces = []
    for sc in ph.supercells_with_displacements:
        atoms = to_ase(sc)
        atoms.calc = ase_eam
        forces.append(atoms.get_forces())
    ph.forces = np.array(forces)
    ph.produce_force_constants(show_drift=False)
    ph.symmetrize_force_constants()
    f_lmp, f_ase = frequencies(task.phonon), frequencies(ph)
    assert f_lmp.max() > 5  # Cu: ~7 THz
    assert np.abs(f_lmp - f_ase).max() < 1e-3  # measured 3e-5 THz
    assert task.timings["n_displacements"] == 1 and task.timings["engine"] == "classic"


@pytest.mark.slow
def test_unstable_structure_has_imaginary_modes():
    """bcc Cu is dynamically unstable (EAM): imaginary modes, with their q-points."""
    task = FiniteDisplacements(load_model("eam"), bulk("Cu", "bcc", a=2.87, cubic=True),
                      DisplacementSettings(supercell_matrix=np.diag([4, 4, 4]).tolist(), mesh=(8, 8, 8)))
    summary = task.run().summary()
    assert not summary["dynamically_stable"]
    assert summary["min_frequency_THz"] < -0.1 and summary["imaginary_modes"][0]["q"]
    fcc = FiniteDisplacements(load_model("eam"), bulk("Cu", "fcc", a=3.615, cubic=True),
                     DisplacementSettings(supercell_matrix=np.diag([3, 3, 3]).tolist(), mesh=(8, 8, 8))).run().summary()
    assert fcc["dynamically_stable"] and fcc["n_imaginary_qpoints"] == 0


@needs_dft
def test_nacl_dft_force_sets_reproduce_phonopy_with_nac():
    import phonopy

    d = DFT / "NaCl"
    ours = load_reference(d / "phonopy_disp.yaml", [d / "FORCE_SETS"], d / "BORN")
    theirs = phonopy.load(str(d / "phonopy_disp.yaml"), force_sets_filename=str(d / "FORCE_SETS"),
                          born_filename=str(d / "BORN"))
    a, b = frequencies(ours, nac_direction=[1, 0, 0]), frequencies(theirs, nac_direction=[1, 0, 0])
    assert np.abs(a - b).max() < 1e-6
    assert a[0, -1] == pytest.approx(7.40, abs=0.01)  # LO at Γ with the BORN correction (THz)
    assert a[0, 3] == pytest.approx(4.62, abs=0.01)  # TO


@needs_dft
def test_si_dft_vasprun_forces_reproduce_phonopy():
    import phonopy
    from phonopy.interface.vasp import parse_set_of_forces

    d = DFT / "Si"
    ours = load_reference(d / "phonopy_disp.yaml", [d / "vasprun.xml"])
    theirs = phonopy.load(str(d / "phonopy_disp.yaml"), produce_fc=False)
    theirs.forces = parse_set_of_forces(len(theirs.supercell), [str(d / "vasprun.xml")], verbose=False)["forces"]
    theirs.produce_force_constants(show_drift=False)
    theirs.symmetrize_force_constants()
    a, b = frequencies(ours), frequencies(theirs)
    assert np.abs(a - b).max() < 1e-8
    assert a[0, -1] == pytest.approx(15.11, abs=0.02)  # Si optical phonon at Γ (PBE, 16-atom cell)


@pytest.mark.slow
def test_comparison_metrics_softened_force_constants():
    """Force constants × 0.81 -> every frequency × 0.9: ratio 0.9, ω² RMSE analytic."""
    task = FiniteDisplacements(load_model("eam"), bulk("Cu", "fcc", a=3.615, cubic=True),
                      DisplacementSettings(supercell_matrix=np.diag([2, 2, 2]).tolist()))
    task.run()
    ref = task.phonon
    soft = ref.copy()
    soft.force_constants = ref.force_constants * 0.81
    same = compare_with_reference(ref, ref, mesh=(6, 6, 6))
    assert same["rmse_omega2_THz2"] == 0 and same["max_frequency_ratio"] == 1
    cmp_ = compare_with_reference(soft, ref, mesh=(6, 6, 6))
    assert cmp_["max_frequency_ratio"] == pytest.approx(0.9, abs=1e-9)
    ref.run_mesh([6, 6, 6], is_mesh_symmetry=False)
    f = ref.get_mesh_dict()["frequencies"]
    assert cmp_["rmse_omega2_THz2"] == pytest.approx(0.19 * np.sqrt(np.mean(f**4)), rel=1e-6)
    assert cmp_["rmse_group_velocity_THz_A"] > 0


def test_imaginary_branches_leave_the_group_velocity_rmse():
    """v_g of a branch that is imaginary anywhere (model or reference) is left out of RMSE(v_g) and
    named; RMSE(ω²) is also given over the reference's real modes only."""
    from harness.analysis.phonons import compare_frequencies, stability, stability_agreement

    fr = np.array([[-1.0, 2.0, 5.0], [0.5, 2.5, 6.0]])  # band 0 of the reference is imaginary at q0
    fm = np.array([[0.4, 2.2, 5.5], [0.6, 2.4, 6.3]])
    gr = np.zeros((2, 3, 3))
    gm = np.zeros((2, 3, 3))
    gm[:, 0, 0] = 50.0  # a diverging velocity next to the zero crossing: it must not enter
    gm[:, 1, 0], gm[:, 2, 0] = 1.0, 2.0
    c = compare_frequencies(fm, fr, None, gm, gr)
    assert c["group_velocity_bands_dropped"] == [0] and c["group_velocity_n_bands"] == 2
    assert c["rmse_group_velocity_THz_A"] == pytest.approx(np.sqrt((1 + 4) / 2))
    assert "band 0 (of 3, ascending order) is imaginary" in c["group_velocity_note"]
    d2 = (np.sign(fm) * fm**2 - np.sign(fr) * fr**2) ** 2
    assert c["rmse_omega2_THz2"] == pytest.approx(np.sqrt(d2.mean()))
    assert c["rmse_omega2_reference_stable_THz2"] == pytest.approx(np.sqrt(d2.ravel()[1:].mean()))
    assert c["n_reference_stable_modes"] == 5 and c["n_modes"] == 6
    st = stability(np.array([[0, 0, 0], [0.5, 0, 0]]), fr)
    assert not st["dynamically_stable"] and st["lowest_mode_q"] == [0, 0, 0] and st["min_frequency_THz"] == -1.0
    assert st["imaginary_modes"] == [{"q": [0.0, 0.0, 0.0], "min_frequency_THz": -1.0}]
    assert stability_agreement(False, True) == "missed instability (model stable)"
    assert stability_agreement(True, False) == "false instability (model unstable)"
    every = compare_frequencies(-fm, fr, None, gm, gr)
    assert every["rmse_group_velocity_THz_A"] is None and "no real band is left" in every["group_velocity_note"]


@pytest.mark.slow
def test_reference_supercell_mismatch_and_non_periodic():
    a = FiniteDisplacements(load_model("eam"), bulk("Cu", "fcc", a=3.615, cubic=True),
                   DisplacementSettings(supercell_matrix=np.diag([2, 2, 2]).tolist()))
    b = FiniteDisplacements(load_model("eam"), bulk("Cu", "fcc", a=3.615, cubic=True),
                   DisplacementSettings(supercell_matrix=np.diag([3, 3, 3]).tolist()))
    a.run(), b.run()
    with pytest.raises(ConfigError, match="does not match"):
        compare_with_reference(a.phonon, b.phonon)
    molecule = bulk("Cu", "fcc", a=3.615, cubic=True)
    molecule.pbc = [True, True, False]
    with pytest.raises(StructureError, match="periodic in 3-D"):
        FiniteDisplacements(load_model("eam"), molecule,
                            DisplacementSettings(supercell_matrix=np.eye(3, dtype=int).tolist()))


# ------------------------------------------------------------------------------- σ^(2)
def test_sigma_of_a_harmonic_model_is_zero():
    from harness.tasks.sigma import model_force_constants

    supercell = bulk("Cu", "fcc", a=3.615, cubic=True).repeat(2)
    fc, ref = model_force_constants(load_model("eam"), supercell)
    analysis = SigmaAnalysis(fc, ref.positions, ref.get_chemical_symbols(), ref.cell)
    rng = np.random.default_rng(0)
    shuffled = rng.permutation(len(ref))  # the trajectory's atom order need not be phonopy's
    for k in range(5):
        u = rng.normal(scale=0.05, size=(len(ref), 3))
        pos = ref.positions + u + (7.23 if k == 0 else 0.0) * np.array([1.0, 0, 0])  # periodic images too
        forces = harmonic_forces(fc, u - u.mean(axis=0))
        if k == 0:
            analysis.prepare(pos[shuffled], np.array(ref.get_chemical_symbols())[shuffled])
        analysis.single_frame(pos[shuffled], forces[shuffled])
    res = analysis.conclude()
    assert res["sigma_mean"] < 1e-10 and res["class"] == "weakly anharmonic"


def test_sigma_grows_with_temperature_for_eam_copper(tmp_path):
    from harness.config import md_settings
    from harness.tasks.base import execute_run, render_run
    from harness.tasks.md import MDTask
    from harness.tasks.sigma import sigma_of_run

    out = {}
    for T in (300.0, 1200.0):
        run_dir = render_run(MDTask(md_settings("Cu", "eam", "quick", temperature_K=T, steps=2000, tag=f"sigma{T:g}")),
                             tmp_path)
        execute_run(run_dir, progress=False)
        out[T] = sigma_of_run(run_dir)
    assert out[300.0]["n_frames"] > 100
    assert 0.02 < out[300.0]["sigma_mean"] < out[1200.0]["sigma_mean"] < 1.0
    assert out[300.0]["class"] == "weakly anharmonic"


def test_sigma_composition_mismatch_is_refused():
    from harness.tasks.sigma import model_force_constants

    fc, ref = model_force_constants(load_model("eam"), bulk("Cu", "fcc", a=3.615, cubic=True).repeat(2))
    analysis = SigmaAnalysis(fc, ref.positions, ref.get_chemical_symbols(), ref.cell)
    with pytest.raises(ValueError, match="composition differs"):
        analysis.prepare(ref.positions, ["Ag"] * len(ref))


def test_classes_and_confusion_matrix():
    assert [classify(s) for s in (0.2, 0.7, 1.3)] == ["weakly anharmonic", "strongly anharmonic",
                                                       "dynamically unstable"]
    cm = confusion_matrix(["weakly anharmonic", "strongly anharmonic"], ["weakly anharmonic", "weakly anharmonic"])
    assert cm["counts"][0] == [1, 1, 0] and cm["agreement"] == 0.5


@pytest.mark.slow
def test_cli_phonons_run_folder(tmp_path):
    from harness.cli import main

    main(["phonons", "--system", "Cu", "--model", "eam", "--mesh", "8", "8", "8", "--runs-dir", str(tmp_path)])
    (run_dir,) = tmp_path.iterdir()
    res = json.loads((run_dir / "results.json").read_text())
    assert res["dynamically_stable"] and 7.0 < res["max_frequency_THz"] < 8.0
    assert res["units"]["frequency"] == "THz"
    for f in ("phonopy_params.yaml", "band.yaml", "figures/band.png", "figures/dos.png", "summary.json"):
        assert (run_dir / f).is_file(), f
    import phonopy  # users continue in phonopy from our file

    ph = phonopy.load(str(run_dir / "phonopy_params.yaml"))
    assert frequencies(ph)[1].max() == pytest.approx(res["max_frequency_THz"], rel=0.05)


def test_cli_nac_without_born(capsys, tmp_path):
    from harness.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["phonons", "--system", "NaCl", "--model", "chgnet", "--nac", "--runs-dir", str(tmp_path)])
    assert exc.value.code == 2
    assert "BORN" in capsys.readouterr().err


@needs_dft
def test_cli_system_that_is_not_the_reference(capsys, tmp_path):
    """Cu against the NaCl DFT set: one line; NaCl's 2-atom system against its 8-atom cell is accepted
    by the check (same reduced composition)."""
    from clihelp import fails

    from harness.tasks.phonons import reduced_formula as _reduced

    d = DFT / "NaCl"
    line = fails(capsys, "phonons", "--system", "Cu", "--model", "eam", "--reference", str(d / "phonopy_disp.yaml"),
                 "--reference-forces", str(d / "FORCE_SETS"), "--runs-dir", str(tmp_path))
    assert "is not the reference's structure" in line
    assert _reduced(bulk("NaCl", "rocksalt", a=5.6)) == _reduced(bulk("NaCl", "rocksalt", a=5.6, cubic=True)) == "NaCl"


@pytest.mark.slow
def test_low_temperature_vdos_matches_harmonic_modes(tmp_path):
    """At 30 K the MD VDOS of EAM Cu sits on the harmonic frequencies of the MD cell's q-points."""
    from harness.cli import main

    main(["run", "--system", "Cu", "--model", "eam", "--temperature", "30", "--steps", "8000", "--runs-dir",
          str(tmp_path / "md"), "--no-progress"])
    (md_run,) = (tmp_path / "md").iterdir()
    main(["phonons", "--system", "Cu", "--model", "eam", "--mesh", "8", "8", "8", "--md-run", str(md_run),
          "--runs-dir", str(tmp_path / "ph")])
    (ph_run,) = (tmp_path / "ph").iterdir()
    check = json.loads((ph_run / "results.json").read_text())["vdos_vs_dos"]
    assert check["n_qpoints"] == 32  # 2×2×2 conventional fcc = 32 primitive cells
    assert check["E_VDOS_percent"] < 40  # measured 32 % (peak shapes; the positions coincide)
    assert (ph_run / "figures" / "vdos_vs_dos.png").is_file()


@pytest.mark.slow
def test_sigma_on_reference_frames_with_reference_fc(tmp_path):
    """Reference route: frames with their own forces + Φ from a phonopy file; the model that
    labelled the frames gets the same σ as the frames' forces. Also `harness sigma --run`."""
    from ase.io import read, write

    from harness.cli import main
    from harness.config import md_settings
    from harness.tasks.base import execute_run, render_run
    from harness.tasks.md import MDTask
    from harness.tasks.sigma import run_structure, sigma_of_reference_frames

    run_dir = render_run(MDTask(md_settings("Cu", "eam", "quick", temperature_K=600, steps=400, tag="ref")),
                         tmp_path / "runs")
    execute_run(run_dir, progress=False)
    frames = read(run_dir / "traj.lammpstrj", index="50:", format="lammps-dump-text")
    for atoms in frames:
        atoms.symbols = ["Cu"] * len(atoms)
    write(tmp_path / "frames.extxyz", frames)
    # a phonopy file with the force constants (as a DFT reference would come)
    ph_task = FiniteDisplacements(load_model("eam"), run_structure(run_dir),
                         DisplacementSettings(supercell_matrix=np.eye(3, dtype=int).tolist(), primitive_matrix=None))
    ph_task.run()
    ph_task.phonon.save(tmp_path / "phonopy_params.yaml", settings={"force_constants": True})

    res = sigma_of_reference_frames(read(tmp_path / "frames.extxyz", index=":"), load_model("eam"),
                                    tmp_path / "phonopy_params.yaml")
    assert res["reference"]["n_frames"] == len(frames) > 40
    assert res["model"]["sigma_mean"] == pytest.approx(res["reference"]["sigma_mean"], abs=1e-6)
    assert res["classes"]["model"] == res["classes"]["reference"] == "weakly anharmonic"
    # the same through the command line: a sigma run folder of its own, nothing in the current directory
    main(["sigma", "--reference", str(tmp_path / "frames.extxyz"), "--model", "eam", "--fc",
          str(tmp_path / "phonopy_params.yaml"), "--runs-dir", str(tmp_path / "sig")])
    (sig,) = (tmp_path / "sig").iterdir()
    assert sig.name == "Cu-eam-sigma-frames"
    cli_res = json.loads((sig / "results.json").read_text())
    assert cli_res["model"]["sigma_mean"] == pytest.approx(res["model"]["sigma_mean"], abs=1e-12)
    assert not list(Path.cwd().glob("sigma-*.json"))

    main(["sigma", "--run", str(run_dir)])
    sigma_dir = run_dir.parent / f"{run_dir.name}-sigma-fc-model"  # a run folder of its own, beside the MD run
    out = json.loads((sigma_dir / "results.json").read_text())
    assert json.loads((sigma_dir / "summary.json").read_text())["status"] == "completed"
    assert 0 < out["sigma_mean"] < 0.5 and (sigma_dir / "figures" / "sigma.png").is_file()
    assert out["system"] == "Cu" and res["system"] == "Cu"

    # the two files as one material each of a σ-class table: reference-frames route, and the run vs the frames
    (tmp_path / "sigma-ref.json").write_text(json.dumps(res))
    main(["sigma-matrix", str(tmp_path / "sigma-ref.json"), "--pair", "Cu-md", str(sigma_dir),
          str(tmp_path / "sigma-ref.json"), "--out", str(tmp_path / "matrix")])
    doc = json.loads((tmp_path / "matrix" / "sigma-matrix.json").read_text())
    assert [r["material"] for r in doc["rows"]] == ["Cu", "Cu-md"]
    assert doc["rows"][1]["sigma_model"] == pytest.approx(out["sigma_mean"])
    assert doc["rows"][1]["sigma_reference"] == pytest.approx(res["reference"]["sigma_mean"])
    assert doc["confusion"]["counts"][0][0] == 2 and doc["confusion"]["agreement"] == 1.0


def test_sigma_matrix_counts_classes_over_materials(tmp_path, capsys):
    """Three materials: two classes agree, one strongly anharmonic material the model calls weak."""
    from clihelp import fails

    from harness.cli import main

    def result(name, s_ref, s_mod):
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps({"system": name, "model_name": "m", "classes": {},
                                    "reference": {"sigma_mean": s_ref}, "model": {"sigma_mean": s_mod}}))
        return str(path)

    files = [result("A", 0.2, 0.3), result("B", 0.7, 0.4), result("C", 1.3, 1.2)]
    main(["sigma-matrix", *files, "--out", str(tmp_path / "out")])
    doc = json.loads((tmp_path / "out" / "sigma-matrix.json").read_text())
    assert doc["confusion"]["counts"] == [[1, 0, 0], [1, 0, 0], [0, 0, 1]]  # rows reference, columns model
    assert doc["confusion"]["agreement"] == pytest.approx(2 / 3)
    assert doc["sigma_mean_abs_error"] == pytest.approx((0.1 + 0.3 + 0.1) / 3)
    csv_rows = (tmp_path / "out" / "sigma-matrix.csv").read_text().splitlines()
    assert csv_rows[0].startswith("material,") and csv_rows[2].startswith("B,m,0.7,strongly anharmonic,0.4,weakly")
    assert "| strongly anharmonic | 1 | 0 | 0 |" in (tmp_path / "out" / "sigma-matrix.md").read_text()
    assert (tmp_path / "out" / "confusion.png").stat().st_size > 5_000

    run_like = tmp_path / "run-sigma.json"
    run_like.write_text(json.dumps({"sigma_mean": 0.3}))
    assert "pair it with a reference" in fails(capsys, "sigma-matrix", str(run_like))
    (tmp_path / "other.json").write_text(json.dumps({"classes": {}, "reference": {}}))
    assert "not a result of `harness sigma`" in fails(capsys, "sigma-matrix", str(tmp_path / "other.json"))
    assert "no sigma results" in fails(capsys, "sigma-matrix")


RAYON_PROBE = """
import os
from harness._env import set_thread_defaults
set_thread_defaults()
import numpy as np
from phonopy import Phonopy
from phonopy.structure.atoms import PhonopyAtoms
unit = PhonopyAtoms(symbols=["Cu"] * 4, cell=np.eye(3) * 3.6, masses=[63.5] * 4,
                    scaled_positions=[[0, 0, 0], [0, .5, .5], [.5, 0, .5], [.5, .5, 0]])
ph = Phonopy(unit, supercell_matrix=np.eye(3, dtype=int) * 2, primitive_matrix="P")
n = len(ph.supercell)
fc = np.random.default_rng(0).normal(0, 0.1, (n, n, 3, 3))
ph.force_constants = fc + fc.transpose(1, 0, 3, 2)
ph.run_mesh([24, 24, 24], with_group_velocities=True, is_gamma_center=True)
me, busy = os.getpid(), 0
for t in os.listdir(f"/proc/{me}/task"):
    f = open(f"/proc/{me}/task/{t}/stat").read().rsplit(")", 1)[1].split()
    busy += int(t) != me and int(f[11]) + int(f[12]) > 5  # threads besides the main one, > 0.05 CPU-s
print(os.environ["OMP_NUM_THREADS"], os.environ["RAYON_NUM_THREADS"], busy)
"""


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads threads from /proc (Linux)")
def test_phonopys_rust_pool_takes_the_harness_thread_count():
    """phonopy's Rust extension runs a rayon pool that OMP_NUM_THREADS does not govern (a screen
    part given one CPU ran two threads): the harness gives rayon the OpenMP count — the user's,
    Slurm's CPUs per task, or the cores it may use — and with one, no thread besides the main one
    does phonopy's work."""
    import os
    import subprocess
    import sys

    def probe(**env):
        clean = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "RAYON_NUM_THREADS")
                 and not k.startswith("SLURM_")}
        out = subprocess.run([sys.executable, "-c", RAYON_PROBE], env={**clean, **env}, capture_output=True,
                             text=True, check=True).stdout.split()
        return out[0], out[1], int(out[2])

    assert probe(OMP_NUM_THREADS="1") == ("1", "1", 0)
    assert probe(SLURM_JOB_ID="7", SLURM_CPUS_PER_TASK="1") == ("1", "1", 0)
    assert probe(OMP_NUM_THREADS="1", RAYON_NUM_THREADS="2")[1] == "2"  # the user's own rayon count stays
    cores = len(os.sched_getaffinity(0))
    omp, rayon, busy = probe()
    assert omp == rayon == str(cores)
    if cores > 1:
        assert busy >= 1  # the pool works beside the main thread when it may
