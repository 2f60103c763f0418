"""``harness compare``, ``harness singlepoint`` and ``harness campaign``: a model against a reference.

Heavy imports stay inside the commands.
"""

from __future__ import annotations

from pathlib import Path

import click

from .cli import labelled_frames_options
from .errors import ConfigError


def _split(text: str | None) -> list[str] | None:
    if text is None:
        return None
    items = [t.strip() for t in text.split(",") if t.strip()]
    return items or None


def reference_options(fn):
    decorators = [
        click.option("--format", "fmt", default=None,
                     help="extxyz | vasp-xml | vasp-out | vasp-xdatcar | lammps-dump [default: from the name]"),
        click.option("--timestep-fs", type=float, default=None, help="the reference's MD time step (fs), if the file "
                     "does not state it"),
        click.option("--stride", type=int, default=None, help="MD steps between the reference's frames, if the file "
                     "does not state it"),
    ]
    for deco in reversed(decorators):
        fn = deco(fn)
    return fn


@click.command()
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--reference", "-r", required=True, type=click.Path(path_type=Path),
              help="reference trajectory: .extxyz, vasprun.xml, OUTCAR, XDATCAR or a LAMMPS dump")
@reference_options
@click.option("--elements", default=None, help="element of each LAMMPS atom type of a reference dump, e.g. Pt,Co")
@click.option("--reference-temperature", "reference_temperature_K", type=float, default=None,
              help="K, when the file does not state it [default: the run's]")
@click.option("--reference-skip-ps", type=float, default=0.0, show_default=True,
              help="drop the reference's first ps (its equilibration)")
@click.option("--dimension", type=click.Choice(["3", "2"]), default="3", show_default=True,
              help="2: in-plane pressure −(σxx+σyy)/2 for slabs and layers")
@click.option("--vdos-resolution-thz", "vdos_resolution", type=float, default=None,
              help="refuse when the matched trajectory is too short for this VDOS resolution (THz)")
@click.option("--no-progress", is_flag=True, help="no frames/rate lines on stderr")
def compare(run_dir, reference, fmt, timestep_fs, stride, elements, reference_temperature_K, reference_skip_ps,
            dimension, vdos_resolution, no_progress):
    """Dyna-Mat errors (RDF, pressure, VDOS, E_RPV, W1) of a finished MD run against a reference trajectory."""
    from .tasks.compare import compare_run, headline

    path, doc = compare_run(run_dir, reference, fmt=fmt, timestep_fs=timestep_fs, stride=stride,
                            elements=_split(elements), reference_temperature_K=reference_temperature_K,
                            reference_skip_ps=reference_skip_ps, dimension=int(dimension),
                            vdos_resolution_THz=vdos_resolution, progress=not no_progress)
    for line in headline(doc):
        click.echo(line)
    click.echo(f"results: {path}")


@click.command()
@labelled_frames_options
@click.option("--energy-reference", type=click.Choice(["none", "mean-offset", "isolated-atoms"]), default="none",
              show_default=True, help="raw energies, the mean per-atom offset removed, or both sides minus their "
                                      "isolated-atom energies")
@click.option("--isolated-atoms", type=click.Path(path_type=Path), default=None,
              help='JSON {"reference": {El: eV}, "model": {El: eV}} (model energies computed when absent)')
@click.option("--tag", default=None, help="run folder suffix [default: the reference file's stem]")
@click.option("--runs-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("runs"), show_default=True)
@click.option("--overwrite", is_flag=True)
def singlepoint(model, reference, fmt, engine, no_progress, energy_reference, isolated_atoms, tag, runs_dir, overwrite):
    """Energy, force and stress RMSE of MODEL on labelled reference frames (forces from LAMMPS)."""
    from .progress import frame_progress
    from .tasks.compare import singlepoint_errors

    run_dir, doc = singlepoint_errors(model, reference, fmt=fmt, engine=engine, energy_reference=energy_reference,
                                      isolated_atoms=isolated_atoms, tag=tag, runs_dir=runs_dir, overwrite=overwrite,
                                      progress=None if no_progress else frame_progress("singlepoint"))
    ref = doc["reference"]
    click.echo(f"{ref['n_frames']} frames, {ref['n_atoms_total']} atoms ({doc['engine']} engine)")
    e = doc["energy_rmse_eV_per_atom"]
    click.echo(f"energy RMSE {'skipped' if e is None else f'{1000 * e:.2f} meV/atom'} "
               f"(energy reference: {doc['energy_reference']})")
    click.echo(f"force RMSE {doc['force_rmse_eV_A']:.4f} eV/Å")
    s = doc["stress_rmse_GPa"]
    click.echo(f"stress RMSE {'skipped (no reference stress)' if s is None else f'{s:.4f} GPa'}")
    click.echo(f"results: {run_dir / 'results.json'}")


@click.command()
@click.option("--systems", required=True, help="comma-separated systems (inputs/<SYSTEM>.yaml)")
@click.option("--models", required=True, help="comma-separated models")
@click.option("--reference-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="folder with <system>.<ext> reference trajectories")
@click.option("--preset", "-p", default=None, help="MD preset [default: each system's]")
@click.option("--steps", type=int, default=None, help="override the preset's number of steps")
@click.option("--engine", "-e", default="auto", show_default=True)
@click.option("--timestep-fs", type=float, default=None, help="references' time step (fs) if the files lack it")
@click.option("--stride", type=int, default=None, help="references' steps between frames if the files lack it")
@click.option("--reference-skip-ps", type=float, default=0.0, show_default=True)
@click.option("--from-reference/--registered-structure", default=True, show_default=True,
              help="run each model in the reference's cell from its first frame at its temperature")
@click.option("--tag", default=None, help="campaign folder suffix [default: systems_models]")
@click.option("--runs-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("runs"), show_default=True)
@click.option("--progress/--no-progress", default=False)
def campaign(systems, models, reference_dir, preset, steps, engine, timestep_fs, stride, reference_skip_ps,
             from_reference, tag, runs_dir, progress):
    """MD of every system × model, analysis, comparison with references, table and Pareto front."""
    from .tasks.campaign import campaign as run

    s, m = _split(systems), _split(models)
    if not s or not m:
        raise ConfigError("--systems and --models need at least one name each")
    out, doc = run(s, m, reference_dir, preset=preset, steps=steps, engine=engine, runs_dir=runs_dir, tag=tag,
                   from_reference=from_reference, timestep_fs=timestep_fs, stride=stride,
                   reference_skip_ps=reference_skip_ps, progress=progress)
    click.echo((out / "results.md").read_text().split("## Per model")[0].strip())
    click.echo(f"Pareto front (E_RPV vs ms/step): {', '.join(doc['pareto_front']) or 'n/a'}")
    click.echo(f"results: {out}/results.md, results.csv, pareto.png")


COMMANDS = [compare, singlepoint, campaign]
