"""Endpoints of point-defect hops in crystals, built for the user: vacancy, dopant and
interstitial migration between equivalent sites.

The supercell is wide enough for the model's cutoff: every perpendicular width at least twice
the cutoff, so that no atom sees both the defect and its periodic image (stated in the
result). Nearest-neighbour hops are grouped by the symmetry of the perfect crystal (spglib):
the hop built is one of ``multiplicity`` equivalent ones from its site.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from ase import Atoms

from .config.neb import parse_hop
from .errors import StructureError


@dataclass
class Hop:
    """Initial and final states of one hop (same atoms, same order) and how they were made."""

    kind: str
    element: str
    initial: Atoms
    final: Atoms
    moving_atom: int
    distance_A: float
    multiplicity: int
    supercell: tuple[int, int, int]
    min_width_A: float
    notes: list[str] = field(default_factory=list)

    def describe(self) -> dict:
        return {"kind": self.kind, "element": self.element, "moving_atom": self.moving_atom,
                "hop_distance_A": self.distance_A, "equivalent_hops": self.multiplicity,
                "supercell": list(self.supercell), "min_width_A": self.min_width_A,
                "n_atoms": len(self.initial), "notes": self.notes}


def widths_A(cell) -> np.ndarray:
    """Perpendicular widths of a cell (Å): the distances between opposite faces."""
    cell = np.asarray(cell, float)
    vol = abs(np.linalg.det(cell))
    return np.array([vol / np.linalg.norm(np.cross(cell[(i + 1) % 3], cell[(i + 2) % 3])) for i in range(3)])


def supercell_for(unit: Atoms, min_width_A: float) -> tuple[int, int, int]:
    """The smallest diagonal repetition whose every width reaches ``min_width_A``."""
    w = widths_A(unit.cell)
    return tuple(int(max(1, np.ceil(min_width_A / x - 1e-9))) for x in w)


def check_wide_enough(atoms: Atoms, min_width_A: float, what: str) -> None:
    w = widths_A(atoms.cell)
    if w.min() < min_width_A - 1e-6:
        raise StructureError(f"{what} is {w.min():.2f} Å wide; the model's cutoff needs ≥ {min_width_A:.2f} Å "
                             f"(twice the cutoff: a larger --supercell)")


def _stabilizer_orbits(perfect: Atoms, site: int, candidates: list[int]) -> list[list[int]]:
    """The candidates grouped into orbits of the symmetry operations that keep ``site`` fixed."""
    import spglib

    cell = (np.asarray(perfect.cell), perfect.get_scaled_positions(), perfect.numbers)
    sym = spglib.get_symmetry(cell, symprec=1e-4)
    frac = perfect.get_scaled_positions()
    ops = []
    for rot, trans in zip(sym["rotations"], sym["translations"]):
        image = rot @ frac[site] + trans
        if np.allclose((image - frac[site] + 0.5) % 1.0 - 0.5, 0, atol=1e-4):
            ops.append((rot, trans))
    rel = {c: (frac[c] - frac[site] + 0.5) % 1.0 - 0.5 for c in candidates}  # neighbour vectors
    orbits: list[list[int]] = []
    assigned: set[int] = set()
    for c in candidates:
        if c in assigned:
            continue
        orbit = []
        for rot, _ in ops:
            v = rot @ rel[c]
            for d in candidates:
                if d not in orbit and np.allclose((v - rel[d] + 0.5) % 1.0 - 0.5, 0, atol=1e-4):
                    orbit.append(d)
        assigned.update(orbit)
        orbits.append(sorted(orbit))
    return orbits


def vacancy_hop(perfect: Atoms, element: str | None, min_width_A: float, supercell) -> Hop:
    """A nearest-neighbour atom hops into a vacancy.

    ``element``: the hopping atom's element; absent from the crystal, it is a substitutional
    dopant put on a host site first. Default: the first element of the crystal.
    """
    atoms = perfect.copy()
    symbols = atoms.get_chemical_symbols()
    notes = []
    hopper_el = element or symbols[0]
    if hopper_el in symbols:
        h = symbols.index(hopper_el)
    else:  # a dopant: substituted on the first site
        h = 0
        notes.append(f"{hopper_el} substituted for the {symbols[0]} atom on site 0 (a dopant)")
        atoms[h].symbol = hopper_el
    d = atoms.get_distances(h, range(len(atoms)), mic=True)
    d[h] = np.inf
    nearest = float(d.min())
    shell = [int(i) for i in np.flatnonzero(d < nearest * 1.01)]
    orbits = _stabilizer_orbits(perfect, h, shell)
    v = orbits[0][0]
    notes.append(f"{len(shell)} nearest neighbours at {nearest:.3f} Å in {len(orbits)} symmetry class(es)")
    initial = atoms.copy()
    site_v = atoms.positions[v].copy()
    del initial[v]
    moving = h if h < v else h - 1
    final = initial.copy()
    final.positions[moving] = site_v
    return Hop("vacancy", hopper_el, initial, final, moving, nearest, len(orbits[0]), tuple(supercell), min_width_A,
               notes)


def void_sites(unit: Atoms, n_grid: int = 24) -> np.ndarray:
    """Fractional positions of the largest voids of a crystal (equivalent interstitial sites):
    the grid points farthest from every atom, merged."""
    from ase.geometry import get_distances

    g = (np.arange(n_grid) + 0.0) / n_grid
    frac = np.stack(np.meshgrid(g, g, g, indexing="ij"), axis=-1).reshape(-1, 3)
    points = frac @ np.asarray(unit.cell)
    _, dist = get_distances(points, unit.positions, cell=unit.cell, pbc=True)
    nearest = dist.min(axis=1)
    best = nearest.max()
    keep = frac[nearest > best - 1e-6]
    sites: list[np.ndarray] = []
    for f in keep:
        if not any(np.allclose((f - s + 0.5) % 1.0 - 0.5, 0, atol=1.5 / n_grid) for s in sites):
            sites.append(f)
    return np.array(sites)


def interstitial_hop(perfect: Atoms, unit: Atoms, element: str | None, min_width_A: float, supercell) -> Hop:
    """An interstitial atom hops between two nearest equivalent largest-void sites."""
    el = element or perfect.get_chemical_symbols()[0]
    frac_unit = void_sites(unit)
    reps = np.asarray(supercell)
    cart = []
    for i in range(reps[0]):
        for j in range(reps[1]):
            for k in range(reps[2]):
                for f in frac_unit:
                    cart.append((f + [i, j, k]) @ np.asarray(unit.cell))
    cart = np.array(cart)
    centre = np.asarray(perfect.cell).sum(axis=0) / 2
    a = int(np.argmin(np.linalg.norm(cart - centre, axis=1)))
    from ase.geometry import get_distances

    _, d = get_distances(cart[a], cart, cell=perfect.cell, pbc=True)
    d = d.ravel()
    d[a] = np.inf
    b = int(np.argmin(d))
    initial = perfect + Atoms(el, positions=[cart[a]])
    final = perfect + Atoms(el, positions=[cart[b]])
    multiplicity = int(np.sum(d < d[b] * 1.01))
    notes = [f"largest voids: {len(frac_unit)} per unit cell, {el} between two at {d[b]:.3f} Å",
             "built: a void-to-void hop; where the void is not the stable interstitial (fcc metals relax it into "
             "a split dumbbell) the endpoints relax into other states and the band may hold several hops, which "
             "the NEB reports hop by hop"]
    return Hop("interstitial", el, initial, final, len(perfect), float(d[b]), multiplicity, tuple(supercell),
               min_width_A, notes)


def build_hop(unit: Atoms, hop: str, cutoff_A: float, supercell=None) -> Hop:
    """The endpoints of ``hop`` in a supercell of ``unit`` wide enough for ``cutoff_A``."""
    from .systems import species_order

    kind, element = parse_hop(hop)
    min_width = 2.0 * float(cutoff_A)
    sc = tuple(supercell) if supercell else supercell_for(unit, min_width)
    perfect = unit.repeat(sc)
    order = species_order(perfect)
    perfect = perfect[sorted(range(len(perfect)), key=lambda i: order.index(perfect[i].symbol))]
    perfect.pbc = True
    check_wide_enough(perfect, min_width, f"the {'x'.join(map(str, sc))} supercell")
    if kind == "vacancy":
        return vacancy_hop(perfect, element, min_width, sc)
    return interstitial_hop(perfect, unit, element, min_width, sc)
