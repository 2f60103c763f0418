"""Reference frames (positions + labelled energy, forces, stress) from common DFT outputs.

``read_frames(path)`` returns a list of :class:`ase.Atoms`, each with a
:class:`SinglePointCalculator` holding the reference energy (eV), forces (eV/Å) and, when
present, stress (eV/Å³, ASE sign and Voigt order), and ``atoms.info["frame_source"]`` /
``["frame_index"]`` for provenance.

Formats: ``extxyz`` (ASE's extended XYZ; forces as the ``forces`` property or one of
``REF_forces``/``DFT_forces``/``dft_forces``), ``vasp-xml`` (vasprun.xml), ``vasp-out``
(OUTCAR), ``pymatgen-json`` (a JSON list of ``{"structure": <Structure.as_dict()>, "outputs":
{"energy", "forces", "virial_stress"}}`` as in the mlearn data sets, or flat
``{"structure", "energy", "forces", "stress"}`` records).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..errors import FramesError
from ..files import file_sha256
from ..units import matrix_to_voigt, voigt_to_matrix
from . import format_of

FORMATS = ("extxyz", "vasp-xml", "vasp-out", "pymatgen-json")
_FORCE_KEYS = ("forces", "REF_forces", "DFT_forces", "dft_forces", "ref_forces")
_ENERGY_KEYS = ("energy", "REF_energy", "DFT_energy", "dft_energy", "ref_energy")


def guess_format(path: Path) -> str:
    return format_of(path, FORMATS, "the format of reference frames", FramesError)


def reference_entry(path: Path, frames: list, fmt: str | None = None) -> dict:
    """Provenance of a labelled-frames file for a results document."""
    path = Path(path)
    return {"file": str(path.resolve()), "format": fmt or frames[0].info.get("frame_format"),
            "sha256": file_sha256(path), "n_frames": len(frames),
            "n_atoms_total": int(sum(len(a) for a in frames))}


def read_frames(path, fmt: str | None = None) -> list:
    """Read labelled frames; every frame must carry forces (one-line :class:`FramesError` otherwise)."""
    path = Path(path)
    if fmt is not None and fmt not in FORMATS:
        raise FramesError(f"unknown reference format '{fmt}' (valid: {', '.join(FORMATS)})")
    if not path.is_file():
        raise FramesError(f"reference frames {path}: no such file")
    fmt = fmt or guess_format(path)
    try:
        if fmt == "pymatgen-json":
            frames = _read_pymatgen_json(path)
        else:
            from ase.io import read

            ase_format = {"extxyz": "extxyz", "vasp-xml": "vasp-xml", "vasp-out": "vasp-out"}[fmt]
            frames = [_normalise(a, path, i) for i, a in enumerate(read(str(path), index=":", format=ase_format))]
    except FramesError:
        raise
    except Exception as exc:  # noqa: BLE001 - parsers raise anything from StopIteration to XML errors
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise FramesError(f"reference frames {path}: cannot read as {fmt} ({msg})") from None
    if not frames:
        raise FramesError(f"reference frames {path}: no frames in the file")
    for i, atoms in enumerate(frames):
        atoms.info["frame_source"] = str(path)
        atoms.info["frame_index"] = i
        atoms.info["frame_format"] = fmt
    return frames


def _attach(atoms, energy, forces, stress, path: Path, index: int):
    from ase.calculators.singlepoint import SinglePointCalculator

    if forces is None:
        raise FramesError(f"reference frames {path}: frame {index} has no forces (a parity of forces needs them)")
    forces = np.asarray(forces, dtype=float)
    if forces.shape != (len(atoms), 3) or not np.all(np.isfinite(forces)):
        raise FramesError(f"reference frames {path}: frame {index} has forces of shape {forces.shape} "
                          f"or non-finite values, expected ({len(atoms)}, 3)")
    results = {"forces": forces}
    if energy is not None:
        results["energy"] = float(energy)
    if stress is not None:
        stress = np.asarray(stress, dtype=float)
        results["stress"] = matrix_to_voigt(stress)
    for key in list(atoms.arrays):
        if key in _FORCE_KEYS:
            del atoms.arrays[key]
    atoms.calc = SinglePointCalculator(atoms, **results)
    return atoms


def _normalise(atoms, path: Path, index: int):
    results = dict(atoms.calc.results) if atoms.calc is not None else {}
    forces = results.get("forces")
    if forces is None:
        forces = next((atoms.arrays[k] for k in _FORCE_KEYS if k in atoms.arrays), None)
    energy = results.get("energy", results.get("free_energy"))
    if energy is None:
        energy = next((atoms.info[k] for k in _ENERGY_KEYS if k in atoms.info), None)
    stress = results.get("stress")
    clean = atoms.copy()
    return _attach(clean, energy, forces, stress, path, index)


def _read_pymatgen_json(path: Path) -> list:
    from pymatgen.core import Structure
    from pymatgen.io.ase import AseAtomsAdaptor

    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise FramesError(f"reference frames {path}: malformed JSON (line {exc.lineno}: {exc.msg})") from None
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise FramesError(f"reference frames {path}: expected a JSON list of records with 'structure'")
    frames = []
    for i, rec in enumerate(data):
        if not isinstance(rec, dict) or "structure" not in rec:
            raise FramesError(f"reference frames {path}: record {i} has no 'structure'")
        out = rec.get("outputs") if isinstance(rec.get("outputs"), dict) else rec
        atoms = AseAtomsAdaptor.get_atoms(Structure.from_dict(rec["structure"]))
        atoms.calc = None
        for key in list(atoms.arrays):  # pymatgen site properties (magmom, ...) are not needed
            if key not in ("numbers", "positions"):
                del atoms.arrays[key]
        atoms.info = {}
        stress = None
        if out.get("virial_stress") is not None:
            # mlearn: VASP's stress in kBar, order xx yy zz xy yz zx, positive under compression
            v = np.asarray(out["virial_stress"], dtype=float)
            xx, yy, zz, xy, yz, zx = v
            stress = -0.1 * 1e9 / 1.602176634e-19 * 1e-30 * np.array([xx, yy, zz, yz, zx, xy])
        elif out.get("stress") is not None:
            stress = out["stress"]  # already eV/Å³ in ASE convention
        if rec.get("group") is not None:
            atoms.info["group"] = str(rec["group"])
        frames.append(_attach(atoms, out.get("energy"), out.get("forces"), stress, path, i))
    return frames


def write_frames(path, frames) -> Path:
    """Labelled frames as extended XYZ at full double precision (``%.17g``; ASE's writer keeps 8 decimals).

    Each frame's calculator results (energy, forces, stress) are written as the ``energy`` and
    ``stress`` header keys and the ``forces`` column, which :func:`read_frames` (and ASE) read back.
    """
    path = Path(path)
    lines = []
    for atoms in frames:
        res = dict(atoms.calc.results) if atoms.calc is not None else {}
        forces = res.get("forces")
        props = "species:S:1:pos:R:3" + (":forces:R:3" if forces is not None else "")
        cell = " ".join(f"{v:.17g}" for v in np.asarray(atoms.cell).ravel())
        pbc = " ".join("T" if p else "F" for p in atoms.pbc)
        head = f'Lattice="{cell}" Properties={props}'
        if res.get("energy") is not None:
            head += f" energy={float(res['energy']):.17g}"
        if res.get("stress") is not None:
            head += ' stress="' + " ".join(f"{v:.17g}" for v in voigt_to_matrix(res["stress"]).ravel()) + '"'
        head += f' pbc="{pbc}"'
        lines += [str(len(atoms)), head]
        for k, (s, x) in enumerate(zip(atoms.get_chemical_symbols(), atoms.positions)):
            row = [s] + [f"{v:.17g}" for v in x]
            if forces is not None:
                row += [f"{v:.17g}" for v in forces[k]]
            lines.append(" ".join(row))
    path.write_text("\n".join(lines) + "\n")
    return path
