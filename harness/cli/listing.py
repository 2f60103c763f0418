"""``harness list``: what is registered, and what this LAMMPS build can run."""

from __future__ import annotations

import click

from .options import Choice


@click.command("list")
@click.argument("what", type=Choice(["systems", "models", "engines"], "listing"))
def list_(what):
    """What is registered: systems (inputs/), models (potentials/), engines (and this build's support)."""
    from .. import config

    if what == "systems":
        for name in config.list_systems():
            spec = config.load_system(name)
            click.echo(f"{name:10s} {spec.temperature_K:6g} K  presets: {', '.join(spec.presets)}  {spec.description[:60]}")
    elif what == "models":
        for name in config.list_models():
            spec = config.load_model(name)
            variants = f" variants: {', '.join(spec.variants)}" if spec.variants else ""
            offline = "offline" if spec.offline else "download"
            click.echo(f"{name:10s} {spec.family:8s} {offline:8s} engines: {', '.join(spec.engines)}{variants}")
    else:
        from ..engines import ENGINES
        from ..lammps.probe import probe

        caps = probe()
        click.echo(f"LAMMPS {caps.version}; packages: {len(caps.packages)}; Kokkos: {caps.kokkos}; "
                   f"ML-IAP python: {caps.mliap_python}")
        for name, engine in ENGINES.items():
            ok, why = engine.available(caps)
            click.echo(f"{name:8s} {'yes' if ok else 'no ':3s}  {engine.description}. {why}")


COMMANDS = [list_]
