"""The run-folder contract: status, provenance, atomic writes and typed reading.

A run folder ``runs/<system>-<model>-<task>-<tag>/`` holds a ``summary.json`` written by the
harness alone, through this module:

- ``task`` and ``request`` (the task's settings, enough to rebuild it: ``harness execute``);
- ``status``: ``rendered`` → ``running`` → ``completed`` | ``failed`` | ``interrupted``, with
  ``created``, ``started``, ``finished`` and, on failure, ``error``;
- provenance: versions, host, model and template hashes, engine and why.

Every other module reads a run folder through :func:`load_run` (a :class:`RunFolder`, read once
and handed down the lifecycle), not by string keys into the JSON, and changes it through that
object. Writes are atomic: a crash leaves the old file or the new one.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from .errors import RunExistsError, RunFolderError
from .files import read_json, write_json
from .lock import RunLock, holder, last_holder
from .names import validate_name
from .provenance import now

SUMMARY = "summary.json"
RESULTS = "results.json"
STATUSES = ("rendered", "running", "completed", "failed", "interrupted")


# ============================================================================ the folder
def read_summary(run_dir: Path) -> dict:
    """The raw summary of a run folder (``{}`` when there is none). Prefer :func:`load_run`."""
    path = Path(run_dir) / SUMMARY
    if not path.is_file():
        return {}
    try:
        data = read_json(path)
    except (OSError, ValueError) as exc:
        raise RunFolderError(f"{path}: unreadable ({exc})") from None
    if not isinstance(data, dict):
        raise RunFolderError(f"{path}: not a harness summary (a JSON {type(data).__name__})")
    return data


def create_run_dir(runs_dir: Path, name: str, *, overwrite: bool = False) -> Path:
    """A new, empty run folder. An existing one is an error unless ``overwrite`` is given."""

    validate_name("run folder name", name)
    runs_dir = make_dir(runs_dir, "runs folder")
    target = runs_dir / name
    if target.exists() or target.is_symlink():
        if not target.is_dir() or target.is_symlink():
            raise RunExistsError(f"{target} exists and is not a run folder; remove it or choose another --tag")
        if not overwrite:
            try:
                status = live_status(target)
            except RunFolderError:
                status = "unreadable summary.json"
            hint = (
                "resume it with --resume, or start over with --overwrite"
                if status in ("running", "failed", "rendered", "interrupted")
                else "choose another --tag, or replace it with --overwrite"
            )
            raise RunExistsError(f"run folder {target} already exists (status: {status}); {hint}")
        with RunLock(target, "overwrite"):  # never under a run that is still going
            shutil.rmtree(target)
    try:
        target.mkdir()
    except OSError as exc:
        raise RunFolderError(f"{target}: cannot create the run folder ({exc.strerror})") from None
    return target


def make_dir(path: Path | str, what: str) -> Path:
    """``path`` as a folder (made with its parents when missing), or one line saying why it
    cannot be one (``/proc/x``, a file in the way, no permission)."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise RunFolderError(f"{what} {path}: exists and is not a folder") from None
    except OSError as exc:
        raise RunFolderError(f"{what} {path}: cannot create it ({exc.strerror})") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise RunFolderError(f"{what} {path}: not writable")
    return path


# ============================================================================ typed reading
@dataclass(frozen=True)
class MDRecord:
    """What an MD run folder says about its protocol (units in the names)."""

    timestep_fs: float
    dump_every: int
    thermo_every: int
    equilibration_ps: float
    temperature_K: float


