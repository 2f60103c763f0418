"""What a band left in its run folder: its log across resumes (each ``--resume`` starts a new
universe log whose count starts again) and the states inside a converged band (interior minima
relaxed: a band with one of its own holds several hops).

Used by :class:`harness.tasks.neb.NEBTask`'s execute and collect."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from ..analysis.neb import convergence_history, minimum_candidates, parse_neb_log, path_minima, profile_of
from ..errors import SimulationError

# the logs of the segments before each resume: their names, their first iteration in the
# whole run's count and the iteration (in their own count) the next segment resumed from
SEGMENTS = "neb_segments.json"
LOG = "log.neb.lammps"
# endpoints that relax to within this (largest atom displacement, Å) are the same state
SAME_STATE_A = 0.1


def segments(run_dir: Path) -> list[dict]:
    """The logs of the segments before each resume (:data:`SEGMENTS`)."""
    path = Path(run_dir) / SEGMENTS
    return json.loads(path.read_text()) if path.is_file() else []

def offset(done: list[dict]) -> int:
    """The whole run's iteration at which the current log's count starts (``done``: the
    :func:`segments` before it)."""
    return done[-1]["first_iteration"] + done[-1]["resumed_from"] if done else 0

def history(run_dir: Path, log: dict) -> list[dict]:
    """Every logged iteration of the run (``log``: the current segment's), across resumes,
    counted from the run's start."""
    out = []
    done = segments(run_dir)
    for i, seg in enumerate(done, start=1):
        for row in convergence_history(parse_neb_log(Path(run_dir) / seg["log"])):
            if row["iteration"] <= seg["resumed_from"]:
                out.append({**row, "iteration": row["iteration"] + seg["first_iteration"], "segment": i})
    first = offset(done)
    out += [{**row, "iteration": row["iteration"] + first, "segment": len(done) + 1}
            for row in convergence_history(log)]
    return out

def interior_states(task, run_dir: Path, progress: bool) -> list[dict]:
    """Relax every place of the converged band where the energy along the path has a local
    minimum — interior images no higher than their neighbours
    (:func:`~harness.analysis.neb.minimum_candidates`) and points between images where the
    curve through the energies and the forces along the path has one
    (:func:`~harness.analysis.neb.path_minima`) — and say whether each stays in a state of its
    own, apart from both endpoints and from the states found before it: such a state splits
    the band into several hops. ``task``: the :class:`~harness.tasks.neb.NEBTask` of ``run_dir``."""
    from ase.geometry import find_mic

    from ..forces import ForceSession
    from ..lammps.launch import InProcess

    log = parse_neb_log(run_dir / LOG)
    if not log["stages"] or not log["stages"][-1]:
        return []
    _, pe = profile_of(log["stages"][-1][-1], task.n_images)
    images = task.final_images(run_dir, pe)
    initial, final = task.relaxed_atoms(run_dir)
    with ForceSession(task.model, initial, engine=task.choice.name, workdir=run_dir / "band-forces",
                      caps=task.caps) as fs:
        forces = [fs.evaluate(a.positions).forces_eV_A for a in images]
    cell = np.asarray(initial.cell)
    places: list[float] = [float(k) for k in minimum_candidates(pe)]
    places += [t for t in path_minima([a.positions for a in images], cell, pe, forces)
               if not any(abs(t - k) < 0.5 for k in places)]
    states = [initial, final]  # the endpoints, then each state found
    names = ["the initial state", "the final state"]
    out = []
    for at in sorted(places):
        k, t = int(np.floor(at)), at - np.floor(at)
        start = images[k - 1].copy()
        if t > 0:  # a point between images k and k + 1 (minimum image)
            step = find_mic(images[k].positions - start.positions, cell, pbc=True)[0]
            start.positions = start.positions + t * step
        label = f"image {k}" if t == 0 else f"the point {at:.2f} (between images {k} and {k + 1})"
        which = f"image{k}" if t == 0 else f"point{k}_{int(round(t * 100)):02d}"
        base = {"image": k if t == 0 else None, "at": round(at, 3), "image_energy_eV": float(pe[k - 1] - pe[0])}
        task.write_data(run_dir / f"{which}.data", start)
        task.render_relax(run_dir, which, f"{label} of the converged band", f"{which}.data",
                           f"relaxed_{which}.data")
        try:
            r = InProcess().run(task, run_dir, {"kind": "relax", "which": which})
        except SimulationError as exc:
            out.append({**base, "state_of_its_own": None, "error": str(exc)})
            continue
        relaxed = task.read_data(run_dir / f"relaxed_{which}.data")
        moved = [float(find_mic(relaxed.positions - other.positions, cell, pbc=True)[1].max()) for other in states]
        same = int(np.argmin(moved)) if min(moved) < SAME_STATE_A else None
        entry = {**base, "relaxed_energy_eV": float(r["energy_eV"] - pe[0]), "max_force_eV_A": r["max_force_eV_A"],
                 "iterations": r["iterations"], "moved_A":
                     float(find_mic(relaxed.positions - start.positions, cell, pbc=True)[1].max()),
                 "nearest_state_A": min(moved), "state_of_its_own": same is None,
                 "same_as": names[same] if same is not None else None}
        if same is None:
            states.append(relaxed)
            names.append(f"the state of {label}")
        out.append(entry)
        if progress:
            where = "a state of its own" if same is None else names[same]
            print(f"[neb] {label} relaxed to {where} (E = {entry['relaxed_energy_eV']:+.4f} eV from the "
                  f"initial state; {entry['nearest_state_A']:.3f} Å from the nearest state)", file=sys.stderr)
    return out
