"""Frozen settings of every task: what a run folder's ``summary.json`` records as its request.

Each class validates in ``__post_init__`` (before any compute), builds the run folder's name
from its parameters, and round-trips through :meth:`Settings.request` /
:meth:`Settings.from_request`, so ``harness execute RUN_DIR`` rebuilds exactly the task that
was rendered, on any machine that has the same inputs. Paths are stored resolved.
"""

from __future__ import annotations

import math
import typing
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

from ..errors import ConfigError, UnknownNameError
from .model import ModelSpec, engine_names, load_model
from ..limits import DISPLACEMENT_A, IMAGES, TEMPERATURE_K, TIMESTEP_FS, check_range, check_steps
from ..names import safe_name, validate_name
from .system import THERMOSTATS, MDProtocol, SystemSpec, load_system

RELAX_MODES = ("none", "positions", "cell")
ENERGY_REFERENCES = ("none", "mean-offset", "isolated-atoms")
FRAME_FORMATS = ("extxyz", "vasp-xml", "vasp-out", "pymatgen-json")
TRAJECTORY_FORMATS = ("extxyz", "vasp-xml", "vasp-out", "vasp-xdatcar", "lammps-dump")


def check_engine(engine: str) -> str:
    known = engine_names()
    if engine != "auto" and engine not in known:
        raise UnknownNameError(f"unknown engine '{engine}' (valid: auto, {', '.join(known)})")
    return engine


def resolved(path) -> str | None:
    """An absolute path string (settings are rebuilt elsewhere: relative paths would break)."""
    return None if path is None else str(Path(path).expanduser().resolve())


def check_temperatures(temperatures) -> tuple[float, ...]:
    """Temperatures (K) as a tuple of floats: at least one, each finite and ≥ 0."""
    temps = tuple(temperatures or ())
    if not temps or not all(isinstance(t, (int, float)) and not isinstance(t, bool) and math.isfinite(t) and t >= 0
                            for t in temps):
        raise ConfigError(f"--temperatures must be one or more non-negative numbers of kelvin, got {temperatures!r}")
    return tuple(float(t) for t in temps)


def existing_file(what: str, path) -> str | None:
    if path is None:
        return None
    p = Path(path).expanduser()
    if not p.is_file():
        raise ConfigError(f"{what} {path}: no such file")
    return str(p.resolve())


class Settings:
    """Request round trip for frozen settings dataclasses.

    :meth:`request` turns model and system specs into the arguments that load them again,
    tuples into lists; :meth:`from_request` reverses it from the field types.
    """

    def request(self) -> dict:
        out = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, (ModelSpec, SystemSpec)):
                v = v.argument
            elif isinstance(v, Settings):
                v = v.request()
            elif isinstance(v, tuple):
                v = list(v)
            out[f.name] = v
        return out

    @classmethod
    def from_request(cls, request: dict):
        hints = typing.get_type_hints(cls)
        kwargs = {}
        for f in fields(cls):
            if f.name not in request:
                continue
            v, hint = request[f.name], str(hints[f.name])
            if v is not None:
                if "ModelSpec" in hint:
                    v = load_model(v)
                elif "SystemSpec" in hint:
                    v = load_system(v)
                elif isinstance(hints[f.name], type) and issubclass(hints[f.name], Settings):
                    v = hints[f.name].from_request(v)
                elif isinstance(v, list):
                    v = tuple(v)
            kwargs[f.name] = v
        return cls(**kwargs)

    def to_dict(self) -> dict:
        return asdict(self)


