"""harness: run machine-learned interatomic potentials inside LAMMPS, analyse and compare.

Units inside the package are LAMMPS ``metal`` (eV, Å, ps, bar, K); names carry their unit
(``temperature_K``, ``timestep_fs``, ``pressure_GPa``) and conversions happen at the boundary.
"""

__version__ = "0.1.0"
