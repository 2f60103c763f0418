"""Arrangements of a binary solid solution on one sublattice of a parent crystal: the
symmetry-distinct ones in every supercell up to a size (icet's ``enumerate_structures``, the
Hart–Forcade enumeration), or structures the user gives.

``Ca:Mg`` on the cation sites of rocksalt MgO: the parent's Mg sites take Mg or Ca, the O sites
stay O. Each arrangement has a composition x (the fraction of the mixing sites that hold the
second species) and a key ``<formula>-<k>`` (k counts the arrangements of one formula in
enumeration order). The two end members (x = 0 and 1, the primitive parent) come first.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ase import Atoms

from .errors import StructureError


@dataclass
class Arrangement:
    key: str
    atoms: Atoms
    n_a: int          # mixing sites holding species a
    n_b: int          # ... species b
    size: int         # primitive cells in the supercell

    @property
    def x(self) -> float:
        return self.n_b / (self.n_a + self.n_b)


def primitive(atoms: Atoms) -> Atoms:
    import spglib

    cell, frac, numbers = spglib.standardize_cell((np.asarray(atoms.cell), atoms.get_scaled_positions(),
                                                   atoms.numbers), to_primitive=True, symprec=1e-3)
    return Atoms(numbers=numbers, cell=cell, scaled_positions=frac, pbc=True)


def end_members(prim: Atoms, a: str, b: str) -> list[Arrangement]:
    """The primitive parent with every mixing site holding a, then with every one holding b."""
    k = prim.get_chemical_symbols().count(a)
    all_b = prim.copy()
    all_b.symbols = [b if s == a else s for s in prim.get_chemical_symbols()]
    return [Arrangement(f"end-{a}", prim.copy(), k, 0, 1), Arrangement(f"end-{b}", all_b, 0, k, 1)]


def check_parent(parent: Atoms, a: str, b: str) -> None:
    symbols = set(parent.get_chemical_symbols())
    if a not in symbols:
        raise StructureError(f"--mix {a}:{b}: the parent {parent.get_chemical_formula()} has no {a} sites to mix on")
    if b in symbols:
        raise StructureError(f"--mix {a}:{b}: the parent {parent.get_chemical_formula()} has {b} already; give the "
                             f"parent with {a} on every site of the sublattice")


def enumerate_arrangements(parent: Atoms, a: str, b: str, max_size: int) -> list[Arrangement]:
    """Every symmetry-distinct arrangement of a and b on the parent's a sites in supercells of
    1 to ``max_size`` primitive cells (icet), end members first and once."""
    from icet.tools import enumerate_structures

    check_parent(parent, a, b)
    prim = primitive(parent)
    species = [[a, b] if s == a else [s] for s in prim.get_chemical_symbols()]
    found = []
    for atoms in enumerate_structures(prim, list(range(1, max_size + 1)), species):
        n_a, n_b = atoms.get_chemical_symbols().count(a), atoms.get_chemical_symbols().count(b)
        if n_a == 0 or n_b == 0:
            continue  # the end members come once, from the primitive cell
        found.append((atoms, n_a, n_b, len(atoms) // len(prim)))
    out = end_members(prim, a, b)
    per_formula: dict[str, int] = {}
    for atoms, n_a, n_b, size in found:
        atoms.pbc = True
        formula = atoms.get_chemical_formula()
        per_formula[formula] = per_formula.get(formula, 0) + 1
        out.append(Arrangement(f"{formula}-{per_formula[formula]}", atoms, n_a, n_b, size))
    return out


def given_arrangements(frames: list[Atoms], parent: Atoms, a: str, b: str, source: str) -> list[Arrangement]:
    """Arrangements the user gives: every frame must hold only a, b and the parent's other atoms
    in the parent's ratio (the other sublattices full)."""
    check_parent(parent, a, b)
    prim = primitive(parent)
    k = prim.get_chemical_symbols().count(a)
    others = {s: prim.get_chemical_symbols().count(s) for s in set(prim.get_chemical_symbols()) - {a}}
    out = end_members(prim, a, b)
    seen = set()
    for i, atoms in enumerate(frames):
        symbols = atoms.get_chemical_symbols()
        n_a, n_b = symbols.count(a), symbols.count(b)
        stray = set(symbols) - {a, b} - set(others)
        if stray or n_a + n_b == 0 or (n_a + n_b) % k:
            raise StructureError(f"{source}: structure {i + 1} ({atoms.get_chemical_formula()}) is not an "
                                 f"arrangement of {a}/{b} on {prim.get_chemical_formula()}'s {a} sites")
        cells = (n_a + n_b) // k
        for s, n in others.items():
            if symbols.count(s) != n * cells:
                raise StructureError(f"{source}: structure {i + 1} ({atoms.get_chemical_formula()}) has "
                                     f"{symbols.count(s)} {s}, the parent's ratio needs {n * cells}")
        key = str(atoms.info.get("name") or f"s{i + 1}")
        if key in seen or key.startswith("end-"):
            raise StructureError(f"{source}: structure {i + 1}: the name {key!r} is used twice or reserved")
        seen.add(key)
        atoms = atoms.copy()
        atoms.pbc = True
        out.append(Arrangement(key, atoms, n_a, n_b, cells))
    return out


def vegard_start(arrangement: Arrangement, v_a: float, v_b: float) -> Atoms:
    """The arrangement scaled isotropically to the volume n_a·v_a + n_b·v_b (v: the relaxed end
    members' volume per mixing site, Vegard's law), a start near the relaxed volume."""
    atoms = arrangement.atoms.copy()
    target = arrangement.n_a * v_a + arrangement.n_b * v_b
    atoms.set_cell(np.asarray(atoms.cell) * (target / atoms.get_volume()) ** (1 / 3), scale_atoms=True)
    return atoms
