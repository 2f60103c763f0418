"""``harness run``, ``harness md``, ``harness render``: NVT molecular dynamics of one system with one model."""

from __future__ import annotations

from pathlib import Path

import click

from .options import (
    OBSERVABLE_OPTIONS,
    md_options,
    no_progress_option,
    partial_option,
    ranks_option,
    resume_option,
    run_command,
    skip_option,
)


def md_task(kw: dict, *, render_only: bool = False):
    from ..config import md_settings
    from ..tasks.md import MDTask

    settings = md_settings(kw["system"], kw["model"], kw["preset"], temperature_K=kw["temperature_K"],
                           steps=kw["steps"], timestep_fs=kw["timestep_fs"], engine=kw["engine"], relax=kw["relax"],
                           seed=kw["seed"], tag=kw["tag"], thermostat=kw["thermostat"],
                           **{k: kw[k] for k in OBSERVABLE_OPTIONS})
    return MDTask(settings, render_only=render_only)


@click.command()
@md_options
@resume_option
@ranks_option
@skip_option
@no_progress_option
def run(resume, ranks, skip, no_progress, **kw):
    """MD, then analysis and figures: the whole pipeline (what `make run` calls)."""
    from ..tasks.analyze import parse_skip

    skipped = parse_skip(skip)
    run_command(md_task(kw), kw["runs_dir"], overwrite=kw["overwrite"], resume=resume, ranks=ranks,
                progress=not no_progress, collect_options={"skip": skipped}, stage_model=kw["stage_model"])


@click.command()
@md_options
@resume_option
@ranks_option
@no_progress_option
def md(resume, ranks, no_progress, **kw):
    """NVT molecular dynamics only (analyse later with `harness analyze RUN_DIR`)."""
    from ..runs import load_run

    run_dir = run_command(md_task(kw), kw["runs_dir"], overwrite=kw["overwrite"], resume=resume, ranks=ranks,
                          progress=not no_progress, collect=False, stage_model=kw["stage_model"])
    t = load_run(run_dir).timings
    if t.get("ms_per_step"):
        click.echo(f"md done: {t['md_steps']} steps, {t['ms_per_step']:.1f} ms/step, wall {t['wall_s']:.1f} s",
                   err=True)


@click.command()
@md_options
@click.option("--nodes", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--gpus-per-node", type=click.IntRange(min=0), default=0, show_default=True,
              help=">0 renders the Kokkos GPU launch line")
@click.option("--tasks-per-node", type=click.IntRange(min=1), default=None)
@click.option("--walltime", default="24:00:00", show_default=True, help="[D-]HH:MM:SS, more than zero")
@click.option("--partition", default=None)
@click.option("--model-path-on-cluster", default=None, metavar="PATH",
              help="where the model's weights file is on the cluster: not copied; job.sh links model/ to it")
def render(nodes, gpus_per_node, tasks_per_node, walltime, partition, model_path_on_cluster, **kw):
    """Write the MD run folder (deck, data, job script, model) without running it, for any engine."""
    from ..config.resources import JobResources
    from ..names import validate_path
    from ..tasks.base import render_run

    job = JobResources(nodes=nodes, gpus_per_node=gpus_per_node, tasks_per_node=tasks_per_node, walltime=walltime,
                       partition=partition)
    validate_path("--model-path-on-cluster", model_path_on_cluster)
    task = md_task(kw, render_only=True)
    for line in task.header():
        click.echo(line, err=True)
    run_dir = render_run(task, kw["runs_dir"], overwrite=kw["overwrite"], job=job, stage_model=kw["stage_model"],
                         model_path_on_cluster=model_path_on_cluster)
    click.echo(f"rendered {run_dir}/in.lammps and {run_dir}/job.sh (engine: {task.choice.name}; {task.choice.reason})")


@click.command()
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@partial_option
@skip_option
@no_progress_option
def analyze(run_dir, partial, skip, no_progress):
    """RDF, VDOS, MSD/diffusion and pressure of an MD run -> results.json and figures.

    A run that did not complete (killed, failed, still running) is analysed on what it wrote
    with --partial. A missing observable makes the command fail (exit 4) unless --skip names it.
    """
    from ..tasks.analyze import analyze_run, check_complete, parse_skip

    results = analyze_run(run_dir, progress=not no_progress, partial=partial, skip=parse_skip(skip))
    for line in results.get("headline", []):
        click.echo(line)
    click.echo(f"results: {run_dir / 'results.json'}")
    check_complete(results)


COMMANDS = [run, md, render, analyze]
