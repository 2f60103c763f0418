"""``harness highenergy``: hot MD with a model, frames exported for DFT labelling."""

from __future__ import annotations

from pathlib import Path

import click

from .options import (
    engine_option,
    model_option,
    no_progress_option,
    overwrite_option,
    preset_option,
    render_only_option,
    run_command,
    runs_dir_option,
    seed_option,
    steps_option,
    system_option,
    tag_option,
    timestep_option,
)


@click.command()
@system_option(required=True)
@model_option(required=True, help="the model that samples (MD)")
@click.option("--temperature", "temperature_K", type=float, default=1000.0, show_default=True, help="K")
@click.option("--frames", type=int, default=10, show_default=True,
              help="frames to export (evenly spaced after equilibration)")
@preset_option
@steps_option
@timestep_option
@engine_option
@seed_option
@tag_option
@runs_dir_option
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="export folder [default: <run folder>/highenergy]")
@overwrite_option
@render_only_option
@no_progress_option
def highenergy(system, model, temperature_K, frames, preset, steps, timestep_fs, engine, seed, tag, runs_dir, out,
               overwrite, render_only, no_progress):
    """High-temperature MD with MODEL; exports frames (extxyz + POSCARs) to label with DFT."""
    from ..config import HighEnergySettings, md_settings
    from ..tasks.highenergy import HighEnergyTask

    md = md_settings(system, model, preset, temperature_K=temperature_K, steps=steps, timestep_fs=timestep_fs,
                     engine=engine, seed=seed, tag=tag)
    task = HighEnergyTask(HighEnergySettings(md=md, frames=frames, out_dir=out))
    run_command(task, runs_dir, overwrite=overwrite, render_only=render_only, progress=not no_progress)


COMMANDS = [highenergy]
