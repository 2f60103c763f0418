"""Time-series statistics for pressure (and any other scalar observable).

The standard error of the mean (SEM) of a correlated series uses the
*statistical inefficiency* g (Chodera et al., J. Chem. Theory Comput. 3, 26
(2007); the estimator of pymbar ``timeseries.statisticalInefficiency``)::

    g = 1 + 2 * sum_{t=1}^{T} (1 - t/N) C(t),   SEM = std * sqrt(g / N)

where C(t) is the normalised autocorrelation function and the sum stops at the
first lag where C(t) <= 0 (beyond that C is noise). g = 1 for uncorrelated
data; N/g is the number of effectively independent samples.
"""

from __future__ import annotations

import numpy as np


def autocorrelation(x: np.ndarray) -> np.ndarray:
    """Normalised autocorrelation C(t) of a 1-D series, unbiased over time origins.

    Parameters
    ----------
    x : numpy.ndarray, shape (n,)

    Returns
    -------
    numpy.ndarray, shape (n,)
        C(t) with C(0) = 1 (all zeros if ``x`` is constant).
    """
    x = np.asarray(x, dtype=float)
    n = len(x)
    dx = x - x.mean()
    # Zero-pad to 2n so the circular FFT correlation equals the linear one.
    f = np.fft.rfft(dx, 2 * n)
    acov = np.fft.irfft(f * np.conj(f), 2 * n)[:n] / np.arange(n, 0, -1)
    if acov[0] <= 0.0:
        return np.zeros(n)
    return acov / acov[0]


def statistical_inefficiency(x: np.ndarray) -> float:
    """Statistical inefficiency g >= 1 of a series (see module docstring).

    Parameters
    ----------
    x : numpy.ndarray, shape (n,)

    Returns
    -------
    float
        g; 1.0 for fewer than 3 samples or a constant series.
    """
    x = np.asarray(x, dtype=float)
    n = len(x)
    if n < 3:
        return 1.0
    c = autocorrelation(x)
    if c[0] == 0.0:
        return 1.0
    nonpositive = np.nonzero(c[1:] <= 0.0)[0]
    t_stop = nonpositive[0] + 1 if len(nonpositive) else n
    t = np.arange(1, t_stop)
    g = 1.0 + 2.0 * np.sum((1.0 - t / n) * c[1:t_stop])
    return float(max(g, 1.0))


def summarize_series(x: np.ndarray, unit: str, bins: int | str = 50) -> dict:
    """Mean, std, SEM (statistical inefficiency) and area-normalised histogram.

    Parameters
    ----------
    x : numpy.ndarray, shape (n,)
        Samples, in ``unit``.
    unit : str
        Unit suffix used in the keys, e.g. ``"GPa"`` -> ``mean_GPa``.
    bins : int or str
        Passed to :func:`numpy.histogram`.

    Returns
    -------
    dict
        ``mean_<unit>``, ``std_<unit>`` (population std of the samples),
        ``sem_<unit>``, ``statistical_inefficiency``, ``n_samples``,
        ``n_effective`` and ``histogram`` = {``edges_<unit>``,
        ``density_per_<unit>``} whose area sum(density * diff(edges)) is 1.
    """
    x = np.asarray(x, dtype=float)
    n = len(x)
    if n == 0:
        return {"skipped": "no samples"}
    g = statistical_inefficiency(x)
    std = float(x.std())
    sem = std * np.sqrt(g / n)
    density, edges = np.histogram(x, bins=bins, density=True)
    return {
        f"mean_{unit}": float(x.mean()),
        f"std_{unit}": std,
        f"sem_{unit}": float(sem),
        "statistical_inefficiency": g,
        "n_samples": int(n),
        "n_effective": float(n / g),
        "histogram": {
            f"edges_{unit}": edges.tolist(),
            f"density_per_{unit}": density.tolist(),
        },
    }


def in_plane_pressure(pxx: np.ndarray, pyy: np.ndarray) -> np.ndarray:
    """2-D (in-plane) pressure (pxx + pyy) / 2.

    LAMMPS pressure-tensor components are already positive for compression
    (p_ab = -sigma_ab), so this equals -(sigma_xx + sigma_yy) / 2.

    Parameters
    ----------
    pxx, pyy : numpy.ndarray
        Diagonal pressure components, any (same) unit.

    Returns
    -------
    numpy.ndarray
    """
    return 0.5 * (np.asarray(pxx, dtype=float) + np.asarray(pyy, dtype=float))


def pressure_summary(
    thermo: dict[str, np.ndarray], dimension: int = 3, bins: int | str = 50
) -> dict:
    """Summary of the pressure series of a thermo dict from :func:`read_thermo`.

    Parameters
    ----------
    thermo : dict
        Needs ``pressure_GPa`` (3-D) or ``pxx_GPa`` and ``pyy_GPa`` (2-D).
    dimension : {3, 2}
        3: hydrostatic P = (pxx+pyy+pzz)/3 as computed by LAMMPS;
        2: in-plane (pxx+pyy)/2, for slabs/2-D materials.
    bins : int or str
        Histogram bins.

    Returns
    -------
    dict
        :func:`summarize_series` output in GPa plus ``definition``.
    """
    if dimension == 2:
        p = in_plane_pressure(thermo["pxx_GPa"], thermo["pyy_GPa"])
        definition = "(pxx+pyy)/2"
    else:
        p = thermo["pressure_GPa"]
        definition = "(pxx+pyy+pzz)/3"
    out = summarize_series(p, "GPa", bins=bins)
    out["definition"] = definition
    return out
