"""σ^(2) along trajectories: a model's own MD run, or reference frames recomputed by the model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from ase import Atoms

from ..analysis.sigma import SigmaAnalysis, classify
from ..config import ModelSpec, load_model
from ..errors import ConfigError, HarnessError
from ..runs import read_summary
from .phonons import PhononSettings, PhononTask, load_reference, to_ase


def run_structure(run_dir: Path) -> Atoms:
    """The structure an MD run started from (``relaxed.data`` when the model relaxed it)."""
    from ase.data import atomic_numbers
    from ase.io import read

    summary = read_summary(run_dir)
    elements = summary["structure"]["elements_type_order"]
    path = run_dir / "relaxed.data" if (run_dir / "relaxed.data").is_file() else run_dir / "structure.data"
    atoms = read(path, format="lammps-data", atom_style="atomic",
                 Z_of_type={i + 1: atomic_numbers[e] for i, e in enumerate(elements)})
    atoms.pbc = True
    return atoms


def model_force_constants(model: ModelSpec, supercell: Atoms, engine: str = "auto",
                          displacement_A: float = 0.01) -> tuple[np.ndarray, Atoms]:
    """Full force constants (N, N, 3, 3) of ``supercell`` itself (supercell matrix = identity)."""
    task = PhononTask(model, supercell, PhononSettings(supercell_matrix=np.eye(3, dtype=int).tolist(),
                                                       displacement_A=displacement_A, engine=engine,
                                                       primitive_matrix=None))
    task.phonon.forces = task.compute_forces()
    task.phonon.produce_force_constants(show_drift=False)
    task.phonon.symmetrize_force_constants()
    return np.asarray(task.phonon.force_constants), to_ase(task.phonon.supercell)


def reference_force_constants(path: Path, forces: list[Path] | None = None) -> tuple[np.ndarray, Atoms]:
    ph = load_reference(Path(path), forces)
    if np.asarray(ph.force_constants).shape[0] != len(ph.supercell):  # compact FC (as phonopy.load gives)
        ph.produce_force_constants(calculate_full_force_constants=True, show_drift=False)
    return np.asarray(ph.force_constants), to_ase(ph.supercell)


def sigma_of_run(run_dir: Path, fc: str = "model", fc_forces: list[Path] | None = None, engine: str = "auto",
                 equilibration_ps: float | None = None) -> dict:
    """σ(t) along the model's own MD (positions and forces from ``traj.lammpstrj``)."""
    from ..analysis.trajectory import load_dump_universe

    run_dir = Path(run_dir)
    summary = read_summary(run_dir)
    if summary.get("task") != "md" or summary.get("status") != "completed":
        raise HarnessError(f"{run_dir}: not a completed MD run folder")
    proto = summary["resolved"]["protocol"]
    elements = summary["structure"]["elements_type_order"]
    if fc == "model":
        model = load_model(summary["request"]["model"])
        force_constants, ref = model_force_constants(model, run_structure(run_dir), engine=engine)
        source = f"model {model.label}"
    else:
        force_constants, ref = reference_force_constants(Path(fc), fc_forces)
        source = str(fc)
    u = load_dump_universe(run_dir / "traj.lammpstrj", elements, proto["timestep_fs"])
    if not hasattr(u.trajectory.ts, "forces") or not u.trajectory.ts.has_forces:
        raise HarnessError(f"{run_dir}: the trajectory has no forces (fx fy fz)")
    cell = np.asarray(u.trajectory.ts.triclinic_dimensions)
    if not np.allclose(cell, np.asarray(ref.cell), atol=1e-3):
        raise ConfigError("the trajectory's cell differs from the force constants' supercell")
    eq = proto["equilibration_ps"] if equilibration_ps is None else equilibration_ps
    dt_ps = proto["timestep_fs"] / 1000
    symbols = [elements[int(t) - 1] for t in u.atoms.types]
    analysis = SigmaAnalysis(force_constants, ref.positions, ref.get_chemical_symbols(), ref.cell)
    times = []
    for ts in u.trajectory:
        step = int(ts.data.get("step", ts.frame))
        if step * dt_ps < eq:
            continue
        if analysis.order is None:
            try:
                analysis.prepare(ts.positions, symbols)
            except ValueError as exc:
                raise ConfigError(f"{run_dir.name}: {exc}") from None
        analysis.single_frame(ts.positions, ts.forces)
        times.append(step * dt_ps)
    out = analysis.conclude()
    out.update(time_ps=times, force_constants=source, temperature_K=summary["resolved"]["temperature_K"],
               run=summary["run_name"], system=summary["resolved"]["system"]["name"], model_name=summary["model"]["label"])
    return out


def sigma_of_reference_frames(frames: list[Atoms], model: ModelSpec, fc_path: Path,
                              fc_forces: list[Path] | None = None, engine: str = "auto") -> dict:
    """σ of reference frames with reference forces AND with forces recomputed by the model, Φ from the reference."""
    from .singlepoint import ForceSession

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
    with ForceSession(model, first, engine=engine) as fs:
        for atoms in frames:
            f_ref = atoms.get_forces()
            f_mod = fs.evaluate(atoms.positions, atoms.cell)["forces_eV_A"]
            a_ref.single_frame(atoms.positions, f_ref)
            a_mod.single_frame(atoms.positions, f_mod)
    r, m = a_ref.conclude(), a_mod.conclude()
    return {"reference": r, "model": m, "classes": {"reference": r["class"], "model": m["class"]},
            "model_name": model.label, "force_constants": str(fc_path),
            "system": str(first.symbols.formula.reduce()[0])}


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
    import json

    from ..analysis.sigma import confusion_matrix

    def load(path: Path) -> dict:
        try:
            return json.loads(Path(path).read_text())
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

    from ..report.phonons import plot_confusion
    from ..runs import write_json, write_text

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
