"""Post-process an MD run folder: results.json (units in the keys) and PNG figures.

A completed run is analysed whole; a run that is still running, failed or was interrupted is
analysed on the frames and thermo rows it wrote when asked (``partial``): what a kill leaves
cut short at the end of the dump or of thermo.dat is dropped, and said. Observables that
cannot be computed are listed under ``skipped`` with their reason.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ..errors import ConfigError, IncompleteResultsError
from ..files import write_json
from ..progress import frame_progress
from ..provenance import now
from ..runs import RunFolder, load_run


def require_md(run_dir: Path | str | RunFolder, *, partial: bool = False, what: str = "analyse") -> RunFolder:
    """The record of an MD run folder that can be used as asked: completed, or anything that
    wrote output when ``partial``; otherwise one line naming ``--partial`` and ``--resume``."""
    record = load_run(run_dir).require(md=True, completed=False, what=what)
    if record.status != "completed" and not partial:
        from ..errors import RunFolderError

        finish = f"run it first (harness execute {record.path})" if record.status == "rendered" else \
            "finish it first with --resume"
        raise RunFolderError(f"{record.path}: the run is '{record.status}', not completed; {what} what it wrote "
                             f"with --partial, or {finish}")
    return record


def parse_skip(text: str | None) -> tuple[str, ...]:
    """``--skip msd,vdos`` -> ('msd', 'vdos'), checked against the observables."""
    from ..analysis.md import OBSERVABLES

    names = tuple(t.strip() for t in (text or "").split(",") if t.strip())
    bad = [n for n in names if n not in OBSERVABLES]
    if bad:
        raise ConfigError(f"--skip {', '.join(bad)}: unknown observable (valid: {', '.join(OBSERVABLES)})")
    return names


def _counts(record: RunFolder) -> dict[str, int]:
    """Atoms of each element of an MD run (from the formula its summary records)."""
    from ase.formula import Formula

    formula = record.structure.get("formula")
    return dict(Formula(formula).count()) if formula else {}


def analyze_run(run_dir: Path | str | RunFolder, progress: bool = True, *, partial: bool = False,
                skip: tuple[str, ...] = (), stream=None, kappa_options: dict | None = None) -> dict:
    """Analyse ``run_dir`` with the settings its summary.json records; writes results.json.

    ``partial``: a run that did not complete is analysed on what it wrote (its status stays);
    ``skip``: observables left out on purpose. Dropped tails are reported on ``stream``.
    ``kappa_options``: the Green–Kubo window and segments (:func:`harness.analysis.kappa.green_kubo`).
    """
    from ..analysis.md import analyze_md
    from ..io.thermo import read_thermo
    from ..report.plots import plot_md_report

    stream = stream or sys.stderr
    record = require_md(run_dir, partial=partial)
    run_dir = record.path
    md = record.md
    temperature_K = md.temperature_K
    steps = (record.summary.get("resolved") or {}).get("protocol", {}).get("steps")
    completed = record.status == "completed"
    obs = record.summary.get("observables")  # what the run computed, and the g(r) range and bins
    results = analyze_md(run_dir, elements=record.elements, timestep_fs=md.timestep_fs, dump_every=md.dump_every,
                         thermo_every=md.thermo_every, temperature_K=temperature_K,
                         equilibration_ps=md.equilibration_ps, progress=frame_progress("analyze") if progress else None,
                         skip=skip, complete_to=steps if completed and not partial else None,
                         observables=obs, counts=_counts(record), kappa_options=kappa_options,
                         **({"rdf_bins": obs["rdf_bins"], "rdf_r_max_A": obs["rdf_r_max_A"]} if obs else {}))
    for note in results.get("notes", []):
        print(f"warning: {note}", file=stream)
    thermo_path = run_dir / "thermo.dat"
    thermo = read_thermo(thermo_path, timestep_fs=md.timestep_fs) if thermo_path.is_file() else None
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
    ends = results.get("last_step") or {}
    last = min((s for s in ends.values() if s is not None), default=None)  # both files reach it
    cut = completed and steps is not None and any(
        ends.get(name) is not None and ends[name] < steps // every * every
        for name, every in (("thermo", md.thermo_every), ("dump", md.dump_every)))
    if not completed or cut:  # (a completed run reaches here cut short only with --partial)
        document["partial"] = {"status": record.status, "last_step": last, "steps": steps,
                               "n_frames": results.get("n_frames", 0)}
        if cut:
            document["partial"]["why"] = "the run completed, but its outputs were cut short afterwards"
    document["headline"] = headline(document, temperature_K)
    write_json(run_dir / "results.json", document)
    record.update(analysed=now(), results="results.json")
    return document


def kappa_run(run_dir: Path | str | RunFolder, *, partial: bool = False, **options) -> dict:
    """κ of an MD run that wrote its heat flux (:func:`harness.analysis.insitu.kappa_insitu` with
    ``options``: window_ps, max_lag_ps, segments), into results.json's ``kappa`` and kappa.png."""
    import math

    from ..analysis.insitu import kappa_insitu
    from ..errors import AnalysisError
    from ..files import read_json
    from ..io.thermo import read_thermo
    from ..report.plots import plot_kappa

    record = require_md(run_dir, partial=partial, what="compute κ of")
    obs = record.summary.get("observables") or {}
    if not obs.get("heat_flux"):
        raise ConfigError(f"{record.path}: the run wrote no heat flux; render it with --heat-flux (classic or ML-IAP "
                          f"engine) to compute κ")
    md = record.md
    thermo = read_thermo(record.path / "thermo.dat", timestep_fs=md.timestep_fs)
    from_step = int(math.ceil(md.equilibration_ps / (md.timestep_fs * 1e-3) - 1e-9))
    keep = thermo["step"] >= from_step
    if not keep.any():
        raise AnalysisError(f"{record.path}: thermo.dat has no rows after the equilibration (κ needs T and V)")
    path = record.path / obs["files"][-1]
    try:
        doc = kappa_insitu(path, from_step, md.timestep_fs, float(thermo["volume_A3"][keep].mean()),
                           float(thermo["temperature_K"][keep].mean()), check=record.path / "virial_check.dat",
                           **{k: v for k, v in options.items() if v is not None})
    except (OSError, ValueError) as exc:
        raise AnalysisError(f"{path}: {exc}") from None
    if "skipped" in doc:
        raise AnalysisError(f"{record.path}: κ not computed: {doc['skipped']}")
    results_path = record.path / "results.json"
    results = read_json(results_path) if results_path.is_file() else {"run_name": record.name}
    results["kappa"] = doc
    (record.path / "figures").mkdir(exist_ok=True)
    plot_kappa(doc, record.path / "figures" / "kappa.png")
    write_json(results_path, results)
    return doc


