"""NVT molecular dynamics: validate -> render -> execute (-> analyse, in :mod:`harness.tasks.analyze`)."""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

from .. import __version__
from ..config import MDSettings, md_settings
from ..engines import ENGINES, MliapEngine, choose
from ..errors import HarnessError, RunExistsError, SimulationError
from ..lammps.bridge import Bridge
from ..lammps.probe import Capabilities, new_lammps, probe
from ..lammps.render import render, template_sha256
from ..lammps.session import Guard, Progress, Session
from ..models import calculator, restrict_eam, sha256, weight_files
from ..runs import (create_run_dir, host_info, now, package_versions, read_summary, update_summary, write_json,
                    write_text)
from ..systems import build_atoms, check_atoms, species_order

DECK = "in.lammps"
DATA = "structure.data"
JOB = "job.sh"
TEMPLATES = ("md.in.j2", "pair/bridge.j2", "pair/mliap.j2", "pair/classic.j2", "slurm.sh.j2")

# Minimisation before MD (RELAX=positions|cell): stop when the largest force is below ftol.
RELAX = {"relax_etol": 0.0, "relax_ftol_eV_A": 1e-3, "relax_maxiter": 2000, "relax_maxeval": 20000}


def _lcm(*ns: int) -> int:
    out = 1
    for n in ns:
        out = out * n // math.gcd(out, n)
    return out


