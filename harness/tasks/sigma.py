"""σ^(2) (Knoop et al.) as a task: along a model's own MD run, or on reference frames whose
forces the model recomputes; and the class table across materials (``sigma-matrix``).

The sigma task's folder is ``runs/<md run>-sigma-<fc>`` (``--run``) or
``runs/<formula>-<model>-sigma-<frames>`` (``--reference``): execute builds Φ (from the
run's model through LAMMPS, or from a phonopy file) and streams σ(t); collect writes
``results.json`` and ``figures/sigma.png``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from ase import Atoms

from ..analysis.harmonic import DisplacementSettings, to_ase
from ..analysis.phonon_reference import load_reference
from ..analysis.sigma import SigmaAnalysis, classify
from ..config import ModelSpec, SigmaSettings, load_model
from ..errors import ConfigError
from ..files import read_json, write_json
from ..forces import TEMPLATES as FORCE_TEMPLATES
from ..names import safe_name
from ..runs import load_run
from .base import Task, register
from .displacements import FiniteDisplacements

SERIES = "sigma_series.json"


def run_structure(run_dir: Path) -> Atoms:
    """The structure an MD run started from (``relaxed.data`` when the model relaxed it)."""
    from ase.data import atomic_numbers
    from ase.io import read

    elements = load_run(run_dir).elements
    path = run_dir / "relaxed.data" if (run_dir / "relaxed.data").is_file() else run_dir / "structure.data"
    atoms = read(path, format="lammps-data", atom_style="atomic",
                 Z_of_type={i + 1: atomic_numbers[e] for i, e in enumerate(elements)})
    atoms.pbc = True
    return atoms


def model_force_constants(model: ModelSpec, supercell: Atoms, engine: str = "auto",
                          displacement_A: float = 0.01, workdir: Path | None = None) -> tuple[np.ndarray, Atoms]:
    """Full force constants (N, N, 3, 3) of ``supercell`` itself (supercell matrix = identity)."""
    calc = FiniteDisplacements(model, supercell, DisplacementSettings(
        supercell_matrix=np.eye(3, dtype=int).tolist(), displacement_A=displacement_A, engine=engine,
        primitive_matrix=None))
    calc.produce_force_constants(workdir)
    return np.asarray(calc.phonon.force_constants), to_ase(calc.phonon.supercell)


def reference_force_constants(path: Path, forces: list[Path] | None = None) -> tuple[np.ndarray, Atoms]:
    ph = load_reference(Path(path), forces)
    if np.asarray(ph.force_constants).shape[0] != len(ph.supercell):  # compact FC (as phonopy.load gives)
        ph.produce_force_constants(calculate_full_force_constants=True, show_drift=False)
    return np.asarray(ph.force_constants), to_ase(ph.supercell)


def sigma_of_run(run_dir: Path, fc: str = "model", fc_forces: list[Path] | None = None, engine: str = "auto",
                 equilibration_ps: float | None = None, workdir: Path | None = None, partial: bool = False) -> dict:
    """σ(t) along the model's own MD (positions and forces from ``traj.lammpstrj``); ``partial``:
    a run that did not complete, on the complete frames it wrote."""
    from ..io.lammps_dump import dump_cells, index_dump, iter_dump
    from .analyze import require_md

    run_dir = Path(run_dir)
    record = require_md(run_dir, partial=partial, what="compute σ of")
    md = record.md
    elements = record.elements
    if fc == "model":
        from ..models import with_precision
        from ..models.staging import staged_model_argument

        model = load_model(staged_model_argument(run_dir) or record.model.get("argument") or record.request["model"])
        model, _ = with_precision(model, "force constants")
        force_constants, ref = model_force_constants(model, run_structure(run_dir), engine=engine, workdir=workdir)
        source = f"model {model.label}"
    else:
        force_constants, ref = reference_force_constants(Path(fc), fc_forces)
        source = str(fc)
    index = index_dump(run_dir / "traj.lammpstrj")
    eq = md.equilibration_ps if equilibration_ps is None else equilibration_ps
    dt_ps = md.timestep_fs / 1000
    analysis = SigmaAnalysis(force_constants, ref.positions, ref.get_chemical_symbols(), ref.cell)
    times = []
    try:
        blocks = iter_dump(index.select(index.steps * dt_ps >= eq), elements, forces=True)
        for frames, symbols in blocks:
            if analysis.order is None:
                if not np.allclose(dump_cells(frames)[0], np.asarray(ref.cell), atol=1e-3):
                    raise ConfigError("the trajectory's cell differs from the force constants' supercell")
                try:
                    analysis.prepare(frames.positions_A[0], symbols)
                except ValueError as exc:
                    raise ConfigError(f"{run_dir.name}: {exc}") from None
            for step, pos, frc in zip(frames.step, frames.positions_A, frames.forces_eV_A):
                analysis.single_frame(pos, frc)
                times.append(int(step) * dt_ps)
    except ValueError as exc:
        raise ConfigError(f"{run_dir.name}: {exc}") from None
    out = analysis.conclude()
    out.update(time_ps=times, force_constants=source, temperature_K=md.temperature_K, run=record.name,
               system=record.system_name, model_name=record.model_label)
    if record.status != "completed":
        out["partial"] = {"status": record.status, "n_frames": len(times), "dropped": index.truncated}
    return out


def sigma_of_reference_frames(frames: list[Atoms], model: ModelSpec, fc_path: Path,
                              fc_forces: list[Path] | None = None, engine: str = "auto",
                              workdir: Path | None = None) -> dict:
    """σ of reference frames with reference forces AND with forces recomputed by the model, Φ from the reference."""
    from ..forces import ForceSession

    if not frames:
        raise ConfigError("no reference frames")
    force_constants, ref = reference_force_constants(fc_path, fc_forces)
    first = frames[0]
    a_ref = SigmaAnalysis(force_constants, ref.positions, ref.get_chemical_symbols(), ref.cell)
    a_mod = SigmaAnalysis(force_constants, ref.positions, ref.get_chemical_symbols(), ref.cell)
    try:
        a_ref.prepare(first.positions, first.get_chemical_symbols())
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    a_mod.order = a_ref.order
    with ForceSession(model, first, engine=engine, workdir=workdir) as fs:
        for atoms in frames:
            f_ref = atoms.get_forces()
            f_mod = fs.evaluate(atoms.positions, atoms.cell).forces_eV_A
            a_ref.single_frame(atoms.positions, f_ref)
            a_mod.single_frame(atoms.positions, f_mod)
    r, m = a_ref.conclude(), a_mod.conclude()
    return {"reference": r, "model": m, "classes": {"reference": r["class"], "model": m["class"]},
            "model_name": model.label, "force_constants": str(fc_path),
            "system": str(first.symbols.formula.reduce()[0])}


@register
class SigmaTask(Task):
    """``harness sigma``: ⟨σ^(2)⟩ and its class, along an MD run or on reference frames."""

    name = "sigma"
    settings_class = SigmaSettings
    templates = FORCE_TEMPLATES

    def __init__(self, settings: SigmaSettings, **_):
        super().__init__(settings)
        s = settings
        self.frames = None
        if s.run is not None:
            from .analyze import require_md

            self.record = require_md(s.run, partial=s.partial, what="compute σ of")
            self._run_name = f"{self.record.name}-sigma-{s.tag or s.fc_label}"
        else:
            from ase.io import read

            try:
                self.frames = read(s.reference, index=":")
            except Exception as exc:  # noqa: BLE001 - ASE raises many types for unreadable files
                raise ConfigError(f"--reference {s.reference}: cannot read frames ({exc})") from None
            formula = str(self.frames[0].symbols.formula.reduce()[0]) if self.frames else "frames"
            self._run_name = f"{formula}-{s.model.label}-sigma-{s.tag or safe_name(Path(s.reference).stem)}"
            from ..models import with_precision
            from ..models.metadata import check_covers

            check_covers(s.model, [e for a in self.frames for e in a.get_chemical_symbols()], "reference frames")
            self.model, self.precision = with_precision(s.model, "single points")

    @property
    def run_name(self) -> str:
        return self._run_name

    @property
    def model_spec(self):
        return getattr(self, "model", None)  # σ along a run uses the run's own (staged) model

    def render(self, run_dir: Path, **_) -> dict:
        s = self.settings
        return {"source": {"run": s.run, "reference": s.reference, "force_constants": s.fc,
                           "fc_forces": list(s.fc_forces)}}

    def execute(self, run_dir: Path, launcher, *, resume: bool = False, progress: bool = True) -> dict:
        s, workdir = self.settings, Path(run_dir) / "lammps"
        if s.run is not None:
            res = sigma_of_run(Path(s.run), fc=s.fc, fc_forces=[Path(f) for f in s.fc_forces], engine=s.engine,
                               workdir=workdir, partial=s.partial)
        else:
            res = sigma_of_reference_frames(self.frames, self.model, Path(s.fc), [Path(f) for f in s.fc_forces],
                                            s.engine, workdir=workdir)
        write_json(Path(run_dir) / SERIES, res)
        return {}

    def collect(self, run_dir: Path, *, progress: bool = True, **_) -> dict:
        run_dir = Path(run_dir)
        res = read_json(run_dir / SERIES)
        if "sigma_t" in res:  # σ along a run: the time series as a figure
            from ..report.phonons import plot_sigma

            (run_dir / "figures").mkdir(exist_ok=True)
            plot_sigma(np.asarray(res["time_ps"]), np.asarray(res["sigma_t"]), run_dir / "figures" / "sigma.png",
                       res["sigma_mean"])
        res["headline"] = self.headline(res)
        write_json(run_dir / "results.json", res)
        return res

    def labels(self) -> dict:
        s = self.settings
        if s.run is not None:  # σ along a run: the run's system and model
            return {"system": self.record.system_name, "model": self.record.model_label, "seed": None}
        return {"system": Path(s.reference).stem, "model": s.model.label, "seed": None}

    @classmethod
    def metrics(cls, results: dict) -> dict:
        if "classes" in results:
            return {"sigma_model": results["model"]["sigma_mean"],
                    "sigma_reference": results["reference"]["sigma_mean"]}
        return {"sigma": results["sigma_mean"]}

    def headline(self, res: dict) -> list[str]:
        if "classes" in res:
            return [f"<σ> reference {res['reference']['sigma_mean']:.3f} ({res['classes']['reference']}), "
                    f"model {res['model']['sigma_mean']:.3f} ({res['classes']['model']})"]
        return [f"<σ> = {res['sigma_mean']:.3f} ± {res['sigma_std']:.3f} over {res['n_frames']} frames: {res['class']}"]


def _sigma_of(doc: dict, path: Path, side: str) -> tuple[float, str]:
    """(⟨σ⟩, class) of one side of a sigma JSON: a run's (`harness sigma --run`) or a reference-frames one."""
    entry = doc.get(side) if "classes" in doc else doc
    if not isinstance(entry, dict) or entry.get("sigma_mean") is None:
        raise ConfigError(f"{path}: not a result of `harness sigma` (no sigma_mean)")
    return float(entry["sigma_mean"]), classify(float(entry["sigma_mean"]))


