"""``harness softening`` and ``harness highenergy``: PES softening of a model and frames to label.

Heavy imports (LAMMPS, ASE readers, matplotlib) stay inside the commands.
"""

from __future__ import annotations

from pathlib import Path

import click

from .cli import labelled_frames_options
from .errors import ConfigError


def _indices(text: str | None) -> list[int] | None:
    """``0,3,5-7`` -> [0, 3, 5, 6, 7]."""
    if text is None:
        return None
    out = []
    try:
        for part in text.split(","):
            part = part.strip()
            if "-" in part:
                a, b = part.split("-", 1)
                out.extend(range(int(a), int(b) + 1))
            elif part:
                out.append(int(part))
    except ValueError:
        raise ConfigError(f"--fit-frames {text!r}: expected frame indices like 0 or 0,3,5-7") from None
    return out


@click.command()
@labelled_frames_options
@click.option("--fit-correction", is_flag=True, help="fit c (E'=cE, F'=cF) and write <base>-corrected-<tag>.yaml")
@click.option("--fit-frames", default=None, help="frames to fit c on, e.g. 0 or 0,3,5-7 [default: all]")
@click.option("--potentials-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="where the corrected model YAML goes [default: the project's potentials/]")
@click.option("--tag", default=None, help="run folder / corrected model suffix [default: the reference file's stem]")
@click.option("--runs-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("runs"), show_default=True)
@click.option("--overwrite", is_flag=True, help="replace an existing run folder / corrected model")
def softening(model, reference, fmt, engine, no_progress, fit_correction, fit_frames, potentials_dir, tag, runs_dir,
              overwrite):
    """Softening scale, MAE and cMAE of MODEL's forces vs reference (DFT) forces; optional linear correction."""
    from .progress import frame_progress
    from .tasks.softening import softening as run

    run_dir, res = run(model, reference, fmt=fmt, engine=engine, tag=tag, runs_dir=runs_dir, overwrite=overwrite,
                       fit=fit_correction, fit_frames=_indices(fit_frames), potentials_out=potentials_dir,
                       progress=None if no_progress else frame_progress("softening"))
    p = res["parity"]
    click.echo(f"{res['reference']['n_frames']} frames, {p['n_components']} force components ({res['engine']} engine)")
    click.echo(f"softening scale {p['softening_scale']:.4f} (slope through 0; with intercept "
               f"{p['fit_with_intercept']['slope']:.4f}, R² {p['fit_with_intercept']['r2']:.4f})")
    click.echo(f"force MAE {p['force_mae_eV_A']:.4f} eV/Å, cMAE {p['force_cmae_eV_A']:.4f} eV/Å")
    if "correction" in res:
        c = res["correction"]
        click.echo(f"correction c = {c['c']:.6f} -> {c['model_yaml']} (use: {c['use_as']})")
    click.echo(f"results: {run_dir / 'results.json'}")


@click.command()
@click.option("--system", "-s", required=True, help="inputs/<SYSTEM>.yaml or a YAML path")
@click.option("--model", "-m", required=True, help="the model that samples (MD)")
@click.option("--temperature", "temperature_K", type=float, default=1000.0, show_default=True, help="K")
@click.option("--frames", type=int, default=10, show_default=True, help="frames to export (evenly spaced after equilibration)")
@click.option("--preset", "-p", default=None, help="MD preset [default: the system's]")
@click.option("--steps", type=int, default=None, help="override the preset's number of steps")
@click.option("--engine", "-e", default="auto", show_default=True)
@click.option("--seed", type=int, default=12345, show_default=True)
@click.option("--tag", default=None, help="MD run folder suffix [default: highenergy-T<temperature>]")
@click.option("--runs-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("runs"), show_default=True)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="export folder [default: <run folder>/highenergy]")
@click.option("--overwrite", is_flag=True)
@click.option("--no-progress", is_flag=True)
def highenergy(system, model, temperature_K, frames, preset, steps, engine, seed, tag, runs_dir, out, overwrite,
               no_progress):
    """High-temperature MD with MODEL; exports frames (extxyz + POSCARs) to label with DFT."""
    from .tasks.highenergy import sample_high_energy

    folder, listing = sample_high_energy(system, model, temperature_K=temperature_K, frames=frames, preset=preset,
                                         steps=steps, engine=engine, seed=seed, tag=tag, runs_dir=runs_dir,
                                         out_dir=out, overwrite=overwrite, progress=not no_progress)
    click.echo(f"{listing['n_frames']} frames after {listing['equilibration_ps']:g} ps -> {folder}/frames.extxyz "
               f"and {folder}/frame_XXX/POSCAR")


COMMANDS = [softening, highenergy]
