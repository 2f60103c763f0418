"""``harness versus``: models side by side through the same probes (one table, bars, NEB paths)."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import ConfigError
from .options import no_progress_option, preset_option, runs_dir_option, split_list, steps_option


def labelled_models(text: str) -> dict:
    """``zero=chgnet,ft=chgnet-cu`` (or ``chgnet,chgnet-cu``) -> {label: model}, in order."""
    out = {}
    for item in split_list(text) or []:
        label, _, model = item.rpartition("=")
        label = label or model
        if label in out:
            raise ConfigError(f"--models: label '{label}' given twice")
        out[label] = model
    return out


def references(items: tuple[str, ...]) -> dict:
    """``--reference barrier_eV=0.70`` (repeatable) -> {metric: value}."""
    out = {}
    for item in items:
        key, _, value = item.partition("=")
        try:
            out[key.strip()] = float(value)
        except ValueError:
            raise ConfigError(f"--reference {item!r}: expected METRIC=NUMBER, e.g. barrier_eV=0.70") from None
    return out


@click.command()
@click.option("--models", required=True, help="LABEL=MODEL,... or MODEL,... (zero-shot=chgnet,fine-tuned=my-chgnet)")
@click.option("--probes", required=True, help="comma-separated: softening, neb, md, phonons, slide")
@click.option("--system", "-s", default=None, help="inputs/<SYSTEM>.yaml (neb, md, phonons, slide)")
@click.option("--frames", default=None, type=click.Path(path_type=Path), help="labelled frames (softening)")
@click.option("--hop", default="vacancy", show_default=True, help="neb: the hop")
@click.option("--images", type=click.IntRange(min=3), default=5, show_default=True, help="neb: images")
@preset_option
@steps_option
@click.option("--reference-dir", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="md: reference trajectories <DIR>/<system>.* (Dyna-Mat errors)")
@click.option("--reference", "reference_values", multiple=True,
              help="METRIC=VALUE, e.g. barrier_eV=0.70 (DFT): errors per model and a line in the figures")
@click.option("--tag", default="compare", show_default=True, help="output folder versus-<TAG>")
@runs_dir_option
@no_progress_option
def versus(models, probes, system, frames, hop, images, preset, steps, reference_dir, reference_values, tag, runs_dir,
           no_progress):
    """Models side by side (zero-shot, corrected, fine-tuned, scratch ...) through the same probes."""
    from ..names import validate_name
    from ..tasks.versus import VersusSettings
    from ..tasks.versus import versus as run_versus

    validate_name("tag", tag)
    settings = VersusSettings(models=labelled_models(models), probes=tuple(split_list(probes) or ()), system=system,
                              frames=str(frames.resolve()) if frames else None, hop=hop, images=images,
                              preset=preset, steps=steps, reference_dir=str(reference_dir) if reference_dir else None,
                              references=references(reference_values), tag=tag)
    out, doc = run_versus(settings, runs_dir, progress=not no_progress)
    click.echo((out / "versus.md").read_text())
    click.echo(f"figures: {', '.join(str(out / f) for f in doc['figures'])}")


COMMANDS = [versus]
