"""What an MD run computes besides its thermo rows, decided before it is rendered.

Small cells write a dump and are analysed from it afterwards. Large cells cannot: a dump of
10^5–10^6 atoms every few steps fills disks, and reading it back fills memory. There LAMMPS
computes the observables while it runs (``compute rdf``, ``compute msd``, ``compute vacf`` with
``fix ave/time``): the in-situ route, chosen by the preset or the user, else automatically from
:data:`INSITU_ATOMS` atoms on. The heat flux for Green–Kubo κ (``compute heat/flux`` from per-atom
energies and the centroid per-atom virial) is asked for explicitly, and only where the engine
gives per-atom virials (the bridge hands LAMMPS those of a calculator that has them, on the
steps the deck samples them: :attr:`Observables.per_atom_every`).

Time origins: the in-situ MSD and VACF count from the end of the equilibration (the deck runs
the equilibration first, then defines them); a g(r) block and a heat-flux row carry their step
and the analysis drops those of the equilibration. Restarts fall on steps where every in-situ
output writes, so a resumed run splices its files cleanly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from ase import Atoms

from ..config import MDProtocol
from ..errors import ConfigError

INSITU_ATOMS = 10_000  # from this many atoms on, in-situ unless the preset or the user says otherwise
# default g(r) range caps. In-situ, LAMMPS keeps ghost atoms out to r_max + skin at every step for
# it (12 Å cost EAM Cu 15 % per step on 32,000 atoms, 8 Å under 8 %): three shells of most solids.
# From a dump only the analysis pays, as r^3.
RDF_R_MAX_INSITU_A = 8.0
RDF_R_MAX_DUMP_A = 12.0
# g(r) is sampled RDF_STRIDE times less often than the MSD and VACF: it converges in a few samples
# of a large cell, and each one searches neighbours out to r_max (sampled every 20 steps it cost
# EAM Cu 22 % per step, every 200 steps 3 %). Up to RDF_BLOCK samples are averaged into one block of
# rdf.dat, fewer when the run would hold fewer than MIN_RDF_BLOCKS blocks.
RDF_STRIDE = 10
RDF_BLOCK = 10
MIN_RDF_BLOCKS = 5
FILES = {"rdf": "rdf.dat", "msd": "msd.dat", "vacf": "vacf.dat", "heat_flux": "heatflux.dat",
         "virial_check": "virial_check.dat"}


def half_width_A(cell) -> float:
    """Half the narrowest perpendicular width of a cell (the minimum-image limit of g(r))."""
    cell = np.asarray(cell, dtype=float)
    volume = abs(np.linalg.det(cell))
    widths = [volume / np.linalg.norm(np.cross(cell[(i + 1) % 3], cell[(i + 2) % 3])) for i in range(3)]
    return 0.5 * min(widths)


@dataclass(frozen=True)
class Observables:
    """The resolved choice (see the module docstring); ``context()`` feeds ``md.in.j2``."""

    insitu: bool
    heat_flux: bool
    sample_every: int
    rdf_every: int
    rdf_block: int
    rdf_r_max_A: float
    rdf_bins: int
    flux_every: int
    elements: tuple[str, ...]
    eq_steps: int
    comm_cutoff_A: float | None = None
    check_every: int = 0  # the per-atom virials' sum is checked against the global virial this often
    why: str = ""
    files: tuple[str, ...] = field(default=())

    @classmethod
    def resolve(cls, p: MDProtocol, atoms: Atoms, elements: list[str], cutoff_A: float | None, *,
                no_per_atom_virial: str | None, engine: str, skin_A: float) -> Observables:
        n = len(atoms)
        if p.insitu is None:
            insitu, why = n >= INSITU_ATOMS, (f"{n} atoms: in-situ from {INSITU_ATOMS} on" if n >= INSITU_ATOMS else
                                              f"{n} atoms: analysed from the dump")
        else:
            insitu, why = p.insitu, "asked for" if p.insitu else "in-situ turned off"
        if p.heat_flux and no_per_atom_virial:
            raise ConfigError(f"engine {engine} gives LAMMPS no per-atom virial, which the heat flux needs "
                              f"(--heat-flux): {no_per_atom_virial}; use the classic or the ML-IAP engine")
        if not insitu and not p.dump_every:
            why += "; no dump (dump_every 0): only thermo rows"
        half = half_width_A(atoms.cell)
        cap = RDF_R_MAX_INSITU_A if insitu else RDF_R_MAX_DUMP_A
        r_max = p.rdf_r_max_A if p.rdf_r_max_A is not None else min(half, cap)
        if insitu and r_max > half + 1e-9:
            raise ConfigError(f"--rdf-rmax {r_max:g} Å is beyond half the narrowest cell width ({half:.3f} Å): g(r) "
                              f"would count periodic images")
        comm = None
        if insitu and (cutoff_A is None or r_max > cutoff_A):
            comm = round(r_max + skin_A + 0.5, 3)  # compute rdf needs ghost atoms out to r_max + skin
        eq = int(math.ceil(p.equilibration_ps / (p.timestep_fs * 1e-3) - 1e-9)) if p.equilibration_ps else 0
        production = max(p.sample_every, p.steps - eq)
        rdf_every = min(RDF_STRIDE * p.sample_every, production // p.sample_every * p.sample_every)
        rdf_block = max(1, min(RDF_BLOCK, production // rdf_every // MIN_RDF_BLOCKS))
        files = ([FILES["rdf"], FILES["msd"], FILES["vacf"]] if insitu else []) + \
            ([FILES["virial_check"], FILES["heat_flux"]] if p.heat_flux else [])
        return cls(insitu=insitu, heat_flux=p.heat_flux, sample_every=p.sample_every,
                   rdf_every=rdf_every, rdf_block=rdf_block, rdf_r_max_A=float(r_max),
                   rdf_bins=p.rdf_bins, flux_every=p.flux_every, elements=tuple(elements), eq_steps=eq,
                   comm_cutoff_A=comm, check_every=p.thermo_every if p.heat_flux else 0, why=why,
                   files=tuple(files))

    @property
    def per_atom_every(self) -> tuple[int, ...]:
        """Steps on which the deck samples per-atom energies and virials: multiples of these."""
        return (self.flux_every, self.check_every) if self.heat_flux else ()

    @property
    def block_every(self) -> int:
        return self.rdf_every * self.rdf_block

    def restart_factor(self) -> int:
        """What restarts must also be a multiple of: every in-situ output step."""
        out = 1
        if self.insitu:
            out = math.lcm(out, self.block_every, self.sample_every)
        if self.heat_flux:
            out = math.lcm(out, self.flux_every)
        return out

    def context(self, resume: bool, restart_step: int | None) -> dict:
        """Variables of ``md.in.j2``'s in-situ block."""
        types = [(el, i) for i, el in enumerate(self.elements, start=1)]
        pairs = " ".join(f"{i} {j}" for i in range(1, len(types) + 1) for j in range(i, len(types) + 1))
        staged = self.insitu and self.eq_steps > 0
        return {
            "insitu": self.insitu, "heat_flux": self.heat_flux, "insitu_every": self.sample_every,
            "rdf_every": self.rdf_every,
            "rdf_block": self.rdf_block, "rdf_bins": self.rdf_bins, "rdf_r_max": self.rdf_r_max_A,
            "comm_cutoff": self.comm_cutoff_A, "groups": types, "rdf_pairs": pairs if len(types) > 1 else "",
            "flux_every": self.flux_every, "staged": staged, "eq_steps": self.eq_steps,
            "run_equilibration": staged and (not resume or (restart_step or 0) < self.eq_steps),
            "files": dict(FILES),
        }

    def describe(self) -> dict:
        """For ``summary.json`` (``observables``): what was computed where, and why."""
        return {"insitu": self.insitu, "why": self.why, "heat_flux": self.heat_flux,
                "sample_every": self.sample_every, "rdf_every": self.rdf_every, "rdf_block": self.rdf_block,
                "rdf_r_max_A": self.rdf_r_max_A,
                "rdf_bins": self.rdf_bins, "flux_every": self.flux_every, "origin_step": self.eq_steps,
                "files": list(self.files)}
