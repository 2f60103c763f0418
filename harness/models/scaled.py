"""A linearly corrected model (PES softening): ``E' = c·E``, ``F' = c·F``, ``σ' = c·σ``.

Deng et al. (npj Comput. Mater. 2025) found foundation models systematically softened; one
factor c, fitted from as little as one labelled configuration, corrects most of it. Through
the bridge the correction is this ASE calculator wrapper; the classic and ML-IAP engines use
LAMMPS' ``pair_style hybrid/scaled c <base style>`` instead (templates/pair/*.j2).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ase.calculators.calculator import Calculator, all_changes

from ..config import ModelSpec
from .family import Family, family, for_elements

_SCALED = ("energy", "free_energy", "forces", "stress", "energies", "stresses")


class ScaledCalculator(Calculator):
    """Multiply every extensive result of a base calculator by ``scale``.

    Parameters
    ----------
    base : Calculator or callable
        The base ASE calculator, or a factory ``f(elements) -> Calculator`` called with the
        elements of the first structure seen (e.g. ASE's EAM reads one funcfl file per element).
    scale : float
        The factor c (> 0).
    """

    def __init__(self, base: Calculator | Callable[[list[str]], Calculator], scale: float, **kwargs):
        if not scale > 0:
            raise ValueError(f"scale must be > 0, got {scale!r}")
        super().__init__(**kwargs)
        self.scale = float(scale)
        self._factory = None if isinstance(base, Calculator) else base
        self._elements: tuple[str, ...] | None = None
        self.base = base if isinstance(base, Calculator) else None
        if self.base is not None:
            self.implemented_properties = [p for p in self.base.implemented_properties if p in _SCALED]
        else:
            self.implemented_properties = ["energy", "free_energy", "forces", "stress"]

    def _base_for(self, atoms) -> Calculator:
        if self._factory is not None:
            elements = tuple(dict.fromkeys(atoms.get_chemical_symbols()))
            if self.base is None or elements != self._elements:
                self.base, self._elements = self._factory(list(elements)), elements
        return self.base

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        base = self._base_for(self.atoms)
        probe = self.atoms.copy()
        probe.calc = base
        wanted = [p for p in ("energy", "free_energy", "forces", "stress") if p in base.implemented_properties]
        wanted += [p for p in properties if p not in wanted]
        for name in wanted:
            self.results[name] = self.scale * base.get_property(name, probe)


def _scaled_calculator(spec: ModelSpec) -> ScaledCalculator:
    """The base model's calculator with energy, forces and stress times ``spec.scale``."""
    base = spec.base
    base_family = family(base)
    if base_family.per_structure_calculator:  # (ASE's EAM reads one funcfl file per element)
        return ScaledCalculator(lambda elements: base_family.calculator(for_elements(base, elements)), spec.scale)
    return ScaledCalculator(base_family.calculator(base), spec.scale)


def _scaled_weights(spec: ModelSpec) -> list[Path]:
    return family(spec.base).weights(spec.base)


# what the files say is the base's (harness.models.metadata.model_info asks the base itself)
SCALED = Family("scaled", calculator=_scaled_calculator, weights=_scaled_weights)
