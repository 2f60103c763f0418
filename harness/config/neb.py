"""Frozen settings of migration barriers (NEB), energies along fixed paths and sliding scans, and
the names of the hops the harness builds."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError, UnknownNameError
from ..limits import IMAGES, check_range
from ..names import safe_name
from .model import ModelSpec
from .settings import Settings, existing_file
from .system import SystemSpec

HOPS = ("vacancy", "interstitial")


def parse_hop(text: str) -> tuple[str, str | None]:
    """``vacancy`` / ``vacancy:Ag`` / ``interstitial[:El]`` -> (kind, element or None)."""
    kind, _, element = text.partition(":")
    if kind not in HOPS:
        raise ConfigError(f"unknown hop '{text}' (valid: vacancy, vacancy:<element>, interstitial, "
                          f"interstitial:<element>)")
    if element:
        from ase.data import chemical_symbols

        if element not in chemical_symbols[1:]:
            raise ConfigError(f"hop '{text}': unknown element symbol {element!r}")
    return kind, element or None


# auto: LAMMPS' fire on partitions, ASE's ODE12r (NEBOptimizer) for the band on one process
NEB_MIN_STYLES = ("auto", "fire", "quickmin", "ode")
INTERPOLATIONS = ("linear", "idpp")
# how the band's images are evaluated: one LAMMPS partition per image (MPI), or all of them in
# one process (harness.tasks.neb_serial); auto: one process when this machine has fewer cores
# than images
EVALUATORS = ("auto", "partitions", "serial")


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
    min_style: str = "auto"
    timestep_fs: float | None = None  # None: ASE's FIRE step for the lightest element (tasks.neb.fire_timestep_fs)
    engine: str = "auto"
    evaluator: str = "auto"
    reference: str | None = None
    reference_barrier_eV: float | None = None
    tag: str | None = None

    def __post_init__(self):
        if self.evaluator not in EVALUATORS:
            raise UnknownNameError(f"unknown band evaluator '{self.evaluator}' (valid: {', '.join(EVALUATORS)})")
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
        if self.min_style == "ode" and self.evaluator == "partitions":
            raise ConfigError("--min-style ode is ASE's ODE12r for the band on one process; LAMMPS' partitions run "
                              "fire or quickmin")
        if self.interpolation not in INTERPOLATIONS:
            raise UnknownNameError(f"unknown interpolation '{self.interpolation}' (valid: {', '.join(INTERPOLATIONS)})")
        for key in ("spring_eV_A2", "ftol_eV_A", "relax_ftol_eV_A", "timestep_fs"):
            v = getattr(self, key)
            if key == "timestep_fs" and v is None:
                continue
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise ConfigError(f"{key} must be a positive number, got {v!r}")
        self.check_common()
        if self.hop is not None:
            parse_hop(self.hop)
        object.__setattr__(self, "initial", existing_file("--initial", self.initial))
        object.__setattr__(self, "final", existing_file("--final", self.final))
        object.__setattr__(self, "reference", existing_file("--reference", self.reference))

    @property
    def run_name(self) -> str:
        # an engine asked for by name is part of the name: the same hop through two engines
        # gets two folders
        model = self.model.label + (f"-{self.engine}" if self.engine != "auto" else "")
        if self.hop is not None:
            what = f"{self.system.name}-{model}-neb-{safe_name(self.hop.replace(':', '-'))}"
        else:
            what = f"{safe_name(Path(self.initial).stem)}-{model}-neb"
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
        self.check_common()
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
        self.check_common()

    @property
    def run_name(self) -> str:
        d = "_".join(f"{x:g}" for x in self.direction)
        return f"{self.system.name}-{self.model.label}-slide-{self.tag or d}"
