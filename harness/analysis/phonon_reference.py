"""A reference's phonons (DFT displacements and forces, optionally BORN) read into phonopy, and a
model's phonons compared with them on the same q-points.

The reference is read by phonopy itself (its yaml files, FORCE_SETS, its VASP interface for
vasprun.xml), so that a reference gives here exactly the force constants it gives in phonopy.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from ase import Atoms

from ..errors import ConfigError
from .harmonic import to_ase
from .phonons import compare_frequencies


def load_reference(path: Path, forces: list[Path] | None = None, born: Path | None = None,
                   supercell_matrix=None):
    """A reference phonopy object with force constants.

    Parameters
    ----------
    path : Path
        A phonopy yaml (phonopy_disp.yaml, phonopy_params.yaml, phonopy.yaml) or a unit cell
        file (POSCAR-unitcell, with ``supercell_matrix``).
    forces : list of Path, optional
        A FORCE_SETS file, or the vasprun.xml files of the displacements in order (parsed by
        phonopy's own VASP interface).
    born : Path, optional
        A BORN file: adds the non-analytic correction.
    supercell_matrix : 3×3 ints, optional
        Required when ``path`` is a unit cell.

    Returns
    -------
    phonopy.Phonopy
        With force constants (produced and symmetrised when the files only had forces).
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
    """The unit cell of a reference phonopy object, as ASE atoms."""
    return to_ase(ph.unitcell)


def compare_with_reference(model_ph, ref_ph, mesh=None) -> dict:
    """Model vs reference on the same q-points (same primitive cell, same mesh).

    Parameters
    ----------
    model_ph, ref_ph : phonopy.Phonopy
        With force constants, on the same supercell (atoms and species).
    mesh : three ints
        The q-mesh of the comparison, given by the caller: there is no default mesh (``None``
        is refused once the supercells are found to match).

    Returns
    -------
    dict
        :func:`~harness.analysis.phonons.compare_frequencies` on the full mesh (weights, group
        velocities), and ``mesh``.
    """
    if len(model_ph.supercell) != len(ref_ph.supercell) or \
            model_ph.supercell.symbols != ref_ph.supercell.symbols:
        raise ConfigError("reference supercell does not match the model's (atoms or species differ)")
    if mesh is None:
        raise ValueError("compare_with_reference: give the q-mesh of the comparison")
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
