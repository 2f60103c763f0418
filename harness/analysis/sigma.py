"""Anharmonicity score σ^(2) (Knoop et al., Phys. Rev. Mater. 4, 083809, 2020).

Along a trajectory, the harmonic force of atom i is F^(2)_i = −Σ_j Φ_ij u_j with u the
displacements from the reference (equilibrium) positions, the anharmonic force is
F^A = F − F^(2), and per frame σ(t) = std(F^A) / std(F) over all atoms and Cartesian
components. The material score is ⟨σ(t)⟩_t. Classes: < 0.5 weakly anharmonic, 0.5–1 strongly
anharmonic, > 1 dynamically unstable at that temperature.

Frames are processed one at a time (prepare / single_frame / conclude), so memory does not
grow with the trajectory.
"""

from __future__ import annotations

import numpy as np

CLASSES = ("weakly anharmonic", "strongly anharmonic", "dynamically unstable")


def classify(sigma: float) -> str:
    """Knoop et al.'s classes of the material score."""
    if sigma < 0.5:
        return CLASSES[0]
    if sigma <= 1.0:
        return CLASSES[1]
    return CLASSES[2]


def minimum_image_displacements(positions: np.ndarray, reference: np.ndarray, cell: np.ndarray) -> np.ndarray:
    """u = r − r0 wrapped to the nearest periodic image (Å)."""
    cell = np.asarray(cell, dtype=float)
    d = np.asarray(positions, dtype=float) - np.asarray(reference, dtype=float)
    frac = d @ np.linalg.inv(cell)
    frac -= np.round(frac)
    return frac @ cell


def harmonic_forces(force_constants: np.ndarray, u: np.ndarray) -> np.ndarray:
    """F^(2)_i = −Σ_j Φ_ij u_j for full force constants Φ of shape (N, N, 3, 3) (eV/Å²)."""
    return -np.einsum("ijab,jb->ia", force_constants, u)


def sigma_frame(forces: np.ndarray, harmonic: np.ndarray) -> float:
    """σ of one frame: std of the anharmonic force components over std of the force components."""
    f = np.asarray(forces, dtype=float).ravel()
    fa = f - np.asarray(harmonic, dtype=float).ravel()
    sf = f.std()
    return float(fa.std() / sf) if sf > 0 else float("nan")


def match_atoms(positions: np.ndarray, symbols: list[str], ref_positions: np.ndarray, ref_symbols: list[str],
                cell: np.ndarray) -> np.ndarray:
    """Index map ``order`` with trajectory atom ``order[k]`` sitting on reference site k.

    Atoms are matched to the nearest reference site of the same element (minimum image); the
    map must be one-to-one, else the trajectory does not belong to these force constants.
    """
    if sorted(symbols) != sorted(ref_symbols):
        raise ValueError("trajectory composition differs from the force constants' supercell")
    order = np.full(len(ref_symbols), -1)
    sym = np.asarray(symbols)
    for k, (r0, s) in enumerate(zip(ref_positions, ref_symbols)):
        cand = np.flatnonzero(sym == s)
        d = np.linalg.norm(minimum_image_displacements(positions[cand], r0[None, :], cell), axis=1)
        order[k] = cand[np.argmin(d)]
    if len(set(order.tolist())) != len(order):
        raise ValueError("trajectory atoms cannot be matched one-to-one to the reference sites "
                         "(a different structure or atoms far from their sites)")
    return order


class SigmaAnalysis:
    """Streams frames: ``prepare`` once, ``single_frame`` per frame, ``conclude`` at the end.

    Parameters
    ----------
    force_constants : (N, N, 3, 3) eV/Å²
    reference_positions : (N, 3) Å
        Equilibrium positions of the supercell the force constants belong to.
    reference_symbols : list[str]
    cell : (3, 3) Å
    """

    def __init__(self, force_constants, reference_positions, reference_symbols, cell):
        self.fc = np.asarray(force_constants, dtype=float)
        n = len(reference_positions)
        if self.fc.shape != (n, n, 3, 3):
            raise ValueError(f"force constants of shape {self.fc.shape} do not fit {n} atoms (need full FC)")
        self.r0 = np.asarray(reference_positions, dtype=float)
        self.symbols = list(reference_symbols)
        self.cell = np.asarray(cell, dtype=float)
        self.order = None
        self.sigma: list[float] = []

    def prepare(self, positions, symbols) -> None:
        if len(positions) != len(self.r0):
            raise ValueError(f"trajectory has {len(positions)} atoms, the force constants {len(self.r0)}")
        self.order = match_atoms(np.asarray(positions), list(symbols), self.r0, self.symbols, self.cell)

    def single_frame(self, positions, forces) -> float:
        pos = np.asarray(positions, dtype=float)[self.order]
        f = np.asarray(forces, dtype=float)[self.order]
        u = minimum_image_displacements(pos, self.r0, self.cell)
        u -= u.mean(axis=0)  # a rigid drift of the whole cell is not a vibration
        s = sigma_frame(f, harmonic_forces(self.fc, u))
        self.sigma.append(s)
        return s

    def conclude(self) -> dict:
        s = np.asarray(self.sigma)
        mean = float(np.nanmean(s)) if len(s) else float("nan")
        return {
            "sigma_mean": mean,
            "sigma_std": float(np.nanstd(s)) if len(s) else float("nan"),
            "n_frames": int(len(s)),
            "class": classify(mean) if np.isfinite(mean) else None,
            "sigma_t": s.tolist(),
        }


def confusion_matrix(model_classes: list[str], reference_classes: list[str]) -> dict:
    """Counts of (reference class, model class) over materials, rows = reference."""
    m = np.zeros((len(CLASSES), len(CLASSES)), dtype=int)
    for mc, rc in zip(model_classes, reference_classes):
        m[CLASSES.index(rc), CLASSES.index(mc)] += 1
    return {"classes": list(CLASSES), "rows": "reference", "columns": "model", "counts": m.tolist(),
            "agreement": float(np.trace(m) / m.sum()) if m.sum() else None}
