"""``harness init [DIR]``: start a project folder from the shipped defaults."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("init")
@click.argument("directory", metavar="[DIR]", required=False, default=".", type=click.Path(path_type=Path))
def init(directory):
    """Write a project folder DIR (default: here): inputs/, potentials/ and templates/ (copies of the
    shipped ones to edit) and a README of what each holds.

    Run harness from inside it: its files override the shipped ones of the same name. Existing
    files are never overwritten (they are listed as kept).
    """
    from ..scaffold import init_project

    report = init_project(directory)
    counts = {folder: sum(1 for f in report.written if f.startswith(folder + "/")) for folder in report.folders}
    parts = [f"{folder}/ ({n} file{'s' if n != 1 else ''})" for folder, n in counts.items() if n]
    if "README.md" in report.written:
        parts.append("README.md")
    click.echo(f"{report.root}: wrote {', '.join(parts)}" if parts else f"{report.root}: nothing new to write")
    if report.kept:
        click.echo(f"kept {len(report.kept)} existing file(s), not overwritten: {', '.join(report.kept)}")
    click.echo(f"run harness from {report.root} (or below it): its files override the shipped ones "
               "(`harness list systems|models|templates` shows where each comes from)")


COMMANDS = [init]
