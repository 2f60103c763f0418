"""SevenNet models made by sevenn's own trainer (the ``sevenn`` command and its ``input.yaml``).

The recipe's ``trainer:`` holds the three sections of sevenn's ``input.yaml`` (``model``,
``train``, ``data``), each key checked against sevenn's own defaults; the harness writes the
data files and sets the seed, epochs, batch size, the data paths and, for a fine-tune, the
base checkpoint (``train.continue`` with optimizer, scheduler and epoch reset, the model
section taken from the checkpoint's own configuration, as sevenn's ``fine_tune.yaml`` requires
it to be). sevenn writes a checkpoint per epoch and the best-validation one; ``--resume``
continues from the newest whole epoch checkpoint. Labels are read by sevenn through ASE
(eV, eV/Å, eV/Å³) from the harness's extended XYZ.
"""

from __future__ import annotations

import csv
import re
import sys
from pathlib import Path

import yaml

from .._env import prepare_torch
from ..config.model import ModelSpec
from ..config.train import Recipe
from ..errors import ConfigError, TrainingError
from ..files import copy_atomic
from . import Outcome, Trainer, TrainJob, check_keys, checkpoints_by_epoch, drop_unreadable, run_trainer

SECTIONS = ("model", "train", "data")
OWNED = {"train": {"random_seed", "epoch", "continue", "use_testset", "csv_log", "per_epoch"},
         "data": {"load_trainset_path", "load_validset_path", "load_testset_path", "batch_size", "data_format",
                  "data_format_args", "save_dataset_path", "data_divide_ratio"},
         "model": set()}
_EPOCH = re.compile(r"^Epoch (\d+)/(\d+)")
_CHECKPOINT = re.compile(r"^checkpoint_(\d+)\.pth$")


def _defaults() -> dict[str, set]:
    prepare_torch()
    import sevenn._const as const

    return {"model": set(const.DEFAULT_E3_EQUIVARIANT_MODEL_CONFIG) | {"chemical_species"},
            "train": set(const.DEFAULT_TRAINING_CONFIG),
            "data": set(const.DEFAULT_DATA_CONFIG) | {"load_trainset_path", "load_validset_path",
                                                     "load_testset_path"}}


def check(recipe: Recipe) -> None:
    extra = sorted(set(recipe.trainer) - set(SECTIONS))
    if extra:
        raise ConfigError(f"recipe {recipe.name}: trainer key '{extra[0]}' is not a section of sevenn's input.yaml "
                          f"(sections: {', '.join(SECTIONS)})")
    known = _defaults()
    for section in SECTIONS:
        part = recipe.trainer.get(section) or {}
        if not isinstance(part, dict):
            raise ConfigError(f"recipe {recipe.name}: trainer section '{section}' must be a mapping")
        sub = Recipe(**{**recipe.__dict__, "trainer": part})
        check_keys(sub, known[section] - OWNED[section], OWNED[section], f"a {section} key of sevenn's input.yaml",
                   "the frames, the recipe's seed, epochs and batch size, the base model")
    if recipe.mode == "finetune" and recipe.trainer.get("model"):
        raise ConfigError(f"recipe {recipe.name}: a SevenNet fine-tune takes the model section from the base "
                          f"checkpoint (sevenn requires them equal); remove trainer.model")


def _base_checkpoint(base: ModelSpec) -> tuple[Path, dict]:
    from ..models import weight_files
    from ..models.family import torch_load

    (path,) = weight_files(base)
    return Path(path), torch_load(path)["config"]


def _input(job: TrainJob, out: Path, stress: bool) -> dict:
    r = job.recipe
    model = dict(r.trainer.get("model") or {})
    train = {**(r.trainer.get("train") or {}), "random_seed": job.seed, "epoch": job.epochs, "per_epoch": 1,
             "csv_log": "lc.csv"}
    train.setdefault("is_train_stress", stress)
    data = {**(r.trainer.get("data") or {}), "batch_size": r.batch_size,
            "load_trainset_path": ["train.extxyz"], "load_validset_path": ["valid.extxyz"]}
    if job.base is not None:
        path, config = _base_checkpoint(job.base)
        keys = _defaults()["model"]
        model = {k: v for k, v in config.items() if k in keys}
        train["continue"] = {"checkpoint": str(path), "reset_optimizer": True, "reset_scheduler": True,
                             "reset_epoch": True}
    latest = drop_unreadable(checkpoints_by_epoch(out, _CHECKPOINT))[0] if job.resume and out.is_dir() else None
    if latest is not None:
        train["continue"] = {"checkpoint": str(latest), "reset_optimizer": False, "reset_scheduler": False,
                             "reset_epoch": False}
    return {"model": model, "train": train, "data": data}


