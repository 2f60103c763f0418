"""Models: ``potentials/<name>.yaml`` (or a local weights file) -> a frozen :class:`ModelSpec`.

The families a YAML may name and the engines it may list are read from the registries that
implement them (:mod:`harness.models`, :mod:`harness.engines`), never repeated here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from .. import catalog
from ..errors import ConfigError, UnknownNameError
from ..names import NAME_RULE, PATH_RULE, is_plain_path, is_valid_name, safe_name, validate_name
from ._reader import Reader, load_yaml, relative_source, resolve
from .project import registry


@dataclass(frozen=True)
class ModelSpec:
    """A model as registered in ``potentials/<name>.yaml`` (or a local weights file)."""

    name: str
    source: str
    family: str
    description: str = ""
    elements: tuple[str, ...] | None = None  # None: the model covers (almost) the whole table
    engines: tuple[str, ...] = ("bridge",)
    variant: str | None = None
    variants: dict[str, dict[str, str]] = field(default_factory=dict)
    weights: str | None = None  # local file (absolute) when known
    pair_style: str | None = None  # a LAMMPS pair style and its global arguments (classic engine)
    files: dict[str, str] = field(default_factory=dict)
    # parameters instead of files: element pair ('Ar Ar') -> pair_coeff arguments ('0.0104 3.40')
    pair_coeff: dict[str, str] = field(default_factory=dict)
    dtype: str | None = None  # the precision to run in; None: not stated (the task chooses)
    cutoff_A: float | None = None
    offline: bool = False
    license: str = ""
    citation: str = ""
    # family "scaled" (a linear correction, ``harness softening --fit-correction``): the
    # resolved base model and the factor c on its energy, forces and virial; everything else
    # (elements, engines, files, pair style, cutoff) is copied from the base.
    base: ModelSpec | None = None
    scale: float | None = None
    provenance: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        """Short name for run folders: ``mace``, ``mace-medium``, ``chgnet``."""
        if self.base is not None:  # a corrected model is named by its own YAML
            return self.name
        if self.variant and self.variants and self.variant != next(iter(self.variants)):
            return f"{self.name}-{self.variant}"
        return self.name

    @property
    def argument(self) -> str:
        """What rebuilds this spec with :func:`load_model` later (``harness execute``)."""
        if self.source.endswith(".model"):
            return self.source
        if self.source.startswith("potentials/"):
            stem = Path(self.source).stem
            return f"{stem}:{self.variant}" if self.variants else stem
        return self.source

    def covers(self, element: str) -> bool:
        return self.elements is None or element in self.elements


_MODEL_KEYS = {
    "name", "family", "description", "elements", "engines", "variant", "variants", "weights",
    "pair_style", "pair_coeff", "files", "dtype", "cutoff_A", "offline", "license", "citation", "provenance",
}
# what reaches the deck's pair_style and pair_coeff lines as written: a style name, then numbers and
# plain words (no ; & $ quotes or newlines); element pairs as two symbols
_WORD = r"[A-Za-z0-9_.+-]+"
_PAIR_STYLE = re.compile(rf"[a-z0-9/_.]+( {_WORD})*")
_ARGUMENTS = re.compile(rf"{_WORD}( +{_WORD})*")
_ELEMENT_PAIR = re.compile(r"[A-Z][a-z]? +[A-Z][a-z]?")
_SCALED_KEYS = {"name", "family", "description", "base", "scale", "provenance", "license", "citation"}


def load_model(name: str) -> ModelSpec:
    """Resolve MODEL as given by a user.

    ``mace`` (registry name), ``mace:medium`` (a variant), ``potentials/x.yaml`` (a YAML
    path) or ``/path/to/any.model`` (a local MACE file, used as is).
    """
    candidate = Path(name).expanduser()
    if candidate.suffix == ".model":
        if not candidate.is_file():
            raise ConfigError(f"MODEL {name}: no such file")
        check_torch_file(candidate, f"MODEL {name}")
        # its name reaches the deck (model/<file>-mliap_lammps.pt) and job scripts as written
        validate_name("model file name", candidate.name)
        return ModelSpec(
            name=safe_name(candidate.stem, "model"), source=str(candidate.resolve()), family="mace",
            description=f"local MACE model {candidate.name}", engines=("mliap", "bridge"),
            weights=str(candidate.resolve()),
        )
    base, _, variant = name.partition(":")
    path = resolve("model", base, "potentials")
    src = relative_source(path)
    r = Reader(load_yaml(path), src)
    if r.has("base") or r.raw("family", None) == "scaled":  # the schema of a linear correction
        if variant:
            raise UnknownNameError(f"model {base} is a scaled model and has no variants (asked for '{variant}')")
        return _load_scaled(r, path, src)
    r.unknown(_MODEL_KEYS)
    family = r.str("family", allowed=catalog.names("model family"))
    engines = r.raw("engines", ["bridge"])
    known = catalog.names("engine")
    if not isinstance(engines, list) or not engines or not set(engines) <= set(known):
        raise r.fail("engines", f"must be a list drawn from {', '.join(known)}; got {engines!r}")
    elements = r.raw("elements", None)
    if elements is not None and (not isinstance(elements, list) or not all(isinstance(e, str) for e in elements)):
        raise r.fail("elements", f"must be a list of element symbols or omitted, got {elements!r}")
    variants = r.raw("variants", {})
    if not isinstance(variants, dict):
        raise r.fail("variants", "must be a mapping of variant name to {file[, url]}")
    for key in variants:
        if not is_valid_name(str(key)):
            raise r.fail("variants", f"has a variant name {str(key)!r} that cannot be part of a run folder name")
    chosen = variant or r.raw("variant", None) or (next(iter(variants)) if variants else None)
    if variants and chosen not in variants:
        raise UnknownNameError(f"unknown variant '{chosen}' of model {base} (valid: {', '.join(variants)})")
    if variant and not variants:
        raise UnknownNameError(f"model {base} has no variants (asked for '{variant}')")
    files = r.raw("files", {})
    if not isinstance(files, dict):
        raise r.fail("files", "must map element symbols to potential files")
    # file names and the pair style reach the deck's pair_style/pair_coeff lines as written

    for key, value in files.items():
        if not (re.fullmatch(r"[A-Z][a-z]?", str(key)) and is_plain_path(value)):
            raise r.fail("files", f"must map element symbols to plain file names ({PATH_RULE}); got "
                                  f"{str(key)!r}: {value!r}")
    pair_style = r.raw("pair_style", None)
    if pair_style is not None and not (isinstance(pair_style, str) and _PAIR_STYLE.fullmatch(pair_style)):
        raise r.fail("pair_style", f"must be one LAMMPS pair style name like eam/alloy, and its global arguments "
                                   f"(numbers or plain words, as `lj/cut 8.5`); got {pair_style!r}")
    pair_coeff = r.raw("pair_coeff", {})
    if not isinstance(pair_coeff, dict):
        raise r.fail("pair_coeff", "must map element pairs ('Ar Ar') to their coefficients ('0.0104 3.40')")
    for key, value in pair_coeff.items():
        if not (isinstance(key, str) and _ELEMENT_PAIR.fullmatch(key) and isinstance(value, (str, int, float))
                and _ARGUMENTS.fullmatch(str(value))):
            raise r.fail("pair_coeff", f"must map element pairs ('Ar Ar') to coefficients (numbers or plain words); "
                                       f"got {key!r}: {value!r}")
    if pair_coeff and files:
        raise r.fail("pair_coeff", "goes with parameters, 'files' with potential files: give one of them")
    if pair_coeff and pair_style is None:
        raise r.fail("pair_style", "is required with 'pair_coeff'")
    coeff_elements = list(dict.fromkeys(el for key in pair_coeff for el in key.split()))

    weights = r.str("weights", None)
    if weights is not None and not is_valid_name(Path(weights).name):
        raise r.fail("weights", f"names a file whose name cannot reach a deck or job script as written: "
                                f"{Path(weights).name!r} (rename it: {NAME_RULE})")

    def near(value):
        """A file named relative to this YAML, if it is there (a run folder's staged model)."""
        if value is None:
            return None
        here = path.parent / str(value)
        return str(here.resolve()) if not Path(str(value)).is_absolute() and here.is_file() else str(value)

    return ModelSpec(
        name=r.name("name") if r.has("name") else safe_name(path.stem, "model"),
        source=src,
        family=family,
        description=r.str("description", ""),
        elements=(tuple(elements) if elements is not None else
                  tuple(files) if files else tuple(coeff_elements) if coeff_elements else None),
        engines=tuple(engines),
        variant=chosen,
        variants={str(k): dict(v) for k, v in variants.items()},
        weights=near(weights),
        pair_style=r.str("pair_style", None),
        files={str(k): near(v) for k, v in files.items()},
        pair_coeff={" ".join(k.split()): " ".join(str(v).split()) for k, v in pair_coeff.items()},
        dtype=r.str("dtype", None, allowed=("float32", "float64")),
        cutoff_A=r.positive("cutoff_A") if r.has("cutoff_A") else None,
        offline=bool(r.raw("offline", False)),
        license=r.str("license", ""),
        citation=r.str("citation", ""),
        provenance=_provenance(r),
    )


def _provenance(r: Reader) -> dict:
    """Where a model came from (a trained model's recipe, frames and base; a correction's fit)."""
    provenance = r.raw("provenance", {})
    if not isinstance(provenance, dict):
        raise r.fail("provenance", "must be a mapping")
    return dict(provenance)


def check_torch_file(path: Path, what: str) -> None:
    """One line unless ``path`` looks like a file ``torch.load`` reads: a zip archive (torch's
    format since 1.6) or a pickle (the legacy one). Catches an empty file, a text file or an
    HTML error page saved under a model's name before anything unpickles it."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            head = fh.read(8)
    except OSError as exc:
        raise ConfigError(f"{what}: cannot read ({exc.strerror})") from None
    if size == 0:
        raise ConfigError(f"{what}: empty file (0 bytes), not a model")
    if not (head.startswith(b"PK\x03\x04") or head[:1] == b"\x80"):
        shown = head.decode("latin-1").encode("unicode_escape").decode()[:16]
        raise ConfigError(f"{what}: not a PyTorch model file (those are zip archives or pickles; this one begins "
                          f"{shown!r})")


def _load_scaled(r: Reader, path: Path, src: str) -> ModelSpec:
    """A linearly corrected model: ``E' = c E``, ``F' = c F``, ``W' = c W`` of a base model.

    ``base`` is a registry name, ``name:variant``, a YAML path or a ``.model`` file (a relative
    path is taken relative to this YAML first). A scaled base is flattened: the factors multiply.
    """
    r.unknown(_SCALED_KEYS)
    base_name = r.str("base")
    scale = r.positive("scale")
    provenance = _provenance(r)
    local = path.parent / base_name
    if local.suffix in (".yaml", ".yml", ".model") and local.is_file():
        base_name = str(local.resolve())
    if Path(base_name).expanduser().resolve() == path.resolve():
        raise r.fail("base", "points to this file itself")
    try:
        base = load_model(base_name)
    except ConfigError as exc:
        raise r.fail("base", f"cannot be loaded: {exc}") from None
    if base.base is not None:  # a correction of a corrected model: one factor on the original
        scale, base = scale * base.scale, base.base
    return replace(
        base,
        name=r.name("name") if r.has("name") else safe_name(path.stem, "model"),
        source=src,
        family="scaled",
        description=r.str("description", f"{base.label} with energy, forces and virial scaled by {scale:.6g}"),
        license=r.str("license", base.license),
        citation=r.str("citation", base.citation),
        base=base,
        scale=float(scale),
        provenance=provenance,
    )


def list_models() -> list[str]:
    return sorted(registry("potentials"))
