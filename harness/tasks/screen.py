"""Screen: phonons (and σ^(2) from model MD) of one model over many materials; one table.

Orchestration over run folders, like :mod:`.campaign`: every material is a phonons run folder
of its own (``<runs>/<material>-<model>-phonons-<tag>``, the task protocol: `harness execute`
runs it anywhere, a job array can run them all), with ``--sigma-md T`` also an MD folder and
one σ folder per force-constant protocol. The screen folder ``<runs>/screen-<model>-<tag>/``
holds the table and the figures:

``screen.json``   request, one row per material, the statistics (:mod:`harness.analysis.screen`)
``screen.csv``    every column; ``screen.md``: headline, confusion matrices, distributions, table
``figures/``      max_frequency_ratio, rmse_omega2, sigma_error (histograms), stability_confusion,
                  sigma_confusion
``members.txt``   the member run folders, one a line (``harness execute $(sed -n Np members.txt)``)
``systems/``, ``force-constants/``  what the σ members read: the MD cell, Φ of both sides
                  (:mod:`.screen_inputs` writes them)

Resuming: a member folder that completed with the same request is reused, any other (failed,
interrupted, rendered, other settings) is rendered again and run; a material that fails
becomes a row with its one-line reason and the screen goes on. The model's calculator is
built once per process (per precision) and handed to every force session and MD run.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from ..analysis.harmonic import to_ase
from ..analysis.screen import phonon_row, summarize
from ..analysis.sigma import classify
from ..config import PhononsSettings, ScreenSettings, SigmaSettings, load_system, md_settings
from ..errors import HarnessError, IncompleteResultsError
from ..files import jsonable, read_json, write_json, write_text
from ..names import safe_name
from ..provenance import now
from ..runs import RESULTS, load_run
from .screen_inputs import full_force_constants, lammps_frame, md_system, structure_system, write_fc_file

YAMLS = ("phonopy_params.yaml", "phonopy_disp.yaml", "phonopy.yaml")  # first found is the reference
STRUCTURE_SKIP = {".md", ".txt", ".json", ".csv", ".png", ".pdf", ".py", ".yaml", ".yml"}


@dataclass
class Material:
    """One material of a screen: a reference folder or a structure file."""

    name: str
    source: Path
    reference: Path | None = None
    forces: list[Path] = field(default_factory=list)
    born: Path | None = None
    problem: str | None = None  # why it cannot be screened (becomes the row's reason)


def _natural(path: Path):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", path.name)]


def reference_material(folder: Path) -> Material:
    """A reference folder: the first of ``YAMLS``, ``FORCE_SETS`` or else every ``vasprun.xml*``
    (in natural order: vasprun.xml-001, -002, ...), and ``BORN`` when present."""
    m = Material(safe_name(folder.name, "material"), folder)
    m.reference = next((folder / y for y in YAMLS if (folder / y).is_file()), None)
    if m.reference is None:
        m.problem = f"{folder.name}/: no phonopy yaml ({', '.join(YAMLS)})"
        return m
    if (folder / "FORCE_SETS").is_file():
        m.forces = [folder / "FORCE_SETS"]
    else:
        m.forces = sorted((p for p in folder.glob("vasprun.xml*") if p.is_file()), key=_natural)
    m.born = folder / "BORN" if (folder / "BORN").is_file() else None
    return m


def find_materials(settings: ScreenSettings) -> list[Material]:
    """The materials of a screen, sorted by name (hidden entries skipped)."""
    src = settings.source
    if settings.references:
        found = [reference_material(p) for p in sorted(src.iterdir()) if p.is_dir() and not p.name.startswith(".")]
    else:
        found = [Material(safe_name(p.stem, "material"), p) for p in sorted(src.iterdir())
                 if p.is_file() and not p.name.startswith(".") and p.suffix.lower() not in STRUCTURE_SKIP]
    seen: dict[str, Path] = {}
    for m in found:
        if m.name in seen and m.problem is None:
            m.problem = f"its name {m.name!r} is also {seen[m.name].name}'s (names come from folder or file names)"
        seen.setdefault(m.name, m.source)
    if not found:
        what = "material folders" if settings.references else "structure files"
        raise HarnessError(f"{src}: no {what} to screen")
    return found


# ---------------------------------------------------------------------- shared model
class SharedModels:
    """The model's calculator, built once per process for each precision it runs in."""

    def __init__(self, engine: str, caps=None):
        from ..lammps.probe import probe

        self.engine, self.caps = engine, caps or probe()
        self._built: list[tuple[object, object]] = []

    def get(self, spec):
        from ..forces import shared_calculator

        for s, calc in self._built:
            if s == spec:
                return calc
        calc = shared_calculator(spec, self.engine, self.caps)
        self._built.append((spec, calc))
        return calc


class _EngineWithCalculator:
    """An engine whose sessions are handed an already-built calculator (the screen's shared
    model) instead of building their own; everything else is the engine's."""

    def __init__(self, engine, calc):
        self._engine, self._calc = engine, calc

    def attach(self, session, model, symbols, run_dir, caps, calc=None, per_atom_every=()):
        return self._engine.attach(session, model, symbols, run_dir, caps, calc=calc or self._calc,
                                   per_atom_every=per_atom_every)

    def __getattr__(self, name):
        return getattr(self._engine, name)