# ============================================================================ MD
@dataclass(frozen=True)
class MDSettings(Settings):
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

    task_label = "md"  # the <task> part of the run folder name

    def __post_init__(self):
        if not (isinstance(self.temperature_K, (int, float)) and math.isfinite(self.temperature_K) and self.temperature_K > 0):
            raise ConfigError(f"temperature must be a positive number of kelvin, got {self.temperature_K!r}")
        check_range("temperature", self.temperature_K, TEMPERATURE_K, "K", low_open=True)
        check_steps("steps", self.protocol.steps)
        check_range("timestep", self.protocol.timestep_fs, TIMESTEP_FS, "fs")
        if self.relax not in RELAX_MODES:
            raise UnknownNameError(f"unknown relax mode '{self.relax}' (valid: {', '.join(RELAX_MODES)})")
        check_engine(self.engine)
        if not (isinstance(self.seed, int) and 0 < self.seed < 2**31):
            raise ConfigError(f"seed must be an integer in 1..2^31-1, got {self.seed!r}")
        validate_name("tag", self.tag)

    @property
    def default_tag(self) -> str:
        return (f"{self.preset}-T{self.temperature_K:g}"
                + (f"-relax{self.relax}" if self.relax != "none" else "")
                + (f"-{self.protocol.thermostat}" if self.protocol.thermostat != "nose-hoover" else ""))

    @property
    def run_name(self) -> str:
        """Folder name built from the parameters: ``Pt3Co-chgnet-md-quick-T300``."""
        return f"{self.system.name}-{self.model.label}-{self.task_label}-{self.tag or self.default_tag}"

    def request(self) -> dict:
        p = self.protocol
        return {"system": self.system.argument, "model": self.model.argument, "preset": self.preset,
                "temperature_K": self.temperature_K, "steps": p.steps, "timestep_fs": p.timestep_fs,
                "engine": self.engine, "relax": self.relax, "seed": self.seed, "tag": self.tag,
                "thermostat": p.thermostat}

    @classmethod
    def from_request(cls, request: dict) -> "MDSettings":
        r = dict(request)
        return md_settings(r.pop("system"), r.pop("model"), r.pop("preset", None), **r)


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
    validate_name("tag", tag)
    sys_spec = load_system(system)
    model_spec = load_model(model)
    preset_name = preset or sys_spec.default_preset
    protocol = sys_spec.preset(preset_name)
    if steps is not None:
        protocol = replace(protocol, steps=check_steps("steps", steps))
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


@dataclass(frozen=True)
class HighEnergySettings(Settings):
    """Hot MD with the model, then ``frames`` evenly spaced frames exported for DFT labelling."""

    md: MDSettings
    frames: int = 10
    out_dir: str | None = None  # default: <run folder>/highenergy

    def __post_init__(self):
        if not (isinstance(self.frames, int) and not isinstance(self.frames, bool) and self.frames > 0):
            raise ConfigError(f"--frames must be a positive integer, got {self.frames!r}")
        object.__setattr__(self, "out_dir", resolved(self.out_dir))

    @property
    def run_name(self) -> str:
        md = self.md
        return f"{md.system.name}-{md.model.label}-highenergy-{md.tag or f'T{md.temperature_K:g}'}"


