"""Mean-squared displacement and self-diffusion.

:class:`MSDAccumulator` streams a trajectory block by block and gives MSD(t) for lags up
to a window L over all time origins, exactly (checked against MDAnalysis ``EinsteinMSD``),
with memory set by L, not by the trajectory length. :func:`compute_msd` runs
``EinsteinMSD`` itself on an in-memory Universe.

D is obtained from a least-squares line MSD(t) = 2 d D t + b (d = 2 or 3; the
intercept b absorbs the ballistic/vibrational offset) over the diffusive regime only:
past the ballistic rise and the vibrational plateau (from 20 % of the lag range, and at
least twice the time at which the MSD stops growing as t²) to 80 % of it (long lags
average few time origins). A crystal's MSD plateaus there and a short run may not reach
a linear regime: :func:`fit_diffusion` then gives no D but a verdict, ``not diffusive``
or ``run too short for D``, with the reason. 1 A^2/ps = 1e-4 cm^2/s.
"""

from __future__ import annotations

import MDAnalysis as mda
import numpy as np
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


# The diffusive regime, and when there is none. Thresholds are on dimensionless ratios, so
# they do not depend on the material: a crystal's MSD is flat past its vibrational plateau,
# a liquid's grows linearly from about a picosecond on.
DIFFUSIVE = "diffusive"
NOT_DIFFUSIVE = "not diffusive"
TOO_SHORT = "run too short for D"
MIN_FIT_POINTS = 5  # lags inside the fit window
MIN_RISE = 0.5  # the MSD must grow by half its level over the window, else it plateaus
MAX_SLOPE_MISMATCH = 0.3  # |slope(first half) - slope(second half)| / slope: not yet linear beyond this


