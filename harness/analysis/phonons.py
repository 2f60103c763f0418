"""Phonon comparisons, stability checks, per-atom thermodynamics and the VDOS check: pure
functions on phonopy outputs (THz, Å); :mod:`.harmonic` gets those outputs from phonopy.

Conventions: frequencies in THz, imaginary modes as negative frequencies (phonopy's
convention); ω² keeps the sign (ω² = sign(ν) ν², THz²); group velocities in THz·Å.
"""

from __future__ import annotations

import numpy as np

from .metrics import normalise, spectrum_error

# Acoustic modes near Γ come out slightly imaginary from finite-difference noise; below this
# magnitude (THz) they are not called an instability.
IMAGINARY_TOL_THZ = 0.05


def signed_square(freq_THz: np.ndarray) -> np.ndarray:
    """ω² with the sign of ν (THz²): imaginary modes stay negative."""
    f = np.asarray(freq_THz, dtype=float)
    return np.sign(f) * f**2


def imaginary_modes(qpoints: np.ndarray, freq_THz: np.ndarray, tol_THz: float = IMAGINARY_TOL_THZ) -> list[dict]:
    """q-points (reduced coordinates) whose lowest frequency is below -tol, with that frequency."""
    out = []
    for q, f in zip(np.asarray(qpoints), np.asarray(freq_THz)):
        if f.min() < -tol_THz:
            out.append({"q": [float(x) for x in q], "min_frequency_THz": float(f.min())})
    return out


def stability(qpoints: np.ndarray, freq_THz: np.ndarray, tol_THz: float = IMAGINARY_TOL_THZ,
              limit: int = 50) -> dict:
    """Dynamical stability on a set of q-points: stable when no mode lies below ``-tol_THz``.

    Returns ``dynamically_stable``, ``imaginary_tolerance_THz``, ``n_imaginary_qpoints``,
    ``min_frequency_THz`` (lowest mode, negative = imaginary), ``lowest_mode_q`` (its q-point,
    reduced) and ``imaginary_modes`` (the first ``limit`` q-points with their lowest frequency).
    """
    q, f = np.asarray(qpoints, dtype=float), np.asarray(freq_THz, dtype=float)
    imag = imaginary_modes(q, f, tol_THz)
    k = int(np.argmin(f.min(axis=1)))
    return {"dynamically_stable": not imag, "imaginary_tolerance_THz": tol_THz, "n_imaginary_qpoints": len(imag),
            "min_frequency_THz": float(f.min()), "lowest_mode_q": [float(x) for x in q[k]],
            "imaginary_modes": imag[:limit]}


def stability_agreement(reference_stable: bool, model_stable: bool) -> str:
    """The four cases of model vs reference dynamical stability, named."""
    if reference_stable and model_stable:
        return "both stable"
    if not reference_stable and not model_stable:
        return "both unstable"
    return "false instability (model unstable)" if reference_stable else "missed instability (model stable)"


def _weighted_rmse(d2: np.ndarray, w: np.ndarray, mask: np.ndarray) -> float | None:
    """sqrt(Σ_q w_q Σ_b m_qb d²_qb / Σ_q w_q Σ_b m_qb): an RMSE over the selected modes."""
    norm = float(np.sum(w[:, None] * mask))
    return float(np.sqrt(np.sum(w[:, None] * mask * d2) / norm)) if norm > 0 else None


