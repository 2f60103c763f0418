"""NVT molecular dynamics: render the deck, execute it through a launcher, analyse it (collect)."""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

from .. import __version__
from ..config import MDSettings
from ..config.resources import JobResources
from ..engines import ENGINES, choose
from ..errors import HarnessError
from ..files import file_mode, files_sha256, write_text
from ..io.avetime import truncate_avetime
from ..io.lammps_dump import truncate_dump
from ..lammps.launch import Srun
from ..lammps.probe import Capabilities, probe
from ..lammps.render import render
from ..lammps.session import Guard, Progress, Session, restart_problem, restart_step
from ..models import for_elements, model_info, weight_files, with_precision
from ..runs import RunFolder
from ..systems import build_atoms, check_atoms, species_order
from .base import Task, register
from .md_observables import FILES, Observables

DECK = "in.lammps"
DATA = "structure.data"
JOB = "job.sh"

SKIN_A = 1.0  # neighbour-list skin (Å): its cost, not the physics

# Minimisation before MD (RELAX=positions|cell): stop when the largest force is below ftol.
RELAX = {"relax_etol": 0.0, "relax_ftol_eV_A": 1e-3, "relax_maxiter": 2000, "relax_maxeval": 20000}


@register
class MDTask(Task):
    """One NVT run of one model on one system.

    Everything is validated in ``__init__`` (structure, elements, engine), before any compute.

    Parameters
    ----------
    settings : MDSettings
        Resolved system, model, protocol and options.
    render_only : bool
        Allow an engine this build cannot run (the deck is for another machine).
    """

    name = "md"
    settings_class = MDSettings
    templates = ("md.in.j2", "pair/bridge.j2", "pair/mliap.j2", "pair/classic.j2", "slurm.sh.j2",
                 "jobs/slurm-output.j2", "jobs/slurm-model-links.j2", "jobs/slurm-mliap-export.j2")

    def __init__(self, settings, *, render_only: bool = False, caps: Capabilities | None = None):
        super().__init__(settings)
        md = self.md
        self.atoms = build_atoms(md.system.structure, md.protocol.supercell)
        self.elements = species_order(self.atoms)
        check_atoms(self.atoms, md.model)
        model, self.precision = with_precision(md.model, "md" if md.relax == "none" else "relaxation")
        self.model = for_elements(model, self.elements)
        self.caps = caps or probe()
        self.choice = choose(md.engine, self.model, self.caps, render_only=render_only)
        self.engine = ENGINES[self.choice.name]
        self.engine.check(self.model, self.elements)  # (before any folder exists)
        self.max_ranks = self.engine.max_ranks_per_replica
        self.observables = Observables.resolve(md.protocol, self.atoms, self.elements, model_info(self.model).cutoff_A,
                                               no_per_atom_virial=self.engine.no_per_atom_virial(self.model),
                                               engine=self.choice.name,
                                               skin_A=SKIN_A)

    @property
    def md(self) -> MDSettings:
        """The MD settings (tasks that run MD as one of their parts override this)."""
        return self.settings

    @property
    def model_spec(self):
        return self.model

    def request(self) -> dict:
        return {**self.md.request(), "engine": self.choice.name}

    @property
    def restart_interval(self) -> int:
        """Steps between restarts: on steps where thermo, dump and every in-situ output write, so
        a resume splices every file cleanly."""
        return math.lcm(self.md.protocol.restart_interval, self.observables.restart_factor())

    def labels(self) -> dict:
        return {"system": self.md.system.name, "model": self.model.label, "seed": self.md.seed}

    # results.json section, key -> the campaign table's column
    CAMPAIGN_METRICS = (("temperature", "mean_K", "T_K"), ("pressure", "mean_GPa", "P_GPa"),
                        ("rdf", "first_peak_A", "rdf_peak_A"), ("msd", "D_cm2_per_s", "D_cm2_per_s"))

    @classmethod
    def metrics(cls, results: dict) -> dict:
        return {name: (results.get(section) or {}).get(key) for section, key, name in cls.CAMPAIGN_METRICS}

    @classmethod
    def reference_errors(cls, run_dir: Path, reference_dir: Path, system: str | None) -> dict:
        """The Dyna-Mat errors of the run against ``<reference_dir>/<system>.*`` (none without one)."""
        from ..config import CompareSettings
        from ..io.trajectory import find_reference
        from .compare import compare_run

        ref = find_reference(Path(reference_dir), system) if system else None
        if ref is None:
            return {}
        _, doc = compare_run(CompareSettings(run=str(run_dir), reference=str(ref)), figures=False)
        return {k: v for k, v in doc["errors"].items() if v is not None}

    # ------------------------------------------------------------------ render
    def context(self, *, resume: bool = False, restart_file: str | None = None,
                restart_step: int | None = None, restart_files: tuple[str, str] | None = None) -> dict:
        s, p = self.md, self.md.protocol
        return {
            **self.observables.context(resume, restart_step),
            "run_name": self.run_name,
            "harness_version": __version__,
            "system": s.system.name,
            "model": self.model.label,
            "engine": self.choice.name,
            "elements": self.elements,
            "resume": resume,
            "restart_file": restart_file,
            "data_file": DATA,
            "neighbor_skin_A": SKIN_A,
            "timestep_ps": p.timestep_fs / 1000.0,
            "thermo_every": p.thermo_every,
            "dump_every": p.dump_every,
            # restarts on steps where thermo, dump and in-situ outputs also write: resumes splice cleanly
            "restart_every": self.restart_interval,
            "restart_files": restart_files or RESTART_PAIR,  # (the order: restart_pair)
            "relax": s.relax,
            **RELAX,
            "temperature_K": s.temperature_K,
            "seed": s.seed,
            "thermostat": p.thermostat,
            "damping_ps": p.thermostat_damping_fs / 1000.0,
            "thermostat_chain": p.thermostat_chain,
            "steps": p.steps,
            **self.engine.context(self.model, self.elements),
        }

    def job_context(self, deck_ctx: dict, job: JobResources | dict | None = None, *,
                    staged: dict | None = None) -> dict:
        """Variables of ``slurm.sh.j2``: resources (validated by :class:`JobResources`, also when
        given as a dict of its fields), and the launch line from the launch seam."""
        job = job if isinstance(job, JobResources) else JobResources(**(job or {}))
        engine = self.engine
        if engine.python_driver:  # the model runs in the harness's Python, one rank per replica
            launch_line = Srun(ntasks=1).line(["harness", "execute", ".", "--resume"])
        else:
            launch_line = Srun().line(['"$LMP"', *engine.lammps_args(job.gpus_per_node), "-in", DECK])
        tasks_per_node = job.tasks_per_node or (1 if engine.max_ranks_per_replica == 1 else max(job.gpus_per_node, 1))
        return {**deck_ctx, "nodes": job.nodes, "gpus_per_node": job.gpus_per_node, "walltime": job.walltime,
                "partition": job.partition, "lmp_executable": "lmp", "python_driver": engine.python_driver,
                "tasks_per_node": tasks_per_node,
                "launch_line": launch_line, "model_links": ((staged or {}).get("declared") or {}).get("links", []),
                **engine.job_context(self.model)}

    def render(self, run_dir: Path, *, job: JobResources | dict | None = None, staged: dict | None = None) -> dict:
        """The structure, the deck, the job script and the files the deck reads."""
        from ase.io import write

        write(run_dir / DATA, self.atoms, format="lammps-data", specorder=self.elements, masses=True,
              units="metal", atom_style="atomic")
        self.engine.stage(self.model, self.elements, run_dir)
        ctx = self.context()
        write_text(run_dir / DECK, render("md.in.j2", **ctx))
        write_text(run_dir / JOB, render("slurm.sh.j2", **self.job_context(ctx, job, staged=staged)))
        (run_dir / JOB).chmod(file_mode(0o777))
        return self.provenance()

    def provenance(self) -> dict:
        files = weight_files(self.model)
        m = self.model
        return {
            "resolved": self.md.to_dict(),
            "engine": {"name": self.choice.name, "reason": self.choice.reason},
            "structure": {"n_atoms": len(self.atoms), "elements_type_order": self.elements,
                          "formula": self.atoms.get_chemical_formula(), "cell_A": self.atoms.cell.tolist()},
            "model": {"name": m.name, "label": m.label, "family": m.family, "variant": m.variant, "source": m.source,
                      "argument": self.md.model.argument, "precision": self.precision,
                      "files": [str(f) for f in files], "sha256": files_sha256(files),
                      "license": m.license, "citation": m.citation,
                      **({"correction": {"scale": m.scale, "base": m.base.label, "base_source": m.base.source,
                                         "base_sha256": files_sha256(weight_files(m.base)), "provenance": m.provenance}}
                         if m.base is not None else {})},
            "templates_sha256": self.templates_sha256(),
            "observables": self.observables.describe(),
            "seed": self.md.seed,
            "units": {"energy": "eV", "length": "Å", "time": "ps", "pressure": "bar (thermo), GPa (results)",
                      "temperature": "K"},
            "lammps": {"version": self.caps.version, "packages": list(self.caps.packages),
                       "mliap_python": self.caps.mliap_python, "kokkos": self.caps.kokkos},
        }

    # ------------------------------------------------------------------ execute
    def can_resume(self, run_dir: Path) -> bool:
        good, notes = restart_candidates(Path(run_dir))
        return bool(good or notes)  # (execute says why none of them can be used)

    growable = ("steps",)

    def extend(self, run_dir: Path, grown: dict) -> None:
        """More steps for this folder: its deck and summary ask for them, and a completed run is
        open again (it continues from its last restart)."""
        run = RunFolder.load(run_dir)
        write_text(run / DECK, render("md.in.j2", **self.context()))
        run.update(request=self.request(), resolved=self.md.to_dict())
        (old, new), = grown.values()
        if run.status == "completed":
            run.set_status("interrupted", error=f"extended from {old} to {new} steps; continues from its last "
                                                f"restart")

    def execute(self, run_dir: Path, launcher, *, resume: bool = False, progress: bool = True,
                stream=None) -> dict:
        """Run the deck in ``run_dir`` (from its newest restart with ``resume``)."""
        run = RunFolder.load(run_dir)
        run_dir = run.path
        stream = stream or sys.stderr
        deck_name, log_name = DECK, "log.lammps"
        first_step = 0
        if resume:
            good, notes = restart_candidates(run_dir)
            for note in notes:
                print(f"[md] {run_dir.name}: {note}", file=stream)
            if not good:  # killed before its first complete restart: nothing to continue from
                print(f"[md] {run_dir.name}: no complete restart file; starting again from step 0", file=stream)
                resume = False
        if resume:
            restart = good[0]
            step = restart_step(run_dir, restart)
            truncate_outputs(run_dir, step)
            n = sum(1 for _ in run_dir.glob("in.resume*.lammps")) + 1
            deck_name, log_name = f"in.resume{n}.lammps", f"log.resume{n}.lammps"
            write_text(run_dir / deck_name, render("md.in.j2", **self.context(
                resume=True, restart_file=restart, restart_step=step, restart_files=restart_pair(good))))
            print(f"[md] resuming {run_dir.name} from {restart} at step {step}", file=stream)
            first_step = step
        # the step this segment starts from: with `started`, the segment's rate (a job's ETA)
        run.update(deck=deck_name, log=log_name, started_step=first_step)
        deadline = getattr(self, "deadline", None)  # (execute_run's stop_after_s, as a time.time())
        # every rank gets the same number of seconds (LAMMPS' timer timeout compares rank 0's
        # clock with it, so all stop on the same step)
        stop_after = None if deadline is None else max(1.0, deadline - time.time())
        step = {"deck": deck_name, "log": log_name, "progress": progress, "stop_after_s": stop_after}
        timings = launcher.run(self, run_dir, step)
        return {"timings": timings}

    def lammps(self, run_dir: Path, step: dict, ranks) -> dict:
        """Execute one deck on this rank; the root rank's timings (also kept when it fails)."""
        p = self.md.protocol
        t_wall = time.perf_counter()
        session = Session(run_dir, log=step["log"], extra_args=tuple(ranks.lammps_args(run_dir)))
        try:
            self.engine.attach(session, self.model, self.atoms.get_chemical_symbols(), run_dir, self.caps,
                               per_atom_every=self.observables.per_atom_every)
            session.guard = Guard(target_temperature_K=self.md.temperature_K)
            session.progress = Progress(timestep_fs=p.timestep_fs, label=self.run_name, stream=sys.stderr,
                                        enabled=step.get("progress", True) and ranks.root)
            session.chunk_steps = max(1, round(p.steps / 20 / p.thermo_every)) * p.thermo_every
            session.stop_after_s = step.get("stop_after_s")
            session.restart_every = self.restart_interval
            session.stop_restart = STOP_RESTART
            session.execute((run_dir / step["deck"]).read_text())
        except (HarnessError, KeyboardInterrupt) as exc:
            if ranks.root:  # the timings up to the failure go into the summary with the error
                exc.summary_fields = {"timings": self._timings(session, t_wall)}
            raise
        finally:
            session.close()
        return self._timings(session, t_wall)

    @staticmethod
    def _timings(session: Session, t_wall: float) -> dict:
        out = {
            "wall_s": time.perf_counter() - t_wall,
            "md_steps": session.md_steps,
            "md_s": session.md_seconds,
            "ms_per_step": 1000 * session.md_seconds / session.md_steps if session.md_steps else None,
        }
        if session.bridge is not None:
            out["bridge"] = b = session.bridge.timings()
            if session.md_steps:
                # a run starts with one force call at setup (step 0 is not an MD step): the
                # steady cost per step leaves it out, which matters for short benchmarks
                out["ms_per_step_steady"] = 1000 * (session.md_seconds - b["setup_calls_s"]) / session.md_steps
        return out

    # ------------------------------------------------------------------ collect
    def collect(self, run_dir: Path, *, progress: bool = True, partial: bool = False, skip: tuple[str, ...] = (),
                **_) -> dict:
        from .analyze import analyze_run

        return analyze_run(run_dir, progress=progress, partial=partial, skip=skip)

    def check_results(self, results: dict) -> None:
        from .analyze import check_complete

        check_complete(results)