def _line(t: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """Least-squares slope, intercept and the slope's standard error."""
    (slope, intercept), cov = np.polyfit(t, y, 1, cov=True) if len(t) > 3 else (np.polyfit(t, y, 1), None)
    err = float(np.sqrt(cov[0, 0])) if cov is not None and np.isfinite(cov[0, 0]) else 0.0
    return float(slope), float(intercept), err


def ballistic_end(time_ps: np.ndarray, msd_A2: np.ndarray) -> float | None:
    """The first lag (ps) at which the MSD grows slower than t (local exponent d ln MSD / d ln t
    below 1): the end of the ballistic rise. ``None`` when it is still ballistic at the last lag."""
    t, y = np.asarray(time_ps, dtype=float), np.asarray(msd_A2, dtype=float)
    ok = (t > 0) & (y > 0)
    if ok.sum() < 3:
        return None
    beta = np.gradient(np.log(y[ok]), np.log(t[ok]))
    below = np.flatnonzero(beta < 1.0)
    return float(t[ok][below[0]]) if len(below) else None


def fit_diffusion(
    time_ps: np.ndarray,
    msd_A2: np.ndarray,
    dimension: int = 3,
    window: tuple[float, float] = (0.2, 0.8),
) -> dict:
    """Self-diffusion coefficient from a linear fit MSD = 2 d D t + b on the diffusive regime.

    The fit window runs from ``max(window[0] · t_max, 2 · t_ballistic)`` to ``window[1] · t_max``
    (t_ballistic: :func:`ballistic_end`). Its uncertainty is the larger of the least-squares
    standard error and half the difference between the slopes fitted on the window's two
    halves (MSD points are correlated, so the least-squares error alone is too small).

    Verdicts (``D_verdict``) and when D is given:

    - ``diffusive``: the MSD grows linearly in the window; D and its uncertainty are given.
    - ``not diffusive``: the MSD plateaus (it rises by less than half its level over the window,
      or its slope is not above twice its uncertainty), as a crystal's does; D is ``None`` and
      ``D_upper_bound_cm2_per_s`` (slope + 2 uncertainties) bounds it.
    - ``run too short for D``: too few lags past the ballistic rise, still ballistic, or not yet
      linear (the two halves' slopes differ by more than 30 % of the slope); D is ``None``.

    Parameters
    ----------
    time_ps, msd_A2 : numpy.ndarray
    dimension : int
        d in the Einstein relation (3 -> 6 D t, 2 -> 4 D t).
    window : (float, float)
        Bounds of the fit range as fractions of the largest lag time.

    Returns
    -------
    dict
        ``D_A2_per_ps``, ``D_cm2_per_s`` (``None`` unless diffusive), ``D_uncertainty_A2_per_ps``,
        ``D_uncertainty_cm2_per_s``, ``D_verdict``, ``D_reason`` (one line), ``diffusive``,
        ``D_upper_bound_cm2_per_s`` (not diffusive), ``intercept_A2``, ``fit_window_ps``
        [t_lo, t_hi], ``ballistic_end_ps``, ``msd_rise`` (growth over the window / level at its
        start), ``slope_halves_A2_per_ps``, ``r2`` and ``n_fit_points``.
    """
    t = np.asarray(time_ps, dtype=float)
    y = np.asarray(msd_A2, dtype=float)
    to_d = 1.0 / (2.0 * dimension)
    out = {"D_A2_per_ps": None, "D_cm2_per_s": None, "D_uncertainty_A2_per_ps": None,
           "D_uncertainty_cm2_per_s": None, "diffusive": False, "intercept_A2": None, "r2": None,
           "ballistic_end_ps": None, "msd_rise": None, "slope_halves_A2_per_ps": None}

    def verdict(v: str, why: str) -> dict:
        out.update(D_verdict=v, D_reason=why, diffusive=v == DIFFUSIVE)
        return out

    if len(t) < 2 or t[-1] <= 0:
        out.update(fit_window_ps=[0.0, 0.0], n_fit_points=0)
        return verdict(TOO_SHORT, f"only {len(t)} MSD lag(s)")
    t_end = ballistic_end(t, y)
    out["ballistic_end_ps"] = t_end
    t_lo, t_hi = window[0] * t[-1], window[1] * t[-1]
    if t_end is not None:
        t_lo = max(t_lo, 2.0 * t_end)
    sel = (t >= t_lo) & (t <= t_hi)
    out.update(fit_window_ps=[float(t_lo), float(t_hi)], n_fit_points=int(sel.sum()))
    if t_end is None or 2.0 * t_end >= t_hi:
        return verdict(TOO_SHORT, f"the MSD is still ballistic (~t²) up to {t[-1]:.3g} ps"
                       if t_end is None else
                       f"the ballistic rise ends at {t_end:.3g} ps, too late for a fit window before {t_hi:.3g} ps")
    if sel.sum() < MIN_FIT_POINTS:
        return verdict(TOO_SHORT, f"{sel.sum()} MSD lags past the ballistic rise (need {MIN_FIT_POINTS})")
    ts, ys = t[sel], y[sel]
    slope, intercept, stderr = _line(ts, ys)
    mid = 0.5 * (ts[0] + ts[-1])
    first, second = ts <= mid, ts >= mid
    halves = [_line(ts[h], ys[h])[0] if h.sum() >= 2 else slope for h in (first, second)]
    err = max(stderr, 0.5 * abs(halves[0] - halves[1]))
    resid = ys - (slope * ts + intercept)
    ss_tot = float(np.sum((ys - ys.mean()) ** 2))
    level = max(float(slope * ts[0] + intercept), float(ys[0]), 1e-12)
    rise = slope * (ts[-1] - ts[0]) / level
    out.update(intercept_A2=intercept, r2=1.0 - float(np.sum(resid**2)) / ss_tot if ss_tot > 0 else None,
               msd_rise=float(rise), slope_halves_A2_per_ps=[float(h) for h in halves],
               D_uncertainty_A2_per_ps=err * to_d, D_uncertainty_cm2_per_s=err * to_d * A2_PER_PS_TO_CM2_PER_S)
    window_text = f"{ts[0]:.3g}–{ts[-1]:.3g} ps"
    if slope <= 2 * err or rise < MIN_RISE:
        out["D_upper_bound_cm2_per_s"] = (max(slope, 0.0) + 2 * err) * to_d * A2_PER_PS_TO_CM2_PER_S
        return verdict(NOT_DIFFUSIVE, f"the MSD plateaus at {level:.3g} Å² (it changes by "
                                      f"{round(100 * rise):+d} % over {window_text})")
    if abs(halves[0] - halves[1]) > MAX_SLOPE_MISMATCH * slope:
        return verdict(TOO_SHORT, f"the MSD is not yet linear over {window_text} (the slopes of its halves "
                                  f"differ by {100 * abs(halves[0] - halves[1]) / slope:.0f} %)")
    out.update(D_A2_per_ps=slope * to_d, D_cm2_per_s=slope * to_d * A2_PER_PS_TO_CM2_PER_S)
    return verdict(DIFFUSIVE, f"linear MSD over {window_text}")
