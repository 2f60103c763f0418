"""Production campaigns on a cluster: run folders rendered for a profile, submitted as job
arrays, tracked, collected and resubmitted.

A campaign is a folder ``<runs>/jobs-<tag>/`` holding ``campaign.json`` (the members, each a
harness run folder of any task with its own job script, and every submission), one array
script per resource shape (members needing the same number of tasks share an array; task *i*
runs member *i*'s job script) and the collect job's script, all rendered from
``templates/jobs/<scheduler>*.j2``. Members already completed are reused; resubmitting sends
exactly the members that failed, as a sparse array (``--array=3,7``), and they continue from
their restarts (``harness execute --resume``). The scheduler is reached only through its
adapter (:func:`harness.jobs.scheduler.adapter`).
"""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path

from .. import __version__
from ..errors import ConfigError
from ..files import file_mode, write_json, write_text
from ..lammps.render import render
from ..provenance import now
from ..report.tables import fmt, markdown, write_csv
from ..runs import load_run
from .profiles import ClusterProfile
from .scheduler import SchedulerError, SchedulerUnreachable, adapter
from .states import CAMPAIGN, latest_campaign, load_campaign, member_states, read_campaign

JOB = "job.sh"
LOGS = "logs"


# ---------------------------------------------------------------------- members
def member_ranks(task, profile: ClusterProfile) -> tuple[int, int]:
    """(MPI tasks of the job, ranks per replica to pass to ``harness execute --ranks``)."""
    if task.replicas > 1:
        # one rank (one GPU) per replica (NEB image) when the profile has that many tasks;
        # otherwise the band on one process (the serial evaluator, which `auto` picks on a node
        # with fewer cores than images)
        room = profile.tasks_per_node * profile.nodes
        evaluator = getattr(task.settings, "evaluator", "auto")
        if evaluator == "serial" or (evaluator == "auto" and task.replicas > room):
            return 1, 1
        if task.replicas > room:
            raise ConfigError(f"{task.replicas} images on partitions need {task.replicas} tasks; profile "
                              f"{profile.name} offers {room} ({profile.nodes} node(s) × {profile.tasks_per_node}): "
                              f"raise nodes or tasks_per_node in it, or use --evaluator serial (or auto)")
        return task.replicas, 1
    engine = getattr(task, "engine", None)
    if engine is not None and engine.max_ranks_per_replica is None and task.max_ranks is None:
        return profile.ranks, profile.ranks  # classic / ML-IAP decks: LAMMPS' domain decomposition
    return 1, 1  # the bridge (and the tasks a Python loop drives): one rank


def member_gpus(task, profile: ClusterProfile, ntasks: int) -> int:
    """GPUs per node a member's job asks for: one per MPI rank on the node (at most the node's)
    when its engine runs LAMMPS on GPUs (ML-IAP with Kokkos) or its model on them (the bridge's
    torch calculators: one per replica's process), one for a task that trains a model on a GPU
    (``wants_gpu``), none otherwise."""
    if not profile.gpus_per_node:
        return 0
    if getattr(task, "wants_gpu", False):  # a trainer: one process, one GPU
        return 1
    engine, model = getattr(task, "engine", None), getattr(task, "model", None)
    if engine is None or not (engine.uses_gpus or (model is not None and engine.model_on_gpu(model))):
        return 0
    return min(profile.gpus_per_node, ntasks, profile.tasks_per_node)


def tasks_per_node(ntasks: int, profile: ClusterProfile) -> int:
    """Ranks per node, stated in the script (without it Slurm may put more ranks on a node than
    it has GPUs)."""
    return min(ntasks, profile.tasks_per_node)


def job_context(task, run_dir: Path, profile: ClusterProfile) -> dict:
    """Variables of a member's job template (``templates/jobs/<scheduler>.sh.j2``)."""
    ntasks, ranks = member_ranks(task, profile)
    record = load_run(run_dir)
    staged = record.model.get("staged") or {}
    engine = getattr(task, "engine", None)
    model = getattr(task, "model", None)
    engine_ctx = engine.job_context(model) if engine is not None and model is not None else {}
    gpus = member_gpus(task, profile, ntasks)
    memory = profile.memory_for(task.name)
    launch_one = " ".join(["srun", "--ntasks=1", *profile.srun_args]) if profile.launcher == "srun" else ""
    command = f"{profile.harness} execute . --resume --ranks {ranks} --stop-after {profile.stop_after_s}"
    return {"harness_version": __version__, "profile": profile, "run": run_dir.name, "task": task.name,
            "engine": engine.name if engine is not None else None, "script_name": JOB, "ranks": ranks,
            "ntasks": ntasks, "nodes": _nodes(ntasks, profile), "gpus_per_node": gpus,
            "tasks_per_node": tasks_per_node(ntasks, profile),
            # pysqa's names for the same things, for templates ported from pysqa
            "job_name": run_dir.name, "working_directory": str(Path(run_dir).resolve()), "cores": ntasks,
            "run_time_max": profile.walltime_s, "memory_max": memory, "memory": memory, "command": command,
            "lammps_args": engine.lammps_args(gpus) if engine is not None and gpus else [],
            "model_links": (staged.get("declared") or {}).get("links", []), "launch_one": launch_one,
            "mliap_file": engine_ctx.get("mliap_file", ""), "weights_name": engine_ctx.get("weights_name", ""),
            "export_dtype": engine_ctx.get("export_dtype", "")}


