"""The Slurm adapter (see :mod:`harness.jobs.scheduler`): submit, status, cancel, requeue,
through Slurm's own commands.

Small on purpose (the job scripts are rendered from ``templates/jobs/``, never built here):
``sbatch --parsable`` (arrays, dependencies, ``--test-only`` as a pre-flight), ``squeue`` for
what is queued or running, ``scontrol show job -o`` for what finished and is still remembered
(``MinJobAge``), ``scancel``. ``sacct`` needs slurmdbd and is not relied on; a member's final
state outlives the scheduler's memory through the sentinels the job script writes into its run
folder. States are named the way users know them (myqueue's vocabulary): pending, running,
completed, failed, timeout, memory, cancelled, node-failure.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from .scheduler import SchedulerError, SchedulerUnreachable, TaskState

COMMANDS = ("sbatch", "squeue", "scontrol", "scancel")
# Slurm's job states -> ours
STATES = {"PENDING": "pending", "CONFIGURING": "pending", "REQUEUED": "pending", "REQUEUE_HOLD": "pending",
          "RESV_DEL_HOLD": "pending", "SUSPENDED": "pending", "RUNNING": "running", "COMPLETING": "running",
          "STAGE_OUT": "running", "RESIZING": "running", "SIGNALING": "running", "COMPLETED": "completed",
          "FAILED": "failed", "BOOT_FAIL": "node-failure", "NODE_FAIL": "node-failure", "TIMEOUT": "timeout",
          "DEADLINE": "timeout", "OUT_OF_MEMORY": "memory", "CANCELLED": "cancelled", "PREEMPTED": "cancelled",
          "REVOKED": "cancelled", "SPECIAL_EXIT": "failed"}


def available() -> tuple[bool, str]:
    missing = [c for c in COMMANDS if shutil.which(c) is None]
    if missing:
        return False, f"Slurm's {', '.join(missing)} not found on PATH"
    return True, "sbatch, squeue, scontrol, scancel found"


def _run(args: list[str], *, check: bool = True, cwd: Path | None = None) -> subprocess.CompletedProcess:
    if shutil.which(args[0]) is None:
        raise SchedulerUnreachable(f"{args[0]} not found: this machine has no Slurm client; the rendered job "
                                   f"scripts are usable by hand (sbatch <run folder>/job.sh)")
    from .._env import user_environment

    # a job inherits the submitter's environment: the user's, not the defaults set in here
    proc = subprocess.run(args, capture_output=True, text=True, cwd=cwd, env=user_environment())
    if check and proc.returncode != 0:
        msg = (proc.stderr.strip() or proc.stdout.strip()).splitlines()
        raise SchedulerError(f"{' '.join(args[:2])} …: {msg[-1] if msg else f'exit code {proc.returncode}'}")
    return proc


def submit(script: Path, *, array: str | None = None, dependency: str | None = None, test_only: bool = False,
           cwd: Path | None = None) -> str:
    """``sbatch --parsable`` (with ``--array``, ``--dependency``); the job id. ``test_only``:
    Slurm's own check of the script and its resources (nothing is queued); returns its answer."""
    args = ["sbatch"]
    if array is not None:
        args.append(f"--array={array}")
    if dependency is not None:
        args.append(f"--dependency={dependency}")
    if test_only:
        proc = _run([*args, "--test-only", str(script)], check=False, cwd=cwd)
        text = (proc.stderr + proc.stdout).strip()
        if proc.returncode != 0:
            raise SchedulerError(f"sbatch --test-only refused {script.name}: {text.splitlines()[-1] if text else ''}")
        return text
    out = _run([*args, "--parsable", str(script)], cwd=cwd).stdout.strip()
    return out.split(";")[0]  # "<id>[;cluster]"


def _parse_show(line: str) -> dict:
    """``scontrol show job -o`` fields (values of the keys we need: no splitting of the whole line)."""
    out = {}
    for key in ("JobId", "ArrayJobId", "ArrayTaskId", "JobState", "Reason", "ExitCode", "Restarts"):
        m = re.search(rf"\b{key}=(\S+)", line)
        if m:
            out[key] = m.group(1)
    return out


def status(job_id: str) -> list[TaskState]:
    """Every task of a job or job array the scheduler still remembers (queued, running, or
    finished within ``MinJobAge``); ``[]`` when it has forgotten the job."""
    proc = _run(["scontrol", "show", "job", "-o", str(job_id)], check=False)
    if proc.returncode != 0:
        text = (proc.stderr.strip() or proc.stdout.strip())
        if "invalid job id" in text.lower():
            return []  # finished and forgotten (MinJobAge)
        last = text.splitlines()[-1] if text else f"exit code {proc.returncode}"
        raise SchedulerUnreachable(f"scontrol show job {job_id}: {last}")
    out = []
    for line in proc.stdout.splitlines():
        f = _parse_show(line)
        if "JobState" not in f:
            continue
        task = f.get("ArrayTaskId")
        tasks = [None] if task is None else _expand(task)
        for t in tasks:
            out.append(TaskState(job_id=f.get("JobId", job_id), array_task=t, state=STATES.get(f["JobState"], "failed"),
                                 native_state=f["JobState"], reason=f.get("Reason", ""),
                                 exit_code=f.get("ExitCode", ""), restarts=int(f.get("Restarts", "0") or 0)))
    return out


def _expand(spec: str) -> list[int]:
    """``0-3,7%2`` -> [0, 1, 2, 3, 7]."""
    spec = spec.split("%")[0]
    out = []
    for part in spec.split(","):
        if "-" in part:
            a, b = part.split("-")
            out.extend(range(int(a), int(b) + 1))
        elif part:
            out.append(int(part))
    return out


def cancel(job_id: str) -> None:
    _run(["scancel", str(job_id)])


def requeue(job_id: str) -> None:
    _run(["scontrol", "requeue", str(job_id)])


def by_hand(script: Path, spec: str) -> str:
    """The command that submits ``script`` as the array ``spec`` without the harness."""
    return f"sbatch --array={spec} {script}"


def array_spec(indices: list[int], max_running: int | None = None) -> str:
    """``--array`` for these member indices: ranges where contiguous (``0-3,7``), ``%N`` throttle."""
    indices = sorted(set(indices))
    parts, start = [], None
    for k, i in enumerate(indices):
        if start is None:
            start = i
        if k + 1 == len(indices) or indices[k + 1] != i + 1:
            parts.append(str(start) if start == i else f"{start}-{i}")
            start = None
    spec = ",".join(parts)
    return f"{spec}%{max_running}" if max_running else spec
