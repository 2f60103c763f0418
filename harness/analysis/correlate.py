"""Time correlations of per-atom vector series, streamed block by block.

:class:`LagCorrelator` accumulates, for lags k = 0 .. L-1,

    C_g(k) = sum_{t0 = 0}^{n-1-k} sum_{i in g} w_i x_i(t0) . x_i(t0 + k)

per atom group g, over *all* time origins of a trajectory that arrives in blocks of frames
(overlap-save: every origin is correlated with the L-1 frames after it, by zero-padded FFT).
Only the last L-1 frames plus one block are ever held, so memory is set by the lag window L,
not by the length n of the trajectory, and the result is exactly that of one FFT over the
whole trajectory truncated to L lags. The unbiased average over origins is C_g(k) / (n - k).
"""

from __future__ import annotations

import numpy as np
from scipy.fft import irfft, next_fast_len, rfft

FFT_BYTES = 4 * 2**20  # size of each complex FFT array (atoms are chunked to fit)


class LagCorrelator:
    """Streaming, exact, windowed auto-correlation sum_i w_i x_i(t0).x_i(t0+k), per atom group.

    Parameters
    ----------
    max_lag : int
        Number of lags L (0 .. L-1).
    groups : numpy.ndarray of int, (n_atoms,)
        Group index (0 .. n_groups-1) of every atom.
    weights : numpy.ndarray, (n_atoms,), optional
        Per-atom weights w_i (e.g. masses); default 1.
    block : int, optional
        Origins processed per FFT (default L/4, at least 64): memory ~ (block + L) frames; a
        smaller block costs more FFT work per frame ((block + L) / block).
    n_groups : int, optional
        Number of groups (default max(groups) + 1; more rows stay zero).
    """

    def __init__(self, max_lag: int, groups: np.ndarray, weights: np.ndarray | None = None,
                 block: int | None = None, n_groups: int | None = None):
        if max_lag < 1:
            raise ValueError(f"max_lag must be >= 1, got {max_lag}")
        self.max_lag = int(max_lag)
        groups = np.asarray(groups, dtype=int)
        self.n_atoms = len(groups)
        self.n_groups = int(n_groups) if n_groups is not None else (int(groups.max()) + 1 if len(groups) else 0)
        w = np.ones(self.n_atoms) if weights is None else np.asarray(weights, dtype=float)
        self._w = np.zeros((self.n_atoms, self.n_groups))  # weighted group indicator
        self._w[np.arange(self.n_atoms), groups] = w
        self.block = int(block or max(64, self.max_lag // 4))
        self._buf: list[np.ndarray] = []
        self._n_buf = 0
        self.n_frames = 0
        self.sums = np.zeros((self.n_groups, self.max_lag))

    def add(self, frames: np.ndarray) -> None:
        """Append frames, shape (m, n_atoms, d), equally spaced in time (kept by reference until
        correlated: do not modify the array afterwards)."""
        frames = np.asarray(frames)
        if frames.ndim != 3 or frames.shape[1] != self.n_atoms:
            raise ValueError(f"frames must have shape (m, {self.n_atoms}, d), got {frames.shape}")
        self._buf.append(frames)
        self._n_buf += len(frames)
        self.n_frames += len(frames)
        need = self.block + self.max_lag - 1
        if self._n_buf >= need:
            seg = np.concatenate(self._buf)
            self._buf = []
            start = 0
            while len(seg) - start >= need:
                self._correlate(seg[start:start + need], self.block)
                start += self.block
            rest = seg[start:].copy()  # a view would keep all of seg alive
            del seg
            self._buf, self._n_buf = [rest], len(rest)

    def _correlate(self, seg: np.ndarray, n_origins: int) -> None:
        """Add sum_{j < n_origins} x(j).x(j+k) over the frames in seg (zero beyond its end)."""
        s, n_atoms, d = seg.shape
        nfft = next_fast_len(max(s, n_origins + self.max_lag - 1), real=True)
        chunk = max(1, int(FFT_BYTES // (16 * (nfft // 2 + 1) * d)))
        acc = np.zeros((nfft // 2 + 1, self.n_groups), dtype=complex)
        for a0 in range(0, n_atoms, chunk):
            x = seg[:, a0:a0 + chunk].astype(np.float64)
            fx = rfft(x, n=nfft, axis=0)
            fo = rfft(x[:n_origins], n=nfft, axis=0)
            np.conjugate(fo, out=fo)
            cross = np.einsum("fad,fad->fa", fo, fx)
            acc += cross @ self._w[a0:a0 + chunk]
        self.sums += irfft(acc, n=nfft, axis=0)[:self.max_lag].T

    def finish(self) -> tuple[np.ndarray, np.ndarray]:
        """Correlate the frames still buffered; return (sums (n_groups, L'), origins per lag (L',)).

        L' = min(L, n_frames). Call once, after the last :meth:`add`.
        """
        if self._n_buf:
            seg = np.concatenate(self._buf)
            self._correlate(seg, len(seg))
            self._buf, self._n_buf = [], 0
        n_lag = min(self.max_lag, self.n_frames)
        return self.sums[:, :n_lag], np.arange(self.n_frames, self.n_frames - n_lag, -1, dtype=float)
