"""``harness train``: labelled frames + a recipe -> a model, made by its family's own trainer.

render
    reads every frame file, checks the labels (:mod:`harness.training.labels`), the recipe's
    trainer keys against the installed trainer, the base model's elements; draws the
    train/validation/test split with the recipe's seed and writes it (``split.json``,
    ``data/{train,validation,test}.extxyz``) and the recipe (``recipe.yaml``).
execute
    trains in ``trainer/`` (the library's own logs and checkpoints; ``--resume`` continues from
    its latest checkpoint), copies the kept model to ``model-trained/``, writes its registry
    YAML (``<potentials>/<name>.yaml``, usable at once as ``MODEL=<name>``, and a portable copy
    in the run folder), then evaluates the test frames through LAMMPS with the trained model
    and with the one it is compared with (the base by default): ``test_frames.npz``.
collect
    ``results.json``: the test-set errors before and after (force MAE, RMSE, softening scale,
    cMAE; energy per atom), the training history, the kept epoch, provenance;
    ``training.png`` (curves) and ``parity.png`` (test forces, before and after).
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np
import yaml

from ..config import TrainSettings, load_model, load_recipe, potentials_dir, use_as
from ..errors import ConfigError, RunExistsError
from ..files import copy_atomic, file_sha256, read_json, write_json, write_text
from ..forces import TEMPLATES as FORCE_TEMPLATES
from ..progress import hms
from ..provenance import now
from .base import Task, register
from .frames import load_model_frames, model_entry, save_model_frames

TRAINED = "model-trained"
SETS = ("train", "validation", "test")


def _read_all(settings: TrainSettings) -> list:
    from ..io.frames import read_frames

    return [a for path in settings.frames for a in read_frames(path, settings.fmt)]


@register
class TrainTask(Task):
    name = "train"
    settings_class = TrainSettings
    templates = FORCE_TEMPLATES

    def __init__(self, settings: TrainSettings, **_):
        from ..models.metadata import check_covers
        from ..training import trainer
        from ..training.labels import check_labels, split

        super().__init__(settings)
        s = settings
        self.recipe = load_recipe(s.recipe)
        r = self.recipe
        base = s.model
        if r.mode == "finetune" and base is None:
            if r.base is None:
                raise ConfigError(f"recipe {r.name} fine-tunes a base model: give --base MODEL")
            base = load_model(r.base)
        if r.mode == "scratch" and base is not None:
            raise ConfigError(f"recipe {r.name} trains from scratch; --base goes with a fine-tuning recipe")
        if base is not None and (base.base is not None or base.family != r.family):
            kind = "a linear correction" if base.base is not None else f"a model of family {base.family}"
            raise ConfigError(f"recipe {r.name} fine-tunes a {r.family} model; {base.label} is {kind}")
        self.base = base
        self.trainer = trainer(r.family)
        self.trainer.check(r)
        self.frames = _read_all(s)
        self.label_info = check_labels(self.frames)
        if base is not None:
            check_covers(base, self.label_info["elements"], "training frames")
        self.compare = s.compare or base
        self.epochs = s.epochs or r.epochs
        self.seed = r.seed if s.seed is None else s.seed
        self.split = split(len(self.frames), r.split_counts(len(self.frames)), self.seed)
        if self.compare is not None and self.split["test"]:
            check_covers(self.compare, self.label_info["elements"], "test frames")
        self.yaml_path = Path(s.potentials_out or potentials_dir()) / f"{s.name}.yaml"

    @property
    def model_spec(self):
        return self.base

    @property
    def wants_gpu(self) -> bool:
        """A job of this task asks for one GPU (the trainer uses it when torch sees it)."""
        return self.settings.device != "cpu"

    def header(self) -> list[str]:
        r, n = self.recipe, {k: len(v) for k, v in self.split.items()}
        start = f"fine-tunes {self.base.label}" if self.base is not None else "from scratch"
        return [f"recipe {r.name}: {r.family} {start} with {self.trainer.tool}, {self.epochs} epochs, seed "
                f"{self.seed}; frames {n['train']} train / {n['validation']} validation / {n['test']} test"]

    def subset(self, key: str) -> list:
        return [self.frames[i] for i in self.split[key]]

    # ------------------------------------------------------------------ render
    def render(self, run_dir: Path, **_) -> dict:
        from ..io.frames import reference_entry, write_frames

        s = self.settings
        if self.yaml_path.exists() and not s.overwrite_model:
            raise RunExistsError(f"model {self.yaml_path} already exists; choose another --name, or --overwrite")
        run_dir = Path(run_dir)
        (run_dir / "data").mkdir(exist_ok=True)
        for key in SETS:
            if self.split[key]:
                write_frames(run_dir / "data" / f"{key}.extxyz", self.subset(key))
        origin = [{"file": a.info.get("frame_source"), "index": a.info.get("frame_index")} for a in self.frames]
        write_json(run_dir / "split.json", {"seed": self.seed, "sets": self.split, "frames": origin,
                                            "recipe_split": {"train": self.recipe.train,
                                                             "validation": self.recipe.validation}})
        shutil.copyfile(self.recipe.path, run_dir / "recipe.yaml")
        files = []
        for path in s.frames:
            frames = [a for a in self.frames if a.info.get("frame_source") == str(path)]
            files.append(reference_entry(Path(path), frames, s.fmt))
        return {"recipe": {"name": self.recipe.name, "source": self.recipe.source,
                           "sha256": file_sha256(run_dir / "recipe.yaml")},
                "frames": files, "labels": self.label_info, "epochs": self.epochs, "seed": self.seed,
                "registry_yaml": str(self.yaml_path)}

    # ------------------------------------------------------------------ execute
    def device(self) -> str:
        from .._env import torch_device

        return torch_device(self.settings.device)

    def execute(self, run_dir: Path, launcher, *, resume: bool = False, progress: bool = True) -> dict:
        from ..forces import evaluate_frames
        from ..models import with_precision
        from ..training import TrainJob

        run_dir = Path(run_dir)
        t0 = time.perf_counter()
        device = self.device()
        job = TrainJob(recipe=self.recipe, epochs=self.epochs, seed=self.seed, train=self.subset("train"),
                       valid=self.subset("validation"), base=self.base, device=device, workdir=run_dir / "trainer",
                       name=self.settings.name, resume=resume and (run_dir / "trainer").is_dir(),
                       progress=epoch_progress(self.name, t0) if progress else None)
        outcome = self.trainer.train(job)
        t_train = time.perf_counter() - t0
        trained = self._register(run_dir, outcome)
        write_json(run_dir / "training.json", {
            "trainer": outcome.trainer, "version": outcome.version, "device": device, "epochs": self.epochs,
            "kept_epoch": outcome.kept_epoch, "initial_validation": outcome.initial, "history": outcome.history,
            "model_file": str(trained), "train_s": t_train})
        evaluated = {}
        test = self.subset("test")
        if test:
            for role, spec in (("before", self.compare), ("after", load_model(str(self.yaml_path)))):
                if spec is None:
                    continue
                spec, _ = with_precision(spec, "test-set evaluation")
                results, engine = evaluate_frames(spec, test, engine=self.settings.engine,
                                                  workdir=run_dir / "lammps" / role)
                save_model_frames(run_dir / f"test_{role}.npz", results, engine)
                evaluated[role] = engine
        return {"engine": {"name": evaluated.get("after")}, "device": device,
                "timings": {"train_s": t_train, "total_s": time.perf_counter() - t0}}

    def _register(self, run_dir: Path, outcome) -> Path:
        """The kept model in ``model-trained/`` with a registry YAML beside it (relative weights:
        the folder can move) and the user's ``<potentials>/<name>.yaml`` (usable as MODEL=)."""
        s, r = self.settings, self.recipe
        dest = run_dir / TRAINED
        dest.mkdir(exist_ok=True)
        model_file = dest / f"{s.name}{self.trainer.suffix}"
        copy_atomic(outcome.model_file, model_file)
        start = f"fine-tuned from {self.base.label}" if self.base is not None else "trained from scratch"
        data = {"name": s.name, "family": r.family,
                "description": f"{r.family} {start} by {outcome.trainer} (recipe {r.name}, {self.epochs} epochs, "
                               f"seed {self.seed}) on {len(self.split['train'])} frames; run {run_dir.name}",
                "weights": model_file.name, **self.trainer.registry(self.base, model_file),
                "offline": True,
                "provenance": {"task": "harness train", "run": str(run_dir.resolve()), "recipe": r.name,
                               "mode": r.mode, "base": self.base.label if self.base is not None else None,
                               "base_sha256": _base_sha(self.base), "trainer": outcome.trainer,
                               "version": outcome.version, "kept_epoch": outcome.kept_epoch,
                               "sha256": file_sha256(model_file), "date": now()}}
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
        write_text(dest / "model.yaml", f"# Written by `harness train`; use as --model {dest / 'model.yaml'}\n" + text)
        self.yaml_path.parent.mkdir(parents=True, exist_ok=True)
        data["weights"] = str(model_file.resolve())  # the registry's copy points into this run folder
        write_text(self.yaml_path, f"# Written by `harness train`; use as {use_as(self.yaml_path)}\n"
                   + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100))
        load_model(str(self.yaml_path))  # it must load back
        return model_file

    # ------------------------------------------------------------------ collect
    def collect(self, run_dir: Path, *, progress: bool = True, **_) -> dict:
        from ..analysis.parity import force_parity
        from ..report.training import test_parity_figure, training_figure

        run_dir = Path(run_dir)
        training = read_json(run_dir / "training.json")
        test = self.subset("test")
        errors, forces = {}, {}
        f_ref = np.concatenate([a.calc.results["forces"] for a in test]) if test else None
        for role in ("before", "after"):
            path = run_dir / f"test_{role}.npz"
            if not path.is_file():
                continue
            results, engine = load_model_frames(path)
            f_mod = np.concatenate([r.forces_eV_A for r in results])
            forces[role] = f_mod
            spec = self.compare if role == "before" else load_model(str(self.yaml_path))
            errors[role] = {"model": spec.label, "engine": engine, **force_parity(f_ref, f_mod),
                            **energy_errors(test, results), "per_group": per_group(test, results)}
        figures = [training_figure(training, run_dir / "training.png", title=f"{self.settings.name}: "
                                   f"{self.recipe.name}")]
        if forces:
            figures.append(test_parity_figure(f_ref, forces, errors, run_dir / "parity.png",
                                              title=f"{len(test)} test frames"))
        out = {"task": "train", "created": now(),
               "recipe": {"name": self.recipe.name, "source": self.recipe.source, "family": self.recipe.family,
                          "mode": self.recipe.mode, "citation": self.recipe.citation},
               "base": model_entry(self.base) if self.base is not None else None,
               "model": {"name": self.settings.name, "yaml": str(self.yaml_path),
                         "file": training["model_file"], "sha256": file_sha256(Path(training["model_file"])),
                         "use_as": use_as(self.yaml_path)},
               "split": {k: len(v) for k, v in self.split.items()}, "seed": self.seed, "epochs": self.epochs,
               "training": {k: training[k] for k in ("trainer", "version", "device", "kept_epoch",
                                                     "initial_validation", "train_s")},
               "history": training["history"],
               "test_errors": errors or {"skipped": "no test frames (the split puts every frame in train/validation)"},
               "units": {"force": "eV/Å", "energy": "eV/atom", "stress": "GPa"},
               "figures": [f.name for f in figures]}
        return self.write_results(run_dir, out)

    def headline(self, res: dict) -> list[str]:
        t, n = res["training"], res["split"]
        lines = [f"{res['model']['name']}: {res['recipe']['name']} ({t['trainer']}, {res['epochs']} epochs, kept "
                 f"epoch {t['kept_epoch']}, {hms(t['train_s'])} on {t['device']}); frames {n['train']}/"
                 f"{n['validation']}/{n['test']}"]
        errors = res["test_errors"]
        for role in ("before", "after"):
            if role in errors:
                e = errors[role]
                lines.append(f"test {role:6s} {e['model']}: force MAE {e['force_mae_eV_A']:.4f} eV/Å, RMSE "
                             f"{e['force_rmse_eV_A']:.4f}, softening scale {e['softening_scale']:.3f}, cMAE "
                             f"{e['force_cmae_eV_A']:.4f}; energy MAE {e['energy_mae_eV_per_atom'] * 1000:.1f} "
                             f"meV/atom")
        lines.append(f"use: {res['model']['use_as']}")
        return lines


