"""Energy profiles along a path of images: barriers, the KRA barrier, and a report card.

Pure functions on arrays (eV, Å), and the readers of what a LAMMPS NEB leaves behind: the
universe log's table (:func:`parse_neb_log`: energies, reaction coordinate and forces per
iteration) and the band's dumps. The quoted barrier is the climbing image's (the highest
image of a converged climbing-image band); a cubic spline through the image energies on the
reaction coordinate is reported beside it, never instead of it. A band that did not converge
has no barrier: its report card says why.

Definitions (MISSION §3–4):

* forward barrier ``E_f = E_max − E_initial``, backward ``E_b = E_max − E_final``;
* kinetically resolved activation barrier ``E_KRA = E_saddle − (E_initial + E_final)/2``;
* reaction coordinate: cumulative distance between consecutive images (minimum image),
  normalised to [0, 1].
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator

from ..errors import SimulationError
from ..io.lammps_dump import dump_cells, index_dump, iter_dump

SYMMETRIC_TOL_EV = 1e-3  # end states this close in energy: a symmetric hop (forward = backward)


def image_distances(positions: np.ndarray, cell: np.ndarray) -> np.ndarray:
    """|R_{k+1} − R_k| (Å) between consecutive images, minimum-image displacements."""
    from ase.geometry import find_mic

    out = []
    for a, b in zip(positions[:-1], positions[1:]):
        d, _ = find_mic(np.asarray(b) - np.asarray(a), cell, pbc=True)
        out.append(float(np.linalg.norm(d)))
    return np.array(out)


def reaction_coordinate(positions: np.ndarray, cell: np.ndarray) -> np.ndarray:
    """Cumulative image distance, normalised to [0, 1] (0 for a single image)."""
    d = np.concatenate([[0.0], np.cumsum(image_distances(positions, cell))])
    return d / d[-1] if d[-1] > 0 else d


def tangent_angles_deg(positions: np.ndarray, cell: np.ndarray) -> np.ndarray:
    """Angle (degrees) between consecutive path segments at each intermediate image: kinks."""
    from ase.geometry import find_mic

    seg = []
    for a, b in zip(positions[:-1], positions[1:]):
        d, _ = find_mic(np.asarray(b) - np.asarray(a), cell, pbc=True)
        seg.append(d.ravel())
    out = []
    for t1, t2 in zip(seg[:-1], seg[1:]):
        n = np.linalg.norm(t1) * np.linalg.norm(t2)
        out.append(float(np.degrees(np.arccos(np.clip(np.dot(t1, t2) / n, -1, 1)))) if n > 0 else 0.0)
    return np.array(out)


def barriers(energies_eV: np.ndarray) -> dict:
    """Forward, backward and KRA barriers of a profile, and which image is the saddle."""
    e = np.asarray(energies_eV, dtype=float)
    k = int(np.argmax(e))
    return {"forward_barrier_eV": float(e[k] - e[0]), "backward_barrier_eV": float(e[k] - e[-1]),
            "kra_barrier_eV": float(e[k] - 0.5 * (e[0] + e[-1])), "saddle_image": k,
            "reaction_energy_eV": float(e[-1] - e[0])}


def spline_barrier(rc: np.ndarray, energies_eV: np.ndarray, n: int = 2001) -> dict:
    """Maximum of a cubic spline through the image energies on the reaction coordinate."""
    from scipy.interpolate import CubicSpline

    rc, e = np.asarray(rc, float), np.asarray(energies_eV, float)
    if len(rc) < 3 or np.any(np.diff(rc) <= 0):
        return {"spline_forward_barrier_eV": None, "spline_saddle_rc": None}
    x = np.linspace(0.0, 1.0, n)
    y = CubicSpline(rc, e)(x)
    k = int(np.argmax(y))
    return {"spline_forward_barrier_eV": float(y[k] - e[0]), "spline_saddle_rc": float(x[k]),
            "spline": {"rc": x[::20], "energy_eV": y[::20] - e[0]}}


def report_card(energies_eV: np.ndarray, positions: np.ndarray, cell: np.ndarray, *, converged: bool,
                climbing: bool, max_force_eV_A: float | None, ftol_eV_A: float, iterations: int | None) -> dict:
    """Everything a reader needs to trust (or not) a band's barrier, with the numbers to check.

    ``barrier_eV`` is the climbing image's forward barrier when the climbing stage converged,
    else ``None`` (``status`` says why): a band that did not converge has no barrier.
    """
    e = np.asarray(energies_eV, float)
    rc = reaction_coordinate(positions, cell)
    dist = image_distances(positions, cell)
    angles = tangent_angles_deg(positions, cell)
    b = barriers(e)
    card = {
        **b,
        **spline_barrier(rc, e),
        "energies_eV": e - e[0],
        "reaction_coordinate": rc,
        "image_spacing_A": dist,
        "spacing_ratio": float(dist.max() / dist.min()) if len(dist) and dist.min() > 0 else None,
        "max_kink_deg": float(angles.max()) if len(angles) else 0.0,
        "kink_deg": angles,
        "symmetric_ends": bool(abs(e[-1] - e[0]) < SYMMETRIC_TOL_EV),
        "climbing": climbing,
        "converged": converged,
        "max_force_eV_A": max_force_eV_A,
        "ftol_eV_A": ftol_eV_A,
        "iterations": iterations,
    }
    if card["symmetric_ends"]:
        card["forward_minus_backward_eV"] = b["forward_barrier_eV"] - b["backward_barrier_eV"]
    card["warnings"] = []
    inner = e[1:-1]
    if len(inner) and inner.min() < min(e[0], e[-1]) - SYMMETRIC_TOL_EV:
        k_low = int(np.argmin(inner)) + 1
        card["intermediate_minimum"] = {"image": k_low, "energy_eV": float(e[k_low] - e[0])}
        card["warnings"].append(f"image {k_low + 1} is {min(e[0], e[-1]) - e[k_low]:.3f} eV below the lower "
                                f"endpoint: the endpoints are not the lowest states of this path (metastable "
                                f"endpoints, e.g. a symmetric vacancy; or two hops in one band)")
    at_end = b["saddle_image"] in (0, len(e) - 1)
    ok = converged and climbing and not at_end
    card["quoted"] = "climbing image (highest image of the converged climbing-image band)" if ok else None
    card["barrier_eV"] = b["forward_barrier_eV"] if ok else None
    if at_end:
        card["status"] = ("no barrier between the endpoints: the highest image is an endpoint "
                          f"(the path descends from image {b['saddle_image'] + 1}); no barrier is quoted")
    elif not converged:
        card["status"] = (f"not converged: max NEB force {max_force_eV_A:.3g} eV/Å > ftol {ftol_eV_A:g} eV/Å after "
                          f"{iterations} iterations; no barrier is quoted")
    elif not climbing:
        card["status"] = "converged without a climbing image: the highest image is below the saddle; no barrier quoted"
    else:
        card["status"] = "converged (climbing image)"
    return card


def compare_profile(rc_model: np.ndarray, e_model: np.ndarray, rc_ref: np.ndarray, e_ref: np.ndarray) -> dict:
    """Per-image energy errors against a reference band (both relative to their first image).

    With the same number of images, image by image; otherwise the model's profile is
    interpolated (linearly) onto the reference's reaction coordinate.
    """
    em = np.asarray(e_model, float) - e_model[0]
    er = np.asarray(e_ref, float) - e_ref[0]
    if len(em) == len(er):
        err, how = em - er, "image by image"
    else:
        err, how = np.interp(rc_ref, rc_model, em) - er, "model interpolated onto the reference's reaction coordinate"
    bm, br = barriers(em), barriers(er)
    return {"per_image_error_eV": err, "rmse_eV": float(np.sqrt(np.mean(err**2))), "max_abs_error_eV":
            float(np.abs(err).max()), "matching": how,
            "reference_forward_barrier_eV": br["forward_barrier_eV"],
            "forward_barrier_error_eV": bm["forward_barrier_eV"] - br["forward_barrier_eV"],
            "kra_barrier_error_eV": bm["kra_barrier_eV"] - br["kra_barrier_eV"],
            "reference_energies_eV": er, "reference_reaction_coordinate": np.asarray(rc_ref, float)}


# ---------------------------------------------------------------------- what LAMMPS leaves
def parse_neb_log(path: Path) -> dict:
    """The NEB table of a LAMMPS universe log: every row of both stages, the climbing image.

    Returns ``{"stages": [[row, ...], [row, ...]], "climbing_image": k or None}`` where a row
    maps the log's columns (``Step``, ``MaxReplicaForce``, ``MaxAtomForce``, ``EBF``, ``EBR``,
    ``RD1`` … ``PEN``) to numbers; image numbers are 1-based as in the log.
    """
    stages: list[list[dict]] = []
    header: list[str] | None = None
    climbing = None
    if not Path(path).is_file():
        return {"stages": [], "climbing_image": None}
    for line in Path(path).read_text(errors="replace").splitlines():
        words = line.split()
        if not words:
            continue
        if words[0] == "Step" and "MaxReplicaForce" in words:
            header = words
            stages.append([])
            continue
        m = re.match(r"Climbing replica = (\d+)", line.strip())
        if m:
            climbing = int(m.group(1))
            continue
        if header is not None and len(words) == len(header):
            try:
                stages[-1].append(dict(zip(header, (float(w) for w in words))))
            except ValueError:
                header = None
        elif header is not None:
            header = None
    return {"stages": stages, "climbing_image": climbing}


def profile_of(row: dict, n_images: int) -> tuple[np.ndarray, np.ndarray]:
    """(reaction coordinate, potential energy eV) of every image in one log row."""
    rc = np.array([row[f"RD{k}"] for k in range(1, n_images + 1)])
    pe = np.array([row[f"PE{k}"] for k in range(1, n_images + 1)])
    return rc, pe


def convergence_history(log: dict) -> list[dict]:
    """Every row of :func:`parse_neb_log`'s stages as ``stage`` (1: the band, 2: climbing),
    ``iteration``, ``max_force_eV_A`` (largest NEB force), ``max_atom_force_eV_A`` and
    ``forward_barrier_eV``."""
    return [{"stage": k + 1, "iteration": int(r["Step"]), "max_force_eV_A": r["MaxReplicaForce"],
             "max_atom_force_eV_A": r["MaxAtomForce"], "forward_barrier_eV": r["EBF"]}
            for k, stage in enumerate(log["stages"]) for r in stage]


def last_common_band(dumps: list[Path], elements: list[str]) -> tuple[list[np.ndarray], int]:
    """Positions (Å, shifted to the box origin) of every image at the last iteration all band
    ``dumps`` (one per image, in order) have, and that iteration; the band an NEB resumes from."""
    indices = [index_dump(path) for path in dumps]
    common = set(indices[0].steps.tolist())
    for ix in indices[1:]:
        common &= set(ix.steps.tolist())
    if not common:
        raise SimulationError(f"{Path(dumps[0]).parent}: the band dumps share no iteration to resume from")
    step = max(common)
    band = []
    for ix in indices:
        frames, _ = next(iter_dump(ix.select(ix.steps == step), elements))
        band.append(np.asarray(frames.positions_A[0], dtype=float))  # shifted to the box origin
    return band, int(step)


def read_images(dumps: list[Path], elements: list[str], energies_eV: np.ndarray) -> list[Atoms]:
    """The first frame of each image's dump (one per image, in order) as periodic atoms with its
    energy (eV, a single-point calculator) and ``info["image"]`` (1-based, as in the log)."""
    out = []
    for i, path in enumerate(dumps, start=1):
        frames, symbols = next(iter_dump(index_dump(path), elements))
        atoms = Atoms(symbols, positions=frames.positions_A[0].astype(float), cell=dump_cells(frames)[0], pbc=True)
        atoms.calc = SinglePointCalculator(atoms, energy=float(energies_eV[i - 1]))
        atoms.info["image"] = i
        out.append(atoms)
    return out
