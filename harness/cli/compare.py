"""``harness compare`` and ``harness campaign``: model MD against reference trajectories (Dyna-Mat)."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import ConfigError
from .options import (
    Choice,
    engine_option,
    partial_option,
    preset_option,
    reference_trajectory_options,
    split_list,
    steps_option,
)


@click.command()
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--reference", "-r", required=True, type=click.Path(path_type=Path),
              help="reference trajectory: .extxyz, vasprun.xml, OUTCAR, XDATCAR or a LAMMPS dump")
@click.option("--format", "fmt", type=Choice(["extxyz", "vasp-xml", "vasp-out", "vasp-xdatcar", "lammps-dump"],
                                             "trajectory format"), default=None, help="[default: from the name]")
@reference_trajectory_options
@click.option("--elements", default=None, help="element of each LAMMPS atom type of a reference dump, e.g. Pt,Co")
@click.option("--reference-temperature", "reference_temperature_K", type=float, default=None,
              help="K, when the file does not state it [default: the run's]")
@click.option("--dimension", type=Choice(["3", "2"], "dimension"), default="3", show_default=True,
              help="2: in-plane pressure −(σxx+σyy)/2 for slabs and layers")
@click.option("--vdos-resolution-thz", "vdos_resolution", type=float, default=None,
              help="refuse when the matched trajectory is too short for this VDOS resolution (THz)")
@partial_option
@click.option("--no-progress", is_flag=True, help="no frames/rate lines on stderr")
def compare(run_dir, reference, fmt, reference_timestep_fs, reference_stride, reference_skip_ps, elements,
            reference_temperature_K, dimension, vdos_resolution, partial, no_progress):
    """Dyna-Mat errors (RDF, pressure, VDOS, E_RPV, W1) of a finished MD run against a reference trajectory."""
    from ..config import CompareSettings
    from ..tasks.compare import compare_run, headline

    els = split_list(elements)
    settings = CompareSettings(run=str(run_dir), reference=str(reference), fmt=fmt,
                               reference_timestep_fs=reference_timestep_fs, reference_stride=reference_stride,
                               elements=tuple(els) if els else None, reference_temperature_K=reference_temperature_K,
                               reference_skip_ps=reference_skip_ps, dimension=int(dimension),
                               vdos_resolution_THz=vdos_resolution, partial=partial)
    path, doc = compare_run(settings, progress=not no_progress)
    for line in headline(doc):
        click.echo(line)
    click.echo(f"results: {path}")


@click.command()
@click.option("--systems", required=True, help="comma-separated systems (inputs/<SYSTEM>.yaml)")
@click.option("--models", required=True, help="comma-separated models")
@click.option("--reference-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="folder with <system>.<ext> reference trajectories")
@preset_option
@steps_option
@engine_option
@reference_trajectory_options
@click.option("--from-reference/--registered-structure", default=True, show_default=True,
              help="run each model in the reference's cell from its first frame at its temperature")
@click.option("--tag", default=None, help="campaign folder suffix [default: systems_models]")
@click.option("--runs-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("runs"), show_default=True)
@click.option("--progress/--no-progress", default=False)
def campaign(systems, models, reference_dir, preset, steps, engine, reference_timestep_fs, reference_stride,
             reference_skip_ps, from_reference, tag, runs_dir, progress):
    """MD of every system × model, analysis, comparison with references, table and Pareto front."""
    from ..config import CampaignSettings
    from ..tasks.campaign import campaign as run

    s, m = split_list(systems), split_list(models)
    if not s or not m:
        raise ConfigError("--systems and --models need at least one name each")
    settings = CampaignSettings(systems=tuple(s), models=tuple(m), reference_dir=reference_dir, preset=preset,
                                steps=steps, engine=engine, tag=tag, from_reference=from_reference,
                                reference_timestep_fs=reference_timestep_fs, reference_stride=reference_stride,
                                reference_skip_ps=reference_skip_ps)
    out, doc = run(settings, runs_dir, progress=progress)
    click.echo((out / "results.md").read_text().split("## Per model")[0].strip())
    click.echo(f"Pareto front (E_RPV vs ms/step): {', '.join(doc['pareto_front']) or 'n/a'}")
    click.echo(f"results: {out}/results.md, results.csv, pareto.png")


COMMANDS = [compare, campaign]
