"""Making models with each family's own trainer: ``mace_run_train`` (:mod:`.mace`),
``chgnet.trainer.Trainer`` (:mod:`.chgnet`). Nothing here re-implements a training loop.

A :class:`Trainer` says which recipe keys its library knows (checked before any training), and
trains: labelled frames already split (:mod:`.labels`) and a recipe in, a model file and the
per-epoch history out. Trainers are found by family name through :mod:`harness.catalog`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .. import catalog
from ..config.model import ModelSpec
from ..config.train import Recipe
from ..errors import ConfigError, TrainingError


@dataclass(frozen=True)
class TrainJob:
    """One training: the recipe (with the run's epochs and seed), the split frames (lists of
    ase.Atoms with their labels), the base model (``None``: from scratch), the device, the
    folder the trainer writes into, whether to continue an interrupted training there, and a
    ``progress(epoch, epochs, row)`` callback called after each epoch."""

    recipe: Recipe
    epochs: int
    seed: int
    train: list
    valid: list
    base: ModelSpec | None
    device: str
    workdir: Path
    name: str
    resume: bool = False
    progress: Callable[[int, int, dict], None] | None = None


@dataclass
class Outcome:
    """What a trainer made: the model file, one row per epoch (``epoch``, ``train_loss``,
    ``valid_loss``, ``valid_energy_*``/``valid_force_*`` errors in eV/atom and eV/Å), the
    epoch whose checkpoint is kept, the loss the base model has on the validation set before
    any step (``initial``; fine-tuning starts there), and the trainer's name and version."""

    model_file: Path
    history: list[dict] = field(default_factory=list)
    kept_epoch: int | None = None
    initial: dict | None = None
    trainer: str = ""
    version: str = ""


@dataclass(frozen=True)
class Trainer:
    """One family's trainer.

    ``tool``: the trainer's own name (``mace_run_train``); ``check(recipe)``: one line when a
    key under the recipe's ``trainer:`` is not an option of the installed trainer, or is one
    the harness sets; ``train(job) -> Outcome``; ``suffix``: the model file's ending;
    ``registry(base, model_file)``: keys of the trained model's registry YAML besides name,
    family and weights (engines, dtype, cutoff ...).
    """

    family: str
    tool: str
    check: Callable[[Recipe], None]
    train: Callable[[TrainJob], Outcome]
    suffix: str
    registry: Callable[[ModelSpec | None, Path], dict]


def check_keys(recipe: Recipe, known, owned, what: str, owned_by: str) -> None:
    """One line for the first key under the recipe's ``trainer:`` that the harness sets itself
    (``owned``; ``owned_by`` says from what) or that the trainer does not know (``known``; the
    closest known name is offered). ``what``: the trainer's options as a user would call them."""
    import difflib

    for key in recipe.trainer:
        if key in owned:
            raise ConfigError(f"recipe {recipe.name}: trainer key '{key}' is set by harness train ({owned_by}); "
                              f"remove it")
        if key not in known:
            close = difflib.get_close_matches(key, sorted(known), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise ConfigError(f"recipe {recipe.name}: '{key}' is not {what}{hint}")


def run_trainer(tool: str, command: list[str], work: Path, on_line: Callable[[str], None], *,
                env: dict | None = None) -> None:
    """Run a trainer's own command in ``work``: every line it prints appended to ``<tool>.log``
    there and handed to ``on_line`` (progress, checkpoints); a failure is one line, the last
    thing it said and where its whole log is."""
    import os
    import subprocess

    log_path = Path(work) / f"{tool}.log"
    last: list[str] = []
    with open(log_path, "a") as log, subprocess.Popen(
            command, cwd=work, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}) as proc:
        for line in proc.stdout:
            log.write(line)
            last = (last + [line.rstrip()])[-20:]
            on_line(line)
    if proc.returncode != 0:
        said = next((x for x in reversed(last) if x.strip() and not x.startswith(" ")), f"exit {proc.returncode}")
        raise TrainingError(f"{tool} failed: {said[-300:]} (log: {log_path})")


def checkpoints_by_epoch(folder: Path, pattern) -> list[Path]:
    """A trainer's epoch checkpoints in ``folder``, oldest first: the files whose name
    ``pattern`` (a compiled regex, epoch as its first group) matches."""
    found = [(int(m.group(1)), p) for p in Path(folder).glob("*") if (m := pattern.search(p.name))]
    return [p for _, p in sorted(found)]


def drop_unreadable(checkpoints: list[Path]) -> tuple[Path | None, list[str]]:
    """Before a resume: the newest of ``checkpoints`` (oldest first) that torch loads, after
    removing the newer ones it cannot (cut by a kill while the trainer wrote them in place);
    returns it (``None``: none) and the names removed."""
    import torch

    dropped = []
    for path in reversed(checkpoints):
        try:
            torch.load(str(path), map_location="cpu", weights_only=False)
            return path, dropped
        except Exception:  # noqa: BLE001 - a cut zip or pickle raises many types
            path.unlink()
            dropped.append(path.name)
    return None, dropped


def trainer(family: str) -> Trainer:
    return catalog.load("trainer", family)


__all__ = ["Outcome", "Trainer", "TrainJob", "check_keys", "checkpoints_by_epoch", "drop_unreadable", "run_trainer",
           "trainer"]
