"""Frozen settings of the tasks on labelled reference frames (singlepoint, softening) and of the
comparisons with reference trajectories (compare, campaign)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError, UnknownNameError
from ..names import safe_name
from .model import ModelSpec
from .settings import Settings, existing_file, resolved

ENERGY_REFERENCES = ("none", "mean-offset", "isolated-atoms")
FRAME_FORMATS = ("extxyz", "vasp-xml", "vasp-out", "pymatgen-json")
TRAJECTORY_FORMATS = ("extxyz", "vasp-xml", "vasp-out", "vasp-xdatcar", "lammps-dump")


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
        self.check_common()
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
        self.check_common()
        object.__setattr__(self, "reference_dir", resolved(self.reference_dir))

    @property
    def folder_name(self) -> str:
        return "campaign-" + (self.tag or safe_name("_".join(["-".join(self.systems), "-".join(self.models)])))
