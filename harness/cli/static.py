"""``harness surfaces``, ``harness defects``, ``harness mixing``: the 0 K probes of Deng et al.'s
softening study — surface energies, point-defect formation energies and mixing energies,
relaxed in LAMMPS with the model, against a reference the user brings."""

from __future__ import annotations

from pathlib import Path

import click

from .options import (
    engine_option,
    model_option,
    no_progress_option,
    overwrite_option,
    render_only_option,
    resume_option,
    run_command,
    runs_dir_option,
    split_list,
    stage_option,
    system_option,
    tag_option,
)

reference_option = click.option(
    "--reference", type=click.Path(exists=True, path_type=Path), default=None,
    help="DFT values: a table (CSV key,value[,unit]; JSON/YAML key: value) or a folder of DFT total energies "
         "named like the run's structures (<name>.extxyz, <name>/vasprun.xml, ...)")
ftol_option = click.option("--ftol", "ftol_eV_A", type=float, default=1e-3, show_default=True,
                           help="relaxations stop when the largest force on an atom is below this (eV/Å)")


def _common(f):
    for option in reversed([system_option(required=True, help="inputs/<SYSTEM>.yaml or a YAML path: the crystal"),
                            model_option(required=True), ftol_option, engine_option, reference_option, tag_option,
                            runs_dir_option, overwrite_option, stage_option, render_only_option, resume_option,
                            no_progress_option]):
        f = option(f)
    return f


def _run(task, runs_dir, overwrite, stage_model, render_only, resume, no_progress) -> None:
    run_command(task, runs_dir, overwrite=overwrite, render_only=render_only, resume=resume,
                progress=not no_progress, stage_model=stage_model)


@click.command()
@_common
@click.option("--miller", default=None,
              help="planes, conventional indices: 111,100,1-10 (hexagonal 0001,10-10) [default: every distinct plane "
                   "with indices up to 1]")
@click.option("--thickness", "thickness_A", type=float, default=None,
              help="one slab thickness (Å) [default: from twice the model's cutoff, thicker until γ converges]")
@click.option("--vacuum", "vacuum_A", type=float, default=None,
              help="vacuum between the faces (Å) [default: the larger of 12 and twice the cutoff]")
@click.option("--tolerance", "tolerance_J_m2", type=float, default=0.01, show_default=True,
              help="γ converged when two successive slabs (and the vacuum check) agree within this (J/m²)")
@click.option("--max-slabs", type=int, default=4, show_default=True, help="the most slab thicknesses per plane")
def surfaces(system, model, ftol_eV_A, engine, reference, tag, runs_dir, overwrite, stage_model, render_only, resume,
             no_progress, miller, thickness_A, vacuum_A, tolerance_J_m2, max_slabs):
    """Surface energies γ = (E_slab − N·ε_bulk)/2A (J/m², eV/Å²) of symmetric stoichiometric slabs."""
    from ..config import SurfacesSettings, load_model, load_system
    from ..tasks.surfaces import SurfacesTask

    millers = split_list(miller)
    task = SurfacesTask(SurfacesSettings(model=load_model(model), system=load_system(system),
                                         miller=tuple(millers) if millers else None,
                                         thickness_A=thickness_A, vacuum_A=vacuum_A, tolerance_J_m2=tolerance_J_m2,
                                         max_slabs=max_slabs, ftol_eV_A=ftol_eV_A, engine=engine,
                                         reference=reference, tag=tag), render_only=render_only)
    _run(task, runs_dir, overwrite, stage_model, render_only, resume, no_progress)


@click.command()
@_common
@click.option("--defects", "kinds", default=None,
              help="vacancy, antisite, interstitial (each may name an element: vacancy:Cu) [default: vacancies, and "
                   "antisites in a compound]")
@click.option("--supercell", nargs=3, type=int, default=None,
              help="[default: every width at least twice the model's cutoff]")
@click.option("--relax-cell", is_flag=True, help="relax the defect cell's shape and volume too")
@click.option("--converge", is_flag=True, help="larger supercells until two successive E_f agree within --tolerance")
@click.option("--tolerance", "tolerance_eV", type=float, default=0.01, show_default=True, help="eV")
@click.option("--max-supercells", type=int, default=3, show_default=True)
@click.option("--elemental", multiple=True, help="ELEMENT=FILE: the elemental crystal μ comes from [default: ASE's "
                                                 "reference state of the element]")
@click.option("--mu", multiple=True, help="ELEMENT=eV_per_atom: a chemical potential given outright")
@click.option("--rattle", "rattle_A", type=float, default=0.01, show_default=True,
              help="seeded random push of every atom before relaxing (Å): a symmetric start can be a saddle")
def defects(system, model, ftol_eV_A, engine, reference, tag, runs_dir, overwrite, stage_model, render_only, resume,
            no_progress, kinds, supercell, relax_cell, converge, tolerance_eV, max_supercells, elemental, mu, rattle_A):
    """Point-defect formation energies E_f = E_defect − E_perfect − Σ ΔN_i μ_i (eV)."""
    from ..config import DefectsSettings, load_model, load_system
    from ..tasks.pointdefects import DefectsTask

    task = DefectsTask(DefectsSettings(
        model=load_model(model), system=load_system(system),
        defects=tuple(split_list(kinds) or ()) or None,
        supercell=tuple(supercell) if supercell else None, relax_cell=relax_cell, converge=converge,
        tolerance_eV=tolerance_eV, max_supercells=max_supercells, elemental=tuple(elemental), mu=tuple(mu),
        rattle_A=rattle_A, ftol_eV_A=ftol_eV_A, engine=engine, reference=reference, tag=tag), render_only=render_only)
    _run(task, runs_dir, overwrite, stage_model, render_only, resume, no_progress)


@click.command()
@_common
@click.option("--mix", required=True, help="A:B — the parent's A sites take A or B (Mg:Ca on rocksalt MgO)")
@click.option("--max-size", type=int, default=4, show_default=True,
              help="arrangements in supercells of up to this many primitive cells (icet)")
@click.option("--structures", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="the arrangements to compute instead (a file ASE reads; info name= keys them)")
def mixing(system, model, ftol_eV_A, engine, reference, tag, runs_dir, overwrite, stage_model, render_only, resume,
           no_progress, mix, max_size, structures):
    """Mixing energies (eV/atom) of a binary solid solution's arrangements, and their convex hull."""
    from ..config import MixingSettings, load_model, load_system
    from ..tasks.mixing import MixingTask

    task = MixingTask(MixingSettings(model=load_model(model), system=load_system(system), mix=mix, max_size=max_size,
                                     structures=structures, ftol_eV_A=ftol_eV_A, engine=engine, reference=reference,
                                     tag=tag), render_only=render_only)
    _run(task, runs_dir, overwrite, stage_model, render_only, resume, no_progress)


COMMANDS = [surfaces, defects, mixing]
