"""Campaign: every system × model in MD, analysed, compared with references; table and Pareto front.

For each system with a reference ``<reference_dir>/<system>.<ext>`` the model runs, by default,
in the reference's cell from its first frame at its temperature
(:func:`~harness.tasks.compare.system_from_reference`); without a reference it runs the
registered system and is analysed but not compared. Completed run folders are reused.
Outputs in ``<runs_dir>/campaign-<tag>/``: ``campaign.json``, ``results.csv`` and
``results.md`` (combined), ``tables/<observable>.csv`` (model × system), ``pareto.png``
(E_RPV vs ms per MD step, means over systems) and ``overlay-<system>.png``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from ..config import CampaignSettings, CompareSettings
from ..errors import HarnessError
from ..files import write_json, write_text
from ..names import safe_name
from ..provenance import now
from ..report.tables import fmt, markdown, write_csv, write_rows_csv
from ..runs import load_run, read_summary

OBSERVABLES = ("E_RDF_percent", "E_P_percent", "delta_P_GPa", "E_VDOS_percent", "E_RPV_percent", "L_RPV_percent",
               "W1_VDOS_THz", "W1_P_GPa")
COLUMNS = ("system", "model", "engine", "n_atoms", "ms_per_step") + OBSERVABLES + ("run", "reference", "note")


def campaign(settings: CampaignSettings, runs_dir="runs", *, progress: bool = False, stream=None) -> tuple[Path, dict]:
    """Run, analyse and compare every system × model; returns (campaign folder, campaign.json)."""
    stream = stream or sys.stderr
    from ..config import load_model, load_system, md_settings
    from ..io.trajectory import find_reference, read_trajectory
    from ..lammps.probe import probe
    from ..report.compare import pareto_front, plot_overlays, plot_pareto
    from .base import check_reusable, collect_run, execute_run, render_run
    from .compare import compare_run, system_from_reference
    from .md import MDTask

    c = settings
    systems, models, reference_dir, preset = list(c.systems), list(c.models), c.reference_dir, c.preset
    for m in models:
        load_model(m)  # unknown names fail here, before any compute
    sys_specs = {s: load_system(s) for s in systems}
    runs_dir = Path(runs_dir)
    out = runs_dir / c.folder_name
    out.mkdir(parents=True, exist_ok=True)
    caps = probe()

    refs = {}
    for s in systems:
        path = find_reference(Path(reference_dir) if reference_dir else None, sys_specs[s].name)
        if path is not None:
            refs[s] = (path, read_trajectory(path, timestep_fs=c.reference_timestep_fs, stride=c.reference_stride,
                                             forces=False))  # observables only

    rows, compare_docs = [], {}
    for s in systems:
        spec = sys_specs[s]
        preset_name = preset or spec.default_preset
        system_arg, run_tag = s, None
        if s in refs and c.from_reference:
            ref_path, ref = refs[s]
            system_arg = str(system_from_reference(ref, spec.name, out / "systems", base_system=s))
            T = ref.temperature_K or spec.temperature_K
            run_tag = f"{preset_name}-T{T:g}-ref-{safe_name(ref_path.stem)}"
        for m in models:
            row = {"system": spec.name, "model": m, "note": ""}
            try:
                task = MDTask(md_settings(system_arg, m, preset, steps=c.steps, engine=c.engine, tag=run_tag),
                              caps=caps)
                run_dir = runs_dir / task.run_name
                row["run"] = run_dir.name
                if read_summary(run_dir).get("status") == "completed":
                    check_reusable(task, run_dir, "run the campaign in another --runs-dir, or remove that folder")
                    print(f"[campaign] reusing {run_dir}", file=stream)
                else:
                    print(f"[campaign] MD {run_dir.name} ({task.choice.name} engine)", file=stream)
                    render_run(task, runs_dir, overwrite=run_dir.exists())
                    execute_run(run_dir, task=task, progress=progress)
                record = load_run(run_dir)
                row.update(model=record.model_label, engine=record.engine, n_atoms=record.n_atoms,
                           ms_per_step=record.ms_per_step)
                if not (run_dir / "results.json").is_file():
                    collect_run(run_dir, task=task, progress=progress)
            except HarnessError as exc:
                row["note"] = f"MD failed: {exc}"
                rows.append(row)
                continue
            if s in refs:
                ref_path, ref = refs[s]
                row["reference"] = str(ref_path)
                try:
                    _, doc = compare_run(CompareSettings(run=str(run_dir), reference=str(ref_path),
                                                         reference_skip_ps=c.reference_skip_ps), reference_traj=ref)
                    row.update({k: doc["errors"].get(k) for k in OBSERVABLES})
                    compare_docs.setdefault(spec.name, {})[row["model"]] = doc
                    if doc.get("skipped"):
                        row["note"] = "; ".join(sorted(set(doc["skipped"].values())))
                except HarnessError as exc:
                    row["note"] = f"not compared: {exc}"
            else:
                row["note"] = "no reference"
            rows.append(row)

    # ---- per model: means over systems (the Pareto front's points)
    per_model = []
    for m in dict.fromkeys(r["model"] for r in rows):
        mine = [r for r in rows if r["model"] == m]
        entry = {"model": m, "n_systems": len(mine)}
        costs = [r["ms_per_step"] for r in mine if r.get("ms_per_step") is not None]
        entry["ms_per_step"] = float(np.mean(costs)) if costs else None
        for k in OBSERVABLES:
            vals = [r[k] for r in mine if r.get(k) is not None]
            entry[k] = float(np.mean(vals)) if vals else None
            entry[f"n_{k}"] = len(vals)
        per_model.append(entry)
    pts = [(e["ms_per_step"], e["E_RPV_percent"]) for e in per_model
           if e["ms_per_step"] is not None and e["E_RPV_percent"] is not None]
    named = [e["model"] for e in per_model if e["ms_per_step"] is not None and e["E_RPV_percent"] is not None]
    front = [named[i] for i in pareto_front(pts)]
    for e in per_model:
        e["pareto_optimal"] = e["model"] in front

    _write_tables(out, rows, per_model, systems=[sys_specs[s].name for s in systems])
    figures = [plot_pareto(per_model, out / "pareto.png")]
    for system, docs in compare_docs.items():
        ref_name = Path(next(iter(docs.values()))["reference"]["file"]).name
        figures.append(plot_overlays(system, docs, out / f"overlay-{system}.png", ref_name))
    doc = {"task": "campaign", "created": now(), "systems": systems, "models": models,
           "reference_dir": reference_dir, "from_reference": c.from_reference, "preset": preset, "steps": c.steps,
           "engine": c.engine, "request": c.request(),
           "rows": rows, "per_model": per_model, "pareto_front": front,
           "pareto": {"error": "E_RPV_percent (mean over systems)", "cost": "ms_per_step (mean over systems)"},
           "figures": [p.name for p in figures],
           "tables": ["results.csv", "results.md"] + [f"tables/{k}.csv" for k in OBSERVABLES]}
    write_json(out / "campaign.json", doc)
    return out, doc


def _write_tables(out: Path, rows: list[dict], per_model: list[dict], systems: list[str]) -> None:
    write_csv(out / "results.csv", rows, COLUMNS)
    tables = out / "tables"
    tables.mkdir(exist_ok=True)
    models = list(dict.fromkeys(r["model"] for r in rows))
    shown = [c for c in COLUMNS if c not in ("run", "reference")]
    md = ["# Campaign results", "",
          "Errors of each model's NVT run against the reference trajectory (Dyna-Mat definitions; 0 is perfect). "
          "E_* in %, ΔP and W1_P in GPa, W1_VDOS in THz (Wasserstein-1: keeps growing with a peak shift where the "
          "L1-overlap E_VDOS saturates); cost = wall time per MD step (ms).", "",
          "## Combined", ""]
    md += markdown(shown, [[fmt(r.get(c)) for c in shown] for r in rows])
    md += ["", "## Per model (means over systems) and the Pareto front (E_RPV vs ms/step)", ""]
    md += markdown(["model", "ms_per_step", *OBSERVABLES, "Pareto-optimal"],
                   [[e["model"], fmt(e["ms_per_step"]), *(fmt(e[k]) for k in OBSERVABLES),
                     "yes" if e["pareto_optimal"] else ""] for e in per_model])
    for k in OBSERVABLES:
        header = ["model"] + systems + ["mean"]
        table = []
        for m in models:
            vals = {r["system"]: r.get(k) for r in rows if r["model"] == m}
            present = [v for v in vals.values() if v is not None]
            table.append([m] + [vals.get(s) for s in systems] + [float(np.mean(present)) if present else None])
        write_rows_csv(tables / f"{k}.csv", header, table)
        md += ["", f"## {k}", ""] + markdown(header, [[fmt(v) for v in t] for t in table])
    write_text(out / "results.md", "\n".join(md) + "\n")
