"""Compare a model's MD run with a reference trajectory (Dyna-Mat errors): the task.

``compare_run(CompareSettings(run, reference))`` reads the run folder (:class:`ModelRun`: frames
after equilibration, thermo rows) and the reference (:func:`~harness.io.trajectory.read_trajectory`),
checks they hold the same system, has :func:`~harness.analysis.compare.compare_observables`
compute the RDF, VDOS and pressure of both sides on matched frame intervals and durations and
their errors, and writes ``<run>/compare-<ref stem>.json`` (with provenance) and overlay
figures (:mod:`harness.report.compare`). ``system_from_reference`` writes a system YAML that
runs the model in the reference's cell from its first frame. (Single points on labelled frames
are the singlepoint task, :mod:`harness.tasks.singlepoint`.)
"""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import numpy as np

from ..analysis.compare import DEFINITIONS, compare_observables
from ..config import CompareSettings
from ..errors import CompareError, RunFolderError
from ..files import file_sha256, jsonable, write_json
from ..io.elements import element_mass
from ..io.lammps_dump import index_dump, iter_dump
from ..io.thermo import read_thermo
from ..io.trajectory import ReferenceTrajectory, read_trajectory
from ..progress import frame_progress
from ..provenance import host_info, now, package_versions
from .analyze import require_md


# ============================================================================ the model run
class ModelRun:
    """A completed harness MD run: frames after equilibration, thermo rows, settings."""

    def __init__(self, run_dir: Path | str, partial: bool = False):
        self.run_dir = Path(run_dir)
        try:
            self.record = record = require_md(self.run_dir, partial=partial, what="compare")
        except RunFolderError as exc:
            raise CompareError(str(exc)) from None
        md = record.md
        self.timestep_fs = md.timestep_fs
        self.dump_every, self.thermo_every = md.dump_every, md.thermo_every
        self.temperature_K = md.temperature_K
        self.elements = record.elements
        dt_ps = self.timestep_fs * 1e-3
        index = index_dump(self.run_dir / "traj.lammpstrj")
        thermo = read_thermo(self.run_dir / "thermo.dat", self.timestep_fs)
        first = [int(s) for s in index.steps[:1]] + ([int(thermo["step"][0])] if len(thermo["step"]) else [])
        step0 = min(first) if first else 0
        min_step = step0 + int(math.ceil(md.equilibration_ps / dt_ps - 1e-9))
        self.index = index.select(index.steps >= min_step)  # frames after equilibration; parsed on demand
        keep = thermo["step"] >= min_step
        self.thermo = {k: v[keep] for k, v in thermo.items()}
        self.frame_dt_ps = self.dump_every * dt_ps
        self.thermo_dt_ps = self.thermo_every * dt_ps
        if self.n_frames > 1 and np.any(np.diff(self.index.steps) != self.dump_every):
            raise CompareError(f"{self.run_dir}: dump frames are not every {self.dump_every} steps")
        self.first, self.symbols = next(iter_dump(self.index.select(slice(0, 1)), self.elements)) \
            if self.n_frames else (None, [])
        self.masses = np.array([element_mass(e) for e in self.symbols])

    @property
    def n_frames(self) -> int:
        return self.index.n_frames

    def blocks(self, idx):
        """Frames ``idx`` (after equilibration), parsed block by block (see :func:`iter_dump`)."""
        return (frames for frames, _ in iter_dump(self.index.select(idx), self.elements))

    @property
    def label(self) -> str:
        return self.record.model_label

    def first_cell(self) -> np.ndarray:
        from MDAnalysis.lib.mdamath import triclinic_vectors

        return np.asarray(triclinic_vectors(self.first.dimensions[0]), dtype=float)


# ============================================================================ checks
def check_same_system(ref: ReferenceTrajectory, run: ModelRun) -> None:
    """One line for a reference of another atom count, composition or cell."""
    from ase.geometry import cell_to_cellpar

    if ref.n_atoms != len(run.symbols):
        raise CompareError(f"the reference has {ref.n_atoms} atoms, the run {run.run_dir.name} has {len(run.symbols)}; "
                           f"run the model on the reference's cell (harness campaign does)")
    cr, cm = Counter(ref.symbols), Counter(run.symbols)
    if cr != cm:
        fmt = lambda c: " ".join(f"{k}{v}" for k, v in sorted(c.items()))  # noqa: E731
        raise CompareError(f"the reference's composition {fmt(cr)} differs from the run's {fmt(cm)}")
    pr, pm = cell_to_cellpar(ref.cells_A[0]), cell_to_cellpar(run.first_cell())
    if np.any(np.abs(pr[:3] - pm[:3]) > 1e-3 * pm[:3]) or np.any(np.abs(pr[3:] - pm[3:]) > 0.1):
        show = lambda p: "a,b,c = " + ", ".join(f"{x:.4f}" for x in p[:3]) + " Å, angles " + ", ".join(  # noqa: E731
            f"{x:.2f}" for x in p[3:]) + "°"
        raise CompareError(f"the reference's cell ({show(pr)}) differs from the run's ({show(pm)}); run the model in "
                           f"the reference's cell (harness campaign does)")


