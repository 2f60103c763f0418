"""Systems: ``inputs/<name>.yaml`` -> a validated, frozen :class:`SystemSpec`."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError, UnknownNameError
from ..limits import MAX_RUN_STEPS, TIMESTEP_FS
from ..names import safe_name
from ._reader import Reader, load_yaml, relative_source, resolve
from .project import registry

PROTOTYPES = ("fcc", "bcc", "hcp", "diamond", "rocksalt", "L1_2", "B2")
# nose-hoover: LAMMPS fix nvt (chain); csvr: Bussi's stochastic velocity rescaling (fix nve +
# fix temp/csvr), canonical and stochastic. LAMMPS has no Andersen thermostat.
THERMOSTATS = ("nose-hoover", "csvr")


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
    dump_every: int = 10  # 0: no dump (the in-situ observables need none)
    thermo_every: int = 10
    restart_every: int = 1000
    equilibration_ps: float = 0.0
    # observables LAMMPS computes while it runs (g(r), MSD, VACF): None = when the cell has
    # INSITU_ATOMS atoms or more (a dump of every frame no longer fits anywhere)
    insitu: bool | None = None
    insitu_every: int | None = None  # steps between in-situ samples [default: dump_every or thermo_every]
    rdf_r_max_A: float | None = None  # [default: half the narrowest cell width, at most RDF_R_MAX_A]
    rdf_bins: int = 500
    # the heat flux J(t) for Green-Kubo thermal conductivity, sampled every flux_every steps
    heat_flux: bool = False
    flux_every: int = 1

    @property
    def duration_ps(self) -> float:
        return self.steps * self.timestep_fs / 1000.0

    @property
    def sample_every(self) -> int:
        """Steps between in-situ samples."""
        return self.insitu_every or self.dump_every or self.thermo_every

    @property
    def restart_interval(self) -> int:
        """Steps between restarts: ``restart_every`` rounded to a step with a frame and a thermo row."""
        return math.lcm(self.restart_every, self.dump_every or 1, self.thermo_every)


@dataclass(frozen=True)
class SystemSpec:
    name: str
    source: str
    description: str
    structure: StructureSpec
    temperature_K: float
    presets: dict[str, MDProtocol]
    default_preset: str

    @property
    def argument(self) -> str:
        """What rebuilds this spec with :func:`load_system` later (``harness execute``)."""
        return Path(self.source).stem if self.source.startswith("inputs/") else self.source

    def preset(self, name: str | None) -> MDProtocol:
        name = name or self.default_preset
        if not self.presets:
            raise ConfigError(f"system {self.name} ({self.source}) defines no MD presets: add `presets:` to its YAML "
                              f"(see inputs/Cu.yaml) to run MD with it")
        if name not in self.presets:
            raise UnknownNameError(
                f"unknown preset '{name}' for system {self.name} (valid: {', '.join(sorted(self.presets))})"
            )
        return self.presets[name]


_PRESET_KEYS = {f.name for f in MDProtocol.__dataclass_fields__.values()}


def _parse_preset(r: Reader) -> MDProtocol:
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
        dump_every=r.count("dump_every", 10, minimum=0),
        thermo_every=r.positive("thermo_every", 10, integer=True),
        restart_every=r.positive("restart_every", 1000, integer=True),
        equilibration_ps=r.nonneg("equilibration_ps", 0.0),
        insitu=r.flag("insitu", None),
        insitu_every=r.positive("insitu_every", integer=True) if r.has("insitu_every") else None,
        rdf_r_max_A=r.positive("rdf_r_max_A") if r.has("rdf_r_max_A") else None,
        rdf_bins=r.positive("rdf_bins", 500, integer=True),
        heat_flux=bool(r.flag("heat_flux", False)),
        flux_every=r.positive("flux_every", 1, integer=True),
    )
    if proto.equilibration_ps >= proto.duration_ps:
        raise r.fail("equilibration_ps", f"must be shorter than the run ({proto.duration_ps:g} ps)")
    if proto.steps > MAX_RUN_STEPS:
        raise r.fail("steps", f"must be at most {MAX_RUN_STEPS} (the largest `run N` LAMMPS accepts), "
                              f"got {proto.steps}")
    if not TIMESTEP_FS[0] <= proto.timestep_fs <= TIMESTEP_FS[1]:
        raise r.fail("timestep_fs", f"must be from {TIMESTEP_FS[0]:g} to {TIMESTEP_FS[1]:g} fs, "
                                    f"got {proto.timestep_fs:g}")
    return proto


def load_system(name: str) -> SystemSpec:
    """Load ``inputs/<name>.yaml`` (or a YAML path) into a validated :class:`SystemSpec`."""
    path = resolve("system", name, "inputs")
    src = relative_source(path)
    r = Reader(load_yaml(path), src)
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
    # MD presets are optional: a system for NEB, phonons or single points needs none
    presets_r = r.sub("presets") if r.has("presets") else None
    if presets_r is not None and not presets_r.data:
        raise r.fail("presets", "must define at least one preset (or leave presets out: no MD then)")
    presets = {str(k): _parse_preset(presets_r.sub(str(k))) for k in presets_r.data} if presets_r else {}
    default = r.str("default_preset", "quick" if "quick" in presets else next(iter(presets), ""))
    if presets and default not in presets:
        raise r.fail("default_preset", f"must be one of {', '.join(presets)}; got {default!r}")
    return SystemSpec(
        # the name becomes part of run folders and decks: a YAML's own name must be valid,
        # a name taken from the file's stem is made valid
        name=r.name("name") if r.has("name") else safe_name(path.stem, "system"),
        source=src,
        description=r.str("description", ""),
        structure=structure,
        temperature_K=r.positive("temperature_K"),
        presets=presets,
        default_preset=default,
    )


def list_systems() -> list[str]:
    return sorted(registry("inputs"))
