"""MACE models made by mace-torch's own ``mace_run_train`` (run as ``python -m mace.cli.run_train``).

From scratch (``--E0s average`` unless the recipe says otherwise) or fine-tuned from any MACE
file (``--foundation_model FILE --multiheads_finetuning False``: the base's weights are the
start, its isolated-atom energies are kept, no pre-training data is replayed, so it runs
offline). The recipe's ``trainer:`` keys are ``mace_run_train``'s own option names, checked
against the installed parser; the harness sets the files, folders, keys, seed, epochs, batch
size and device itself. mace-torch keeps the checkpoint of the lowest validation loss; the
run's log (``mace_run_train.log``), checkpoints and per-epoch results stay in the work folder,
and ``--resume`` continues from the latest checkpoint (``--restart_latest``). mace removes its
old checkpoint before writing the new one, in place: the harness keeps two (``--keep_checkpoints``,
pruned after each epoch) and drops a cut newest one before resuming, so a kill at any instant
leaves a checkpoint to resume from. mace restarts at the epoch of that checkpoint and trains it
again.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from .._env import prepare_torch
from ..config.model import ModelSpec
from ..config.train import Recipe
from ..errors import ConfigError, TrainingError
from . import Outcome, Trainer, TrainJob, check_keys, checkpoints_by_epoch, drop_unreadable, run_trainer
from .labels import ENERGY_KEY, FORCES_KEY, STRESS_KEY, write_training_xyz

# options the harness sets from the run (a recipe that sets them is refused: one source of truth)
OWNED = {"name", "seed", "keep_checkpoints", "train_file", "valid_file", "test_file", "valid_fraction",
         "max_num_epochs", "device", "energy_key", "forces_key", "stress_key", "virials_key", "model_dir",
         "log_dir", "checkpoints_dir", "results_dir", "work_dir", "downloads_dir", "foundation_model",
         "multiheads_finetuning", "restart_latest", "batch_size", "valid_batch_size", "compute_stress",
         "pt_train_file"}
_EPOCH = re.compile(r"INFO: (Initial|Epoch (\d+)):")
_KEPT = re.compile(r"Loading checkpoint: \S*_epoch-(\d+)")
_CHECKPOINT = re.compile(r"_epoch-(\d+)(_swa)?\.pt$")
KEEP = 2  # checkpoints kept: the newest may be cut by a kill while mace writes it


def _parser_actions() -> dict:
    """mace_run_train's options: dest -> argparse action (its option string, whether it is a flag)."""
    prepare_torch()
    from .._quiet import quiet_prints

    with quiet_prints():
        from mace.tools import build_default_arg_parser

    return {a.dest: a for a in build_default_arg_parser()._actions if a.dest != "help"}  # noqa: SLF001


def _option(action, key: str, value) -> list[str]:
    """One option on mace_run_train's command line: a flag (``store_true``) given or left out,
    a dict or list as Python literal (mace reads them with ``ast.literal_eval``)."""
    name = action.option_strings[0] if action is not None else f"--{key}"
    if action is not None and action.nargs == 0:  # store_true / store_false
        return [name] if bool(value) != (action.const is False) else []
    return [f"{name}={repr(value) if isinstance(value, (dict, list)) else value}"]


def check(recipe: Recipe) -> None:
    """One line for a ``trainer:`` key ``mace_run_train`` does not know, or one the harness sets."""
    if recipe.checkpoint != "best-validation":
        raise ConfigError(f"recipe {recipe.name}: mace_run_train keeps the best-validation checkpoint only "
                          f"(checkpoint: {recipe.checkpoint})")
    check_keys(recipe, set(_parser_actions()), OWNED, "an option of mace_run_train",
               "from the frames, the split, the recipe's epochs/seed/batch_size and --device")


def _base_file(base: ModelSpec) -> Path:
    from ..models import weight_files

    if base.base is not None or base.family != "mace":
        raise ConfigError(f"a MACE recipe fine-tunes a MACE model file; {base.label} is a {base.family} model")
    (path,) = weight_files(base)
    return Path(path)


def _base_e0s(path: Path) -> str:
    """The base model's isolated-atom energies as ``mace_run_train --E0s`` takes them."""
    from ..models.family import torch_load

    model = torch_load(path)
    energies = model.atomic_energies_fn.atomic_energies.detach().reshape(-1, len(model.atomic_numbers))[0]
    return repr({int(z): float(e) for z, e in zip(model.atomic_numbers.tolist(), energies.tolist())})