def _skip_frames(ref: ReferenceTrajectory, skip_ps: float) -> ReferenceTrajectory:
    if not skip_ps:
        return ref
    if ref.frame_dt_ps is None:
        raise CompareError(f"{ref.source}: --reference-skip-ps needs the frame interval (give --reference-timestep "
                           f"and --reference-stride)")
    k = int(math.ceil(skip_ps / ref.frame_dt_ps - 1e-9))
    if k >= ref.n_frames:
        raise CompareError(f"{ref.source}: skipping {skip_ps:g} ps leaves no frames ({ref.n_frames} frames, "
                           f"{ref.frame_dt_ps * 1e3:g} fs apart)")
    return ref.select(slice(k, None))


# ============================================================================ compare
def compare_run(settings: CompareSettings, *, figures: bool = True, reference_traj: ReferenceTrajectory | None = None,
                progress: bool = False) -> tuple[Path, dict]:
    """Dyna-Mat errors of ``settings.run`` against ``settings.reference``; writes compare-<stem>.json.
    ``reference_traj``: the reference already read (a campaign reads it once for all models);
    ``progress``: frames read and analysed, with rates, on stderr."""
    s = settings
    run = ModelRun(s.run, partial=s.partial)
    reference = Path(s.reference)
    ref = reference_traj or read_trajectory(reference, s.fmt, timestep_fs=s.reference_timestep_fs,
                                            stride=s.reference_stride,
                                            elements=list(s.elements) if s.elements else None,
                                            temperature_K=s.reference_temperature_K,
                                            progress=frame_progress("compare: reading the reference") if progress
                                            else None, forces=False)  # the observables do not use forces
    check_same_system(ref, run)
    if ref.frame_dt_ps is None:
        raise CompareError(f"{reference}: the file does not state its time step; give --reference-timestep and "
                           f"--reference-stride")
    ref = _skip_frames(ref, s.reference_skip_ps)
    if run.n_frames == 0:
        raise CompareError(f"{run.run_dir}: no trajectory frames after equilibration")
    res = compare_observables(ref, run, dimension=s.dimension, vdos_resolution_THz=s.vdos_resolution_THz,
                              reference_name=reference.name, run_name=run.run_dir.name, progress=progress)

    doc: dict = {
        "task": "compare",
        "created": now(),
        "run": run.run_dir.name,
        "system": run.record.system_name,
        "model": run.label,
        "model_sha256": run.record.model_sha256,
        "engine": run.record.engine,
        "timing": {"ms_per_step": run.record.ms_per_step, "n_atoms": len(run.symbols)},
        "reference": {
            "file": str(reference.resolve()), "format": ref.format, "sha256": file_sha256(reference),
            "n_frames": ref.n_frames, "frame_dt_ps": ref.frame_dt_ps, "timestep_fs": ref.timestep_fs,
            "stride": ref.stride, "temperature_K": ref.temperature_K, "skip_ps": s.reference_skip_ps,
            "velocities": res["velocities"], "temperature_from_velocities_K": res["temperature_from_velocities_K"],
            "stress": None if ref.stress_eV_A3 is None else
            ("includes the kinetic part" if ref.stress_includes_kinetic else "potential part; kinetic term added"),
            "notes": ref.notes,
        },
        "matching": res["matching"],
        "definitions": DEFINITIONS,
        "errors": res["errors"],
        "skipped": res["skipped"],
    }
    if run.record.status != "completed":
        doc["partial"] = {"status": run.record.status, "model_frames": run.n_frames,
                          "last_step": int(run.index.steps[-1]) if run.n_frames else None,
                          "steps": (run.record.summary.get("resolved") or {}).get("protocol", {}).get("steps")}
    for section in ("rdf", "vdos", "diffusion", "pressure"):  # the document's order (no pressure: skipped)
        if section in res:
            doc[section] = res[section]

    stem = reference.stem if reference.name.lower() != "vasprun.xml" else "vasprun"
    stem = "".join(c if c.isalnum() or c in "._+-" else "-" for c in stem)
    if figures:
        from ..report.compare import plot_compare

        fig_dir = run.run_dir / "figures"
        fig_dir.mkdir(exist_ok=True)
        doc["figures"] = [str(p.relative_to(run.run_dir))
                          for p in plot_compare(doc, fig_dir, f"compare-{stem}", reference.name)]
    doc["versions"] = package_versions()
    doc["host"] = host_info()
    doc = jsonable(doc, 10)
    out = run.run_dir / f"compare-{stem}.json"
    write_json(out, doc)
    return out, doc


