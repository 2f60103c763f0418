"""What every scheduler adapter shares: the state of one job as the harness names it, the
error a scheduler command raises, and the lookup from a profile's ``scheduler:`` to its adapter.

An adapter is one module (``harness/jobs/slurm.py``) with ``available()``, ``submit()``,
``status()``, ``cancel()``, ``requeue()``, ``array_spec()`` and ``by_hand()``, and its job
templates ``templates/jobs/<scheduler>.sh.j2``, ``<scheduler>-array.sh.j2`` and
``<scheduler>-collect.sh.j2``; its name goes into :mod:`harness.catalog`. States use
myqueue's names: pending, running, completed, failed, timeout, memory, cancelled, node-failure.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import catalog
from ..errors import HarnessError


class SchedulerError(HarnessError):
    """A scheduler command is missing or refused what it was given (says which, and its words)."""


class SchedulerUnreachable(SchedulerError):
    """The scheduler cannot be asked (no client here, its controller down): what it knows is unknown."""

    exit_code = 3


@dataclass(frozen=True)
class TaskState:
    """One job (or array task) as the scheduler sees it."""

    job_id: str
    array_task: int | None
    state: str  # pending, running, completed, failed, timeout, memory, cancelled, node-failure
    native_state: str  # the scheduler's own word (Slurm's JobState)
    reason: str = ""
    exit_code: str = ""
    restarts: int = 0


def adapter(scheduler: str):
    """The adapter module of a profile's ``scheduler:`` (named in :mod:`harness.catalog`)."""
    return catalog.load("scheduler", scheduler)


__all__ = ["SchedulerError", "SchedulerUnreachable", "TaskState", "adapter"]