def _base_sha(base) -> str | None:
    from ..files import files_sha256
    from ..models import weight_files

    return files_sha256(weight_files(base)) if base is not None else None


def energy_errors(frames: list, results: list) -> dict:
    """Energy per atom (eV/atom) against the frames' labels: MAE and RMSE as they are, and the
    MAE once the mean offset is removed (a model and a reference may differ in their zero)."""
    d = np.array([r.energy_eV / len(a) - a.calc.results["energy"] / len(a) for a, r in zip(frames, results)])
    return {"energy_mae_eV_per_atom": float(np.abs(d).mean()),
            "energy_rmse_eV_per_atom": float(np.sqrt((d ** 2).mean())),
            "energy_mean_offset_eV_per_atom": float(d.mean()),
            "energy_mae_after_offset_eV_per_atom": float(np.abs(d - d.mean()).mean())}


def per_group(frames: list, results: list) -> dict:
    """Force parity per group of frames (``atoms.info['group']``: mlearn's AIMD-NVT, Vacancy,
    Elastic ...); groups whose RMS reference force is below the softening fit's threshold (frames
    at a minimum carry no force scale) are left out."""
    from ..analysis.parity import MIN_RMS_FORCE_EV_A, force_parity

    groups: dict[str, list[int]] = {}
    for i, a in enumerate(frames):
        if "group" in a.info:
            groups.setdefault(str(a.info["group"]), []).append(i)
    out = {}
    for name, idx in groups.items():
        p = force_parity(np.concatenate([frames[i].calc.results["forces"] for i in idx]),
                         np.concatenate([results[i].forces_eV_A for i in idx]))
        if p["reference_rms_force_eV_A"] >= MIN_RMS_FORCE_EV_A:
            out[name] = {"n_frames": len(idx), "softening_scale": p["softening_scale"],
                         "force_mae_eV_A": p["force_mae_eV_A"],
                         "reference_rms_force_eV_A": p["reference_rms_force_eV_A"]}
    return out