def _nodes(ntasks: int, profile: ClusterProfile) -> int:
    return max(1, math.ceil(ntasks / profile.tasks_per_node))


def render_job(task, run_dir: Path, profile: ClusterProfile) -> Path:
    """``job.sh`` of one run folder for this profile (``harness jobs render``, and every member of
    a campaign: the array script runs it)."""
    path = Path(run_dir) / JOB
    write_text(path, render(f"jobs/{profile.scheduler}.sh.j2", **job_context(task, Path(run_dir), profile)))
    path.chmod(file_mode(0o777))
    return path


def check_walltime(task, run_dir: Path, profile: ClusterProfile) -> None:
    """A run that cannot reach one restart before its walltime would never progress: refused,
    when its cost per step is known (a previous attempt recorded it)."""
    interval = task.restart_interval
    if interval is None:
        return
    ms = load_run(run_dir).ms_per_step
    if not ms:
        return
    needed = interval * ms / 1000
    if needed > profile.stop_after_s:
        raise ConfigError(f"the walltime of profile {profile.name} ({profile.walltime}, stopping "
                          f"{profile.restart_margin} before it) is shorter than one restart interval of "
                          f"{run_dir.name}: {interval} steps × {ms:.1f} ms/step = {needed:.0f} s")


def create(tasks: list, profile: ClusterProfile, runs_dir: Path, tag: str, *, overwrite: bool = False,
           stage_model: str = "copy", model_path_on_cluster: str | None = None,
           reference_dir: Path | None = None, rendered: bool = False) -> Path:
    """Render (or reuse) every member's run folder with its job script, and the campaign's array
    and collect scripts; submits nothing. ``rendered``: the tasks are those of folders already in
    ``runs_dir`` (``harness jobs submit RUN_DIR…``), taken as they are."""
    from ..names import validate_name, validate_path
    from ..tasks.base import check_reusable, render_run

    validate_name("tag", tag)
    runs_dir = Path(runs_dir).resolve()
    validate_path("--runs-dir", str(runs_dir))  # it reaches #SBATCH --output= and the array's list as written
    if len(tasks) > profile.max_array:
        raise ConfigError(f"{len(tasks)} members: more than profile {profile.name} allows in one array "
                          f"(max_array: {profile.max_array})")
    names = [t.run_name for t in tasks]
    if len(set(names)) != len(names):
        raise ConfigError(f"two members would share a run folder: {sorted({n for n in names if names.count(n) > 1})}")
    out = runs_dir / f"jobs-{tag}"
    if (out / CAMPAIGN).is_file() and not overwrite:
        raise ConfigError(f"campaign {out} already exists: `harness jobs status {out}`, or --overwrite")
    for task in tasks:  # every member folder kept must be the one asked for, before anything is written
        run_dir = runs_dir / task.run_name
        if rendered:
            if not run_dir.is_dir():
                raise ConfigError(f"{run_dir}: not a run folder of this campaign's folder")
            continue
        if run_dir.exists() and not overwrite:
            check_reusable(task, run_dir, "render the campaign into another --runs-dir, or replace its members "
                                          "with --overwrite")
    members = []
    for task in tasks:
        run_dir = runs_dir / task.run_name
        if not rendered and (overwrite or not run_dir.exists()):
            render_run(task, runs_dir, overwrite=overwrite, stage_model=stage_model,
                       model_path_on_cluster=model_path_on_cluster)
        check_walltime(task, run_dir, profile)
        render_job(task, run_dir, profile)
        ntasks, ranks = member_ranks(task, profile)
        members.append({"run": str(run_dir), "name": run_dir.name, "task": task.name, "ntasks": ntasks,
                        "ranks": ranks, "gpus": member_gpus(task, profile, ntasks),
                        "memory": profile.memory_for(task.name), **task.labels()})
    out.mkdir(parents=True, exist_ok=True)
    (out / LOGS).mkdir(exist_ok=True)
    # one array per resource shape: MPI tasks, GPUs per node, memory (a task's own in the profile)
    groups: dict[tuple[int, int, str], list[int]] = defaultdict(list)
    for i, m in enumerate(members):
        groups[(m["ntasks"], m["gpus"], m["memory"] or "")].append(i)
    arrays = []
    for (ntasks, gpus, memory), idx in sorted(groups.items()):
        group = f"n{ntasks}" + (f"g{gpus}" if gpus else "") + (f"m{memory}" if memory != (profile.memory or "") else "")
        for k, i in enumerate(idx):
            members[i].update(group=group, index=k)
        script = out / f"array-{group}.sh"
        write_text(script, render(f"jobs/{profile.scheduler}-array.sh.j2", harness_version=__version__, profile=profile,
                                  job_name=f"{out.name}-{group}", ntasks=ntasks, cores=ntasks,
                                  nodes=_nodes(ntasks, profile), tasks_per_node=tasks_per_node(ntasks, profile),
                                  gpus_per_node=gpus, memory=memory, members=[members[i] for i in idx],
                                  log_pattern=str(out / LOGS / "%A_%a.out"), script_name=script.name))
        script.chmod(file_mode(0o777))
        arrays.append({"group": group, "script": script.name, "members": idx})
    collect = out / "collect.sh"
    write_text(collect, render(f"jobs/{profile.scheduler}-collect.sh.j2", harness_version=__version__, profile=profile,
                               queue_partition=profile.collect_partition, queue_walltime=profile.collect_walltime,
                               job_name=f"{out.name}-collect", campaign=out.name, campaign_dir=str(out),
                               memory=profile.memory_for("collect"),
                               log_pattern=str(out / LOGS / "collect-%j.out")))
    collect.chmod(file_mode(0o777))
    write_json(out / CAMPAIGN, {"campaign": out.name, "created": now(), "cluster": profile.name,
                                "scheduler": profile.scheduler, "profile": profile.source,
                                "reference_dir": str(Path(reference_dir).resolve()) if reference_dir else None,
                                "members": members, "arrays": arrays, "submissions": []})
    return out


