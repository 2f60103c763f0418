"""Post-processing of one MD run folder into a JSON-serialisable results dict."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .msd import compute_msd, fit_diffusion
from .pressure import pressure_summary, summarize_series
from .rdf import DEFAULT_BINS, compute_rdf, default_r_max
from .thermo import read_thermo
from .trajectory import (Frames, load_dump_universe, memory_universe, read_dump_fast, read_frames,
                         universe_from_arrays)
from .vdos import partial_vdos, vacf

MIN_FRAMES_TIME_CORRELATION = 4
RDF_MAX_FRAMES = 2000  # g(r) is converged long before; bounds the cost of long runs


def _compact(x, digits: int = 7):
    """Recursively turn arrays/numpy scalars into JSON-safe lists/floats (NaN -> None)."""
    if isinstance(x, dict):
        return {str(k): _compact(v, digits) for k, v in x.items()}
    if isinstance(x, np.ndarray):
        x = x.tolist()
    if isinstance(x, (list, tuple)):
        return [_compact(v, digits) for v in x]
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        x = float(x)
        return float(f"{x:.{digits}g}") if math.isfinite(x) else None
    return x


def _guard(fn, *args, **kwargs) -> dict:
    """Run one metric; a failure becomes {"skipped": reason} instead of aborting the rest."""
    try:
        return fn(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - tolerance is the point here
        return {"skipped": f"{type(exc).__name__}: {exc}"}


def _thermo_block(thermo: dict, temperature_K: float, dimension: int) -> dict:
    n = len(thermo["step"])
    if n == 0:
        return {"skipped": "no thermo rows after equilibration"}
    t = summarize_series(thermo["temperature_K"], "K")
    out = {
        "temperature": {
            "mean_K": t["mean_K"], "std_K": t["std_K"], "sem_K": t["sem_K"],
            "target_K": float(temperature_K),
        },
        "pressure": pressure_summary(thermo, dimension=dimension),
        "n_rows": n,
    }
    for key, unit in (("etotal_eV", "eV"), ("pe_eV", "eV"), ("volume_A3", "A3")):
        if key in thermo:
            s = summarize_series(thermo[key], unit)
            s.pop("histogram")
            out[key.rsplit("_", 1)[0]] = s
    return out


def _vdos_block(frames, masses, elements_per_atom, frame_dt_ps) -> dict:
    if frames.velocities_A_per_ps is None:
        return {"skipped": "dump has no vx vy vz columns"}
    if frames.n_frames < MIN_FRAMES_TIME_CORRELATION:
        return {"skipped": f"{frames.n_frames} frames < {MIN_FRAMES_TIME_CORRELATION}"}
    v = frames.velocities_A_per_ps
    groups = {e: np.nonzero(elements_per_atom == e)[0]
              for e in dict.fromkeys(elements_per_atom)}
    freq, total, partials = partial_vdos(v, frame_dt_ps, groups, masses=masses)
    c = vacf(v, masses=masses)
    return {
        "frequency_THz": freq,
        "total": total,
        "per_element": partials,
        "resolution_THz": float(freq[1] - freq[0]),
        "nyquist_THz": float(0.5 / frame_dt_ps),
        "peak_THz": float(freq[np.argmax(total)]),
        "mass_weighted": True,
        "window": "right half of Hann on one-sided VACF",
        "vacf": {"time_ps": np.arange(len(c)) * frame_dt_ps, "normalized": c},
    }


def _msd_block(u_mem, frames, frame_dt_ps, dimension) -> dict:
    if frames.n_frames < MIN_FRAMES_TIME_CORRELATION:
        return {"skipped": f"{frames.n_frames} frames < {MIN_FRAMES_TIME_CORRELATION}"}
    t, msd = compute_msd(u_mem, frame_dt_ps, dimension=dimension)
    return {"time_ps": t, "msd_A2": msd, "dimension": dimension,
            "com_drift_removed": True, **fit_diffusion(t, msd, dimension)}


def analyze_md(
    run_dir: str | Path,
    *,
    elements: list[str],
    timestep_fs: float,
    dump_every: int,
    thermo_every: int,
    temperature_K: float,
    equilibration_ps: float = 0.0,
    dimension: int = 3,
    rdf_bins: int = DEFAULT_BINS,
) -> dict:
    """Analyse ``run_dir/traj.lammpstrj`` and ``run_dir/thermo.dat``.

    Parameters
    ----------
    run_dir : str or Path
    elements : list of str
        Element of LAMMPS type k is ``elements[k-1]``.
    timestep_fs : float
        MD timestep (fs).
    dump_every, thermo_every : int
        Output intervals in steps (frame spacing = dump_every * timestep).
    temperature_K : float
        Target temperature, reported next to the measured one.
    equilibration_ps : float
        Rows/frames earlier than this after the first recorded step (the
        smaller of the first thermo step and the first dump step) are dropped.
    dimension : {3, 2}
        2 uses the in-plane pressure (pxx+pyy)/2 and in-plane MSD (4 D t).
    rdf_bins : int

    Returns
    -------
    dict
        JSON-serialisable; keys carry units. Sections ``temperature``,
        ``pressure``, ``energy``..., ``rdf``, ``vdos``, ``msd``, and ``n_frames``,
        ``n_atoms``. A section that cannot be computed is ``{"skipped": reason}``.
    """
    run_dir = Path(run_dir)
    dt_ps = timestep_fs * 1.0e-3
    frame_dt_ps = dump_every * dt_ps
    results: dict = {
        "units": {"length": "A", "time": "ps", "energy": "eV", "pressure": "GPa",
                  "temperature": "K", "frequency": "THz"},
        "settings": {"timestep_fs": timestep_fs, "dump_every": dump_every,
                     "thermo_every": thermo_every, "equilibration_ps": equilibration_ps,
                     "dimension": dimension, "elements": list(elements)},
    }

    thermo_path, dump_path = run_dir / "thermo.dat", run_dir / "traj.lammpstrj"
    thermo = read_thermo(thermo_path, timestep_fs) if thermo_path.exists() else None
    fast = _guard(read_dump_fast, dump_path, elements) if dump_path.exists() else None
    if isinstance(fast, tuple):  # the numpy reader (orthogonal boxes): no MDAnalysis parsing
        all_frames, symbols = fast
        u = None
    else:
        u = _guard(load_dump_universe, dump_path, elements, timestep_fs) \
            if dump_path.exists() else {"skipped": f"{dump_path.name} not found"}
        if isinstance(fast, dict) and isinstance(u, dict):
            u = fast  # report the fast reader's reason

    first_steps = []
    if thermo is not None and len(thermo["step"]):
        first_steps.append(int(thermo["step"][0]))
    if u is None and all_frames.n_frames:
        first_steps.append(int(all_frames.step[0]))
    elif u is not None and not isinstance(u, dict):
        first_steps.append(int(u.trajectory.ts.data["step"]))
    step0 = min(first_steps) if first_steps else 0
    min_step = step0 + int(math.ceil(equilibration_ps / dt_ps - 1e-9))

    if thermo is None:
        results.update(temperature={"skipped": "thermo.dat not found"},
                       pressure={"skipped": "thermo.dat not found"})
    else:
        keep = thermo["step"] >= min_step
        thermo = {k: v[keep] for k, v in thermo.items()}
        block = _guard(_thermo_block, thermo, temperature_K, dimension)
        results.update(block if "skipped" not in block
                       else {"temperature": block, "pressure": block})

    if isinstance(u, dict):
        results.update(rdf=u, vdos=u, msd=u, n_frames=0, n_atoms=0)
        return _compact(results)

    if u is None:
        i0 = int(np.searchsorted(all_frames.step, min_step))  # views, no copies
        frames = Frames(all_frames.step[i0:], all_frames.positions_A[i0:],
                        None if all_frames.velocities_A_per_ps is None else all_frames.velocities_A_per_ps[i0:],
                        all_frames.dimensions[i0:])
    else:
        frames = read_frames(u, min_step=min_step)
    results["n_frames"] = frames.n_frames
    results["n_atoms"] = len(symbols) if u is None else int(u.atoms.n_atoms)
    if frames.n_frames == 0:
        skip = {"skipped": "no trajectory frames after equilibration"}
        results.update(rdf=skip, vdos=skip, msd=skip)
        return _compact(results)

    spacing = np.diff(frames.step)
    if len(spacing) and np.any(spacing != dump_every):
        # Time correlations need equally spaced frames at the stated interval.
        skip = {"skipped": f"frame spacing {sorted(set(spacing.tolist()))[:5]} steps "
                           f"!= dump_every={dump_every}"}
        results.update(vdos=skip, msd=skip)
        time_ok = False
    else:
        time_ok = True

    if u is None:
        u_mem = universe_from_arrays(frames.positions_A, symbols, frames.dimensions, frame_dt_ps,
                                     frames.velocities_A_per_ps)
        u = u_mem  # topology (elements, masses) for what follows
    else:
        u_mem = memory_universe(u, frames, frame_dt_ps)
    results["rdf"] = _guard(compute_rdf, u_mem, nbins=rdf_bins,
                            r_max_A=default_r_max(frames.dimensions),
                            max_frames=RDF_MAX_FRAMES)
    if time_ok:
        masses = u.atoms.masses.astype(float)
        results["vdos"] = _guard(_vdos_block, frames, masses,
                                 np.asarray(u.atoms.elements), frame_dt_ps)
        results["msd"] = _guard(_msd_block, u_mem, frames, frame_dt_ps, dimension)
    return _compact(results)
