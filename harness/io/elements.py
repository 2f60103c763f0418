"""Element data the readers attach to atoms: standard atomic masses from ASE's table.

One lookup for the whole package, on the lowest floor that needs it: the dump reader sets an
MDAnalysis universe's masses with it, a reference trajectory its ``masses``, and the analyses
(kinetic temperature, mass-weighted VACF) use the same numbers. They are the masses ASE writes
into the LAMMPS data file, so a run and its analysis agree on them.
"""

from __future__ import annotations

from ase.data import atomic_masses, atomic_numbers


def element_mass(symbol: str) -> float:
    """Standard atomic mass of an element symbol (g/mol, i.e. amu), from ASE's table.

    MDAnalysis' guesser table is not used: it lacks elements such as Co.

    Parameters
    ----------
    symbol : str
        Element symbol, e.g. ``"Cu"``.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        ``symbol`` is not an element.
    """
    if symbol not in atomic_numbers:
        raise ValueError(f"unknown element {symbol!r}")
    return float(atomic_masses[atomic_numbers[symbol]])
