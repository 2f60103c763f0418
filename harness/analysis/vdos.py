"""Velocity autocorrelation function (VACF) and vibrational density of states (VDOS).

Conventions
-----------
* VACF: C(t) = sum_i w_i <v_i(t0) . v_i(t0 + t)>_t0, the average over time
  origins being *unbiased* (divided by the number of origins n - t), computed
  by zero-padded FFT (Wiener-Khinchin). Weights w_i are the atomic masses if
  given (kinetic-energy / mass-weighted VACF), else 1. The normalised VACF is
  C(t) / C(0).
* VDOS: the one-sided VACF C(k dt), k = 0..M-1, is multiplied by the *right
  half of a Hann window*, w_k = (1 + cos(pi k / M)) / 2 (1 at t = 0, -> 0 at the
  longest lag, which suppresses the noisy long-lag tail and the truncation
  ringing), and cosine-transformed (equivalent to the FFT of the even,
  symmetrised sequence):

      S(nu) = dt [C_w(0) + 2 sum_{k>=1} C_w(k) cos(2 pi nu k dt)]

  sampled at nu_j = j / (2 M dt), j = 0..M (frequency spacing 1/(2 M dt)).
  S is normalised to unit area over nu >= 0 (trapezoid rule).
* Units: dt in ps, frequencies in THz (1/ps).
"""

from __future__ import annotations

import numpy as np

from .correlate import LagCorrelator


def group_labels(n_atoms: int, groups: dict[str, np.ndarray]) -> np.ndarray:
    """Group index per atom for disjoint ``groups`` (in their order); other atoms get len(groups)."""
    labels = np.full(n_atoms, len(groups), dtype=int)
    for g, idx in enumerate(groups.values()):
        idx = np.asarray(idx, dtype=int)
        if np.any(labels[idx] != len(groups)):
            raise ValueError("VDOS groups overlap: an atom belongs to two groups")
        labels[idx] = g
    return labels


def _weighted_acf(
    velocities: np.ndarray, masses: np.ndarray | None, max_lag: int | None
) -> np.ndarray:
    """Unnormalised sum_i w_i <v_i(0).v_i(t)>, unbiased over origins, t < max_lag."""
    v = np.asarray(velocities)
    corr = LagCorrelator(max_lag or len(v), np.zeros(v.shape[1], int), masses)
    corr.add(v)
    sums, origins = corr.finish()
    return sums[0] / origins


def vacf(
    velocities: np.ndarray, masses: np.ndarray | None = None, max_lag: int | None = None
) -> np.ndarray:
    """Normalised velocity autocorrelation function C(t)/C(0).

    Parameters
    ----------
    velocities : numpy.ndarray, (n_frames, n_atoms, 3)
        Equally spaced in time; any velocity unit.
    masses : numpy.ndarray, (n_atoms,), optional
        Weights (mass-weighted VACF); ``None`` weights all atoms equally.
    max_lag : int, optional
        Number of lags returned (default all, n_frames).

    Returns
    -------
    numpy.ndarray, (max_lag,)
        C at lags 0, 1, ... frames; C[0] = 1.
    """
    acf = _weighted_acf(velocities, masses, max_lag)
    return acf / acf[0] if acf[0] > 0 else acf


def _spectrum(acf: np.ndarray, dt_ps: float) -> tuple[np.ndarray, np.ndarray]:
    """Hann-windowed cosine transform of a one-sided ACF (not normalised)."""
    m = len(acf)
    window = 0.5 * (1.0 + np.cos(np.pi * np.arange(m) / m))
    cw = acf * window
    nfft = 2 * m
    spec = dt_ps * (2.0 * np.fft.rfft(cw, n=nfft).real - cw[0])
    return np.fft.rfftfreq(nfft, d=dt_ps), spec


def vdos(
    velocities: np.ndarray,
    dt_ps: float,
    masses: np.ndarray | None = None,
    max_lag: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Vibrational density of states from the Hann-windowed VACF.

    Parameters
    ----------
    velocities : numpy.ndarray, (n_frames, n_atoms, 3)
    dt_ps : float
        Time between frames (ps).
    masses : numpy.ndarray, (n_atoms,), optional
        Mass weights; ``None`` = unweighted. (:func:`analyze_md` passes the
        atomic masses, so the harness VDOS is mass-weighted by default.)
    max_lag : int, optional
        VACF length M used (default all frames); resolution 1/(2 M dt).

    Returns
    -------
    frequency_THz : numpy.ndarray, (M + 1,)
    spectrum : numpy.ndarray, (M + 1,)
        In 1/THz, unit area over nu >= 0.
    """
    freq, total, _ = partial_vdos(velocities, dt_ps, {}, masses, max_lag)
    return freq, total


def partial_vdos(
    velocities: np.ndarray,
    dt_ps: float,
    groups: dict[str, np.ndarray],
    masses: np.ndarray | None = None,
    max_lag: int | None = None,
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Total VDOS and partial (per-group) VDOS that add up to the total.

    Each partial is the spectrum of the group's share of the (weighted) VACF
    divided by the *total* area, so sum(partials) == total and each partial's
    area is the group's share of the (mass-weighted) kinetic energy.

    Parameters
    ----------
    velocities : numpy.ndarray, (n_frames, n_atoms, 3)
    dt_ps : float
    groups : dict of str -> index array
        Atom indices of each group (e.g. per element); should partition the atoms.
    masses, max_lag
        As in :func:`vdos`.

    Returns
    -------
    frequency_THz, total, partials
    """
    v = np.asarray(velocities)
    labels = group_labels(v.shape[1], groups)
    corr = LagCorrelator(max_lag or len(v), labels, masses, n_groups=len(groups) + 1)
    corr.add(v)
    return spectra(*corr.finish(), dt_ps, list(groups))


def spectra(
    sums: np.ndarray, origins: np.ndarray, dt_ps: float, names: list[str]
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """VDOS from per-group VACF sums (:meth:`LagCorrelator.finish`): total and partials.

    Rows of ``sums`` beyond ``names`` (atoms in no group) count in the total only.
    """
    acf = sums / origins
    freq, total = _spectrum(acf.sum(axis=0), dt_ps)
    area = np.trapezoid(total, freq)
    scale = 1.0 / area if area > 0 else 0.0
    partials = {name: _spectrum(acf[g], dt_ps)[1] * scale for g, name in enumerate(names)}
    return freq, total * scale, partials
