"""PES softening: model vs reference forces on labelled frames, and a fitted linear correction.

The softening task reads reference frames (:mod:`harness.io.frames`); execute evaluates the
model on them through LAMMPS (one session per distinct cell and atom list); collect computes
the parity statistics (:mod:`harness.analysis.parity`) into ``results.json``, ``parity.npz``
and ``parity.png`` in ``runs/<model>-softening-<tag>/`` and, asked to, fits c and writes the
corrected model ``<potentials>/<base>-corrected-<tag>.yaml`` (family ``scaled``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

from ..analysis.parity import MIN_RMS_FORCE_EV_A, check_fit_reference, fit_correction, force_parity, parity_by_element
from ..config import ModelSpec, SofteningSettings, load_model, potentials_dir, use_as
from ..errors import ConfigError, RunExistsError
from ..files import write_text
from ..provenance import now
from .base import register
from .frames import LabelledFramesTask, model_entry

DEFINITIONS = {
    "softening_scale": "least-squares slope through the origin of model vs reference force components",
    "force_cmae_eV_A": "mean |F_model / softening_scale - F_ref| over components",
    "correction_c": "least-squares slope through the origin of reference vs model forces; E'=cE, F'=cF",
}


@register
class SofteningTask(LabelledFramesTask):
    name = "softening"
    settings_class = SofteningSettings

    def __init__(self, settings: SofteningSettings, **kw):
        super().__init__(settings, **kw)
        s, frames = settings, self.frames
        if s.fit_frames is not None:
            bad = [i for i in s.fit_frames if not 0 <= i < len(frames)]
            if bad or not s.fit_frames:
                raise ConfigError(f"--fit-frames {bad or list(s.fit_frames)}: the reference file has frames "
                                  f"0..{len(frames) - 1}")
        self.yaml_path = None
        if s.fit:  # refused before any compute when the frames cannot fix c
            check_fit_reference(np.concatenate([frames[i].get_forces() for i in self.fit_indices]))
            self.yaml_path = (Path(s.potentials_out or potentials_dir())
                              / f"{s.model.label}-corrected-{s.resolved_tag}.yaml")
            if self.yaml_path.exists() and not s.overwrite_model:
                raise RunExistsError(f"corrected model {self.yaml_path} already exists; choose another --tag, "
                                     f"or --overwrite")

    @property
    def fit_indices(self) -> list[int]:
        fit = self.settings.fit_frames
        return list(range(len(self.frames))) if fit is None else list(fit)

    def collect(self, run_dir: Path, *, progress: bool = True, **_) -> dict:
        from ..io.frames import reference_entry

        run_dir = Path(run_dir)
        results_model, engine_used = self.model_results(run_dir)
        frames, spec, reference = self.frames, self.model, self.reference
        f_ref = np.concatenate([a.get_forces() for a in frames])
        f_mod = np.concatenate([r.forces_eV_A for r in results_model])
        symbols = [s for a in frames for s in a.get_chemical_symbols()]
        stats = force_parity(f_ref, f_mod)
        per_frame = []
        for i, (a, r) in enumerate(zip(frames, results_model)):
            p = force_parity(a.get_forces(), r.forces_eV_A)
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
            "model": model_entry(spec),
            "engine": engine_used,
            "reference": reference_entry(reference, frames, self.settings.fmt),
            "definitions": DEFINITIONS,
            "parity": stats,
            "per_element": parity_by_element(f_ref, f_mod, symbols),
            "energy": _energy_stats(frames, results_model),
            "per_frame": per_frame,
        }
        if self.settings.fit:
            idx = self.fit_indices
            fitted = fit_correction(np.concatenate([frames[i].get_forces() for i in idx]),
                                    np.concatenate([results_model[i].forces_eV_A for i in idx]))
            write_corrected_model(self.yaml_path, spec, fitted["c"],
                                  {"file": str(reference.resolve()), "indices": idx,
                                   "sha256": out["reference"]["sha256"]}, fit_stats=fitted)
            out["correction"] = {**fitted, "frames": idx, "model_yaml": str(self.yaml_path),
                                 "use_as": use_as(self.yaml_path)}
        np.savez_compressed(run_dir / "parity.npz", forces_reference_eV_A=f_ref, forces_model_eV_A=f_mod,
                            symbols=np.array(symbols))
        from ..report.parity import parity_figure

        parity_figure(f_ref, f_mod, stats, run_dir / "parity.png",
                      title=f"{spec.label} vs {reference.name} ({len(frames)} frames, {engine_used})",
                      correction=out.get("correction", {}).get("c"))
        out["figures"] = ["parity.png"]
        return self.write_results(run_dir, out)

    @classmethod
    def metrics(cls, results: dict) -> dict:
        p = results["parity"]
        return {"softening_scale": p["softening_scale"], "force_mae_eV_A": p["force_mae_eV_A"],
                "force_cmae_eV_A": p["force_cmae_eV_A"]}

    def headline(self, res: dict) -> list[str]:
        p = res["parity"]
        fit = p["fit_with_intercept"]
        lines = [f"{res['reference']['n_frames']} frames, {p['n_components']} force components "
                 f"({res['engine']} engine)",
                 f"softening scale {p['softening_scale']:.4f} (slope through 0; with intercept "
                 f"{fit['slope']:.4f}, R² {fit['r2']:.4f})",
                 f"force MAE {p['force_mae_eV_A']:.4f} eV/Å, cMAE {p['force_cmae_eV_A']:.4f} eV/Å"]
        if "correction" in res:
            c = res["correction"]
            lines.append(f"correction c = {c['c']:.6f} -> {c['model_yaml']} (use: {c['use_as']})")
        return lines


def _energy_stats(frames, results_model) -> dict:
    """Energy per atom (eV/atom): MAE after removing the mean offset (zeros of energy differ)."""
    pairs = [(a.calc.results.get("energy"), r.energy_eV, len(a)) for a, r in zip(frames, results_model)]
    pairs = [(e_ref / n, e_mod / n) for e_ref, e_mod, n in pairs if e_ref is not None]
    if len(pairs) < 2:
        return {"skipped": "fewer than two frames with reference energies"}
    ref, mod = np.array(pairs).T
    d = mod - ref
    return {"n_frames": len(ref), "mean_offset_eV_per_atom": float(d.mean()),
            "mae_after_mean_offset_eV_per_atom": float(np.abs(d - d.mean()).mean())}


def write_corrected_model(path: Path, spec: ModelSpec, c: float, frames_used: dict,
                          fit_stats: dict | None = None) -> Path:
    """``<base>-corrected-<tag>.yaml``: family scaled, base, scale and provenance (hashes, frames, date)."""
    from .. import __version__
    from ..files import files_sha256
    from ..models import weight_files

    base_arg = spec.argument  # a registry name, or an absolute path
    base_spec = spec.base if spec.base is not None else spec
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
            "base_sha256": files_sha256(weight_files(base_spec)),
            "base_scale": spec.scale if spec.base is not None else 1.0,
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
               + (" (it is in potentials/)" if path.parent.resolve() == potentials_dir().resolve()
                  else f" or --model {path}")
               + "\n" + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=None, width=100))
    load_model(str(path))  # it must load back
    return path