class RunFolder:
    """A run folder and its ``summary.json``, read once and held: the one object the lifecycle
    hands down (render → execute → collect), with typed accessors for what the summary says.
    Every change goes through :meth:`update` or :meth:`set_status`, which write the summary
    atomically; nothing re-reads it between stages.

    It stands in for its path where a task wants one: ``run / "thermo.dat"`` is a
    :class:`~pathlib.Path`, ``Path(run)`` and ``os.fspath(run)`` its folder, ``str(run)`` too.
    """

    def __init__(self, path: Path | str, summary: dict | None = None):
        self.path = Path(path)
        self.summary = summary if summary is not None else read_summary(self.path)

    @classmethod
    def load(cls, run_dir: Path | str | RunFolder) -> RunFolder:
        """The run folder at ``run_dir`` (itself when given one), or one line saying it is not one."""
        return run_dir if isinstance(run_dir, RunFolder) else load_run(run_dir)

    def __fspath__(self) -> str:
        return str(self.path)

    def __truediv__(self, name) -> Path:
        return self.path / name

    def __str__(self) -> str:
        return str(self.path)

    def __repr__(self) -> str:
        return f"RunFolder({str(self.path)!r}, status={self.status!r})"

    def reload(self) -> RunFolder:
        """Read the summary again: after taking the folder's lock, what the last holder left."""
        self.summary = read_summary(self.path)
        return self

    # ---- changes, written atomically
    def update(self, **fields) -> dict:
        """Add ``fields`` to the summary and write it (write, then rename)."""
        self.summary.update(fields)
        write_json(self.path / SUMMARY, self.summary)
        return self.summary

    def set_status(self, status: str, **fields) -> dict:
        """Move the folder along its lifecycle (``rendered → running → completed | failed |
        interrupted``), stamping ``started`` / ``finished``."""
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}")
        stamp = {"running": "started", "completed": "finished", "failed": "finished", "interrupted": "finished"}
        if status in stamp:
            fields.setdefault(stamp[status], now())
        if status == "running":
            fields.setdefault("error", None)
        return self.update(status=status, **fields)

    # ---- every task
    @property
    def name(self) -> str:
        return self.summary.get("run_name", self.path.name)

    @property
    def task(self) -> str:
        return self.summary["task"]

    @property
    def status(self) -> str:
        return self.summary.get("status", "unknown")

    @property
    def request(self) -> dict:
        return dict(self.summary.get("request") or {})

    @property
    def error(self) -> str | None:
        return self.summary.get("error")

    @property
    def timings(self) -> dict:
        return dict(self.summary.get("timings") or {})

    @property
    def engine(self) -> str | None:
        return (self.summary.get("engine") or {}).get("name")

    @property
    def model(self) -> dict:
        return dict(self.summary.get("model") or {})

    @property
    def model_label(self) -> str | None:
        return self.model.get("label")

    @property
    def model_sha256(self) -> str | None:
        return self.model.get("sha256")

    # ---- tasks with a structure (md, highenergy)
    @property
    def structure(self) -> dict:
        return dict(self.summary.get("structure") or {})

    @property
    def elements(self) -> list[str]:
        """Element of each LAMMPS atom type, in type order."""
        return list(self.structure["elements_type_order"])

    @property
    def n_atoms(self) -> int | None:
        return self.structure.get("n_atoms")

    @property
    def cell_A(self):
        import numpy as np

        return np.asarray(self.structure["cell_A"], dtype=float)

    @property
    def system_name(self) -> str | None:
        resolved = self.summary.get("resolved") or {}
        return (resolved.get("system") or {}).get("name") or self.request.get("system")

    @property
    def ms_per_step(self) -> float | None:
        return self.timings.get("ms_per_step")

    @property
    def is_md(self) -> bool:
        """An MD trajectory (``traj.lammpstrj``, ``thermo.dat``) of the md or highenergy task."""
        return "resolved" in self.summary and "protocol" in (self.summary["resolved"] or {})

    @property
    def md(self) -> MDRecord:
        if not self.is_md:
            raise RunFolderError(f"{self.path}: not an MD run folder (task {self.task!r})")
        resolved = self.summary["resolved"]
        p = resolved["protocol"]
        return MDRecord(timestep_fs=float(p["timestep_fs"]), dump_every=int(p["dump_every"]),
                        thermo_every=int(p["thermo_every"]), equilibration_ps=float(p["equilibration_ps"]),
                        temperature_K=float(resolved["temperature_K"]))

    def results(self) -> dict:
        path = self.path / RESULTS
        if not path.is_file():
            raise RunFolderError(f"{self.path}: no {RESULTS} (run `harness analyze {self.path}` first)")
        return read_json(path)

    def require(self, *, md: bool = False, completed: bool = True, what: str = "analyse") -> RunRecord:
        """This record, or one line saying why the folder cannot be used for ``what``."""
        if md and not self.is_md:
            raise RunFolderError(f"{self.path}: not an MD run folder (task {self.task!r}); nothing to {what}")
        if completed and self.status != "completed":
            raise RunFolderError(f"{self.path}: the run is '{self.status}', not completed; nothing to {what}")
        return self


