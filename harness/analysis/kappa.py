"""Thermal conductivity by Green–Kubo from the heat flux an MD run wrote.

LAMMPS' ``compute heat/flux`` (per-atom kinetic and potential energies, per-atom virial from
``compute centroid/stress/atom``) gives J·V, the heat flux times the volume, in eV·Å/ps
(``units metal``). With J·V sampled every Δt,

    κ(t) = 1 / (3 V k_B T²) ∫_0^t ⟨J·V(0) · J·V(t')⟩ dt'           (isotropic average)

and κ is κ(t) on its plateau. The heat-flux autocorrelation (HFACF) is computed here over
every time origin (zero-padded FFT), the running integral by the trapezoid rule, and κ taken at
the end of a stated window: by default the first time the HFACF, averaged over x, y, z, crosses
zero (after which the integral only accumulates noise); or a window the user gives. The spread
comes from independent segments of the run (each correlated on its own), reported as the mean
± the standard error over segments; over seeds a campaign reports mean ± spread.

Units: 1 eV/(Å·ps·K) = 1602.176634 W/(m·K).
"""

from __future__ import annotations

import numpy as np
from scipy.fft import irfft, next_fast_len, rfft

KB_EV_K = 8.617333262e-5  # Boltzmann constant, eV/K
EV_PER_A_PS_K_TO_W_PER_M_K = 1.602176634e-19 / (1e-10 * 1e-12)  # 1602.176634


def autocorrelation(x: np.ndarray, max_lag: int) -> np.ndarray:
    """⟨x(t0)·x(t0+k)⟩ over all origins t0, per column, for k < ``max_lag`` (x: (n, d))."""
    x = np.asarray(x, dtype=float)
    n = len(x)
    nfft = next_fast_len(2 * n, real=True)
    f = rfft(x, n=nfft, axis=0)
    c = irfft(f * np.conj(f), n=nfft, axis=0)[:max_lag]
    return c / (n - np.arange(max_lag))[:, None]


def running_integral(y: np.ndarray, dt: float) -> np.ndarray:
    """∫_0^t y dt' at every sample (trapezoid rule), first value 0."""
    y = np.asarray(y, dtype=float)
    out = np.zeros_like(y)
    out[1:] = np.cumsum(0.5 * (y[1:] + y[:-1]), axis=0) * dt
    return out


def first_zero(y: np.ndarray) -> int | None:
    """Index of the first sample where ``y`` is ≤ 0 (None: it never is)."""
    below = np.flatnonzero(np.asarray(y) <= 0)
    return int(below[0]) if len(below) else None


def green_kubo(flux: np.ndarray, dt_ps: float, volume_A3: float, temperature_K: float, *,
               window_ps: float | None = None, max_lag_ps: float | None = None, segments: int = 1) -> dict:
    """κ of a heat-flux series (see the module docstring).

    Parameters
    ----------
    flux : numpy.ndarray, (n, 3)
        J·V samples (eV·Å/ps), every ``dt_ps``.
    dt_ps : float
    volume_A3, temperature_K : float
        Mean volume and temperature of the sampled part of the run.
    window_ps : float, optional
        Integrate to this time; default: the first zero of the xyz-averaged HFACF.
    max_lag_ps : float, optional
        Longest correlation time computed (default: a fifth of a segment).
    segments : int
        Independent segments the series is split into for the spread (1: none).

    Returns
    -------
    dict
        ``kappa_W_mK`` (whole series), ``kappa_xyz_W_mK``, ``window_ps`` and how it was chosen,
        ``time_ps``, ``hfacf_normalized`` (xyz average / its value at 0), ``running_W_mK`` (running
        integral, xyz average), and with ``segments`` > 1 ``segments_W_mK``, ``kappa_mean_W_mK``,
        ``kappa_sem_W_mK``.
    """
    flux = np.asarray(flux, dtype=float)
    if flux.ndim != 2 or flux.shape[1] != 3:
        raise ValueError(f"heat flux must be (n, 3), got {flux.shape}")
    segments = max(1, int(segments))
    n_seg = len(flux) // segments
    if n_seg < 8:
        raise ValueError(f"{len(flux)} heat-flux samples in {segments} segment(s): too few to correlate")
    max_lag = max(2, min(n_seg, int(round(max_lag_ps / dt_ps)) + 1 if max_lag_ps else n_seg // 5 + 1))
    prefactor = EV_PER_A_PS_K_TO_W_PER_M_K / (volume_A3 * KB_EV_K * temperature_K ** 2)

    def kappa_of(series: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        acf = autocorrelation(series - 0.0, max_lag)  # J has zero mean by symmetry: no mean removed
        return acf, running_integral(acf, dt_ps) * prefactor  # (lags, 3): κ_xx(t), κ_yy(t), κ_zz(t)

    acf, running = kappa_of(flux)
    mean_acf = acf.mean(axis=1)
    time_ps = np.arange(max_lag) * dt_ps
    if window_ps is not None:
        k = min(max_lag - 1, int(round(window_ps / dt_ps)))
        how = "given"
    else:
        zero = first_zero(mean_acf)
        k = (zero if zero is not None else max_lag - 1)
        how = "first zero of the HFACF" if zero is not None else "no zero crossing: the longest lag computed"
    out = {
        "kappa_W_mK": float(running[k].mean()),
        "kappa_xyz_W_mK": running[k].tolist(),
        "window_ps": float(time_ps[k]),
        "window": how,
        "time_ps": time_ps,
        "hfacf_normalized": mean_acf / mean_acf[0] if mean_acf[0] else mean_acf,
        "running_W_mK": running.mean(axis=1),
        "n_samples": int(len(flux)),
        "sample_dt_ps": float(dt_ps),
        "volume_A3": float(volume_A3),
        "temperature_K": float(temperature_K),
        "units": {"kappa": "W/(m K)", "flux": "eV A/ps (J times V, LAMMPS compute heat/flux)"},
    }
    if segments > 1:
        values = [kappa_of(flux[s * n_seg:(s + 1) * n_seg])[1][k].mean() for s in range(segments)]
        out.update(segments=segments, segments_W_mK=values, kappa_mean_W_mK=float(np.mean(values)),
                   kappa_sem_W_mK=float(np.std(values, ddof=1) / np.sqrt(segments)))
    return out
