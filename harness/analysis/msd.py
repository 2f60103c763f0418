"""Mean-squared displacement and self-diffusion.

:class:`MSDAccumulator` streams a trajectory block by block and gives MSD(t) for lags up
to a window L over all time origins, exactly (checked against MDAnalysis ``EinsteinMSD``),
with memory set by L, not by the trajectory length. :func:`compute_msd` runs
``EinsteinMSD`` itself on an in-memory Universe.

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

from ..units import A2_PER_PS_TO_CM2_PER_S
from .correlate import LagCorrelator


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


class MSDAccumulator:
    """Streaming MSD(k) = <|u_i(t0+k) - u_i(t0)|^2>_{i, t0} for lags k < max_lag.

    With u_i(t) = r_i(t) - r_i(0) [- (R(t) - R(0)), R the mass-weighted centre of mass],

        MSD(k) = [sum_{t<n-k} S(t) + sum_{t>=k} S(t) - 2 C(k)] / ((n - k) N),

    S(t) = sum_i |u_i(t)|^2 and C(k) = sum_{t0} sum_i u_i(t0).u_i(t0+k) from a
    :class:`~harness.analysis.correlate.LagCorrelator`. Only the first and last L values of
    S are kept, so memory does not grow with the number of frames.

    Parameters
    ----------
    masses : numpy.ndarray, (n_atoms,)
    dimension : {3, 2}
        2 uses x and y only (in-plane MSD of a slab).
    max_lag : int
        Lag window L in frames.
    remove_com : bool
        Subtract the centre-of-mass drift.
    """

    def __init__(self, masses: np.ndarray, dimension: int = 3, max_lag: int = 4096, remove_com: bool = True):
        m = np.asarray(masses, dtype=float)
        self._m = m / m.sum()
        self._dims = slice(0, 2 if dimension == 2 else 3)
        self.max_lag = int(max_lag)
        self._remove_com = remove_com
        self._corr = LagCorrelator(self.max_lag, np.zeros(len(m), int))
        self._r0 = self._com0 = None
        self._head = np.zeros(0)
        self._tail = np.zeros(0)
        self._total = 0.0

    def add(self, positions_A: np.ndarray) -> None:
        """Append unwrapped positions, shape (m, n_atoms, 3), equally spaced in time."""
        r = np.asarray(positions_A, dtype=np.float64)
        if self._r0 is None:
            self._r0 = r[0].copy()
            self._com0 = self._m @ r[0]
        u = r - self._r0
        if self._remove_com:
            u -= (np.einsum("j,ijk->ik", self._m, r) - self._com0)[:, None, :]
        u = u[:, :, self._dims]
        s = np.einsum("ijk,ijk->i", u, u)
        self._total += float(s.sum())
        if len(self._head) < self.max_lag:
            self._head = np.concatenate([self._head, s[:self.max_lag - len(self._head)]])
        self._tail = np.concatenate([self._tail, s])[-self.max_lag:]
        self._corr.add(u.astype(np.float32))  # buffered until correlated: half the memory

    def finish(self, frame_dt_ps: float) -> tuple[np.ndarray, np.ndarray]:
        """Return (time_ps, msd_A2) for lags 0 .. min(L, n) - 1."""
        sums, origins = self._corr.finish()
        n_lag = len(origins)
        k = np.arange(n_lag)
        head = np.concatenate([[0.0], np.cumsum(self._head[:n_lag])])[:n_lag]  # sum_{t<k} S
        tail = np.concatenate([[0.0], np.cumsum(self._tail[::-1][:n_lag])])[:n_lag]  # sum_{t>=n-k} S
        n_atoms = len(self._m)
        msd = (2.0 * self._total - head - tail - 2.0 * sums[0]) / (origins * n_atoms)
        return k * frame_dt_ps, np.maximum(msd, 0.0)


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
