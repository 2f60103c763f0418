"""Energies along a fixed path (no relaxation: the ApproxNEB-style probe of Deng et al.) and
rigid sliding profiles.

``harness path``: single points of every image of a given path through one LAMMPS session,
the profile, barrier and KRA barrier, and errors against a reference band. ``harness slide``:
the atoms above a plane shifted rigidly along a direction over one period (optionally
relaxed along the plane's normal at every shift), the energy per area and the sliding barrier.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..config import PathSettings, SlideSettings
from ..errors import ConfigError, StructureError
from ..files import write_json
from ..forces import TEMPLATES as FORCE_TEMPLATES
from .base import Task, register

ENERGIES = "path_energies.npz"


def _images(path: Path):
    from ..io.structures import read_structure

    images = read_structure(path, "--path", index=":")
    if len(images) < 2:
        raise ConfigError(f"--path {path}: {len(images)} image(s); a path needs at least 2")
    first = images[0]
    for k, a in enumerate(images[1:], start=1):
        if a.get_chemical_symbols() != first.get_chemical_symbols():
            raise StructureError(f"--path {path}: image {k + 1} has other atoms than image 1 (count or order)")
        if not np.allclose(a.cell, first.cell, atol=1e-6):
            raise StructureError(f"--path {path}: image {k + 1} has another cell than image 1 (a path keeps one cell)")
    for a in images:
        a.pbc = True
    return images


@register
class PathTask(Task):
    """``harness path``: the model's energy of every image of a fixed path."""

    name = "path"
    settings_class = PathSettings
    templates = FORCE_TEMPLATES

    def __init__(self, settings: PathSettings, **_):
        from ..models import with_precision
        from ..models.metadata import check_covers

        super().__init__(settings)
        self.images = _images(Path(settings.path))
        check_covers(settings.model, self.images[0].get_chemical_symbols(), f"path {Path(settings.path).name}")
        self.model, self.precision = with_precision(settings.model, "single points")

    @property
    def model_spec(self):
        return self.model

    def render(self, run_dir: Path, **_) -> dict:
        from ase.io import write

        from .frames import model_entry

        write(Path(run_dir) / "path.extxyz", self.images, format="extxyz")
        return {"model": {**model_entry(self.model), "precision": self.precision},
                "path": {"file": self.settings.path, "n_images": len(self.images), "n_atoms": len(self.images[0])}}

    def execute(self, run_dir: Path, launcher, *, resume: bool = False, progress: bool = True) -> dict:
        from ..forces import evaluate_frames
        from ..progress import frame_progress

        results, engine = evaluate_frames(self.model, self.images, engine=self.settings.engine,
                                          workdir=Path(run_dir) / "lammps",
                                          progress=frame_progress("path") if progress else None)
        np.savez_compressed(Path(run_dir) / ENERGIES, energy_eV=np.array([r.energy_eV for r in results]),
                            max_force_eV_A=np.array([np.linalg.norm(r.forces_eV_A, axis=1).max() for r in results]))
        return {"engine": {"name": engine}}

    def collect(self, run_dir: Path, *, progress: bool = True, **_) -> dict:
        from ..analysis.neb import barriers, compare_profile, image_distances, reaction_coordinate, spline_barrier
        from ..report.neb import plot_profile

        run_dir = Path(run_dir)
        with np.load(run_dir / ENERGIES) as data:
            e, fmax = data["energy_eV"], data["max_force_eV_A"]
        positions = np.array([a.positions for a in self.images])
        cell = np.asarray(self.images[0].cell)
        rc = reaction_coordinate(positions, cell)
        card = {**barriers(e), **spline_barrier(rc, e), "energies_eV": e - e[0], "reaction_coordinate": rc,
                "image_spacing_A": image_distances(positions, cell), "max_force_eV_A": fmax,
                "quoted": "highest image of the fixed path (no relaxation: an estimate, not a saddle)"}
        card["barrier_eV"] = card["forward_barrier_eV"]
        doc = {"task": "path", "model": self.model.label, "absolute_energies_eV": e, "profile": card,
               "units": {"energy": "eV", "force": "eV/Å"}}
        if self.settings.reference is not None:
            ref = _images(Path(self.settings.reference))
            e_ref = np.array([a.get_potential_energy() for a in ref])
            rc_ref = reaction_coordinate(np.array([a.positions for a in ref]), np.asarray(ref[0].cell))
            doc["reference"] = {**compare_profile(rc, e, rc_ref, e_ref), "file": self.settings.reference}
        (run_dir / "figures").mkdir(exist_ok=True)
        plot_profile(card, run_dir / "figures" / "path.png", title=f"{self.run_name} (fixed path)",
                     reference=doc.get("reference"))
        doc["headline"] = self.headline(doc)
        write_json(run_dir / "results.json", doc)
        return doc

    def headline(self, doc: dict) -> list[str]:
        c = doc["profile"]
        lines = [f"{len(c['energies_eV'])} images: highest {c['barrier_eV']:.4f} eV above the first (image "
                 f"{c['saddle_image']}; KRA {c['kra_barrier_eV']:.4f} eV; no relaxation)"]
        ref = doc.get("reference")
        if ref:
            lines.append(f"vs reference: barrier error {ref['forward_barrier_error_eV']:+.4f} eV, per-image RMSE "
                         f"{ref['rmse_eV']:.4f} eV")
        return lines


# ---------------------------------------------------------------------- sliding
def widest_gap_plane(z: np.ndarray) -> float:
    """The middle of the widest gap between consecutive atomic layers along the normal, inside
    the structure (the vacuum of a slab, across the cell boundary, is not a candidate)."""
    zs = np.unique(np.round(np.asarray(z, float), 4))
    if len(zs) < 2:
        raise StructureError("all atoms lie in one plane: there is no interlayer plane to slide along")
    gaps = np.diff(zs)
    k = int(np.argmax(gaps))
    return float(zs[k] + gaps[k] / 2)