# ============================================================================ phonons
@dataclass(frozen=True)
class PhononsSettings(Settings):
    """Harmonic phonons of one model (phonopy finite displacements, forces from LAMMPS).

    The structure is the system's unit cell, or the reference's when ``reference`` is given
    (then ``system``, if given, must have the reference's composition). ``name`` replaces the
    system's (or the reference's formula) in the run folder's name (a screen's material);
    ``temperatures_K`` are where the harmonic thermodynamics is evaluated.
    """

    model: ModelSpec
    system: SystemSpec | None = None
    engine: str = "auto"
    supercell: tuple[int, int, int] | None = None
    displacement_A: float = 0.01
    mesh: tuple[int, int, int] = (20, 20, 20)
    reference: str | None = None
    reference_forces: tuple[str, ...] = ()
    born: str | None = None
    nac: bool = False
    dim: tuple[int, int, int] | None = None
    md_run: str | None = None
    tag: str | None = None
    name: str | None = None
    temperatures_K: tuple[float, ...] = (100.0, 300.0, 600.0)

    def __post_init__(self):
        if self.system is None and self.reference is None:
            raise ConfigError("give --system, or --reference (the structure then comes from the reference)")
        if self.nac and self.born is None:
            raise ConfigError("--nac asks for the non-analytic correction of a polar material: give its BORN file "
                              "with --born")
        check_range("--displacement", self.displacement_A, DISPLACEMENT_A, "Å")
        for key in ("supercell", "mesh", "dim"):
            v = getattr(self, key)
            if v is not None and (len(v) != 3 or not all(isinstance(n, int) and n > 0 for n in v)):
                raise ConfigError(f"--{key} must be three positive integers, got {v!r}")
        check_engine(self.engine)
        validate_name("tag", self.tag)
        validate_name("name", self.name)
        object.__setattr__(self, "temperatures_K", check_temperatures(self.temperatures_K))
        object.__setattr__(self, "reference", existing_file("reference", self.reference))
        object.__setattr__(self, "reference_forces",
                           tuple(existing_file("reference file", f) for f in self.reference_forces))
        object.__setattr__(self, "born", existing_file("BORN file", self.born))
        if self.md_run is not None:
            if not Path(self.md_run).is_dir():
                raise ConfigError(f"--md-run {self.md_run}: no such run folder")
            object.__setattr__(self, "md_run", resolved(self.md_run))


@dataclass(frozen=True)
class ScreenSettings(Settings):
    """Phonons (and σ^(2) from model MD) of one model over many materials (``harness screen``).

    ``references``: a folder with one folder per material holding a phonopy yaml and its forces
    (``phonopy_params.yaml`` | ``phonopy_disp.yaml`` | ``phonopy.yaml``; ``FORCE_SETS`` or
    ``vasprun.xml*``; ``BORN`` optional). ``structures``: a folder of structure files (anything
    ASE reads), the model alone. ``sigma_md_K``: σ^(2) along model MD at this temperature.
    """

    model: ModelSpec
    references: str | None = None
    structures: str | None = None
    engine: str = "auto"
    mesh: tuple[int, int, int] = (20, 20, 20)
    temperatures_K: tuple[float, ...] = (100.0, 300.0, 600.0)
    displacement_A: float = 0.01
    supercell: tuple[int, int, int] | None = None
    sigma_md_K: float | None = None
    sigma_steps: int = 2000
    sigma_timestep_fs: float = 2.0
    tag: str | None = None

    def __post_init__(self):
        if (self.references is None) == (self.structures is None):
            raise ConfigError("give --references DIR (one folder per material) or --structures DIR (structure files)")
        for key in ("references", "structures"):
            v = getattr(self, key)
            if v is not None:
                if not Path(v).is_dir():
                    raise ConfigError(f"--{key} {v}: no such folder")
                object.__setattr__(self, key, resolved(v))
        for key in ("mesh", "supercell"):
            v = getattr(self, key)
            if v is not None and (len(v) != 3 or not all(isinstance(n, int) and n > 0 for n in v)):
                raise ConfigError(f"--{key} must be three positive integers, got {v!r}")
        if self.supercell is not None and self.references is not None:
            raise ConfigError("--supercell is for --structures (a reference brings its own supercell)")
        check_range("--displacement", self.displacement_A, DISPLACEMENT_A, "Å")
        object.__setattr__(self, "temperatures_K", check_temperatures(self.temperatures_K))
        if self.sigma_md_K is not None and not (math.isfinite(self.sigma_md_K) and self.sigma_md_K > 0):
            raise ConfigError(f"--sigma-md must be a positive number of kelvin, got {self.sigma_md_K!r}")
        if not (isinstance(self.sigma_steps, int) and self.sigma_steps >= 20):
            raise ConfigError(f"--sigma-steps must be an integer ≥ 20, got {self.sigma_steps!r}")
        if not (math.isfinite(self.sigma_timestep_fs) and self.sigma_timestep_fs > 0):
            raise ConfigError(f"--sigma-timestep must be a positive number of fs, got {self.sigma_timestep_fs!r}")
        check_engine(self.engine)
        validate_name("tag", self.tag)

    @property
    def source(self) -> Path:
        return Path(self.references or self.structures)

    @property
    def member_tag(self) -> str:
        """The tag of every member run folder (``<material>-<model>-phonons-<tag>``)."""
        return self.tag or safe_name(self.source.name, "screen")

    @property
    def folder_name(self) -> str:
        return f"screen-{self.model.label}-{self.member_tag}"