# ---------------------------------------------------------------------- submit
def submit(out: Path, indices: list[int] | None = None, *, collect: bool = True) -> list[dict]:
    """Every array (or just the members ``indices``) to the scheduler after ``sbatch --test-only``,
    then the collect job depending on them (``afterany``). Returns the submissions."""
    out = Path(out)
    doc = read_campaign(out)
    sched = adapter(doc["scheduler"])
    ok, why = sched.available()
    if not ok:
        by_hand = "; ".join(sched.by_hand(out / a["script"], sched.array_spec(list(range(len(a["members"])))))
                            for a in doc["arrays"])
        raise SchedulerError(f"{why}: the rendered scripts are usable by hand where {doc['scheduler']} is: {by_hand}")
    chosen = set(range(len(doc["members"]))) if indices is None else set(indices)
    new = []
    for arr in doc["arrays"]:
        sent = [i for i in arr["members"] if i in chosen]
        idx = [doc["members"][i]["index"] for i in sent]
        if not idx:
            continue
        script = out / arr["script"]
        sched.submit(script, array=sched.array_spec(idx), test_only=True, cwd=out)  # pre-flight
        job_id = sched.submit(script, array=sched.array_spec(idx), cwd=out)
        # indices: the array's task ids; members: the campaign's numbers (what `jobs status` shows)
        new.append({"group": arr["group"], "job_id": job_id, "indices": idx, "members": sent, "submitted": now()})
    if collect and new:
        dep = "afterany:" + ":".join(s["job_id"] for s in new)
        cid = sched.submit(out / "collect.sh", dependency=dep, cwd=out)
        for s in new:
            s["collect_job_id"] = cid
    doc["submissions"] += new
    write_json(out / CAMPAIGN, doc)
    return new


# ---------------------------------------------------------------------- resubmit, collect
RETRY = ("failed", "timeout", "memory", "node-failure", "not-submitted")  # (cancelled: only when asked)


def to_resubmit(rows: list[dict], include_cancelled: bool = False) -> list[dict]:
    """The member rows (:func:`member_states`) to send again: failed for any reason, timed out,
    never submitted; cancelled ones (someone's scancel, on purpose) only with ``include_cancelled``."""
    retry = RETRY + (("cancelled",) if include_cancelled else ())
    return [r for r in rows if r["state"] in retry]


