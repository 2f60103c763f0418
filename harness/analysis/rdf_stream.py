"""g(r) streamed frame by frame, with memory bounded whatever the number of atoms.

Each frame's pairs within ``r_max`` are found for a chunk of atoms at a time (scipy's periodic
k-d tree in an orthorhombic cell, MDAnalysis' cell-list ``capped_distance`` in a triclinic one),
histogrammed by element pair, and dropped: memory is set by the pairs of one chunk
(:data:`PAIR_BUDGET`), not by atoms × frames.
(MDAnalysis' ``InterRDF`` holds every pair of a frame at once and, up to half the box, a
32,000-atom cell has ~16,000 neighbours per atom: it was killed at 23 GB.)

Normalisation as ``InterRDF``'s ``norm="rdf"``: for a same-element pair the self distances are
excluded and the count divided by N(N-1)/V̄, for A-B by N_A N_B / V̄ (V̄ the mean volume), so an
ideal gas gives 1; each unordered pair is found once and counted twice for a same-element pair.
"""

from __future__ import annotations

import numpy as np
from MDAnalysis.lib.distances import capped_distance
from MDAnalysis.lib.mdamath import triclinic_vectors
from scipy.spatial import cKDTree

from .rdf import first_peak_position

PAIR_BUDGET = 4_000_000  # pairs held at once (~100 MB with their indices and distances)


def cell_volume(dimensions: np.ndarray) -> float:
    a, b, c = triclinic_vectors(np.asarray(dimensions, dtype=float))
    return float(abs(np.dot(a, np.cross(b, c))))


class RDFAccumulator:
    """Total and per-element-pair g(r) on [0, ``r_max_A``] in ``n_bins`` bins.

    Parameters
    ----------
    symbols : list of str
        Element of each atom.
    r_max_A : float
        At most half the narrowest cell width (minimum image).
    n_bins : int
    """

    def __init__(self, symbols: list[str], r_max_A: float, n_bins: int):
        self.symbols = list(symbols)
        self.names = list(dict.fromkeys(self.symbols))
        self.types = np.array([self.names.index(s) for s in self.symbols])
        self.n_types = len(self.names)
        self.r_max_A, self.n_bins = float(r_max_A), int(n_bins)
        self.dr = self.r_max_A / self.n_bins
        # unordered type pair (a <= b) -> row of the histogram
        self._pair = np.full((self.n_types, self.n_types), -1)
        self.pairs = []
        for a in range(self.n_types):
            for b in range(a, self.n_types):
                self._pair[a, b] = self._pair[b, a] = len(self.pairs)
                self.pairs.append((a, b))
        self.counts = np.zeros((len(self.pairs), self.n_bins))
        self.volume_sum = 0.0
        self.n_frames = 0

    def add(self, positions_A: np.ndarray, dimensions: np.ndarray) -> None:
        """One frame: positions (N, 3) in Å, the cell as [a, b, c, α, β, γ]."""
        box = np.asarray(dimensions, dtype=float)
        n = len(positions_A)
        volume = cell_volume(box)
        neighbours = n / volume * 4.0 / 3.0 * np.pi * self.r_max_A ** 3 + 1.0
        chunk = max(1, int(PAIR_BUDGET / neighbours))
        orthorhombic = np.allclose(box[3:], 90.0, atol=1e-6)
        if orthorhombic:  # scipy's periodic k-d tree: ~4x faster than a cell list here
            lengths = box[:3]
            pos = np.mod(np.asarray(positions_A, dtype=float), lengths)
            pos[pos >= lengths] = 0.0  # (mod of a value a hair below 0 can round to the length)
            tree = cKDTree(pos, boxsize=lengths)
        else:
            pos = np.ascontiguousarray(positions_A, dtype=np.float32)
        for i0 in range(0, n, chunk):
            i1 = min(n, i0 + chunk)
            if orthorhombic:
                sub = tree if i1 - i0 == n else cKDTree(pos[i0:i1], boxsize=lengths)  # one chunk: the same tree
                m = sub.sparse_distance_matrix(tree, self.r_max_A, output_type="ndarray")
                gi, gj, dist = m["i"] + i0, m["j"], m["v"]
            else:
                pairs, dist = capped_distance(pos[i0:i1], pos[i0:], self.r_max_A, box=box.astype(np.float32),
                                              return_distances=True)
                gi, gj = pairs[:, 0] + i0, pairs[:, 1] + i0
            keep = gj > gi  # each unordered pair once, no self pair
            gi, gj, dist = gi[keep], gj[keep], dist[keep]
            rows = self._pair[self.types[gi], self.types[gj]]
            bins = np.minimum((dist / self.dr).astype(np.int64), self.n_bins - 1)
            self.counts += np.bincount(rows * self.n_bins + bins,
                                       minlength=len(self.pairs) * self.n_bins).reshape(self.counts.shape)
        self.volume_sum += volume
        self.n_frames += 1

    def result(self) -> dict:
        """As :func:`harness.analysis.rdf.compute_rdf` returns it (r_A, edges_A, total, pairs, ...)."""
        edges = np.linspace(0.0, self.r_max_A, self.n_bins + 1)
        shells = 4.0 / 3.0 * np.pi * np.diff(edges ** 3)
        volume = self.volume_sum / max(self.n_frames, 1)
        counts_of = np.bincount(self.types, minlength=self.n_types)

        def g(count, norm_pairs):
            if norm_pairs <= 0 or self.n_frames == 0:
                return np.zeros(self.n_bins)
            return count / (norm_pairs / volume * shells * self.n_frames)

        n = len(self.symbols)
        total = g(2.0 * self.counts.sum(axis=0), n * (n - 1))
        pairs = {}
        for k, (a, b) in enumerate(self.pairs):
            if a == b:
                if counts_of[a] < 2:  # a single atom has no partner of its element
                    continue
                pairs[f"{self.names[a]}-{self.names[b]}"] = g(2.0 * self.counts[k], counts_of[a] * (counts_of[a] - 1))
            else:
                pairs[f"{self.names[a]}-{self.names[b]}"] = g(self.counts[k], counts_of[a] * counts_of[b])
        r = 0.5 * (edges[1:] + edges[:-1])
        return {"r_A": r, "edges_A": edges, "total": total, "pairs": pairs, "r_max_A": self.r_max_A,
                "n_bins": self.n_bins, "first_peak_A": first_peak_position(r, total),
                "n_frames_used": int(self.n_frames), "density_per_A3": float(n / volume) if self.n_frames else None,
                "source": "dump"}
