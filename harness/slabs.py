"""Slabs of a crystal for surface energies, cut by pymatgen's ``SlabGenerator`` (what Deng et
al. used for their 147 surfaces), elements and compounds alike.

Miller indices are those of the conventional standard cell (what (110) means to a user of a
cubic or hexagonal crystal; four-index hexagonal (hkil) are accepted). The slab is cut from the
*primitive* standard cell with the same plane, so its in-plane cell is the smallest one (a
(111) slab of an fcc metal has one atom per layer, not four). Only terminations that are
symmetric (both faces alike) and stoichiometric are kept: γ = (E_slab − N·ε_bulk)/2A needs
both; a plane that has none (a polar surface such as rocksalt's (111)) is refused in one line.
The cell's third vector is made normal to the surface and the slab centred in its vacuum.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import reduce
from math import gcd

import numpy as np
from ase import Atoms

from .config.static import miller_label
from .errors import StructureError


@dataclass
class Slab:
    """One slab: its plane (conventional indices), termination, atoms and the numbers γ needs."""

    miller: tuple[int, int, int]
    termination: int
    n_terminations: int
    atoms: Atoms
    area_A2: float
    thickness_A: float
    vacuum_A: float
    n_layers: int

    @property
    def label(self) -> str:
        return miller_label(self.miller)

    @property
    def key(self) -> str:
        """The entry it belongs to: ``111``, or ``111:t1`` when the plane has several terminations."""
        return self.label if self.n_terminations == 1 else f"{self.label}:t{self.termination}"


def _structure(atoms: Atoms):
    from pymatgen.io.ase import AseAtomsAdaptor

    return AseAtomsAdaptor.get_structure(atoms)


def _analyzer(atoms: Atoms):
    from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

    return SpacegroupAnalyzer(_structure(atoms), symprec=1e-3)


def low_index_millers(bulk: Atoms, max_index: int = 1) -> tuple[tuple[int, int, int], ...]:
    """The symmetry-distinct planes with indices up to ``max_index`` (conventional cell)."""
    from pymatgen.core.surface import get_symmetrically_distinct_miller_indices

    conv = _analyzer(bulk).get_conventional_standard_structure()
    return tuple(tuple(int(x) for x in m) for m in get_symmetrically_distinct_miller_indices(conv, max_index))


def primitive_miller(conv_lattice: np.ndarray, prim_lattice: np.ndarray, miller) -> tuple[int, int, int]:
    """The same plane's indices in the primitive cell: h_p = P·h with prim rows = P·conv rows."""
    p = np.linalg.solve(np.asarray(conv_lattice).T, np.asarray(prim_lattice).T).T
    h = p @ np.asarray(miller, float)
    fr = [Fraction(x).limit_denominator(12) for x in h]
    den = reduce(lambda a, b: a * b // gcd(a, b), [f.denominator for f in fr], 1)
    ints = [int(f * den) for f in fr]
    g = reduce(gcd, [abs(x) for x in ints if x]) or 1
    return tuple(x // g for x in ints)


def make_slabs(bulk: Atoms, miller, thickness_A: float, vacuum_A: float, what: str = "") -> list[Slab]:
    """Every symmetric, stoichiometric termination of the ``miller`` plane of ``bulk`` at least
    ``thickness_A`` thick with at least ``vacuum_A`` of vacuum, in shift order."""
    from pymatgen.core.surface import SlabGenerator
    from pymatgen.io.ase import AseAtomsAdaptor

    sga = _analyzer(bulk)
    conv, prim = sga.get_conventional_standard_structure(), sga.get_primitive_standard_structure()
    hp = primitive_miller(conv.lattice.matrix, prim.lattice.matrix, miller)
    gen = SlabGenerator(prim, hp, min_slab_size=thickness_A, min_vacuum_size=vacuum_A, center_slab=True,
                        primitive=True, lll_reduce=True)
    made = gen.get_slabs()
    formula = conv.composition.reduced_formula
    kept = [s for s in made if s.is_symmetric() and s.composition.reduced_formula == formula]
    name = what or formula
    if not kept:
        raise StructureError(f"{name} ({miller_label(miller)}): pymatgen's SlabGenerator makes {len(made)} "
                             f"termination(s), none both symmetric and stoichiometric (a polar surface?); "
                             f"γ = (E_slab − N·ε_bulk)/2A needs both: leave this plane out")
    out = []
    for t, s in enumerate(kept):
        s = s.get_orthogonal_c_slab()
        atoms = AseAtomsAdaptor.get_atoms(s)
        atoms.pbc = True
        a, b, c = np.asarray(atoms.cell)
        normal = np.cross(a, b)
        area = float(np.linalg.norm(normal))
        z = atoms.positions @ (normal / area)
        height = abs(float(c @ normal / area))
        planes = np.unique(np.round(z, 2))
        thick = float(z.max() - z.min())
        out.append(Slab(tuple(int(x) for x in miller), t, len(kept), atoms, area, thick, height - thick,
                        len(planes)))
    return out
