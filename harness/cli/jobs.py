"""``harness jobs``: production on a cluster. Render run folders with job scripts for a cluster
profile (``clusters/<name>.yaml``), submit them as job arrays over systems × models × seeds,
follow them, collect them, resubmit what failed."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import ConfigError
from ..tasks.build import BUILDABLE  # (light: no task is imported until one is built)
from .options import (
    OBSERVABLE_OPTIONS,
    Choice,
    apply,
    energy_reference_option,
    engine_option,
    md_options,
    observable_options,
    overwrite_option,
    preset_option,
    runs_dir_option,
    split_list,
    stage_option,
    steps_option,
    temperature_option,
    timestep_option,
)

TASKS = BUILDABLE
cluster_option = click.option("--cluster", "-c", required=True,
                              help="clusters/<CLUSTER>.yaml or a YAML path (`harness list clusters`)")
CAMPAIGN = click.argument("campaign", required=False, type=click.Path(file_okay=False, path_type=Path))


def _campaign(campaign: Path | None, runs_dir: Path) -> Path:
    from ..jobs.campaign import latest_campaign, load_campaign

    return load_campaign(campaign) if campaign is not None else latest_campaign(runs_dir)


def _model_path_option(fn):
    return click.option("--model-path-on-cluster", default=None, metavar="PATH",
                        help="where the model's weights are on the cluster: not copied; the job links model/ to it")(fn)


@click.group()
def jobs():
    """Run folders as cluster jobs: render, submit (arrays), status, collect, resubmit, cancel."""


@jobs.command()
@cluster_option
@md_options
@_model_path_option
def render(cluster, model_path_on_cluster, **kw):
    """One MD run folder with the job script for a cluster profile; submits nothing."""
    from ..jobs.campaign import render_job
    from ..jobs.profiles import load_profile
    from ..names import validate_path
    from ..tasks.base import render_run
    from .md import md_task

    profile = load_profile(cluster)
    validate_path("--model-path-on-cluster", model_path_on_cluster)
    task = md_task(kw, render_only=True)
    for line in task.header():
        click.echo(line, err=True)
    run_dir = render_run(task, kw["runs_dir"], overwrite=kw["overwrite"], stage_model=kw["stage_model"],
                         model_path_on_cluster=model_path_on_cluster)
    job = render_job(task, run_dir, profile)
    click.echo(f"rendered {run_dir} and {job.name} for cluster {profile.name}: submit with "
               f"(cd {run_dir} && sbatch {job.name}), or `harness jobs submit`")


def _member_options(fn):
    return apply(fn, [
        cluster_option,
        click.option("--task", type=Choice(TASKS, "task"), default="md", show_default=True),
        click.option("--systems", "--system", "systems", default=None, help="comma-separated systems (inputs/)"),
        click.option("--models", "--model", "models", default=None, help="comma-separated models (potentials/)"),
        click.option("--frames", default=None,
                     help="softening, singlepoint, sigma: comma-separated files of labelled frames (extxyz, "
                          "vasprun.xml, OUTCAR); one member per file × model"),
        click.option("--seeds", type=click.IntRange(min=1), default=1, show_default=True,
                     help="replicas per system × model (velocity seeds --seed, --seed+1, ...): every metric "
                          "is reported as mean ± spread over them"),
        click.option("--seed", "seed0", type=int, default=12345, show_default=True, help="the first seed"),
        preset_option, temperature_option, steps_option, timestep_option, engine_option,
        click.option("--hop", default="vacancy", show_default=True, help="NEB (--task neb): the hop"),
        click.option("--images", type=click.IntRange(min=3), default=7, show_default=True,
                     help="NEB (--task neb): images (one rank, or GPU, each)"),
        click.option("--miller", default=None, help="surfaces: the planes [default: every distinct one up to 1]"),
        click.option("--defects", "defect_kinds", default=None,
                     help="defects: vacancy,antisite,interstitial [default: vacancies (+ antisites)]"),
        click.option("--mix", default=None, help="mixing: A:B, the parent's A sites take A or B"),
        click.option("--max-size", type=click.IntRange(min=1), default=4, show_default=True,
                     help="mixing: supercells of up to this many primitive cells"),
        energy_reference_option,
        click.option("--fc", default=None, help="sigma: the reference's force constants (phonopy yaml)"),
        click.option("--fc-forces", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
                     help="sigma: FORCE_SETS or vasprun.xml files for --fc"),
        click.option("--reference-dir", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
                     help="references <DIR>/<system>.*: trajectories (md), tables or DFT folders (surfaces, "
                          "defects, mixing); collect compares each member with its own"),
        click.option("--tag", default=None, help="campaign folder jobs-<TAG> [default: from systems and models]"),
        runs_dir_option, overwrite_option, stage_option, _model_path_option, *observable_options,
    ])


def _tasks(kw: dict) -> list:
    """Every member: system × model × seed (MD), system × model (the other crystal tasks), or
    frames file × model (softening, singlepoint, sigma)."""
    from ..config import load_model
    from ..tasks.build import FRAME_TASKS, build_task

    task, models = kw["task"], split_list(kw["models"]) or []
    on_frames = task in FRAME_TASKS
    where = split_list(kw["frames"]) if on_frames else split_list(kw["systems"])
    if not where or not models:
        what = "--frames (labelled frames files)" if on_frames else "--systems"
        raise ConfigError(f"give {what} and --models (members rendered here), or run folders rendered before "
                          f"(`harness <task> … --render-only`) as arguments")
    if on_frames and kw["systems"]:
        raise ConfigError(f"task {task} is computed on labelled frames (--frames), not on --systems")
    if kw["seeds"] > 1 and task != "md":
        raise ConfigError(f"--seeds is for MD: {task} has no velocity seed")
    for m in models:
        load_model(m)  # an unknown name is one line before anything is written
    options = {"engine": kw["engine"], **{
        "md": dict(preset=kw["preset"], temperature_K=kw["temperature_K"], steps=kw["steps"],
                   timestep_fs=kw["timestep_fs"], **{k: kw[k] for k in OBSERVABLE_OPTIONS}),
        "neb": dict(hop=kw["hop"], images=kw["images"], timestep_fs=kw["timestep_fs"]),
        "surfaces": dict(miller=kw["miller"]), "defects": dict(defects=kw["defect_kinds"]),
        "mixing": dict(mix=kw["mix"], max_size=kw["max_size"]),
        "singlepoint": dict(energy_reference=kw["energy_reference"]),
        "sigma": dict(fc=kw["fc"], fc_forces=kw["fc_forces"])}.get(task, {})}
    seeds = [kw["seed0"] + k for k in range(kw["seeds"])] if task == "md" else [None]
    return [build_task(task, model, render_only=True, seed=seed, **{"frames" if on_frames else "system": place},
                       **options)
            for place in where for model in models for seed in seeds]


def echo_submissions(out: Path, subs: list[dict]) -> None:
    for s in subs:
        click.echo(f"submitted {s['group']}: job array {s['job_id']} (members {','.join(map(str, s['members']))}, "
                   f"array tasks {','.join(map(str, s['indices']))}: job ids {s['job_id']}_<task>)"
                   + (f", collect job {s['collect_job_id']} after it" if s.get("collect_job_id") else ""))
    click.echo(f"campaign: {out}  (harness jobs status {out})")


def _rendered(run_dirs: tuple[Path, ...], kw: dict) -> tuple[list, Path]:
    """The tasks of run folders rendered before (any task), and their common parent folder."""
    from ..tasks.base import load_task

    if kw["systems"] or kw["models"]:
        raise ConfigError("give run folders, or --systems and --models, not both")
    parents = {Path(d).resolve().parent for d in run_dirs}
    if len(parents) > 1:
        raise ConfigError(f"the run folders sit in {len(parents)} different folders; a campaign's members share "
                          f"one (--runs-dir): {', '.join(sorted(map(str, parents)))}")
    return [load_task(d, render_only=True) for d in run_dirs], parents.pop()


@jobs.command()
@_member_options
@click.argument("run_dirs", nargs=-1, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--render-only", is_flag=True, help="write the campaign and its scripts; submit nothing")
@click.option("--no-collect", is_flag=True, help="no collect job after the arrays")
def submit(run_dirs, render_only, no_collect, **kw):
    """Submit run folders of any task rendered before (RUN_DIRS), or render every member (systems ×
    models × seeds, or frames files × models; --task) here; one job array per resource shape, then
    a collect job that runs when they have ended (afterany)."""
    from ..jobs.campaign import create
    from ..jobs.campaign import submit as submit_campaign
    from ..jobs.profiles import load_profile
    from ..names import safe_name
    from ..tasks.build import FRAME_TASKS

    profile = load_profile(kw["cluster"])
    if run_dirs:
        tasks, kw["runs_dir"] = _rendered(run_dirs, kw)
        tag = kw["tag"] or safe_name("-".join(sorted({t.name for t in tasks})) + f"-{len(tasks)}runs")
    else:
        tasks = _tasks(kw)
        where = [Path(f).stem for f in split_list(kw["frames"])] if kw["task"] in FRAME_TASKS else \
            split_list(kw["systems"])
        tag = kw["tag"] or safe_name(f"{kw['task']}-{'_'.join(where)}-{'_'.join(split_list(kw['models']))}")
    out = create(tasks, profile, kw["runs_dir"], tag, overwrite=kw["overwrite"], stage_model=kw["stage_model"],
                 model_path_on_cluster=kw["model_path_on_cluster"], reference_dir=kw["reference_dir"],
                 rendered=bool(run_dirs))
    click.echo(f"rendered {len(tasks)} members and their array scripts in {out}", err=True)
    if render_only:
        click.echo(f"campaign: {out}  (submit with: harness jobs submit-campaign {out})")
        return
    echo_submissions(out, submit_campaign(out, collect=not no_collect))


@jobs.command("submit-campaign")
@CAMPAIGN
@runs_dir_option
@click.option("--no-collect", is_flag=True, help="no collect job after the arrays")
def submit_campaign(campaign, runs_dir, no_collect):
    """Submit a campaign rendered with `harness jobs submit --render-only`."""
    from ..jobs.campaign import submit as submit_

    out = _campaign(campaign, runs_dir)
    echo_submissions(out, submit_(out, collect=not no_collect))


@jobs.command()
@CAMPAIGN
@runs_dir_option
def status(campaign, runs_dir):
    """Each member: pending, running (step, ETA), completed, failed / timeout / memory / ... (why)."""
    from collections import Counter

    from ..jobs.campaign import member_states

    out = _campaign(campaign, runs_dir)
    rows = member_states(out)
    width = max((len(r["run"]) for r in rows), default=10)
    for r in rows:
        job = r["job"] or "-"
        click.echo(f"{r['index']:3d}  {r['run']:{width}s}  {job:>12s}  {r['state']:13s} {r['why']}".rstrip())
    counts = Counter(r["state"] for r in rows)
    click.echo(f"{out.name}: " + ", ".join(f"{n} {state}" for state, n in sorted(counts.items())))
    unknown = [r for r in rows if r["state"] == "unknown"]
    if unknown:
        from ..jobs.scheduler import SchedulerUnreachable

        raise SchedulerUnreachable(f"{len(unknown)} member(s) unknown: {unknown[0]['why']}")


@jobs.command()
@CAMPAIGN
@runs_dir_option
@click.option("--reference-dir", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="reference trajectories <DIR>/<system>.* [default: the campaign's]")
@click.option("--no-progress", is_flag=True, help="no progress lines on stderr")
def collect(campaign, runs_dir, reference_dir, no_progress):
    """Analyse the completed members and write the campaign table (mean ± spread over seeds)."""
    from ..jobs.campaign import collect as collect_

    out = _campaign(campaign, runs_dir)
    result = collect_(out, reference_dir, progress=not no_progress)
    click.echo((out / "results.md").read_text().rstrip())
    click.echo(f"results: {out / 'results.json'} (and results.md, results.csv)")
    missing = [m["name"] for m in result["members"] if m["state"] != "completed"]
    if missing:
        click.echo(f"{len(missing)} member(s) not completed: {', '.join(missing)} (harness jobs resubmit {out})",
                   err=True)


@jobs.command()
@CAMPAIGN
@runs_dir_option
@click.option("--include-cancelled", is_flag=True, help="also the members someone cancelled (scancel)")
def resubmit(campaign, runs_dir, include_cancelled):
    """Exactly the members that failed or timed out (a sparse array), continuing from their restarts;
    cancelled members only with --include-cancelled."""
    from ..jobs.campaign import resubmit as resubmit_

    out = _campaign(campaign, runs_dir)
    subs, again = resubmit_(out, include_cancelled)
    if not again:
        click.echo(f"{out.name}: nothing to resubmit (no failed or timed-out member"
                   f"{'' if include_cancelled else '; cancelled ones with --include-cancelled'})")
        return
    for r in again:
        click.echo(f"resubmitting {r['run']} ({r['state']}{': ' + r['why'] if r['why'] else ''})", err=True)
    echo_submissions(out, subs)


@jobs.command()
@CAMPAIGN
@runs_dir_option
def cancel(campaign, runs_dir):
    """Cancel every job of the campaign still queued or running (scancel)."""
    from ..jobs.campaign import cancel as cancel_

    out = _campaign(campaign, runs_dir)
    jobs_ = cancel_(out)
    for job in jobs_:
        click.echo(f"cancelled {job}")
    if not jobs_:
        click.echo(f"{out.name}: no job queued or running; nothing cancelled")


COMMANDS = [jobs]