# ---------------------------------------------------------------------- members
def run_member(task, runs_dir: Path, label: str, *, stream, progress: bool = False,
               render_only: bool = False, stale: bool = False) -> tuple[Path, dict | None]:
    """Reuse a completed member folder with the same request (unless ``stale``: an input it read
    changed); otherwise render it (again) and run it. ``render_only``: render what is missing
    and return no results."""
    from .base import collect_run, execute_run, render_run

    run_dir = Path(runs_dir) / task.run_name
    record = None
    if run_dir.exists():
        try:
            record = load_run(run_dir)
        except HarnessError:
            record = None
    same = record is not None and record.request == jsonable(task.request()) and not stale
    if same and record.status == "completed":
        if (run_dir / RESULTS).is_file():
            print(f"[screen] {label}: reusing {run_dir.name}", file=stream)
            return run_dir, read_json(run_dir / RESULTS)
        return run_dir, None if render_only else collect_run(run_dir, task=task, progress=progress)
    if render_only and same and record.status == "rendered":
        return run_dir, None
    why = ("new" if record is None else "its inputs changed" if stale else "settings changed" if not same else
           f"retrying ({record.status}" + (f": {record.error}" if record.error else "") + ")")
    print(f"[screen] {label}: {'rendering' if render_only else 'running'} {run_dir.name} ({why})", file=stream)
    render_run(task, runs_dir, overwrite=run_dir.exists())
    if render_only:
        return run_dir, None
    execute_run(run_dir, task=task, progress=progress)
    return run_dir, collect_run(run_dir, task=task, progress=progress)


