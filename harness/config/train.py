"""Training recipes (``potentials/recipes/<name>.yaml``) and the frozen settings of ``harness train``.

A recipe is data: which family's own trainer makes the model (``family``), from scratch or by
fine-tuning a base model (``mode``), how the labelled frames are split (``split``: frames for
training and validation, as counts or fractions; every other frame is the test set), the
seed, the epochs, the batch size, which checkpoint is kept, and the trainer's own options
(``trainer:``, the keyword names of that trainer: ``mace_run_train``'s options, the arguments
of ``chgnet.trainer.Trainer``). The keys under ``trainer:`` are checked against the installed
trainer before training starts (:mod:`harness.training`); the rest is checked here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .. import catalog
from ..errors import ConfigError, UnknownNameError
from ..names import safe_name, validate_name
from ._reader import Reader, load_yaml
from .frames import FRAME_FORMATS
from .model import ModelSpec
from .settings import Settings, existing_file, resolved

RECIPES = "recipes"  # inside potentials/: recipes sit beside the models they make
MODES = ("scratch", "finetune")
CHECKPOINTS = ("best-validation", "last")
DEVICES = ("auto", "cpu", "cuda")
_RECIPE_KEYS = {"name", "description", "citation", "family", "mode", "base", "split", "seed", "epochs",
                "batch_size", "checkpoint", "trainer"}


@dataclass(frozen=True)
class Recipe:
    """A training recipe (see the module docstring). ``train``/``validation``: a count of frames
    (int) or a fraction of all frames (float < 1)."""

    name: str
    source: str
    path: str  # the recipe file (copied into the run folder)
    family: str
    mode: str
    train: int | float
    validation: int | float
    seed: int
    epochs: int
    batch_size: int
    checkpoint: str = "best-validation"
    base: str | None = None
    description: str = ""
    citation: str = ""
    trainer: dict = field(default_factory=dict)

    def split_counts(self, n_frames: int) -> tuple[int, int, int]:
        """(train, validation, test) frame counts for ``n_frames`` frames, or one line when they do not fit."""
        def count(value):
            return value if isinstance(value, int) else int(round(value * n_frames))

        n_train, n_valid = count(self.train), count(self.validation)
        if n_train < 1 or n_valid < 1 or n_train + n_valid > n_frames:
            raise ConfigError(f"recipe {self.name}: split train {self.train} + validation {self.validation} does not "
                              f"fit {n_frames} frames (each needs at least one frame; the rest is the test set)")
        return n_train, n_valid, n_frames - n_train - n_valid


def _fraction_or_count(r: Reader, key: str) -> int | float:
    value = r.raw(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0 \
            or (isinstance(value, float) and value >= 1):
        raise r.fail(key, f"must be a count of frames (integer >= 1) or a fraction (0 < f < 1), got {value!r}")
    return value


def load_recipe(name: str) -> Recipe:
    """A recipe by name (``potentials/recipes/<name>.yaml`` over the search path) or by YAML path."""
    from .project import locate

    candidate = Path(name).expanduser()
    if candidate.suffix in (".yaml", ".yml"):
        if not candidate.is_file():
            raise ConfigError(f"recipe {name}: no such file")
        path, source = candidate.resolve(), str(candidate.resolve())
    else:
        found = locate("potentials", f"{RECIPES}/{name}.yaml") if name and "/" not in name else None
        if found is None:
            known = ", ".join(list_recipes()) or "(none)"
            raise UnknownNameError(f"unknown recipe '{name}' (valid: {known}; or a YAML path)")
        path, source = found.path, f"potentials/{RECIPES}/{name}.yaml"
    r = Reader(load_yaml(path), source)
    r.unknown(_RECIPE_KEYS)
    split = r.sub("split")
    split.unknown({"train", "validation"})
    trainer = r.raw("trainer", {})
    if not isinstance(trainer, dict) or not all(isinstance(k, str) for k in trainer):
        raise r.fail("trainer", "must map the trainer's own option names to values")
    mode = r.str("mode", allowed=MODES)
    base = r.str("base", None)
    if base is not None and mode == "scratch":
        raise r.fail("base", "goes with mode finetune (a model trained from scratch has no base)")
    return Recipe(
        name=r.name("name") if r.has("name") else safe_name(path.stem, "recipe"),
        source=source,
        path=str(path),
        family=r.str("family", allowed=catalog.names("trainer")),
        mode=mode,
        train=_fraction_or_count(split, "train"),
        validation=_fraction_or_count(split, "validation"),
        seed=r.count("seed", 0),
        epochs=r.count("epochs", minimum=1),
        batch_size=r.count("batch_size", 1, minimum=1),
        checkpoint=r.str("checkpoint", "best-validation", allowed=CHECKPOINTS),
        base=base,
        description=r.str("description", ""),
        citation=r.str("citation", ""),
        trainer=dict(trainer),
    )


def list_recipes() -> list[str]:
    """The recipe names over the search path (``potentials/recipes/*.yaml``)."""
    from .project import available

    return [Path(n).stem for n in available("potentials", (f"{RECIPES}/*.yaml",))]


@dataclass(frozen=True)
class TrainSettings(Settings):
    """``harness train``: labelled frames + a recipe (+ a base model to fine-tune) -> a model.

    ``frames``: one or more files (resolved); ``model``: the base model to fine-tune (``None``:
    the recipe's ``base``, or none from scratch; staged into the run folder like any task's
    model); ``compare``: the model the trained one is set against on the test set (default:
    the base); ``name``: the new model's registry name; ``epochs``/``seed``: override the
    recipe's (stated in the results).
    """

    frames: tuple[str, ...]
    recipe: str
    name: str
    model: ModelSpec | None = None
    compare: ModelSpec | None = None
    fmt: str | None = None
    epochs: int | None = None
    seed: int | None = None
    device: str = "auto"
    engine: str = "auto"  # how the before/after test-set evaluation reaches LAMMPS
    potentials_out: str | None = None  # where the registry YAML goes (default: potentials/)
    overwrite_model: bool = False

    def __post_init__(self):
        if not self.frames:
            raise ConfigError("harness train needs at least one file of labelled frames")
        if self.fmt is not None and self.fmt not in FRAME_FORMATS:
            raise UnknownNameError(f"unknown frames format '{self.fmt}' (valid: {', '.join(FRAME_FORMATS)})")
        if self.device not in DEVICES:
            raise UnknownNameError(f"unknown device '{self.device}' (valid: {', '.join(DEVICES)})")
        for key in ("epochs",):
            value = getattr(self, key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ConfigError(f"--{key} must be a positive integer, got {value!r}")
        if self.seed is not None and (isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0):
            raise ConfigError(f"--seed must be an integer >= 0, got {self.seed!r}")
        validate_name("model name", self.name)
        self.check_common()
        object.__setattr__(self, "frames", tuple(existing_file("labelled frames", f) for f in self.frames))
        if Path(self.recipe).suffix in (".yaml", ".yml"):  # a recipe given by path is rebuilt from anywhere
            object.__setattr__(self, "recipe", existing_file("recipe", self.recipe) or self.recipe)
        object.__setattr__(self, "potentials_out", resolved(self.potentials_out))

    @property
    def run_name(self) -> str:
        return f"{self.name}-train"
