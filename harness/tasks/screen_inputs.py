"""The files a screen writes for its member run folders to read: a system YAML per structure file
(``--structures``), and for σ^(2) the MD cell (the phonon supercell as LAMMPS holds it) and the
force constants of both sides rotated into that cell.

Each writer leaves an unchanged file alone (same text, or the same force constants), so a
member that read it stays reusable; :func:`write_fc_file` says whether Φ changed, which makes
the σ member that read the old one stale.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from ase import Atoms
from ase.calculators.lammps import Prism

from ..analysis.harmonic import to_phonopy
from ..files import write_text


def lammps_frame(atoms):
    """``atoms`` rotated as LAMMPS holds a cell (a along x, b in the xy plane: a lower-triangular
    cell with a positive diagonal) and the rotation ``R`` (row vectors: r' = r @ R).

    The MD of a σ member starts from the rotated cell, so its dump's cell and positions are
    those of the force constants rotated with the same R (Φ'_ij = Rᵀ Φ_ij R). The rotation is
    ASE's :class:`~ase.calculators.lammps.Prism` (as :class:`harness.forces.ForceSession` uses),
    without its cell reduction: the cell is the rotated one, not a shorter equivalent."""
    prism = Prism(np.array(atoms.cell), pbc=True)
    cell = prism.lammps_tilt.copy()
    cell[np.abs(cell) < 1e-12] = 0.0  # rounding noise of a right angle: an orthogonal cell stays orthogonal
    out = Atoms(symbols=atoms.get_chemical_symbols(), positions=prism.vector_to_lammps(atoms.positions), cell=cell,
                pbc=True, masses=atoms.get_masses())
    return out, prism.rot_mat


def full_force_constants(ph) -> np.ndarray:
    """(N, N, 3, 3) force constants of a phonopy object's supercell (from compact ones too)."""
    from phonopy.harmonic.force_constants import compact_fc_to_full_fc

    fc = np.asarray(ph.force_constants)
    if fc.shape[0] != fc.shape[1]:
        fc = compact_fc_to_full_fc(ph.primitive, fc)
    return fc


def write_fc_file(path: Path, atoms_rot, fc_full: np.ndarray, rot: np.ndarray) -> bool:
    """Φ of the MD cell as a phonopy yaml (unit cell = the rotated supercell, supercell matrix =
    identity, full FC rotated by ``rot``); what a sigma member reads with ``--fc``. Returns
    whether the file changed (a σ member that read the old one is then stale)."""
    import phonopy
    from phonopy import Phonopy

    fc = np.einsum("ai,xyab,bj->xyij", rot, fc_full, rot)
    if path.is_file():
        try:
            old = phonopy.load(str(path), produce_fc=False, is_compact_fc=False, log_level=0)
            if old.force_constants is not None and np.allclose(old.force_constants, fc, atol=1e-10, rtol=0):
                return False
        except Exception:  # noqa: BLE001 - an unreadable old file is replaced
            pass
    # primitive = the cell itself ('P'): phonopy then keeps the full FC, which σ reads as is
    ph = Phonopy(to_phonopy(atoms_rot), supercell_matrix=np.eye(3, dtype=int), primitive_matrix="P")
    ph.force_constants = fc
    path.parent.mkdir(parents=True, exist_ok=True)
    ph.save(str(path), settings={"force_constants": True})
    return True


def md_system(out_dir: Path, name: str, atoms, temperature_K: float, steps: int, timestep_fs: float) -> Path:
    """A system YAML for the σ MD of one material: its phonon supercell (rotated, one cell), the
    CSVR thermostat (stochastic and canonical: the Yang et al. protocol used Andersen, which
    LAMMPS lacks), frames every 10 steps, the first 20 % as equilibration."""
    import yaml
    from ase.io import write

    out_dir.mkdir(parents=True, exist_ok=True)
    struct = out_dir / f"{name}-md.extxyz"
    write(struct, atoms, format="extxyz")
    preset = {"supercell": [1, 1, 1], "timestep_fs": float(timestep_fs), "steps": int(steps), "thermostat": "csvr",
              "thermostat_damping_fs": 100.0, "dump_every": 10, "thermo_every": 10, "restart_every": 1000,
              "equilibration_ps": round(0.2 * steps * timestep_fs / 1000.0, 6)}
    doc = {"name": name, "description": f"{name}: its phonon supercell ({len(atoms)} atoms, LAMMPS orientation) for "
                                        f"σ^(2) along model MD (harness screen)",
           "structure": {"file": struct.name}, "temperature_K": float(temperature_K), "default_preset": "screen",
           "presets": {"screen": preset}}
    path = out_dir / f"{name}-md.yaml"
    text = yaml.safe_dump(doc, sort_keys=False)
    if not path.is_file() or path.read_text() != text:
        write_text(path, text)
    return path


def structure_system(out_dir: Path, name: str, file: Path) -> Path:
    """A system YAML naming a structure file (--structures): what PhononsSettings takes."""
    import yaml

    out_dir.mkdir(parents=True, exist_ok=True)
    doc = {"name": name, "description": f"{file.name} (harness screen)", "structure": {"file": str(file)},
           "temperature_K": 300.0, "default_preset": "none",
           "presets": {"none": {"supercell": [1, 1, 1], "timestep_fs": 1.0, "steps": 1}}}
    path = out_dir / f"{name}.yaml"
    text = yaml.safe_dump(doc, sort_keys=False)
    if not path.is_file() or path.read_text() != text:
        write_text(path, text)
    return path
