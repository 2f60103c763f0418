"""One shape for every task: render → execute → collect from a run folder, a status for every task,
the launch seam (in-process and real MPI ranks), names validated once, no engine branching in tasks."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.singlepoint import SinglePointCalculator
from clihelp import fails
from runfiles import thermo_rows

from harness.cli import main

HARNESS = Path(__file__).resolve().parent.parent / "harness"


def summary(run_dir: Path) -> dict:
    return json.loads((run_dir / "summary.json").read_text())


def labelled_cu(path: Path) -> Path:
    """Two rattled Cu frames labelled by EMT (a reference-frames file)."""
    from ase.calculators.emt import EMT

    from harness.io.frames import write_frames

    frames = []
    for seed in (0, 1):
        a = bulk("Cu", "fcc", a=3.615, cubic=True).repeat(2)
        a.rattle(0.1, seed=seed)
        a.calc = EMT()
        a.calc = SinglePointCalculator(a, energy=a.get_potential_energy(), forces=a.get_forces(), stress=a.get_stress())
        frames.append(a)
    return write_frames(path, frames)


# ----------------------------------------------------------------------------- render + execute
def test_md_render_then_execute_then_collect(tmp_path, capsys):
    runs = tmp_path / "runs"
    main(["render", "--system", "Cu", "--model", "eam", "--steps", "40", "--runs-dir", str(runs)])
    (run_dir,) = runs.iterdir()
    assert summary(run_dir)["status"] == "rendered" and not (run_dir / "thermo.dat").exists()
    main(["status", str(run_dir)])
    assert "task md  rendered" in capsys.readouterr().out
    main(["execute", str(run_dir), "--no-progress"])
    s = summary(run_dir)
    assert s["status"] == "completed" and s["launch"] == {"launcher": "in-process", "ranks": 1, "partitions": 1}
    assert s["started"] <= s["finished"] and s["timings"]["md_steps"] == 40
    assert thermo_rows(run_dir)[-1, 0] == 40 and not (run_dir / "results.json").exists()
    main(["status", str(run_dir)])
    assert "completed  step 40/40" in capsys.readouterr().out
    main(["collect", str(run_dir), "--no-progress"])
    res = json.loads((run_dir / "results.json").read_text())
    assert res["temperature"]["target_K"] == 1000 and summary(run_dir)["results"] == "results.json"


@pytest.mark.slow
def test_phonons_render_then_execute_equals_one_shot(tmp_path, capsys):
    """A rendered phonons folder executed later (as a job would) gives the numbers of `harness phonons`."""
    args = ["phonons", "--system", "Cu", "--model", "eam", "--mesh", "6", "6", "6"]
    main(args + ["--runs-dir", str(tmp_path / "a"), "--render-only"])
    (run_dir,) = (tmp_path / "a").iterdir()
    assert summary(run_dir)["status"] == "rendered" and (run_dir / "phonopy_disp.yaml").is_file()
    assert not (run_dir / "phonopy_params.yaml").exists()
    main(["execute", str(run_dir), "--collect", "--no-progress"])
    assert "max frequency" in capsys.readouterr().out
    later = json.loads((run_dir / "results.json").read_text())
    assert summary(run_dir)["status"] == "completed" and summary(run_dir)["engine"]["name"] == "classic"
    main(args + ["--runs-dir", str(tmp_path / "b")])
    (once,) = (tmp_path / "b").iterdir()
    direct = json.loads((once / "results.json").read_text())
    assert later["max_frequency_THz"] == pytest.approx(direct["max_frequency_THz"], abs=1e-12)
    assert later["dos"]["total"] == pytest.approx(direct["dos"]["total"], abs=1e-12)
    # collect reruns from the folder alone (a new process would): the force constants are read back
    main(["collect", str(run_dir)])
    again = json.loads((run_dir / "results.json").read_text())
    assert again["max_frequency_THz"] == pytest.approx(direct["max_frequency_THz"], abs=1e-6)


def test_every_task_reports_its_status(tmp_path, capsys):
    """Every task renders a folder with a status; execute moves it to completed or failed (with the reason)."""
    runs = tmp_path / "runs"
    frames = str(labelled_cu(tmp_path / "cu.extxyz"))
    main(["md", "--system", "Cu", "--model", "eam", "--steps", "20", "--runs-dir", str(runs), "--no-progress",
          "--tag", "done"])
    md_run = runs / "Cu-eam-md-done"
    rendered = {
        "phonons": ["phonons", "--system", "Cu", "--model", "eam"],
        "singlepoint": ["singlepoint", "--model", "emt", "--reference", frames],
        "softening": ["softening", "--model", "emt", "--reference", frames],
        "sigma": ["sigma", "--run", str(md_run)],
        "highenergy": ["highenergy", "--system", "Cu", "--model", "eam", "--steps", "20"],
        "md": ["render", "--system", "Cu", "--model", "eam", "--tag", "later"],
    }
    for task, args in rendered.items():
        main(args + ["--runs-dir", str(runs)] + ([] if task == "md" else ["--render-only"]))
    capsys.readouterr()
    main(["status", "--runs-dir", str(runs)])
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 7
    for task in rendered:
        assert any(f"task {task}  rendered" in ln for ln in lines), (task, lines)
    assert any("task md  completed" in ln for ln in lines)

    for folder in runs.iterdir():
        if summary(folder)["task"] in ("singlepoint", "softening", "sigma", "highenergy"):
            main(["execute", str(folder), "--collect", "--no-progress"])
            assert summary(folder)["status"] == "completed", folder
            assert (folder / "results.json").is_file()
    sp = json.loads((runs / "emt-singlepoint-cu" / "results.json").read_text())
    assert sp["force_rmse_eV_A"] < 1e-6  # EMT against its own labels, through LAMMPS

    boom = ["md", "--system", "Cu", "--model", "eam", "--timestep", "20", "--temperature", "3000", "--tag", "boom",
            "--runs-dir", str(runs), "--no-progress"]
    fails(capsys, *boom, code=3)
    main(["status", str(runs / "Cu-eam-md-boom")])
    line = capsys.readouterr().out
    assert "failed" in line and "error: MD stopped between steps" in line


def test_request_round_trip_rebuilds_every_task(tmp_path):
    """summary.json's request rebuilds the same task: what `harness execute` relies on on another machine."""
    from harness.config import (
        MDSettings,
        PhononsSettings,
        SinglePointSettings,
        SofteningSettings,
        load_model,
        load_system,
        md_settings,
    )

    frames = str(labelled_cu(tmp_path / "cu.extxyz"))
    for settings in (md_settings("Pt3Co", "emt", "dynamat", temperature_K=500, steps=10, seed=7, tag="x"),
                     PhononsSettings(model=load_model("eam"), system=load_system("Cu"), supercell=(2, 2, 2)),
                     SinglePointSettings(model=load_model("emt"), reference=frames, energy_reference="mean-offset"),
                     SofteningSettings(model=load_model("mace:medium"), reference=frames, fit=True, fit_frames=(0,))):
        request = json.loads(json.dumps(settings.request()))
        again = type(settings).from_request(request)
        assert again == settings, type(settings).__name__
        assert again.request() == settings.request()
    assert isinstance(MDSettings.from_request(md_settings("Cu", "eam").request()), MDSettings)


