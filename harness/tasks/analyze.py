"""Post-process a finished MD run folder: results.json (units in the keys) and PNG figures."""

from __future__ import annotations

from pathlib import Path

from ..progress import frame_progress
from ..runs import load_run, now, update_summary, write_json


def analyze_run(run_dir: Path | str, progress: bool = True) -> dict:
    """Analyse ``run_dir`` with the settings its summary.json records; writes results.json."""
    from ..analysis.md import analyze_md
    from ..analysis.thermo import read_thermo
    from ..report.plots import plot_md_report

    run_dir = Path(run_dir)
    record = load_run(run_dir).require(md=True, completed=True, what="analyse")
    md = record.md
    temperature_K = md.temperature_K
    results = analyze_md(run_dir, elements=record.elements, timestep_fs=md.timestep_fs, dump_every=md.dump_every,
                         thermo_every=md.thermo_every, temperature_K=temperature_K,
                         equilibration_ps=md.equilibration_ps, progress=frame_progress("analyze") if progress else None)
    thermo = read_thermo(run_dir / "thermo.dat", timestep_fs=md.timestep_fs)
    figures_dir = run_dir / "figures"
    figures_dir.mkdir(exist_ok=True)
    figures = plot_md_report(results, thermo, figures_dir)
    document = {
        "run_name": record.name,
        "analysed": now(),
        "system": record.system_name,
        "model": record.model_label,
        "model_sha256": record.model_sha256,
        "engine": record.engine,
        "timing": {"ms_per_step": record.ms_per_step, "n_atoms": record.n_atoms},
        "figures": [str(Path(f).relative_to(run_dir)) for f in figures],
        **results,
    }
    document["headline"] = headline(document, temperature_K)
    write_json(run_dir / "results.json", document)
    update_summary(run_dir, analysed=now(), results="results.json")
    return document


def headline(doc: dict, temperature_K: float) -> list[str]:
    """A few human lines for the terminal, with units."""
    out = []
    t = doc.get("temperature", {})
    if "mean_K" in t:
        out.append(f"T = {t['mean_K']:.1f} ± {t.get('std_K', float('nan')):.1f} K (target {temperature_K:g} K)")
    p = doc.get("pressure", {})
    if "mean_GPa" in p:
        out.append(f"P = {p['mean_GPa']:.3f} ± {p.get('sem_GPa', float('nan')):.3f} GPa (mean ± s.e.m.)")
    r = doc.get("rdf", {})
    if "first_peak_A" in r:
        out.append(f"RDF first peak at {r['first_peak_A']:.3f} Å")
    m = doc.get("msd", {})
    if "D_cm2_per_s" in m:
        out.append(f"D = {m['D_cm2_per_s']:.3g} cm²/s")
    if doc["timing"].get("ms_per_step"):
        out.append(f"{doc['timing']['ms_per_step']:.1f} ms/step ({doc['engine']} engine, {doc['timing']['n_atoms']} atoms)")
    return out
