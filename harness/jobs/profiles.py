"""Cluster profiles: ``clusters/<name>.yaml`` -> a validated, frozen :class:`ClusterProfile`.

A profile says where jobs go (scheduler, partition, account, QOS), what one job gets
(walltime, nodes, tasks per node, CPUs per task, GPUs per node), what runs first on a node
(modules, environment), how MPI ranks are started inside a job (``srun`` with its flags, or
``mpiexec``), the harness command on the nodes and what the cluster's LAMMPS build has. Found
like systems and models (``$HARNESS_ROOT``, the project, the shipped ``clusters/``).

Every value that reaches a job script is validated here, once: names, paths and module lines
must not carry anything a shell would act on besides what they say.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .. import catalog
from ..config._reader import Reader, load_yaml, relative_source, resolve
from ..errors import ConfigError
from ..names import is_plain_path, validate_name, validate_path, walltime_seconds

LAUNCHERS = ("srun", "mpiexec")
_KEYS = {"name", "description", "scheduler", "partition", "account", "qos", "walltime", "nodes", "tasks_per_node",
         "cpus_per_task", "gpus_per_node", "memory", "max_array", "launcher", "srun_args", "modules", "env", "harness",
         "lammps", "restart_margin", "extra_directives", "collect_partition", "collect_walltime"}
_LAMMPS_KEYS = {"mliap_python", "kokkos", "gpu_arch", "executable"}
# a module line: a command word and plain arguments (no ; & | $ ` < > or quotes)
_MODULE = re.compile(r"(module|ml|source|\.|conda|mamba|spack|export)( [A-Za-z0-9._/+=:@%,~-]+)+")
_ENV = re.compile(r"[A-Z_][A-Z0-9_]*")
@dataclass(frozen=True)
class ClusterProfile:
    name: str
    source: str
    scheduler: str = "slurm"
    description: str = ""
    partition: str | None = None
    account: str | None = None
    qos: str | None = None
    walltime: str = "01:00:00"
    nodes: int = 1
    tasks_per_node: int = 1
    cpus_per_task: int = 1
    gpus_per_node: int = 0
    memory: str | None = None  # a job's --mem (the tasks not in memory_by_task)
    max_array: int = 1000
    launcher: str = "srun"
    srun_args: tuple[str, ...] = ()
    modules: tuple[str, ...] = ()
    env: dict = field(default_factory=dict)
    harness: str = "harness"
    mliap_python: bool = False
    kokkos: bool = False
    gpu_arch: str | None = None
    lammps_executable: str = "lmp"
    restart_margin: str = "00:02:00"
    extra_directives: tuple[str, ...] = ()
    # the campaign's collect job: CPU work, minutes (default: the partition, 1 h or the walltime)
    collect_partition: str | None = None
    collect_walltime: str = "01:00:00"
    # `memory: {default: 8G, md: 32G, train: 64G, collect: 16G}`: a task's own (collect: the
    # campaign's collect job, which analyses every member)
    memory_by_task: dict = field(default_factory=dict)

    def memory_for(self, task: str) -> str | None:
        """The memory a job of ``task`` asks for (``collect``: the collect job's)."""
        return self.memory_by_task.get(task, self.memory)

    @property
    def walltime_s(self) -> int:
        return walltime_seconds(self.walltime)

    @property
    def stop_after_s(self) -> int:
        """When a run stops cleanly to be requeued: the walltime minus the margin."""
        return self.walltime_s - walltime_seconds(self.restart_margin, "restart_margin", positive=False)

    @property
    def ranks(self) -> int:
        return self.nodes * self.tasks_per_node


def _memory(r: Reader, word) -> dict:
    """``memory``: one value for every job, or one per task (``default``, task names, ``collect``)."""
    raw = r.raw("memory", None)
    if not isinstance(raw, dict):
        return {"default": word("memory")}
    known = ("default", *catalog.names("task"), "collect")
    out = {}
    for key, value in raw.items():
        if key not in known:
            raise r.fail("memory", f"has key {key!r}: not a task (valid: {', '.join(known)})")
        if not (isinstance(value, str | int) and not isinstance(value, bool) and is_plain_path(str(value))):
            raise r.fail("memory", f"{key}: must be a plain value like 16G; got {value!r}")
        out[key] = str(value)
    return out


def load_profile(name: str) -> ClusterProfile:
    """``clusters/<name>.yaml`` (or a YAML path), validated."""
    path = resolve("cluster profile", name, "clusters")
    r = Reader(load_yaml(path), relative_source(path))
    r.unknown(_KEYS)
    lammps = r.sub("lammps", {})
    lammps.unknown(_LAMMPS_KEYS)

    def word(key, default=None):
        value = r.str(key, default)
        if value is not None and not is_plain_path(value):
            raise r.fail(key, f"must be a plain word (letters, digits, . _ - + / : @ % , ~); got {value!r}")
        return value

    def count(key, default, minimum=1):
        value = r.raw(key, default)
        if not (isinstance(value, int) and not isinstance(value, bool) and value >= minimum):
            raise r.fail(key, f"must be an integer >= {minimum}, got {value!r}")
        return value

    modules = r.raw("modules", [])
    if not isinstance(modules, list) or not all(isinstance(m, str) and _MODULE.fullmatch(m) for m in modules):
        bad = next((m for m in (modules if isinstance(modules, list) else [modules])
                    if not (isinstance(m, str) and _MODULE.fullmatch(m))), modules)
        raise r.fail("modules", f"must be a list of lines like 'module load lammps/2025' (a command word: module, "
                                f"ml, source, conda, spack, export; plain arguments, no ; & | $ or quotes); got "
                                f"{bad!r}")
    env = r.raw("env", {})
    if not isinstance(env, dict) or not all(_ENV.fullmatch(str(k)) and is_plain_path(str(v)) for k, v in env.items()):
        raise r.fail("env", f"must map NAMES to plain values (letters, digits, . _ - + / : @ % , ~); got {env!r}")
    srun_args = r.raw("srun_args", [])
    if not isinstance(srun_args, list) or not all(is_plain_path(a) for a in srun_args):
        raise r.fail("srun_args", f"must be a list of plain flags like --mpi=pmi2; got {srun_args!r}")
    extra = r.raw("extra_directives", [])
    if not isinstance(extra, list) or not all(isinstance(a, str) and re.fullmatch(r"--[a-z-]+(=[A-Za-z0-9._:,-]+)?", a)
                                              for a in extra):
        raise r.fail("extra_directives", f"must be a list of #SBATCH flags like --constraint=a100; got {extra!r}")
    def seconds(key, default, positive=True):
        value = r.str(key, default)
        try:
            return value, walltime_seconds(value, key, positive=positive)
        except ConfigError as exc:
            raise r.fail(key, str(exc).split(": ", 1)[-1] + f" (got {value!r})") from None

    walltime, walltime_s = seconds("walltime", "01:00:00")
    margin, margin_s = seconds("restart_margin", "00:02:00", positive=False)
    if margin_s >= walltime_s:
        raise r.fail("restart_margin", f"({margin}) must be shorter than the walltime ({walltime})")
    harness = r.str("harness", "harness")
    validate_path(f"{path}: key 'harness'", harness)
    collect_walltime, collect_s = seconds("collect_walltime", "01:00:00" if walltime_s > 3600 else walltime)
    kokkos = bool(lammps.raw("kokkos", False))
    gpus = count("gpus_per_node", 0, minimum=0)
    bind = [a for a in srun_args if str(a).startswith("--gpu-bind")]
    if kokkos and gpus > 1 and bind:
        raise r.fail("srun_args", f"has {bind[0]}: with it each rank sees only the GPU(s) bound to it, while "
                                  f"`-k on g {gpus}` makes Kokkos pick device (node-local rank % {gpus}) among all "
                                  f"{gpus}; leave GPU binding to Kokkos (drop {bind[0]})")
    memory = _memory(r, word)
    profile = ClusterProfile(
        name=r.name("name") if r.has("name") else validate_name("cluster profile name", path.stem),
        source=relative_source(path), scheduler=r.str("scheduler", "slurm", allowed=catalog.names("scheduler")),
        description=r.str("description", ""), partition=word("partition"), account=word("account"), qos=word("qos"),
        walltime=walltime, nodes=count("nodes", 1), tasks_per_node=count("tasks_per_node", 1),
        cpus_per_task=count("cpus_per_task", 1), gpus_per_node=gpus,
        memory=memory.get("default"), memory_by_task={k: v for k, v in memory.items() if k != "default"},
        max_array=count("max_array", 1000),
        launcher=r.str("launcher", "srun", allowed=LAUNCHERS),
        srun_args=tuple(srun_args), modules=tuple(modules), env={str(k): str(v) for k, v in env.items()},
        harness=harness, mliap_python=bool(lammps.raw("mliap_python", False)), kokkos=kokkos,
        gpu_arch=lammps.str("gpu_arch", None), lammps_executable=lammps.str("executable", "lmp"),
        restart_margin=margin, extra_directives=tuple(extra),
        collect_partition=word("collect_partition") or word("partition"), collect_walltime=collect_walltime,
    )
    if profile.gpus_per_node and not profile.kokkos:
        raise r.fail("gpus_per_node", f"asks for {profile.gpus_per_node} GPUs, but the profile's LAMMPS build has no "
                                      f"Kokkos (lammps.kokkos: false): the ML-IAP engine runs on GPUs through Kokkos")
    return profile