# ----------------------------------------------------------------------------- the launch seam
def test_mpi_ranks_give_the_in_process_trajectory(tmp_path):
    """The same classic MD deck on 2 MPI ranks (mpiexec, domain decomposition) and in-process."""
    base = ["md", "--system", "Cu", "--model", "eam", "--steps", "200", "--runs-dir", str(tmp_path), "--no-progress"]
    main(base + ["--tag", "serial"])
    main(base + ["--tag", "mpi", "--ranks", "2"])
    serial, mpi = tmp_path / "Cu-eam-md-serial", tmp_path / "Cu-eam-md-mpi"
    assert summary(mpi)["launch"] == {"launcher": "mpiexec", "ranks": 2, "partitions": 1}
    assert "1 by 1 by 2 MPI processor grid" in (mpi / "log.lammps").read_text()
    a, b = thermo_rows(serial), thermo_rows(mpi)
    assert a.shape == b.shape and np.array_equal(a[:, 0], b[:, 0])
    # the same dynamics; only the summation order differs between decompositions
    assert np.allclose(a[:10], b[:10], rtol=1e-9, atol=1e-9)
    assert np.allclose(a[:, 1], b[:, 1], rtol=1e-3)
    assert summary(mpi)["timings"]["md_steps"] == 200


def test_the_bridge_refuses_more_ranks(tmp_path, capsys):
    msg = fails(capsys, "md", "--system", "Cu", "--model", "emt", "--steps", "4", "--ranks", "2",
                "--runs-dir", str(tmp_path))
    assert "1 rank(s) per replica; 2 were asked for" in msg


