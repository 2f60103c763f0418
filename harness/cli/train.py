"""``harness train``: a model made from labelled frames by its family's own trainer, with a recipe."""

from __future__ import annotations

from pathlib import Path

import click

from .options import (
    Choice,
    engine_option,
    no_progress_option,
    overwrite_option,
    render_only_option,
    resume_option,
    run_command,
    runs_dir_option,
)


@click.command()
@click.argument("frames", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--recipe", required=True, help="potentials/recipes/<RECIPE>.yaml or a YAML path (`harness list`)")
@click.option("--name", required=True, help="the new model's name: <potentials>/<NAME>.yaml, then MODEL=<NAME>")
@click.option("--base", default=None, help="model to fine-tune [default: the recipe's base]")
@click.option("--compare-with", "compare", default=None,
              help="model set against the trained one on the test frames [default: the base]")
@click.option("--format", "fmt", type=Choice(("extxyz", "vasp-xml", "vasp-out", "pymatgen-json"), "frames format"),
              default=None, help="format of every frames file [default: from each name]")
@click.option("--epochs", type=int, default=None, help="override the recipe's epochs (stated in the results)")
@click.option("--seed", type=int, default=None, help="override the recipe's seed (split and trainer)")
@click.option("--device", type=Choice(("auto", "cpu", "cuda"), "device"), default="auto", show_default=True,
              help="where the trainer runs (auto: a GPU when torch sees one)")
@click.option("--potentials-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="where the model's registry YAML goes [default: the project's potentials/]")
@engine_option
@runs_dir_option
@overwrite_option
@resume_option
@render_only_option
@no_progress_option
def train(frames, recipe, name, base, compare, fmt, epochs, seed, device, potentials_dir, engine, runs_dir, overwrite,
          resume, render_only, no_progress):
    """Train or fine-tune a model on labelled FRAMES (energies, forces[, stresses]) with a recipe.

    The family's own trainer does the training (mace_run_train, chgnet.trainer.Trainer); the
    test frames are then evaluated through LAMMPS with the new model and with the base (or
    --compare-with): force MAE, RMSE, softening scale and cMAE before and after.
    """
    from ..config import TrainSettings, load_model
    from ..tasks.train import TrainTask

    settings = TrainSettings(frames=tuple(str(f) for f in frames), recipe=recipe, name=name,
                             model=load_model(base) if base else None,
                             compare=load_model(compare) if compare else None, fmt=fmt, epochs=epochs, seed=seed,
                             device=device, engine=engine, potentials_out=potentials_dir, overwrite_model=overwrite)
    run_command(TrainTask(settings), runs_dir, overwrite=overwrite, resume=resume, render_only=render_only,
                progress=not no_progress)


COMMANDS = [train]
