"""``harness kappa``: Green–Kubo thermal conductivity of an MD run that wrote its heat flux."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--window", "window_ps", type=click.FloatRange(min=0, min_open=True), default=None, metavar="PS",
              help="integrate the HFACF to this time [default: its first zero]")
@click.option("--max-lag", "max_lag_ps", type=click.FloatRange(min=0, min_open=True), default=None, metavar="PS",
              help="longest correlation time computed [default: a fifth of a segment]")
@click.option("--segments", type=click.IntRange(min=1), default=None,
              help="independent segments for the spread [default: 5 from 5,000 samples on, else 1]")
@click.option("--partial", is_flag=True, help="a run that did not complete: what it wrote")
def kappa(run_dir, window_ps, max_lag_ps, segments, partial):
    """κ (W/(m·K)) from the heat flux J(t) of an MD run made with --heat-flux: the heat-flux
    autocorrelation, its running integral, the window, the spread over segments; kappa.png."""
    from ..tasks.analyze import kappa_run

    doc = kappa_run(run_dir, partial=partial, window_ps=window_ps, max_lag_ps=max_lag_ps, segments=segments)
    spread = (f" ({doc['kappa_mean_W_mK']:.4g} ± {doc['kappa_sem_W_mK']:.2g} over {doc['segments']} segments)"
              if doc.get("segments") else "")
    click.echo(f"κ = {doc['kappa_W_mK']:.4g} W/(m·K){spread}, window {doc['window_ps']:.4g} ps ({doc['window']}), "
               f"{doc['n_samples']} samples every {doc['sample_dt_ps']:.3g} ps, T {doc['temperature_K']:.1f} K, "
               f"V {doc['volume_A3']:.1f} Å³")
    click.echo(f"results: {run_dir / 'results.json'} (kappa), figure: {run_dir / 'figures' / 'kappa.png'}")


COMMANDS = [kappa]
