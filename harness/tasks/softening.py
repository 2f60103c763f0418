"""PES softening: model vs reference forces on labelled frames, and a fitted linear correction.

``softening(...)`` reads reference frames (:mod:`harness.io.frames`), evaluates the model on
them through LAMMPS (:class:`~harness.tasks.singlepoint.ForceSession`, one session per
distinct cell and atom list), computes the parity statistics
(:mod:`harness.analysis.parity`), writes ``results.json``, ``parity.npz`` and ``parity.png``
into ``runs/<model>-softening-<tag>/`` and, asked to, fits c and writes the corrected model
``<potentials>/<base>-corrected-<tag>.yaml`` (family ``scaled``).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import yaml

from ..analysis.parity import MIN_RMS_FORCE_EV_A, check_fit_reference, fit_correction, force_parity, parity_by_element
from ..config import ModelSpec, load_model, potentials_dir
from ..errors import ConfigError, RunExistsError, StructureError
from ..io.frames import read_frames, reference_entry
from ..runs import create_run_dir, host_info, now, package_versions, write_json, write_text


def group_frames(frames) -> dict[tuple, list[int]]:
    """Indices of frames sharing cell (to 1e-6 Å), periodicity and atom list, in first-seen order."""
    groups: dict[tuple, list[int]] = {}
    for i, atoms in enumerate(frames):
        key = (tuple(np.round(np.asarray(atoms.cell), 6).ravel()), tuple(atoms.pbc),
               tuple(atoms.get_chemical_symbols()))
        groups.setdefault(key, []).append(i)
    return groups


def check_species(model: ModelSpec, frames, source: str = "reference frames") -> None:
    """One line naming the elements of the frames that the model does not cover (before any compute)."""
    present = dict.fromkeys(s for a in frames for s in a.get_chemical_symbols())
    missing = [el for el in present if not model.covers(el)]
    if missing:
        raise StructureError(f"model {model.name} does not cover element(s) {', '.join(missing)} of the {source} "
                             f"(it covers: {', '.join(model.elements or ())})")
    if any(not all(a.pbc) for a in frames):
        raise StructureError(f"{source}: every frame must be periodic in x, y and z (LAMMPS runs them as p p p)")


def model_forces(model: ModelSpec, frames, *, engine: str = "auto", workdir: Path | None = None,
                 caps=None, progress=None) -> tuple[list[dict], str]:
    """The model's energy/forces/stress on every frame (same order) and the engine used;
    ``progress(done, total)`` after each frame."""
    from ..lammps.probe import probe
    from .singlepoint import ForceSession, shared_calculator

    check_species(model, frames)
    caps = caps or probe()
    calc = shared_calculator(model, engine, caps)  # weights loaded once for all the cells
    results: list[dict | None] = [None] * len(frames)
    engine_used = None
    done = 0
    for k, idx in enumerate(group_frames(frames).values()):
        wd = None if workdir is None else Path(workdir) / f"group{k:03d}"
        with ForceSession(model, frames[idx[0]], engine=engine, workdir=wd, caps=caps, calc=calc) as fs:
            engine_used = fs.choice.name
            for j, i in enumerate(idx):
                results[i] = _copy(fs._last if j == 0 else fs.evaluate(frames[i].positions))
                done += 1
                if progress is not None:
                    progress(done, len(frames))
    return results, engine_used


def _copy(r: dict) -> dict:
    return {k: (np.array(v) if isinstance(v, np.ndarray) else v) for k, v in r.items()}


def _safe_tag(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.+-]+", "-", text).strip("-") or "frames"


def softening(
    model: str,
    reference: str | Path,
    *,
    fmt: str | None = None,
    engine: str = "auto",
    tag: str | None = None,
    runs_dir: str | Path = "runs",
    overwrite: bool = False,
    fit: bool = False,
    fit_frames: list[int] | None = None,
    potentials_out: str | Path | None = None,
    figure: bool = True,
    progress=None,
) -> tuple[Path, dict]:
    """Run the whole softening analysis; returns (run folder, results). ``progress(done, total)``
    is called after each frame the model evaluates."""
    spec = load_model(model)
    reference = Path(reference)
    frames = read_frames(reference, fmt)
    check_species(spec, frames, f"reference frames {reference}")
    tag = _safe_tag(tag or reference.stem)
    if fit_frames is not None:
        bad = [i for i in fit_frames if not 0 <= i < len(frames)]
        if bad or not fit_frames:
            raise ConfigError(f"--fit-frames {bad or fit_frames}: the reference file has frames 0..{len(frames) - 1}")
    yaml_path = None
    if fit:  # refuse before any compute when the frames cannot fix c
        check_fit_reference(np.concatenate([frames[i].get_forces() for i in (fit_frames or range(len(frames)))]))
        yaml_path = Path(potentials_out or potentials_dir()) / f"{spec.label}-corrected-{tag}.yaml"
        if yaml_path.exists() and not overwrite:
            raise RunExistsError(f"corrected model {yaml_path} already exists; choose another --tag, or --overwrite")
    run_dir = create_run_dir(Path(runs_dir), f"{spec.label}-softening-{tag}", overwrite=overwrite)
    results_model, engine_used = model_forces(spec, frames, engine=engine, workdir=run_dir / "lammps",
                                              progress=progress)

    f_ref = np.concatenate([a.get_forces() for a in frames])
    f_mod = np.concatenate([r["forces_eV_A"] for r in results_model])
    symbols = [s for a in frames for s in a.get_chemical_symbols()]
    stats = force_parity(f_ref, f_mod)
    per_frame = []
    for i, (a, r) in enumerate(zip(frames, results_model)):
        p = force_parity(a.get_forces(), r["forces_eV_A"])
        per_frame.append({"index": i, "n_atoms": len(a), "formula": a.get_chemical_formula(),
                          **({"group": a.info["group"]} if "group" in a.info else {}),
                          # a frame near a minimum (RMS force below the fit threshold) has no scale
                          "softening_scale": p["softening_scale"]
                          if p["reference_rms_force_eV_A"] >= MIN_RMS_FORCE_EV_A else None,
                          "force_mae_eV_A": p["force_mae_eV_A"],
                          "reference_rms_force_eV_A": p["reference_rms_force_eV_A"]})
    out = {
        "task": "softening",
        "created": now(),
        "model": _model_entry(spec),
        "engine": engine_used,
        "reference": reference_entry(reference, frames, fmt),
        "definitions": {
            "softening_scale": "least-squares slope through the origin of model vs reference force components",
            "force_cmae_eV_A": "mean |F_model / softening_scale - F_ref| over components",
            "correction_c": "least-squares slope through the origin of reference vs model forces; E'=cE, F'=cF",
        },
        "parity": stats,
        "per_element": parity_by_element(f_ref, f_mod, symbols),
        "energy": _energy_stats(frames, results_model),
        "per_frame": per_frame,
    }
    if fit:
        idx = list(range(len(frames))) if fit_frames is None else list(fit_frames)
        fitted = fit_correction(np.concatenate([frames[i].get_forces() for i in idx]),
                                np.concatenate([results_model[i]["forces_eV_A"] for i in idx]))
        write_corrected_model(yaml_path, model, spec, fitted["c"],
                              {"file": str(reference.resolve()), "indices": idx, "sha256": out["reference"]["sha256"]},
                              fit_stats=fitted)
        out["correction"] = {**fitted, "frames": idx, "model_yaml": str(yaml_path),
                             "use_as": f"MODEL={yaml_path.stem}" if yaml_path.parent == potentials_dir()
                             else f"--model {yaml_path}"}
    np.savez_compressed(run_dir / "parity.npz", forces_reference_eV_A=f_ref, forces_model_eV_A=f_mod,
                        symbols=np.array(symbols))
    if figure:
        from ..report.parity import parity_figure

        parity_figure(f_ref, f_mod, stats, run_dir / "parity.png",
                      title=f"{spec.label} vs {reference.name} ({len(frames)} frames, {engine_used})",
                      correction=out.get("correction", {}).get("c"))
        out["figures"] = ["parity.png"]
    out["versions"] = package_versions()
    out["host"] = host_info()
    out = _no_nan(out)
    write_json(run_dir / "results.json", out)
    return run_dir, out


def _no_nan(obj):
    """NaN (undefined slope, R² of constant data) -> null: results.json stays strict JSON."""
    if isinstance(obj, dict):
        return {k: _no_nan(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_no_nan(v) for v in obj]
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj


def _energy_stats(frames, results_model) -> dict:
    """Energy per atom (eV/atom): MAE after removing the mean offset (zeros of energy differ)."""
    pairs = [(a.calc.results.get("energy"), r["energy_eV"], len(a)) for a, r in zip(frames, results_model)]
    pairs = [(e_ref / n, e_mod / n) for e_ref, e_mod, n in pairs if e_ref is not None]
    if len(pairs) < 2:
        return {"skipped": "fewer than two frames with reference energies"}
    ref, mod = np.array(pairs).T
    d = mod - ref
    return {"n_frames": len(ref), "mean_offset_eV_per_atom": float(d.mean()),
            "mae_after_mean_offset_eV_per_atom": float(np.abs(d - d.mean()).mean())}


def _model_entry(spec: ModelSpec) -> dict:
    from ..models import sha256, weight_files

    files = weight_files(spec)
    entry = {"name": spec.name, "label": spec.label, "family": spec.family, "source": spec.source,
             "files": [str(f) for f in files], "sha256": sha256(files)}
    if spec.family == "scaled":
        entry["correction"] = {"scale": spec.scale, "base": spec.base.label, "provenance": spec.provenance}
    return entry


def write_corrected_model(path: Path, model_arg: str, spec: ModelSpec, c: float, frames_used: dict,
                          fit_stats: dict | None = None) -> Path:
    """``<base>-corrected-<tag>.yaml``: family scaled, base, scale and provenance (hashes, frames, date)."""
    from .. import __version__
    from ..models import sha256, weight_files

    base_arg = model_arg
    candidate = Path(model_arg).expanduser()
    if candidate.suffix in (".yaml", ".yml", ".model") and candidate.is_file():
        base_arg = str(candidate.resolve())
    base_spec = spec.base if spec.family == "scaled" else spec
    data = {
        "name": path.stem,
        "family": "scaled",
        "description": f"{spec.label} with energy, forces and virial scaled by c = {c:.6g}, fitted to reference "
                       f"forces (harness softening --fit-correction; Deng et al., npj Comput. Mater. 2025)",
        "base": base_arg,
        "scale": float(c),
        "provenance": {
            "base_model": spec.label,
            "base_source": spec.source,
            "base_sha256": sha256(weight_files(base_spec)),
            "base_scale": spec.scale if spec.family == "scaled" else 1.0,
            "frames": frames_used,
            "fit": {k: v for k, v in (fit_stats or {}).items() if k != "c"},
            "min_rms_force_eV_A": MIN_RMS_FORCE_EV_A,
            "date": now(),
            "harness": __version__,
        },
    }
    if spec.license:
        data["license"] = spec.license
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text(path, "# Written by `harness softening --fit-correction`; use as MODEL=" + path.stem
               + (" (it is in potentials/)" if path.parent.resolve() == potentials_dir().resolve() else f" or --model {path}")
               + "\n" + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=None, width=100))
    load_model(str(path))  # it must load back
    return path
