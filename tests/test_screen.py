"""`harness screen`: phonons and σ^(2) over many materials, and what one material now reports.

Synthetic references from EMT Cu force constants (cheap, exact expectations): Φ/0.81 (the model
is softened by exactly 0.9 in frequency), Φ itself in the primitive (triclinic) cell,
Φ − 1.5 Φ_NN (a reference with an imaginary branch), and a folder without forces. The DFT
sets in ../shared (NaCl with BORN, Si) as two materials of a screen with a tiny untrained MACE:
the table equals `harness phonons` on each alone.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from ase.build import bulk
from clihelp import fails

from harness.cli import main

DFT = Path(__file__).resolve().parents[2] / "shared" / "data" / "phonopy-dft"
needs_dft = pytest.mark.skipif(not DFT.is_dir(), reason=f"DFT phonon data not found at {DFT} (../shared absent)")
MESH = ["--mesh", "8", "8", "8"]


def nn_springs(ph, r_nn: float) -> np.ndarray:
    """Force constants of unit central springs between nearest neighbours (acoustic sum rule kept)."""
    from harness.analysis.sigma import minimum_image_displacements

    pos, cell = ph.supercell.positions, ph.supercell.cell
    fc = np.zeros((len(pos), len(pos), 3, 3))
    for i in range(len(pos)):
        d = minimum_image_displacements(pos, pos[i][None], cell)
        r = np.linalg.norm(d, axis=1)
        for j in np.flatnonzero(np.abs(r - r_nn) < 0.05):
            fc[i, j] = -np.outer(d[j], d[j]) / r[j] ** 2
        fc[i, i] = -fc[i].sum(axis=0)
    return fc


def write_reference(folder: Path, ph, fc: np.ndarray) -> Path:
    """A phonopy_params.yaml with these force constants only (no displacements, no forces)."""
    from phonopy import Phonopy

    folder.mkdir(parents=True, exist_ok=True)
    ref = Phonopy(ph.unitcell, supercell_matrix=ph.supercell_matrix, primitive_matrix=ph.primitive_matrix)
    ref.force_constants = fc
    ref.save(str(folder / "phonopy_params.yaml"), settings={"force_constants": True})
    return folder / "phonopy_params.yaml"


@pytest.fixture(scope="module")
def cu_refs(tmp_path_factory) -> Path:
    from phonopy import Phonopy

    from harness.analysis.harmonic import DisplacementSettings, to_phonopy
    from harness.config import load_model
    from harness.tasks.displacements import FiniteDisplacements

    refs = tmp_path_factory.mktemp("refs")
    cubic = FiniteDisplacements(load_model("emt"), bulk("Cu", "fcc", a=3.615, cubic=True),
                                DisplacementSettings(supercell_matrix=np.diag([2, 2, 2]).tolist()))
    cubic.produce_force_constants()
    fc = cubic.phonon.force_constants
    write_reference(refs / "Cu-soft", cubic.phonon, fc / 0.81)  # model = 0.81 × reference
    # negative NN springs: the lowest branch of the reference goes imaginary, the others stay real
    write_reference(refs / "Cu-unstable", cubic.phonon, fc - 1.5 * nn_springs(cubic.phonon, 3.615 / np.sqrt(2)))
    prim = FiniteDisplacements(load_model("emt"), bulk("Cu", "fcc", a=3.615),
                               DisplacementSettings(supercell_matrix=np.diag([3, 3, 3]).tolist()))
    prim.produce_force_constants()
    write_reference(refs / "Cu-prim", prim.phonon, prim.phonon.force_constants)  # a triclinic supercell
    broken = Phonopy(to_phonopy(bulk("Cu", "fcc", a=3.615, cubic=True)), supercell_matrix=np.diag([2, 2, 2]),
                     primitive_matrix=cubic.phonon.primitive_matrix)
    broken.generate_displacements(distance=0.01)
    (refs / "broken").mkdir()
    broken.save(str(refs / "broken" / "phonopy_disp.yaml"))  # displacements without forces
    return refs


@pytest.fixture
def count_model_loads(monkeypatch):
    """How many calculators the model families build (every calculator is made by its family's
    ``calculator``: the bridge, shared_calculator and corrected models alike)."""
    from dataclasses import replace

    from harness import catalog
    from harness.models import family

    built = []

    def counting(real):
        def build(spec):
            built.append(spec.label)
            return real(spec)
        return build

    for name in catalog.names("model family"):
        fam = family(name)
        monkeypatch.setitem(catalog._LOADED, ("model family", name), replace(fam, calculator=counting(fam.calculator)))
    return built


def phonopy_thermo(yaml_path: Path, mesh, temperatures, **load):
    """phonopy's own harmonic thermodynamics of a yaml, per atom (eV, J/K/mol of atoms)."""
    import phonopy
    from ase import units

    ph = phonopy.load(str(yaml_path), log_level=0, **load)
    ph.run_mesh(mesh, is_gamma_center=True)
    ph.run_thermal_properties(temperatures=temperatures, exclude_gamma_acoustic=True)
    tp, n = ph.thermal_properties, len(ph.primitive)
    return (np.asarray(tp.free_energy) * units.kJ / units.mol / n, np.asarray(tp.entropy) / n,
            np.asarray(tp.heat_capacity) / n)


