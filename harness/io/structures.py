"""Structure files a user brings (CIF, POSCAR, extxyz, anything ASE reads), read with one line
on anything that cannot become an MD cell.

A CIF may describe a disordered crystal: sites shared by several species, or partly empty
(``_atom_site_occupancy`` < 1). ASE then keeps one species per site (the last one listed) and
says nothing, so a Cu0.5Au0.5 alloy would run as pure Au. Such a file is refused here, naming
the sites: an MD cell needs one atom per site (an ordered supercell or an SQS made first).
"""

from __future__ import annotations

from pathlib import Path

from ..errors import ConfigError, StructureError


def read_structure(path: Path | str, what: str = "structure", index=None):
    """``ase.io.read(path, index)``, refusing partial occupancies; one line for any failure."""
    from ase.io import read

    path = Path(path)
    try:
        out = read(path) if index is None else read(path, index=index)
    except Exception as exc:  # noqa: BLE001 - ASE raises many types for unreadable files
        first = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else ""
        why = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
        raise ConfigError(f"{what} {path}: cannot read structure (ASE's reader: {why})") from None
    for atoms in out if isinstance(out, list) else [out]:
        check_ordered(atoms, f"{what} {path}")
    return out


def check_ordered(atoms, source: str) -> None:
    """One line when ``atoms`` came from a file with partially occupied sites (ASE keeps their
    occupancies in ``atoms.info['occupancy']``: site -> {element: fraction})."""
    occupancy = atoms.info.get("occupancy") or {}
    partial = {site: occ for site, occ in occupancy.items()
               if len(occ) > 1 or any(abs(float(f) - 1.0) > 1e-6 for f in occ.values())}
    if partial:
        shown = "; ".join(f"site {site}: " + ", ".join(f"{el} {float(f):g}" for el, f in occ.items())
                          for site, occ in list(partial.items())[:3])
        more = f" (and {len(partial) - 3} more)" if len(partial) > 3 else ""
        raise StructureError(f"{source}: partially occupied sites ({shown}{more}); an MD cell needs one atom per "
                             f"site: order it first (an ordered supercell or an SQS, e.g. with pymatgen's "
                             f"OrderDisorderedStructureTransformation or icet) and give that file")
