"""The names of everything pluggable, and where each lives: engines, model families, tasks, trainers and
schedulers. One shape for every registry.

A leaf (it imports nothing of the harness), so the floors below the implementations can name
them: config checks that a YAML's ``family:`` or a ``--engine`` exists without importing a
single engine, model or task, and an implementation is imported the first time it is used
(:func:`load`), as ASE keeps its calculators' names in ``ase/calculators/names.py`` and
resolves the class with ``get_calculator_class``.

Adding an engine, a model family, a task or a scheduler is one line here and the module that
implements it; the order of each table is the order users see in listings and errors.
"""

from __future__ import annotations

import importlib

from .errors import UnknownNameError

# name -> "module:attribute"
ENGINES = {
    "mliap": "harness.engines:MliapEngine",
    "bridge": "harness.engines:BridgeEngine",
    "classic": "harness.engines:ClassicEngine",
}
FAMILIES = {
    "eam": "harness.models.classic:EAM",
    "lammps": "harness.models.classic:LAMMPS",
    "emt": "harness.models.wheels:EMT",
    "chgnet": "harness.models.wheels:CHGNET",
    "sevennet": "harness.models.wheels:SEVENNET",
    "mace": "harness.models.mace:MACE",
    "scaled": "harness.models.scaled:SCALED",
}
TASKS = {
    "md": "harness.tasks.md:MDTask",
    "highenergy": "harness.tasks.highenergy:HighEnergyTask",
    "phonons": "harness.tasks.phonons:PhononsTask",
    "singlepoint": "harness.tasks.singlepoint:SinglePointTask",
    "softening": "harness.tasks.softening:SofteningTask",
    "sigma": "harness.tasks.sigma:SigmaTask",
    "neb": "harness.tasks.neb:NEBTask",
    "path": "harness.tasks.path:PathTask",
    "slide": "harness.tasks.path:SlideTask",
    "surfaces": "harness.tasks.surfaces:SurfacesTask",
    "defects": "harness.tasks.pointdefects:DefectsTask",
    "mixing": "harness.tasks.mixing:MixingTask",
    "screen-part": "harness.tasks.screen_part:ScreenPartTask",
    "train": "harness.tasks.train:TrainTask",
}
# model family -> its own trainer (harness train)
TRAINERS = {
    "mace": "harness.training.mace:MACE_TRAINER",
    "chgnet": "harness.training.chgnet:CHGNET_TRAINER",
    "sevennet": "harness.training.sevennet:SEVENNET_TRAINER",
}
SCHEDULERS = {
    "slurm": "harness.jobs.slurm",
}
KINDS = {"engine": ENGINES, "model family": FAMILIES, "task": TASKS, "scheduler": SCHEDULERS, "trainer": TRAINERS}
_LOADED: dict[tuple[str, str], object] = {}


def names(kind: str) -> tuple[str, ...]:
    """The registered names of ``kind`` (engine, model family, task, scheduler), in order."""
    return tuple(KINDS[kind])


def check(kind: str, name: str) -> str:
    """``name`` if it is a registered ``kind``, else one line listing the valid ones."""
    if name not in KINDS[kind]:
        raise UnknownNameError(f"unknown {kind} '{name}' (valid: {', '.join(KINDS[kind])})")
    return name


def load(kind: str, name: str):
    """The object registered as ``name`` (a module, or an attribute of one), imported once."""
    key = (kind, check(kind, name))
    if key not in _LOADED:
        module, _, attribute = KINDS[kind][name].partition(":")
        obj = importlib.import_module(module)
        _LOADED[key] = getattr(obj, attribute) if attribute else obj
    return _LOADED[key]
