"""What the labelled-frames tasks share (singlepoint, softening): a model evaluated through
LAMMPS on reference frames with DFT energies, forces and stresses.

:class:`LabelledFramesTask` reads and checks the frames before any compute; its execute
evaluates the model on every frame (one LAMMPS session per distinct cell and atom list, the
weights loaded once) and keeps every number in ``model_frames.npz``; the tasks' collect
computes their statistics from that file and the reference.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from ..config import ModelSpec
from ..errors import StructureError
from ..forces import TEMPLATES as FORCE_TEMPLATES
from ..forces import ForceResult, evaluate_frames
from ..progress import frame_progress
from .base import Task

MODEL_FRAMES = "model_frames.npz"


def check_species(model: ModelSpec, frames, source: str = "reference frames") -> None:
    """One line naming the elements of the frames that the model does not cover (before any compute)."""
    from ..models.metadata import check_covers

    check_covers(model, [s for a in frames for s in a.get_chemical_symbols()], source)
    if any(not all(a.pbc) for a in frames):
        raise StructureError(f"{source}: every frame must be periodic in x, y and z (LAMMPS runs them as p p p)")


def model_entry(spec: ModelSpec) -> dict:
    """Provenance of a model for a results document (name, source, files and their sha256)."""
    from ..files import files_sha256
    from ..models import weight_files

    files = weight_files(spec)
    entry = {"name": spec.name, "label": spec.label, "family": spec.family, "source": spec.source,
             "argument": spec.argument, "files": [str(f) for f in files], "sha256": files_sha256(files)}
    if spec.base is not None:  # a corrected model: its base and the factor
        entry["correction"] = {"scale": spec.scale, "base": spec.base.label, "provenance": spec.provenance}
    return entry


def save_model_frames(path: Path, results: list[ForceResult], engine: str) -> None:
    """Every frame's model energy (eV), forces (eV/Å, all frames' atoms in a row) and stress (eV/Å³)."""
    np.savez_compressed(path, energy_eV=np.array([r.energy_eV for r in results]),
                        forces_eV_A=np.concatenate([r.forces_eV_A for r in results]),
                        stress_eV_A3=np.array([r.stress_eV_A3 for r in results]),
                        n_atoms=np.array([len(r.forces_eV_A) for r in results]), engine=np.array(engine))


def load_model_frames(path: Path) -> tuple[list[ForceResult], str]:
    with np.load(path) as data:
        n = data["n_atoms"]
        forces = np.split(data["forces_eV_A"], np.cumsum(n)[:-1])
        out = [ForceResult(float(e), f, s) for e, f, s in zip(data["energy_eV"], forces, data["stress_eV_A3"])]
        return out, str(data["engine"])


class LabelledFramesTask(Task):
    """Base of the tasks that evaluate a model on labelled frames (see the module docstring)."""

    templates = FORCE_TEMPLATES

    def __init__(self, settings, **_):
        from ..io.frames import read_frames
        from ..models import with_precision

        super().__init__(settings)
        self.reference = Path(settings.reference)
        self.frames = read_frames(self.reference, settings.fmt)
        check_species(settings.model, self.frames, f"reference frames {self.reference}")
        self.model, self.precision = with_precision(settings.model, self.name)

    @property
    def model_spec(self):
        return self.model

    def labels(self) -> dict:
        """The frames file's name stands for the system in a campaign table."""
        return {"system": self.reference.stem, "model": self.model.label, "seed": None}

    def render(self, run_dir: Path, **_) -> dict:
        from ..io.frames import reference_entry

        return {"model": {**model_entry(self.model), "precision": self.precision},
                "reference": reference_entry(self.reference, self.frames, self.settings.fmt)}

    def execute(self, run_dir: Path, launcher, *, resume: bool = False, progress: bool = True) -> dict:
        t0 = time.perf_counter()
        results, engine = evaluate_frames(self.model, self.frames, engine=self.settings.engine,
                                          workdir=Path(run_dir) / "lammps",
                                          progress=frame_progress(self.name) if progress else None)
        save_model_frames(Path(run_dir) / MODEL_FRAMES, results, engine)
        self._results = (results, engine)
        return {"engine": {"name": engine}, "timings": {"frames_s": time.perf_counter() - t0,
                                                         "n_frames": len(self.frames)}}

    def model_results(self, run_dir: Path) -> tuple[list[ForceResult], str]:
        """The model's numbers of every frame (from this process, or from ``model_frames.npz``)."""
        cached = getattr(self, "_results", None)
        return cached if cached is not None else load_model_frames(Path(run_dir) / MODEL_FRAMES)