def check_complete(doc: dict) -> None:
    """One line (exit 4) when observables are missing that the user did not leave out."""
    from ..analysis.md import ASKED

    missing = {k: v for k, v in (doc.get("skipped") or {}).items() if v != ASKED}
    if missing:
        listed = "; ".join(f"{k} ({v})" for k, v in missing.items())
        raise IncompleteResultsError(f"results.json lacks {listed}; leave them out on purpose with "
                                     f"--skip {','.join(missing)}")


def headline(doc: dict, temperature_K: float) -> list[str]:
    """A few human lines for the terminal, with units."""
    out = []
    if "partial" in doc:
        p = doc["partial"]
        done = f"{p['last_step']} of {p['steps']} steps" if p["last_step"] is not None else \
            f"nothing written yet of {p['steps']} steps"
        out.append(f"partial: {done}, {p['n_frames']} frames ({p.get('why') or 'the run is ' + repr(p['status'])})")
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
    if m.get("D_cm2_per_s") is not None:
        lo, hi = m["fit_window_ps"]
        out.append(f"D = {m['D_cm2_per_s']:.3g} ± {m['D_uncertainty_cm2_per_s']:.2g} cm²/s "
                   f"(MSD fit {lo:.2f}–{hi:.2f} ps)")
    elif m.get("D_verdict"):  # a crystal's plateau or a run too short: a verdict, not a number
        bound = m.get("D_upper_bound_cm2_per_s")
        out.append(f"D: {m['D_verdict']} ({m['D_reason']}" + (f"; D < {bound:.2g} cm²/s)" if bound else ")"))
    k = doc.get("kappa") or {}
    if k.get("kappa_W_mK") is not None:
        spread = (f"; {k['kappa_mean_W_mK']:.3g} ± {k['kappa_sem_W_mK']:.2g} over {k['segments']} segments"
                  if k.get("segments") else "")
        out.append(f"κ = {k['kappa_W_mK']:.3g} W/(m·K) (Green–Kubo to {k['window_ps']:.3g} ps: "
                   f"{k['window']}{spread})")
    insitu = [name for name in ("rdf", "msd", "vdos") if (doc.get(name) or {}).get("source") == "in-situ"]
    if insitu:
        out.append(f"in-situ (computed by LAMMPS while it ran): {', '.join(insitu)}")
    if doc["timing"].get("ms_per_step"):
        out.append(f"{doc['timing']['ms_per_step']:.1f} ms/step "
                   f"({doc['engine']} engine, {doc['timing']['n_atoms']} atoms)")
    for name, why in (doc.get("skipped") or {}).items():
        out.append(f"skipped: {name} ({why})")
    return out
