"""Plausible ranges of the numbers a user types, and the hard limits of what runs them.

A value outside its range is refused in one line that states the accepted range, before any
run folder exists: a 3 Å phonon displacement, 10^14 MD steps (LAMMPS' ``run N`` stops at
2^31 - 1) or 10^5 NEB images (one MPI rank each) are typing mistakes, not experiments.
"""

from __future__ import annotations

import math

from .errors import ConfigError

# LAMMPS `run N` (and `run N upto`): N is a 32-bit int (MAXSMALLINT in run.cpp)
MAX_RUN_STEPS = 2**31 - 1
# MD time step: hydrogen needs ~0.25-0.5 fs, heavy metals run at 5 fs; nothing sane is beyond 20
TIMESTEP_FS = (0.01, 20.0)
# kelvin: above ~1e5 K no interatomic potential means anything
TEMPERATURE_K = (0.0, 1.0e5)
# phonopy finite displacements: 0.01 Å is phonopy's default, 0.03-0.05 is large already;
# beyond 0.1 Å the forces are no longer harmonic
DISPLACEMENT_A = (0.001, 0.1)
# NEB images (endpoints included): one LAMMPS partition, i.e. one MPI rank or GPU, each
IMAGES = (3, 64)


def number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def check_range(what: str, value, bounds: tuple[float, float], unit: str = "", *, low_open: bool = False,
                integer: bool = False):
    """``value`` if it is a finite number inside ``bounds`` (``low_open``: the lower bound itself
    is excluded), else one line stating the accepted range."""
    lo, hi = bounds
    ok = number(value) and (value > lo if low_open else value >= lo) and value <= hi
    if integer:
        ok = ok and float(value).is_integer()
    if not ok:
        kind = "an integer" if integer else "a number"
        unit_text = f" {unit}" if unit else ""
        span = f"above {lo:g} and at most {hi:g}" if low_open else f"from {lo:g} to {hi:g}"
        raise ConfigError(f"{what} must be {kind} {span}{unit_text}, got {value!r}")
    return int(value) if integer else float(value)


def check_steps(what: str, steps) -> int:
    """MD steps: a positive integer LAMMPS' ``run`` accepts."""
    if not (number(steps) and float(steps).is_integer() and 0 < steps <= MAX_RUN_STEPS):
        raise ConfigError(f"{what} must be an integer from 1 to {MAX_RUN_STEPS} (the largest `run N` LAMMPS "
                          f"accepts), got {steps!r}")
    return int(steps)
