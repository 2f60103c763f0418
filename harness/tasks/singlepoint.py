"""Single-point errors of a model on labelled reference frames (Dyna-Mat): energy per atom,
force and stress RMSE, forces from LAMMPS through the same engines as MD.

execute evaluates the model on every frame (and, with ``--energy-reference isolated-atoms``,
on isolated atoms the file gives no model energy for); collect computes the errors into
``runs/<model>-singlepoint-<tag>/results.json``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from ..analysis import dynamat as dm
from ..config import SinglePointSettings
from ..errors import ConfigError
from ..files import write_json
from ..provenance import now
from ..units import EV_A3_TO_GPA
from .base import register
from .frames import LabelledFramesTask, model_entry

ISOLATED = "isolated_atoms.json"
DEFINITIONS = {
    "energy_rmse_eV_per_atom": "sqrt((1/M) Σ_i ((U_i^MLIP − U_i^REF)/N_i)²) (Dyna-Mat: sqrt((1/(M N²)) Σ ΔU²))",
    "force_rmse_eV_A": "sqrt((1/(M N)) Σ_i ||F_i^MLIP − F_i^REF||²)",
    "stress_rmse_GPa": "sqrt(mean of (σ^MLIP − σ^REF)² over the 6 Voigt components of all frames)",
}
ENERGY_MODES = {"none": "raw energies of both sides",
                "mean-offset": "the mean per-atom difference removed first",
                "isolated-atoms": "both sides minus their isolated-atom energies"}


def read_isolated(path: Path, elements: list[str]) -> tuple[dict, dict | None]:
    """(reference, model or None) isolated-atom energies (eV) from ``{"reference": {El: eV},
    "model": {El: eV}}`` or ``{El: eV}`` (the reference's only)."""
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise ConfigError(f"--isolated-atoms {path}: no such file") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"--isolated-atoms {path}: malformed JSON (line {exc.lineno}: {exc.msg})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"--isolated-atoms {path}: expected {{\"reference\": {{El: eV}}, \"model\": {{El: eV}}}} "
                          f"or {{El: eV}}")
    ref = data.get("reference", data if "model" not in data else {})
    missing = [e for e in elements if e not in ref]
    if missing:
        raise ConfigError(f"--isolated-atoms {path}: no reference energy for {', '.join(missing)}")
    return {e: float(ref[e]) for e in elements}, data.get("model")


@register
class SinglePointTask(LabelledFramesTask):
    name = "singlepoint"
    settings_class = SinglePointSettings

    def __init__(self, settings: SinglePointSettings, **kw):
        super().__init__(settings, **kw)
        self.elements = list(dict.fromkeys(s for a in self.frames for s in a.get_chemical_symbols()))
        self.isolated = None
        if settings.energy_reference == "isolated-atoms":  # read (and refused) before any compute
            self.isolated = read_isolated(Path(settings.isolated_atoms), self.elements)

    def execute(self, run_dir: Path, launcher, *, resume: bool = False, progress: bool = True) -> dict:
        out = super().execute(run_dir, launcher, resume=resume, progress=progress)
        if self.isolated is not None:
            ref, mod = self.isolated
            write_json(Path(run_dir) / ISOLATED, {"reference": ref, "model": self._model_isolated(run_dir, mod)})
        return out

    def _model_isolated(self, run_dir: Path, given: dict | None) -> dict:
        """The model's isolated-atom energies: the file's, else one atom in a 20 Å box through LAMMPS."""
        from ase import Atoms

        from ..forces import ForceSession

        mod = dict(given or {})
        for e in self.elements:
            if e not in mod:
                atom = Atoms(e, positions=[[10.0, 10.0, 10.0]], cell=[20.0] * 3, pbc=True)
                with ForceSession(self.model, atom, engine=self.settings.engine,
                                  workdir=Path(run_dir) / "lammps" / f"isolated-{e}") as fs:
                    mod[e] = fs.result.energy_eV
        return {e: float(mod[e]) for e in self.elements}

    def collect(self, run_dir: Path, *, progress: bool = True, **_) -> dict:
        from ..io.frames import reference_entry

        run_dir = Path(run_dir)
        results, engine = self.model_results(run_dir)
        frames, mode = self.frames, self.settings.energy_reference
        iso = None
        if mode == "isolated-atoms":
            doc = json.loads((run_dir / ISOLATED).read_text())
            iso = (doc["reference"], doc["model"])
        has_energy = all(a.calc.results.get("energy") is not None for a in frames)
        has_stress = all(a.calc.results.get("stress") is not None for a in frames)
        sse_f, n_total, s_sq, s_n = 0.0, 0, 0.0, 0
        e_mod, e_ref, n_at, per_frame = [], [], [], []
        for i, (atoms, r) in enumerate(zip(frames, results)):
            d = r.forces_eV_A - atoms.get_forces()
            sq = float(np.sum(d * d))
            sse_f += sq
            n_total += len(atoms)
            entry = {"index": i, "n_atoms": len(atoms), "force_rmse_eV_A": math.sqrt(sq / len(atoms))}
            if has_energy:
                um, ur = r.energy_eV, float(atoms.calc.results["energy"])
                if iso is not None:
                    syms = atoms.get_chemical_symbols()
                    ur -= sum(iso[0][s] for s in syms)
                    um -= sum(iso[1][s] for s in syms)
                e_mod.append(um), e_ref.append(ur), n_at.append(len(atoms))
                entry["energy_error_eV_per_atom"] = (um - ur) / len(atoms)
            if has_stress:
                ds = (r.stress_eV_A3 - np.asarray(atoms.calc.results["stress"], float)) * EV_A3_TO_GPA
                s_sq += float(np.sum(ds * ds))
                s_n += ds.size
                entry["stress_rmse_GPa"] = float(np.sqrt(np.mean(ds * ds)))
            per_frame.append(entry)
        doc = {
            "task": "singlepoint", "created": now(), "model": model_entry(self.model), "engine": engine,
            "reference": reference_entry(self.reference, frames, self.settings.fmt),
            "definitions": {**DEFINITIONS, "energy_reference": ENERGY_MODES[mode]},
            "energy_reference": mode, "force_rmse_eV_A": dm.force_rmse(sse_f, n_total),
        }
        if has_energy:
            doc["energy_rmse_eV_per_atom"] = dm.energy_rmse_per_atom(e_mod, e_ref, n_at,
                                                                     remove_mean_offset=mode == "mean-offset")
            d = (np.array(e_mod) - np.array(e_ref)) / np.array(n_at)
            doc["energy_mean_offset_eV_per_atom"] = float(d.mean())
            if iso is not None:
                doc["isolated_atoms_eV"] = {"reference": iso[0], "model": iso[1], "file": self.settings.isolated_atoms}
        else:
            doc["energy_rmse_eV_per_atom"] = None
            doc.setdefault("skipped", {})["energy_rmse_eV_per_atom"] = "the reference frames have no energies"
        if has_stress:
            doc["stress_rmse_GPa"] = float(np.sqrt(s_sq / s_n))
        else:
            doc["stress_rmse_GPa"] = None
            doc.setdefault("skipped", {})["stress_rmse_GPa"] = "the reference frames have no stress"
        doc["per_frame"] = per_frame
        return self.write_results(run_dir, doc)

    @classmethod
    def metrics(cls, results: dict) -> dict:
        return {k: results.get(k) for k in ("energy_rmse_eV_per_atom", "force_rmse_eV_A", "stress_rmse_GPa")}

    def headline(self, doc: dict) -> list[str]:
        ref = doc["reference"]
        e, s = doc["energy_rmse_eV_per_atom"], doc["stress_rmse_GPa"]
        return [f"{ref['n_frames']} frames, {ref['n_atoms_total']} atoms ({doc['engine']} engine)",
                f"energy RMSE {'skipped' if e is None else f'{1000 * e:.2f} meV/atom'} "
                f"(energy reference: {doc['energy_reference']})",
                f"force RMSE {doc['force_rmse_eV_A']:.4f} eV/Å",
                f"stress RMSE {'skipped (no reference stress)' if s is None else f'{s:.4f} GPa'}"]