class MDTask:
    """One NVT run of one model on one system.

    Everything is validated in ``__init__`` (structure, elements, engine), before any compute.

    Parameters
    ----------
    settings : MDSettings
        Resolved system, model, protocol and options.
    runs_dir : Path
        Parent of the run folder ``<system>-<model>-md-<tag>``.
    render_only : bool
        Allow an engine this build cannot run (the deck is for another machine).
    """

    def __init__(self, settings: MDSettings, runs_dir: Path | str = "runs", *, render_only: bool = False,
                 caps: Capabilities | None = None):
        self.settings = settings
        self.runs_dir = Path(runs_dir)
        self.atoms = build_atoms(settings.system.structure, settings.protocol.supercell)
        self.elements = species_order(self.atoms)
        model = settings.model
        if model.family == "eam":
            model = restrict_eam(model, self.elements)
        self.model = model
        check_atoms(self.atoms, settings.model)
        self.caps = caps or probe()
        self.choice = choose(settings.engine, model, self.caps, render_only=render_only)
        self.engine = ENGINES[self.choice.name]

    @property
    def run_dir(self) -> Path:
        return self.runs_dir / self.settings.run_name

    # ------------------------------------------------------------------ render
    def context(self, run_dir: Path | None, *, resume: bool = False, restart_file: str | None = None) -> dict:
        s, p = self.settings, self.settings.protocol
        return {
            "run_name": s.run_name,
            "harness_version": __version__,
            "system": s.system.name,
            "model": self.model.label,
            "engine": self.choice.name,
            "elements": self.elements,
            "resume": resume,
            "restart_file": restart_file,
            "data_file": DATA,
            "neighbor_skin_A": 1.0,
            "timestep_ps": p.timestep_fs / 1000.0,
            "thermo_every": p.thermo_every,
            "dump_every": p.dump_every,
            # restarts on steps where thermo and dump also write, so a resume splices cleanly
            "restart_every": _lcm(p.restart_every, p.dump_every, p.thermo_every),
            "relax": s.relax,
            **RELAX,
            "temperature_K": s.temperature_K,
            "seed": s.seed,
            "thermostat": p.thermostat,
            "damping_ps": p.thermostat_damping_fs / 1000.0,
            "thermostat_chain": p.thermostat_chain,
            "steps": p.steps,
            **self.engine.context(self.model, self.elements, run_dir),
        }

    def job_context(self, deck_ctx: dict, *, nodes: int = 1, tasks_per_node: int | None = None,
                    gpus_per_node: int = 0, walltime: str = "24:00:00", partition: str | None = None) -> dict:
        ctx = dict(deck_ctx)
        ctx.update(
            nodes=nodes,
            tasks_per_node=tasks_per_node or (max(gpus_per_node, 1) if self.choice.name != "bridge" else 1),
            gpus_per_node=gpus_per_node,
            walltime=walltime,
            partition=partition,
            lmp_executable="lmp",
            weights_name=weight_files(self.model)[0].name if self.choice.name == "mliap" else "",
        )
        ctx.setdefault("mliap_file", "")
        return ctx

    def render(self, *, overwrite: bool = False, job: dict | None = None) -> Path:
        """Create the run folder with the structure, the deck, the job script and summary.json."""
        run_dir = create_run_dir(self.runs_dir, self.settings.run_name, overwrite=overwrite)
        from ase.io import write

        write(run_dir / DATA, self.atoms, format="lammps-data", specorder=self.elements, masses=True,
              units="metal", atom_style="atomic")
        ctx = self.context(run_dir)
        write_text(run_dir / DECK, render("md.in.j2", **ctx))
        write_text(run_dir / JOB, render("slurm.sh.j2", **self.job_context(ctx, **(job or {}))))
        (run_dir / JOB).chmod(0o755)
        files = weight_files(self.model)
        write_json(run_dir / "summary.json", {
            "run_name": self.settings.run_name,
            "task": "md",
            "status": "rendered",
            "created": now(),
            "request": self.request(),
            "resolved": self.settings.to_dict(),
            "engine": {"name": self.choice.name, "reason": self.choice.reason},
            "structure": {"n_atoms": len(self.atoms), "elements_type_order": self.elements,
                          "formula": self.atoms.get_chemical_formula(), "cell_A": self.atoms.cell.tolist()},
            "model": {"name": self.model.name, "label": self.model.label, "family": self.model.family,
                      "variant": self.model.variant, "source": self.model.source,
                      "files": [str(f) for f in files], "sha256": sha256(files),
                      "license": self.model.license, "citation": self.model.citation,
                      **({"correction": {"scale": self.model.scale, "base": self.model.base.label,
                                         "base_source": self.model.base.source,
                                         "base_sha256": sha256(weight_files(self.model.base)),
                                         "provenance": self.model.provenance}}
                         if self.model.family == "scaled" else {})},
            "templates_sha256": template_sha256(*TEMPLATES),
            "seed": self.settings.seed,
            "units": {"energy": "eV", "length": "Å", "time": "ps", "pressure": "bar (thermo), GPa (results)",
                      "temperature": "K"},
            "lammps": {"version": self.caps.version, "packages": list(self.caps.packages),
                       "mliap_python": self.caps.mliap_python, "kokkos": self.caps.kokkos},
            "versions": package_versions(),
            "host": host_info(),
        })
        return run_dir

    def request(self) -> dict:
        """What is needed to rebuild these settings later (``harness execute``)."""
        s = self.settings
        system = s.system.name if s.system.source.startswith("inputs/") else s.system.source
        if s.model.source.endswith(".model"):
            model = s.model.source
        elif s.model.source.startswith("potentials/"):
            model = f"{s.model.name}:{s.model.variant}" if s.model.variants else s.model.name
        else:
            model = s.model.source
        return {"system": system, "model": model, "preset": s.preset, "temperature_K": s.temperature_K,
                "steps": s.protocol.steps, "timestep_fs": s.protocol.timestep_fs, "engine": self.choice.name,
                "relax": s.relax, "seed": s.seed, "tag": s.tag, "thermostat": s.protocol.thermostat}

    # ------------------------------------------------------------------ execute
    def execute(self, run_dir: Path | None = None, *, resume: bool = False, progress: bool = True,
                stream=sys.stderr) -> dict:
        """Run the deck in ``run_dir`` through the LAMMPS Python module; returns the summary."""
        run_dir = Path(run_dir or self.run_dir)
        deck_name, log_name = DECK, "log.lammps"
        if resume:
            restart = latest_restart(run_dir)
            if restart is None:
                raise RunExistsError(f"{run_dir}: no restart file to resume from; start over with --overwrite")
            step = restart_step(run_dir, restart)
            truncate_outputs(run_dir, step)
            n = sum(1 for _ in run_dir.glob("in.resume*.lammps")) + 1
            deck_name, log_name = f"in.resume{n}.lammps", f"log.resume{n}.lammps"
            write_text(run_dir / deck_name, render("md.in.j2", **self.context(run_dir, resume=True, restart_file=restart)))
            print(f"[md] resuming {run_dir.name} from {restart} at step {step}", file=stream)
        deck = (run_dir / deck_name).read_text()
        p = self.settings.protocol
        update_summary(run_dir, status="running", started=now(), deck=deck_name, log=log_name)
        t_wall = time.perf_counter()
        session = Session(run_dir, log=log_name)
        try:
            if self.choice.name == "bridge":
                session.bridge = Bridge(session.lmp, calculator(self.model), self.atoms.get_chemical_symbols())
            elif self.choice.name == "mliap":
                ok, why = self.engine.available(self.caps)
                if not ok:
                    raise SimulationError(f"engine mliap: {why}")
                MliapEngine().stage(self.model, run_dir)
            session.guard = Guard(target_temperature_K=self.settings.temperature_K)
            session.progress = Progress(timestep_fs=p.timestep_fs, label=self.settings.run_name, stream=stream,
                                        enabled=progress)
            chunk = max(1, round(p.steps / 20 / p.thermo_every)) * p.thermo_every
            session.chunk_steps = chunk
            session.execute(deck)
        except (HarnessError, KeyboardInterrupt) as exc:
            status = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
            update_summary(run_dir, status=status, error=str(exc) or type(exc).__name__, finished=now(),
                           timings=self._timings(session, t_wall))
            raise
        finally:
            session.close()
        return update_summary(run_dir, status="completed", finished=now(), timings=self._timings(session, t_wall))

    def _timings(self, session: Session, t_wall: float) -> dict:
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