def epoch_progress(label: str, t0: float, stream=None):
    """``progress(epoch, epochs, row)``: one line per epoch with its losses and errors and the ETA."""
    import sys

    first = []  # the first epoch this process trains (a resumed training starts later)

    def report(epoch: int, epochs: int, row: dict) -> None:
        first[:] = first or [epoch]
        done, rate = epoch + 1, (time.perf_counter() - t0) / (epoch + 1 - first[0])
        parts = [f"[{label}] epoch {done}/{epochs}"]
        for key, name, scale, unit in (("train_loss", "train loss", 1, ""), ("valid_loss", "valid loss", 1, ""),
                                       ("train_force_mae_eV_A", "train F MAE", 1, " eV/Å"),
                                       ("valid_force_mae_eV_A", "valid F MAE", 1, " eV/Å"),
                                       ("valid_force_rmse_eV_A", "valid F RMSE", 1, " eV/Å"),
                                       ("valid_energy_mae_eV_per_atom", "valid E MAE", 1000, " meV/atom")):
            if row.get(key) is not None:
                parts.append(f"{name} {row[key] * scale:.4g}{unit}")
        parts.append(f"ETA {hms(rate * (epochs - done))}")
        print(" | ".join(parts), file=stream or sys.stderr, flush=True)

    return report
