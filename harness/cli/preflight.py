"""``harness preflight RUN_DIR [--on-build]``: check a GPU run folder before it is submitted."""

from __future__ import annotations

from pathlib import Path

import click

RUN_DIR = click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))


@click.command()
@RUN_DIR
@click.option("--on-build", is_flag=True,
              help="on the cluster's LAMMPS (ML-IAP Python coupling): run the real deck a few steps and compare "
                   "its forces with the bridge engine's on the same frame")
@click.option("--steps", type=click.IntRange(min=1), default=10, show_default=True,
              help="MD steps (and minimizer iterations) each deck runs for")
def preflight(run_dir, on_build, steps):
    """Check an ML-IAP run folder (`harness render … --engine mliap`) with the tools that will run it:
    bash -n job.sh, the Kokkos launch line, pair_coeff's elements against the data file, the
    exported model, and every deck executed by this LAMMPS with ML-IAP swapped for pair_style zero.
    One line per check; exit code 2 if any fails (submit only after it passes)."""
    from .. import preflight as pf

    checks = pf.preflight(run_dir, steps=steps)
    if failed := _report(checks):
        raise pf.PreflightError(f"{run_dir}: pre-flight failed ({failed}): fix it before submitting")
    if on_build and (failed := _report(pf.on_build(run_dir, steps=steps))):
        raise pf.PreflightError(f"{run_dir}: on-build check failed ({failed})")
    click.echo(f"{run_dir}: pre-flight passed ({len(checks)} checks{', and on this build' if on_build else ''})")


COMMANDS = [preflight]


def _report(checks) -> str:
    """One line per check; the names of those that failed ("" if none)."""
    for check in checks:
        click.echo(check.line())
    return ", ".join(c.name for c in checks if not c.ok)
