"""Build hook: the wheel carries the shipped templates, systems and models as package data.

The repository keeps one copy of them where users see them (``templates/``, ``inputs/``,
``potentials/``); building a wheel copies them into ``harness/_shipped/`` of the build
directory only (never into the source tree), where :mod:`harness.config.project` finds them
once installed. Editable installs (``pip install -e .``) copy nothing: they use the checkout.
Everything else is configured in pyproject.toml.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
# The same table as harness.config.project.SHIPPED_FILES (setup.py cannot import the package:
# its dependencies are not installed at build time); tests/test_install.py checks the wheel
# against that table. Only potentials/*.yaml: never potentials/.cache/.
SHIPPED_FILES = {
    "inputs": ("*.yaml",),
    "potentials": ("*.yaml", "recipes/*.yaml"),
    "templates": ("**/*.j2",),
    "clusters": ("*.yaml",),  # cluster profiles, shipped as soon as the folder exists
}
TARGET = Path("harness") / "_shipped"


def shipped_sources(root: Path = HERE) -> list[Path]:
    """Every shipped file below ``root``, relative to it (hidden files and folders left out)."""
    out = set()
    for folder, patterns in SHIPPED_FILES.items():
        base = root / folder
        for pattern in patterns:
            for path in base.glob(pattern) if base.is_dir() else ():
                rel = path.relative_to(root)
                if path.is_file() and not any(part.startswith(".") for part in rel.parts):
                    out.add(rel)
    return sorted(out)


class BuildPyWithShipped(build_py):
    """``build_py``, then the shipped files into ``<build_lib>/harness/_shipped/``."""

    def run(self):
        super().run()
        if self.editable_mode:  # the editable install reads the checkout itself
            return
        target = Path(self.build_lib) / TARGET
        shutil.rmtree(target, ignore_errors=True)  # a stale build/ must not ship deleted files
        for rel in shipped_sources():
            dest = target / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(HERE / rel, dest)

    def get_outputs(self, include_bytecode=True):
        outputs = super().get_outputs(include_bytecode)
        if self.editable_mode:
            return outputs
        return [*outputs, *(str(Path(self.build_lib) / TARGET / rel) for rel in shipped_sources())]


setup(cmdclass={"build_py": BuildPyWithShipped})
