"""Dyna-Mat observable and single-point errors (Gawkowski et al. 2026), pure numpy.

Every error is 0 for a perfect model. Percent errors carry ``_percent`` in their names,
distances their unit (``W1_VDOS_THz``, ``W1_P_GPa``).

* ``E_RDF = min(1, ∫|g_REF − g_MLIP| dr / ∫|g_REF − 1| dr) × 100 %`` (100 % when the
  denominator is 0: an ideal-gas reference carries no structure to reproduce).
* ``E_P = Σ_k |h_REF − h_MLIP| Δ_k / (Σ h_REF Δ_k + Σ h_MLIP Δ_k) × 100 %`` on shared bin
  edges with area-normalised histograms; ``ΔP = |⟨P_REF⟩ − ⟨P_MLIP⟩|`` (GPa).
* ``E_VDOS`` (:func:`harness.analysis.metrics.spectrum_error`): unit-area spectra over the
  common frequency range.
* ``E_RPV = (E_RDF + E_P + E_VDOS)/3``; ``L_RPV = (E_RDF² + E_P² + E_VDOS²)/(E_RDF + E_P + E_VDOS)``.
* Wasserstein-1 variants (matbench-discovery): the L1 overlap saturates at 100 % once two
  peaks no longer overlap, however far apart they are; W1 (the earth-mover distance, in the
  unit of the axis) keeps growing with the shift. Reported next to, not instead of, the
  Dyna-Mat numbers.
* Single points: ``sqrt((1/(M N²)) Σ_i (U_i^MLIP − U_i^REF)²)`` per atom and
  ``sqrt((1/(M N)) Σ_i ||F_i^MLIP − F_i^REF||²)``.
"""

from __future__ import annotations

import numpy as np

from ..units import KB_EV, MVV2E
from .metrics import normalise, spectrum_error, spectrum_wasserstein  # noqa: F401  (re-exported)


# ----------------------------------------------------------------------------- observables
def rdf_error(r_ref: np.ndarray, g_ref: np.ndarray, r_mod: np.ndarray, g_mod: np.ndarray) -> float:
    """E_RDF in percent; g_MLIP is interpolated onto the reference bins if they differ."""
    r_ref, g_ref = np.asarray(r_ref, float), np.asarray(g_ref, float)
    r_mod, g_mod = np.asarray(r_mod, float), np.asarray(g_mod, float)
    if len(r_ref) != len(r_mod) or not np.allclose(r_ref, r_mod, rtol=0, atol=1e-9):
        g_mod = np.interp(r_ref, r_mod, g_mod, right=1.0)
    den = np.trapezoid(np.abs(g_ref - 1.0), r_ref)
    if not den > 0:
        return 100.0
    return float(100.0 * min(1.0, np.trapezoid(np.abs(g_ref - g_mod), r_ref) / den))


def pressure_from_stress(stress_voigt: np.ndarray, dimension: int = 3) -> np.ndarray:
    """P from stress (any unit, ASE sign: positive under tension, Voigt xx yy zz yz xz xy).

    3-D: ``−(σxx+σyy+σzz)/3``; 2-D (slabs, layers): ``−(σxx+σyy)/2``.
    """
    s = np.atleast_2d(np.asarray(stress_voigt, dtype=float))
    if dimension == 2:
        return -(s[:, 0] + s[:, 1]) / 2.0
    return -(s[:, 0] + s[:, 1] + s[:, 2]) / 3.0


def shared_edges(a: np.ndarray, b: np.ndarray, bins: int = 50) -> np.ndarray:
    """Bin edges spanning both samples (the E_P histograms must share them)."""
    both = np.concatenate([np.asarray(a, float), np.asarray(b, float)])
    lo, hi = float(both.min()), float(both.max())
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    return np.linspace(lo, hi, bins + 1)


def histogram_error(a: np.ndarray, b: np.ndarray, edges: np.ndarray | None = None, bins: int = 50) -> float:
    """E_P in percent from two samples, area-normalised histograms on shared edges."""
    edges = shared_edges(a, b, bins) if edges is None else np.asarray(edges, float)
    ha, _ = np.histogram(a, bins=edges, density=True)
    hb, _ = np.histogram(b, bins=edges, density=True)
    w = np.diff(edges)
    den = np.sum(ha * w) + np.sum(hb * w)
    return float(100.0 * np.sum(np.abs(ha - hb) * w) / den) if den > 0 else 0.0


def mean_difference(a: np.ndarray, b: np.ndarray) -> float:
    """|mean a − mean b| (ΔP when a, b are pressures in GPa)."""
    return float(abs(np.mean(a) - np.mean(b)))


def sample_wasserstein(a: np.ndarray, b: np.ndarray) -> float:
    """W1 distance between two samples (e.g. pressures, GPa), in their unit."""
    from scipy.stats import wasserstein_distance

    return float(wasserstein_distance(np.asarray(a, float), np.asarray(b, float)))