def _arguments(job: TrainJob, train_xyz: Path, valid_xyz: Path, stress: bool) -> list[str]:
    r = job.recipe
    args = {"name": job.name, "seed": job.seed, "train_file": train_xyz.name, "valid_file": valid_xyz.name,
            "max_num_epochs": job.epochs, "device": job.device, "energy_key": ENERGY_KEY, "forces_key": FORCES_KEY,
            "stress_key": STRESS_KEY, "model_dir": "model", "log_dir": "logs", "checkpoints_dir": "checkpoints",
            "results_dir": "results", "batch_size": r.batch_size, "valid_batch_size": r.batch_size,
            "compute_stress": stress, "plot": False, "keep_checkpoints": True}
    if job.base is not None:
        base = _base_file(job.base)
        args.update(foundation_model=str(base), multiheads_finetuning=False, E0s=_base_e0s(base))
    else:
        args["E0s"] = "average"
    args.update(r.trainer)
    actions = _parser_actions()
    out = [sys.executable, "-m", "mace.cli.run_train"]
    for key, value in args.items():
        out += _option(actions.get(key), key, value)
    if job.resume:
        out.append("--restart_latest")
    return out


def prune_checkpoints(folder: Path, keep: int = KEEP) -> None:
    """All but the ``keep`` newest checkpoints removed. mace itself removes the old checkpoint
    before it writes the new one (not atomically): a kill in between leaves none, or a cut
    file. The harness runs it with ``--keep_checkpoints`` and prunes here, after each epoch."""
    for path in checkpoints_by_epoch(folder, _CHECKPOINT)[:-keep]:
        path.unlink(missing_ok=True)


def _eval_rows(results_dir: Path) -> list[dict]:
    """mace-torch's per-epoch rows (``results/*_train.txt``, JSON lines): evaluations (``mode:
    eval``, ``epoch: null`` before training) and the loss of every optimisation step."""
    rows = []
    for path in sorted(results_dir.glob("*_train.txt")):
        for line in path.read_text().splitlines():
            if line.strip():
                rows.append(json.loads(line))
    return rows


def history(results_dir: Path) -> tuple[list[dict], dict | None]:
    """One row per epoch (mean training loss over its steps, validation loss and errors in eV
    units) and the evaluation before the first step."""
    rows = _eval_rows(results_dir)
    initial, epochs = None, {}
    for row in rows:
        if row.get("mode") == "eval":
            entry = {"valid_loss": row["loss"], "valid_energy_rmse_eV_per_atom": row.get("rmse_e_per_atom"),
                     "valid_energy_mae_eV_per_atom": row.get("mae_e_per_atom"),
                     "valid_force_rmse_eV_A": row.get("rmse_f"), "valid_force_mae_eV_A": row.get("mae_f")}
            if row.get("epoch") is None:
                initial = entry
            else:
                epochs.setdefault(int(row["epoch"]), {}).update(entry)
        elif row.get("mode") == "opt":
            e = epochs.setdefault(int(row["epoch"]), {})
            e.setdefault("_losses", []).append(row["loss"])
    out = []
    for epoch in sorted(epochs):
        e = epochs[epoch]
        losses = e.pop("_losses", [])
        out.append({"epoch": epoch, "train_loss": sum(losses) / len(losses) if losses else None, **e})
    return out, initial


def train(job: TrainJob) -> Outcome:
    import mace

    work = Path(job.workdir)
    work.mkdir(parents=True, exist_ok=True)
    stress = all(a.calc.results.get("stress") is not None for a in job.train + job.valid)
    if job.resume:
        prepare_torch()
        for name in drop_unreadable(checkpoints_by_epoch(work / "checkpoints", _CHECKPOINT))[1]:
            print(f"harness: checkpoint {name} was cut while being written (the kill); resuming from the one "
                  f"before it", file=sys.stderr)
    train_xyz = write_training_xyz(work / "train.xyz", job.train)
    valid_xyz = write_training_xyz(work / "valid.xyz", job.valid)
    command = _arguments(job, train_xyz, valid_xyz, stress)
    (work / "command.txt").write_text(" ".join(command[1:]) + "\n")
    kept = []  # the epoch of the checkpoint mace loads at the end (its best)

    def on_line(line: str) -> None:
        if (m := _KEPT.search(line)) is not None:
            kept.append(int(m.group(1)))
        if (m := _EPOCH.search(line)) is not None and m.group(2) is not None:
            prune_checkpoints(work / "checkpoints")
            if job.progress is not None:
                rows, _ = history(work / "results")
                row = next((r for r in rows if r["epoch"] == int(m.group(2))), {"epoch": int(m.group(2))})
                job.progress(int(m.group(2)), job.epochs, row)

    run_trainer("mace_run_train", command, work, on_line)
    model = work / "model" / f"{job.name}.model"
    if not model.is_file():
        raise TrainingError(f"mace_run_train finished without writing {model} (log: {work / 'mace_run_train.log'})")
    rows, initial = history(work / "results")
    return Outcome(model_file=model, history=rows, kept_epoch=kept[-1] if kept else None, initial=initial,
                   trainer="mace_run_train", version=f"mace-torch {mace.__version__}")


def registry(base: ModelSpec | None, model_file: Path) -> dict:
    """What a trained MACE's registry YAML says besides its weights: what any MACE file runs on."""
    out = {"engines": ["mliap", "bridge"]}
    if base is not None and base.license:
        out["license"] = base.license
    return out


MACE_TRAINER = Trainer("mace", "mace_run_train", check=check, train=train, suffix=".model", registry=registry)
