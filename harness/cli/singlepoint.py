"""``harness singlepoint``: energy, force and stress RMSE of a model on labelled reference frames."""

from __future__ import annotations

from pathlib import Path

import click

from .options import energy_reference_option, labelled_frames_options, run_command


@click.command()
@labelled_frames_options
@energy_reference_option
@click.option("--isolated-atoms", type=click.Path(path_type=Path), default=None,
              help='JSON {"reference": {El: eV}, "model": {El: eV}} (model energies computed when absent)')
def singlepoint(model, reference, fmt, engine, tag, runs_dir, overwrite, render_only, no_progress, energy_reference,
                isolated_atoms):
    """Energy, force and stress RMSE of MODEL on labelled reference frames (forces from LAMMPS)."""
    from ..config import SinglePointSettings, load_model
    from ..tasks.singlepoint import SinglePointTask

    settings = SinglePointSettings(model=load_model(model), reference=reference, fmt=fmt, engine=engine, tag=tag,
                                   energy_reference=energy_reference, isolated_atoms=isolated_atoms)
    run_command(SinglePointTask(settings), runs_dir, overwrite=overwrite, render_only=render_only,
                progress=not no_progress)


COMMANDS = [singlepoint]
