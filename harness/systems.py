"""System specification -> :class:`ase.Atoms`, with the sanity checks every run needs."""

from __future__ import annotations

import numpy as np
from ase import Atoms
from ase.build import bulk
from ase.data import atomic_numbers, covalent_radii
from ase.neighborlist import neighbor_list
from ase.spacegroup import crystal

from .config import ModelSpec, StructureSpec
from .errors import ConfigError, StructureError

# Closest approach allowed, as a fraction of the sum of covalent radii. Real solids sit near
# 0.9-1.2; below ~0.5 a structure is almost surely a unit or input mistake (and MLIPs explode).
MIN_DISTANCE_FRACTION = 0.5


def unit_cell(spec: StructureSpec) -> Atoms:
    """The primitive-or-conventional cell the spec describes (before the supercell)."""
    if spec.file:
        from .io.structures import read_structure

        return read_structure(spec.file)
    el, a = spec.elements, spec.a_A
    proto = spec.prototype
    need = {"fcc": 1, "bcc": 1, "hcp": 1, "diamond": 1, "rocksalt": 2, "L1_2": 2, "B2": 2}[proto]
    if len(el) != need:
        raise ConfigError(f"prototype {proto} needs {need} element(s), got {list(el)}")
    if proto in ("fcc", "bcc", "diamond"):
        return bulk(el[0], proto, a=a, cubic=True)
    if proto == "hcp":
        return bulk(el[0], "hcp", a=a, c=spec.c_A or a * np.sqrt(8 / 3), orthorhombic=True)
    if proto == "rocksalt":
        return bulk("".join(el), "rocksalt", a=a, cubic=True)
    if proto == "L1_2":
        # A3B, Cu3Au type (Pm-3m): B on the cube corners, A on the face centres.
        return crystal([el[1], el[0]], [(0, 0, 0), (0, 0.5, 0.5)], spacegroup=221, cellpar=[a, a, a, 90, 90, 90])
    if proto == "B2":
        return crystal([el[0], el[1]], [(0, 0, 0), (0.5, 0.5, 0.5)], spacegroup=221, cellpar=[a, a, a, 90, 90, 90])
    raise ConfigError(f"unknown prototype {proto}")  # guarded by config, kept for safety


def build_atoms(spec: StructureSpec, supercell: tuple[int, int, int]) -> Atoms:
    """Unit cell repeated ``supercell`` times, sorted so species form contiguous blocks."""
    atoms = unit_cell(spec).repeat(supercell)
    # Stable sort by species order of first appearance keeps LAMMPS types = elements order.
    order = species_order(atoms)
    idx = sorted(range(len(atoms)), key=lambda i: order.index(atoms[i].symbol))
    atoms = atoms[idx]
    atoms.pbc = True
    return atoms


def species_order(atoms: Atoms) -> list[str]:
    """Elements in order of first appearance: LAMMPS type i+1 is element i.

    Why it matters: ``pair_coeff * * <elements>`` and the data file's types must agree, or
    every atom gets another element's interactions without any error.
    """
    seen: list[str] = []
    for s in atoms.get_chemical_symbols():
        if s not in seen:
            seen.append(s)
    return seen


def check_atoms(atoms: Atoms, model: ModelSpec | None = None) -> None:
    """Raise :class:`StructureError` for uncovered elements or unphysically close atoms."""
    if model is not None:
        from .models.metadata import check_covers

        check_covers(model, species_order(atoms))
    if len(atoms) < 2:
        return
    radii = covalent_radii[[atomic_numbers[s] for s in atoms.get_chemical_symbols()]]
    cutoff = MIN_DISTANCE_FRACTION * 2 * radii.max()
    i, j, d = neighbor_list("ijd", atoms, cutoff)
    if len(d):
        limit = MIN_DISTANCE_FRACTION * (radii[i] + radii[j])
        bad = np.flatnonzero(d < limit)
        if len(bad):
            k = bad[np.argmin(d[bad])]
            raise StructureError(
                f"atoms {i[k]} ({atoms[i[k]].symbol}) and {j[k]} ({atoms[j[k]].symbol}) are {d[k]:.3f} Å apart, "
                f"below the sane minimum {limit[k]:.3f} Å ({MIN_DISTANCE_FRACTION:g} × sum of covalent radii)"
            )
