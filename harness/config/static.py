"""Frozen settings of the 0 K probes: surface energies, point-defect formation energies and
mixing energies of a solid solution (Deng et al.'s softening study, section 3)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError
from ..limits import check_range
from ..names import safe_name
from .model import ModelSpec
from .settings import Settings, existing_file
from .system import SystemSpec

FTOL_EV_A = (1e-6, 0.1)
# point defects the harness builds (harness.pointdefects)
DEFECT_KINDS = ("vacancy", "antisite", "interstitial")


def miller_label(miller) -> str:
    """``111``, ``1-10``: the indices as written in a key or a file name."""
    return "".join(str(int(h)) for h in miller)


def parse_millers(text: str | None) -> tuple[tuple[int, int, int], ...] | None:
    """``"111,100,1-10"`` or ``"0001,10-10"`` (four-index hexagonal) → three-index tuples."""
    if text is None or not str(text).strip():
        return None
    out = []
    for token in str(text).replace(" ", "").split(","):
        digits = [int(d) for d in re.findall(r"-?\d", token)]
        if "".join(re.findall(r"-?\d", token)) != token or len(digits) not in (3, 4):
            raise ConfigError(f"--miller {token!r}: three indices like 111 or 1-10 (four for hexagonal: 10-10)")
        if len(digits) == 4:
            h, k, i, l_ = digits
            if i != -(h + k):
                raise ConfigError(f"--miller {token!r}: in (hkil) i must be -(h+k)")
            digits = [h, k, l_]
        if not any(digits):
            raise ConfigError(f"--miller {token!r}: not a plane (all indices zero)")
        out.append(tuple(digits))
    return tuple(dict.fromkeys(out))


def parse_kinds(text: str | None) -> tuple[str, ...]:
    """``vacancy,antisite,interstitial`` (any of them; ``vacancy:Cu``, ``antisite:Au``,
    ``interstitial:Cu`` name the element)."""
    kinds = tuple(t.strip() for t in str(text or "").split(",") if t.strip())
    for k in kinds:
        if k.split(":")[0] not in DEFECT_KINDS:
            raise ConfigError(f"--defects {k!r}: one of {', '.join(DEFECT_KINDS)} (interstitial:<El> for one element)")
    return kinds


def parse_mix(text: str) -> tuple[str, str]:
    """``A:B`` → (A, B): the parent's A sites take A or B."""
    from ase.data import chemical_symbols

    parts = [p.strip() for p in str(text or "").split(":")]
    if len(parts) != 2 or not all(parts) or parts[0] == parts[1]:
        raise ConfigError(f"--mix {text!r}: two different elements A:B (the parent's A sites take A or B; "
                          f"one binary sublattice)")
    for p in parts:
        if p not in chemical_symbols[1:]:
            raise ConfigError(f"--mix {text!r}: {p!r} is not an element")
    return parts[0], parts[1]




def existing_path(what: str, path) -> str | None:
    """A file or a folder that exists, resolved (a reference table or a folder of DFT runs)."""
    if path is None:
        return None
    p = Path(path).expanduser()
    if not p.exists():
        raise ConfigError(f"{what} {path}: no such file or folder")
    return str(p.resolve())


def element_values(what: str, items, kind: str) -> tuple[str, ...]:
    """``El=value`` items: ``kind`` ``number`` (eV/atom) or ``file`` (an existing structure)."""
    from ase.data import chemical_symbols

    out = []
    for item in items or ():
        el, sep, value = str(item).partition("=")
        el = el.strip()
        if not sep or el not in chemical_symbols[1:] or not value.strip():
            raise ConfigError(f"{what} {item!r}: ELEMENT=" + ("eV_per_atom" if kind == "number" else "FILE"))
        if kind == "number":
            try:
                float(value)
            except ValueError:
                raise ConfigError(f"{what} {item!r}: {value!r} is not a number of eV/atom") from None
            out.append(f"{el}={float(value)!r}")
        else:
            out.append(f"{el}={existing_file(what, value.strip())}")
    return tuple(out)


class _Static(Settings):
    def check_static(self) -> None:
        self.check_common()
        object.__setattr__(self, "ftol_eV_A", check_range("--ftol", self.ftol_eV_A, FTOL_EV_A, "eV/Å"))
        object.__setattr__(self, "reference", existing_path("--reference", self.reference))

    def _name(self, what: str) -> str:
        return f"{self.system.name}-{self.model.label}-{what}" + (f"-{self.tag}" if self.tag else "")