def history(lc: Path) -> list[dict]:
    """sevenn's learning curve (``lc.csv``: 1-based epochs) as the harness's rows (0-based).
    Its force MAE is per component, like the harness's; its force RMSE is over per-atom error
    vectors (√3 times a component RMSE for isotropic errors), so it is left out here."""
    if not lc.is_file():
        return []
    rows = {}
    with open(lc) as fh:
        for row in csv.DictReader(fh):
            num = {k: float(v) for k, v in row.items() if v not in (None, "")}
            epoch = int(num["epoch"]) - 1
            rows[epoch] = {"epoch": epoch, "train_loss": num.get("trainset_TotalLoss"),
                           "valid_loss": num.get("validset_TotalLoss"),
                           "train_force_mae_eV_A": num.get("trainset_Force_MAE"),
                           "valid_force_mae_eV_A": num.get("validset_Force_MAE"),
                           "valid_energy_rmse_eV_per_atom": num.get("validset_Energy_RMSE")}
    return [rows[k] for k in sorted(rows)]


ERROR_RECORD = [["Energy", "RMSE"], ["Force", "RMSE"], ["Force", "MAE"], ["Stress", "RMSE"], ["TotalLoss", "None"]]


def train(job: TrainJob) -> Outcome:
    import sevenn

    from ..io.frames import write_frames

    work = Path(job.workdir)
    work.mkdir(parents=True, exist_ok=True)
    out = work / "out"
    stress = all(a.calc.results.get("stress") is not None for a in job.train + job.valid)
    write_frames(work / "train.extxyz", job.train)
    write_frames(work / "valid.extxyz", job.valid)
    prepare_torch()  # the subprocess inherits TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD (e3nn's constants)
    config = _input(job, out, stress)
    config["train"].setdefault("error_record", ERROR_RECORD if stress else ERROR_RECORD[:3] + ERROR_RECORD[4:])
    (work / "input.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    command = [sys.executable, "-m", "sevenn.main.sevenn", "input.yaml", "-s", "-w", "out"]
    epoch = []  # the epoch sevenn is in (its "Epoch N/M" header), reported when it says it ended

    def on_line(line: str) -> None:
        if (m := _EPOCH.match(line)) is not None:
            epoch[:] = [int(m.group(1)) - 1]
        elif line.startswith("Epoch ") and "elapsed" in line and epoch and job.progress is not None:
            row = next((r for r in history(out / "lc.csv") if r["epoch"] == epoch[0]), {"epoch": epoch[0]})
            job.progress(epoch[0], job.epochs, row)

    run_trainer("sevenn", command, work, on_line,
                env={"CUDA_VISIBLE_DEVICES": ""} if job.device == "cpu" else None)
    rows = history(out / "lc.csv")
    if job.recipe.checkpoint == "last":
        kept_file, kept = checkpoints_by_epoch(out, _CHECKPOINT)[-1], rows[-1]["epoch"] if rows else None
    else:
        kept_file = out / "checkpoint_best.pth"
        kept = min(rows, key=lambda r: r["valid_loss"])["epoch"] if rows else None
    if not kept_file.is_file():
        raise TrainingError(f"sevenn finished without writing {kept_file} (log: {work / 'sevenn.log'})")
    model_file = work / f"{job.name}.pth"
    copy_atomic(kept_file, model_file)
    return Outcome(model_file=model_file, history=rows, kept_epoch=kept, initial=None, trainer="sevenn",
                   version=f"sevenn {sevenn.__version__}")


def registry(base: ModelSpec | None, model_file: Path) -> dict:
    """A trained SevenNet runs like the shipped ones: through the bridge, in float32, its cutoff."""
    from ..models.family import torch_load

    out = {"engines": ["bridge"], "dtype": "float32", "cutoff_A": float(torch_load(model_file)["config"]["cutoff"])}
    if base is not None and base.license:
        out["license"] = base.license
    return out


SEVENNET_TRAINER = Trainer("sevennet", "sevenn", check=check, train=train, suffix=".pth", registry=registry)
