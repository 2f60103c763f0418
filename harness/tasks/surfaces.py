"""``harness surfaces``: surface energies γ = (E_slab − N·ε_bulk)/2A of the low-index planes (or
those asked) of a crystal, slabs cut from the bulk relaxed with the model (:mod:`harness.slabs`),
relaxed at fixed cell, thickness (and vacuum) converged to a stated tolerance in γ."""

from __future__ import annotations

from pathlib import Path

from ..analysis.energetics import J_M2_PER_EV_A2, surface_energy
from ..config.static import SurfacesSettings
from ..errors import ConfigError, StructureError
from .base import register
from .static import StaticTask

VACUUM_CHECK_A = 5.0  # the vacuum check: the converged slab again with this much more vacuum


@register
class SurfacesTask(StaticTask):
    """Surface energies: bulk relaxed (cell too) → slabs of growing thickness per plane and
    termination, each relaxed at fixed cell, until two successive γ agree → the vacuum check."""

    name = "surfaces"
    settings_class = SurfacesSettings
    quantity = "surface energy"
    unit = "J/m2"
    units = {"J/m2": 1.0, "Jm-2": 1.0, "eV/A2": J_M2_PER_EV_A2, "meV/A2": J_M2_PER_EV_A2 / 1000}

    def __init__(self, settings: SurfacesSettings, **kw):
        from ..config.static import parse_millers
        from ..slabs import low_index_millers, make_slabs

        super().__init__(settings, **kw)
        s = settings
        elements = self.crystal.get_chemical_symbols()
        self.check_covers(elements, f"system {s.system.name}")
        cutoff = self.cutoff_A(dict.fromkeys(elements))
        if cutoff is None and (s.thickness_A is None or s.vacuum_A is None):
            raise ConfigError(f"model {s.model.name} states no cutoff: give --thickness and --vacuum")
        self.cutoff = cutoff or 0.0
        self.vacuum = s.vacuum_A or max(12.0, 2.0 * self.cutoff)
        if self.cutoff and self.vacuum < self.cutoff + 1.0:
            raise ConfigError(f"--vacuum {self.vacuum:g} Å: the faces would see each other across it (the model's "
                              f"cutoff is {self.cutoff:g} Å); give at least {self.cutoff + 1:g} Å")
        self.notes: list[str] = []
        asked = parse_millers(",".join(s.miller)) if s.miller else None
        self.millers = []
        for m in asked or low_index_millers(self.crystal):
            try:  # polar planes are found now, before any compute (the lattice constant does not matter)
                make_slabs(self.crystal, m, 4.0, 8.0, s.system.name)
            except StructureError as exc:
                if asked:
                    raise
                self.notes.append(f"left out: {exc}")
                continue
            self.millers.append(m)
        if not self.millers:
            raise StructureError(f"{s.system.name}: no plane with a symmetric, stoichiometric slab; "
                                 + "; ".join(self.notes))

    def ladder(self) -> list[float]:
        """The slab thicknesses tried (Å): the one given, or from twice the cutoff in steps of it."""
        s = self.settings
        if s.thickness_A:
            return [float(s.thickness_A)]
        step = max(self.cutoff, 3.0)
        return [2.0 * step + k * step for k in range(s.max_slabs)]

    def describe(self) -> dict:
        from ..config.static import miller_label

        return {"planes": [miller_label(m) for m in self.millers], "thickness_ladder_A": self.ladder(),
                "vacuum_A": self.vacuum, "tolerance_J_m2": self.settings.tolerance_J_m2, "notes": self.notes}

    # ------------------------------------------------------------------ execute
    def compute(self, relaxer, run_dir: Path) -> dict:
        from ..config.static import miller_label
        from ..slabs import make_slabs

        s = self.settings
        bulk_rec = relaxer.relax("bulk", self.crystal, cell=True)
        bulk = relaxer.ledger.atoms("bulk")
        eps = bulk_rec["energy_eV"] / bulk_rec["n_atoms"]
        entries: dict[str, dict] = {}
        for miller in self.millers:
            label = miller_label(miller)
            previous: dict[int, float] = {}
            last_n = None
            keys: list[str] = []
            for thickness in self.ladder():
                slabs = make_slabs(bulk, miller, thickness, self.vacuum, s.system.name)
                if len(slabs[0].atoms) == last_n:
                    continue  # the generator rounds to whole layers: this rung is the last one again
                last_n = len(slabs[0].atoms)
                done = True
                for slab in slabs:
                    key = slab.key
                    if key not in entries:
                        entries[key] = {"miller": list(miller), "termination": slab.termination, "rungs": []}
                        keys.append(key)
                    rung = _rung(f"slab-{label}-t{slab.termination}-n{len(slab.atoms)}", slab, thickness, self.vacuum)
                    rec = relaxer.relax(rung["name"], slab.atoms)
                    gamma = surface_energy(rec["energy_eV"], rec["n_atoms"], eps, slab.area_A2)["gamma_J_m2"]
                    entries[key]["rungs"].append(rung)
                    if slab.termination not in previous or abs(gamma - previous[slab.termination]) > s.tolerance_J_m2:
                        done = False
                    previous[slab.termination] = gamma
                if done or s.thickness_A:
                    break
            if s.thickness_A:
                continue
            # the vacuum check: the thickest slab again with more vacuum
            for slab in make_slabs(bulk, miller, thickness, self.vacuum + VACUUM_CHECK_A, s.system.name):
                key = slab.key
                if key in entries:
                    rung = _rung(f"slab-{label}-t{slab.termination}-n{len(slab.atoms)}-vac", slab, thickness,
                                 self.vacuum + VACUUM_CHECK_A)
                    relaxer.relax(rung["name"], slab.atoms)
                    entries[key]["vacuum_check"] = rung
        return {"bulk": {"name": "bulk"}, "entries": entries, "tolerance_J_m2": s.tolerance_J_m2,
                "fixed_thickness": bool(s.thickness_A)}

    # ------------------------------------------------------------------ collect
    def quantities(self, plan: dict, totals: dict) -> dict:
        if "bulk" not in totals:
            return {}
        e_bulk, bulk = totals["bulk"]
        eps = e_bulk / len(bulk)
        tol = plan.get("tolerance_J_m2", self.settings.tolerance_J_m2)
        out = {}
        for key, entry in plan["entries"].items():
            series = []
            for rung in entry["rungs"]:
                if rung["name"] in totals:
                    e, atoms = totals[rung["name"]]
                    g = surface_energy(e, len(atoms), eps, _area(atoms))
                    series.append({**rung, **g})
            if not series:
                continue
            last = series[-1]
            item = {"value": last["gamma_J_m2"], "gamma_J_m2": last["gamma_J_m2"], "gamma_eV_A2": last["gamma_eV_A2"],
                    "miller": entry["miller"], "termination": entry["termination"], "slab": last["name"],
                    "n_atoms": last["n_atoms"], "n_layers": last["n_layers"], "thickness_A": last["thickness_A"],
                    "vacuum_A": last["vacuum_A"], "area_A2": last["area_A2"], "ladder": series}
            if not plan.get("fixed_thickness"):
                change = last["gamma_J_m2"] - series[-2]["gamma_J_m2"] if len(series) > 1 else None
                item["thickness_change_J_m2"] = change
                item["converged"] = len(series) > 1 and abs(item["thickness_change_J_m2"]) <= tol
            check = entry.get("vacuum_check")
            if check and check["name"] in totals:
                e, atoms = totals[check["name"]]
                g = surface_energy(e, len(atoms), eps, _area(atoms))["gamma_J_m2"]
                item["vacuum_change_J_m2"] = g - last["gamma_J_m2"]
                item["converged"] = item.get("converged", True) and abs(g - last["gamma_J_m2"]) <= tol
            out[key] = item
        return out

    def extra_results(self, plan: dict, entries: dict, totals: dict) -> dict:
        planes: dict[str, dict] = {}
        for key, item in entries.items():
            label = key.split(":")[0]
            if label not in planes or item["value"] < planes[label]["gamma_J_m2"]:
                planes[label] = {"gamma_J_m2": item["value"], "gamma_eV_A2": item["gamma_eV_A2"], "entry": key}
        return {"planes": planes, "notes": self.notes,
                "formula": "gamma = (E_slab - N*eps_bulk) / 2A, eps_bulk: the relaxed bulk's energy per atom"}

    def figures(self, doc: dict, folder: Path) -> None:
        from ..report.energetics import convergence_plot

        series = {k: ([r["thickness_A"] for r in v["ladder"]], [r["gamma_J_m2"] for r in v["ladder"]])
                  for k, v in doc["entries"].items()}
        if series:
            convergence_plot(series, folder / "convergence.png", xlabel="slab thickness (Å)", quantity="γ",
                             unit="J/m²", tolerance=None if doc["plan"].get("fixed_thickness")
                             else doc["plan"]["tolerance_J_m2"],
                             title=f"{doc['system']}, {doc['model']}")

    def headline(self, doc: dict) -> list[str]:
        lines = []
        for key, item in doc["entries"].items():
            conv = item.get("converged")
            state = "" if conv is None else (" converged" if conv else " NOT converged")
            lines.append(f"γ({key}) = {item['gamma_J_m2']:.4f} J/m² ({item['gamma_eV_A2']:.5f} eV/Å²), "
                         f"{item['n_layers']} layers, {item['n_atoms']} atoms{state}")
        return lines + [f"note: {n}" for n in doc.get("notes", [])] + self.headline_reference(doc)


def _rung(name: str, slab, asked_thickness_A: float, asked_vacuum_A: float) -> dict:
    """One slab of a plane's ladder: what was asked of the generator and what it made."""
    return {"name": name, "thickness_A": slab.thickness_A, "vacuum_A": slab.vacuum_A, "n_atoms": len(slab.atoms),
            "n_layers": slab.n_layers, "area_A2": slab.area_A2, "asked_thickness_A": asked_thickness_A,
            "asked_vacuum_A": asked_vacuum_A}


def _area(atoms) -> float:
    import numpy as np

    a, b = np.asarray(atoms.cell)[:2]
    return float(np.linalg.norm(np.cross(a, b)))