# ---------------------------------------------------------------------- restarts
STOP_RESTART = "restart.stop"  # written where a run stopped for its job's walltime
RESTART_PAIR = ("restart.a", "restart.b")  # `restart N a b`: LAMMPS writes them in turn, a first
RESTARTS = (*RESTART_PAIR, STOP_RESTART, "restart.final")


def restart_pair(good: list[str]) -> tuple[str, str]:
    """The order of the two restart files for a resumed deck: the newest complete one of them
    (``good``, newest first) written second. LAMMPS' ``restart`` starts every deck with its first
    file, so resuming from restart.a with ``a b`` would write over the only complete restart
    first; a kill during that write left none (seen when restart.b did not exist yet)."""
    keep = next((name for name in good if name in RESTART_PAIR), None)
    return RESTART_PAIR[::-1] if keep == RESTART_PAIR[0] else RESTART_PAIR


def restart_candidates(run_dir: Path) -> tuple[list[str], list[str]]:
    """(complete restart files, newest first; notes on the ones that are not complete)."""
    files = sorted((p for p in (Path(run_dir) / name for name in RESTARTS) if p.is_file()),
                   key=lambda p: p.stat().st_mtime, reverse=True)
    good, notes = [], []
    for p in files:
        problem = restart_problem(p)
        if problem is None:
            good.append(p.name)
        else:
            notes.append(f"{p.name} is not usable ({problem}: a kill or a full disk during its write)")
    return good, notes


