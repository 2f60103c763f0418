"""Typed, frozen configuration built from ``inputs/*.yaml`` and ``potentials/*.yaml``.

Every loader validates before any compute is spent and raises :class:`ConfigError` with the
file, the key and what is allowed, so a user sees one line that says what to fix.
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError, UnknownNameError

PROTOTYPES = ("fcc", "bcc", "hcp", "diamond", "rocksalt", "L1_2", "B2")
# nose-hoover: LAMMPS fix nvt (chain); csvr: Bussi's stochastic velocity rescaling (fix nve +
# fix temp/csvr), canonical and stochastic. LAMMPS has no Andersen thermostat.
THERMOSTATS = ("nose-hoover", "csvr")
RELAX_MODES = ("none", "positions", "cell")


# --------------------------------------------------------------------------- project layout
def project_root() -> Path:
    """The folder holding ``inputs/``, ``potentials/`` and ``templates/``.

    ``$HARNESS_ROOT`` wins; then the current directory if it has ``inputs/``; then the
    checkout the package was installed from (editable install, the normal case).
    """
    env = os.environ.get("HARNESS_ROOT")
    if env:
        return Path(env).resolve()
    cwd = Path.cwd()
    if (cwd / "inputs").is_dir() and (cwd / "potentials").is_dir():
        return cwd
    return Path(__file__).resolve().parent.parent


def inputs_dir() -> Path:
    return project_root() / "inputs"


def potentials_dir() -> Path:
    return project_root() / "potentials"


def templates_dir() -> Path:
    return project_root() / "templates"


# --------------------------------------------------------------------------- validation helpers
class _Reader:
    """Reads keys from a YAML mapping, naming file and dotted key in every error."""

    def __init__(self, data: Any, source: str, prefix: str = ""):
        if not isinstance(data, dict):
            raise ConfigError(f"{source}: {prefix or 'top level'} must be a mapping, got {type(data).__name__}")
        self.data, self.source, self.prefix = data, source, prefix

    def _key(self, key: str) -> str:
        return f"{self.prefix}.{key}" if self.prefix else key

    def fail(self, key: str, msg: str) -> ConfigError:
        return ConfigError(f"{self.source}: key '{self._key(key)}' {msg}")

    def has(self, key: str) -> bool:
        return key in self.data and self.data[key] is not None

    def raw(self, key: str, default: Any = ...) -> Any:
        if key not in self.data or self.data[key] is None:
            if default is ...:
                raise self.fail(key, "is required")
            return default
        return self.data[key]

    def str(self, key: str, default: Any = ..., allowed: tuple[str, ...] | None = None) -> str:
        value = self.raw(key, default)
        if value is None and default is None:
            return None
        if not isinstance(value, str):
            raise self.fail(key, f"must be a string, got {value!r}")
        if allowed is not None and value not in allowed:
            raise self.fail(key, f"must be one of {', '.join(allowed)}; got {value!r}")
        return value

    def positive(self, key: str, default: Any = ..., integer: bool = False) -> float:
        value = self.raw(key, default)
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0
        if integer:
            ok = ok and float(value).is_integer()
        if not ok:
            kind = "a positive integer" if integer else "a positive number"
            raise self.fail(key, f"must be {kind}, got {value!r}")
        return int(value) if integer else float(value)

    def nonneg(self, key: str, default: Any = ...) -> float:
        value = self.raw(key, default)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not value >= 0:
            raise self.fail(key, f"must be a number >= 0, got {value!r}")
        return float(value)

    def sub(self, key: str, default: Any = ...) -> "_Reader":
        return _Reader(self.raw(key, default), self.source, self._key(key))

    def unknown(self, allowed: set[str]) -> None:
        extra = sorted(set(self.data) - allowed)
        if extra:
            raise self.fail(extra[0], f"is not a known key (allowed: {', '.join(sorted(allowed))})")


def _load_yaml(path: Path) -> Any:
    try:
        with open(path) as fh:
            return yaml.safe_load(fh)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}:{where} malformed YAML: {problem}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from None


def _resolve(kind: str, name: str, folder: Path) -> Path:
    """A registry name (file stem in ``folder``) or a path to a YAML file."""
    candidate = Path(name)
    if candidate.suffix in (".yaml", ".yml") and candidate.is_file():
        return candidate.resolve()
    path = folder / f"{name}.yaml"
    if path.is_file():
        return path
    valid = ", ".join(sorted(p.stem for p in folder.glob("*.yaml"))) or "(none)"
    raise UnknownNameError(f"unknown {kind} '{name}' (valid: {valid})")


# --------------------------------------------------------------------------- systems
@dataclass(frozen=True)
class StructureSpec:
    """How to build the unit cell: a prototype with lattice constants, or a structure file."""

    prototype: str | None = None
    elements: tuple[str, ...] = ()
    a_A: float | None = None
    c_A: float | None = None
    file: str | None = None  # resolved absolute path when given


@dataclass(frozen=True)
class MDProtocol:
    """One preset: the MD protocol, in the units its names state."""

    supercell: tuple[int, int, int]
    timestep_fs: float
    steps: int
    thermostat: str = "nose-hoover"
    thermostat_damping_fs: float = 100.0
    thermostat_chain: int = 3
    dump_every: int = 10
    thermo_every: int = 10
    restart_every: int = 1000
    equilibration_ps: float = 0.0

    @property
    def duration_ps(self) -> float:
        return self.steps * self.timestep_fs / 1000.0


@dataclass(frozen=True)
class SystemSpec:
    name: str
    source: str
    description: str
    structure: StructureSpec
    temperature_K: float
    presets: dict[str, MDProtocol]
    default_preset: str

    def preset(self, name: str | None) -> MDProtocol:
        name = name or self.default_preset
        if name not in self.presets:
            raise UnknownNameError(
                f"unknown preset '{name}' for system {self.name} (valid: {', '.join(sorted(self.presets))})"
            )
        return self.presets[name]


_PRESET_KEYS = {f.name for f in MDProtocol.__dataclass_fields__.values()}


def _parse_preset(r: _Reader) -> MDProtocol:
    r.unknown(_PRESET_KEYS)
    sc = r.raw("supercell", [1, 1, 1])
    if (
        not isinstance(sc, list)
        or len(sc) != 3
        or not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in sc)
    ):
        raise r.fail("supercell", f"must be three positive integers, got {sc!r}")
    proto = MDProtocol(
        supercell=tuple(sc),
        timestep_fs=r.positive("timestep_fs"),
        steps=r.positive("steps", integer=True),
        thermostat=r.str("thermostat", "nose-hoover", allowed=THERMOSTATS),
        thermostat_damping_fs=r.positive("thermostat_damping_fs", 100.0),
        thermostat_chain=r.positive("thermostat_chain", 3, integer=True),
        dump_every=r.positive("dump_every", 10, integer=True),
        thermo_every=r.positive("thermo_every", 10, integer=True),
        restart_every=r.positive("restart_every", 1000, integer=True),
        equilibration_ps=r.nonneg("equilibration_ps", 0.0),
    )
    if proto.equilibration_ps >= proto.duration_ps:
        raise r.fail("equilibration_ps", f"must be shorter than the run ({proto.duration_ps:g} ps)")
    return proto


def load_system(name: str) -> SystemSpec:
    """Load ``inputs/<name>.yaml`` (or a YAML path) into a validated :class:`SystemSpec`."""
    path = _resolve("system", name, inputs_dir())
    src = str(path.relative_to(project_root())) if path.is_relative_to(project_root()) else str(path)
    r = _Reader(_load_yaml(path), src)
    r.unknown({"name", "description", "structure", "temperature_K", "presets", "default_preset"})
    s = r.sub("structure")
    s.unknown({"prototype", "elements", "a_A", "c_A", "file"})
    if s.has("file"):
        file = Path(s.str("file"))
        file = file if file.is_absolute() else path.parent / file
        if not file.is_file():
            raise s.fail("file", f"points to a missing file: {file}")
        structure = StructureSpec(file=str(file))
    else:
        elements = s.raw("elements")
        if not isinstance(elements, list) or not elements or not all(isinstance(e, str) for e in elements):
            raise s.fail("elements", f"must be a list of element symbols, got {elements!r}")
        from ase.data import chemical_symbols

        for el in elements:
            if el not in chemical_symbols[1:]:
                raise s.fail("elements", f"has an unknown element symbol {el!r}")
        structure = StructureSpec(
            prototype=s.str("prototype", allowed=PROTOTYPES),
            elements=tuple(elements),
            a_A=s.positive("a_A"),
            c_A=s.positive("c_A") if s.has("c_A") else None,
        )
    presets_r = r.sub("presets")
    if not presets_r.data:
        raise r.fail("presets", "must define at least one preset")
    presets = {str(k): _parse_preset(presets_r.sub(str(k))) for k in presets_r.data}
    default = r.str("default_preset", "quick" if "quick" in presets else next(iter(presets)))
    if default not in presets:
        raise r.fail("default_preset", f"must be one of {', '.join(presets)}; got {default!r}")
    return SystemSpec(
        name=r.str("name", path.stem),
        source=src,
        description=r.str("description", ""),
        structure=structure,
        temperature_K=r.positive("temperature_K"),
        presets=presets,
        default_preset=default,
    )


def list_systems() -> list[str]:
    return sorted(p.stem for p in inputs_dir().glob("*.yaml"))


# --------------------------------------------------------------------------- models
FAMILIES = ("mace", "chgnet", "sevennet", "eam", "emt", "scaled")
ENGINE_NAMES = ("mliap", "bridge", "classic")


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
    pair_style: str | None = None
    files: dict[str, str] = field(default_factory=dict)
    dtype: str = "float64"
    cutoff_A: float | None = None
    offline: bool = False
    license: str = ""
    citation: str = ""
    # family "scaled" (a linear correction, ``harness softening --fit-correction``): the
    # resolved base model and the factor c on its energy, forces and virial; everything else
    # (elements, engines, files, pair style, cutoff) is copied from the base.
    base: "ModelSpec | None" = None
    scale: float | None = None
    provenance: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        """Short name for run folders: ``mace``, ``mace-medium``, ``chgnet``."""
        if self.family == "scaled":
            return self.name
        if self.variant and self.variants and self.variant != next(iter(self.variants)):
            return f"{self.name}-{self.variant}"
        return self.name

    def covers(self, element: str) -> bool:
        return self.elements is None or element in self.elements


_MODEL_KEYS = {
    "name", "family", "description", "elements", "engines", "variant", "variants", "weights",
    "pair_style", "files", "dtype", "cutoff_A", "offline", "license", "citation",
}
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
        return ModelSpec(
            name=candidate.stem, source=str(candidate.resolve()), family="mace",
            description=f"local MACE model {candidate.name}", engines=("mliap", "bridge"),
            weights=str(candidate.resolve()),
        )
    base, _, variant = name.partition(":")
    path = _resolve("model", base, potentials_dir())
    src = str(path.relative_to(project_root())) if path.is_relative_to(project_root()) else str(path)
    r = _Reader(_load_yaml(path), src)
    if r.raw("family", None) == "scaled":
        if variant:
            raise UnknownNameError(f"model {base} is a scaled model and has no variants (asked for '{variant}')")
        return _load_scaled(r, path, src)
    r.unknown(_MODEL_KEYS)
    family = r.str("family", allowed=FAMILIES)
    engines = r.raw("engines", ["bridge"])
    if not isinstance(engines, list) or not engines or not set(engines) <= set(ENGINE_NAMES):
        raise r.fail("engines", f"must be a list drawn from {', '.join(ENGINE_NAMES)}; got {engines!r}")
    elements = r.raw("elements", None)
    if elements is not None and (not isinstance(elements, list) or not all(isinstance(e, str) for e in elements)):
        raise r.fail("elements", f"must be a list of element symbols or omitted, got {elements!r}")
    variants = r.raw("variants", {})
    if not isinstance(variants, dict):
        raise r.fail("variants", "must be a mapping of variant name to {file[, url]}")
    chosen = variant or r.raw("variant", None) or (next(iter(variants)) if variants else None)
    if variants and chosen not in variants:
        raise UnknownNameError(f"unknown variant '{chosen}' of model {base} (valid: {', '.join(variants)})")
    if variant and not variants:
        raise UnknownNameError(f"model {base} has no variants (asked for '{variant}')")
    files = r.raw("files", {})
    if not isinstance(files, dict):
        raise r.fail("files", "must map element symbols to potential files")
    spec = ModelSpec(
        name=r.str("name", path.stem),
        source=src,
        family=family,
        description=r.str("description", ""),
        elements=tuple(elements) if elements is not None else (tuple(files) if files else None),
        engines=tuple(engines),
        variant=chosen,
        variants={str(k): dict(v) for k, v in variants.items()},
        weights=r.str("weights", None),
        pair_style=r.str("pair_style", None),
        files={str(k): str(v) for k, v in files.items()},
        dtype=r.str("dtype", "float64", allowed=("float32", "float64")),
        cutoff_A=r.positive("cutoff_A") if r.has("cutoff_A") else None,
        offline=bool(r.raw("offline", False)),
        license=r.str("license", ""),
        citation=r.str("citation", ""),
    )
    return spec


def _load_scaled(r: _Reader, path: Path, src: str, _depth: int = 0) -> ModelSpec:
    """A linearly corrected model: ``E' = c E``, ``F' = c F``, ``W' = c W`` of a base model.

    ``base`` is a registry name, ``name:variant``, a YAML path or a ``.model`` file (a relative
    path is taken relative to this YAML first). A scaled base is flattened: the factors multiply.
    """
    r.unknown(_SCALED_KEYS)
    base_name = r.str("base")
    scale = r.positive("scale")
    provenance = r.raw("provenance", {})
    if not isinstance(provenance, dict):
        raise r.fail("provenance", "must be a mapping")
    local = path.parent / base_name
    if local.suffix in (".yaml", ".yml", ".model") and local.is_file():
        base_name = str(local.resolve())
    if Path(base_name).expanduser().resolve() == path.resolve():
        raise r.fail("base", "points to this file itself")
    try:
        base = load_model(base_name)
    except ConfigError as exc:
        raise r.fail("base", f"cannot be loaded: {exc}") from None
    if base.family == "scaled":  # a correction of a corrected model: one factor on the original
        scale, base = scale * base.scale, base.base
    return replace(
        base,
        name=r.str("name", path.stem),
        source=src,
        family="scaled",
        description=r.str("description", f"{base.label} with energy, forces and virial scaled by {scale:.6g}"),
        license=r.str("license", base.license),
        citation=r.str("citation", base.citation),
        base=base,
        scale=float(scale),
        provenance=dict(provenance),
    )


def list_models() -> list[str]:
    return sorted(p.stem for p in potentials_dir().glob("*.yaml"))


# --------------------------------------------------------------------------- the MD task
@dataclass(frozen=True)
class MDSettings:
    """Everything an MD run needs, resolved from system, preset and command line."""

    system: SystemSpec
    model: ModelSpec
    preset: str
    protocol: MDProtocol
    temperature_K: float
    engine: str = "auto"
    relax: str = "none"
    seed: int = 12345
    tag: str | None = None

    def __post_init__(self):
        if not (isinstance(self.temperature_K, (int, float)) and math.isfinite(self.temperature_K) and self.temperature_K > 0):
            raise ConfigError(f"temperature must be a positive number of kelvin, got {self.temperature_K!r}")
        if self.relax not in RELAX_MODES:
            raise UnknownNameError(f"unknown relax mode '{self.relax}' (valid: {', '.join(RELAX_MODES)})")
        if self.engine not in ("auto",) + ENGINE_NAMES:
            raise UnknownNameError(f"unknown engine '{self.engine}' (valid: auto, {', '.join(ENGINE_NAMES)})")
        if not (isinstance(self.seed, int) and 0 < self.seed < 2**31):
            raise ConfigError(f"seed must be an integer in 1..2^31-1, got {self.seed!r}")

    @property
    def run_name(self) -> str:
        """Folder name built from the parameters: ``Pt3Co-chgnet-md-quick-T300``."""
        tag = self.tag or (f"{self.preset}-T{self.temperature_K:g}"
                           + (f"-relax{self.relax}" if self.relax != "none" else "")
                           + (f"-{self.protocol.thermostat}" if self.protocol.thermostat != "nose-hoover" else ""))
        return f"{self.system.name}-{self.model.label}-md-{tag}"

    def to_dict(self) -> dict:
        return asdict(self)


def md_settings(
    system: str,
    model: str,
    preset: str | None = None,
    *,
    temperature_K: float | None = None,
    steps: int | None = None,
    timestep_fs: float | None = None,
    engine: str = "auto",
    relax: str = "none",
    seed: int = 12345,
    tag: str | None = None,
    thermostat: str | None = None,
) -> MDSettings:
    """Build :class:`MDSettings` from registry names and command-line overrides."""
    sys_spec = load_system(system)
    model_spec = load_model(model)
    preset_name = preset or sys_spec.default_preset
    protocol = sys_spec.preset(preset_name)
    if steps is not None:
        if steps <= 0:
            raise ConfigError(f"steps must be a positive integer, got {steps}")
        protocol = replace(protocol, steps=int(steps))
    if timestep_fs is not None:
        if not (math.isfinite(timestep_fs) and timestep_fs > 0):
            raise ConfigError(f"timestep must be a positive number of fs, got {timestep_fs}")
        protocol = replace(protocol, timestep_fs=float(timestep_fs))
    if thermostat is not None:
        if thermostat not in THERMOSTATS:
            raise UnknownNameError(f"unknown thermostat '{thermostat}' (valid: {', '.join(THERMOSTATS)})")
        protocol = replace(protocol, thermostat=thermostat)
    if protocol.equilibration_ps >= protocol.duration_ps:
        protocol = replace(protocol, equilibration_ps=0.0)
    return MDSettings(
        system=sys_spec,
        model=model_spec,
        preset=preset_name,
        protocol=protocol,
        temperature_K=sys_spec.temperature_K if temperature_K is None else temperature_K,
        engine=engine,
        relax=relax,
        seed=seed,
        tag=tag,
    )