def compare_frequencies(freq_model_THz: np.ndarray, freq_ref_THz: np.ndarray, weights: np.ndarray | None = None,
                        gv_model: np.ndarray | None = None, gv_ref: np.ndarray | None = None,
                        tol_THz: float = IMAGINARY_TOL_THZ) -> dict:
    """RMSE of ω² and of group velocities over the same q-points and bands; max-frequency ratio.

    Parameters
    ----------
    freq_model_THz, freq_ref_THz : (n_q, n_bands)
        Frequencies at the same q-points, bands in ascending order.
    weights : (n_q,), optional
        q-point weights (irreducible mesh multiplicities); uniform otherwise.
    gv_model, gv_ref : (n_q, n_bands, 3), optional
        Group velocities (THz·Å).
    tol_THz : float
        A mode below ``-tol_THz`` is imaginary.

    Returns
    -------
    dict
        ``rmse_omega2_THz2`` (all modes), ``rmse_omega2_reference_stable_THz2`` (the modes real in the
        reference, ν_ref ≥ -tol), ``n_modes``, ``n_reference_stable_modes``, ``mae_frequency_THz``,
        ``max_frequency_model_THz``, ``max_frequency_reference_THz``, ``max_frequency_ratio``
        (model/reference: < 1 is the softening signature), and with velocities
        ``rmse_group_velocity_THz_A`` over the real branches only: a band (branch index) imaginary
        anywhere on the q-points, in the model or the reference, is dropped, because the group
        velocity of an imaginary branch (and next to where it crosses zero, where dν/dq diverges)
        is not a physical quantity; ``group_velocity_bands_dropped`` lists them (``None`` when
        every band is dropped, with ``group_velocity_note`` saying so).
    """
    fm, fr = np.asarray(freq_model_THz, dtype=float), np.asarray(freq_ref_THz, dtype=float)
    if fm.shape != fr.shape:
        raise ValueError(f"frequency arrays differ in shape: {fm.shape} vs {fr.shape}")
    w = np.ones(len(fm)) if weights is None else np.asarray(weights, dtype=float)
    w = w / w.sum()
    d2 = (signed_square(fm) - signed_square(fr)) ** 2
    ref_real = fr >= -tol_THz
    out = {
        "rmse_omega2_THz2": float(np.sqrt(np.sum(w[:, None] * d2) / fm.shape[1])),
        "rmse_omega2_reference_stable_THz2": _weighted_rmse(d2, w, ref_real),
        "n_modes": int(fm.size),
        "n_reference_stable_modes": int(ref_real.sum()),
        "mae_frequency_THz": float(np.sum(w[:, None] * np.abs(fm - fr)) / fm.shape[1]),
        "max_frequency_model_THz": float(fm.max()),
        "max_frequency_reference_THz": float(fr.max()),
        "max_frequency_ratio": float(fm.max() / fr.max()) if fr.max() > 0 else None,
        "imaginary_tolerance_THz": tol_THz,
    }
    if gv_model is not None and gv_ref is not None:
        dv = np.sum((np.asarray(gv_model) - np.asarray(gv_ref)) ** 2, axis=-1)
        imaginary = (fm < -tol_THz).any(axis=0) | (fr < -tol_THz).any(axis=0)
        real = np.broadcast_to(~imaginary, fm.shape)
        out["rmse_group_velocity_THz_A"] = _weighted_rmse(dv, w, real)
        out["group_velocity_bands_dropped"] = [int(b) for b in np.flatnonzero(imaginary)]
        out["group_velocity_n_bands"] = int((~imaginary).sum())
        if imaginary.any():
            dropped = np.flatnonzero(imaginary)
            out["group_velocity_note"] = (
                f"band{'s' if len(dropped) > 1 else ''} {', '.join(str(b) for b in dropped)} (of {fm.shape[1]}, "
                f"ascending order) {'are' if len(dropped) > 1 else 'is'} imaginary (< -{tol_THz} THz) somewhere in "
                "the model or the reference and are left out of "
                "RMSE(v_g)" + ("; no real band is left" if imaginary.all() else ""))
    return out


# ---------------------------------------------------------------------- thermodynamics
def per_atom_thermodynamics(temperatures_K, free_energy_kJ_per_mol, entropy_J_per_K_per_mol,
                            heat_capacity_J_per_K_per_mol, n_atoms: int) -> dict:
    """phonopy's harmonic thermal properties (per mole of primitive cells: kJ/mol, J/K/mol) per atom.

    Returns ``temperatures_K``, ``helmholtz_free_energy_eV_per_atom`` (zero-point energy
    included), ``entropy_J_per_K_per_mol_atoms`` and ``heat_capacity_J_per_K_per_mol_atoms``
    (C_v; → 3R = 24.94 at high T), lists in the order of the temperatures.
    """
    from ase import units

    kj_per_mol_in_eV = units.kJ / units.mol
    n = float(n_atoms)
    return {
        "temperatures_K": [float(t) for t in temperatures_K],
        "helmholtz_free_energy_eV_per_atom": [float(x) * kj_per_mol_in_eV / n for x in free_energy_kJ_per_mol],
        "entropy_J_per_K_per_mol_atoms": [float(x) / n for x in entropy_J_per_K_per_mol],
        "heat_capacity_J_per_K_per_mol_atoms": [float(x) / n for x in heat_capacity_J_per_K_per_mol],
    }


