"""Mean-squared displacement (MDAnalysis ``EinsteinMSD``) and self-diffusion.

D is obtained from a least-squares line MSD(t) = 2 d D t + b (d = 2 or 3; the
intercept b absorbs the ballistic/vibrational offset) over a fit window that
by default spans 20 % to 80 % of the lag range: short lags are not yet
diffusive, long lags average few time origins and are noisy.
1 A^2/ps = 1e-4 cm^2/s.
"""

from __future__ import annotations

import numpy as np

import MDAnalysis as mda
from MDAnalysis.analysis.msd import EinsteinMSD

A2_PER_PS_TO_CM2_PER_S = 1.0e-4


def _has_tidynamics() -> bool:
    try:
        import tidynamics  # noqa: F401
    except ImportError:
        return False
    return True


def compute_msd(
    u: mda.Universe, frame_dt_ps: float, dimension: int = 3, remove_com: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """MSD(t) of all atoms from unwrapped coordinates.

    Parameters
    ----------
    u : MDAnalysis.Universe
        Trajectory with **unwrapped** positions (``xu yu zu`` dump columns).
        With ``remove_com`` its positions are modified in memory, so pass an
        in-memory Universe.
    frame_dt_ps : float
        Time between frames (ps). Not taken from ``u.trajectory.dt``: for the
        LAMMPS dump reader that is the MD timestep, not the frame spacing.
    dimension : {3, 2}
        3: ``msd_type='xyz'``; 2: ``'xy'`` (in-plane, for slabs).
    remove_com : bool
        Subtract the drift of the (mass-weighted) centre of mass first, so a
        drifting crystal does not look diffusive.

    Returns
    -------
    time_ps : numpy.ndarray, (n_frames,)
    msd_A2 : numpy.ndarray, (n_frames,)
    """
    if remove_com:
        pos = u.trajectory.coordinate_array  # MemoryReader: (n_frames, n_atoms, 3)
        m = u.atoms.masses.astype(float)
        com = np.einsum("j,ijk->ik", m / m.sum(), pos)
        pos -= (com - com[0])[:, None, :].astype(pos.dtype)
    msd_type = "xy" if dimension == 2 else "xyz"
    run = EinsteinMSD(u, select="all", msd_type=msd_type, fft=_has_tidynamics()).run()
    msd = np.asarray(run.results.timeseries, dtype=float)
    return np.arange(len(msd)) * frame_dt_ps, msd


def fit_diffusion(
    time_ps: np.ndarray,
    msd_A2: np.ndarray,
    dimension: int = 3,
    window: tuple[float, float] = (0.2, 0.8),
) -> dict:
    """Self-diffusion coefficient from a linear fit MSD = 2 d D t + b.

    Parameters
    ----------
    time_ps, msd_A2 : numpy.ndarray
    dimension : int
        d in the Einstein relation (3 -> 6 D t, 2 -> 4 D t).
    window : (float, float)
        Fit range as fractions of the largest lag time.

    Returns
    -------
    dict
        ``D_A2_per_ps``, ``D_cm2_per_s``, ``intercept_A2``,
        ``fit_window_ps`` [t_lo, t_hi], ``r2`` (coefficient of determination;
        ~0 or undefined (None) for a flat plateau) and ``n_fit_points``.
    """
    t = np.asarray(time_ps, dtype=float)
    y = np.asarray(msd_A2, dtype=float)
    t_lo, t_hi = window[0] * t[-1], window[1] * t[-1]
    sel = (t >= t_lo) & (t <= t_hi)
    if sel.sum() < 2:
        raise ValueError("fewer than 2 MSD points in the fit window")
    slope, intercept = np.polyfit(t[sel], y[sel], 1)
    resid = y[sel] - (slope * t[sel] + intercept)
    ss_tot = float(np.sum((y[sel] - y[sel].mean()) ** 2))
    r2 = 1.0 - float(np.sum(resid**2)) / ss_tot if ss_tot > 0 else None
    d_a2ps = slope / (2.0 * dimension)
    return {
        "D_A2_per_ps": float(d_a2ps),
        "D_cm2_per_s": float(d_a2ps * A2_PER_PS_TO_CM2_PER_S),
        "intercept_A2": float(intercept),
        "fit_window_ps": [float(t_lo), float(t_hi)],
        "r2": r2,
        "n_fit_points": int(sel.sum()),
    }
