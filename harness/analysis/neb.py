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
# an interior image no higher than its neighbours (within this) may sit in a state of its own:
# it is relaxed after the band converged (relaxing it is the evidence, not the profile)
MINIMUM_TOL_EV = 1e-3
# a band is stopped when an interior image stays this far below the lower endpoint for
# BELOW_ITERATIONS iterations, or its largest force has not dropped below STALL_GAIN times its
# best in the last STALL_ITERATIONS iterations (judged once the band has run twice that long)
BELOW_TOL_EV = 0.01
BELOW_ITERATIONS = 200
STALL_ITERATIONS = 1000
STALL_GAIN = 0.9


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
    """Forward, backward and KRA barriers of a profile, and which image is the saddle (1-based,
    as LAMMPS' partitions and the log number them)."""
    e = np.asarray(energies_eV, dtype=float)
    k = int(np.argmax(e))
    return {"forward_barrier_eV": float(e[k] - e[0]), "backward_barrier_eV": float(e[k] - e[-1]),
            "kra_barrier_eV": float(e[k] - 0.5 * (e[0] + e[-1])), "saddle_image": k + 1,
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
        card["intermediate_minimum"] = {"image": k_low + 1, "energy_eV": float(e[k_low] - e[0])}
        card["warnings"].append(f"image {k_low + 1} is {min(e[0], e[-1]) - e[k_low]:.3f} eV below the lower "
                                f"endpoint: the endpoints are not the lowest states of this path (metastable "
                                f"endpoints, e.g. a symmetric vacancy; or two hops in one band)")
    at_end = b["saddle_image"] in (1, len(e))
    ok = converged and climbing and not at_end
    card["quoted"] = "climbing image (highest image of the converged climbing-image band)" if ok else None
    card["barrier_eV"] = b["forward_barrier_eV"] if ok else None
    if at_end:
        card["status"] = ("no barrier between the endpoints: the highest image is an endpoint "
                          f"(the path descends from image {b['saddle_image']}); no barrier is quoted")
    elif not converged:
        card["status"] = (f"not converged: max NEB force {max_force_eV_A:.3g} eV/Å > ftol {ftol_eV_A:g} eV/Å after "
                          f"{iterations} iterations; no barrier is quoted")
    elif not climbing:
        card["status"] = "converged without a climbing image: the highest image is below the saddle; no barrier quoted"
    else:
        card["status"] = "converged (climbing image)"
    return card


def minimum_candidates(energies_eV: np.ndarray) -> list[int]:
    """Interior images (1-based) no higher than either neighbour, within :data:`MINIMUM_TOL_EV`:
    where a band may pass through a state of its own (several hops in one band)."""
    e = np.asarray(energies_eV, float)
    return [k + 1 for k in range(1, len(e) - 1)
            if e[k] <= e[k - 1] + MINIMUM_TOL_EV and e[k] <= e[k + 1] + MINIMUM_TOL_EV]


def path_minima(positions: np.ndarray, cell: np.ndarray, energies_eV: np.ndarray,
                forces_eV_A: np.ndarray) -> list[float]:
    """Where the energy along the band has a minimum between two images: a cubic Hermite curve
    per segment through the image energies with their slopes along the path, dE/ds = −F·τ (the
    true forces on the images and the central tangent; what ASE's NEBTools fits). Returns
    fractional image numbers (1-based: 2.4 is 40 % of the way from image 2 to image 3)."""
    from ase.geometry import find_mic

    x = np.asarray(positions, float)
    n = len(x)
    steps = [find_mic(x[k + 1] - x[k], cell, pbc=True)[0].ravel() for k in range(n - 1)]
    lengths = np.array([np.linalg.norm(v) for v in steps])
    slopes = []
    for k in range(n):
        t = steps[0] if k == 0 else steps[-1] if k == n - 1 else steps[k - 1] + steps[k]
        norm = np.linalg.norm(t)
        slopes.append(-float(np.dot(np.asarray(forces_eV_A[k], float).ravel(), t / norm)) if norm > 0 else 0.0)
    e = np.asarray(energies_eV, float)
    out = []
    for k in range(n - 1):
        d, e0, e1, m0, m1 = lengths[k], e[k], e[k + 1], slopes[k] * lengths[k], slopes[k + 1] * lengths[k]
        # E(t) = h00 e0 + h10 m0 + h01 e1 + h11 m1 on t in [0, 1]; E'(t) = a t² + b t + c
        a = 6 * e0 + 3 * m0 - 6 * e1 + 3 * m1
        b = -6 * e0 - 4 * m0 + 6 * e1 - 2 * m1
        c = m0
        roots = np.roots([a, b, c]) if abs(a) > 1e-12 else (np.array([-c / b]) if abs(b) > 1e-12 else np.array([]))
        for t in roots:
            if abs(t.imag) < 1e-12 and 0.05 < t.real < 0.95 and 2 * a * t.real + b > 0 and d > 0:
                out.append(k + 1 + float(t.real))
    return sorted(out)


def split_hops(energies_eV: np.ndarray, states: list[float], climbing_image: int | None,
               state_energies_eV: dict[float, float] | None = None) -> list[dict]:
    """The elementary hops of a band split by ``states``: interior images (1-based) or points
    between images (fractional, their relaxed energies in ``state_energies_eV``, relative to the
    first image) that relaxed into states of their own. A hop's barrier is its highest image
    strictly inside the stretch, when that image is above both of the hop's states; otherwise no
    image of the band samples the hop (``barrier_eV`` None: it needs a band of its own)."""
    e = np.asarray(energies_eV, float)
    known = dict(state_energies_eV or {})

    def energy(at: float) -> float:
        return float(e[int(at) - 1]) if float(at).is_integer() else float(known[at])

    def label(at: float):
        return int(at) if float(at).is_integer() else round(float(at), 2)

    cuts = [1, *sorted(states), len(e)]
    hops = []
    for a, b in zip(cuts[:-1], cuts[1:]):
        inside = [k for k in range(1, len(e) + 1) if a < k < b]
        k = max(inside, key=lambda j: e[j - 1]) if inside else None
        ok = k is not None and e[k - 1] > max(energy(a), energy(b))
        hop = {"from_image": label(a), "to_image": label(b), "saddle_image": k if ok else None,
               "barrier_eV": float(e[k - 1] - energy(a)) if ok else None,
               "backward_barrier_eV": float(e[k - 1] - energy(b)) if ok else None,
               "reaction_energy_eV": energy(b) - energy(a), "climbed": bool(ok and climbing_image == k)}
        hop["note"] = ("the climbing image: a converged saddle" if hop["climbed"] else
                       "highest image, not climbed: an estimate from below" if ok else
                       "no image between these states samples the barrier: run a band for this hop")
        hops.append(hop)
    return hops


def hopeless(stages: list[list[dict]], n_images: int) -> str | None:
    """Why a band that is still running cannot end in one barrier, judged from the log rows of
    its stages so far (:func:`parse_neb_log`); ``None``: it may still. The force's progress is
    judged within the current stage (the climbing image starts from a larger force)."""
    rows = [r for stage in stages for r in stage]
    if not rows:
        return None
    last = rows[-1]
    since = None
    for row in reversed(rows):  # an interior image below the lower endpoint, row after row
        _, pe = profile_of(row, n_images)
        if min(pe[0], pe[-1]) - pe[1:-1].min() <= BELOW_TOL_EV:
            break
        since = row
    if since is not None and last["Step"] - since["Step"] >= BELOW_ITERATIONS:
        _, pe = profile_of(last, n_images)
        k = int(np.argmin(pe[1:-1])) + 2
        return (f"image {k} has stayed below the lower endpoint since iteration {int(since['Step'])} (now "
                f"{min(pe[0], pe[-1]) - pe[k - 1]:.3f} eV below): the path passes a lower state than its endpoints, "
                f"so there is no barrier between them; relax image {k} (images.extxyz) and start a band from it")
    current = stages[-1] or rows
    steps = np.array([r["Step"] for r in current], float)
    force = np.array([r["MaxReplicaForce"] for r in current], float)
    recent = steps > steps[-1] - STALL_ITERATIONS
    if steps[-1] - steps[0] >= 2 * STALL_ITERATIONS and (~recent).any():
        best = force[~recent].min()
        if force[recent].min() > STALL_GAIN * best:
            return (f"no progress: the largest NEB force has not dropped below {STALL_GAIN:g} × its earlier best "
                    f"({best:.3g} eV/Å) in the last {STALL_ITERATIONS} iterations (now {force[-1]:.3g} eV/Å)")
    return None


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
