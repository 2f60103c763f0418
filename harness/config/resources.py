"""What one job asks of a cluster when a run folder's own ``job.sh`` is rendered
(``harness render``): validated here, whatever the entry point, because every value reaches
an ``#SBATCH`` line as written. Campaign jobs take theirs from a cluster profile
(:mod:`harness.jobs.profiles`), validated by the same rules."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ConfigError
from ..names import validate_name, validate_walltime


def _count(what: str, value, minimum: int) -> int:
    if not (isinstance(value, int) and not isinstance(value, bool) and value >= minimum):
        raise ConfigError(f"{what} must be an integer >= {minimum}, got {value!r}")
    return value


@dataclass(frozen=True)
class JobResources:
    """Nodes, tasks and GPUs per node, walltime (``[D-]HH:MM:SS``, > 0) and partition of a job."""

    nodes: int = 1
    gpus_per_node: int = 0
    tasks_per_node: int | None = None
    walltime: str = "24:00:00"
    partition: str | None = None

    def __post_init__(self):
        _count("--nodes", self.nodes, 1)
        _count("--gpus-per-node", self.gpus_per_node, 0)
        if self.tasks_per_node is not None:
            _count("--tasks-per-node", self.tasks_per_node, 1)
        validate_walltime("--walltime", self.walltime)
        validate_name("partition", self.partition)
