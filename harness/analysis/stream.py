"""The dump route: g(r), VDOS and MSD of a trajectory read once, block by block, with memory
bounded by a budget, never by atoms × frames.

- g(r) (:class:`~harness.analysis.rdf_stream.RDFAccumulator`): pairs within ``r_max`` found per
  frame and histogrammed at once. ``r_max`` defaults to half the narrowest cell width, at most
  :data:`RDF_R_MAX_A`; the frames used are evenly strided, at most :data:`RDF_MAX_FRAMES` and at
  most :data:`RDF_ATOM_FRAMES` atoms × frames (a 32,000-atom cell: 15 frames, 480,000 atoms' shells:
  plenty for a smooth g(r)).
- VACF and MSD (:class:`~harness.analysis.correlate.LagCorrelator`): exact over all time origins
  for lags below the window; the window is :data:`MAX_LAG_FRAMES`, or less when the frames it
  holds would not fit :data:`LAG_BUDGET_BYTES` (said in the results).
- frames are parsed :func:`block_frames` at a time (at most :data:`BLOCK_BYTES` per block).
"""

from __future__ import annotations

import numpy as np

from ..io.elements import element_mass
from ..io.lammps_dump import DumpIndex, dump_n_atoms, iter_dump
from .correlate import LagCorrelator
from .msd import MSDAccumulator, fit_diffusion
from .rdf import DEFAULT_BINS, default_r_max
from .rdf_stream import RDFAccumulator
from .vdos import spectra

# Lag window of the VACF and the MSD, in frames: the trajectory is streamed through it, so
# memory is set by this window, not by the run length. 4096 frames of 10 fs = 41 ps, a VDOS
# resolution of 0.012 THz; shorter runs use all their frames (exactly the one-FFT result).
MAX_LAG_FRAMES = 4096
BLOCK_FRAMES = 256  # frames parsed at a time, at most
BLOCK_BYTES = 200 * 2**20  # ... and at most this much of them
LAG_BUDGET_BYTES = 1200 * 2**20  # what the two correlators' windows may hold
RDF_MAX_FRAMES = 2000  # g(r) is converged long before; bounds the cost of long runs
RDF_ATOM_FRAMES = 500_000  # ... and of large cells: atoms × frames the g(r) looks at
RDF_R_MAX_A = 12.0  # default g(r) range cap (half the cell below it)
MIN_LAG = 4


