"""``harness screen``: phonons (and σ^(2) from model MD) of one model over many materials, one table."""

from __future__ import annotations

from pathlib import Path

import click

from .options import (
    engine_option,
    model_option,
    no_progress_option,
    render_only_option,
    runs_dir_option,
    split_list,
    tag_option,
)

FOLDER = click.Path(exists=True, file_okay=False, path_type=Path)


def parse_temperatures(text: str) -> tuple[float, ...]:
    """``100,300,600`` -> (100.0, 300.0, 600.0); one line for anything else."""
    from ..errors import ConfigError

    try:
        return tuple(float(t) for t in split_list(text) or ())
    except ValueError:
        raise ConfigError(f"--temperatures must be numbers of kelvin separated by commas, got {text!r}") from None


temperatures_option = click.option("--temperatures", default="100,300,600", show_default=True, metavar="K[,K...]",
                                   help="where the harmonic thermodynamics (F, S, C_v per atom) is evaluated")


@click.command()
@click.option("--references", type=FOLDER, default=None,
              help="one folder per material: phonopy_params.yaml|phonopy_disp.yaml|phonopy.yaml, "
                   "FORCE_SETS or vasprun.xml*, BORN (optional)")
@click.option("--structures", type=FOLDER, default=None,
              help="structure files (CIF, POSCAR, extxyz, ...): the model's own phonons, no reference")
@model_option(default="chgnet", show_default=True)
@engine_option
@click.option("--mesh", nargs=3, type=int, default=(20, 20, 20), show_default=True,
              help="q-mesh of the DOS, the stability check and the thermodynamics")
@temperatures_option
@click.option("--supercell", nargs=3, type=int, default=None,
              help="diagonal supercell for --structures [default: every width >= 10 Å]")
@click.option("--displacement", "displacement_A", type=float, default=0.01, show_default=True, help="Å")
@click.option("--sigma-md", "sigma_md_K", type=float, default=None, metavar="K",
              help="also σ^(2) along model MD at this temperature: Φ from the model and (references) from DFT")
@click.option("--sigma-steps", type=int, default=2000, show_default=True, help="MD steps of the σ runs")
@click.option("--sigma-timestep", "sigma_timestep_fs", type=float, default=2.0, show_default=True, help="fs")
@tag_option
@runs_dir_option
@render_only_option
@no_progress_option
@click.option("--cluster", default=None, help="clusters/<CLUSTER>.yaml: run the screen as a job array of parts")
@click.option("--per-member", type=click.IntRange(min=1), default=25, show_default=True,
              help="with --cluster: materials per array member (one model load each)")
def screen(references, structures, model, engine, mesh, temperatures, supercell, displacement_A, sigma_md_K,
           sigma_steps, sigma_timestep_fs, tag, runs_dir, render_only, no_progress, cluster, per_member):
    """Phonons and anharmonicity over many materials: stability agreement, softening, σ classes,
    thermodynamics; one run folder per material (resumable), one table and its figures."""
    from ..config import ScreenSettings, load_model
    from ..tasks.screen import check_screen
    from ..tasks.screen import screen as run_screen

    settings = ScreenSettings(model=load_model(model), references=references, structures=structures, engine=engine,
                              mesh=tuple(mesh), temperatures_K=parse_temperatures(temperatures),
                              supercell=tuple(supercell) if supercell else None, displacement_A=displacement_A,
                              sigma_md_K=sigma_md_K, sigma_steps=sigma_steps, sigma_timestep_fs=sigma_timestep_fs,
                              tag=tag)
    click.echo(f"screen folder: {runs_dir / settings.folder_name}", err=True)
    if cluster is not None:
        _on_cluster(settings, cluster, per_member, runs_dir, render_only)
        return
    out, doc = run_screen(settings, runs_dir, progress=not no_progress, render_only=render_only)
    for line in doc["headline"]:
        click.echo(line)
    if render_only:
        click.echo(f"member folders: {out / 'members.txt'} (harness execute DIR --collect each, "
                   "then this command again)")
        return
    click.echo(f"table: {out / 'screen.md'} ({out / 'screen.csv'}); figures: {out / 'figures'}")
    check_screen(doc)


def _on_cluster(settings, cluster: str, per_member: int, runs_dir, render_only: bool) -> None:
    """The screen as a campaign of parts (harness.tasks.screen_part): rendered, then submitted
    (one array, a collect job that writes the screen's table when the parts have ended)."""
    from ..jobs.campaign import create, submit
    from ..jobs.profiles import load_profile
    from ..tasks.screen_part import screen_parts
    from .jobs import echo_submissions

    profile = load_profile(cluster)
    parts = screen_parts(settings, per_member, runs_dir)
    out = create(parts, profile, runs_dir, settings.folder_name)
    click.echo(f"{len(parts)} array member(s) of up to {per_member} materials: {out}", err=True)
    if render_only:
        click.echo(f"campaign: {out}  (submit with: harness jobs submit-campaign {out})")
        return
    echo_submissions(out, submit(out))
    click.echo(f"the table: {runs_dir / settings.folder_name}/screen.md once the collect job has run")


COMMANDS = [screen]