# ============================================================================ labelled frames
@dataclass(frozen=True)
class FramesSettings(Settings):
    """A model evaluated on labelled reference frames (energies, forces, stresses)."""

    model: ModelSpec
    reference: str
    fmt: str | None = None
    engine: str = "auto"
    tag: str | None = None

    def __post_init__(self):
        if self.fmt is not None and self.fmt not in FRAME_FORMATS:
            raise UnknownNameError(f"unknown reference format '{self.fmt}' (valid: {', '.join(FRAME_FORMATS)})")
        check_engine(self.engine)
        validate_name("tag", self.tag)
        object.__setattr__(self, "reference", existing_file("reference frames", self.reference))

    @property
    def resolved_tag(self) -> str:
        return self.tag or safe_name(Path(self.reference).stem, "frames")


@dataclass(frozen=True)
class SinglePointSettings(FramesSettings):
    energy_reference: str = "none"
    isolated_atoms: str | None = None

    def __post_init__(self):
        super().__post_init__()
        mode = self.energy_reference
        if self.isolated_atoms is not None and mode == "none":
            object.__setattr__(self, "energy_reference", mode := "isolated-atoms")
        if mode not in ENERGY_REFERENCES:
            raise UnknownNameError(f"unknown energy reference '{mode}' (valid: {', '.join(ENERGY_REFERENCES)})")
        if mode == "isolated-atoms" and self.isolated_atoms is None:
            raise ConfigError("energy reference 'isolated-atoms' needs --isolated-atoms E.json")
        object.__setattr__(self, "isolated_atoms", existing_file("--isolated-atoms", self.isolated_atoms))

    @property
    def run_name(self) -> str:
        return f"{self.model.label}-singlepoint-{self.resolved_tag}"


@dataclass(frozen=True)
class SofteningSettings(FramesSettings):
    fit: bool = False
    fit_frames: tuple[int, ...] | None = None
    potentials_out: str | None = None  # where the corrected model YAML goes (default: potentials/)
    overwrite_model: bool = False

    def __post_init__(self):
        super().__post_init__()
        object.__setattr__(self, "potentials_out", resolved(self.potentials_out))

    @property
    def run_name(self) -> str:
        return f"{self.model.label}-softening-{self.resolved_tag}"


# ============================================================================ sigma
@dataclass(frozen=True)
class SigmaSettings(Settings):
    """σ^(2) along a model's MD run (``run``), or on reference frames recomputed by ``model``."""

    run: str | None = None
    reference: str | None = None
    model: ModelSpec | None = None
    fc: str = "model"  # 'model' (Φ from the model) or a phonopy yaml
    fc_forces: tuple[str, ...] = ()
    engine: str = "auto"
    tag: str | None = None
    partial: bool = False  # --run of a run that did not complete: its complete frames

    def __post_init__(self):
        if (self.run is None) == (self.reference is None):
            raise ConfigError("give --run RUN_DIR, or --reference FRAMES with --model and --fc")
        if self.reference is not None and (self.model is None or self.fc == "model"):
            raise ConfigError("with --reference give --model and --fc <reference phonopy yaml>")
        check_engine(self.engine)
        validate_name("tag", self.tag)
        if self.run is not None:
            if not Path(self.run).is_dir():
                raise ConfigError(f"--run {self.run}: no such run folder")
            object.__setattr__(self, "run", resolved(self.run))
        object.__setattr__(self, "reference", existing_file("--reference", self.reference))
        if self.fc != "model":
            object.__setattr__(self, "fc", existing_file("--fc", self.fc))
        object.__setattr__(self, "fc_forces", tuple(existing_file("--fc-forces", f) for f in self.fc_forces))

    @property
    def fc_label(self) -> str:
        return "fc-model" if self.fc == "model" else f"fc-{safe_name(Path(self.fc).stem)}"


