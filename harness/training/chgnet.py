"""CHGNet models made by CHGNet's own ``chgnet.trainer.Trainer``.

The recipe's ``trainer:`` keys are that class's keyword arguments (``targets``,
``energy_loss_ratio``, ``optimizer``, ``scheduler``, ``scheduler_params``, ``learning_rate``,
...) and ``train_composition_model`` (an argument of ``Trainer.train``); the harness sets the
model, epochs, seeds and device. Labels go in CHGNet's units: energy per atom (eV/atom),
forces (eV/Å), stress in GPa with ASE's sign (CHGNet's own convention, checked against its
pretrained predictions on strained Cu). Fine-tuning starts from the base checkpoint's
weights, all parameters free (Deng et al.); from scratch, the composition model (AtomRef) is
first fitted to the training energies.

``Trainer.train`` is called once per epoch (its own loop, ``starting_epoch`` .. ``epochs``), so
the harness can print a progress line between epochs; the trainer's scheduler, optimizer and
history carry over, and it writes its checkpoints (``epoch*``, ``bestE_*``, ``bestF_*``) as
usual. CHGNet deletes its previous epoch checkpoint before writing the next one (in place), so
after each epoch the harness copies the new one atomically to ``resume.pth.tar``; ``--resume``
reloads that with ``Trainer.load`` (optimizer, scheduler and history included). The kept model
is the best-validation checkpoint (forces when they are a target, else energies) or the last.
"""

from __future__ import annotations

import contextlib
import inspect
from pathlib import Path

from .._env import prepare_torch
from ..config.model import ModelSpec
from ..config.train import Recipe
from ..errors import ConfigError, TrainingError
from ..files import copy_atomic
from ..units import EV_A3_TO_GPA
from . import Outcome, Trainer, TrainJob, check_keys

OWNED = {"model", "epochs", "starting_epoch", "use_device", "torch_seed", "data_seed", "print_freq",
         "wandb_path", "wandb_init_kwargs", "extra_run_config", "check_cuda_mem"}
EXTRA = {"scheduler_params", "momentum", "weight_decay", "train_composition_model"}  # read from **kwargs / train()


def _trainer_class():
    prepare_torch()
    from chgnet.trainer import Trainer as ChgnetTrainer

    return ChgnetTrainer


def check(recipe: Recipe) -> None:
    params = set(inspect.signature(_trainer_class().__init__).parameters) - {"self", "kwargs"}
    check_keys(recipe, (params | EXTRA) - OWNED, OWNED, "an argument of chgnet.trainer.Trainer",
               "the base model, the recipe's epochs and seed, --device")
    targets = recipe.trainer.get("targets", "ef")
    if not (isinstance(targets, str) and targets in ("e", "ef", "efs", "efsm")):
        raise ConfigError(f"recipe {recipe.name}: trainer targets must be e, ef, efs or efsm, got {targets!r}")


def _structure(atoms):
    from pymatgen.io.ase import AseAtomsAdaptor

    return AseAtomsAdaptor.get_structure(atoms)


def _dataset(frames: list, targets: str):
    import numpy as np
    from chgnet.data.dataset import StructureData

    from ..units import voigt_to_matrix

    stresses = None
    if "s" in targets:
        stresses = [voigt_to_matrix(a.calc.results["stress"]) * EV_A3_TO_GPA for a in frames]
    with contextlib.redirect_stdout(None):
        return StructureData([_structure(a) for a in frames],
                             [a.calc.results["energy"] / len(a) for a in frames],
                             [np.asarray(a.calc.results["forces"]) for a in frames], stresses=stresses, shuffle=False)


def _loader(dataset, batch_size: int, seed: int, shuffle: bool):
    import torch
    from chgnet.data.dataset import collate_graphs
    from torch.utils.data import DataLoader

    return DataLoader(dataset, batch_size=batch_size, collate_fn=collate_graphs, shuffle=shuffle,
                      generator=torch.Generator().manual_seed(seed), num_workers=0)


def _row(epoch: int, hist: dict) -> dict:
    def at(key, part):
        values = hist.get(key, {}).get(part, [])
        return values[epoch] if epoch < len(values) else None

    return {"epoch": epoch, "train_energy_mae_eV_per_atom": at("e", "train"), "train_force_mae_eV_A": at("f", "train"),
            "train_stress_mae_GPa": at("s", "train"), "valid_energy_mae_eV_per_atom": at("e", "val"),
            "valid_force_mae_eV_A": at("f", "val"), "valid_stress_mae_GPa": at("s", "val")}