RunRecord = RunFolder  # (the name readers of finished runs use)


def load_run(run_dir: Path | str | RunFolder) -> RunFolder:
    """The :class:`RunFolder` at ``run_dir``, or one line saying it is not one (a folder given as
    a :class:`RunFolder` is returned as it is: its summary is already read)."""
    if isinstance(run_dir, RunFolder):
        return run_dir
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RunFolderError(f"{run_dir}: no such run folder")
    path = run_dir / SUMMARY
    if not path.is_file():
        raise RunFolderError(f"{run_dir}: no {SUMMARY}; not a harness run folder")
    try:
        summary = read_json(path)
    except (OSError, ValueError) as exc:
        raise RunFolderError(f"{path}: unreadable ({exc})") from None
    if not isinstance(summary, dict) or "task" not in summary:
        raise RunFolderError(f"{path}: no task recorded; not a harness run folder")
    return RunFolder(run_dir, summary)


def _last_thermo_step(run_dir: Path) -> int | None:
    """The step of the last complete row of ``thermo.dat`` (cheap: reads the file's tail)."""
    path = Path(run_dir) / "thermo.dat"
    if not path.is_file():
        return None
    with open(path, "rb") as fh:
        fh.seek(0, os.SEEK_END)
        fh.seek(max(0, fh.tell() - 4096))
        lines = fh.read().decode(errors="replace").splitlines()
    for line in reversed(lines[1:] if len(lines) > 1 else lines):
        words = line.split()
        if words and not line.startswith("#") and words[0].isdigit():
            return int(words[0])
    return None


def live_status(run: RunRecord | Path | str) -> str:
    """The status as it is now. A summary that says ``running`` while nobody holds the folder's
    lock (:mod:`harness.lock`) was interrupted: its process ended without a word (``kill -9``,
    a crash, a node failure, a job killed at its walltime)."""

    path = run.path if isinstance(run, RunRecord) else Path(run)
    status = run.status if isinstance(run, RunRecord) else read_summary(path).get("status", "unknown")
    if status == "running" and holder(path) is None:
        return "interrupted"
    return status


def _lammps_error(run_dir: Path) -> str | None:
    """The last ``ERROR`` line of the folder's LAMMPS logs, if one ends with it."""
    logs = sorted(Path(run_dir).glob("log*.lammps"), key=lambda p: p.stat().st_mtime)
    for log in reversed(logs[-1:]):
        with open(log, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - 4096))
            lines = fh.read().decode(errors="replace").splitlines()
        for line in reversed(lines[-5:]):
            if line.startswith("ERROR"):
                return f"{log.name}: {line.strip()}"
    return None


def describe_status(record: RunRecord) -> str:
    """One line: run, task, status, where an MD run is (step of steps), when, and why it failed
    (or why a run said to be running is not)."""

    status = live_status(record)
    parts = [f"{record.name}", f"task {record.task}", status]
    if record.is_md and status != "rendered":
        steps = (record.summary.get("resolved") or {}).get("protocol", {}).get("steps")
        step = _last_thermo_step(record.path)
        if step is not None and steps:
            parts.append(f"step {step}/{steps}")
    for key in ("started", "finished"):
        if record.summary.get(key):
            parts.append(f"{key} {record.summary[key]}")
    if status in ("failed", "interrupted") and record.error:
        parts.append(f"error: {record.error}")
    elif status != record.status:  # running on paper, but nobody runs it
        last = last_holder(record.path)
        why = f"its process ({last.describe()}) ended without a word" if last else "no process runs it"
        lammps = _lammps_error(record.path)
        parts.append(f"(summary says {record.status}; {why}{'; ' + lammps if lammps else ''}; "
                     f"continue with `harness execute {record.path} --resume`)")
    return "  ".join(parts)
