"""Post-processing of one MD run folder into a JSON-serialisable results dict."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..errors import AnalysisError
from ..files import jsonable
from ..io.lammps_dump import index_dump
from ..io.thermo import read_thermo
from .pressure import pressure_summary, summarize_series
from .rdf import DEFAULT_BINS
from .stream import MAX_LAG_FRAMES, stream_dump

MIN_FRAMES_TIME_CORRELATION = 4


OBSERVABLES = ("temperature", "pressure", "rdf", "vdos", "msd", "kappa")
ASKED = "left out on request (--skip)"


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
    rdf_r_max_A: float | None = None,
    max_lag: int | None = None,
    progress=None,
    skip: tuple[str, ...] = (),
    complete_to: int | None = None,
    observables: dict | None = None,
    counts: dict[str, int] | None = None,
    kappa_options: dict | None = None,
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
    rdf_r_max_A : float, optional
        g(r) range [default: half the narrowest cell width, at most 12 Å].
    max_lag : int, optional
        Lag window of the VACF (hence VDOS resolution 1/(2 L dt)) and of the MSD, in frames;
        default :data:`MAX_LAG_FRAMES` (or all frames if fewer).
    progress : callable(done, total), optional
        Called after each block of frames is parsed.
    skip : tuple of str
        Observables (of :data:`OBSERVABLES`) to leave out on purpose.
    complete_to : int, optional
        The step a completed run ended at: ``thermo.dat`` and the dump must reach their last
        output step before it, or :class:`AnalysisError` says which was cut short (a file
        truncated or edited after the run, analysed silently on what is left otherwise).
    observables : dict, optional
        What the run computed in-situ (``summary.json``'s ``observables``): with ``insitu``, g(r),
        MSD and VDOS come from LAMMPS' files (:mod:`.insitu`) and the dump, if any, is not read for
        them; with ``heat_flux``, the section ``kappa`` (Green–Kubo, ``kappa_options`` passed on).
    counts : dict, optional
        Atoms of each element (the in-situ VDOS weights each element's VACF by its mass and count).

    The dump is read once, in blocks (:mod:`.stream`): memory is bounded by a budget (the
    lag window, one block, one frame's pairs within r_max), never by atoms × frames.

    Returns
    -------
    dict
        JSON-serialisable; keys carry units. Sections ``temperature``,
        ``pressure``, ``energy``..., ``rdf``, ``vdos``, ``msd``, and ``n_frames``,
        ``n_atoms``, ``notes`` (frames or rows of a cut-short tail that were dropped). A
        section that cannot be computed is ``{"skipped": reason}``, for named reasons only
        (no thermo file or dump, no frames after equilibration, too few or unequally spaced
        frames for time correlations, no velocities); anything else raises
        :class:`AnalysisError` with the reason.
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
    notes: list[str] = []
    results["notes"] = notes
    dropped: list[str] = []
    thermo = read_thermo(thermo_path, timestep_fs, dropped) if thermo_path.exists() else None
    notes += [f"{thermo_path.name}: {d}: dropped" for d in dropped]
    if dump_path.exists():
        try:
            index = index_dump(dump_path)
        except ValueError as exc:
            raise AnalysisError(str(exc)) from None
        if index.truncated:
            notes.append(f"{dump_path.name}: {index.truncated}: dropped")
    elif not dump_every:
        index = {"skipped": "no dump asked for (dump_every 0; --insitu computes g(r), MSD and VDOS without one)"}
    else:
        index = {"skipped": f"{dump_path.name} not found"}

    last = {"thermo": int(thermo["step"][-1]) if thermo is not None and len(thermo["step"]) else None,
            "dump": int(index.steps[-1]) if not isinstance(index, dict) and index.n_frames else None}
    results["last_step"] = last
    if complete_to is not None:
        for name, path, every in (("thermo", thermo_path, thermo_every), ("dump", dump_path, dump_every)):
            if not every:  # (no dump asked for)
                continue
            expected = complete_to // every * every
            if path.exists() and (last[name] is None or last[name] < expected):
                ends = f"ends at step {last[name]}" if last[name] is not None else "holds no complete row or frame"
                raise AnalysisError(f"{path.name} {ends}, but the run completed {complete_to} steps (its last "
                                    f"output is at step {expected}): the file was cut or edited after the run; "
                                    f"analyse what is left with --partial")

    first_steps = []
    if thermo is not None and len(thermo["step"]):
        first_steps.append(int(thermo["step"][0]))
    if not isinstance(index, dict) and index.n_frames:
        first_steps.append(int(index.steps[0]))
    step0 = min(first_steps) if first_steps else 0
    min_step = step0 + int(math.ceil(equilibration_ps / dt_ps - 1e-9))

    if thermo is None:
        results.update(temperature={"skipped": "thermo.dat not found"},
                       pressure={"skipped": "thermo.dat not found"})
    else:
        keep = thermo["step"] >= min_step
        thermo = {k: v[keep] for k, v in thermo.items()}
        block = _thermo_block(thermo, temperature_K, dimension)
        results.update(block if "skipped" not in block
                       else {"temperature": block, "pressure": block})

    observables = observables or {}
    if observables.get("heat_flux") and "kappa" not in skip:
        results["kappa"] = _kappa(run_dir, observables, thermo, min_step, timestep_fs, kappa_options or {})
    if observables.get("insitu"):
        results.update(_insitu(run_dir, observables, elements, counts or {}, thermo, min_step, timestep_fs,
                               max_lag or MAX_LAG_FRAMES, skip))
        results["n_frames"] = 0 if isinstance(index, dict) else int(np.sum(index.steps >= min_step))
        return _finish(results, skip)
    if isinstance(index, dict):
        results.update(rdf=index, vdos=index, msd=index, n_frames=0, n_atoms=0)
        return _finish(results, skip)
    index = index.select(index.steps >= min_step)
    results["n_frames"] = index.n_frames
    results["n_atoms"] = 0
    if index.n_frames == 0:
        none = {"skipped": "no trajectory frames after equilibration"}
        results.update(rdf=none, vdos=none, msd=none)
        return _finish(results, skip)
    spacing = np.diff(index.steps)
    time_skip = None
    if len(spacing) and np.any(spacing != dump_every):
        # Time correlations need equally spaced frames at the stated interval.
        time_skip = {"skipped": f"frame spacing {sorted(set(spacing.tolist()))[:5]} steps "
                                f"!= dump_every={dump_every}"}
    elif index.n_frames < MIN_FRAMES_TIME_CORRELATION:
        time_skip = {"skipped": f"{index.n_frames} frames < {MIN_FRAMES_TIME_CORRELATION}"}
    wanted = {k for k in ("rdf", "vdos", "msd") if k not in skip}
    time_ok = time_skip is None and bool(wanted & {"vdos", "msd"})
    if "rdf" in wanted or time_ok:
        try:
            stream = stream_dump(index, elements, frame_dt_ps, dimension, rdf_bins, time_ok,
                                 max_lag or MAX_LAG_FRAMES, progress, rdf="rdf" in wanted, rdf_r_max_A=rdf_r_max_A)
        except ValueError as exc:
            raise AnalysisError(f"{dump_path.name}: {exc}") from None
        results.update(stream)
    if time_skip is not None:
        results.update(vdos=time_skip, msd=time_skip)
    return _finish(results, skip)


def _mean_of(thermo: dict | None, key: str) -> float | None:
    return float(np.mean(thermo[key])) if thermo is not None and len(thermo.get(key, ())) else None


def _insitu(run_dir: Path, obs: dict, elements, counts, thermo, min_step, timestep_fs, max_lag, skip) -> dict:
    """g(r), MSD and VDOS from the files LAMMPS wrote while it ran (:mod:`.insitu`)."""
    from .insitu import msd_insitu, rdf_insitu, vdos_insitu

    files = dict(zip(("rdf", "msd", "vacf"), obs.get("files", [])[:3]))
    missing = {"skipped": "in-situ file not found", "source": "in-situ"}
    out = {"n_atoms": int(sum(counts.values())) if counts else 0}
    if "rdf" not in skip:
        path = run_dir / files.get("rdf", "rdf.dat")
        # a block averages the samples before its step: the first one whole after the equilibration
        first = min_step + (obs.get("rdf_block", 1) - 1) * obs.get("rdf_every", obs.get("sample_every", 1))
        out["rdf"] = rdf_insitu(path, elements, first, out["n_atoms"], _mean_of(thermo, "volume_A3")) \
            if path.is_file() else {**missing, "skipped": f"{path.name} not found"}
    if "msd" not in skip:
        path = run_dir / files.get("msd", "msd.dat")
        out["msd"] = msd_insitu(path, elements, timestep_fs) if path.is_file() else \
            {**missing, "skipped": f"{path.name} not found"}
    if "vdos" not in skip:
        path = run_dir / files.get("vacf", "vacf.dat")
        out["vdos"] = vdos_insitu(path, elements, counts, timestep_fs, max_lag) if path.is_file() else \
            {**missing, "skipped": f"{path.name} not found"}
    return out


def _kappa(run_dir: Path, obs: dict, thermo, min_step, timestep_fs, options) -> dict:
    """Green–Kubo κ from ``heatflux.dat`` (:mod:`.kappa`), at the run's mean volume and temperature."""
    from .insitu import kappa_insitu

    path = run_dir / (obs.get("files") or ["heatflux.dat"])[-1]
    check = run_dir / "virial_check.dat"
    volume, temperature = _mean_of(thermo, "volume_A3"), _mean_of(thermo, "temperature_K")
    if not path.is_file():
        return {"skipped": f"{path.name} not found"}
    if volume is None or temperature is None:
        return {"skipped": "thermo.dat has no rows after the equilibration (κ needs T and V)"}
    try:
        return kappa_insitu(path, min_step, timestep_fs, volume, temperature, check=check, **options)
    except ValueError as exc:
        return {"skipped": str(exc)}


def _finish(results: dict, skip: tuple[str, ...]) -> dict:
    """Observables asked to be left out are marked so; ``skipped`` lists every one not computed."""
    for name in skip:
        results[name] = {"skipped": ASKED}
    results["skipped"] = {name: results[name]["skipped"] for name in OBSERVABLES
                          if isinstance(results.get(name), dict) and "skipped" in results[name]}
    return jsonable(results, 7)
