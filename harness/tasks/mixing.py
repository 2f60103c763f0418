"""``harness mixing``: mixing energies of a binary solid solution on one sublattice (Ca/Mg on
rocksalt's cation sites), every symmetry-distinct arrangement up to a supercell size (icet) or
the user's, relaxed with the model (positions and cell), and their convex hull."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..analysis.energetics import lower_hull, mixing_energy
from ..config.static import MixingSettings
from ..errors import ConfigError
from .base import register
from .static import StaticTask

MAX_ARRANGEMENTS = 5000  # beyond this, a smaller --max-size (the count grows ~exponentially with it)


@register
class MixingTask(StaticTask):
    """Mixing energies: both end members relaxed (cell too) → every arrangement started at
    Vegard's volume and relaxed (cell too) → ΔE_mix per atom and the hull."""

    name = "mixing"
    settings_class = MixingSettings
    quantity = "mixing energy"
    unit = "eV/atom"
    units = {"eV/atom": 1.0, "meV/atom": 1e-3}

    def __init__(self, settings: MixingSettings, **kw):
        from ..arrangements import enumerate_arrangements, given_arrangements
        from ..config.static import parse_mix

        super().__init__(settings, **kw)
        s = settings
        self.a, self.b = parse_mix(s.mix)
        if s.structures:
            from ..io.structures import read_structure

            frames = read_structure(s.structures, "--structures", index=":")
            self.arrangements = given_arrangements(frames, self.crystal, self.a, self.b, s.structures)
        else:
            self.arrangements = enumerate_arrangements(self.crystal, self.a, self.b, s.max_size)
        if len(self.arrangements) > MAX_ARRANGEMENTS:
            raise ConfigError(f"--max-size {s.max_size}: {len(self.arrangements)} arrangements (more than "
                              f"{MAX_ARRANGEMENTS}); a smaller --max-size")
        self.check_covers(list(self.crystal.get_chemical_symbols()) + [self.b], f"mixing in {s.system.name}")

    def describe(self) -> dict:
        counts: dict[str, int] = {}
        for arr in self.arrangements:
            counts[f"{arr.x:.4f}"] = counts.get(f"{arr.x:.4f}", 0) + 1
        return {"mix": f"{self.a}:{self.b}", "arrangements": len(self.arrangements), "per_composition": counts,
                "source": self.settings.structures or f"icet enumerate_structures, sizes 1..{self.settings.max_size}"}

    # ------------------------------------------------------------------ execute
    def compute(self, relaxer, run_dir: Path) -> dict:
        from ase.io import write

        from ..arrangements import vegard_start

        ends = self.arrangements[:2]
        volumes = []
        for end in ends:
            rec = relaxer.relax(end.key, end.atoms, cell=True)
            volumes.append(rec["volume_A3"] / max(end.n_a, end.n_b))
        v_a, v_b = volumes
        entries = {}
        structures = []
        for arr in self.arrangements:
            start = arr.atoms if arr.key.startswith("end-") else vegard_start(arr, v_a, v_b)
            relaxer.relax(arr.key, start, cell=True)
            entries[arr.key] = {"name": arr.key, "n_a": arr.n_a, "n_b": arr.n_b, "x": arr.x, "size": arr.size,
                                "n_atoms": len(arr.atoms), "formula": arr.atoms.get_chemical_formula()}
            start.info["name"] = arr.key
            structures.append(start)
        write(Path(run_dir) / "structures" / "arrangements.extxyz", structures, format="extxyz")
        return {"a": self.a, "b": self.b, "entries": entries}

    # ------------------------------------------------------------------ collect
    def quantities(self, plan: dict, totals: dict) -> dict:
        a, b = plan["a"], plan["b"]
        if f"end-{a}" not in totals or f"end-{b}" not in totals:
            return {}
        ea, eb = plan["entries"][f"end-{a}"], plan["entries"][f"end-{b}"]
        e_a = totals[f"end-{a}"][0] / ea["n_a"]
        e_b = totals[f"end-{b}"][0] / eb["n_b"]
        out = {}
        for key, entry in plan["entries"].items():
            if entry["name"] not in totals:
                continue
            e, atoms = totals[entry["name"]]
            d = mixing_energy(e, entry["n_a"], entry["n_b"], e_a, e_b, len(atoms))
            out[key] = {"value": d, "dE_mix_eV_atom": d, "dE_mix_meV_atom": 1e3 * d, "x": entry["x"],
                        "formula": entry["formula"], "n_atoms": len(atoms),
                        "volume_A3_per_atom": atoms.get_volume() / len(atoms)}
        return out

    def extra_results(self, plan: dict, entries: dict, totals: dict) -> dict:
        keys = list(entries)
        if not keys:
            return {}
        x = np.array([entries[k]["x"] for k in keys])
        e = np.array([entries[k]["value"] for k in keys])
        hull, above = lower_hull(x, e)
        for k, d in zip(keys, above):
            entries[k]["above_hull_meV_atom"] = 1e3 * float(d)
        on_hull = [keys[i] for i in hull]
        ordered = [k for k in on_hull if not k.startswith("end-")]
        by_x: dict[str, dict] = {}
        for k in keys:
            tag = f"{entries[k]['x']:.4f}"
            if tag not in by_x or entries[k]["value"] < by_x[tag]["dE_mix_meV_atom"] / 1e3:
                by_x[tag] = {"x": entries[k]["x"], "lowest": k, "dE_mix_meV_atom": entries[k]["dE_mix_meV_atom"]}
        verdict = (f"ordered arrangements on the hull: {', '.join(ordered)}" if ordered else
                   "no arrangement below the end members' line: the solid solution separates at 0 K (a miscibility "
                   "gap; its closure needs the configurational entropy)")
        return {"hull": {"on_hull": on_hull, "verdict": verdict},
                "per_composition": sorted(by_x.values(), key=lambda c: c["x"]),
                "formula": "dE_mix = (E - n_a e_a - n_b e_b) / N_atoms, e: the relaxed end members' energy per "
                           "mixing site"}

    def figures(self, doc: dict, folder: Path) -> None:
        from ..report.energetics import hull_plot

        entries = doc["entries"]
        keys = list(entries)
        if not keys:
            return
        x = [entries[k]["x"] for k in keys]
        e = [entries[k]["dE_mix_meV_atom"] for k in keys]
        hull = [keys.index(k) for k in doc["hull"]["on_hull"]]
        ref = None
        if doc.get("reference"):
            ref = [(doc["reference"]["entries"][k]["reference"] or np.nan) * 1e3
                   if doc["reference"]["entries"][k]["reference"] is not None else np.nan for k in keys]
        hull_plot(x, e, hull, keys, folder / "hull.png", a=self.a, b=self.b, reference=ref,
                  title=f"{doc['system']} {self.a}:{self.b}, {doc['model']}")

    def headline(self, doc: dict) -> list[str]:
        lines = [f"{len(doc['entries'])} arrangements of {self.a}/{self.b}; lowest per composition:"]
        for c in doc.get("per_composition", []):
            lines.append(f"  x = {c['x']:.3f}: ΔE_mix = {c['dE_mix_meV_atom']:+.2f} meV/atom ({c['lowest']})")
        if doc.get("hull"):
            lines.append(doc["hull"]["verdict"])
        return lines + self.headline_reference(doc)
