"""Frozen settings of harmonic phonons, phonon screens and σ^(2)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError
from ..limits import DISPLACEMENT_A, check_range
from ..names import safe_name
from .model import ModelSpec
from .settings import Settings, check_temperatures, existing_file, resolved
from .system import SystemSpec


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
        self.check_common()
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
        self.check_common()
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
        self.check_common()
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
