"""What the 0 K probes share (``harness surfaces``, ``defects``, ``mixing``): structures relaxed
in LAMMPS with the model one after another into a ledger, a quantity per entry computed from
their total energies, and the comparison with a reference the user brings.

render writes the crystal (``structures/unit.extxyz``); execute relaxes (``relaxed/``,
``relaxed.json``: a killed run resumes at the structure where it stopped, see
:mod:`harness.relax`) and writes ``plan.json``, which structure is which; collect computes the
quantities from the ledger into ``results.json`` and figures. The same formulas run on the
reference when it is a folder of DFT total energies (``<structure name>.*`` or
``<structure name>/``, anything ASE reads with an energy: ``vasprun.xml``, ``OUTCAR``,
extxyz); a table (CSV ``key,value[,unit]``, or a JSON/YAML mapping) gives the quantities
themselves. Errors: MAE, signed mean error and the slope through the origin
(:func:`harness.analysis.energetics.parity`), and a parity plot.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import ClassVar

import numpy as np

from ..errors import ConfigError, RunFolderError
from ..files import read_json, write_json
from ..forces import TEMPLATES as FORCE_TEMPLATES
from ..forces import box_relax_style, minimize_deck
from .base import Task

PLAN = "plan.json"
RESULTS_FILE = "results.json"


class StaticTask(Task):
    """Base of the 0 K probes: subclasses set the quantity and implement :meth:`compute`
    (relax, return the plan) and :meth:`quantities` (values from total energies)."""

    templates = FORCE_TEMPLATES + ("minimize.in.j2",)
    quantity: ClassVar[str] = ""
    unit: ClassVar[str] = ""
    # units a reference table may state, with the factor to this task's unit
    units: ClassVar[dict[str, float]] = {}

    def __init__(self, settings, *, render_only: bool = False, **_):
        from ..engines import choose
        from ..lammps.probe import probe
        from ..models import with_precision
        from ..systems import unit_cell

        super().__init__(settings)
        self.model, self.precision = with_precision(settings.model, "relaxation")
        self.choice = choose(settings.engine, self.model, probe(), render_only=render_only)
        self.crystal = unit_cell(settings.system.structure)
        self.crystal.pbc = True

    @property
    def model_spec(self):
        return self.model

    def cutoff_A(self, elements) -> float | None:
        from ..models import for_elements
        from ..models.metadata import model_info

        return model_info(for_elements(self.model, list(elements))).cutoff_A

    def check_covers(self, elements, what: str) -> None:
        from ..models.metadata import check_covers

        check_covers(self.model, list(dict.fromkeys(elements)), what)

    # ------------------------------------------------------------------ the protocol
    def render(self, run_dir: Path, **_) -> dict:
        from ase.io import write

        from .frames import model_entry

        (Path(run_dir) / "structures").mkdir(exist_ok=True)
        write(Path(run_dir) / "structures" / "unit.extxyz", self.crystal, format="extxyz")
        self.write_preview(Path(run_dir))
        return {"model": {**model_entry(self.model), "precision": self.precision},
                "engine": {"name": self.choice.name, "reason": self.choice.reason}, self.name: self.describe()}

    def describe(self) -> dict:
        """What the folder will compute (the summary's record)."""
        return {}

    def write_preview(self, run_dir: Path) -> None:
        """``decks/bulk.in.lammps``: the first deck execute runs (the crystal's cell relaxation)
        through the chosen engine, to read before a run (every session's deck is written beside
        its log under ``lammps/`` as it runs; an ML-IAP export is made there, or by the job)."""
        from ase.calculators.lammps import Prism

        from ..engines import ENGINES
        from ..files import write_text
        from ..lammps.framesession import single_point_deck
        from ..models import for_elements
        from ..systems import species_order

        elements = species_order(self.crystal)
        model = for_elements(self.model, elements)
        engine = ENGINES[self.choice.name]
        deck = single_point_deck(f"{self.run_name}-bulk", model.label, self.choice.name, elements,
                                 **engine.context(model, elements))
        relax = minimize_deck(f"{self.run_name}-bulk", ftol_eV_A=self.settings.ftol_eV_A, maxiter=10000,
                              box_relax=box_relax_style(Prism(np.asarray(self.crystal.cell))))
        (run_dir / "decks").mkdir(exist_ok=True)
        write_text(run_dir / "decks" / "bulk.in.lammps",
                   f"# Preview: the deck of the crystal's first session (structure.data: structures/unit.extxyz)\n"
                   f"{deck}\n{relax}")

    def can_resume(self, run_dir: Path) -> bool:
        return True

    def execute(self, run_dir: Path, launcher, *, resume: bool = False, progress: bool = True) -> dict:
        from ..relax import Relaxer

        run_dir = Path(run_dir)
        relaxer = Relaxer(self.model, run_dir, engine=self.settings.engine, ftol_eV_A=self.settings.ftol_eV_A,
                          progress=progress, deadline=getattr(self, "deadline", None))
        plan = self.compute(relaxer, run_dir)
        write_json(run_dir / PLAN, plan)
        records = relaxer.ledger.records
        unconverged = sorted(k for k, r in records.items() if not r["converged"])
        return {"engine": {"name": relaxer.engine_used}, "relaxed_structures": len(records),
                "unconverged_structures": unconverged}

    def compute(self, relaxer, run_dir: Path) -> dict:
        raise NotImplementedError

    def quantities(self, plan: dict, totals: dict) -> dict:
        """{key: {"value": ..., ...}} from ``totals`` ({structure name: (energy eV, Atoms)});
        entries whose structures ``totals`` lacks are left out."""
        raise NotImplementedError

    def collect(self, run_dir: Path, *, progress: bool = True, **_) -> dict:
        from ..relax import Ledger

        run_dir = Path(run_dir)
        if not (run_dir / PLAN).is_file():
            raise RunFolderError(f"{run_dir}: no {PLAN} (execute the run first)")
        plan = read_json(run_dir / PLAN)
        ledger = Ledger(run_dir)
        totals = {name: (rec["energy_eV"], ledger.atoms(name)) for name, rec in ledger.records.items()}
        entries = self.quantities(plan, totals)
        doc = {"task": self.name, "system": self.settings.system.name, "model": self.model.label,
               "quantity": self.quantity, "unit": self.unit, "entries": entries, "plan": plan,
               "relaxations": {k: {f: r[f] for f in ("energy_eV", "n_atoms", "formula", "max_force_eV_A",
                                                     "max_stress_GPa", "converged", "wall_s")}
                               for k, r in ledger.records.items()}}
        doc.update(self.extra_results(plan, entries, totals))
        (run_dir / "figures").mkdir(exist_ok=True)
        if self.settings.reference is not None:
            doc["reference"] = self.compare(plan, entries, Path(self.settings.reference), run_dir)
        self.figures(doc, run_dir / "figures")
        doc["headline"] = self.headline(doc)
        write_json(run_dir / RESULTS_FILE, doc)
        return doc

    def extra_results(self, plan: dict, entries: dict, totals: dict) -> dict:
        return {}

    def figures(self, doc: dict, folder: Path) -> None:
        pass

    # ------------------------------------------------------------------ the reference
    def compare(self, plan: dict, entries: dict, reference: Path, run_dir: Path) -> dict:
        from ..analysis.energetics import parity
        from ..report.energetics import parity_plot

        if reference.is_dir():
            ref_values = {k: v["value"] for k, v in self.quantities(plan, dft_totals(reference, plan)).items()}
            kind = "folder of DFT total energies (the same formulas)"
        else:
            ref_values = read_reference_table(reference, self.unit, self.units)
            kind = "table"
        keys = list(entries)
        ref = np.array([ref_values.get(k, math.nan) for k in keys], float)
        mod = np.array([entries[k]["value"] for k in keys], float)
        stats = parity(ref, mod)
        per_entry = {k: {"model": m, "reference": None if math.isnan(r) else r,
                         "error": None if math.isnan(r) else m - r} for k, m, r in zip(keys, mod, ref)}
        path = parity_plot(keys, ref, mod, stats, run_dir / "figures" / "parity.png", quantity=self.quantity,
                           unit=self.unit, title=f"{self.settings.system.name}, {self.model.label}")
        return {"source": str(reference), "kind": kind, "unit": self.unit, "stats": stats, "entries": per_entry,
                "missing": [k for k in keys if k not in ref_values],
                "unmatched": sorted(set(ref_values) - set(keys)), "figure": str(path.relative_to(run_dir))}

    # ------------------------------------------------------------------ campaigns (harness jobs)
    @classmethod
    def metrics(cls, results: dict) -> dict:
        """Every entry's value, ``<key>_<unit>`` (a campaign table's columns)."""
        unit = results["unit"].replace("/", "_")
        return {f"{key}_{unit}": item["value"] for key, item in results["entries"].items()}

    @classmethod
    def reference_errors(cls, run_dir: Path, reference_dir: Path, system: str | None) -> dict:
        """The member against ``<reference_dir>/<system>.csv|.json|.yaml`` or the DFT folder
        ``<reference_dir>/<system>/``: its results.json gets the comparison (and its parity
        plot), the campaign row MAE, signed mean error and slope."""
        from .base import load_task

        ref = _reference_for(Path(reference_dir), system)
        if ref is None:
            return {}
        run_dir = Path(run_dir)
        doc = read_json(run_dir / RESULTS_FILE)
        task = load_task(run_dir)
        doc["reference"] = task.compare(doc["plan"], doc["entries"], ref, run_dir)
        write_json(run_dir / RESULTS_FILE, doc)
        s, unit = doc["reference"]["stats"], doc["unit"].replace("/", "_")
        if not s.get("n"):
            return {"n_reference": 0}
        return {f"mae_{unit}": s["mae"], f"mean_signed_error_{unit}": s["mean_signed_error"],
                "slope_vs_reference": s["slope_through_origin"], "n_reference": s["n"]}

    @classmethod
    def campaign_summary(cls, out: Path, run_dirs: list[Path]) -> dict:
        """Every entry of every member with a reference value in one parity plot and one set of
        errors (Deng et al.'s Fig. 2a–c: all surfaces of all materials together)."""
        from ..analysis.energetics import parity
        from ..report.energetics import parity_plot

        labels, ref, mod, unit = [], [], [], None
        for run_dir in run_dirs:
            doc = read_json(Path(run_dir) / RESULTS_FILE)
            unit = doc["unit"]
            for key, e in (doc.get("reference") or {}).get("entries", {}).items():
                if e["reference"] is not None:
                    labels.append(f"{doc['system']}:{key}")
                    ref.append(e["reference"])
                    mod.append(e["model"])
        if not labels:
            return {}
        stats = parity(ref, mod)
        (Path(out) / "figures").mkdir(exist_ok=True)
        path = parity_plot(labels, ref, mod, stats, Path(out) / "figures" / f"parity-{cls.name}.png",
                           quantity=cls.quantity, unit=unit, title=f"{cls.name}: {len(run_dirs)} run(s)")
        return {"unit": unit, "stats": stats, "entries": len(labels), "figure": str(path.relative_to(out))}

    def headline_reference(self, doc: dict) -> list[str]:
        ref = doc.get("reference")
        if not ref or not ref["stats"].get("n"):
            return ["vs reference: no entry matched" + (f" (its keys: {', '.join(ref['unmatched'][:5])})"
                                                        if ref and ref["unmatched"] else "")] if ref else []
        s = ref["stats"]
        return [f"vs reference ({s['n']} entries): MAE {s['mae']:.4g} {self.unit}, mean signed error "
                f"{s['mean_signed_error']:+.4g} {self.unit}, slope {s['slope_through_origin']:.3f} "
                f"({s['underpredicted']} of {s['n']} below the reference)"]


def _reference_for(reference_dir: Path, system: str | None) -> Path | None:
    """A system's reference in a campaign's reference folder: a table or a DFT folder."""
    if not system:
        return None
    for ext in (".csv", ".json", ".yaml", ".yml"):
        if (reference_dir / f"{system}{ext}").is_file():
            return reference_dir / f"{system}{ext}"
    return reference_dir / system if (reference_dir / system).is_dir() else None


def read_reference_table(path: Path, unit: str, units: dict[str, float]) -> dict[str, float]:
    """{key: value in ``unit``} from a CSV (``key,value[,unit]``) or a JSON/YAML mapping (an
    optional top-level ``unit``); one line for anything else."""
    import csv

    def factor(u: str | None, where: str) -> float:
        if not u:
            return 1.0
        u = u.strip().replace("Å", "A").replace("²", "2").replace("^", "").replace(" ", "")
        if u not in units:
            raise ConfigError(f"--reference {path}: {where}unit {u!r} is not one of {', '.join(units)}")
        return units[u]

    text = path.read_text()
    out: dict[str, float] = {}
    if path.suffix.lower() in (".json", ".yaml", ".yml"):
        import yaml

        data = yaml.safe_load(text)
        if not isinstance(data, dict):
            raise ConfigError(f"--reference {path}: a mapping of key: value expected")
        f = factor(data.pop("unit", None), "")
        values = data.get("values", data)
        for k, v in values.items():
            try:
                out[str(k)] = float(v) * f
            except (TypeError, ValueError):
                raise ConfigError(f"--reference {path}: {k}: {v!r} is not a number") from None
        return out
    rows = list(csv.DictReader(line for line in text.splitlines() if line.strip() and not line.startswith("#")))
    if not rows or "key" not in rows[0] or "value" not in rows[0]:
        raise ConfigError(f"--reference {path}: a CSV with columns key,value (and optionally unit) expected")
    for n, row in enumerate(rows, start=2):
        try:
            out[row["key"].strip()] = float(row["value"]) * factor(row.get("unit"), f"row {n}: ")
        except (TypeError, ValueError):
            raise ConfigError(f"--reference {path}: row {n}: {row['value']!r} is not a number") from None
    return out


def dft_totals(folder: Path, plan: dict) -> dict:
    """{structure name: (energy eV, Atoms)} of the structures of ``plan`` that ``folder`` holds
    (``<name>.*`` or ``<name>/`` with a file ASE reads and an energy)."""
    from ase.io import read

    out = {}
    for name in plan_names(plan):
        candidates = sorted(folder.glob(f"{name}.*"))
        sub = folder / name
        if sub.is_dir():
            candidates += [p for p in (sub / "vasprun.xml", sub / "OUTCAR") if p.is_file()]
            candidates += sorted(sub.glob("*.extxyz"))
        for path in candidates:
            try:
                atoms = read(path)
                out[name] = (float(atoms.get_potential_energy()), atoms)
                break
            except Exception:  # noqa: BLE001  (any reader error: not a structure with an energy, try the next)
                continue
    return out


def plan_names(plan) -> list[str]:
    """Every structure name a plan mentions (``name`` values at any depth)."""
    names: list[str] = []
    if isinstance(plan, dict):
        for k, v in plan.items():
            if k == "name" and isinstance(v, str):
                names.append(v)
            else:
                names += plan_names(v)
    elif isinstance(plan, list):
        for v in plan:
            names += plan_names(v)
    return list(dict.fromkeys(names))