# ---------------------------------------------------------------------- one material
class Screen:
    """One screen: its settings, where it writes, the shared model; :meth:`run` does it all."""

    def __init__(self, settings: ScreenSettings, runs_dir="runs", *, stream=None, progress: bool = False,
                 render_only: bool = False):
        from ..models import with_precision

        self.settings, self.runs_dir = settings, Path(runs_dir)
        self.out = self.runs_dir / settings.folder_name
        self.stream = stream or sys.stderr
        self.progress, self.render_only = progress, render_only
        self.models = SharedModels(settings.engine)
        self.model_phonons, _ = with_precision(settings.model, "phonons")
        self.members: list[Path] = []

    def _member(self, task, label, stale: bool = False):
        run_dir, res = run_member(task, self.runs_dir, label, stream=self.stream, progress=self.progress,
                                  render_only=self.render_only, stale=stale)
        self.members.append(run_dir)
        return run_dir, res

    def phonons_task(self, m: Material):
        from .phonons import PhononsTask

        s = self.settings
        system = None
        if m.reference is None:
            system = load_system(str(structure_system(self.out / "systems", m.name, m.source)))
        ps = PhononsSettings(model=s.model, system=system, engine=s.engine, supercell=s.supercell,
                             displacement_A=s.displacement_A, mesh=s.mesh,
                             reference=str(m.reference) if m.reference else None,
                             reference_forces=tuple(str(f) for f in m.forces), born=str(m.born) if m.born else None,
                             temperatures_K=s.temperatures_K, tag=s.member_tag, name=m.name)
        return PhononsTask(ps, calc=self.models.get(self.model_phonons))

    def material(self, m: Material) -> dict:
        """One row: the phonons member, then (``sigma_md_K``) the MD and σ members."""
        row = {"material": m.name, "status": "failed", "source": str(m.source)}
        stage = "phonons"
        try:
            if m.problem:
                raise HarnessError(m.problem)
            task = self.phonons_task(m)
            ph_dir, doc = self._member(task, f"{m.name} phonons")
            row["phonons_run"] = ph_dir.name
            if doc is None:  # rendered only
                row.update(status="rendered", reason="rendered; run the member folders, then this screen again")
                if self.settings.sigma_md_K is not None:
                    stage = "md"
                    self._md(m, task)
                return row
            if "thermodynamics" not in doc:  # results of an older harness: collected again from the folder
                from .base import collect_run

                doc = collect_run(ph_dir, task=task, progress=self.progress)
            row.update(phonon_row(doc))
            if self.settings.sigma_md_K is not None:
                stage = "σ"
                row.update(self._sigma(m, task, ph_dir, row))
            row["status"], row["reason"] = "done", None
        except KeyboardInterrupt:
            raise
        except HarnessError as exc:
            row["reason"] = f"{stage}: {_one_line(str(exc))}"
        except Exception as exc:  # noqa: BLE001 - a broken input file: phonopy, yaml, ASE raise many types
            row["reason"] = f"{stage}: {type(exc).__name__}: {_one_line(str(exc))}"
        if row["status"] == "failed":
            print(f"[screen] {m.name}: FAILED ({row['reason']})", file=self.stream)
        return row

    def _md(self, m: Material, task):
        """The MD member in the phonon supercell, rotated as LAMMPS holds it; returns (dir, R, atoms)."""
        from .md import MDTask

        s = self.settings
        atoms, rot = lammps_frame(to_ase(task.calc.phonon.supercell))
        system = md_system(self.out / "systems", m.name, atoms, s.sigma_md_K, s.sigma_steps, s.sigma_timestep_fs)
        md = MDTask(md_settings(str(system), s.model.argument, "screen", engine=s.engine,
                                tag=f"{s.member_tag}-T{s.sigma_md_K:g}"), caps=self.models.caps)
        calc = self.models.get(md.model)
        if calc is not None:
            md.engine = _EngineWithCalculator(md.engine, calc)
        md_dir, _ = self._member(md, f"{m.name} MD {s.sigma_md_K:g} K")
        return md_dir, rot, atoms

    def _sigma(self, m: Material, task, ph_dir: Path, row: dict) -> dict:
        """⟨σ⟩ along the model's MD with Φ from the model (the phonons member's) and, with a
        reference, Φ from the reference; both Φ rotated into the MD cell."""
        import phonopy

        from .sigma import SigmaTask

        md_dir, rot, atoms = self._md(m, task)
        row["md_run"] = md_dir.name
        out = {"sigma_md_K": self.settings.sigma_md_K, "md_run": md_dir.name}
        fc_dir = self.out / "force-constants"
        sides = {"model": full_force_constants(phonopy.load(str(ph_dir / "phonopy_params.yaml"), log_level=0))}
        if task.reference is not None:
            sides["reference"] = full_force_constants(task.reference)
        runs = []
        for side, fc in sides.items():
            path = fc_dir / f"{m.name}-{side}.yaml"
            changed = write_fc_file(path, atoms, fc, rot)
            sig = SigmaTask(SigmaSettings(run=str(md_dir), fc=str(path), engine=self.settings.engine,
                                          tag=f"fc-{side}"))
            # a σ member computed with other force constants (its phonons member was redone) is redone
            sig_dir, res = self._member(sig, f"{m.name} σ (Φ {side})", stale=changed)
            runs.append(sig_dir.name)
            out[f"sigma_fc_{side}"] = res["sigma_mean"]
            out[f"class_fc_{side}"] = classify(res["sigma_mean"])
        if "sigma_fc_reference" in out:
            out["sigma_error"] = out["sigma_fc_model"] - out["sigma_fc_reference"]
        out["sigma_runs"] = runs
        return out

    # ------------------------------------------------------------------ all of it
    def run(self) -> dict:
        s = self.settings
        materials = find_materials(s)
        self.out.mkdir(parents=True, exist_ok=True)
        rows = []
        for k, m in enumerate(materials, 1):
            print(f"[screen] {k}/{len(materials)} {m.name}", file=self.stream)
            rows.append(self.material(m))
        write_text(self.out / "members.txt", "".join(f"{p}\n" for p in dict.fromkeys(self.members)))
        return self.write(rows)

    def write(self, rows: list[dict]) -> dict:
        from ..analysis.phonons import IMAGINARY_TOL_THZ
        from ..report.screen import columns, headline, plot_screen, write_csv, write_markdown

        s = self.settings
        summary = summarize(rows)
        cols = columns(rows, s.temperatures_K, with_reference=s.references is not None,
                       with_sigma=s.sigma_md_K is not None)
        doc = {"task": "screen", "created": now(), "model": s.model.label, "request": s.request(),
               "source": str(s.source), "sigma_md_K": s.sigma_md_K, "imaginary_tolerance_THz": IMAGINARY_TOL_THZ,
               "units": {"frequency": "THz", "group_velocity": "THz·Å", "free_energy": "eV/atom (F), meV/atom (dF)",
                         "entropy, heat capacity": "J/K per mole of atoms"},
               "rows": rows, "summary": summary, "columns": cols,
               "tables": [str(self.out / "screen.csv"), str(self.out / "screen.md")],
               "members": [str(p) for p in dict.fromkeys(self.members)]}
        doc["headline"] = headline(doc)
        if self.render_only:
            doc["figures"] = []
        else:
            doc["figures"] = [str(p) for p in plot_screen(doc, self.out / "figures")]
        write_csv(self.out / "screen.csv", rows, cols)
        write_markdown(self.out / "screen.md", doc, cols)
        write_json(self.out / "screen.json", doc)
        return doc


def _one_line(text: str) -> str:
    lines = [ln.strip() for ln in str(text).splitlines() if ln.strip()]
    return lines[0] if lines else "(no message)"


def screen(settings: ScreenSettings, runs_dir="runs", *, progress: bool = False, stream=None,
           render_only: bool = False) -> tuple[Path, dict]:
    """Run (or resume) a screen; returns (screen folder, screen.json)."""
    sc = Screen(settings, runs_dir, stream=stream, progress=progress, render_only=render_only)
    return sc.out, sc.run()


def check_screen(doc: dict) -> None:
    """One line (exit 4) when materials failed: the table is written, the reasons are in it."""
    s = doc["summary"]
    if s["failed"]:
        raise IncompleteResultsError(f"{s['n_failed']} of {s['n_materials']} materials failed "
                                     f"({', '.join(s['failed'])}); see {doc['tables'][1]}; "
                                     "run the screen again to retry them")
