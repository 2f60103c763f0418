"""Analysing what an interrupted run wrote (--partial), cut-short tails, and skipped observables
that are never silent: real LAMMPS, a real kill -9."""

from __future__ import annotations

import json
import os
import shutil
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


def summary(run_dir: Path) -> dict:
    return json.loads((run_dir / "summary.json").read_text())


def results(run_dir: Path) -> dict:
    return json.loads((run_dir / "results.json").read_text())


def last_thermo_step(run_dir: Path) -> int:
    path = run_dir / "thermo.dat"
    if not path.is_file():
        return -1
    rows = [ln.split() for ln in path.read_text().splitlines() if ln.strip() and not ln.startswith("#")]
    return int(rows[-2][0]) if len(rows) > 1 else -1


def kill_mid_run(runs: Path, tag: str, steps: int, at_step: int) -> Path:
    """`harness md` in a child process, killed with SIGKILL once thermo.dat passed ``at_step``."""
    args = [sys.executable, "-m", "harness", "md", "--system", "Cu", "--model", "eam", "--steps", str(steps),
            "--tag", tag, "--runs-dir", str(runs), "--no-progress"]
    proc = subprocess.Popen(args, env=dict(os.environ, HARNESS_ROOT=str(ROOT)), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    run_dir = runs / f"Cu-eam-md-{tag}"
    deadline = time.time() + 120
    while last_thermo_step(run_dir) < at_step:
        assert proc.poll() is None, "the run ended before it could be killed"
        assert time.time() < deadline
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return run_dir


def cut_like(full: Path, killed: Path, out: Path) -> Path:
    """A copy of the uninterrupted run holding only the frames and rows the killed run completed."""
    from harness.io.lammps_dump import index_dump

    shutil.copytree(full, out)
    killed_frames = index_dump(killed / "traj.lammpstrj")
    last_frame = int(killed_frames.steps[-1])
    ref = index_dump(out / "traj.lammpstrj")
    later = np.flatnonzero(ref.steps > last_frame)
    if len(later):
        with open(out / "traj.lammpstrj", "r+b") as fh:
            fh.truncate(int(ref.offsets[later[0]]))
    from harness.io.thermo import read_thermo

    last_row = int(read_thermo(killed / "thermo.dat", 2.0)["step"][-1])
    rows = (out / "thermo.dat").read_text().splitlines(keepends=True)
    (out / "thermo.dat").write_text("".join(r for r in rows if r.startswith("#") or int(r.split()[0]) <= last_row))
    return out


def test_killed_run_analysed_partially_equals_the_same_frames_of_a_whole_run(tmp_path, capsys):
    steps = 100_000
    killed = kill_mid_run(tmp_path / "runs", "killed", steps, at_step=2000)
    assert summary(killed)["status"] == "running"  # what a kill -9 leaves
    msg = fails(capsys, "analyze", str(killed))
    assert "the run is 'running', not completed" in msg and "--partial" in msg and "--resume" in msg

    main(["analyze", str(killed), "--partial", "--no-progress"])
    out = capsys.readouterr()
    part = results(killed)
    assert part["partial"]["status"] == "running" and part["partial"]["steps"] == steps
    assert f"partial: {part['partial']['last_step']} of {steps} steps" in out.out
    assert summary(killed)["status"] == "running"  # analysing does not change the run's status
    assert part["skipped"] == {} and part["n_frames"] > 400

    # the same frames cut from an uninterrupted run with the same seed
    main(["md", "--system", "Cu", "--model", "eam", "--steps", str(part["partial"]["last_step"] + 400), "--tag",
          "whole", "--runs-dir", str(tmp_path / "whole"), "--no-progress"])
    whole = cut_like(tmp_path / "whole" / "Cu-eam-md-whole", killed, tmp_path / "cut")
    # a completed run whose files were cut afterwards: refused, then analysed as partial when asked
    assert "was cut or edited after the run" in fails(capsys, "analyze", str(whole))
    main(["analyze", str(whole), "--partial", "--no-progress"])
    ref = results(whole)
    assert ref["n_frames"] == part["n_frames"]
    for section, key in (("rdf", "total"), ("vdos", "total"), ("msd", "msd_A2")):
        np.testing.assert_allclose(part[section][key], ref[section][key], rtol=1e-12, atol=1e-12)
    assert part["temperature"]["mean_K"] == ref["temperature"]["mean_K"]

    # compare and sigma on what the killed run wrote: refused without --partial, computed with it
    assert "--partial" in fails(capsys, "compare", str(killed), "--reference", str(whole / "traj.lammpstrj"))
    main(["compare", str(killed), "--reference", str(whole / "traj.lammpstrj"), "--partial", "--no-progress"])
    assert "partial: the model run is 'running'" in capsys.readouterr().out
    assert "--partial" in fails(capsys, "sigma", "--run", str(killed))
    main(["sigma", "--run", str(killed), "--partial"])
    sig = results(killed.parent / f"{killed.name}-sigma-fc-model")
    assert sig["partial"]["status"] == "running" and 0 < sig["sigma_mean"] < 0.5


def test_a_cut_short_tail_loses_exactly_that_frame_and_row(tmp_path, capsys):
    main(["md", "--system", "Cu", "--model", "eam", "--steps", "400", "--runs-dir", str(tmp_path), "--no-progress"])
    (run_dir,) = tmp_path.iterdir()
    main(["analyze", str(run_dir), "--no-progress"])
    whole = results(run_dir)
    dump, thermo = run_dir / "traj.lammpstrj", run_dir / "thermo.dat"
    dump.write_bytes(dump.read_bytes()[:-100])  # the last frame (step 400) loses its last lines
    text = thermo.read_text()
    thermo.write_text(text[: text.rstrip("\n").rfind("\n") + 1] + "400 12")  # the last row cut short
    capsys.readouterr()
    # a completed run whose last frame and row were cut afterwards: never analysed silently
    msg = fails(capsys, "analyze", str(run_dir))
    assert "thermo.dat ends at step 396, but the run completed 400 steps" in msg and "--partial" in msg
    main(["analyze", str(run_dir), "--partial", "--no-progress"])  # what is left, with a warning and a marker
    out = capsys.readouterr()
    err = out.err
    assert "traj.lammpstrj: the frame at step 400 is cut short: dropped" in err
    assert "thermo.dat: the row after step 396 is cut short: dropped" in err
    cut = results(run_dir)
    assert cut["partial"]["status"] == "completed" and cut["partial"]["last_step"] == 396
    assert "partial: 396 of 400 steps" in out.out and "cut short afterwards" in out.out
    assert cut["n_frames"] == whole["n_frames"] - 1 and cut["skipped"] == {}
    assert cut["temperature"]["mean_K"] != whole["temperature"]["mean_K"]
    assert len(cut["notes"]) == 2


def test_a_skipped_observable_is_printed_and_fails_the_command(tmp_path, capsys):
    """Too few frames for time correlations: VDOS and MSD cannot be computed. Said on the terminal,
    listed in results.json, exit code 4; --skip names them on purpose and the command succeeds."""
    main(["md", "--system", "Cu", "--model", "eam", "--steps", "108", "--runs-dir", str(tmp_path), "--no-progress"])
    (run_dir,) = tmp_path.iterdir()  # 0.216 ps; 0.2 ps of equilibration leave 3 frames (steps 100, 104, 108)
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main(["analyze", str(run_dir), "--no-progress"])
    assert exc.value.code == 4
    out = capsys.readouterr()
    assert "skipped: vdos (3 frames < 4)" in out.out and "skipped: msd (3 frames < 4)" in out.out
    assert "harness: error: results.json lacks vdos (3 frames < 4); msd (3 frames < 4)" in out.err
    assert "--skip vdos,msd" in out.err
    assert results(run_dir)["skipped"] == {"vdos": "3 frames < 4", "msd": "3 frames < 4"}
    main(["analyze", str(run_dir), "--skip", "vdos,msd", "--no-progress"])
    assert results(run_dir)["skipped"] == {"vdos": "left out on request (--skip)",
                                           "msd": "left out on request (--skip)"}
    assert "unknown observable" in fails(capsys, "analyze", str(run_dir), "--skip", "vacf")


def test_an_unreadable_dump_is_an_error_not_a_skip(tmp_path, capsys):
    main(["md", "--system", "Cu", "--model", "eam", "--steps", "40", "--runs-dir", str(tmp_path), "--no-progress"])
    (run_dir,) = tmp_path.iterdir()
    dump = run_dir / "traj.lammpstrj"
    dump.write_text(dump.read_text().replace("ITEM: ATOMS id type xu yu zu", "ITEM: ATOMS id type q1 q2 q3"))
    msg = fails(capsys, "analyze", str(run_dir))
    assert "traj.lammpstrj" in msg and "needs id, type and xu yu zu" in msg
