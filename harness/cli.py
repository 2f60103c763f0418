"""The ``harness`` command line: thin. Each command parses options, builds a config, calls the library.

Library errors (:class:`harness.errors.HarnessError`) become one line on stderr and a
non-zero exit; ``--debug`` (or HARNESS_DEBUG=1) shows the traceback instead.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from .errors import HarnessError


def md_options(fn):
    """Options shared by run, md and render (one place, so they cannot drift apart)."""
    decorators = [
        click.option("--system", "-s", default="Pt3Co", show_default=True, help="inputs/<SYSTEM>.yaml or a YAML path"),
        click.option("--model", "-m", default="chgnet", show_default=True,
                     help="potentials/<MODEL>.yaml, MODEL:variant (mace:medium) or a local .model file"),
        click.option("--preset", "-p", default=None, help="preset in the system YAML [default: the system's default]"),
        click.option("--engine", "-e", default="auto", show_default=True, help="auto | mliap | bridge | classic"),
        click.option("--relax", default="none", show_default=True, help="relax with the model before NVT: none | positions | cell"),
        click.option("--temperature", "temperature_K", type=float, default=None, help="K [default: the system's]"),
        click.option("--steps", type=int, default=None, help="override the preset's number of steps"),
        click.option("--timestep", "timestep_fs", type=float, default=None, help="fs [default: the preset's]"),
        click.option("--seed", type=int, default=12345, show_default=True, help="velocity seed"),
        click.option("--thermostat", default=None, help="nose-hoover | csvr [default: the preset's]"),
        click.option("--tag", default=None, help="run folder suffix [default: <preset>-T<temperature>]"),
        click.option("--runs-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("runs"), show_default=True),
        click.option("--overwrite", is_flag=True, help="replace an existing run folder"),
    ]
    for deco in reversed(decorators):
        fn = deco(fn)
    return fn


def labelled_frames_options(fn):
    """--model, --reference, --format, --engine, --no-progress: a model evaluated on labelled
    reference frames (softening, singlepoint)."""
    decorators = [
        click.option("--model", "-m", required=True,
                     help="potentials/<MODEL>.yaml, MODEL:variant, a YAML path or a .model file"),
        click.option("--reference", "-r", required=True, type=click.Path(path_type=Path),
                     help="labelled frames: .extxyz/.xyz, vasprun.xml, OUTCAR or pymatgen-style .json"),
        click.option("--format", "fmt", default=None,
                     help="extxyz | vasp-xml | vasp-out | pymatgen-json [default: from the name]"),
        click.option("--engine", "-e", default="auto", show_default=True, help="auto | mliap | bridge | classic"),
        click.option("--no-progress", is_flag=True, help="no frames/ETA lines on stderr"),
    ]
    for deco in reversed(decorators):
        fn = deco(fn)
    return fn


def _settings(kw: dict):
    from .config import md_settings

    return md_settings(kw["system"], kw["model"], kw["preset"], temperature_K=kw["temperature_K"], steps=kw["steps"],
                       timestep_fs=kw["timestep_fs"], engine=kw["engine"], relax=kw["relax"], seed=kw["seed"],
                       tag=kw["tag"], thermostat=kw["thermostat"])


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="show tracebacks")
@click.version_option(package_name="harness")
def cli(debug):
    """Run machine-learned interatomic potentials inside LAMMPS, analyse and compare."""


@cli.command()
@md_options
@click.option("--resume", is_flag=True, help="continue an interrupted run from its last restart")
@click.option("--no-progress", is_flag=True)
def run(resume, no_progress, **kw):
    """MD, then analysis and figures: the whole pipeline (what `make run` calls)."""
    from .tasks.analyze import analyze_run

    run_dir = _md(kw, resume=resume, progress=not no_progress)
    results = analyze_run(run_dir, progress=not no_progress)
    click.echo(f"results: {run_dir / 'results.json'}")
    for line in results.get("headline", []):
        click.echo(f"  {line}")


@cli.command()
@md_options
@click.option("--resume", is_flag=True, help="continue an interrupted run from its last restart")
@click.option("--no-progress", is_flag=True)
def md(resume, no_progress, **kw):
    """NVT molecular dynamics only (no analysis)."""
    _md(kw, resume=resume, progress=not no_progress)


def _md(kw: dict, *, resume: bool, progress: bool) -> Path:
    from .tasks.md import MDTask

    task = MDTask(_settings(kw), kw["runs_dir"])
    if resume and task.run_dir.exists():
        run_dir = task.run_dir
    else:
        run_dir = task.render(overwrite=kw["overwrite"])
        resume = False
    click.echo(f"run folder: {run_dir}  (engine: {task.choice.name}; {task.choice.reason})", err=True)
    summary = task.execute(run_dir, resume=resume, progress=progress)
    t = summary["timings"]
    if t.get("ms_per_step"):
        click.echo(f"md done: {t['md_steps']} steps, {t['ms_per_step']:.1f} ms/step, wall {t['wall_s']:.1f} s", err=True)
    return run_dir


@cli.command()
@md_options
@click.option("--nodes", type=int, default=1, show_default=True)
@click.option("--gpus-per-node", type=int, default=0, show_default=True, help=">0 renders the Kokkos GPU launch line")
@click.option("--tasks-per-node", type=int, default=None)
@click.option("--walltime", default="24:00:00", show_default=True)
@click.option("--partition", default=None)
def render(nodes, gpus_per_node, tasks_per_node, walltime, partition, **kw):
    """Write the run folder (deck, data, job script) without running it, for any engine."""
    from .tasks.md import MDTask

    task = MDTask(_settings(kw), kw["runs_dir"], render_only=True)
    job = {"nodes": nodes, "gpus_per_node": gpus_per_node, "tasks_per_node": tasks_per_node, "walltime": walltime,
           "partition": partition}
    run_dir = task.render(overwrite=kw["overwrite"], job=job)
    click.echo(f"rendered {run_dir}/in.lammps and {run_dir}/job.sh (engine: {task.choice.name}; {task.choice.reason})")


@cli.command()
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--resume", is_flag=True, help="continue from the last restart if there is one")
@click.option("--no-progress", is_flag=True)
def execute(run_dir, resume, no_progress):
    """Execute a rendered run folder here (e.g. inside a job script)."""
    from .tasks.md import latest_restart, task_from_run_dir

    task = task_from_run_dir(run_dir)
    task.execute(run_dir, resume=resume and latest_restart(run_dir) is not None, progress=not no_progress)


@cli.command()
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--no-progress", is_flag=True)
def analyze(run_dir, no_progress):
    """RDF, VDOS, MSD/diffusion and pressure of a finished run -> results.json and figures."""
    from .tasks.analyze import analyze_run

    results = analyze_run(run_dir, progress=not no_progress)
    for line in results.get("headline", []):
        click.echo(line)


@cli.command("list")
@click.argument("what", type=click.Choice(["systems", "models", "engines"]))
def list_(what):
    """What is registered: systems (inputs/), models (potentials/), engines (and this build's support)."""
    from . import config

    if what == "systems":
        for name in config.list_systems():
            spec = config.load_system(name)
            click.echo(f"{name:10s} {spec.temperature_K:6g} K  presets: {', '.join(spec.presets)}  {spec.description[:60]}")
    elif what == "models":
        for name in config.list_models():
            spec = config.load_model(name)
            variants = f" variants: {', '.join(spec.variants)}" if spec.variants else ""
            offline = "offline" if spec.offline else "download"
            click.echo(f"{name:10s} {spec.family:8s} {offline:8s} engines: {', '.join(spec.engines)}{variants}")
    else:
        from .engines import ENGINES
        from .lammps.probe import probe

        caps = probe()
        click.echo(f"LAMMPS {caps.version}; packages: {len(caps.packages)}; Kokkos: {caps.kokkos}; "
                   f"ML-IAP python: {caps.mliap_python}")
        for name, engine in ENGINES.items():
            ok, why = engine.available(caps)
            click.echo(f"{name:8s} {'yes' if ok else 'no ':3s}  {engine.description}. {why}")


# Commands of other capabilities live in their own modules (``harness/cli_<name>.py``), each
# exporting COMMANDS; heavy imports stay inside the commands so `harness --help` stays fast.
for _module in ("phonons", "softening", "compare"):
    try:
        _mod = __import__(f"harness.cli_{_module}", fromlist=["COMMANDS"])
    except ModuleNotFoundError as _exc:
        if _exc.name != f"harness.cli_{_module}":
            raise
        continue
    for _cmd in _mod.COMMANDS:
        cli.add_command(_cmd)


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv or os.environ.get("HARNESS_DEBUG") == "1"
    try:
        cli.main(args=argv, prog_name="harness", standalone_mode=False)
    except HarnessError as exc:
        if debug:
            raise
        click.echo(f"harness: error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("harness: aborted", err=True)
        sys.exit(130)
    except KeyboardInterrupt:
        click.echo("harness: interrupted (outputs kept; resume with --resume)", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
