"""One protocol for every task: frozen settings → ``render`` → ``execute`` → ``collect``.

A task is a class with a registry name (recorded as ``task`` in ``summary.json``) and a
frozen settings class (:mod:`harness.config`), validated before any compute:

``render(run_dir)``
    writes the inputs (decks, structures, job script) into a new run folder and returns the
    provenance that goes into ``summary.json``; nothing is computed.
``execute(run_dir, launcher)``
    does the compute; LAMMPS work goes through a launcher (:mod:`harness.lammps.launch`),
    in-process or over MPI ranks, via the task's ``lammps(run_dir, step, ranks)``.
``collect(run_dir)``
    post-processes what execute wrote into ``results.json`` and figures; it can be rerun.

The functions below own the lifecycle, so every task has the same one:
``rendered → running → completed | failed | interrupted``. ``harness execute RUN_DIR``
rebuilds any task from its folder (:func:`load_task`) and runs it, inside a job script too.

Adding a task: a settings class in :mod:`harness.config`, a module here with a class
decorated by :func:`register`, its template(s), a CLI module and a test module.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import ClassVar

from .. import catalog
from ..config.sources import source_files
from ..errors import HarnessError, LaunchError, RunExistsError, RunFolderError, WalltimeReached
from ..files import jsonable, read_json
from ..lammps.launch import launcher_for
from ..lammps.render import template_sha256
from ..lock import RunLock
from ..models.staging import stage_model as stage
from ..models.staging import verify_staged, with_staged_model
from ..provenance import host_info, now, package_versions
from ..runs import RESULTS, SUMMARY, RunFolder, create_run_dir, load_run


def register(cls: type[Task]) -> type[Task]:
    """Class decorator: the task :mod:`harness.catalog` names ``cls.name`` must be this class
    (a second class under the same name, or one the catalog does not know, is an error)."""
    if not cls.name:
        raise ValueError(f"{cls.__name__} has no task name")
    here, listed = f"{cls.__module__}:{cls.__qualname__}", catalog.TASKS.get(cls.name)
    if listed != here:
        raise ValueError(f"task {cls.name!r} registered twice or not in harness.catalog (catalog: {listed}, "
                         f"class: {here})")
    return cls


def task_class(name: str) -> type[Task]:
    """The task class registered as ``name`` in :mod:`harness.catalog` (imported on first use)."""
    if name not in catalog.TASKS:
        raise RunFolderError(f"unknown task '{name}' (known: {', '.join(sorted(catalog.TASKS))})")
    return catalog.load("task", name)


class Task:
    """Base of every task. Subclasses set :attr:`name` and :attr:`settings_class` and
    implement :meth:`render`, :meth:`execute` and :meth:`collect`."""

    name: ClassVar[str] = ""
    settings_class: ClassVar[type]
    templates: ClassVar[tuple[str, ...]] = ()
    # ranks one replica may use: 1 for tasks whose Python drives LAMMPS frame by frame
    max_ranks: ClassVar[int | None] = 1
    # request keys a resumed run may increase (MD: steps); every other difference is refused
    growable: ClassVar[tuple[str, ...]] = ()
    # replicas of one run (NEB images): a job gets one MPI rank (one GPU) per replica
    replicas: int = 1
    # steps between restarts of a task that writes them (MD); None: it does not
    restart_interval: int | None = None
    # `harness execute` post-processes too (cheap: NEB reads its log and band files)
    collects_on_execute: ClassVar[bool] = False

    def __init__(self, settings, **_):
        self.settings = settings

    @property
    def run_name(self) -> str:
        return self.settings.run_name

    @property
    def model_spec(self):
        """The model this task runs (staged into its run folder), or ``None``."""
        return None

    def header(self) -> list[str]:
        """What is chosen for the user (engine, precision), said once before a run."""
        lines = []
        choice = getattr(self, "choice", None)
        if choice is not None:
            lines.append(f"engine: {choice.name} ({choice.reason})")
        precision, model = getattr(self, "precision", None), self.model_spec
        if precision and model is not None:
            trained = f"trained in {precision['trained']}; " if precision.get("trained") else ""
            lines.append(f"model: {model.label} ({model.family}), runs in {precision['used']} "
                         f"({trained}{precision['why']})")
        return lines

    def request(self) -> dict:
        """What :meth:`from_request` needs to rebuild this task (``summary.json``'s ``request``)."""
        return self.settings.request()

    @classmethod
    def from_request(cls, request: dict, run_dir: Path | None = None, **kwargs) -> Task:
        """The task of a rendered folder (``run_dir``: tasks that read inputs the folder holds)."""
        return cls(cls.settings_class.from_request(request), **kwargs)

    # ------------------------------------------------------------------ the protocol
    def render(self, run_dir: Path, **options) -> dict:
        """Write the inputs into ``run_dir``; returns provenance for ``summary.json``."""
        return {}

    def execute(self, run_dir: Path, launcher, *, resume: bool = False, progress: bool = True) -> dict:
        """Do the compute; returns fields for ``summary.json`` (timings, ...)."""
        raise NotImplementedError

    def collect(self, run_dir: Path, *, progress: bool = True, **options) -> dict:
        """``results.json`` (and figures) from what :meth:`execute` wrote; returns the results."""
        raise NotImplementedError

    def write_results(self, run_dir: Path, doc: dict) -> dict:
        """``results.json``: the document with versions, host and the headline."""
        from ..files import write_json

        doc.update(versions=package_versions(), host=host_info())
        doc["headline"] = self.headline(doc)
        write_json(Path(run_dir) / RESULTS, doc)
        return doc

    def check_results(self, results: dict) -> None:
        """Raise (one line) when the results lack what the user did not leave out."""

    def lammps(self, run_dir: Path, step: dict, ranks) -> dict:
        """One LAMMPS step on one rank, as a launcher runs it; returns the root rank's report."""
        raise NotImplementedError(f"task {self.name} has no LAMMPS step for a launcher")

    def launcher_for(self, ranks: int = 1):
        """How this task's LAMMPS work is launched when the user asks for ``ranks`` ranks (per
        replica, for multi-replica tasks): in-process for one, mpiexec for more."""

        return launcher_for(ranks)

    def can_resume(self, run_dir: Path) -> bool:
        """Whether :meth:`execute` can continue from what an interrupted run left."""
        return False

    def extend(self, run_dir: Path, grown: dict) -> None:
        """Make the folder ask for the grown :attr:`growable` values (``{key: (old, new)}``)."""
        raise NotImplementedError(f"task {self.name} cannot be extended")

    def headline(self, results: dict) -> list[str]:
        """A few lines with units for the terminal."""
        return list(results.get("headline", []))

    # ---- what a campaign table asks of its members (harness.jobs.campaign)
    def labels(self) -> dict:
        """system, model and seed of this run (what a campaign table groups by)."""
        system = getattr(self.settings, "system", None)
        return {"system": getattr(system, "name", None), "model": getattr(self.model_spec, "label", None),
                "seed": None}

    @classmethod
    def metrics(cls, results: dict) -> dict:
        """The numbers of this task's ``results.json`` a campaign averages over seeds."""
        return {}

    @classmethod
    def reference_errors(cls, run_dir: Path, reference_dir: Path, system: str | None) -> dict:
        """Errors against ``<reference_dir>/<system>.*`` for a campaign table (none by default)."""
        return {}

    @classmethod
    def campaign_summary(cls, out: Path, run_dirs: list[Path]) -> dict:
        """What a campaign of this task's completed members adds over all of them together (the
        0 K probes: one parity plot of every entry of every material); none by default."""
        return {}

    def templates_sha256(self) -> dict:

        return template_sha256(*self.templates) if self.templates else {}


# ---------------------------------------------------------------------- the lifecycle
def render_run(task: Task, runs_dir: Path | str, *, overwrite: bool = False, stage_model: str = "copy",
               model_path_on_cluster: str | None = None, **options) -> Path:
    """A new run folder with the task's inputs, its model staged into ``model/`` (see
    :mod:`harness.models.staging`) and a ``summary.json`` in status ``rendered``; its path."""
    return render_folder(task, runs_dir, overwrite=overwrite, stage_model=stage_model,
                         model_path_on_cluster=model_path_on_cluster, **options).path


def render_folder(task: Task, runs_dir: Path | str, *, overwrite: bool = False, stage_model: str = "copy",
                  model_path_on_cluster: str | None = None, **options) -> RunFolder:
    """:func:`render_run`, returning the :class:`~harness.runs.RunFolder` (its summary in hand)."""

    run_dir = create_run_dir(Path(runs_dir), task.run_name, overwrite=overwrite)
    try:
        summary = {"run_name": task.run_name, "task": task.name, "status": "rendered", "created": now(),
                   "request": task.request()}
        staged = None
        if task.model_spec is not None:
            mode = "declared" if model_path_on_cluster else stage_model
            staged = stage(task.model_spec, run_dir, mode, model_path_on_cluster)
        summary.update(task.render(run_dir, staged=staged, **options))
        if staged is not None:
            summary.setdefault("model", {})["staged"] = staged
        if task.templates:
            summary.setdefault("templates_sha256", task.templates_sha256())
        # which template, system and model files (path, sha256, which place they came from)
        summary.setdefault("source_files", source_files(getattr(task, "settings", None), task.templates))
        summary.update(versions=package_versions(), host=host_info())
        summary["rendered"] = rendered_inventory(run_dir, summary)
        run = RunFolder(run_dir, summary)
        run.update()
    except BaseException:
        shutil.rmtree(run_dir, ignore_errors=True)  # nothing half-rendered is left to be mistaken for a run
        raise
    return run


def execute_run(run_dir: Path | str | RunFolder, launcher=None, *, task: Task | None = None, resume: bool = False,
                progress: bool = True, stop_after_s: float | None = None, overwrite: bool = False) -> dict | None:
    """Execute a rendered run folder; the status moves to running, then completed or failed
    (interrupted: a kill, or ``stop_after_s`` seconds reached by a task that can stop cleanly).

    The folder is locked for the whole execution (:mod:`harness.lock`): a second process is
    refused, naming this one. A completed run is left as it is and ``None`` returned (a
    requeued job must change nothing), unless ``overwrite``: its outputs are removed and it
    runs again from the start. What a failed step reports besides its error (its timings:
    ``exc.summary_fields``) goes into the summary too.
    """

    with RunLock(Path(run_dir), "execute") as lock:
        run = RunFolder.load(run_dir)
        if lock.depth == 1 and isinstance(run_dir, RunFolder):
            run.reload()  # the lock is new: what its last holder left, not what was read before it
        if run.status == "completed":
            if not overwrite:
                return None
            clear_outputs(run)
            resume = False
        if task is not None:  # (load_task checks it itself)
            verify_staged(run.path, run.model.get("staged"))  # the model it was rendered with
        task = task or load_task(run)
        launcher = launcher or task.launcher_for(1)
        if task.max_ranks is not None and launcher.ranks > task.max_ranks * launcher.partitions:
            raise LaunchError(f"task {task.name} runs on {task.max_ranks} rank(s) per replica; "
                              f"{launcher.ranks} were asked for")
        run.set_status("running", launch=launcher.describe())
        t0 = time.perf_counter()
        task.deadline = time.time() + stop_after_s if stop_after_s else None
        try:
            fields = task.execute(run, launcher, resume=resume, progress=progress) or {}
        except (WalltimeReached, KeyboardInterrupt) as exc:
            error = str(exc) if isinstance(exc, WalltimeReached) else "interrupted (KeyboardInterrupt)"
            run.set_status("interrupted", error=error, wall_s=time.perf_counter() - t0, **_reported(exc))
            raise
        except Exception as exc:
            error = str(exc) if isinstance(exc, HarnessError) else f"{type(exc).__name__}: {exc}"
            run.set_status("failed", error=error, wall_s=time.perf_counter() - t0, **_reported(exc))
            raise
        return run.set_status("completed", wall_s=time.perf_counter() - t0, **fields)


def _reported(exc: BaseException) -> dict:
    """What a failed step reported for the summary besides its error (``exc.summary_fields``:
    MD's timings up to the failure, also from the root rank of an MPI launch)."""
    return dict(getattr(exc, "summary_fields", None) or {})


KEEP = (SUMMARY, ".lock", ".job")  # never removed by clear_outputs (.job: a job script's sentinels)


def clear_outputs(run: RunFolder) -> None:
    """Back to the folder as rendered: every file execute or collect wrote is removed and the
    summary loses what they recorded (the rendered files and keys are listed in it)."""
    rendered = run.summary.get("rendered") or {}
    files, keys = set(rendered.get("files") or ()), rendered.get("keys")
    if keys is None:
        raise RunFolderError(f"{run.path}: rendered by an older harness that did not list its inputs; render it "
                             f"again with --overwrite")
    for path in sorted(run.path.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        rel = path.relative_to(run.path).as_posix()
        if rel.split("/")[0] in KEEP or rel in files:
            continue
        if path.is_symlink() or not path.is_dir():
            path.unlink()
        elif not any(path.iterdir()):  # (deeper paths come first: emptied folders go too)
            path.rmdir()
    for key in [k for k in run.summary if k not in keys]:
        del run.summary[key]
    run.update(status="rendered")


def rendered_inventory(run_dir: Path, summary: dict) -> dict:
    """The files and summary keys of a folder as rendered (what :func:`clear_outputs` keeps)."""
    files = sorted(p.relative_to(run_dir).as_posix() for p in Path(run_dir).rglob("*")
                   if (p.is_file() or p.is_symlink()) and p.name != SUMMARY)
    return {"files": files, "keys": sorted(set(summary) | {"rendered"})}


def collect_run(run_dir: Path | str | RunFolder, *, task: Task | None = None, progress: bool = True,
                **options) -> dict:
    """Post-process an executed run folder (its task's :meth:`Task.collect`, with its options)."""
    run = RunFolder.load(run_dir)
    task = task or load_task(run)
    results = task.collect(run, progress=progress, **options)
    run.update(collected=now(), results=RESULTS)
    return results


def results_of(run_dir: Path | str | RunFolder, *, task: Task | None = None, progress: bool = True) -> dict:
    """A completed run's results: its ``results.json`` as written, or collected now (a job that
    ended before its collect, a folder run with ``execute`` alone)."""
    path = Path(getattr(run_dir, "path", run_dir)) / RESULTS
    if path.is_file():
        return read_json(path)
    return collect_run(run_dir, task=task, progress=progress)


def run_task(task: Task, runs_dir: Path | str, *, overwrite: bool = False, resume: bool = False, launcher=None,
             progress: bool = True, collect: bool = True, collect_options: dict | None = None,
             **options) -> tuple[Path, dict | None]:
    """Render (or reuse, with ``resume``), execute and collect: the whole pipeline of one task,
    on one :class:`~harness.runs.RunFolder` handed from stage to stage.

    Resuming a folder with other settings than it was rendered with is refused, naming the
    keys; only those the task lets grow (:attr:`Task.growable`, MD's ``steps``) may be larger,
    and the folder is extended to them. A completed run is not executed again."""

    path = Path(runs_dir) / task.run_name
    if resume and path.exists():
        with RunLock(path, "resume"):
            run = load_run(path)  # a folder the harness did not write is refused here
            check_same_request(task, run)
            execute_run(run, launcher, task=task, resume=True, progress=progress)
            results = collect_run(run, task=task, progress=progress, **(collect_options or {})) if collect else None
        return path, results
    run = render_folder(task, runs_dir, overwrite=overwrite, **options)
    with RunLock(run.path, "run"):
        execute_run(run, launcher, task=task, resume=False, progress=progress)
        results = collect_run(run, task=task, progress=progress, **(collect_options or {})) if collect else None
    return run.path, results


def check_same_request(task: Task, record) -> None:
    """``task`` may continue ``record``'s folder: the same settings, or only :attr:`Task.growable`
    keys grown (then the folder is extended to them); else one line naming the differences."""
    diff = request_differences(record.request, task.request())
    grown = {k: v for k, v in diff.items() if k in task.growable and _grows(*v)}
    other = {k: v for k, v in diff.items() if k not in grown}
    if other:
        listed = "; ".join(f"{k}: {old!r} in the folder, {new!r} asked" for k, (old, new) in other.items())
        hint = " (only " + ", ".join(task.growable) + " may grow)" if task.growable else ""
        raise RunExistsError(f"{record.path}: cannot resume with other settings than it was rendered with{hint}: "
                             f"{listed}; render a new run (another --tag) or start over with --overwrite")
    if grown:
        task.extend(record, grown)


def check_reusable(task: Task, run_dir: Path, hint: str) -> None:
    """An existing folder is reused for ``task`` only when it was rendered from the same
    settings; otherwise one line naming the differences, and ``hint``."""
    diff = request_differences(load_run(run_dir).request, task.request())
    if diff:
        listed = "; ".join(f"{k}: {old!r} there, {new!r} asked" for k, (old, new) in diff.items())
        raise RunExistsError(f"{run_dir} exists, rendered with other settings ({listed}); {hint}")


def _grows(old, new) -> bool:
    return isinstance(old, (int, float)) and isinstance(new, (int, float)) and new > old


def request_differences(recorded: dict, asked: dict, prefix: str = "") -> dict[str, tuple]:
    """The keys (dotted when nested) whose values differ between two requests, as (recorded, asked)."""
    recorded, asked = jsonable(recorded or {}), jsonable(asked or {})
    out = {}
    for key in sorted(set(recorded) | set(asked)):
        if key not in recorded:  # (a setting the folder's harness did not know yet: its default then)
            continue
        old, new = recorded.get(key), asked.get(key)
        name = f"{prefix}{key}"
        if isinstance(old, dict) and isinstance(new, dict):
            out.update(request_differences(old, new, f"{name}."))
        elif old != new:
            out[name] = (old, new)
    return out


def load_task(run_dir: Path | str | RunFolder, **kwargs) -> Task:
    """Rebuild the task of a run folder from its ``summary.json`` (any registered task)."""

    run = load_run(run_dir)
    staged = run.model.get("staged")
    verify_staged(run.path, staged)  # every staged file is the one the folder was rendered with
    request = with_staged_model(run.request, run.path) if staged else run.request
    return task_class(run.task).from_request(request, run_dir=run.path, **kwargs)