def combined(e_rdf: float, e_p: float, e_vdos: float) -> dict:
    """E_RPV (mean) and L_RPV (Lehmer mean, weights the worst observable) in percent."""
    e = np.array([e_rdf, e_p, e_vdos], dtype=float)
    s = e.sum()
    return {"E_RPV_percent": float(s / 3.0), "L_RPV_percent": float((e**2).sum() / s) if s > 0 else 0.0}


# ----------------------------------------------------------------------------- single points
def energy_rmse_per_atom(u_mod: np.ndarray, u_ref: np.ndarray, n_atoms: np.ndarray,
                         remove_mean_offset: bool = False) -> float:
    """sqrt((1/M) Σ_i ((U_i^MLIP − U_i^REF)/N_i)²) in eV/atom (the Dyna-Mat formula for equal N).

    ``remove_mean_offset``: subtract the mean per-atom difference first (zeros of energy differ).
    """
    d = (np.asarray(u_mod, float) - np.asarray(u_ref, float)) / np.asarray(n_atoms, float)
    if remove_mean_offset:
        d = d - d.mean()
    return float(np.sqrt(np.mean(d**2)))


def force_rmse(sum_sq_force_error: float, n_atoms_total: int) -> float:
    """sqrt((1/(M N)) Σ ||ΔF||²) from the running sum of squared force errors (eV/Å)."""
    return float(np.sqrt(sum_sq_force_error / n_atoms_total)) if n_atoms_total else float("nan")


# ----------------------------------------------------------------------------- time series
def match_intervals(dt_ref: float, n_ref: int, dt_mod: float, n_mod: int, rtol: float = 1e-6) -> dict:
    """Common frame interval and number of frames of two equally spaced series.

    The finer series is subsampled when the coarser interval is an integer multiple of it;
    both are then truncated to the shorter duration. Raises ``ValueError`` (one line) when
    the intervals are not integer multiples.

    Returns
    -------
    dict
        ``dt`` (common interval), ``stride_ref``, ``stride_mod`` (take every k-th frame),
        ``n`` (frames used on each side).
    """
    hi, lo = max(dt_ref, dt_mod), min(dt_ref, dt_mod)
    k = hi / lo
    if abs(k - round(k)) > rtol * k:
        raise ValueError(f"frame intervals {dt_ref:g} ps (reference) and {dt_mod:g} ps (model) are not integer "
                         f"multiples of each other; resample one of them")
    k = int(round(k))
    s_ref = k if dt_ref < dt_mod and k > 1 else 1
    s_mod = k if dt_mod < dt_ref and k > 1 else 1
    n = min(-(-n_ref // s_ref), -(-n_mod // s_mod))
    return {"dt": hi, "stride_ref": s_ref, "stride_mod": s_mod, "n": int(n)}


def finite_difference_velocities(positions: np.ndarray, dt: float) -> np.ndarray:
    """Velocities from *unwrapped* positions: central differences, one-sided at both ends."""
    x = np.asarray(positions, dtype=float)
    if len(x) < 2:
        raise ValueError("finite-difference velocities need at least 2 frames")
    return np.gradient(x, dt, axis=0)


def frame_blocks(per_atom: np.ndarray, frames: int = 1024):
    """``per_atom`` (n_frames, n_atoms, ...) in float64 copies of at most ``frames`` frames: a
    reduction over a float32 trajectory without a float64 copy of all of it."""
    for a in range(0, max(len(per_atom), 1), frames):
        yield np.asarray(per_atom[a:a + frames], dtype=float)


def kinetic_temperature(velocities_A_ps: np.ndarray, masses_amu: np.ndarray) -> np.ndarray:
    """Instantaneous T (K) per frame, 3N − 3 degrees of freedom (as LAMMPS' ``temp``)."""
    m = np.asarray(masses_amu, float)
    ke = np.concatenate([0.5 * MVV2E * np.einsum("i,fia,fia->f", m, v, v)  # float64 a block at a time
                         for v in frame_blocks(velocities_A_ps)])
    dof = max(3 * np.shape(velocities_A_ps)[1] - 3, 1)
    return 2.0 * ke / (dof * KB_EV)


def equipartition_check(t_measured_K: float, t_expected_K: float, tol: float = 0.3,
                        finite_differences: bool = True) -> str | None:
    """None if T from velocities is within ``tol`` of the expected T, else a one-line reason.

    T scales as 1/Δt² for finite-differenced velocities, so the message names the frame
    interval that would give the expected T.
    """
    if not (t_expected_K and t_expected_K > 0):
        return None
    ratio = t_measured_K / t_expected_K
    if abs(ratio - 1.0) <= tol:
        return None
    head = (f"T from the {'finite-differenced ' if finite_differences else ''}velocities is {t_measured_K:.0f} K but "
            f"the reference is at {t_expected_K:g} K ({100 * (ratio - 1):+.0f} %)")
    if finite_differences:
        return (f"{head}: a wrong frame interval (Δt × {np.sqrt(ratio):.3g} would agree); check --timestep-fs "
                f"and --stride")
    return f"{head}: velocities in another unit than Å/ps, or a reference at another temperature"