@dataclass(frozen=True)
class SurfacesSettings(_Static):
    """Surface energies of the ``miller`` planes (conventional indices as text: ``111``, ``1-10``;
    default: the symmetry-distinct planes with indices up to 1). Slab thickness: ``thickness_A``
    fixed, or a ladder from twice the model's cutoff until two successive γ agree within
    ``tolerance_J_m2`` (at most ``max_slabs`` per plane), then the vacuum checked 5 Å wider."""

    model: ModelSpec
    system: SystemSpec
    miller: tuple[str, ...] | None = None
    thickness_A: float | None = None
    vacuum_A: float | None = None
    tolerance_J_m2: float = 0.01
    max_slabs: int = 4
    ftol_eV_A: float = 1e-3
    engine: str = "auto"
    reference: str | None = None
    tag: str | None = None

    def __post_init__(self):
        self.check_static()
        if self.miller is not None:
            object.__setattr__(self, "miller", tuple(miller_label(m) if not isinstance(m, str) else m
                                                     for m in self.miller))
            parse_millers(",".join(self.miller))
        if self.thickness_A is not None:
            check_range("--thickness", self.thickness_A, (1.0, 500.0), "Å")
        if self.vacuum_A is not None:
            check_range("--vacuum", self.vacuum_A, (2.0, 500.0), "Å")
        check_range("--tolerance", self.tolerance_J_m2, (1e-6, 1.0), "J/m²")
        check_range("--max-slabs", self.max_slabs, (2, 10), integer=True)

    @property
    def run_name(self) -> str:
        return self._name("surfaces")


@dataclass(frozen=True)
class DefectsSettings(_Static):
    """Formation energies of point defects (``defects``: vacancy, antisite, interstitial, each
    optionally ``:El``; default: vacancies, and antisites in a compound) in a ``supercell``
    (default: every width at least twice the model's cutoff), relaxed at fixed cell (and the
    cell too with ``relax_cell``); ``converge``: supercells one larger in each direction until
    two successive E_f agree within ``tolerance_eV`` (at most ``max_supercells``). μ of an
    element from its elemental crystal relaxed with the model, or from ``elemental`` (El=FILE)
    or ``mu`` (El=eV/atom)."""

    model: ModelSpec
    system: SystemSpec
    defects: tuple[str, ...] | None = None
    supercell: tuple[int, int, int] | None = None
    relax_cell: bool = False
    converge: bool = False
    tolerance_eV: float = 0.01
    max_supercells: int = 3
    elemental: tuple[str, ...] = ()
    mu: tuple[str, ...] = ()
    rattle_A: float = 0.01
    ftol_eV_A: float = 1e-3
    engine: str = "auto"
    reference: str | None = None
    tag: str | None = None

    def __post_init__(self):
        self.check_static()
        if self.defects is not None:
            object.__setattr__(self, "defects", parse_kinds(",".join(self.defects)) or None)
        check_range("--tolerance", self.tolerance_eV, (1e-6, 10.0), "eV")
        check_range("--max-supercells", self.max_supercells, (2, 6), integer=True)
        check_range("--rattle", self.rattle_A, (0.0, 0.1), "Å")
        object.__setattr__(self, "elemental", element_values("--elemental", self.elemental, "file"))
        object.__setattr__(self, "mu", element_values("--mu", self.mu, "number"))

    @property
    def run_name(self) -> str:
        return self._name("defects")


@dataclass(frozen=True)
class MixingSettings(_Static):
    """Mixing energies of ``mix`` (``A:B``: the parent's A sites take A or B) in every
    symmetry-distinct arrangement of up to ``max_size`` primitive cells (icet), or of the
    arrangements in ``structures``; positions and cell relaxed."""

    model: ModelSpec
    system: SystemSpec
    mix: str = ""
    max_size: int = 4
    structures: str | None = None
    ftol_eV_A: float = 1e-3
    engine: str = "auto"
    reference: str | None = None
    tag: str | None = None

    def __post_init__(self):
        self.check_static()
        parse_mix(self.mix)
        check_range("--max-size", self.max_size, (1, 8), integer=True)
        object.__setattr__(self, "structures", existing_file("--structures", self.structures))

    @property
    def run_name(self) -> str:
        return self._name(f"mixing-{safe_name(self.mix.replace(':', '-'))}")