def sigma_matrix(files: list[Path], pairs: list[tuple[str, Path, Path]] | None = None) -> dict:
    """Knoop classes of model vs reference over materials, and their confusion matrix.

    ``files``: JSONs of the reference-frames route (both σ inside). ``pairs``: (label, the
    model's sigma JSON, the reference's sigma JSON), e.g. σ along the model's own MD against σ
    of the reference's frames; of a reference-frames JSON the *reference* side is used.
    """
    from ..analysis.sigma import confusion_matrix

    def load(path: Path) -> dict:
        if Path(path).is_dir():  # a sigma run folder
            path = Path(path) / "results.json"
        try:
            return read_json(path)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{path}: cannot read a sigma JSON ({exc})") from None

    rows = []
    for f in files:
        doc = load(f)
        if "classes" not in doc:
            raise ConfigError(f"{f}: holds one σ only (a run's); pair it with a reference: --pair LABEL {f} REF.json")
        (sr, cr), (sm, cm) = _sigma_of(doc, f, "reference"), _sigma_of(doc, f, "model")
        rows.append({"material": doc.get("system") or Path(f).stem, "model": doc.get("model_name"),
                     "sigma_reference": sr, "class_reference": cr, "sigma_model": sm, "class_model": cm,
                     "source": str(f)})
    for label, model_json, ref_json in pairs or []:
        dm, dr = load(model_json), load(ref_json)
        (sm, cm), (sr, cr) = _sigma_of(dm, model_json, "model"), _sigma_of(dr, ref_json, "reference")
        rows.append({"material": label, "model": dm.get("model_name"), "sigma_reference": sr, "class_reference": cr,
                     "sigma_model": sm, "class_model": cm, "source": f"{model_json} vs {ref_json}"})
    if not rows:
        raise ConfigError("no sigma results given (files, or --pair LABEL MODEL.json REF.json)")
    for r in rows:
        r["agree"] = r["class_model"] == r["class_reference"]
    matrix = confusion_matrix([r["class_model"] for r in rows], [r["class_reference"] for r in rows])
    return {"rows": rows, "confusion": matrix,
            "sigma_mean_abs_error": float(np.mean([abs(r["sigma_model"] - r["sigma_reference"]) for r in rows])),
            "classes": {"weakly anharmonic": "⟨σ⟩ < 0.5", "strongly anharmonic": "0.5 ≤ ⟨σ⟩ ≤ 1",
                        "dynamically unstable": "⟨σ⟩ > 1"}}


