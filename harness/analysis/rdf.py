"""Radial distribution functions g(r) with MDAnalysis ``InterRDF``.

Normalisation (MDAnalysis ``norm="rdf"``): for a same-species pair the self
distances are excluded (``exclusion_block=(1, 1)``) and the pair count is
normalised by N(N-1)/V, so an ideal gas gives g = 1 and the running
coordination number is n(r) = (N-1)/V * int_0^r 4 pi r'^2 g(r') dr'.
For an A-B pair the normalisation is N_A N_B / V.
"""

from __future__ import annotations

from itertools import combinations_with_replacement

import MDAnalysis as mda
import numpy as np
from MDAnalysis.analysis.rdf import InterRDF
from MDAnalysis.lib.mdamath import triclinic_vectors

DEFAULT_BINS = 500  # as in the Dyna-Mat benchmark
PEAK_SMOOTHING_A = 0.1  # running mean before the first peak is located (not applied to g(r) itself)


def default_r_max(dimensions: np.ndarray) -> float:
    """Half the shortest perpendicular cell width (the minimum-image limit).

    Parameters
    ----------
    dimensions : numpy.ndarray, (6,) or (n_frames, 6)
        ``[a, b, c, alpha, beta, gamma]`` in A and degrees. With several
        frames (NPT) the smallest width over all frames is used.

    Returns
    -------
    float
        r_max in A. For an orthorhombic cell this is min(a, b, c) / 2.
    """
    dims = np.atleast_2d(np.asarray(dimensions, dtype=float))
    widths = []
    for d in dims:
        a, b, c = triclinic_vectors(d)
        vol = abs(np.dot(a, np.cross(b, c)))
        widths += [vol / np.linalg.norm(np.cross(b, c)),
                   vol / np.linalg.norm(np.cross(c, a)),
                   vol / np.linalg.norm(np.cross(a, b))]
    return 0.5 * float(min(widths))


def _interrdf(g1, g2, same: bool, nbins: int, r_max: float, step: int) -> InterRDF:
    rdf = InterRDF(
        g1, g2, nbins=nbins, range=(0.0, r_max),
        exclusion_block=(1, 1) if same else None,
    )
    return rdf.run(step=step)


def first_peak_position(r: np.ndarray, g: np.ndarray) -> float | None:
    """Position of the first peak of g(r): the maximum of the first region where g reaches half
    its largest value (and more than 1).

    A bin of noise just above 1 before the first shell (few samples at short range) is not a
    peak: the threshold is set by the highest peak, which is the first shell's in a liquid or a
    solid and well above 1; and the region is found on a running mean of g over
    :data:`PEAK_SMOOTHING_A` (fine bins on few samples make single-bin spikes), the peak being
    the highest bin of g in it.

    Parameters
    ----------
    r, g : numpy.ndarray
        Bin centres (A) and g(r).

    Returns
    -------
    float or None
        Peak position in A, None if g never exceeds 1.
    """
    g = np.asarray(g, dtype=float)
    if len(g) == 0 or not np.nanmax(g) > 1.0:
        return None
    r = np.asarray(r, dtype=float)
    smooth = g
    if len(r) > 2:  # fine bins on few samples are noisy: the region is found on a running mean
        width = 2 * int(round(PEAK_SMOOTHING_A / (r[1] - r[0]) / 2)) + 1  # odd: centred
        smooth = np.convolve(g, np.ones(width) / width, mode="same")
    threshold = max(1.0, 0.5 * float(np.nanmax(smooth)))
    if not np.any(smooth >= threshold):
        return None
    i0 = int(np.flatnonzero(smooth >= threshold)[0])
    below = np.flatnonzero(smooth[i0:] < threshold)
    i1 = i0 + int(below[0]) if len(below) else len(g)
    return float(r[i0 + np.argmax(g[i0:i1])])  # the highest bin of g itself in that region


def running_coordination(
    r_edges_A: np.ndarray, g: np.ndarray, density_per_A3: float
) -> np.ndarray:
    """Running coordination number n(r) = rho * int_0^r 4 pi r'^2 g(r') dr'.

    Parameters
    ----------
    r_edges_A : numpy.ndarray, (n_bins + 1,)
    g : numpy.ndarray, (n_bins,)
    density_per_A3 : float
        Number density of the partner atoms, (N-1)/V for a same-species RDF.

    Returns
    -------
    numpy.ndarray, (n_bins,)
        n at the upper edge of each bin (exact shell volumes, no quadrature error).
    """
    shell = 4.0 / 3.0 * np.pi * np.diff(np.asarray(r_edges_A, dtype=float) ** 3)
    return density_per_A3 * np.cumsum(shell * g)


def compute_rdf(
    u: mda.Universe,
    nbins: int = DEFAULT_BINS,
    r_max_A: float | None = None,
    max_frames: int | None = None,
) -> dict:
    """Total and per-element-pair g(r) over the trajectory of ``u``.

    Parameters
    ----------
    u : MDAnalysis.Universe
        Needs the ``elements`` topology attribute and box dimensions.
    nbins : int
        Number of bins on [0, r_max].
    r_max_A : float, optional
        Default: :func:`default_r_max` of the current frame's box.
    max_frames : int, optional
        Use at most this many frames, evenly strided (RDFs converge quickly).

    Returns
    -------
    dict
        ``r_A`` (bin centres), ``edges_A``, ``total``, ``pairs``
        {"A-B": g} over unordered element pairs in order of first appearance,
        ``r_max_A``, ``n_bins``, ``first_peak_A``, ``n_frames_used``,
        ``density_per_A3`` (N/V averaged over the frames used).
    """
    if r_max_A is None:
        r_max_A = default_r_max(u.trajectory.ts.dimensions)
    n_frames = u.trajectory.n_frames
    step = 1 if not max_frames else max(1, -(-n_frames // max_frames))
    everything = u.atoms
    total = _interrdf(everything, everything, True, nbins, r_max_A, step)
    species = list(dict.fromkeys(everything.elements))
    pairs = {}
    for a, b in combinations_with_replacement(species, 2):
        ga = everything[everything.elements == a]
        gb = everything[everything.elements == b]
        # Single-atom self pair has no partners; N(N-1) = 0 would divide by zero.
        if a == b and len(ga) < 2:
            continue
        if len(species) == 1:  # the only pair is the total: same atoms, same exclusion
            pairs[f"{a}-{b}"] = total.results.rdf
            continue
        pairs[f"{a}-{b}"] = _interrdf(ga, gb, a == b, nbins, r_max_A, step).results.rdf
    r = total.results.bins
    g = total.results.rdf
    mean_volume = total.results.volume_cum / total.n_frames
    return {
        "r_A": r,
        "edges_A": total.results.edges,
        "total": g,
        "pairs": pairs,
        "r_max_A": float(r_max_A),
        "n_bins": int(nbins),
        "first_peak_A": first_peak_position(r, g),
        "n_frames_used": int(total.n_frames),
        "density_per_A3": float(everything.n_atoms / mean_volume),
    }
