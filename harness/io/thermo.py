"""Reader for the ``fix ave/time`` thermo file (``thermo.dat``) of an MD run.

Reading the file is input, not analysis: the MD analysis, the comparison with a reference and
the reference reader (a dump in a run folder takes its pressure tensor from here) all read it
through this one function, so it lives on the io floor, below all of them.

The run writes (LAMMPS ``units metal``)::

    fix thermo_out all ave/time 1 1 <every> c_thermo_temp c_thermo_pe c_ke \
        c_thermo_press c_thermo_press[1] ... c_thermo_press[6] v_vol file thermo.dat

so each data row is ``step T(K) pe(eV) ke(eV) P(bar) pxx pyy pzz pxy pxz pyz (bar)
vol(A^3)``. Restarts that append to the file repeat the header block and may
repeat steps; the last occurrence of a step wins.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..units import BAR_TO_GPA

# LAMMPS column name -> (output key, factor to the output unit)
_COLUMNS: dict[str, tuple[str, float]] = {
    "TimeStep": ("step", 1.0),
    "c_thermo_temp": ("temperature_K", 1.0),
    "c_thermo_pe": ("pe_eV", 1.0),
    "c_ke": ("ke_eV", 1.0),
    "c_thermo_press": ("pressure_GPa", BAR_TO_GPA),
    "c_thermo_press[1]": ("pxx_GPa", BAR_TO_GPA),
    "c_thermo_press[2]": ("pyy_GPa", BAR_TO_GPA),
    "c_thermo_press[3]": ("pzz_GPa", BAR_TO_GPA),
    "c_thermo_press[4]": ("pxy_GPa", BAR_TO_GPA),
    "c_thermo_press[5]": ("pxz_GPa", BAR_TO_GPA),
    "c_thermo_press[6]": ("pyz_GPa", BAR_TO_GPA),
    "v_vol": ("volume_A3", 1.0),
}
_DEFAULT_ORDER = list(_COLUMNS)


def _parse(path: Path, dropped: list | None = None) -> tuple[list[str], np.ndarray]:
    """Return (column names, rows) of a fix ave/time file; malformed rows are dropped (and
    described in ``dropped`` when given): a killed run leaves its last row cut short."""
    names = list(_DEFAULT_ORDER)
    rows: list[list[float]] = []
    blocks: list[np.ndarray] = []  # rows packed into arrays every 4096: no Python floats per row kept
    last_step = "none"
    with open(path) as fh:
        for line in fh:
            stripped = line.strip()
            if not stripped:
                continue
            if stripped.startswith("#"):
                fields = stripped[1:].split()
                # The column header is the comment line starting with "TimeStep".
                if fields and fields[0] == "TimeStep":
                    names = fields
                continue
            fields = stripped.split()
            # A run killed mid-write leaves a last line cut short: without its newline, or
            # with too few columns. Either is dropped.
            ok = len(fields) == len(names) and line.endswith("\n")
            if ok:
                try:
                    rows.append([float(x) for x in fields])
                    last_step = fields[0]
                except ValueError:
                    ok = False
            if not ok and dropped is not None:
                dropped.append(f"the row after step {last_step} is cut short" if not line.endswith("\n")
                               else f"a malformed row after step {last_step} ({stripped[:40]!r})")
            if len(rows) == 4096:
                blocks.append(np.asarray(rows, dtype=float))
                rows = []
    blocks.append(np.asarray(rows, dtype=float).reshape(-1, len(names)))
    return names, np.concatenate(blocks)


def read_thermo(path: str | Path, timestep_fs: float, dropped: list | None = None) -> dict[str, np.ndarray]:
    """Read ``thermo.dat`` into arrays whose keys carry their units.

    Parameters
    ----------
    path : str or Path
        The ``fix ave/time`` output file.
    timestep_fs : float
        MD timestep in fs, used for ``time_ps = step * timestep_fs / 1000``
        (absolute time since step 0).

    Returns
    -------
    dict of str -> numpy.ndarray
        ``step`` (int64), ``time_ps``, ``temperature_K``, ``pe_eV``, ``ke_eV``,
        ``etotal_eV`` (pe + ke), ``pressure_GPa``, ``pxx_GPa`` ... ``pyz_GPa``
        and ``volume_A3``, one entry per unique step sorted by step. Columns
        absent from the file are absent from the dict. Pressures are converted
        from bar with 1 bar = 1e-4 GPa and keep the LAMMPS sign convention
        (positive = compression). Rows that cannot be read are left out and, with
        ``dropped`` (a list), described there.
    """
    names, data = _parse(Path(path), dropped)
    if len(data):
        # Keep the last occurrence of each step (a restart re-writes steps):
        # unique on the reversed array returns first hits = last occurrences.
        steps_rev = data[::-1, 0]
        _, first_rev = np.unique(steps_rev, return_index=True)
        data = data[len(data) - 1 - first_rev]  # np.unique sorts by step
    out: dict[str, np.ndarray] = {}
    for j, name in enumerate(names):
        if name in _COLUMNS:
            key, factor = _COLUMNS[name]
            out[key] = data[:, j] * factor
    out["step"] = out.get("step", np.zeros(0)).astype(np.int64)
    out["time_ps"] = out["step"] * (timestep_fs * 1.0e-3)
    if "pe_eV" in out and "ke_eV" in out:
        out["etotal_eV"] = out["pe_eV"] + out["ke_eV"]
    return out