def write_sigma_matrix(doc: dict, out_dir: Path) -> list[Path]:
    """sigma-matrix.json, .csv (one row per material), .md (rows + matrix) and confusion.png in ``out_dir``."""
    import csv
    import io

    from ..files import write_text
    from ..report.phonons import plot_confusion

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    cols = ["material", "model", "sigma_reference", "class_reference", "sigma_model", "class_model", "agree"]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    w.writerows(doc["rows"])
    write_text(out_dir / "sigma-matrix.csv", buf.getvalue())
    c = doc["confusion"]
    md = ["# Anharmonicity classes: model vs reference", "",
          "Knoop et al.'s material score ⟨σ^(2)⟩: < 0.5 weakly anharmonic, 0.5–1 strongly anharmonic, "
          "> 1 dynamically unstable.", "",
          "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    md += ["| " + " | ".join(f"{r[k]:.3f}" if isinstance(r[k], float) else str(r[k]) for k in cols) + " |"
           for r in doc["rows"]]
    md += ["", f"## Confusion matrix (rows: reference, columns: model); agreement {100 * c['agreement']:.0f} %, "
               f"mean |Δσ| {doc['sigma_mean_abs_error']:.3f}", "",
           "| reference \\ model | " + " | ".join(c["classes"]) + " |", "|" + "---|" * (len(c["classes"]) + 1)]
    md += [f"| {name} | " + " | ".join(str(v) for v in row) + " |" for name, row in zip(c["classes"], c["counts"])]
    write_text(out_dir / "sigma-matrix.md", "\n".join(md) + "\n")
    write_json(out_dir / "sigma-matrix.json", doc)
    fig = plot_confusion(c, out_dir / "confusion.png")
    return [out_dir / "sigma-matrix.json", out_dir / "sigma-matrix.csv", out_dir / "sigma-matrix.md", fig]


__all__ = ["sigma_of_run", "sigma_of_reference_frames", "sigma_matrix", "write_sigma_matrix", "model_force_constants",
           "classify"]
