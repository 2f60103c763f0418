"""``harness defects``: point-defect formation energies E_f = E_defect − E_perfect − Σ ΔN_i μ_i
(vacancies, antisites, interstitials on the symmetry-distinct sites: :mod:`harness.pointdefects`)
in a supercell of the bulk relaxed with the model, μ_i from the elemental crystals relaxed with
the same model (or given), the supercell size converged on request."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..analysis.energetics import formation_energy
from ..config.static import DefectsSettings
from ..errors import ConfigError
from .base import register
from .static import StaticTask


@register
class DefectsTask(StaticTask):
    """Point defects: bulk relaxed (cell too) → elemental phases relaxed → each defect in the
    supercell(s), relaxed at fixed cell (or cell too)."""

    name = "defects"
    settings_class = DefectsSettings
    quantity = "formation energy"
    unit = "eV"
    units = {"eV": 1.0, "meV": 1e-3}

    def __init__(self, settings: DefectsSettings, **kw):
        from ..defects import check_wide_enough, supercell_for
        from ..pointdefects import defects_of, elemental_phase

        super().__init__(settings, **kw)
        s = settings
        elements = list(dict.fromkeys(self.crystal.get_chemical_symbols()))
        kinds = s.defects or (("vacancy", "antisite") if len(elements) > 1 else ("vacancy",))
        self.defects = defects_of(self.crystal, kinds)
        involved = list(dict.fromkeys(elements + [el for d in self.defects for el in d.delta]))
        self.check_covers(involved, f"defects in {s.system.name}")
        cutoff = self.cutoff_A(involved)
        if cutoff is None and s.supercell is None:
            raise ConfigError(f"model {s.model.name} states no cutoff: give the supercell (--supercell)")
        self.min_width = 2.0 * (cutoff or 0.0)
        self.supercell = tuple(s.supercell) if s.supercell else supercell_for(self.crystal, self.min_width)
        check_wide_enough(self.crystal.repeat(self.supercell), self.min_width, f"the {_sc(self.supercell)} supercell")
        given_mu = {el: float(v) for el, v in (x.split("=", 1) for x in s.mu)}
        given_phase = {el: f for el, f in (x.split("=", 1) for x in s.elemental)}
        self.mu_sources: dict[str, dict] = {}
        self.phases = {}
        for el in sorted({el for d in self.defects for el in d.delta}):
            if el in given_mu:
                self.mu_sources[el] = {"value_eV": given_mu[el], "source": "given (--mu)"}
            elif el in given_phase:
                from ..io.structures import read_structure

                self.phases[el] = read_structure(given_phase[el])
                if set(self.phases[el].get_chemical_symbols()) != {el}:
                    raise ConfigError(f"--elemental {el}={given_phase[el]}: holds "
                                      f"{self.phases[el].get_chemical_formula()}, not only {el}")
                self.mu_sources[el] = {"name": f"mu-{el}", "source": f"{given_phase[el]}, relaxed with the model"}
            else:
                self.phases[el] = elemental_phase(el)  # one line when the element has no crystal
                self.mu_sources[el] = {"name": f"mu-{el}", "source": f"ASE's reference state of {el} "
                                                                     f"({self.phases[el].get_chemical_formula()}, "
                                                                     f"relaxed with the model)"}

    def supercells(self) -> list[tuple[int, int, int]]:
        n = self.settings.max_supercells if self.settings.converge else 1
        return [tuple(x + k for x in self.supercell) for k in range(n)]

    def describe(self) -> dict:
        return {"defects": [d.describe() for d in self.defects], "supercells": [list(x) for x in self.supercells()],
                "min_width_A": self.min_width, "relax_cell": self.settings.relax_cell,
                "chemical_potentials": self.mu_sources, "rattle_A": self.settings.rattle_A}

    # ------------------------------------------------------------------ execute
    def compute(self, relaxer, run_dir: Path) -> dict:
        from ..pointdefects import build_defect

        s = self.settings
        relaxer.relax("bulk", self.crystal, cell=True)
        unit = relaxer.ledger.atoms("bulk")
        for el, phase in self.phases.items():
            relaxer.relax(f"mu-{el}", phase, cell=True)
        entries: dict[str, dict] = {}
        for d in self.defects:
            entry = {**d.describe(), "rungs": []}
            previous = None
            for sc in self.supercells():
                atoms = build_defect(unit, d, sc, rattle_A=s.rattle_A, seed=0)
                name = f"{d.key}-{_sc(sc)}"
                rec = relaxer.relax(name, atoms, cell=s.relax_cell)
                entry["rungs"].append({"name": name, "supercell": list(sc), "n_atoms": len(atoms)})
                e_f = rec["energy_eV"]  # (a convergence test on E_defect − E_perfect: μ is the same for all)
                e_f -= int(np.prod(sc)) * relaxer.ledger.energy("bulk")
                if previous is not None and abs(e_f - previous) <= s.tolerance_eV:
                    break
                previous = e_f
            entries[d.key] = entry
        return {"bulk": {"name": "bulk"}, "unit_atoms": len(unit), "mu": self.mu_sources, "entries": entries,
                "tolerance_eV": s.tolerance_eV, "converge": s.converge}

    # ------------------------------------------------------------------ collect
    def quantities(self, plan: dict, totals: dict) -> dict:
        if "bulk" not in totals:
            return {}
        e_unit, unit = totals["bulk"]
        mu = {}
        for el, src in plan["mu"].items():
            if "value_eV" in src:
                mu[el] = src["value_eV"]
            elif src["name"] in totals:
                e, atoms = totals[src["name"]]
                mu[el] = e / len(atoms)
        out = {}
        for key, entry in plan["entries"].items():
            if any(el not in mu for el in entry["delta_N"]):
                continue
            series = []
            for rung in entry["rungs"]:
                if rung["name"] not in totals:
                    continue
                e, atoms = totals[rung["name"]]
                reps = round((len(atoms) - sum(entry["delta_N"].values())) / len(unit))
                e_perfect = reps * e_unit
                series.append({**rung, "E_f_eV": formation_energy(e, e_perfect, entry["delta_N"], mu),
                               "E_defect_eV": e, "E_perfect_eV": e_perfect})
            if not series:
                continue
            last = series[-1]
            item = {"value": last["E_f_eV"], "E_f_eV": last["E_f_eV"], "kind": entry["kind"],
                    "element": entry["element"], "site_element": entry["site_element"], "delta_N": entry["delta_N"],
                    "supercell": last["supercell"], "n_atoms": last["n_atoms"], "ladder": series,
                    "mu_eV": {el: mu[el] for el in entry["delta_N"]}}
            if plan.get("converge"):
                item["size_change_eV"] = last["E_f_eV"] - series[-2]["E_f_eV"] if len(series) > 1 else None
                item["converged"] = len(series) > 1 and abs(item["size_change_eV"]) <= plan["tolerance_eV"]
            out[key] = item
        return out

    def extra_results(self, plan: dict, entries: dict, totals: dict) -> dict:
        mu = {}
        for el, src in plan["mu"].items():
            value = src.get("value_eV")
            if value is None and src["name"] in totals:
                e, atoms = totals[src["name"]]
                value = e / len(atoms)
            mu[el] = {"mu_eV_per_atom": value, "source": src["source"]}
        return {"chemical_potentials": mu, "relax_cell": self.settings.relax_cell,
                "formula": "E_f = E_defect - E_perfect - sum_i dN_i mu_i (dN_i: atoms of i added)"}

    def figures(self, doc: dict, folder: Path) -> None:
        from ..report.energetics import convergence_plot

        if doc["plan"].get("converge"):
            series = {k: ([r["n_atoms"] for r in v["ladder"]], [r["E_f_eV"] for r in v["ladder"]])
                      for k, v in doc["entries"].items()}
            convergence_plot(series, folder / "convergence.png", xlabel="atoms in the supercell",
                             quantity="E_f", unit="eV", tolerance=doc["plan"]["tolerance_eV"],
                             title=f"{doc['system']}, {doc['model']}")

    def headline(self, doc: dict) -> list[str]:
        lines = []
        for key, item in doc["entries"].items():
            conv = item.get("converged")
            state = "" if conv is None else (", converged" if conv else ", NOT converged")
            lines.append(f"E_f({key}) = {item['E_f_eV']:.4f} eV ({_sc(item['supercell'])} supercell, "
                         f"{item['n_atoms']} atoms{state})")
        mu = ", ".join(f"μ_{el} = {v['mu_eV_per_atom']:.4f} eV/atom" for el, v in doc["chemical_potentials"].items()
                       if v["mu_eV_per_atom"] is not None)
        return lines + ([f"chemical potentials: {mu}"] if mu else []) + self.headline_reference(doc)


def _sc(sc) -> str:
    return "x".join(str(int(x)) for x in sc)
