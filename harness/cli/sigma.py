"""``harness sigma`` and ``harness sigma-matrix``: anharmonicity σ^(2) (Knoop et al.) and its classes."""

from __future__ import annotations

from pathlib import Path

import click

from .options import engine_option, overwrite_option, partial_option, render_only_option, run_command, tag_option

EXISTING_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.command()
@click.option("--run", "run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="an MD run folder: σ along the model's own trajectory")
@click.option("--fc", default="model", show_default=True,
              help="'model' (Φ from the run's model) or a phonopy yaml with forces/force constants")
@click.option("--fc-forces", multiple=True, type=EXISTING_FILE, help="FORCE_SETS or vasprun.xml files for --fc")
@click.option("--reference", type=EXISTING_FILE, default=None,
              help="reference frames with forces (extxyz, vasprun.xml, OUTCAR): forces recomputed by --model")
@click.option("--model", "-m", default=None, help="the model that recomputes the reference frames' forces")
@engine_option
@tag_option
@click.option("--runs-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="parent of the sigma run folder [default: beside --run's folder, or runs/]")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="also write the results JSON here")
@partial_option
@overwrite_option
@render_only_option
def sigma(run_dir, fc, fc_forces, reference, model, engine, tag, runs_dir, out, partial, overwrite, render_only):
    """Anharmonicity score σ^(2)(t) and ⟨σ⟩ (Knoop et al.) with its class, in a run folder of its own."""
    import shutil

    from ..config import SigmaSettings, load_model
    from ..tasks.sigma import SigmaTask

    settings = SigmaSettings(run=run_dir, reference=reference, model=load_model(model) if model else None, fc=fc,
                             fc_forces=tuple(fc_forces), engine=engine, tag=tag, partial=partial)
    runs_dir = runs_dir or (Path(run_dir).resolve().parent if run_dir else Path("runs"))
    folder = run_command(SigmaTask(settings), runs_dir, overwrite=overwrite, render_only=render_only)
    if out is not None and not render_only:
        shutil.copyfile(folder / "results.json", out)
        click.echo(f"written: {out}")


@click.command("sigma-matrix")
@click.argument("files", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--pair", "pairs", nargs=3, multiple=True, metavar="LABEL MODEL_JSON REF_JSON",
              type=(str, click.Path(exists=True, path_type=Path), click.Path(exists=True, path_type=Path)),
              help="a material whose model σ and reference σ are in two results (e.g. the model's MD run)")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("sigma-matrix"),
              show_default=True)
def sigma_matrix(files, pairs, out_dir):
    """Confusion matrix of σ^(2) classes, model vs reference, over many materials (table + figure).

    FILES are results of `harness sigma --reference` (both σ inside): results.json files or their run folders.
    """
    from ..tasks.sigma import sigma_matrix as build
    from ..tasks.sigma import write_sigma_matrix

    doc = build(list(files), list(pairs))
    written = write_sigma_matrix(doc, out_dir)
    c = doc["confusion"]
    click.echo(f"{len(doc['rows'])} materials: classes agree for {100 * c['agreement']:.0f} %, "
               f"mean |Δσ| = {doc['sigma_mean_abs_error']:.3f}")
    for r in doc["rows"]:
        click.echo(f"  {r['material']}: reference {r['sigma_reference']:.3f} ({r['class_reference']}), "
                   f"model {r['sigma_model']:.3f} ({r['class_model']})")
    click.echo("written: " + ", ".join(str(p) for p in written))


COMMANDS = [sigma, sigma_matrix]