def resubmit(out: Path, include_cancelled: bool = False) -> tuple[list[dict], list[dict]]:
    """The members :func:`to_resubmit` picks, as sparse arrays; (submissions, the members sent)."""
    again = to_resubmit(member_states(out), include_cancelled)
    if not again:
        return [], []
    return submit(out, [r["index"] for r in again]), again


def cancel(out: Path) -> list[str]:
    """``scancel`` every job of the campaign the scheduler still has queued or running (one line
    when the scheduler cannot be reached: nothing can be cancelled from here then)."""
    doc = read_campaign(out)
    sched = adapter(doc["scheduler"])
    ok, why = sched.available()
    if not ok:
        raise SchedulerUnreachable(f"cannot cancel the jobs of {Path(out).name}: {why}")
    jobs = []
    for sub in doc["submissions"]:
        for job in (sub["job_id"], sub.get("collect_job_id")):
            if job and job not in jobs and any(t.state in ("pending", "running") for t in sched.status(job)):
                sched.cancel(job)
                jobs.append(job)
    return jobs


def collect(out: Path, reference_dir: Path | None = None, progress: bool = False) -> dict:
    """Collect every completed member (analysis, comparison with ``<reference_dir>/<system>.*``)
    and the campaign table: each metric's mean ± spread (sample standard deviation) over seeds."""
    import numpy as np

    from ..tasks.base import results_of, task_class

    out = Path(out)
    doc = read_campaign(out)
    reference_dir = reference_dir or doc.get("reference_dir")
    states = {r["index"]: r for r in member_states(out)}
    rows = []
    for i, m in enumerate(doc["members"]):
        row = {k: m.get(k) for k in ("name", "task", "system", "model", "seed")}
        row["state"] = states[i]["state"]
        if row["state"] == "completed":
            run_dir = Path(m["run"])
            res = results_of(run_dir, progress=progress)
            kind = task_class(m["task"])
            row.update(kind.metrics(res))
            if reference_dir is not None:
                row.update(kind.reference_errors(run_dir, Path(reference_dir), m.get("system")))
        rows.append(row)
    metrics = sorted({k for r in rows for k, v in r.items() if isinstance(v, (int, float)) and k not in ("seed",)})
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in rows:
        groups[(r["task"], r["system"], r["model"])].append(r)
    table = []
    for (task, system, model), members in groups.items():
        entry = {"task": task, "system": system, "model": model, "n_members": len(members),
                 "n_completed": sum(r["state"] == "completed" for r in members)}
        for k in metrics:
            vals = np.array([r[k] for r in members if r.get(k) is not None], dtype=float)
            entry[k] = float(vals.mean()) if len(vals) else None
            entry[f"{k}_spread"] = float(vals.std(ddof=1)) if len(vals) > 1 else None
            entry[f"{k}_n"] = int(len(vals))
        table.append(entry)
    pooled = {}
    for name in dict.fromkeys(m["task"] for m in doc["members"]):
        done = [Path(m["run"]) for i, m in enumerate(doc["members"]) if m["task"] == name
                and states[i]["state"] == "completed"]
        summary = task_class(name).campaign_summary(out, done) if done else {}
        if summary:
            pooled[name] = summary
    result = {"campaign": doc["campaign"], "collected": now(), "members": rows, "table": table,
              **({"pooled": pooled} if pooled else {}),
              "definitions": {"mean": "over the completed members (seeds) of a system × model",
                              "spread": "sample standard deviation over those members (ddof 1)"}}
    write_json(out / "results.json", result)
    _write_tables(out, table, metrics)
    return result


def _write_tables(out: Path, table: list[dict], metrics: list[str]) -> None:
    cols = ["task", "system", "model", "n_members", "n_completed"] + [c for k in metrics for c in (k, f"{k}_spread")]
    write_csv(out / "results.csv", table, cols)
    rows = [[e["task"], e["system"] or "", e["model"] or "", f"{e['n_completed']}/{e['n_members']}"]
            + [f"{fmt(e[k])} ± {fmt(e[k + '_spread'])}" if e.get(k + "_spread") is not None else fmt(e[k])
               for k in metrics] for e in table]
    md = ["# Campaign results (mean ± spread over seeds)", ""] + markdown(["task", "system", "model", "completed"]
                                                                            + metrics, rows)
    write_text(out / "results.md", "\n".join(md) + "\n")


__all__ = ["cancel", "collect", "create", "load_campaign", "latest_campaign", "member_states", "render_job", "resubmit",
           "submit"]