def latest_restart(run_dir: Path) -> str | None:
    """The newest complete restart file of ``run_dir`` (see :func:`restart_candidates`)."""
    good, _ = restart_candidates(run_dir)
    return good[0] if good else None


def truncate_outputs(run_dir: Path, step: int) -> None:
    """Drop trajectory frames, thermo rows and in-situ rows or blocks at or after ``step`` (they are
    recomputed on resume), and a last one cut short by a kill."""
    truncate_dump(run_dir / "traj.lammpstrj", step)
    for key, name in FILES.items():
        # a g(r) block at the restart step averages samples before it: kept (the resumed run's
        # first block is the next); every other in-situ row at that step is written again
        truncate_avetime(run_dir / name, step, keep_step=key == "rdf")
    thermo = run_dir / "thermo.dat"
    if thermo.is_file():
        write_text(thermo, "".join(ln for ln in thermo.read_text().splitlines(keepends=True)
                                   if _keep_thermo_line(ln, step)))


def _keep_thermo_line(line: str, step: int) -> bool:
    """A comment, or a complete row (ended by its newline, every column a number) before ``step``."""
    if line.startswith("#"):
        return True
    words = line.split()
    if not words or not line.endswith("\n") or not words[0].isdigit():
        return False
    try:
        [float(w) for w in words]
    except ValueError:
        return False
    return int(words[0]) < step
