"""Faults a production run meets, injected for real: `harness execute --resume` killed with SIGKILL
at 20 moments of one classic-EAM run (during start-up, mid-chunk, right after an output), with the
newest restart file cut to 0 bytes or to half its size after some kills (what a kill or a full
disk during a restart write leaves). The run resumes every time, from the newest complete restart,
and ends with the uninterrupted run's thermo rows at every step and its dump frames, each once.

Also here: a second process is refused while one runs in a folder, `--overwrite` never deletes a
folder whose run is going, and a completed run can be extended (only its number of steps grows).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from clihelp import fails
from runfiles import dump_steps, thermo_rows

from harness.cli import main

ROOT = Path(__file__).resolve().parent.parent
# 864 Cu atoms, ~1 ms per step here: 4,000 steps are long enough to kill 20 times, short enough
# for the suite. Restarts every 200 steps (100, on the in-situ blocks' steps), thermo every 20, frames
# every 40.
SYSTEM = """name: CuKill
temperature_K: 800
structure: {prototype: fcc, elements: [Cu], a_A: 3.615}
presets:
  kill: {supercell: [6, 6, 6], timestep_fs: 2.0, steps: 4000, dump_every: 40, thermo_every: 20, restart_every: 100}
"""
ENV = dict(os.environ, HARNESS_ROOT=str(ROOT))
HARNESS = [sys.executable, "-m", "harness"]


def last_row(run_dir: Path) -> int:
    """The step of the last complete thermo row (-1: none yet)."""
    path = run_dir / "thermo.dat"
    if not path.is_file():
        return -1
    with open(path, "rb") as fh:
        fh.seek(0, os.SEEK_END)
        fh.seek(max(0, fh.tell() - 2000))
        lines = fh.read().decode(errors="replace").split("\n")
    for line in reversed(lines[:-1]):  # the last piece has no newline yet
        if line.strip() and not line.startswith("#"):
            return int(line.split()[0])
    return -1


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("faults")
    (base / "CuKill.yaml").write_text(SYSTEM)
    return base


def render(runs: Path, tag: str, *extra: str) -> Path:
    main(["render", "--system", str(runs / "CuKill.yaml"), "--model", "eam", "--tag", tag, "--runs-dir",
          str(runs / "runs"), *extra])
    return runs / "runs" / f"CuKill-eam-md-{tag}"


@pytest.mark.slow
def test_a_run_killed_twenty_times_ends_like_the_uninterrupted_one(runs, capsys):
    ref = render(runs, "whole")
    main(["execute", str(ref), "--no-progress"])
    run = render(runs, "killed")
    rng = random.Random(20)
    targets = np.linspace(150, 3850, 18).astype(int).tolist()
    moments = [("start-up", 0.15)] + [("step", t) for t in targets[:9]] + [("start-up", 0.6)] + \
              [("step", t) for t in targets[9:]]
    cut = {3: 0, 7: 0.5, 12: 0, 16: 0.5, 19: 0}  # kill k: newest restart cut to this fraction of its size
    notes, killed_at = [], []
    for k, (kind, when) in enumerate(moments):
        log = runs / f"segment{k}.log"
        with open(log, "w") as out:
            proc = subprocess.Popen(HARNESS + ["execute", str(run), "--resume", "--no-progress"], env=ENV,
                                    stdout=out, stderr=out)
            t0 = time.time()
            if kind == "start-up":
                time.sleep(when)  # before (or while) LAMMPS reads its restart
            else:
                while last_row(run) < when:
                    assert proc.poll() is None, f"kill {k}: the run ended before step {when}: {log.read_text()}"
                    assert time.time() - t0 < 60
                    time.sleep(0.002)
                time.sleep(rng.uniform(0, 0.03))  # anywhere in the next chunk, output or restart write
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        killed_at.append(last_row(run))
        if k in cut:
            newest = max(run.glob("restart.[ab]"), key=lambda p: p.stat().st_mtime)
            os.truncate(newest, int(newest.stat().st_size * cut[k]))
            notes.append((k + 1, newest.name))
    assert len(moments) == 20 and max(killed_at) >= targets[-1] and sorted(killed_at) == killed_at
    main(["execute", str(run), "--resume", "--no-progress"])
    err = capsys.readouterr().err
    assert "completed (md)" in err
    for k, name in notes:  # the resume after a cut restart said so, and took the older one
        text = (runs / f"segment{k}.log").read_text() if k < 20 else err
        assert f"{name} is not usable" in text and "resuming CuKill-eam-md-killed from restart." in text, text
    for deck in run.glob("in.resume*.lammps"):  # the file a resume read is the last it writes over
        text = deck.read_text()
        read = text.split("read_restart")[1].split()[0]
        order = text.split("\nrestart ")[1].split()[1:3]
        assert read not in order or order.index(read) == 1, (deck.name, read, order)

    assert json.loads((run / "summary.json").read_text())["status"] == "completed"
    a, b = thermo_rows(run), thermo_rows(ref)
    assert np.array_equal(a[:, 0], b[:, 0]) and len(np.unique(a[:, 0])) == len(a)  # every step once
    # the same trajectory: restarts carry positions, velocities and the thermostat's state exactly;
    # thermo.dat is written with 6 significant digits (fix ave/time's %g)
    np.testing.assert_allclose(a[:, 1:], b[:, 1:], rtol=1e-5, atol=1e-8)
    assert dump_steps(run) == dump_steps(ref)
    from harness.io.lammps_dump import index_dump, iter_dump

    for (fa, _), (fb, _) in zip(iter_dump(index_dump(run / "traj.lammpstrj"), ["Cu"]),
                                iter_dump(index_dump(ref / "traj.lammpstrj"), ["Cu"])):
        np.testing.assert_allclose(fa.positions_A, fb.positions_A, atol=1e-5)


def test_one_process_at_a_time_in_a_run_folder(runs, capsys):
    """A second execute, an --overwrite or a resume while a run is going: refused naming the
    holder; the running one is untouched and completes; status says running, then completed."""
    run = render(runs, "busy", "--steps", "4000")
    proc = subprocess.Popen(HARNESS + ["execute", str(run), "--no-progress"], env=ENV,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        t0 = time.time()
        while last_row(run) < 100:
            assert proc.poll() is None and time.time() - t0 < 60
            time.sleep(0.01)
        for argv in (["execute", str(run), "--no-progress"], ["execute", str(run), "--resume"],
                     ["md", "--system", str(runs / "CuKill.yaml"), "--model", "eam", "--tag", "busy", "--runs-dir",
                      str(runs / "runs"), "--overwrite", "--steps", "40"]):
            msg = fails(capsys, *argv)
            assert f"in use by pid {proc.pid} on " in msg and "harness execute" in msg, msg
        main(["status", str(run)])
        assert "  running  " in capsys.readouterr().out
    finally:
        proc.wait(timeout=120)
    assert proc.returncode == 0, proc.stderr.read()
    main(["status", str(run)])
    assert "  completed  step 4000/4000" in capsys.readouterr().out


def test_a_completed_run_grows_only_in_steps(runs, capsys):
    """`--resume --steps N` with more steps continues a completed run from its final restart to
    N (its deck and summary ask for N); the thermo rows equal those of a run made N long at once."""
    sysfile = str(runs / "CuKill.yaml")
    args = ["--system", sysfile, "--model", "eam", "--runs-dir", str(runs / "runs"), "--no-progress"]
    main(["md", *args, "--steps", "400", "--tag", "grow"])
    main(["md", *args, "--steps", "600", "--tag", "grow", "--resume"])
    run = runs / "runs" / "CuKill-eam-md-grow"
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["request"]["steps"] == 600
    assert "run             600\n" in (run / "in.lammps").read_text()
    main(["md", *args, "--steps", "600", "--tag", "once"])
    a, b = thermo_rows(run), thermo_rows(runs / "runs" / "CuKill-eam-md-once")
    assert np.array_equal(a[:, 0], b[:, 0])
    np.testing.assert_allclose(a[:, 1:], b[:, 1:], rtol=1e-5, atol=1e-8)
    capsys.readouterr()
    main(["execute", str(run), "--overwrite", "--no-progress"])  # asked for: a new run from the start
    assert "completed (md)" in capsys.readouterr().err
    assert not list(run.glob("in.resume*")) and np.array_equal(thermo_rows(run)[:, 0], b[:, 0])
