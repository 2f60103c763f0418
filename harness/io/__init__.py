"""Readers of external data (reference frames with DFT energies, forces and stresses)."""


def format_from_name(path) -> str | None:
    """The file format a name suggests (extxyz, vasp-xml, vasp-out, vasp-xdatcar, lammps-dump,
    pymatgen-json), or ``None``. Each reader checks the answer against what it reads."""
    from pathlib import Path

    name = Path(path).name.lower()
    if name.endswith((".extxyz", ".xyz")):
        return "extxyz"
    if name.endswith(".xml"):
        return "vasp-xml"
    if "outcar" in name:
        return "vasp-out"
    if "xdatcar" in name:
        return "vasp-xdatcar"
    if name.endswith((".lammpstrj", ".dump")) or name.startswith("dump"):
        return "lammps-dump"
    if name.endswith(".json"):
        return "pymatgen-json"
    return None


def format_of(path, allowed: tuple[str, ...], what: str, error: type[Exception]) -> str:
    """:func:`format_from_name` restricted to the formats a reader takes; otherwise one line
    ("cannot tell <what> from the name; give --format (...)") as ``error``."""
    fmt = format_from_name(path)
    if fmt not in allowed:
        raise error(f"{path}: cannot tell {what} from the name; give --format ({', '.join(allowed)})")
    return fmt
