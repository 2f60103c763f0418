"""``harness versus``: several models (zero-shot, linear-corrected, fine-tuned, from scratch ...)
through the same probes, one table and figures (Cao & Clancy's comparison, Figures 2-3).

Each probe is an ordinary task run in its own run folder (completed folders are reused, an
interrupted one is resumed): ``softening`` on labelled frames, ``neb`` (the barrier of a hop),
``md`` (temperature, pressure, g(r) peak, diffusion; Dyna-Mat errors against
``<reference-dir>/<system>.*`` when given), ``phonons`` (the highest frequency), ``slide``
(the rigid sliding barrier, meV/Å²). Outputs in ``<runs>/versus-<tag>/``:
``versus.json``, ``versus.csv`` and ``versus.md`` (one row per model, one column per metric,
with the reference and each model's error where the user gave a reference),
``bars.png`` (one panel per metric, a bar per model, the reference as a line) and
``mep.png`` (the NEB minimum-energy paths of every model overlaid).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigError, HarnessError
from ..files import write_json, write_text
from ..provenance import now
from ..report.tables import fmt, markdown, write_csv

PROBES = ("softening", "neb", "md", "phonons", "slide")


@dataclass(frozen=True)
class VersusSettings:
    """The models (label -> model argument, in the order given), the probes and their inputs."""

    models: dict
    probes: tuple[str, ...]
    system: str | None = None
    frames: str | None = None
    hop: str = "vacancy"
    images: int = 5
    preset: str | None = None
    steps: int | None = None
    reference_dir: str | None = None
    references: dict = field(default_factory=dict)  # metric -> reference value (barrier_eV: 0.70)
    tag: str = "compare"

    def __post_init__(self):
        unknown = [p for p in self.probes if p not in PROBES]
        if unknown or not self.probes:
            raise ConfigError(f"unknown probe '{(unknown or [''])[0]}' (valid: {', '.join(PROBES)})")
        if len(self.models) < 2:
            raise ConfigError("harness versus compares two models or more (--models a,b or label=model,...)")
        if "softening" in self.probes and not self.frames:
            raise ConfigError("probe softening needs --frames FILE (labelled reference frames)")
        if set(self.probes) - {"softening"} and not self.system:
            raise ConfigError(f"probes {', '.join(p for p in self.probes if p != 'softening')} need --system")


def probe_task(probe: str, model: str, s: VersusSettings):
    """The task of one probe for one model (the same settings its own command builds)."""
    from .build import build_task

    if probe == "softening":
        return build_task("softening", model, frames=s.frames)
    options = {"neb": {"hop": s.hop, "images": s.images}, "md": {"preset": s.preset, "steps": s.steps}}
    return build_task(probe, model, system=s.system, **options.get(probe, {}))


def probe_metrics(probe: str, task, results: dict, run_dir: Path, s: VersusSettings) -> dict:
    """The numbers of one probe's results that go into the table (units in the names): the ones a
    campaign table takes (:meth:`Task.metrics`), and MD's errors against its reference."""
    out = dict(type(task).metrics(results))
    if probe == "md" and s.reference_dir:
        out.update(type(task).reference_errors(run_dir, Path(s.reference_dir), task.settings.system.name))
    return out


def run_probe(task, runs_dir: Path, progress: bool) -> tuple[Path, dict]:
    """A completed folder's results as they are (only one rendered from the same settings: two
    models of one name would share a folder); an interrupted one resumed; else a new run."""
    from ..runs import load_run
    from .base import check_reusable, results_of, run_task

    path = Path(runs_dir) / task.run_name
    if path.is_dir():
        check_reusable(task, path, "two models of the same name? give the models distinct names, or another --runs-dir")
        record = load_run(path)
        if record.status == "completed":
            return path, results_of(record, task=task, progress=progress)
        return run_task(task, runs_dir, resume=True, progress=progress)
    return run_task(task, runs_dir, progress=progress)


def versus(settings: VersusSettings, runs_dir: Path | str = "runs", *, progress: bool = True, stream=None) -> tuple:
    """Every probe for every model; returns (output folder, versus.json)."""
    from ..config import load_model
    from ..report.versus import bars_figure, mep_figure

    stream = stream or sys.stderr
    for model in settings.models.values():
        load_model(model)  # an unknown name is one line before any compute
    runs_dir = Path(runs_dir)
    out = runs_dir / f"versus-{settings.tag}"
    out.mkdir(parents=True, exist_ok=True)
    rows, profiles, runs = [], {}, {}
    for label, model in settings.models.items():
        row = {"label": label, "model": model}
        for probe in settings.probes:
            print(f"[versus] {label}: {probe}", file=stream, flush=True)
            try:
                task = probe_task(probe, model, settings)
                run_dir, results = run_probe(task, runs_dir, progress)
            except HarnessError as exc:  # one model failing a probe is a note in its row, not the end
                row.setdefault("notes", []).append(f"{probe}: {exc}")
                print(f"[versus] {label}: {probe} failed: {exc}", file=stream, flush=True)
                continue
            runs[f"{label}/{probe}"] = str(run_dir)
            row.update(probe_metrics(probe, task, results, run_dir, settings))
            if probe == "neb":
                band = results["band"]
                profiles[label] = (band["reaction_coordinate"], band["energies_eV"])
        rows.append(row)
    metrics = [k for k in dict.fromkeys(k for r in rows for k, v in r.items()
                                        if isinstance(v, (int, float)) and not isinstance(v, bool))]
    refs = {k: float(v) for k, v in settings.references.items()}
    for r in rows:
        for k, ref in refs.items():
            if r.get(k) is not None:
                r[f"{k}_error"] = r[k] - ref
    doc = {"created": now(), "models": settings.models, "probes": list(settings.probes), "system": settings.system,
           "frames": settings.frames, "references": refs, "rows": rows, "runs": runs,
           "definitions": {"<metric>_error": "model minus the reference given with --reference metric=value"}}
    figures = [bars_figure(rows, metrics, refs, out / "bars.png", title=f"versus: {', '.join(settings.probes)}")]
    if profiles:
        figures.append(mep_figure(profiles, out / "mep.png", reference=refs.get("barrier_eV"),
                                  title=f"{settings.system}: {settings.hop} hop"))
    doc["figures"] = [f.name for f in figures]
    write_json(out / "versus.json", doc)
    columns = ["label", "model"] + [c for k in metrics for c in ([k, f"{k}_error"] if k in refs else [k])] + ["notes"]
    for r in rows:
        r["notes"] = "; ".join(r.get("notes", []))
    write_csv(out / "versus.csv", rows, columns)
    table = [[r.get(c) if c in ("label", "model", "notes") else fmt(r.get(c)) for c in columns] for r in rows]
    refs_line = [f"reference {k} = {v:g}" for k, v in refs.items()]
    write_text(out / "versus.md", "\n".join([f"# versus ({', '.join(settings.probes)})", "", *refs_line, ""]
                                            + markdown(columns, table)) + "\n")
    return out, doc