def rows_of(runs: Path, folder: str) -> dict:
    doc = json.loads((runs / folder / "screen.json").read_text())
    return doc, {r["material"]: r for r in doc["rows"]}


# ------------------------------------------------------------------------------ screen
@pytest.mark.slow
def test_screen_classes_softening_instability_and_sigma(cu_refs, tmp_path, capsys, count_model_loads):
    """Four reference folders, EMT, σ from 300 K MD: the softened, the unstable and the broken
    material are classed, counted and reported; the model is built once; a rerun reuses."""
    from harness.tasks.sigma import sigma_of_run

    runs = tmp_path / "runs"
    args = ["screen", "--references", str(cu_refs), "--model", "emt", *MESH, "--temperatures", "300",
            "--sigma-md", "300", "--sigma-steps", "300", "--tag", "syn", "--runs-dir", str(runs), "--no-progress"]
    line = fails(capsys, *args, code=4)  # the table is written; one material failed
    assert "1 of 4 materials failed (broken)" in line
    assert count_model_loads == ["emt"]  # once per process: 3 phonons, 3 MD and 6 σ members share it
    doc, rows = rows_of(runs, "screen-emt-syn")

    soft, unstable, prim, broken = (rows[k] for k in ("Cu-soft", "Cu-unstable", "Cu-prim", "broken"))
    assert soft["max_frequency_ratio"] == pytest.approx(0.9, abs=1e-9) and soft["softened"] is True
    assert prim["max_frequency_ratio"] == pytest.approx(1.0, abs=1e-9) and prim["softened"] is False
    assert soft["reference_stable"] and soft["model_stable"] and soft["stability_agreement"] == "both stable"
    assert unstable["reference_stable"] is False and unstable["model_stable"] is True
    assert unstable["stability_agreement"] == "missed instability (model stable)"
    assert unstable["reference_n_imaginary_qpoints"] > 0 and unstable["reference_min_frequency_THz"] < -0.5
    assert unstable["group_velocity_bands_dropped"] == [0] and unstable["thermodynamics_reliable"] is False
    assert soft["group_velocity_bands_dropped"] == [] and soft["thermodynamics_reliable"] is True
    assert broken["status"] == "failed" and broken["reason"].startswith("phonons: ") and "no forces" in broken["reason"]
    s = doc["summary"]
    assert s["stability"]["counts"] == [[2, 0], [1, 0]] and s["stability"]["n_agree"] == 2
    assert s["stability"]["missed_instabilities"] == 1
    assert s["softening"]["n_softened"] == 1 and s["softening"]["n_materials"] == 3
    # σ: Φ from the model (its phonons member) and from the reference, both rotated into the MD cell
    # Cu-prim's reference is the model's own Φ: both protocols agree
    assert (prim["sigma_fc_reference"] == pytest.approx(prim["sigma_fc_model"], abs=1e-8)
            and 0 < prim["sigma_fc_model"] < 0.5)
    assert soft["sigma_fc_reference"] > soft["sigma_fc_model"]  # a stiffer harmonic model misfits the forces
    assert s["sigma_classes"]["n"] == 3 and sum(map(sum, s["sigma_classes"]["counts"])) == 3
    # the triclinic (primitive fcc) cell: the same σ as `harness sigma --run` computing Φ itself
    direct = sigma_of_run(runs / prim["md_run"], fc="model")
    assert prim["sigma_fc_model"] == pytest.approx(direct["sigma_mean"], abs=1e-6)

    out = runs / "screen-emt-syn"
    with open(out / "screen.csv") as fh:
        table = {r["material"]: r for r in csv.DictReader(fh)}
    assert (table["Cu-soft"]["softened"] == "True"
            and float(table["Cu-soft"]["max_frequency_ratio"]) == pytest.approx(0.9))
    assert table["broken"]["status"] == "failed" and "no forces" in table["broken"]["reason"]
    md = (out / "screen.md").read_text()
    assert "| unstable | 1 | 0 |" in md and "- broken: phonons:" in md
    for name in ("max_frequency_ratio", "rmse_omega2", "sigma_error", "stability_confusion", "sigma_confusion"):
        assert (out / "figures" / f"{name}.png").stat().st_size > 5_000, name
    members = (out / "members.txt").read_text().split()
    assert len(members) == 12 and all(Path(m).is_dir() for m in members)

    # thermodynamics: what phonopy itself gives for the same force constants, model and reference
    res = json.loads((runs / soft["phonons_run"] / "results.json").read_text())
    f, s_, cv = phonopy_thermo(runs / soft["phonons_run"] / "phonopy_params.yaml", [8, 8, 8], [300.0])
    th = res["thermodynamics"]
    assert th["helmholtz_free_energy_eV_per_atom"][0] == pytest.approx(f[0], abs=1e-10)
    assert th["entropy_J_per_K_per_mol_atoms"][0] == pytest.approx(s_[0], abs=1e-9)
    assert th["heat_capacity_J_per_K_per_mol_atoms"][0] == pytest.approx(cv[0], abs=1e-9)
    fr, sr, cr = phonopy_thermo(cu_refs / "Cu-soft" / "phonopy_params.yaml", [8, 8, 8], [300.0])
    assert res["comparison"]["thermodynamics"]["reference"]["helmholtz_free_energy_eV_per_atom"][0] == \
        pytest.approx(fr[0], abs=1e-10)
    assert soft["dF_300K_meV_per_atom"] == pytest.approx(1000 * (f[0] - fr[0]), abs=1e-7)
    assert soft["dS_300K_J_per_K_per_mol_atoms"] == pytest.approx(s_[0] - sr[0], abs=1e-8)
    assert soft["dS_300K_J_per_K_per_mol_atoms"] > 0  # softer: more entropy

    # resume: every finished member is reused, the broken folder is tried again and still fails
    with pytest.raises(SystemExit) as exc:
        main(args)
    err = capsys.readouterr().err
    assert exc.value.code == 4 and err.count(": reusing ") == 12 and "broken: FAILED (phonons:" in err
    assert rows_of(runs, "screen-emt-syn")[1]["Cu-soft"]["max_frequency_ratio"] == soft["max_frequency_ratio"]


