"""``harness softening``: PES softening of a model against labelled frames, and its linear correction."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import ConfigError
from .options import labelled_frames_options, run_command


def frame_indices(text: str | None) -> tuple[int, ...] | None:
    """``0,3,5-7`` -> (0, 3, 5, 6, 7)."""
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
    return tuple(out)


@click.command()
@labelled_frames_options
@click.option("--fit-correction", is_flag=True, help="fit c (E'=cE, F'=cF) and write <base>-corrected-<tag>.yaml")
@click.option("--fit-frames", default=None, help="frames to fit c on, e.g. 0 or 0,3,5-7 [default: all]")
@click.option("--potentials-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="where the corrected model YAML goes [default: the project's potentials/]")
def softening(model, reference, fmt, engine, tag, runs_dir, overwrite, render_only, no_progress, fit_correction,
              fit_frames, potentials_dir):
    """Softening scale, MAE and cMAE of MODEL's forces vs reference (DFT) forces; optional linear correction."""
    from ..config import SofteningSettings, load_model
    from ..tasks.softening import SofteningTask

    settings = SofteningSettings(model=load_model(model), reference=reference, fmt=fmt, engine=engine, tag=tag,
                                 fit=fit_correction, fit_frames=frame_indices(fit_frames),
                                 potentials_out=potentials_dir, overwrite_model=overwrite)
    run_command(SofteningTask(settings), runs_dir, overwrite=overwrite, render_only=render_only,
                progress=not no_progress)


COMMANDS = [softening]