def block_frames(n_atoms: int) -> int:
    """Frames parsed at a time: positions, velocities (and forces) of a block within BLOCK_BYTES."""
    return int(max(1, min(BLOCK_FRAMES, BLOCK_BYTES // max(1, n_atoms * 36))))


def lag_budget(n_atoms: int) -> int:
    """The longest lag window whose frames (MSD in float64, VACF in float32, and a quarter more
    for the block being correlated) fit :data:`LAG_BUDGET_BYTES`."""
    return int(max(MIN_LAG, LAG_BUDGET_BYTES // (1.25 * n_atoms * 3 * (8 + 4))))


def rdf_frames(n_atoms: int) -> int:
    return int(max(1, min(RDF_MAX_FRAMES, RDF_ATOM_FRAMES // max(1, n_atoms))))


class TrajectoryObservables:
    """RDF, VDOS and MSD of a trajectory fed block by block, with memory bounded (module docstring).

    Parameters
    ----------
    symbols : list of str
        Element of each atom.
    n_frames : int
        Frames that will be fed (sets the RDF stride and the lag window).
    frame_dt_ps : float
    dimension : {3, 2}
        MSD in 3-D or in-plane.
    max_lag : int
        Lag window in frames (capped at ``n_frames`` and by the memory budget).
    time_correlations : bool
        False skips VDOS and MSD (e.g. unequally spaced frames).
    rdf_r_max_A : float, optional
        g(r) range; default: half the narrowest width of the first frame's cell, at most
        :data:`RDF_R_MAX_A`.
    rdf_bins : int
    """

    def __init__(self, symbols: list[str], n_frames: int, frame_dt_ps: float, *, dimension: int = 3,
                 max_lag: int = MAX_LAG_FRAMES, time_correlations: bool = True, rdf_max_frames: int | None = None,
                 rdf_r_max_A: float | None = None, rdf_bins: int = DEFAULT_BINS):
        self.symbols = list(symbols)
        self.names = list(dict.fromkeys(self.symbols))
        self.masses = np.array([element_mass(e) for e in self.symbols])
        self.n_frames, self.frame_dt_ps, self.dimension = int(n_frames), float(frame_dt_ps), dimension
        n_atoms = len(self.symbols)
        self.rdf_every = max(1, -(-self.n_frames // (rdf_max_frames or rdf_frames(n_atoms))))
        self.rdf_r_max_A, self.rdf_bins = rdf_r_max_A, int(rdf_bins)
        self._rdf: RDFAccumulator | None = None
        budget = lag_budget(n_atoms)
        self.lag = min(self.n_frames, int(max_lag), budget)
        self.lag_capped_by_memory = self.lag < min(self.n_frames, int(max_lag))
        self.time_correlations = time_correlations
        self._msd = MSDAccumulator(self.masses, dimension, max_lag=self.lag) if time_correlations else None
        labels = np.array([self.names.index(e) for e in self.symbols])
        self._vacf = LagCorrelator(self.lag, labels, self.masses) if time_correlations else None
        self._has_velocities = None
        self.done = 0

    @property
    def r_max_A(self) -> float | None:
        return self._rdf.r_max_A if self._rdf is not None else self.rdf_r_max_A

    def add(self, positions_A: np.ndarray, velocities_A_per_ps: np.ndarray | None, dimensions: np.ndarray) -> None:
        """Append equally spaced frames: unwrapped positions (m, N, 3), velocities or None, (m, 6) cells."""
        m = len(positions_A)
        if self.done + m > self.n_frames:
            raise ValueError(f"more than the {self.n_frames} frames announced")
        if self._has_velocities is None:
            self._has_velocities = velocities_A_per_ps is not None
        elif self._has_velocities != (velocities_A_per_ps is not None):
            raise ValueError("velocities present in some frames and not in others")
        dimensions = np.atleast_2d(dimensions)
        if self._rdf is None:
            r_max = self.rdf_r_max_A or min(default_r_max(dimensions[0]), RDF_R_MAX_A)
            self._rdf = RDFAccumulator(self.symbols, r_max, self.rdf_bins)
        for k in range(m):
            if (self.done + k) % self.rdf_every == 0:
                self._rdf.add(positions_A[k], dimensions[k])
        if self._msd is not None:
            self._msd.add(positions_A)
            if velocities_A_per_ps is not None:
                self._vacf.add(velocities_A_per_ps)
        self.done += m

    def rdf(self) -> dict:
        """g(r) total and per element pair (see :class:`~harness.analysis.rdf_stream.RDFAccumulator`)."""
        if self._rdf is None:
            return {"skipped": "no frames"}
        return self._rdf.result()

    def _window_note(self) -> dict:
        return {"lag_window_capped_by_memory": True} if self.lag_capped_by_memory else {}

    def vdos(self) -> dict:
        """Mass-weighted VDOS (total and per element) from the Hann-windowed VACF."""
        if not self.time_correlations:
            return {"skipped": "time correlations not computed"}
        if not self._has_velocities:
            return {"skipped": "no velocities (dump has no vx vy vz columns)"}
        sums, origins = self._vacf.finish()
        freq, total, partials = spectra(sums, origins, self.frame_dt_ps, self.names)
        c = sums.sum(axis=0) / origins
        return {
            "frequency_THz": freq,
            "total": total,
            "per_element": partials,
            "resolution_THz": float(freq[1] - freq[0]),
            "nyquist_THz": float(0.5 / self.frame_dt_ps),
            "peak_THz": float(freq[np.argmax(total)]),
            "mass_weighted": True,
            "window": "right half of Hann on one-sided VACF",
            "vacf_window_frames": int(len(origins)),
            "vacf": {"time_ps": np.arange(len(c)) * self.frame_dt_ps, "normalized": c / c[0] if c[0] > 0 else c},
            "source": "dump", **self._window_note(),
        }

    def msd(self) -> dict:
        """MSD(t) with the centre-of-mass drift removed, and D from its linear part."""
        if not self.time_correlations:
            return {"skipped": "time correlations not computed"}
        t, m = self._msd.finish(self.frame_dt_ps)
        return {"time_ps": t, "msd_A2": m, "dimension": self.dimension, "com_drift_removed": True,
                "lag_window_frames": int(len(t)), "source": "dump", **self._window_note(),
                **fit_diffusion(t, m, self.dimension)}


def stream_dump(index: DumpIndex, elements, frame_dt_ps, dimension, rdf_bins, time_ok, max_lag, progress,
                rdf: bool = True, rdf_r_max_A: float | None = None) -> dict:
    """One pass over the dump, block by block, into a :class:`TrajectoryObservables`."""
    obs = None
    for frames, symbols in iter_dump(index, elements, block_frames(dump_n_atoms(index))):
        if obs is None:
            obs = TrajectoryObservables(symbols, index.n_frames, frame_dt_ps, dimension=dimension,
                                        max_lag=max_lag, time_correlations=time_ok, rdf_bins=rdf_bins,
                                        rdf_r_max_A=rdf_r_max_A)
        obs.add(frames.positions_A, frames.velocities_A_per_ps, frames.dimensions)
        if progress is not None:
            progress(obs.done, index.n_frames)
    out = {"n_atoms": len(obs.symbols)}
    if rdf:
        out["rdf"] = obs.rdf()
    if time_ok:
        out.update(vdos=obs.vdos(), msd=obs.msd())
    return out
