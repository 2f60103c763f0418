"""``harness execute``, ``harness collect``, ``harness status``: any rendered run folder, any task."""

from __future__ import annotations

from pathlib import Path

import click

from .options import no_progress_option, ranks_option

RUN_DIR = click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))


@click.command()
@RUN_DIR
@click.option("--resume", is_flag=True, help="continue from what an interrupted run left, if it left something")
@ranks_option
@click.option("--stop-after", "stop_after_s", type=click.FloatRange(min=0, min_open=True), default=None,
              metavar="SECONDS", help="stop cleanly (exit code 75) after this long, to be resumed: a job's walltime")
@click.option("--collect", is_flag=True, help="post-process afterwards (results.json, figures); a task whose "
              "post-processing is cheap (NEB) always does")
@click.option("--overwrite", is_flag=True, help="a completed run: remove its outputs and run it again from the start")
@no_progress_option
def execute(run_dir, resume, ranks, stop_after_s, collect, overwrite, no_progress):
    """Execute a rendered run folder here, whatever its task (e.g. inside a job script).

    A completed run is left as it is (a requeued job changes nothing) unless --overwrite."""
    from ..runs import load_run
    from ..tasks.base import collect_run, execute_run, load_task

    name = run_dir.resolve().name
    run = load_run(run_dir)  # read once, handed down
    task = load_task(run)
    resume = resume and task.can_resume(run.path)
    done = execute_run(run, task.launcher_for(ranks), task=task, resume=resume, progress=not no_progress,
                       stop_after_s=stop_after_s, overwrite=overwrite)
    if done is None:
        click.echo(f"{name}: completed already ({task.name}); nothing done (--overwrite runs it again from the "
                   f"start)", err=True)
    else:
        click.echo(f"{name}: completed ({task.name})", err=True)
    if collect or (task.collects_on_execute and done is not None):
        results = collect_run(run, task=task, progress=not no_progress)
        for line in task.headline(results):
            click.echo(line)
        task.check_results(results)


@click.command()
@RUN_DIR
@no_progress_option
def collect(run_dir, no_progress):
    """Post-process an executed run folder of any task into results.json and figures."""
    from ..runs import load_run
    from ..tasks.base import collect_run, load_task

    run = load_run(run_dir)
    task = load_task(run)
    results = collect_run(run, task=task, progress=not no_progress)
    for line in task.headline(results):
        click.echo(line)
    click.echo(f"results: {run_dir / 'results.json'}")
    task.check_results(results)


@click.command()
@click.argument("run_dirs", nargs=-1, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--runs-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("runs"), show_default=True,
              help="where to look when no RUN_DIR is given")
def status(run_dirs, runs_dir):
    """Task and status of run folders (rendered, running, completed, failed, interrupted), and why a run failed.

    `running` means a process holds the folder now; a folder whose process ended without a
    word (kill -9, a crash, a node failure) shows as `interrupted`."""
    from ..errors import ConfigError, RunFolderError
    from ..runs import describe_status, load_run

    if not run_dirs:
        if not runs_dir.is_dir():
            raise ConfigError(f"no run folders: {runs_dir} does not exist")
        run_dirs = sorted(p for p in runs_dir.iterdir() if (p / "summary.json").is_file())
    bad = []
    for run_dir in run_dirs:
        try:
            click.echo(describe_status(load_run(run_dir)))
        except RunFolderError as exc:  # one broken folder does not hide the others
            click.echo(f"{Path(run_dir).name}  unreadable: {exc}")
            bad.append(Path(run_dir).name)
    if bad:
        raise RunFolderError(f"{len(bad)} of {len(run_dirs)} folders could not be read: {', '.join(bad)}")


COMMANDS = [execute, collect, status]