THERMO_ERRORS = {  # model − reference, per atom: the value's key -> the error's key
    "helmholtz_free_energy_eV_per_atom": "helmholtz_free_energy_error_meV_per_atom",
    "entropy_J_per_K_per_mol_atoms": "entropy_error_J_per_K_per_mol_atoms",
    "heat_capacity_J_per_K_per_mol_atoms": "heat_capacity_error_J_per_K_per_mol_atoms",
}


def thermodynamics_errors(model: dict, reference: dict) -> dict:
    """Model − reference of :func:`per_atom_thermodynamics` at the same temperatures
    (free energy in meV/atom, entropy and heat capacity in J/K/mol of atoms)."""
    if model["temperatures_K"] != reference["temperatures_K"]:
        raise ValueError("model and reference thermodynamics at different temperatures")
    out = {"temperatures_K": list(model["temperatures_K"])}
    for key, err in THERMO_ERRORS.items():
        scale = 1000.0 if key.endswith("_eV_per_atom") else 1.0
        out[err] = [scale * (m - r) for m, r in zip(model[key], reference[key])]
    return out


def commensurate_qpoints(md_cell: np.ndarray, primitive_cell: np.ndarray) -> np.ndarray:
    """q-points (reduced, primitive basis) that a periodic MD cell can hold: its reciprocal
    lattice vectors folded into the primitive Brillouin zone (one per primitive cell)."""
    n_cells = int(round(abs(np.linalg.det(md_cell) / np.linalg.det(primitive_cell))))
    recip = np.linalg.inv(md_cell).T  # rows: MD reciprocal vectors (1/Å, no 2π)
    found = {}
    span = int(np.ceil(n_cells ** (1 / 3))) * 2 + 2
    rng = range(-span, span + 1)
    for i in rng:
        for j in rng:
            for k in rng:
                q = (np.array([i, j, k]) @ recip) @ np.asarray(primitive_cell).T
                q = np.round(q - np.floor(q + 1e-9), 8) % 1.0
                found.setdefault(tuple(np.round(q, 6)), q)
    qs = np.array(list(found.values()))
    if len(qs) != n_cells:
        raise ValueError(f"found {len(qs)} commensurate q-points for {n_cells} primitive cells")
    return qs


def broadened_modes(modes_THz: np.ndarray, width_THz: float, f_max_THz: float, n: int = 4000):
    """Harmonic mode frequencies as a sum of Gaussians of ``width_THz`` on [0, f_max] (THz)."""
    f = np.linspace(0, f_max_THz, n)
    s = np.exp(-0.5 * ((f[:, None] - np.asarray(modes_THz)[None, :]) / width_THz) ** 2).sum(axis=1)
    return f, s


def vdos_against_modes(modes_THz: np.ndarray, vdos: dict) -> dict:
    """An MD run's mass-weighted VDOS against harmonic mode frequencies (equal in the harmonic limit).

    Parameters
    ----------
    modes_THz : (n,)
        The harmonic frequencies the MD cell holds (see
        :func:`harness.analysis.harmonic.md_cell_modes`).
    vdos : dict
        The ``vdos`` block of an analysed MD run: ``frequency_THz``, ``total`` and
        ``resolution_THz`` (0.1 THz when absent).

    Returns
    -------
    dict
        ``E_VDOS_percent`` (:func:`~harness.analysis.metrics.spectrum_error`), ``broadening_THz``
        (the VDOS resolution, at least 0.05 THz: the modes are broadened to it), the spectra to
        draw, ``harmonic`` (frequency, unit area) and ``vdos`` (frequency, values), and
        ``max_mode_THz``.
    """
    fv, sv = np.asarray(vdos["frequency_THz"], dtype=float), np.asarray(vdos["total"], dtype=float)
    modes = np.asarray(modes_THz)
    width = max(float(vdos.get("resolution_THz", 0.1)), 0.05)
    fd, sd = broadened_modes(modes, width, max(fv.max(), modes.max() + 5 * width))
    err = spectrum_error(fd, sd, fv, sv)
    return {"E_VDOS_percent": err, "broadening_THz": width, "harmonic": (fd, normalise(fd, sd)), "vdos": (fv, sv),
            "max_mode_THz": modes.max()}