def train(job: TrainJob) -> Outcome:
    import chgnet

    ChgnetTrainer = _trainer_class()
    from chgnet.model import CHGNet

    from ..models import weight_files

    recipe, work = job.recipe, Path(job.workdir)
    options = dict(recipe.trainer)
    targets = options.setdefault("targets", "ef")
    if "s" in targets and any(a.calc.results.get("stress") is None for a in job.train + job.valid):
        raise ConfigError(f"recipe {recipe.name}: targets '{targets}' train stresses and the frames carry none "
                          f"(use targets ef)")
    composition = options.pop("train_composition_model", job.base is None)
    checkpoints = work / "checkpoints"
    checkpoints.mkdir(parents=True, exist_ok=True)
    log = open(work / "chgnet_train.log", "a")  # noqa: SIM115 - closed below; CHGNet prints every batch
    try:
        with contextlib.redirect_stdout(log):
            train_set, valid_set = _dataset(job.train, targets), _dataset(job.valid, targets)
            train_loader = _loader(train_set, recipe.batch_size, job.seed, True)
            valid_loader = _loader(valid_set, recipe.batch_size, job.seed, False)
            resume_file = work / "resume.pth.tar"
            if job.resume and resume_file.is_file():
                trainer = ChgnetTrainer.load(str(resume_file))
            else:
                if job.base is not None:
                    if job.base.base is not None or job.base.family != "chgnet":
                        raise ConfigError(f"a CHGNet recipe fine-tunes a CHGNet checkpoint; {job.base.label} is a "
                                          f"{job.base.family} model")
                    model = CHGNet.from_file(str(weight_files(job.base)[0]))
                else:
                    model = CHGNet()
                    model.composition_model.fit([_structure(a) for a in job.train],
                                                [a.calc.results["energy"] / len(a) for a in job.train])
                trainer = ChgnetTrainer(model=model, epochs=job.epochs, use_device=job.device, torch_seed=job.seed,
                                        data_seed=job.seed, print_freq=10, **options)
            initial = trainer._validate(valid_loader)  # noqa: SLF001 - the trainer's own evaluation, before any step
            for epoch in range(trainer.starting_epoch, job.epochs):
                trainer.starting_epoch, trainer.epochs = epoch, epoch + 1
                trainer.train(train_loader, valid_loader, None, save_dir=str(checkpoints),
                              train_composition_model=composition)
                (latest,) = checkpoints.glob(f"epoch{epoch}_*.pth.tar")
                copy_atomic(latest, resume_file)
                if job.progress is not None:
                    log.flush()
                    job.progress(epoch, job.epochs, _row(epoch, trainer.training_history))
    except (RuntimeError, ValueError) as exc:
        raise TrainingError(f"chgnet trainer failed: {str(exc).splitlines()[0][:300]} "
                            f"(log: {work / 'chgnet_train.log'})") from None
    finally:
        log.close()
    hist = trainer.training_history
    rows = [_row(e, hist) for e in range(len(hist["e"]["train"]))]
    prefix = "epoch" if recipe.checkpoint == "last" else ("bestF" if "f" in targets else "bestE")
    (kept,) = sorted(checkpoints.glob(f"{prefix}*.pth.tar"))[-1:]
    epoch = int(kept.name.removeprefix(prefix).removeprefix("_epoch").split("_")[0])
    model_file = work / f"{job.name}.pth.tar"
    copy_atomic(kept, model_file)
    initial_row = {"valid_energy_mae_eV_per_atom": initial.get("e"), "valid_force_mae_eV_A": initial.get("f"),
                   "valid_stress_mae_GPa": initial.get("s")}
    return Outcome(model_file=model_file, history=rows, kept_epoch=epoch, initial=initial_row,
                   trainer="chgnet.trainer.Trainer", version=f"chgnet {chgnet.__version__}")


def registry(base: ModelSpec | None, model_file: Path) -> dict:
    """A trained CHGNet runs like the pretrained one (through the bridge, in float32); its cutoff
    is its atom graph's."""
    prepare_torch()
    from chgnet.model import CHGNet

    from .._quiet import quiet_prints

    with quiet_prints():
        cutoff = float(CHGNet.from_file(str(model_file)).graph_converter.atom_graph_cutoff)
    out = {"engines": ["bridge"], "dtype": "float32", "cutoff_A": cutoff}
    if base is not None and base.license:
        out["license"] = base.license
    return out


CHGNET_TRAINER = Trainer("chgnet", "chgnet.trainer.Trainer", check=check, train=train, suffix=".pth.tar",
                         registry=registry)
