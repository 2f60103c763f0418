"""Harmonic phonons from LAMMPS-computed forces (phonopy finite displacements): the phonons task.

render writes the displacements (``phonopy_disp.yaml``); execute computes the forces of every
displaced supercell in one LAMMPS session (:class:`harness.tasks.displacements.FiniteDisplacements`)
and writes ``phonopy_params.yaml``; collect evaluates the force constants
(:mod:`harness.analysis.harmonic`), compares them with a reference
(:mod:`harness.analysis.phonon_reference`) and with an MD run's VDOS, and draws the figures
(:mod:`harness.report.phonons`). Outputs stay readable by phonopy (phonopy_params.yaml,
band.yaml) so users can continue there.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..analysis.harmonic import (
    STABILITY_KEYS,
    DisplacementSettings,
    PhononResults,
    harmonic_thermodynamics,
    md_cell_modes,
    phonon_stability,
    qpoint_frequencies,
    to_ase,
)
from ..analysis.phonon_reference import compare_with_reference, load_reference, reference_unitcell
from ..analysis.phonons import stability_agreement, thermodynamics_errors, vdos_against_modes
from ..config import PhononsSettings
from ..errors import ConfigError
from ..files import write_json
from ..forces import TEMPLATES as FORCE_TEMPLATES
from ..runs import load_run
from .base import Task, register
from .displacements import FiniteDisplacements, default_supercell

# The q-mesh of the model-vs-reference metrics (RMSE(ω², v_g), max-frequency ratio), apart from
# the settings' mesh (DOS, stability, thermodynamics): results.json's ``comparison`` has always
# been computed on it (``comparison.mesh`` says so); the settings' mesh would change its numbers.
COMPARISON_MESH = (12, 12, 12)


@register
class PhononsTask(Task):
    """``harness phonons``: force constants through LAMMPS, band/DOS/stability, optional reference.

    render writes ``phonopy_disp.yaml`` (the displacements); execute computes the forces of
    every displaced supercell (``lammps/``) and writes ``phonopy_params.yaml`` (forces and force
    constants); collect computes the band along the seekpath path, DOS, group velocities,
    imaginary modes, the harmonic thermodynamics, the comparison with the reference (its own
    stability on the same q-points, the agreement, both thermodynamics) and the low-temperature
    VDOS check, into ``results.json``, ``band.yaml`` and ``figures/``. ``calc``: an already-built
    calculator of the model (``harness screen`` builds it once for all its materials).
    """

    name = "phonons"
    settings_class = PhononsSettings
    templates = FORCE_TEMPLATES

    def __init__(self, settings: PhononsSettings, *, calc=None, **_):
        from ..systems import build_atoms, unit_cell

        super().__init__(settings)
        s = settings
        self.reference = None
        nac = None
        if s.reference is not None:
            dim = s.dim
            self.reference = load_reference(Path(s.reference), [Path(f) for f in s.reference_forces],
                                            Path(s.born) if s.born else None,
                                            supercell_matrix=np.diag(dim).tolist() if dim else None)
            cell = reference_unitcell(self.reference)
            matrix = np.asarray(self.reference.supercell_matrix).tolist()
            nac = self.reference.nac_params
            if s.system is not None:
                mine = build_atoms(s.system.structure, (1, 1, 1))
                if reduced_formula(mine) != reduced_formula(cell):
                    raise ConfigError(f"system {s.system.name} ({mine.get_chemical_formula()}) is not the reference's "
                                      f"structure ({cell.get_chemical_formula()})")
            self.system_name = s.system.name if s.system is not None else reduced_formula(cell)
        else:
            cell = unit_cell(s.system.structure)
            matrix = np.diag(s.supercell).tolist() if s.supercell else default_supercell(cell)
            self.system_name = s.system.name
        self.system_name = s.name or self.system_name  # a material's own name (harness screen)
        if s.md_run is not None:  # refused now, not after the forces: it must be an analysed MD run
            record = load_run(s.md_run).require(md=True, what="compare with phonons")
            if "frequency_THz" not in record.results().get("vdos", {}):
                raise ConfigError(f"{s.md_run}: its results have no VDOS "
                                  f"({record.results().get('vdos', {}).get('skipped', 'missing')})")
        from ..models import with_precision
        from ..models.metadata import check_covers

        check_covers(s.model, cell.get_chemical_symbols())
        self.model, self.precision = with_precision(s.model, "phonons")
        self.matrix = matrix
        self.calc = FiniteDisplacements(self.model, cell, DisplacementSettings(
            supercell_matrix=matrix, displacement_A=s.displacement_A, mesh=tuple(s.mesh), engine=s.engine),
            nac_params=nac, calc=calc)

    @property
    def run_name(self) -> str:
        s = self.settings
        tag = s.tag or ("ref" if s.reference else "x".join(str(self.matrix[i][i]) for i in range(3)))
        return f"{self.system_name}-{s.model.label}-phonons-{tag}"

    @property
    def n_displacements(self) -> int:
        return self.calc.n_displacements

    @property
    def model_spec(self):
        return self.model

    def render(self, run_dir: Path, **_) -> dict:
        from .frames import model_entry

        self.calc.phonon.save(Path(run_dir) / "phonopy_disp.yaml")
        s = self.settings
        return {
            "model": {**model_entry(self.model), "precision": self.precision},
            "reference": {"file": s.reference, "forces": list(s.reference_forces), "born": s.born}
            if s.reference else None,
            "settings": {"supercell_matrix": self.matrix, "displacement_A": s.displacement_A, "mesh": list(s.mesh),
                         "temperatures_K": list(s.temperatures_K)},
            "structure": {"formula": to_ase(self.calc.phonon.unitcell).get_chemical_formula(),
                          "n_atoms_supercell": len(self.calc.phonon.supercell),
                          "n_displacements": self.n_displacements},
        }

    def execute(self, run_dir: Path, launcher, *, resume: bool = False, progress: bool = True) -> dict:
        run_dir = Path(run_dir)
        self.calc.produce_force_constants(workdir=run_dir / "lammps")
        self.calc.phonon.save(run_dir / "phonopy_params.yaml", settings={"force_constants": True})
        return {"engine": {"name": self.calc.timings["engine"]}, "timings": self.calc.timings}

    def _phonon_with_fc(self, run_dir: Path):
        if self.calc.phonon.force_constants is not None:
            return self.calc.phonon
        import phonopy

        path = Path(run_dir) / "phonopy_params.yaml"
        if not path.is_file():
            raise ConfigError(f"{run_dir}: no phonopy_params.yaml (execute the run folder first)")
        ph = phonopy.load(str(path), log_level=0)
        if self.calc.phonon.nac_params is not None:
            ph.nac_params = self.calc.phonon.nac_params
        return ph

    def collect(self, run_dir: Path, *, progress: bool = True, **_) -> dict:
        from ..report.phonons import plot_bands, plot_dos

        run_dir = Path(run_dir)
        phonon = self._phonon_with_fc(run_dir)
        results = PhononResults(phonon, self.calc.settings, load_run(run_dir).timings or self.calc.timings)
        summary = results.summary()
        results.write(run_dir)
        figures = run_dir / "figures"
        figures.mkdir(exist_ok=True)
        overlay = None
        mesh, temperatures = self.calc.settings.mesh, self.settings.temperatures_K
        summary["thermodynamics"] = harmonic_thermodynamics(phonon, mesh, temperatures)
        if self.reference is not None:
            cmp = summary["comparison"] = compare_with_reference(phonon, self.reference, COMPARISON_MESH)
            q = results.band_qpoints()
            ref_band_THz = qpoint_frequencies(self.reference, q)  # for the stability check and the overlay
            # the reference judged on the q-points the model was: the full mesh and the band path
            ref_stable = cmp["reference_stability"] = phonon_stability(self.reference, mesh, q, ref_band_THz)
            cmp["model_stability"] = {k: summary[k] for k in STABILITY_KEYS}
            cmp["stability_agree"] = ref_stable["dynamically_stable"] == summary["dynamically_stable"]
            cmp["stability_agreement"] = stability_agreement(ref_stable["dynamically_stable"],
                                                             summary["dynamically_stable"])
            ref_thermo = harmonic_thermodynamics(self.reference, mesh, temperatures)
            cmp["thermodynamics"] = {"reference": ref_thermo,
                                     "error": thermodynamics_errors(summary["thermodynamics"], ref_thermo)}
            overlay = {"distances": results.band["distances"], "frequencies_THz": results.split_like_band(ref_band_THz)}
        if self.settings.md_run is not None:
            summary["vdos_vs_dos"] = vdos_check(Path(self.settings.md_run), figures / "vdos_vs_dos.png", phonon)
        plot_bands(summary, figures / "band.png", reference=overlay, label=self.model.label)
        plot_dos(summary, figures / "dos.png")
        doc = {"system": self.system_name, "model": self.model.label, "task": "phonons", **summary}
        doc["headline"] = self.headline(doc)
        write_json(run_dir / "results.json", doc)
        return doc

    @classmethod
    def metrics(cls, results: dict) -> dict:
        return {"max_frequency_THz": results.get("max_frequency_THz")}

    def headline(self, doc: dict) -> list[str]:
        from ..report.phonons import headline

        return headline(doc)


def reduced_formula(atoms) -> str:
    """Composition with the counts divided by their gcd (Na4Cl4 -> NaCl, Pt24Co8 -> Pt3Co)."""
    return str(atoms.symbols.formula.reduce()[0])


def vdos_check(md_run: Path, figure: Path, phonon) -> dict:
    """The MD run's mass-weighted VDOS against the harmonic phonon spectrum (equal in the
    harmonic limit). A periodic MD cell only holds the q-points commensurate with it, so the
    harmonic reference is the modes at those q-points, broadened to the VDOS resolution."""
    from ..report.phonons import plot_vdos_check

    record = load_run(md_run)
    try:
        modes, n_qpoints = md_cell_modes(phonon, record.cell_A)
    except ValueError as exc:
        raise ConfigError(f"{md_run.name}: its cell is not a supercell of this primitive cell ({exc})") from None
    check = vdos_against_modes(modes, record.results().get("vdos", {}))
    plot_vdos_check(figure, check, n_qpoints=n_qpoints, run_name=md_run.name)
    return {"run": md_run.name, "E_VDOS_percent": check["E_VDOS_percent"], "n_qpoints": n_qpoints,
            "broadening_THz": check["broadening_THz"], "figure": str(figure.name)}