def test_mpi_errors_reach_the_user_in_one_line(tmp_path, capsys):
    """A blow-up on MPI ranks: the root rank's error, exit code 3, the run marked failed."""
    msg = fails(capsys, "md", "--system", "Cu", "--model", "eam", "--timestep", "20", "--temperature", "3000",
                "--ranks", "2", "--runs-dir", str(tmp_path), "--no-progress", code=3)
    assert "MD stopped between steps" in msg
    (run_dir,) = tmp_path.iterdir()
    assert summary(run_dir)["status"] == "failed"


def test_job_script_launch_lines_come_from_the_launcher():
    from harness.lammps.launch import Mpiexec, Srun

    assert Srun(ntasks=1).line(["harness", "execute", ".", "--resume"]) == "srun --ntasks=1 harness execute . --resume"
    assert Srun().line(['"$LMP"', "-in", "in.lammps"]) == 'srun "$LMP" -in in.lammps'
    mpi = Mpiexec(4, partitions=4)
    assert mpi.prefix()[1:] == ["-n", "4"] and Path(mpi.prefix()[0]).name == "mpiexec"
    with pytest.raises(Exception, match="cannot be split"):
        Mpiexec(3, partitions=2)


# ----------------------------------------------------------------------------- names and tags
@pytest.mark.parametrize("tag", ["a;b", "a\nb", "../escape", "a b", ".hidden", "x/y"])
def test_bad_tags_are_one_line_and_exit_2(tag, tmp_path, capsys):
    runs = tmp_path / "runs"
    for args in (["md", "--system", "Cu", "--model", "eam"], ["phonons", "--system", "Cu", "--model", "eam"],
                 ["campaign", "--systems", "Cu", "--models", "eam"]):
        msg = fails(capsys, *args, "--tag", tag, "--runs-dir", str(runs))
        assert "is not a valid name" in msg and "letters, digits" in msg
    assert not runs.exists() and not (tmp_path / "escape").exists()


def test_bad_names_in_yaml_files(tmp_path, capsys):
    system = tmp_path / "Evil.yaml"
    system.write_text('name: "../evil;rm"\ntemperature_K: 300\nstructure: {prototype: fcc, elements: [Cu], a_A: 3.6}\n'
                      'presets: {quick: {supercell: [2, 2, 2], timestep_fs: 1.0, steps: 10}}\n')
    msg = fails(capsys, "md", "--system", str(system), "--model", "eam", "--runs-dir", str(tmp_path / "runs"))
    assert "Evil.yaml" in msg and "key 'name'" in msg and "letters, digits" in msg
    model = tmp_path / "m.yaml"
    model.write_text("name: \"x\\ny\"\nfamily: emt\nengines: [bridge]\n")
    msg = fails(capsys, "md", "--system", "Cu", "--model", str(model), "--runs-dir", str(tmp_path / "runs"))
    assert "m.yaml" in msg and "key 'name'" in msg
    assert "unknown system '../Cu'" in fails(capsys, "md", "--system", "../Cu", "--runs-dir", str(tmp_path / "runs"))
    assert not (tmp_path / "runs").exists()


def test_closed_sets_are_choices_with_one_spelling(capsys):
    from harness import catalog
    from harness.cli import cli
    from harness.cli.options import ENGINES

    REGISTERED = catalog.names("engine")

    assert set(ENGINES) == {"auto", *REGISTERED}
    msg = fails(capsys, "md", "--engine", "warp")
    assert msg == "harness: error: --engine: unknown engine 'warp' (valid: auto, mliap, bridge, classic)"
    spellings = {}
    for cmd in cli.commands.values():
        for p in cmd.params:
            for opt in getattr(p, "opts", []):
                spellings.setdefault(p.name, set()).add(opt)
    assert "--timestep-fs" not in set().union(*spellings.values())  # the MD time step is --timestep everywhere
    assert spellings["timestep_fs"] == {"--timestep"}


# ----------------------------------------------------------------------------- the architecture
def test_tasks_never_branch_on_engines_nor_talk_to_lammps():
    for path in sorted((HARNESS / "tasks").glob("*.py")):
        text = path.read_text()
        assert not re.search(r"(engine|choice)\.name ==", text), path.name
        assert not re.search(r"^\s*(import lammps|from lammps\b)", text, re.M), path.name
        assert "new_lammps" not in text and ".command(" not in text, path.name


def test_task_registry_knows_every_task():
    from harness import catalog
    from harness.tasks.base import Task, register, task_class

    for name in catalog.names("task"):
        assert task_class(name).name == name
    with pytest.raises(ValueError, match="registered twice"):
        register(type("Other", (Task,), {"name": "md"}))
    assert task_class("md").__name__ == "MDTask"