# ============================================================================ compare and campaign
@dataclass(frozen=True)
class CompareSettings(Settings):
    """A finished MD run against a reference trajectory (Dyna-Mat errors)."""

    run: str
    reference: str
    fmt: str | None = None
    reference_timestep_fs: float | None = None
    reference_stride: int | None = None
    elements: tuple[str, ...] | None = None
    reference_temperature_K: float | None = None
    reference_skip_ps: float = 0.0
    dimension: int = 3
    vdos_resolution_THz: float | None = None
    partial: bool = False  # a run that did not complete: its complete frames and rows

    def __post_init__(self):
        if self.dimension not in (2, 3):
            raise ConfigError(f"--dimension must be 2 or 3, got {self.dimension}")
        if self.fmt is not None and self.fmt not in TRAJECTORY_FORMATS:
            raise UnknownNameError(f"unknown trajectory format '{self.fmt}' (valid: {', '.join(TRAJECTORY_FORMATS)})")
        object.__setattr__(self, "run", resolved(self.run))


@dataclass(frozen=True)
class CampaignSettings(Settings):
    """Every system × model in MD, analysed and compared with ``<reference_dir>/<system>.*``."""

    systems: tuple[str, ...]
    models: tuple[str, ...]
    reference_dir: str | None = None
    preset: str | None = None
    steps: int | None = None
    engine: str = "auto"
    tag: str | None = None
    from_reference: bool = True
    reference_timestep_fs: float | None = None
    reference_stride: int | None = None
    reference_skip_ps: float = 0.0

    def __post_init__(self):
        if not self.systems or not self.models:
            raise ConfigError("a campaign needs at least one system (--systems) and one model (--models)")
        if self.reference_dir is not None and not Path(self.reference_dir).is_dir():
            raise ConfigError(f"--reference-dir {self.reference_dir}: no such folder")
        check_engine(self.engine)
        validate_name("tag", self.tag)
        object.__setattr__(self, "reference_dir", resolved(self.reference_dir))

    @property
    def folder_name(self) -> str:
        return "campaign-" + (self.tag or safe_name("_".join(["-".join(self.systems), "-".join(self.models)])))


# ============================================================================ migration barriers
NEB_MIN_STYLES = ("fire", "quickmin")
INTERPOLATIONS = ("linear", "idpp")