@pytest.mark.slow
def test_one_material_reports_reference_stability_and_thermodynamics(cu_refs, tmp_path, capsys):
    """`harness phonons --reference` on an unstable reference: its imaginary modes (q-point, lowest
    frequency, tolerance), the disagreement, RMSE(v_g) over real branches only, thermodynamics."""
    ref = cu_refs / "Cu-unstable" / "phonopy_params.yaml"
    main(["phonons", "--model", "emt", "--reference", str(ref), *MESH, "--temperatures", "100,300",
          "--runs-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert "reference: IMAGINARY MODES at " in out and "tolerance 0.05 THz" in out
    assert "DISAGREE (missed instability (model stable))" in out
    assert "over 2 real bands (imaginary bands [0] left out)" in out
    assert "thermodynamics at 300 K, model − reference: F " in out
    (run,) = tmp_path.iterdir()
    c = json.loads((run / "results.json").read_text())["comparison"]
    rs = c["reference_stability"]
    assert not rs["dynamically_stable"] and rs["imaginary_tolerance_THz"] == 0.05
    assert rs["imaginary_modes"][0]["min_frequency_THz"] < -0.05 and len(rs["lowest_mode_q"]) == 3
    assert rs["min_frequency_THz"] == min(m["min_frequency_THz"] for m in rs["imaginary_modes"]) or \
        rs["n_imaginary_qpoints"] > len(rs["imaginary_modes"])
    assert c["model_stability"]["dynamically_stable"] and c["stability_agree"] is False
    assert c["group_velocity_bands_dropped"] == [0] and "left out of RMSE(v_g)" in c["group_velocity_note"]
    assert c["rmse_omega2_reference_stable_THz2"] > 0 and c["n_reference_stable_modes"] < c["n_modes"]
    th = c["thermodynamics"]
    assert th["reference"]["reliable"] is False and "imaginary modes" in th["reference"]["note"]
    assert th["error"]["temperatures_K"] == [100.0, 300.0]
    f, _, _ = phonopy_thermo(ref, [8, 8, 8], [100.0, 300.0])
    assert th["reference"]["helmholtz_free_energy_eV_per_atom"] == pytest.approx(f.tolist(), abs=1e-10)


@pytest.mark.slow
def test_screen_of_structures_render_only_then_job_array(tmp_path, capsys):
    """--structures (no reference): the model's own phonons per file, an unreadable file is a row;
    --render-only writes the member folders for a job array, the next screen collects them."""
    from ase.io import write

    cifs = tmp_path / "cifs"
    cifs.mkdir()
    write(cifs / "Cu-fcc.cif", bulk("Cu", "fcc", a=3.615, cubic=True))
    write(cifs / "Cu-bcc.vasp", bulk("Cu", "bcc", a=2.87, cubic=True), format="vasp")
    (cifs / "garbage.cif").write_text("not a structure\n")
    runs = tmp_path / "runs"
    args = ["screen", "--structures", str(cifs), "--model", "emt", "--mesh", "6", "6", "6", "--supercell", "2", "2",
            "2", "--temperatures", "300", "--runs-dir", str(runs), "--no-progress"]
    main(args + ["--render-only"])
    out = runs / "screen-emt-cifs"
    members = (out / "members.txt").read_text().split()
    assert sorted(Path(m).name for m in members) == ["Cu-bcc-emt-phonons-cifs", "Cu-fcc-emt-phonons-cifs"]
    for m in members:  # what each task of a job array does
        assert json.loads((Path(m) / "summary.json").read_text())["status"] == "rendered"
        main(["execute", m, "--collect", "--no-progress"])
    capsys.readouterr()
    line = fails(capsys, *args, code=4)
    assert "(garbage)" in line
    doc, rows = rows_of(runs, "screen-emt-cifs")
    assert rows["Cu-fcc"]["model_stable"] is True and rows["Cu-bcc"]["model_stable"] is False  # bcc Cu: unstable
    assert rows["Cu-fcc"].get("reference_stable") is None and rows["Cu-fcc"]["F_model_300K_eV_per_atom"] < 0.1
    assert "cannot read structure" in rows["garbage"]["reason"]
    assert doc["summary"]["model_unstable"] == 1 and doc["summary"]["stability"]["n"] == 0
    assert (out / "figures" / "max_frequency_ratio.png").is_file()  # says: no reference, no ratio
    # the failed material repaired: only it is computed, the others are reused
    write(cifs / "garbage.cif", bulk("Cu", "fcc", a=3.7, cubic=True))
    main(args)
    err = capsys.readouterr().err
    assert err.count(": reusing ") == 2 and "garbage phonons: running garbage-emt-phonons-cifs (new)" in err
    assert rows_of(runs, "screen-emt-cifs")[0]["summary"]["n_failed"] == 0


def test_screen_bad_options_are_one_line(tmp_path, capsys):
    assert "--references DIR" in fails(capsys, "screen", "--model", "emt")
    assert "--references DIR" in fails(capsys, "screen", "--references", str(tmp_path), "--structures", str(tmp_path))
    assert "--supercell is for --structures" in fails(capsys, "screen", "--references", str(tmp_path),
                                                      "--supercell", "2", "2", "2")
    assert "--temperatures must be" in fails(capsys, "screen", "--references", str(tmp_path), "--temperatures", "a,b")
    assert "no material folders" in fails(capsys, "screen", "--references", str(tmp_path), "--model", "emt",
                                          "--runs-dir", str(tmp_path / "runs"))


# ------------------------------------------------------------------------------ DFT references
@pytest.fixture(scope="module")
def nacl_si_mace(tmp_path_factory) -> Path:
    """A tiny untrained MACE for Na, Cl and Si (meaningless phonons, the real MACE code path)."""
    import warnings

    from harness.models.mace import build_small_mace

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return build_small_mace(tmp_path_factory.mktemp("mace") / "tiny-NaClSi.model", ["Na", "Cl", "Si"],
                                channels=8, num_interactions=1)


@pytest.mark.slow
@needs_dft
def test_dft_nacl_and_si_screen_equal_phonons_alone(nacl_si_mace, tmp_path, capsys, count_model_loads):
    """NaCl (FORCE_SETS + BORN) and Si (vasprun.xml) as two materials: each row is what
    `harness phonons` gives for that material alone; the model is built once for both."""
    refs = tmp_path / "refs"
    refs.mkdir()
    for name in ("NaCl", "Si"):
        (refs / name).symlink_to(DFT / name, target_is_directory=True)
    model = str(nacl_si_mace)
    main(["screen", "--references", str(refs), "--model", model, "--mesh", "6", "6", "6", "--temperatures", "300",
          "--runs-dir", str(tmp_path / "runs"), "--no-progress"])
    assert len(count_model_loads) == 1
    doc, rows = rows_of(tmp_path / "runs", next(p.name for p in (tmp_path / "runs").glob("screen-*")))
    nacl_summary = json.loads((tmp_path / "runs" / rows["NaCl"]["phonons_run"] / "summary.json").read_text())
    assert nacl_summary["reference"]["born"].endswith("BORN")
    assert nacl_summary["reference"]["forces"][0].endswith("FORCE_SETS")
    alone = {
        "NaCl": ["--reference", str(DFT / "NaCl" / "phonopy_disp.yaml"), "--reference-forces",
                 str(DFT / "NaCl" / "FORCE_SETS"), "--born", str(DFT / "NaCl" / "BORN")],
        "Si": ["--reference", str(DFT / "Si" / "phonopy_disp.yaml"), "--reference-forces",
               str(DFT / "Si" / "vasprun.xml")],
    }
    for name, ref_args in alone.items():
        main(["phonons", "--model", model, *ref_args, "--mesh", "6", "6", "6", "--temperatures", "300",
              "--runs-dir", str(tmp_path / name)])
        (run,) = (tmp_path / name).iterdir()
        res = json.loads((run / "results.json").read_text())
        c, row = res["comparison"], rows[name]
        assert row["status"] == "done"
        for key in ("max_frequency_ratio", "rmse_omega2_THz2", "rmse_omega2_reference_stable_THz2",
                    "mae_frequency_THz", "max_frequency_reference_THz", "max_frequency_model_THz"):
            assert row[key] == pytest.approx(c[key], rel=1e-9, abs=1e-12), (name, key)
        assert (row["rmse_group_velocity_THz_A"] is None) == (c["rmse_group_velocity_THz_A"] is None)
        if c["rmse_group_velocity_THz_A"] is not None:
            assert row["rmse_group_velocity_THz_A"] == pytest.approx(c["rmse_group_velocity_THz_A"], rel=1e-9)
        assert row["reference_stable"] == c["reference_stability"]["dynamically_stable"] is True  # the DFT sets
        assert row["model_stable"] == res["dynamically_stable"]
        assert row["dF_300K_meV_per_atom"] == pytest.approx(
            c["thermodynamics"]["error"]["helmholtz_free_energy_error_meV_per_atom"][0], rel=1e-9, abs=1e-9)
    # the NaCl reference's thermodynamics (with its BORN correction) is phonopy's own
    f, s, cv = phonopy_thermo(DFT / "NaCl" / "phonopy_disp.yaml", [6, 6, 6], [300.0],
                              force_sets_filename=str(DFT / "NaCl" / "FORCE_SETS"),
                              born_filename=str(DFT / "NaCl" / "BORN"))
    run = next((tmp_path / "NaCl").iterdir())
    ref_th = json.loads((run / "results.json").read_text())["comparison"]["thermodynamics"]["reference"]
    assert ref_th["helmholtz_free_energy_eV_per_atom"][0] == pytest.approx(f[0], abs=1e-9)
    assert ref_th["heat_capacity_J_per_K_per_mol_atoms"][0] == pytest.approx(cv[0], abs=1e-8)
