"""Options shared by several commands, defined once (one spelling and one help text each),
and the one way every task command runs its task.

Only click, the standard library and the catalog of names are imported here: ``harness --help`` stays
fast.
"""

from __future__ import annotations

from pathlib import Path

import click

from .. import catalog

ENGINES = ("auto", *catalog.names("engine"))


class Choice(click.Choice):
    """A closed set whose error names what was asked for and every valid value, in one line."""

    def __init__(self, choices, kind: str):
        super().__init__(list(choices))
        self.kind = kind

    def convert(self, value, param, ctx):
        if value in self.choices:
            return value
        self.fail(f"unknown {self.kind} '{value}' (valid: {', '.join(self.choices)})", param, ctx)


def apply(fn, decorators):
    for deco in reversed(decorators):
        fn = deco(fn)
    return fn


def split_list(text: str | None) -> list[str] | None:
    """``a,b, c`` -> ``['a', 'b', 'c']`` (``None`` for nothing)."""
    if text is None:
        return None
    items = [t.strip() for t in text.split(",") if t.strip()]
    return items or None


# ---------------------------------------------------------------------- single options
def system_option(**kw):
    kw.setdefault("help", "inputs/<SYSTEM>.yaml or a YAML path")
    return click.option("--system", "-s", **kw)


def model_option(**kw):
    kw.setdefault("help", "potentials/<MODEL>.yaml, MODEL:variant (mace:medium), a YAML path or a local .model file")
    return click.option("--model", "-m", **kw)


engine_option = click.option("--engine", "-e", type=Choice(ENGINES, "engine"), default="auto", show_default=True,
                             help="how the model reaches LAMMPS")
tag_option = click.option("--tag", default=None,
                          help="run folder suffix (letters, digits and . _ - +) [default: from the parameters]")
runs_dir_option = click.option("--runs-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("runs"),
                               show_default=True, help="parent folder of the run folders")
overwrite_option = click.option("--overwrite", is_flag=True, help="replace an existing run folder")
energy_reference_option = click.option(
    "--energy-reference", type=Choice(["none", "mean-offset", "isolated-atoms"], "energy reference"), default="none",
    show_default=True,
    help="raw energies, the mean per-atom offset removed, or both sides minus their isolated-atom energies")
no_progress_option = click.option("--no-progress", is_flag=True, help="no progress lines on stderr")
resume_option = click.option("--resume", is_flag=True, help="continue an interrupted run from its last restart")
render_only_option = click.option("--render-only", is_flag=True,
                                  help="write the run folder and stop (run it later with `harness execute RUN_DIR`)")
ranks_option = click.option("--ranks", type=click.IntRange(min=1), default=1, show_default=True,
                            help="MPI ranks (mpiexec) for LAMMPS; engines that run the model in Python use 1")
timestep_option = click.option("--timestep", "timestep_fs", type=float, default=None,
                               help="MD time step, fs [default: the preset's]")
temperature_option = click.option("--temperature", "temperature_K", type=float, default=None,
                                  help="K [default: the system's]")
steps_option = click.option("--steps", type=int, default=None, help="override the preset's number of MD steps")
preset_option = click.option("--preset", "-p", default=None, help="preset in the system YAML [default: the system's]")
seed_option = click.option("--seed", type=int, default=12345, show_default=True, help="velocity seed")
stage_option = click.option("--stage-model", type=Choice(["copy", "link"], "model staging"), default="copy",
                            show_default=True,
                            help="the model's files in the run folder: copied (runs anywhere) or linked (saves disk)")
partial_option = click.option("--partial", is_flag=True,
                              help="use what a run that did not complete wrote (its complete frames and rows)")
skip_option = click.option("--skip", default=None, metavar="OBS[,OBS]",
                           help="leave observables out on purpose: temperature, pressure, rdf, vdos, msd")


def md_options(fn):
    """The MD settings (run, md, render)."""
    from ..config import RELAX_MODES
    from ..config.system import THERMOSTATS

    return apply(fn, [
        system_option(default="Pt3Co", show_default=True),
        model_option(default="chgnet", show_default=True),
        preset_option,
        engine_option,
        click.option("--relax", type=Choice(RELAX_MODES, "relax mode"), default="none", show_default=True,
                     help="relax with the model before NVT"),
        temperature_option,
        steps_option,
        timestep_option,
        seed_option,
        click.option("--thermostat", type=Choice(THERMOSTATS, "thermostat"), default=None,
                     help="[default: the preset's]"),
        tag_option,
        runs_dir_option,
        overwrite_option,
        stage_option,
        *observable_options,
    ])


