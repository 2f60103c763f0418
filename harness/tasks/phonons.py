"""Harmonic phonons from LAMMPS-computed forces (phonopy finite displacements): the phonons task.

phonopy generates the symmetry-reduced displacements; ONE LAMMPS session (see
:class:`harness.forces.ForceSession`) computes the forces of all displaced
supercells; phonopy builds the force constants, band structure (seekpath path), DOS,
projected DOS and group velocities. Outputs stay readable by phonopy (phonopy_params.yaml,
band.yaml) so users can continue there.

:class:`PhononsTask` is the task (render → execute → collect); :class:`FiniteDisplacements`
is the calculation itself, also used by σ^(2) for force constants of a supercell.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ase import Atoms

from ..analysis.phonons import (IMAGINARY_TOL_THZ, compare_frequencies, per_atom_thermodynamics, stability,
                                stability_agreement, thermodynamics_errors)
from ..config import ModelSpec, PhononsSettings
from ..errors import ConfigError, StructureError
from ..forces import TEMPLATES as FORCE_TEMPLATES
from ..forces import ForceSession
from .base import Task, register


def to_phonopy(atoms: Atoms):
    from phonopy.structure.atoms import PhonopyAtoms

    return PhonopyAtoms(symbols=atoms.get_chemical_symbols(), cell=np.array(atoms.cell),
                        scaled_positions=atoms.get_scaled_positions(), masses=atoms.get_masses())


def to_ase(cell) -> Atoms:
    return Atoms(symbols=cell.symbols, cell=cell.cell, scaled_positions=cell.scaled_positions, pbc=True)


def default_supercell(atoms: Atoms, min_length_A: float = 10.0) -> list[list[int]]:
    """Diagonal supercell whose every perpendicular width reaches ``min_length_A``."""
    cell = np.array(atoms.cell)
    vol = abs(np.linalg.det(cell))
    widths = [vol / np.linalg.norm(np.cross(cell[(i + 1) % 3], cell[(i + 2) % 3])) for i in range(3)]
    n = [max(1, int(np.ceil(min_length_A / w - 1e-9))) for w in widths]
    return [[n[0], 0, 0], [0, n[1], 0], [0, 0, n[2]]]


def check_periodic_3d(atoms: Atoms) -> None:
    if not all(atoms.pbc) or atoms.cell.rank != 3:
        raise StructureError("phonons need a structure periodic in 3-D (pbc on all axes, a full cell)")


@dataclass
class DisplacementSettings:
    """A finite-displacement phonon calculation: supercell, displacement (Å), DOS mesh, band
    points, primitive matrix (``'auto'``: found by symmetry, passed to phonopy explicitly)."""

    supercell_matrix: list[list[int]]
    displacement_A: float = 0.01
    mesh: tuple[int, int, int] = (20, 20, 20)
    band_points: int = 101
    primitive_matrix: object = "auto"
    engine: str = "auto"


class FiniteDisplacements:
    """Force constants of one model for one structure, forces through one LAMMPS session.

    Parameters
    ----------
    model : ModelSpec
    unitcell : ase.Atoms
        Periodic in 3-D. phonopy finds the primitive cell (``primitive_matrix='auto'``).
    settings : DisplacementSettings
    nac_params : dict, optional
        Born charges and dielectric tensor (phonopy ``nac_params``), e.g. from a reference BORN.
    calc : ase calculator, optional
        The model's calculator, already built (bridge engine): many structures in one process
        (``harness screen``) then load the weights once (see
        :func:`harness.forces.shared_calculator`).
    """

    def __init__(self, model: ModelSpec, unitcell: Atoms, settings: DisplacementSettings,
                 nac_params: dict | None = None, calc=None):
        check_periodic_3d(unitcell)
        sm = np.asarray(settings.supercell_matrix)
        if sm.shape != (3, 3) or round(abs(np.linalg.det(sm))) < 1:
            raise ConfigError(f"supercell matrix must be 3×3 with non-zero determinant, got {settings.supercell_matrix}")
        if not settings.displacement_A > 0:
            raise ConfigError(f"displacement must be positive, got {settings.displacement_A} Å")
        from phonopy import Phonopy
        from phonopy.structure.cells import get_primitive_matrix_with_auto

        self.model, self.settings, self.shared_calc = model, settings, calc
        cell = to_phonopy(unitcell)
        primitive = settings.primitive_matrix
        if primitive is None or (isinstance(primitive, str) and primitive == "auto"):
            # resolved here and passed explicitly: the same matrix, without phonopy's warning
            # that 'auto' is its new default
            primitive = get_primitive_matrix_with_auto(cell, "auto")
        self.phonon = Phonopy(cell, supercell_matrix=sm, primitive_matrix=primitive)
        if nac_params is not None:
            self.phonon.nac_params = nac_params
        self.phonon.generate_displacements(distance=settings.displacement_A)
        self.timings: dict = {}

    @property
    def n_displacements(self) -> int:
        return len(self.phonon.supercells_with_displacements)

    def compute_forces(self, workdir: Path | None = None) -> np.ndarray:
        """Forces (eV/Å) of every displaced supercell through one LAMMPS session.

        The perfect supercell's residual forces are subtracted (phonopy's recommended practice:
        they are numerical noise or a slightly unrelaxed model structure).
        """
        supercell = to_ase(self.phonon.supercell)
        t0 = time.perf_counter()
        with ForceSession(self.model, supercell, engine=self.settings.engine, workdir=workdir,
                          calc=self.shared_calc) as fs:
            t_setup = time.perf_counter() - t0
            residual = fs.result.forces_eV_A
            forces = []
            t1 = time.perf_counter()
            for cell in self.phonon.supercells_with_displacements:
                forces.append(fs.evaluate(cell.positions).forces_eV_A - residual)
            t_forces = time.perf_counter() - t1
            self.engine = fs.choice.name
        self.timings = {
            "engine": self.engine,
            "n_displacements": self.n_displacements,
            "n_atoms_supercell": len(supercell),
            "session_setup_s": t_setup,
            "forces_s": t_forces,
            "ms_per_displacement": 1000 * t_forces / max(self.n_displacements, 1),
            "max_residual_force_eV_A": float(np.abs(residual).max()),
        }
        return np.array(forces)

    def produce_force_constants(self, workdir: Path | None = None) -> None:
        self.phonon.forces = self.compute_forces(workdir)
        self.phonon.produce_force_constants(show_drift=False)
        # as phonopy.load does: restores translational invariance (acoustic modes 0 at Γ)
        self.phonon.symmetrize_force_constants()

    def run(self, workdir: Path | None = None) -> "PhononResults":
        self.produce_force_constants(workdir)
        return PhononResults(self.phonon, self.settings, self.timings)


class PhononResults:
    """Band structure, DOS, group velocities and stability of a phonopy object with force constants."""

    def __init__(self, phonon, settings: DisplacementSettings, timings: dict | None = None):
        self.phonon, self.settings, self.timings = phonon, settings, timings or {}
        phonon.auto_band_structure(npoints=settings.band_points, with_group_velocities=True)
        self.band = phonon.get_band_structure_dict()
        phonon.run_mesh(list(settings.mesh), with_group_velocities=True, with_eigenvectors=True, is_mesh_symmetry=False)
        self.mesh = phonon.get_mesh_dict()
        phonon.run_total_dos()
        self.dos = phonon.get_total_dos_dict()
        phonon.run_projected_dos()
        self.pdos = phonon.get_projected_dos_dict()

    def summary(self) -> dict:
        freqs = self.mesh["frequencies"]
        band_q = np.concatenate(self.band["qpoints"])
        band_f = np.concatenate(self.band["frequencies"])
        stable = stability(np.concatenate([self.mesh["qpoints"], band_q]), np.concatenate([freqs, band_f]))
        gv = np.linalg.norm(self.mesh["group_velocities"], axis=-1)
        symbols = self.phonon.primitive.symbols
        pdos = {}
        for el in dict.fromkeys(symbols):
            idx = [i for i, s in enumerate(symbols) if s == el]
            pdos[el] = np.asarray(self.pdos["projected_dos"])[idx].sum(axis=0)
        return {
            "units": {"frequency": "THz", "group_velocity": "THz·Å", "dos": "states/THz per primitive cell"},
            "primitive_cell": {"symbols": list(symbols), "cell_A": np.asarray(self.phonon.primitive.cell).tolist()},
            "supercell_matrix": np.asarray(self.phonon.supercell_matrix).tolist(),
            "displacement_A": self.settings.displacement_A,
            "mesh": list(self.settings.mesh),
            "max_frequency_THz": float(freqs.max()),
            **stable,  # dynamically_stable, min_frequency_THz, imaginary modes and their q-points (mesh + band path)
            "mean_group_velocity_THz_A": float(gv.mean()),
            "band": {"labels": self.band_labels(), "path_connections": self.path_connections(), "distances": [list(map(float, d)) for d in self.band["distances"]],
                     "frequencies_THz": [np.asarray(f).tolist() for f in self.band["frequencies"]]},
            "dos": {"frequency_THz": np.asarray(self.dos["frequency_points"]).tolist(),
                    "total": np.asarray(self.dos["total_dos"]).tolist(),
                    "per_element": {k: v.tolist() for k, v in pdos.items()}},
            "timings": self.timings,
        }

    def band_labels(self) -> list:
        labels = getattr(self.phonon.band_structure, "labels", None)
        return [str(x) for x in labels] if labels is not None else []

    def path_connections(self) -> list:
        conn = getattr(self.phonon.band_structure, "path_connections", None)
        return [bool(c) for c in conn] if conn is not None else []

    def write(self, out_dir: Path) -> list[Path]:
        """phonopy_params.yaml (structure, displacements, forces, FC), band.yaml, total_dos.dat."""
        out_dir = Path(out_dir)
        self.phonon.save(out_dir / "phonopy_params.yaml", settings={"force_constants": True})
        self.phonon.band_structure.write_yaml(filename=out_dir / "band.yaml")  # the band computed in __init__
        self.phonon.total_dos.write(out_dir / "total_dos.dat")
        return [out_dir / "phonopy_params.yaml", out_dir / "band.yaml", out_dir / "total_dos.dat"]


# ---------------------------------------------------------------------- references
def load_reference(path: Path, forces: list[Path] | None = None, born: Path | None = None,
                   supercell_matrix=None):
    """A reference phonopy object with force constants.

    ``path`` is a phonopy yaml (phonopy_disp.yaml, phonopy_params.yaml, phonopy.yaml) or a
    unit cell file (POSCAR-unitcell, with ``supercell_matrix``). ``forces`` is a FORCE_SETS
    file or the vasprun.xml files of the displacements in order (parsed by phonopy's own
    VASP interface). ``born`` adds the non-analytic correction (BORN file).
    """
    import phonopy

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"reference {path}: no such file")
    forces = [Path(f) for f in (forces or [])]
    for f in forces + ([Path(born)] if born else []):
        if not f.is_file():
            raise ConfigError(f"reference file {f}: no such file")
    kwargs = {"is_nac": born is not None, "born_filename": str(born) if born else None, "log_level": 0}
    force_sets = str(forces[0]) if len(forces) == 1 and not forces[0].name.startswith("vasprun") else None
    if path.suffix in (".yaml", ".yml"):
        ph = phonopy.load(str(path), force_sets_filename=force_sets, produce_fc=False, **kwargs)
    else:
        if supercell_matrix is None:
            raise ConfigError(f"reference {path.name} is a unit cell: give the supercell (--dim)")
        ph = phonopy.load(unitcell_filename=str(path), supercell_matrix=supercell_matrix,
                          force_sets_filename=force_sets, produce_fc=False, **kwargs)
    if forces and force_sets is None:  # vasprun.xml files, one per displacement
        from phonopy.interface.vasp import parse_set_of_forces

        n_disp = len(ph.displacements)
        if len(forces) != n_disp:
            raise ConfigError(f"reference has {n_disp} displacements but {len(forces)} force files were given")
        sets = parse_set_of_forces(len(ph.supercell), [str(f) for f in forces], verbose=False)
        ph.forces = np.array(sets["forces"])
    if ph.force_constants is None and not _has_forces(ph):
        raise ConfigError(f"reference {path.name} has no forces or force constants (give FORCE_SETS or vasprun.xml)")
    if ph.force_constants is None:
        ph.produce_force_constants(show_drift=False)
        ph.symmetrize_force_constants()  # what phonopy.load(produce_fc=True) does by default
    return ph


def _has_forces(ph) -> bool:
    ds = ph.dataset or {}
    if "forces" in ds:
        return True
    return all("forces" in d for d in ds.get("first_atoms", [])) and bool(ds.get("first_atoms"))


def reference_unitcell(ph) -> Atoms:
    return to_ase(ph.unitcell)


def compare_with_reference(model_ph, ref_ph, mesh=(12, 12, 12)) -> dict:
    """Model vs reference on the same q-points (same primitive cell, same mesh)."""
    if len(model_ph.supercell) != len(ref_ph.supercell) or \
            model_ph.supercell.symbols != ref_ph.supercell.symbols:
        raise ConfigError("reference supercell does not match the model's (atoms or species differ)")
    out = {}
    for ph in (model_ph, ref_ph):
        ph.run_mesh(list(mesh), with_group_velocities=True, is_mesh_symmetry=False)
    m, r = model_ph.get_mesh_dict(), ref_ph.get_mesh_dict()
    if not np.allclose(m["qpoints"], r["qpoints"]):
        raise ConfigError("model and reference q-points differ (different primitive cells)")
    out.update(compare_frequencies(m["frequencies"], r["frequencies"], m["weights"], m["group_velocities"],
                                   r["group_velocities"]))
    out["mesh"] = list(mesh)
    return out


STABILITY_KEYS = ("dynamically_stable", "imaginary_tolerance_THz", "n_imaginary_qpoints", "min_frequency_THz",
                  "lowest_mode_q", "imaginary_modes")


def phonon_stability(ph, mesh, band_qpoints: np.ndarray) -> dict:
    """:func:`~harness.analysis.phonons.stability` of a phonopy object with force constants on the
    full ``mesh`` and the band-path q-points (the q-points a model's own check uses)."""
    ph.run_mesh(list(mesh), is_mesh_symmetry=False)
    m = ph.get_mesh_dict()
    ph.run_qpoints(np.asarray(band_qpoints))
    fb = ph.get_qpoints_dict()["frequencies"]
    return stability(np.concatenate([m["qpoints"], band_qpoints]), np.concatenate([m["frequencies"], fb]))


def harmonic_thermodynamics(ph, mesh, temperatures_K) -> dict:
    """Helmholtz free energy, entropy and heat capacity per atom from phonopy's own
    ``run_mesh(mesh, is_gamma_center=True)`` + ``run_thermal_properties(temperatures=...,
    exclude_gamma_acoustic=True)``.

    The three acoustic modes at Γ are excluded: they are translations, ν = 0 up to noise, and a
    noise of +1e-7 THz would add −kT ln(kT/hν) ≈ −6 meV per cell at 600 K (and one of −1e-7 THz
    nothing), so model and reference would differ by noise. Imaginary modes are left out of
    phonopy's sums (ν ≤ 0): with any, the result is flagged ``reliable: false`` (the harmonic
    free energy of an unstable structure is undefined).
    """
    ph.run_mesh(list(mesh), is_gamma_center=True)
    freqs = ph.mesh.frequencies
    ph.run_thermal_properties(temperatures=[float(t) for t in temperatures_K], exclude_gamma_acoustic=True)
    tp = ph.thermal_properties
    out = per_atom_thermodynamics(tp.temperatures, tp.free_energy, tp.entropy, tp.heat_capacity, len(ph.primitive))
    n_imag = int((freqs < -IMAGINARY_TOL_THZ).sum())
    out.update(mesh=list(mesh), gamma_centered=True, exclude_gamma_acoustic=True,
               source="phonopy run_thermal_properties (harmonic)", reliable=n_imag == 0)
    if n_imag:
        out["note"] = (f"{n_imag} imaginary modes on the mesh are left out of the sums: the harmonic "
                       "thermodynamics of a dynamically unstable structure is not defined")
    return out


# ---------------------------------------------------------------------- the task
def reduced_formula(atoms) -> str:
    """Composition with the counts divided by their gcd (Na4Cl4 -> NaCl, Pt24Co8 -> Pt3Co)."""
    return str(atoms.symbols.formula.reduce()[0])


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
            from ..runs import load_run

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
        from ..files import write_json
        from ..runs import load_run

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
            cmp = summary["comparison"] = compare_with_reference(phonon, self.reference)
            q = np.concatenate(results.band["qpoints"])
            # the reference judged on the q-points the model was: the full mesh and the band path
            ref_stable = cmp["reference_stability"] = phonon_stability(self.reference, mesh, q)
            cmp["model_stability"] = {k: summary[k] for k in STABILITY_KEYS}
            cmp["stability_agree"] = ref_stable["dynamically_stable"] == summary["dynamically_stable"]
            cmp["stability_agreement"] = stability_agreement(ref_stable["dynamically_stable"],
                                                             summary["dynamically_stable"])
            ref_thermo = harmonic_thermodynamics(self.reference, mesh, temperatures)
            cmp["thermodynamics"] = {"reference": ref_thermo,
                                     "error": thermodynamics_errors(summary["thermodynamics"], ref_thermo)}
            self.reference.run_qpoints(q)
            fr = self.reference.get_qpoints_dict()["frequencies"]
            sizes = np.cumsum([len(d) for d in results.band["distances"]])[:-1]
            overlay = {"distances": results.band["distances"], "frequencies_THz": np.split(fr, sizes)}
        if self.settings.md_run is not None:
            summary["vdos_vs_dos"] = vdos_check(Path(self.settings.md_run), figures / "vdos_vs_dos.png", phonon)
        plot_bands(summary, figures / "band.png", reference=overlay, label=self.model.label)
        plot_dos(summary, figures / "dos.png")
        doc = {"system": self.system_name, "model": self.model.label, "task": "phonons", **summary}
        doc["headline"] = self.headline(doc)
        write_json(run_dir / "results.json", doc)
        return doc

    def headline(self, doc: dict) -> list[str]:
        out = []
        if "vdos_vs_dos" in doc:
            v = doc["vdos_vs_dos"]
            out.append(f"VDOS of {v['run']} vs phonon DOS: E_VDOS = {v['E_VDOS_percent']:.1f} %")
        out.append(f"max frequency {doc['max_frequency_THz']:.3f} THz; {stability_text(doc)}")
        c = doc.get("comparison")
        th = doc.get("thermodynamics")
        if th and not c:
            k = _headline_temperature(th["temperatures_K"])
            out.append(f"harmonic thermodynamics at {th['temperatures_K'][k]:g} K: "
                       f"F {th['helmholtz_free_energy_eV_per_atom'][k]:.4f} eV/atom, "
                       f"S {th['entropy_J_per_K_per_mol_atoms'][k]:.3f} J/K/mol, "
                       f"C_v {th['heat_capacity_J_per_K_per_mol_atoms'][k]:.3f} J/K/mol (per mole of atoms)"
                       + ("" if th.get("reliable", True) else "; imaginary modes left out"))
        if c:
            vg = c.get("rmse_group_velocity_THz_A")
            vg_text = "n/a (every band imaginary)" if vg is None else f"{vg:.3f} THz·Å"
            dropped = c.get("group_velocity_bands_dropped") or []
            if dropped and vg is not None:
                vg_text += f" over {c['group_velocity_n_bands']} real bands (imaginary bands {dropped} left out)"
            out.append(f"vs reference: RMSE(ω²) {c['rmse_omega2_THz2']:.3f} THz², RMSE(v_g) {vg_text}, "
                       f"max-frequency ratio {c['max_frequency_ratio']:.3f}")
            if "reference_stability" in c:
                rs = c["reference_stability"]
                stable_rmse = c.get("rmse_omega2_reference_stable_THz2")
                out.append(f"reference: {stability_text(rs)} -> "
                           f"{'agree' if c['stability_agree'] else 'DISAGREE'} ({c['stability_agreement']})"
                           + ("" if rs["dynamically_stable"] or stable_rmse is None else
                              f"; RMSE(ω²) over the reference's real modes {stable_rmse:.3f} THz²"))
            err = (c.get("thermodynamics") or {}).get("error")
            if err:
                k = _headline_temperature(err["temperatures_K"])
                out.append(f"thermodynamics at {err['temperatures_K'][k]:g} K, model − reference: "
                           f"F {err['helmholtz_free_energy_error_meV_per_atom'][k]:+.2f} meV/atom, "
                           f"S {err['entropy_error_J_per_K_per_mol_atoms'][k]:+.3f} J/K/mol, "
                           f"C_v {err['heat_capacity_error_J_per_K_per_mol_atoms'][k]:+.3f} J/K/mol (per mole of atoms)")
        return out


def _headline_temperature(temperatures) -> int:
    """Index of the temperature the headline quotes: 300 K if present, else the highest."""
    temps = list(temperatures)
    return temps.index(300.0) if 300.0 in temps else int(np.argmax(temps))


def stability_text(st: dict) -> str:
    """'dynamically stable' or the imaginary modes: how many q-points, the lowest and where."""
    if st["dynamically_stable"]:
        return "dynamically stable"
    q = st.get("lowest_mode_q")
    where = f" at q = ({', '.join(f'{x:.3g}' for x in q)})" if q else ""
    return (f"IMAGINARY MODES at {st['n_imaginary_qpoints']} q-points (lowest {st['min_frequency_THz']:.3f} THz"
            f"{where}; tolerance {st['imaginary_tolerance_THz']} THz)")


def vdos_check(md_run: Path, figure: Path, phonon) -> dict:
    """The MD run's mass-weighted VDOS against the harmonic phonon spectrum (equal in the
    harmonic limit). A periodic MD cell only holds the q-points commensurate with it, so the
    harmonic reference is the modes at those q-points, broadened to the VDOS resolution."""
    from ..analysis.metrics import normalise, spectrum_error
    from ..analysis.phonons import broadened_modes, commensurate_qpoints
    from ..report.phonons import plot_spectra
    from ..runs import load_run

    record = load_run(md_run)
    vd = record.results().get("vdos", {})
    fv, sv = np.asarray(vd["frequency_THz"], dtype=float), np.asarray(vd["total"], dtype=float)
    try:
        qs = commensurate_qpoints(record.cell_A, np.asarray(phonon.primitive.cell))
    except ValueError as exc:
        raise ConfigError(f"{md_run.name}: its cell is not a supercell of this primitive cell ({exc})") from None
    phonon.run_qpoints(qs)
    modes = phonon.get_qpoints_dict()["frequencies"].ravel()
    modes = modes[np.abs(modes) > 0.05]  # the three uniform translations: MD removes them (mom yes)
    width = max(float(vd.get("resolution_THz", 0.1)), 0.05)
    fd, sd = broadened_modes(modes, width, max(fv.max(), modes.max() + 5 * width))
    err = spectrum_error(fd, sd, fv, sv)
    plot_spectra(figure, [(fd, normalise(fd, sd), f"harmonic modes at the {len(qs)} q-points of the MD cell"),
                          (fv, sv, f"VDOS from MD ({md_run.name})")], xmax=1.3 * modes.max(),
                 title=f"E_VDOS = {err:.1f} %")
    return {"run": md_run.name, "E_VDOS_percent": err, "n_qpoints": len(qs), "broadening_THz": width,
            "figure": str(figure.name)}
