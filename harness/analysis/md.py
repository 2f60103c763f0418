"""Post-processing of one MD run folder into a JSON-serialisable results dict."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..errors import AnalysisError
from ..files import jsonable
from ..io.elements import element_mass
from ..io.lammps_dump import DumpIndex, index_dump, iter_dump
from ..io.thermo import read_thermo
from .correlate import LagCorrelator
from .msd import MSDAccumulator, fit_diffusion
from .pressure import pressure_summary, summarize_series
from .rdf import DEFAULT_BINS, compute_rdf, default_r_max
from .trajectory import universe_from_arrays
from .vdos import spectra

MIN_FRAMES_TIME_CORRELATION = 4
RDF_MAX_FRAMES = 2000  # g(r) is converged long before; bounds the cost of long runs
# Lag window of the VACF and the MSD, in frames: the trajectory is streamed through it, so
# memory is set by this window, not by the run length. 4096 frames of 10 fs = 41 ps, a VDOS
# resolution of 0.012 THz; shorter runs use all their frames (exactly the one-FFT result).
MAX_LAG_FRAMES = 4096
BLOCK_FRAMES = 256  # frames parsed at a time


OBSERVABLES = ("temperature", "pressure", "rdf", "vdos", "msd")
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
    max_lag: int | None = None,
    progress=None,
    skip: tuple[str, ...] = (),
    complete_to: int | None = None,
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

    The dump is read once, in blocks of :data:`BLOCK_FRAMES` frames: memory depends on the
    lag window and on :data:`RDF_MAX_FRAMES` (the frames the g(r) uses, evenly strided), not
    on the length of the run.

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
    else:
        index = {"skipped": f"{dump_path.name} not found"}

    last = {"thermo": int(thermo["step"][-1]) if thermo is not None and len(thermo["step"]) else None,
            "dump": int(index.steps[-1]) if not isinstance(index, dict) and index.n_frames else None}
    results["last_step"] = last
    if complete_to is not None:
        for name, path, every in (("thermo", thermo_path, thermo_every), ("dump", dump_path, dump_every)):
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
            stream = _stream(index, elements, frame_dt_ps, dimension, rdf_bins, time_ok,
                             max_lag or MAX_LAG_FRAMES, progress, rdf="rdf" in wanted)
        except ValueError as exc:
            raise AnalysisError(f"{dump_path.name}: {exc}") from None
        results.update(stream)
    if time_skip is not None:
        results.update(vdos=time_skip, msd=time_skip)
    return _finish(results, skip)


def _finish(results: dict, skip: tuple[str, ...]) -> dict:
    """Observables asked to be left out are marked so; ``skipped`` lists every one not computed."""
    for name in skip:
        results[name] = {"skipped": ASKED}
    results["skipped"] = {name: results[name]["skipped"] for name in OBSERVABLES
                          if isinstance(results.get(name), dict) and "skipped" in results[name]}
    return jsonable(results, 7)


class TrajectoryObservables:
    """RDF, VDOS and MSD of a trajectory fed block by block, with memory bounded by the lag window.

    The g(r) uses at most ``rdf_max_frames`` frames, evenly strided (every ``rdf_every``-th);
    the VACF and the MSD are exact over all time origins for lags below ``max_lag``
    (:class:`~harness.analysis.correlate.LagCorrelator`).

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
        Lag window in frames (capped at ``n_frames``).
    time_correlations : bool
        False skips VDOS and MSD (e.g. unequally spaced frames).
    """

    def __init__(self, symbols: list[str], n_frames: int, frame_dt_ps: float, *, dimension: int = 3,
                 max_lag: int = MAX_LAG_FRAMES, time_correlations: bool = True,
                 rdf_max_frames: int = RDF_MAX_FRAMES):
        self.symbols = list(symbols)
        self.names = list(dict.fromkeys(self.symbols))
        self.masses = np.array([element_mass(e) for e in self.symbols])
        self.n_frames, self.frame_dt_ps, self.dimension = int(n_frames), float(frame_dt_ps), dimension
        self.rdf_every = max(1, -(-self.n_frames // rdf_max_frames))
        n_rdf = -(-self.n_frames // self.rdf_every)
        self._rdf_pos = np.empty((n_rdf, len(self.symbols), 3), np.float32)
        self._rdf_dims = np.empty((n_rdf, 6))
        self.r_max_A = math.inf  # half the narrowest cell width seen
        self.lag = min(self.n_frames, int(max_lag))
        self.time_correlations = time_correlations
        self._msd = MSDAccumulator(self.masses, dimension, max_lag=self.lag) if time_correlations else None
        labels = np.array([self.names.index(e) for e in self.symbols])
        self._vacf = LagCorrelator(self.lag, labels, self.masses) if time_correlations else None
        self._has_velocities = None
        self.done = 0

    def add(self, positions_A: np.ndarray, velocities_A_per_ps: np.ndarray | None, dimensions: np.ndarray) -> None:
        """Append equally spaced frames: unwrapped positions (m, N, 3), velocities or None, (m, 6) cells."""
        m = len(positions_A)
        if self.done + m > self.n_frames:
            raise ValueError(f"more than the {self.n_frames} frames announced")
        if self._has_velocities is None:
            self._has_velocities = velocities_A_per_ps is not None
        elif self._has_velocities != (velocities_A_per_ps is not None):
            raise ValueError("velocities present in some frames and not in others")
        k = np.arange(self.done, self.done + m)
        take = k % self.rdf_every == 0
        self._rdf_pos[k[take] // self.rdf_every] = positions_A[take]
        self._rdf_dims[k[take] // self.rdf_every] = dimensions[take]
        self.r_max_A = min(self.r_max_A, default_r_max(dimensions))
        if self._msd is not None:
            self._msd.add(positions_A)
            if velocities_A_per_ps is not None:
                self._vacf.add(velocities_A_per_ps)
        self.done += m

    def rdf(self, nbins: int = DEFAULT_BINS, r_max_A: float | None = None) -> dict:
        """g(r) (see :func:`~harness.analysis.rdf.compute_rdf`) up to ``r_max_A`` (default :attr:`r_max_A`)."""
        n = -(-self.done // self.rdf_every)
        u = universe_from_arrays(self._rdf_pos[:n], self.symbols, self._rdf_dims[:n], self.frame_dt_ps * self.rdf_every)
        return compute_rdf(u, nbins=nbins, r_max_A=r_max_A or self.r_max_A)

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
        }

    def msd(self) -> dict:
        """MSD(t) with the centre-of-mass drift removed, and D from its linear part."""
        if not self.time_correlations:
            return {"skipped": "time correlations not computed"}
        t, m = self._msd.finish(self.frame_dt_ps)
        return {"time_ps": t, "msd_A2": m, "dimension": self.dimension, "com_drift_removed": True,
                "lag_window_frames": int(len(t)), **fit_diffusion(t, m, self.dimension)}


def _stream(index: DumpIndex, elements, frame_dt_ps, dimension, rdf_bins, time_ok, max_lag, progress,
            rdf: bool = True) -> dict:
    """One pass over the dump, block by block, into a :class:`TrajectoryObservables`."""
    obs = None
    for frames, symbols in iter_dump(index, elements, BLOCK_FRAMES):
        if obs is None:
            obs = TrajectoryObservables(symbols, index.n_frames, frame_dt_ps, dimension=dimension,
                                        max_lag=max_lag, time_correlations=time_ok)
        obs.add(frames.positions_A, frames.velocities_A_per_ps, frames.dimensions)
        if progress is not None:
            progress(obs.done, index.n_frames)
    out = {"n_atoms": len(obs.symbols)}
    if rdf:
        out["rdf"] = obs.rdf(rdf_bins)
    if time_ok:
        out.update(vdos=obs.vdos(), msd=obs.msd())
    return out