# ---------------------------------------------------------------------- restarts
def latest_restart(run_dir: Path) -> str | None:
    candidates = [p for p in (run_dir / "restart.a", run_dir / "restart.b") if p.is_file()]
    if not candidates:
        return None
    return max(candidates, key=lambda p: p.stat().st_mtime).name


def restart_step(run_dir: Path, restart: str) -> int:
    """The time step stored in a restart file (read by LAMMPS itself)."""
    from ..lammps.session import working_directory

    lmp = new_lammps(["-log", "none", "-screen", "none", "-nocite"])
    try:
        with working_directory(run_dir):
            lmp.command(f"read_restart {restart}")
        return int(lmp.get_thermo("step"))
    finally:
        lmp.close()


def truncate_outputs(run_dir: Path, step: int) -> None:
    """Drop trajectory frames and thermo rows at or after ``step`` (they are recomputed on resume)."""
    traj = run_dir / "traj.lammpstrj"
    if traj.is_file():
        with open(traj, "r+b") as fh:
            offset = None
            while True:
                pos = fh.tell()
                line = fh.readline()
                if not line:
                    break
                if line.startswith(b"ITEM: TIMESTEP"):
                    if int(fh.readline()) >= step:
                        offset = pos
                        break
            if offset is not None:
                fh.truncate(offset)
    thermo = run_dir / "thermo.dat"
    if thermo.is_file():
        keep = [ln for ln in thermo.read_text().splitlines(keepends=True)
                if ln.startswith("#") or not ln.strip() or int(ln.split()[0]) < step]
        write_text(thermo, "".join(keep))


def task_from_run_dir(run_dir: Path, runs_dir: Path | None = None) -> MDTask:
    """Rebuild the task of an existing run folder from its summary (for execute/resume)."""
    summary = read_summary(run_dir)
    req = summary.get("request")
    if not req:
        raise RunExistsError(f"{run_dir}: no summary.json with a request; not a harness run folder")
    settings = md_settings(req["system"], req["model"], req["preset"], temperature_K=req["temperature_K"],
                           steps=req["steps"], timestep_fs=req["timestep_fs"], engine=req["engine"],
                           relax=req["relax"], seed=req["seed"], tag=req["tag"], thermostat=req.get("thermostat"))
    # execute() is given the folder itself, so a folder the user renamed keeps working
    return MDTask(settings, runs_dir or Path(run_dir).parent)