@dataclass(frozen=True)
class NEBSettings(Settings):
    """Climbing-image NEB of one hop with one model, one LAMMPS partition per image.

    Endpoints: a hop built in a supercell of ``system`` (``vacancy``, ``vacancy:<El>``,
    ``interstitial[:<El>]``) or the user's ``initial``/``final`` files (any format ASE reads).
    ``images`` counts every image, the two endpoints included.
    """

    model: ModelSpec
    system: SystemSpec | None = None
    hop: str | None = None
    initial: str | None = None
    final: str | None = None
    supercell: tuple[int, int, int] | None = None
    images: int = 7
    interpolation: str = "idpp"
    spring_eV_A2: float = 1.0
    ftol_eV_A: float = 0.01
    relax_ftol_eV_A: float = 1e-3
    max_iterations: int = 2000
    climbing_iterations: int = 2000
    min_style: str = "fire"
    timestep_fs: float | None = None  # None: ASE's FIRE step for the lightest element (tasks.neb.fire_timestep_fs)
    engine: str = "auto"
    reference: str | None = None
    reference_barrier_eV: float | None = None
    tag: str | None = None

    def __post_init__(self):
        if (self.hop is None) == (self.initial is None and self.final is None):
            raise ConfigError("give --hop (with --system), or --initial and --final")
        if self.hop is not None and self.system is None:
            raise ConfigError("--hop builds the endpoints in a crystal: give --system")
        if self.hop is None and (self.initial is None or self.final is None):
            raise ConfigError("give both --initial and --final")
        # the two endpoints and one image between, at least; one MPI rank (or GPU) per image
        check_range("--images", self.images, IMAGES, "(the endpoints included; one MPI rank each)", integer=True)
        if self.min_style not in NEB_MIN_STYLES:
            raise UnknownNameError(f"unknown min style '{self.min_style}' (valid: {', '.join(NEB_MIN_STYLES)})")
        if self.interpolation not in INTERPOLATIONS:
            raise UnknownNameError(f"unknown interpolation '{self.interpolation}' (valid: {', '.join(INTERPOLATIONS)})")
        for key in ("spring_eV_A2", "ftol_eV_A", "relax_ftol_eV_A", "timestep_fs"):
            v = getattr(self, key)
            if key == "timestep_fs" and v is None:
                continue
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise ConfigError(f"{key} must be a positive number, got {v!r}")
        if self.supercell is not None and (len(self.supercell) != 3 or not all(
                isinstance(n, int) and n > 0 for n in self.supercell)):
            raise ConfigError(f"--supercell must be three positive integers, got {self.supercell!r}")
        check_engine(self.engine)
        validate_name("tag", self.tag)
        if self.hop is not None:
            from ..defects import parse_hop

            parse_hop(self.hop)
        object.__setattr__(self, "initial", existing_file("--initial", self.initial))
        object.__setattr__(self, "final", existing_file("--final", self.final))
        object.__setattr__(self, "reference", existing_file("--reference", self.reference))

    @property
    def run_name(self) -> str:
        if self.hop is not None:
            what = f"{self.system.name}-{self.model.label}-neb-{safe_name(self.hop.replace(':', '-'))}"
        else:
            what = f"{safe_name(Path(self.initial).stem)}-{self.model.label}-neb"
        return f"{what}-{self.tag}" if self.tag else what


@dataclass(frozen=True)
class PathSettings(Settings):
    """Energies along a fixed path of images (no relaxation: ApproxNEB-style)."""

    model: ModelSpec
    path: str
    engine: str = "auto"
    reference: str | None = None
    tag: str | None = None

    def __post_init__(self):
        check_engine(self.engine)
        validate_name("tag", self.tag)
        object.__setattr__(self, "path", existing_file("--path", self.path))
        object.__setattr__(self, "reference", existing_file("--reference", self.reference))

    @property
    def run_name(self) -> str:
        return f"{safe_name(Path(self.path).stem)}-{self.model.label}-path" + (f"-{self.tag}" if self.tag else "")


@dataclass(frozen=True)
class SlideSettings(Settings):
    """A rigid sliding profile: the atoms above a plane shifted along ``direction`` (fractional
    lattice coordinates: 1,0,0 is one period along a) in ``steps`` steps."""

    model: ModelSpec
    system: SystemSpec
    direction: tuple[float, float, float] = (1.0, 0.0, 0.0)
    steps: int = 20
    plane_z_A: float | None = None  # default: the middle of the widest gap between layers
    relax_normal: bool = False
    relax_ftol_eV_A: float = 1e-3
    engine: str = "auto"
    tag: str | None = None

    def __post_init__(self):
        if len(self.direction) != 3 or not any(abs(x) > 0 for x in self.direction):
            raise ConfigError(f"--direction must be three numbers, not all zero; got {self.direction!r}")
        if abs(self.direction[2]) > 1e-12:
            raise ConfigError("--direction must lie in the sliding plane (its third component 0)")
        if not (isinstance(self.steps, int) and self.steps >= 2):
            raise ConfigError(f"--steps must be an integer >= 2, got {self.steps!r}")
        check_engine(self.engine)
        validate_name("tag", self.tag)

    @property
    def run_name(self) -> str:
        d = "_".join(f"{x:g}" for x in self.direction)
        return f"{self.system.name}-{self.model.label}-slide-{self.tag or d}"
