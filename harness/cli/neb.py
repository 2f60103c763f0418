"""``harness neb``, ``harness path``, ``harness slide``: migration barriers (climbing-image NEB in
LAMMPS, one partition per image), energies along a fixed path, rigid sliding profiles."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import ConfigError
from .options import (
    Choice,
    engine_option,
    no_progress_option,
    overwrite_option,
    ranks_option,
    render_only_option,
    resume_option,
    run_command,
    runs_dir_option,
    split_list,
    stage_option,
    system_option,
    tag_option,
)

EXISTING_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.command()
@system_option(default=None, help="inputs/<SYSTEM>.yaml or a YAML path: the crystal the hop is built in "
                                  "(with --hop; no MD presets needed)")
@click.option("--model", "-m", default=None, help="the model (or --models for several)")
@click.option("--models", default=None, help="comma-separated models: one NEB each and one table across them")
@click.option("--hop", default=None, help="vacancy | vacancy:<element> (a dopant hop) | interstitial[:<element>]")
@click.option("--initial", type=EXISTING_FILE, default=None, help="the initial state (any format ASE reads)")
@click.option("--final", type=EXISTING_FILE, default=None, help="the final state (same atoms, same order)")
@click.option("--supercell", nargs=3, type=int, default=None,
              help="for --hop [default: every width at least twice the model's cutoff]")
@click.option("--images", type=click.IntRange(min=3), default=7, show_default=True,
              help="images of the band, the endpoints included (one LAMMPS partition each)")
@click.option("--interpolation", type=Choice(["idpp", "linear"], "interpolation"), default="idpp", show_default=True)
@click.option("--spring", "spring_eV_A2", type=float, default=1.0, show_default=True, help="eV/Å²")
@click.option("--ftol", "ftol_eV_A", type=float, default=0.01, show_default=True,
              help="eV/Å: the largest NEB force on any image at convergence")
@click.option("--relax-ftol", "relax_ftol_eV_A", type=float, default=1e-3, show_default=True,
              help="eV/Å: the largest atom force of the relaxed endpoints")
@click.option("--max-iterations", type=int, default=2000, show_default=True, help="of the band before climbing")
@click.option("--climbing-iterations", type=int, default=2000, show_default=True)
@click.option("--min-style", type=Choice(["auto", "fire", "quickmin", "ode"], "min style"), default="auto",
              show_default=True, help="auto: LAMMPS' fire on partitions, ASE's ODE12r (ode) for the band on one "
              "process; fire and quickmin on either")
@click.option("--timestep", "timestep_fs", type=float, default=None,
              help="fs, the minimiser's step [default: ASE's FIRE step for the lightest element, 8.1 fs for Cu]")
@engine_option
@click.option("--evaluator", type=Choice(["auto", "partitions", "serial"], "band evaluator"), default="auto",
              show_default=True, help="partitions: one LAMMPS partition (MPI rank) per image; serial: every image in "
              "this process (a MACE model evaluates them in one batch); auto: serial when this machine has fewer "
              "cores than images")
@click.option("--reference", type=EXISTING_FILE, default=None,
              help="a reference band (extxyz with energies, endpoints included): per-image and barrier errors")
@click.option("--reference-barrier", "reference_barrier_eV", type=float, default=None, help="eV: a reference barrier")
@tag_option
@runs_dir_option
@overwrite_option
@stage_option
@render_only_option
@resume_option
@ranks_option
@no_progress_option
def neb(system, model, models, hop, initial, final, supercell, images, interpolation, spring_eV_A2, ftol_eV_A,
        relax_ftol_eV_A, max_iterations, climbing_iterations, min_style, timestep_fs, engine, evaluator, reference,
        reference_barrier_eV, tag, runs_dir, overwrite, stage_model, render_only, resume, ranks, no_progress):
    """Climbing-image NEB barrier of a hop (built for a crystal, or between given endpoints)."""
    from ..config import NEBSettings, load_model, load_system
    from ..report.neb import compare_models
    from ..tasks.neb import NEBTask

    names = split_list(models) or ([model] if model else None)
    if not names:
        raise ConfigError("give --model (or --models for a table across models)")
    if model and models:
        raise ConfigError("give --model or --models, not both")
    common = dict(system=load_system(system) if system else None, hop=hop, initial=initial, final=final,
                  supercell=tuple(supercell) if supercell else None, images=images, interpolation=interpolation,
                  spring_eV_A2=spring_eV_A2, ftol_eV_A=ftol_eV_A, relax_ftol_eV_A=relax_ftol_eV_A,
                  max_iterations=max_iterations, climbing_iterations=climbing_iterations, min_style=min_style,
                  timestep_fs=timestep_fs, engine=engine, evaluator=evaluator, reference=reference,
                  reference_barrier_eV=reference_barrier_eV, tag=tag)
    tasks = [NEBTask(NEBSettings(model=load_model(m), **common), render_only=render_only) for m in names]
    results = {}
    for task in tasks:  # one NEB after the other; each is all the machine's cores
        run_dir = run_command(task, runs_dir, overwrite=overwrite, render_only=render_only, resume=resume,
                              ranks=ranks, progress=not no_progress, stage_model=stage_model,
                              check=len(tasks) == 1)
        if not render_only:
            from ..files import read_json

            results[task.model.label] = read_json(run_dir / "results.json")
    if len(tasks) > 1 and results:
        name = tasks[0].run_name.replace(f"-{tasks[0].model.label}-", "-", 1)
        table = compare_models(results, Path(runs_dir) / f"{name}-models")
        click.echo(table.read_text().rstrip())
        click.echo(f"table: {table} (and .csv)")


@click.command()
@click.option("--path", "path_file", required=True, type=EXISTING_FILE,
              help="the images of a path (extxyz or any trajectory ASE reads), the endpoints included")
@click.option("--model", "-m", required=True, help="the model")
@engine_option
@click.option("--reference", type=EXISTING_FILE, default=None, help="a reference band with energies")
@tag_option
@runs_dir_option
@overwrite_option
@stage_option
@render_only_option
@no_progress_option
def path(path_file, model, engine, reference, tag, runs_dir, overwrite, stage_model, render_only, no_progress):
    """Energies along a fixed path of images, no relaxation (ApproxNEB-style), in one LAMMPS session."""
    from ..config import PathSettings, load_model
    from ..tasks.path import PathTask

    task = PathTask(PathSettings(model=load_model(model), path=path_file, engine=engine, reference=reference,
                                 tag=tag))
    run_command(task, runs_dir, overwrite=overwrite, render_only=render_only, progress=not no_progress,
                stage_model=stage_model)


def _direction(text: str) -> tuple[float, float, float]:
    try:
        values = tuple(float(x) for x in text.split(","))
    except ValueError:
        raise ConfigError(f"--direction {text!r}: three numbers like 1,0,0 (fractions of a, b, c)") from None
    if len(values) != 3:
        raise ConfigError(f"--direction {text!r}: three numbers like 1,0,0 (fractions of a, b, c)")
    return values


@click.command()
@system_option(required=True, help="inputs/<SYSTEM>.yaml or a YAML path: the layered structure (a, b in-plane)")
@click.option("--model", "-m", required=True, help="the model")
@click.option("--direction", default="1,0,0", show_default=True,
              help="the shift over one period, in fractions of the cell vectors a, b (third 0)")
@click.option("--steps", type=click.IntRange(min=2), default=20, show_default=True)
@click.option("--plane", "plane_z_A", type=float, default=None,
              help="z (Å) of the sliding plane [default: the middle of the widest interlayer gap]")
@click.option("--relax-normal", is_flag=True, help="relax the atoms along the normal at every shift")
@engine_option
@tag_option
@runs_dir_option
@overwrite_option
@stage_option
@render_only_option
@no_progress_option
def slide(system, model, direction, steps, plane_z_A, relax_normal, engine, tag, runs_dir, overwrite, stage_model,
          render_only, no_progress):
    """Rigid interlayer sliding: the energy per area of the atoms above a plane shifted over one period."""
    from ..config import SlideSettings, load_model, load_system
    from ..tasks.path import SlideTask

    task = SlideTask(SlideSettings(model=load_model(model), system=load_system(system), direction=_direction(direction),
                                   steps=steps, plane_z_A=plane_z_A, relax_normal=relax_normal, engine=engine,
                                   tag=tag))
    run_command(task, runs_dir, overwrite=overwrite, render_only=render_only, progress=not no_progress,
                stage_model=stage_model)


COMMANDS = [neb, path, slide]
