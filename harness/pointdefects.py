"""Point defects in a supercell for formation energies: vacancies, antisites and interstitials
on the symmetry-distinct sites of a crystal, and the elemental phases their chemical
potentials come from.

Sites are grouped by spglib (``equivalent_atoms`` of the unit cell): one defect per orbit,
named like Kröger–Vink without charges: ``v_Cu`` (a Cu vacancy), ``Au_Cu`` (Au on a Cu site),
``Cu_i`` (a Cu interstitial, in the largest void: :func:`harness.defects.void_sites`, the same
sites the NEB's interstitial hops use); a second distinct site of an element adds ``-2``. The
defect is put on the site of its orbit nearest the supercell's centre.

E_f = E_defect − E_perfect − Σ_i ΔN_i μ_i (ΔN_i atoms of element i added), μ_i the energy per
atom of element i's own crystal (:func:`elemental_phase`: ASE's reference state of the element,
or a structure the user gives), relaxed with the same model.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from ase import Atoms

from .defects import void_sites
from .errors import ConfigError, StructureError

CRYSTALS = ("sc", "fcc", "bcc", "hcp", "diamond", "rhombohedral", "orthorhombic", "bct", "tetragonal",
            "monoclinic")


@dataclass
class Defect:
    """One point defect: its key, what it is, ``delta`` (atoms added per element; removed < 0)."""

    key: str
    kind: str
    element: str          # the atom removed (vacancy), put (antisite, interstitial)
    site_element: str | None  # the atom whose site it takes (antisite, vacancy); None for interstitials
    unit_site: int | None
    multiplicity: int     # equivalent sites per unit cell
    delta: dict[str, int] = field(default_factory=dict)

    def describe(self) -> dict:
        return {"key": self.key, "kind": self.kind, "element": self.element, "site_element": self.site_element,
                "unit_site": self.unit_site, "sites_per_unit_cell": self.multiplicity, "delta_N": self.delta}


def equivalent_atoms(unit: Atoms) -> np.ndarray:
    """For every atom of ``unit``, the first atom of its symmetry orbit (spglib)."""
    import spglib

    data = spglib.get_symmetry_dataset((np.asarray(unit.cell), unit.get_scaled_positions(), unit.numbers),
                                       symprec=1e-3)
    return np.asarray(data.equivalent_atoms)


def site_orbits(unit: Atoms) -> list[tuple[int, int]]:
    """(representative atom, multiplicity) of every symmetry-distinct site of ``unit``."""
    eq = equivalent_atoms(unit)
    return [(int(r), int(np.sum(eq == r))) for r in dict.fromkeys(eq.tolist())]


def defects_of(unit: Atoms, kinds: tuple[str, ...]) -> list[Defect]:
    """The defects of ``kinds`` on the distinct sites of ``unit`` (antisites only in compounds)."""
    from ase.data import chemical_symbols

    check_site_element(unit, kinds)
    symbols = unit.get_chemical_symbols()
    elements = list(dict.fromkeys(symbols))
    orbits = site_orbits(unit)
    count: dict[str, int] = {}
    out: list[Defect] = []

    def name(base: str) -> str:
        count[base] = count.get(base, 0) + 1
        return base if count[base] == 1 else f"{base}-{count[base]}"

    for kind in kinds:
        k, _, el = kind.partition(":")
        if el and el not in chemical_symbols[1:]:
            raise ConfigError(f"--defects {kind!r}: {el!r} is not an element")
        if k == "vacancy":
            for rep, mult in orbits:
                s = symbols[rep]
                if el and s != el:
                    continue
                out.append(Defect(name(f"v_{s}"), "vacancy", s, s, rep, mult, {s: -1}))
        elif k == "antisite":
            if len(elements) < 2:
                raise ConfigError(f"--defects antisite: {unit.get_chemical_formula()} has one element; antisites "
                                  f"need a compound")
            for rep, mult in orbits:
                s = symbols[rep]
                for other in ([el] if el else elements):
                    if other != s:
                        out.append(Defect(name(f"{other}_{s}"), "antisite", other, s, rep, mult, {other: 1, s: -1}))
        else:
            for other in ([el] if el else elements):
                out.append(Defect(name(f"{other}_i"), "interstitial", other, None, None, len(void_sites(unit)),
                                  {other: 1}))
    return out


def check_site_element(unit: Atoms, kinds: tuple[str, ...]) -> None:
    """A vacancy or antisite of an element the crystal does not have: one line."""
    present = set(unit.get_chemical_symbols())
    for kind in kinds:
        k, _, el = kind.partition(":")
        if k == "vacancy" and el and el not in present:
            raise StructureError(f"--defects {kind}: {unit.get_chemical_formula()} has no {el} site "
                                 f"(its elements: {', '.join(sorted(present))})")


def supercell_of(unit: Atoms, reps) -> Atoms:
    """``unit`` repeated ``reps`` times, atoms in the unit's order within each copy."""
    sc = unit.repeat(tuple(reps))
    sc.pbc = True
    return sc


def build_defect(unit: Atoms, defect: Defect, reps, *, rattle_A: float = 0.0, seed: int = 0) -> Atoms:
    """The supercell ``reps`` of ``unit`` with ``defect`` at the site of its orbit nearest the
    centre; the atoms then pushed by up to ``rattle_A`` (seeded; a symmetric start can be a saddle)."""
    perfect = supercell_of(unit, reps)
    centre = np.asarray(perfect.cell).sum(axis=0) / 2
    n_unit = len(unit)
    if defect.kind == "interstitial":
        frac = void_sites(unit)
        cart = np.array([(f + np.array([i, j, k])) @ np.asarray(unit.cell)
                         for i in range(reps[0]) for j in range(reps[1]) for k in range(reps[2]) for f in frac])
        best = cart[int(np.argmin(np.linalg.norm(cart - centre, axis=1)))]
        atoms = perfect + Atoms(defect.element, positions=[best])
    else:
        eq = equivalent_atoms(unit)
        members = [i for i in range(len(perfect)) if eq[i % n_unit] == eq[defect.unit_site]]
        site = min(members, key=lambda i: np.linalg.norm(perfect.positions[i] - centre))
        atoms = perfect.copy()
        if defect.kind == "vacancy":
            del atoms[site]
        else:
            atoms[site].symbol = defect.element
    if rattle_A > 0:
        rng = np.random.default_rng(seed)
        atoms.positions += rng.uniform(-rattle_A, rattle_A, size=atoms.positions.shape)
    atoms.wrap()
    return atoms


def elemental_phase(element: str) -> Atoms:
    """The element's own crystal (ASE's reference state: fcc Cu, hcp Co, diamond Si, ...), or one
    line saying that it has none (a molecule, no data) and what to give instead."""
    from ase.build import bulk
    from ase.data import atomic_numbers, reference_states

    state = reference_states[atomic_numbers[element]] or {}
    sym = state.get("symmetry")
    if sym not in CRYSTALS:
        raise StructureError(f"{element} has no elemental crystal in ASE's reference states (its reference state "
                             f"is {sym or 'unknown'}): give its phase with --elemental {element}=FILE")
    try:
        atoms = bulk(element)
    except (ValueError, KeyError, TypeError) as exc:  # ASE's reference data incomplete for this element
        raise StructureError(f"{element}: ASE cannot build its reference crystal ({exc}); give it with "
                             f"--elemental {element}=FILE") from None
    atoms.pbc = True
    return atoms