def headline(doc: dict) -> list[str]:
    """Human lines for the terminal."""
    e, sk = doc["errors"], doc.get("skipped", {})

    def show(key, unit="%", fmt="{:.1f}"):
        if e.get(key) is None:
            return f"skipped ({sk.get(key, 'n/a')})"
        return f"{fmt.format(e[key])} {unit}"

    m = doc["matching"]
    partial = doc.get("partial")
    return ([f"partial: the model run is '{partial['status']}'; its {partial['model_frames']} frames to step "
             f"{partial['last_step']} of {partial['steps']}"] if partial else []) + [
        f"{doc['model']} vs {Path(doc['reference']['file']).name}: {m['n_frames']} frames × "
        f"{m['frame_dt_ps'] * 1e3:g} fs ({m['duration_ps']:g} ps) on both sides; velocities: "
        f"{doc['reference']['velocities']}",
        f"E_RDF {show('E_RDF_percent')}   E_VDOS {show('E_VDOS_percent')}   E_P {show('E_P_percent')}",
        f"ΔP {show('delta_P_GPa', 'GPa', '{:.3f}')}   E_RPV {show('E_RPV_percent')}   L_RPV {show('L_RPV_percent')}",
        f"W1 (Wasserstein-1) VDOS {show('W1_VDOS_THz', 'THz', '{:.3f}')}   "
        f"pressure {show('W1_P_GPa', 'GPa', '{:.3f}')}",
    ]


# ============================================================================ set up from a reference
def system_from_reference(reference, name: str, out_dir, *, base_system: str | None = None,
                          temperature_K: float | None = None, fmt: str | None = None, **read_kw) -> Path:
    """A system YAML running the model in the reference's cell, species and first frame.

    Writes ``<out_dir>/<name>-first-frame.extxyz`` and ``<out_dir>/<name>.yaml`` (``structure:
    {file: ...}``; presets copied from ``base_system`` with supercell 1×1×1, since the frame is
    the whole cell). The temperature is the reference's (file) or ``temperature_K`` or the base
    system's.
    """
    import yaml
    from ase.io import write

    from ..config import load_system

    ref = reference if isinstance(reference, ReferenceTrajectory) else read_trajectory(reference, fmt, **read_kw)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    struct = out_dir / f"{name}-first-frame.extxyz"
    write(struct, ref.first_frame_atoms(), format="extxyz")
    base = load_system(base_system) if base_system else None
    T = temperature_K or ref.temperature_K or (base.temperature_K if base else None)
    if not T:
        raise CompareError(f"{ref.source}: no temperature in the reference; give one")
    if base is not None:
        presets = {k: {"supercell": [1, 1, 1], "timestep_fs": p.timestep_fs, "steps": p.steps,
                       "thermostat": p.thermostat, "thermostat_damping_fs": p.thermostat_damping_fs,
                       "thermostat_chain": p.thermostat_chain, "dump_every": p.dump_every,
                       "thermo_every": p.thermo_every, "restart_every": p.restart_every,
                       "equilibration_ps": p.equilibration_ps} for k, p in base.presets.items()}
        default = base.default_preset
    else:
        ts = ref.timestep_fs or 1.0
        every = ref.stride or 10
        steps = max(every * 10, int(round((ref.frame_dt_ps or ts * every * 1e-3) * ref.n_frames * 1e3 / ts)))
        presets = {"reference": {"supercell": [1, 1, 1], "timestep_fs": ts, "steps": steps, "dump_every": every,
                                 "thermo_every": every, "restart_every": max(1000 // every, 1) * every,
                                 "thermostat_damping_fs": 100 * ts}}
        default = "reference"
    data = {"name": name,
            "description": f"first frame, cell and species of {ref.source} ({ref.n_frames} frames, {T:g} K)",
            "structure": {"file": struct.name}, "temperature_K": float(T), "default_preset": default,
            "presets": presets}
    path = out_dir / f"{name}.yaml"
    path.write_text("# Written by harness (system_from_reference)\n" + yaml.safe_dump(data, sort_keys=False))
    load_system(str(path))  # it must load back
    return path


__all__ = ["ModelRun", "compare_run", "check_same_system", "headline", "system_from_reference"]