# what an MD run computes besides its thermo rows (None: the preset's)
observable_options = [
    click.option("--insitu/--no-insitu", "insitu", default=None,
                 help="g(r), MSD and VACF computed by LAMMPS while it runs [default: for cells of 10,000 atoms "
                      "or more]"),
    click.option("--insitu-every", type=click.IntRange(min=1), default=None, metavar="STEPS",
                 help="steps between in-situ samples [default: the dump's or thermo's interval]"),
    click.option("--dump-every", type=click.IntRange(min=0), default=None, metavar="STEPS",
                 help="steps between trajectory frames; 0: no dump [default: the preset's]"),
    click.option("--rdf-rmax", "rdf_r_max_A", type=float, default=None, metavar="Å",
                 help="g(r) range [default: half the narrowest cell width, at most 8 Å in-situ, 12 Å from a dump]"),
    click.option("--rdf-bins", type=click.IntRange(min=10), default=None, help="g(r) bins [default: 500]"),
    click.option("--heat-flux/--no-heat-flux", "heat_flux", default=None,
                 help="write the heat flux J(t) for Green-Kubo thermal conductivity (harness kappa)"),
    click.option("--flux-every", type=click.IntRange(min=1), default=None, metavar="STEPS",
                 help="steps between heat-flux samples [default: 1]"),
]
OBSERVABLE_OPTIONS = ("insitu", "insitu_every", "dump_every", "rdf_r_max_A", "rdf_bins", "heat_flux", "flux_every")


def labelled_frames_options(fn):
    """A model evaluated on labelled reference frames (softening, singlepoint)."""
    from ..config import FRAME_FORMATS

    return apply(fn, [
        model_option(required=True),
        click.option("--reference", "-r", required=True, type=click.Path(path_type=Path),
                     help="labelled frames: .extxyz/.xyz, vasprun.xml, OUTCAR or pymatgen-style .json"),
        click.option("--format", "fmt", type=Choice(FRAME_FORMATS, "reference format"), default=None,
                     help="[default: from the name]"),
        engine_option,
        tag_option,
        runs_dir_option,
        overwrite_option,
        render_only_option,
        no_progress_option,
    ])


def reference_trajectory_options(fn):
    """How to read a reference trajectory whose file does not state its time step (compare, campaign)."""
    return apply(fn, [
        click.option("--reference-timestep", "reference_timestep_fs", type=float, default=None,
                     help="the reference's MD time step, fs, if the file does not state it"),
        click.option("--reference-stride", type=int, default=None,
                     help="MD steps between the reference's frames, if the file does not state it"),
        click.option("--reference-skip-ps", type=float, default=0.0, show_default=True,
                     help="drop the reference's first ps (its equilibration)"),
    ])


# ---------------------------------------------------------------------- running a task
def run_command(task, runs_dir: Path, *, overwrite: bool = False, render_only: bool = False, resume: bool = False,
                progress: bool = True, ranks: int = 1, collect: bool = True, collect_options: dict | None = None,
                check: bool = True, **render_options) -> Path:
    """What every task command does: render (and stop, with ``--render-only``), or render,
    execute and collect, printing the task's headline. Returns the run folder."""
    from ..tasks.base import render_run, run_task

    click.echo(f"run folder: {Path(runs_dir) / task.run_name}", err=True)
    for line in task.header():
        click.echo(line, err=True)
    if render_only:
        run_dir = render_run(task, runs_dir, overwrite=overwrite, **render_options)
        click.echo(f"rendered {run_dir} (task {task.name}); run it with: harness execute {run_dir}")
        return run_dir
    launcher = task.launcher_for(ranks)
    run_dir, results = run_task(task, runs_dir, overwrite=overwrite, resume=resume, launcher=launcher,
                                progress=progress, collect=collect, collect_options=collect_options,
                                **render_options)
    if results is not None:
        for line in task.headline(results):
            click.echo(line)
        click.echo(f"results: {run_dir / 'results.json'}")
        if check:
            task.check_results(results)
    return run_dir
