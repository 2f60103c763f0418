"""``harness list``: what is registered (and from where), and what this LAMMPS build can run."""

from __future__ import annotations

import click

from .options import Choice

LISTINGS = ("systems", "models", "recipes", "templates", "engines", "clusters")


def _where(found) -> str:
    """``project`` or ``project (overrides shipped)``: where an entry comes from."""
    return found.origin + (f" (overrides {', '.join(found.shadows)})" if found.shadows else "")


def _lookup_header(folder: str) -> None:
    """The search path, first place first: what the origin column of each entry refers to."""
    from ..config.project import describe_places

    search_path = describe_places()  # a bad $HARNESS_ROOT is one line, before any output
    click.echo(f"# {folder}/ is looked up in this order; the first place that has a name wins:")
    for label, where in search_path:
        click.echo(f"#   {label:14s} {where}")


@click.command("list")
@click.argument("what", type=Choice(LISTINGS, "listing"))
def list_(what):
    """What is registered: systems (inputs/), models (potentials/), training recipes
    (potentials/recipes/), templates, engines (and this build's support), clusters.

    Systems, models and templates are looked up in $HARNESS_ROOT, then the project folder
    (the current directory or the nearest one above it holding inputs/, potentials/ or
    templates/), then the defaults shipped with the harness; each entry says which.
    """
    from .. import config
    from ..config.project import available, registry

    if what == "systems":
        _lookup_header("inputs")
        for name, found in registry("inputs").items():
            spec = config.load_system(name)
            click.echo(f"{name:10s} {spec.temperature_K:6g} K  presets: {', '.join(spec.presets)}  "
                       f"{spec.description[:60]}  [{_where(found)}]")
    elif what == "models":
        from ..cache import cache_root

        _lookup_header("potentials")
        click.echo(f"# cache (downloaded weights, ML-IAP exports, model metadata): {cache_root()}")
        for name, found in registry("potentials").items():
            spec = config.load_model(name)
            variants = f" variants: {', '.join(spec.variants)}" if spec.variants else ""
            offline = "offline" if spec.offline else "download"
            click.echo(f"{name:10s} {spec.family:8s} {offline:8s} engines: {', '.join(spec.engines)}{variants}"
                       f"  [{_where(found)}]")
    elif what == "recipes":
        from ..config.train import RECIPES

        _lookup_header("potentials")
        for found in available("potentials", (f"{RECIPES}/*.yaml",)).values():
            r = config.load_recipe(found.path.stem)
            start = f"from {r.base}" if r.mode == "finetune" else "from scratch"
            click.echo(f"{r.name:22s} {r.family:7s} {start:14s} {r.epochs:4d} epochs  split {r.train}/{r.validation}"
                       f"  {r.description[:50]}  [{_where(found)}]")
    elif what == "clusters":
        from ..jobs.profiles import load_profile

        _lookup_header("clusters")
        for name, found in registry("clusters").items():
            p = load_profile(name)
            gpus = f"{p.gpus_per_node} GPU/node" if p.gpus_per_node else "CPU"
            click.echo(f"{name:12s} {p.scheduler:6s} {p.partition or '-':10s} {p.nodes}x{p.tasks_per_node} tasks "
                       f"{gpus:10s} walltime {p.walltime}  {p.description[:50]}  [{_where(found)}]")
    elif what == "templates":
        _lookup_header("templates")
        for name, found in available("templates").items():
            click.echo(f"{name:18s} {_where(found):10s} {found.path}")
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
