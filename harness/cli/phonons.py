"""``harness phonons``: harmonic phonons of one model (phonopy finite displacements, forces from LAMMPS)."""

from __future__ import annotations

from pathlib import Path

import click

from .options import (
    apply,
    engine_option,
    model_option,
    no_progress_option,
    overwrite_option,
    render_only_option,
    run_command,
    runs_dir_option,
    system_option,
    tag_option,
)
from .screen import parse_temperatures, temperatures_option

EXISTING_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


def reference_phonon_options(fn):
    return apply(fn, [
        click.option("--reference", type=EXISTING_FILE, default=None,
                     help="reference phonopy yaml (phonopy_disp.yaml / phonopy_params.yaml) or POSCAR-unitcell"),
        click.option("--reference-forces", multiple=True, type=EXISTING_FILE,
                     help="FORCE_SETS, or the vasprun.xml of each displacement in order (repeat the option)"),
        click.option("--born", type=EXISTING_FILE, default=None,
                     help="BORN file: non-analytic correction (polar materials)"),
        click.option("--nac", is_flag=True, help="require the non-analytic correction (needs --born)"),
        click.option("--dim", nargs=3, type=int, default=None,
                     help="reference supercell when --reference is a unit cell"),
    ])


@click.command()
@system_option(default=None, help="inputs/<SYSTEM>.yaml (optional with --reference)")
@model_option(default="chgnet", show_default=True)
@engine_option
@click.option("--supercell", nargs=3, type=int, default=None, help="diagonal supercell [default: every width >= 10 Å]")
@click.option("--displacement", "displacement_A", type=float, default=0.01, show_default=True, help="Å")
@click.option("--mesh", nargs=3, type=int, default=(20, 20, 20), show_default=True,
              help="q-mesh of the DOS, the stability check and the thermodynamics")
@temperatures_option
@reference_phonon_options
@click.option("--md-run", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="an analysed MD run of the same model: compare its VDOS with the phonon DOS (low-T check)")
@tag_option
@runs_dir_option
@overwrite_option
@render_only_option
@no_progress_option
def phonons(system, model, engine, supercell, displacement_A, mesh, temperatures, reference, reference_forces, born,
            nac, dim, md_run, tag, runs_dir, overwrite, render_only, no_progress):
    """Harmonic phonons (phonopy finite displacements, forces from LAMMPS); optional DFT comparison."""
    from ..config import PhononsSettings, load_model, load_system
    from ..tasks.phonons import PhononsTask

    settings = PhononsSettings(model=load_model(model), system=load_system(system) if system else None, engine=engine,
                               supercell=tuple(supercell) if supercell else None, displacement_A=displacement_A,
                               mesh=tuple(mesh), reference=reference, reference_forces=tuple(reference_forces),
                               born=born, nac=nac, dim=tuple(dim) if dim else None, md_run=md_run, tag=tag,
                               temperatures_K=parse_temperatures(temperatures))
    task = PhononsTask(settings)
    click.echo(f"{task.n_displacements} displaced supercells of {len(task.calc.phonon.supercell)} atoms -> "
               f"{runs_dir / task.run_name}", err=True)
    run_command(task, runs_dir, overwrite=overwrite, render_only=render_only, progress=not no_progress)


COMMANDS = [phonons]