@register
class SlideTask(Task):
    """``harness slide``: energy per area of rigid shifts of the atoms above a plane."""

    name = "slide"
    settings_class = SlideSettings
    templates = FORCE_TEMPLATES + ("minimize.in.j2",)

    def __init__(self, settings: SlideSettings, **_):
        from ..models import with_precision
        from ..systems import build_atoms, check_atoms

        super().__init__(settings)
        atoms = build_atoms(settings.system.structure, (1, 1, 1))
        cell = np.asarray(atoms.cell)
        if abs(cell[0, 2]) > 1e-8 or abs(cell[1, 2]) > 1e-8:
            raise StructureError("slide needs the cell's a and b vectors in the xy plane (the sliding plane), c along "
                                 "the normal's side: reorient the structure")
        check_atoms(atoms, settings.model)
        self.atoms = atoms
        self.plane_z_A = settings.plane_z_A if settings.plane_z_A is not None else widest_gap_plane(
            atoms.positions[:, 2])
        self.upper = np.flatnonzero(atoms.positions[:, 2] > self.plane_z_A)
        if len(self.upper) in (0, len(atoms)):
            raise StructureError(f"no atoms on one side of the plane z = {self.plane_z_A:.3f} Å")
        self.area_A2 = float(np.linalg.norm(np.cross(cell[0], cell[1])))
        self.model, self.precision = with_precision(settings.model, "relaxation" if settings.relax_normal
                                                    else "single points")

    @property
    def model_spec(self):
        return self.model

    def shifts(self) -> tuple[np.ndarray, np.ndarray]:
        """(fractions of the period, Cartesian shift vectors Å)."""
        frac = np.linspace(0.0, 1.0, self.settings.steps + 1)
        period = np.asarray(self.settings.direction, float) @ np.asarray(self.atoms.cell)
        return frac, frac[:, None] * period[None, :]

    def render(self, run_dir: Path, **_) -> dict:
        from ase.io import write

        from .frames import model_entry

        write(Path(run_dir) / "structure.extxyz", self.atoms, format="extxyz")
        return {"model": {**model_entry(self.model), "precision": self.precision},
                "slide": {"direction_fractional": list(self.settings.direction), "steps": self.settings.steps,
                          "plane_z_A": self.plane_z_A, "n_shifted_atoms": int(len(self.upper)),
                          "area_A2": self.area_A2, "relax_normal": self.settings.relax_normal}}

    def execute(self, run_dir: Path, launcher, *, resume: bool = False, progress: bool = True) -> dict:
        from ..forces import ForceSession
        from ..progress import frame_progress

        report = frame_progress("slide") if progress else None
        frac, vectors = self.shifts()
        energies, frames = [], []
        with ForceSession(self.model, self.atoms, engine=self.settings.engine,
                          workdir=Path(run_dir) / "lammps") as fs:
            for k, v in enumerate(vectors):
                pos = self.atoms.positions.copy()
                pos[self.upper] += v
                if self.settings.relax_normal:
                    r, pos = fs.relax(pos, hold="0.0 0.0 NULL", ftol_eV_A=self.settings.relax_ftol_eV_A)
                else:
                    r = fs.evaluate(pos)
                energies.append(r.energy_eV)
                frames.append(pos)
                if report is not None:
                    report(k + 1, len(vectors))
            engine = fs.choice.name
        np.savez_compressed(Path(run_dir) / ENERGIES, fraction=frac, energy_eV=np.array(energies),
                            positions_A=np.array(frames))
        return {"engine": {"name": engine}}

    def collect(self, run_dir: Path, *, progress: bool = True, **_) -> dict:
        from ase import Atoms
        from ase.io import write

        from ..report.neb import plot_slide

        run_dir = Path(run_dir)
        with np.load(run_dir / ENERGIES) as data:
            frac, e, pos = data["fraction"], data["energy_eV"], data["positions_A"]
        per_area = 1000.0 * (e - e[0]) / self.area_A2
        write(run_dir / "shifts.extxyz", [Atoms(self.atoms.get_chemical_symbols(), positions=p, cell=self.atoms.cell,
                                                pbc=True) for p in pos], format="extxyz")
        (run_dir / "figures").mkdir(exist_ok=True)
        plot_slide(frac, per_area, run_dir / "figures" / "slide.png", title=self.run_name)
        doc = {"task": "slide", "model": self.model.label, "shift_fraction": frac, "energy_eV": e,
               "energy_meV_per_A2": per_area, "sliding_barrier_meV_per_A2": float(per_area.max() - per_area.min()),
               "periodicity_error_meV_per_A2": float(per_area[-1] - per_area[0]), "area_A2": self.area_A2,
               "plane_z_A": self.plane_z_A, "relax_normal": self.settings.relax_normal,
               "units": {"energy": "eV", "energy_per_area": "meV/Å²"}}
        doc["headline"] = self.headline(doc)
        write_json(run_dir / "results.json", doc)
        return doc

    @classmethod
    def metrics(cls, results: dict) -> dict:
        return {"sliding_barrier_meV_per_A2": results["sliding_barrier_meV_per_A2"]}

    def headline(self, doc: dict) -> list[str]:
        return [f"sliding barrier {doc['sliding_barrier_meV_per_A2']:.3f} meV/Å² over {len(doc['energy_eV']) - 1} "
                f"steps (area {doc['area_A2']:.2f} Å²; last − first {doc['periodicity_error_meV_per_A2']:+.2e} meV/Å²)"]
