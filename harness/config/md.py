"""Frozen settings of MD and of the tasks that run MD as one of their parts (highenergy)."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from ..errors import ConfigError, UnknownNameError
from ..limits import TEMPERATURE_K, TIMESTEP_FS, check_range, check_steps
from ..names import validate_name
from .model import ModelSpec, load_model
from .settings import Settings, resolved
from .system import THERMOSTATS, MDProtocol, SystemSpec, load_system

RELAX_MODES = ("none", "positions", "cell")
# what an MD run computes besides its thermo rows (MDProtocol's fields of the same names)
OBSERVABLE_KEYS = ("insitu", "insitu_every", "dump_every", "rdf_r_max_A", "rdf_bins", "heat_flux", "flux_every")


def check_observables(values: dict) -> dict:
    """Command-line values of :data:`OBSERVABLE_KEYS`, checked (one line naming the option)."""
    def count(key, value, minimum):
        if not (isinstance(value, int) and not isinstance(value, bool) and value >= minimum):
            raise ConfigError(f"--{key.replace('_', '-')} must be an integer >= {minimum}, got {value!r}")
        return value

    out = {}
    for key, value in values.items():
        if key in ("insitu", "heat_flux"):
            if not isinstance(value, bool):
                raise ConfigError(f"{key} must be true or false, got {value!r}")
        elif key == "rdf_r_max_A":
            value = check_range("--rdf-rmax", value, (0.5, 1000.0), "Å")
        elif key == "rdf_bins":
            value = count(key, value, 10)
        else:
            value = count(key, value, 0 if key == "dump_every" else 1)
        out[key] = value
    return out


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
        if not (isinstance(self.temperature_K, (int, float)) and math.isfinite(self.temperature_K)
                and self.temperature_K > 0):
            raise ConfigError(f"temperature must be a positive number of kelvin, got {self.temperature_K!r}")
        check_range("temperature", self.temperature_K, TEMPERATURE_K, "K", low_open=True)
        check_steps("steps", self.protocol.steps)
        check_range("timestep", self.protocol.timestep_fs, TIMESTEP_FS, "fs")
        if self.relax not in RELAX_MODES:
            raise UnknownNameError(f"unknown relax mode '{self.relax}' (valid: {', '.join(RELAX_MODES)})")
        self.check_common()
        if not (isinstance(self.seed, int) and 0 < self.seed < 2**31):
            raise ConfigError(f"seed must be an integer in 1..2^31-1, got {self.seed!r}")

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
                "thermostat": p.thermostat, **{k: getattr(p, k) for k in OBSERVABLE_KEYS}}

    @classmethod
    def from_request(cls, request: dict) -> MDSettings:
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
    **observables,
) -> MDSettings:
    """Build :class:`MDSettings` from registry names and command-line overrides.

    ``observables``: overrides of the preset's :data:`OBSERVABLE_KEYS` (``insitu``,
    ``insitu_every``, ``dump_every``, ``rdf_r_max_A``, ``rdf_bins``, ``heat_flux``,
    ``flux_every``); ``None`` keeps the preset's value."""
    validate_name("tag", tag)
    unknown = sorted(set(observables) - set(OBSERVABLE_KEYS))
    if unknown:
        raise ConfigError(f"unknown MD setting(s) {', '.join(unknown)} (known: {', '.join(OBSERVABLE_KEYS)})")
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
    given = {k: v for k, v in observables.items() if v is not None}
    if given:
        protocol = replace(protocol, **check_observables(given))
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
