"""Harmonic phonons of a phonopy object that has force constants: band structure, DOS, group
velocities, stability, thermodynamics, and the modes a periodic MD cell holds.

Where the force constants came from (LAMMPS forces of displaced supercells, see
:mod:`harness.tasks.displacements`, or a DFT reference, see :mod:`.phonon_reference`) does not
matter here: everything below only asks phonopy. The conversions between ASE and phonopy cells
live here too, as every floor above needs them. Units: THz, Å, THz·Å (phonopy's).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ase import Atoms

from .phonons import IMAGINARY_TOL_THZ, commensurate_qpoints, per_atom_thermodynamics, stability


def to_phonopy(atoms: Atoms):
    """An ASE structure as phonopy's cell (symbols, cell, scaled positions, masses)."""
    from phonopy.structure.atoms import PhonopyAtoms

    return PhonopyAtoms(symbols=atoms.get_chemical_symbols(), cell=np.array(atoms.cell),
                        scaled_positions=atoms.get_scaled_positions(), masses=atoms.get_masses())


def to_ase(cell) -> Atoms:
    """A phonopy cell as a periodic ASE structure."""
    return Atoms(symbols=cell.symbols, cell=cell.cell, scaled_positions=cell.scaled_positions, pbc=True)


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


class PhononResults:
    """Band structure, DOS, group velocities and stability of a phonopy object with force constants.

    Parameters
    ----------
    phonon : phonopy.Phonopy
        With force constants; its band structure (seekpath path), mesh, total and projected DOS
        are computed here, in that order.
    settings : DisplacementSettings
        ``mesh``, ``band_points`` and ``displacement_A`` are read.
    timings : dict, optional
        How the force constants were computed (engine, seconds), carried into :meth:`summary`.
    """

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
        """What results.json states about the phonons: units, cells, stability, band, DOS, timings."""
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
            "band": {"labels": self.band_labels(), "path_connections": self.path_connections(),
                     "distances": [list(map(float, d)) for d in self.band["distances"]],
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

    def band_qpoints(self) -> np.ndarray:
        """Every q-point of the band path (reduced), the segments concatenated."""
        return np.concatenate(self.band["qpoints"])

    def split_like_band(self, values: np.ndarray) -> list[np.ndarray]:
        """Per-q-point ``values`` of :meth:`band_qpoints` split back into the path's segments."""
        sizes = np.cumsum([len(d) for d in self.band["distances"]])[:-1]
        return np.split(values, sizes)

    def write(self, out_dir: Path) -> list[Path]:
        """phonopy_params.yaml (structure, displacements, forces, FC), band.yaml, total_dos.dat."""
        out_dir = Path(out_dir)
        self.phonon.save(out_dir / "phonopy_params.yaml", settings={"force_constants": True})
        self.phonon.band_structure.write_yaml(filename=out_dir / "band.yaml")  # the band computed in __init__
        self.phonon.total_dos.write(out_dir / "total_dos.dat")
        return [out_dir / "phonopy_params.yaml", out_dir / "band.yaml", out_dir / "total_dos.dat"]


# ---------------------------------------------------------------------- on given q-points
STABILITY_KEYS = ("dynamically_stable", "imaginary_tolerance_THz", "n_imaginary_qpoints", "min_frequency_THz",
                  "lowest_mode_q", "imaginary_modes")


def qpoint_frequencies(ph, qpoints: np.ndarray) -> np.ndarray:
    """Frequencies (THz, (n_q, n_bands), ascending) of a phonopy object at ``qpoints`` (reduced)."""
    ph.run_qpoints(np.asarray(qpoints))
    return ph.get_qpoints_dict()["frequencies"]


def phonon_stability(ph, mesh, band_qpoints: np.ndarray, band_frequencies_THz: np.ndarray) -> dict:
    """:func:`~harness.analysis.phonons.stability` of a phonopy object with force constants on the
    full ``mesh`` and the band-path q-points (the q-points a model's own check uses).

    ``band_frequencies_THz`` are its frequencies at ``band_qpoints``
    (:func:`qpoint_frequencies`), computed once by the caller, who also draws them.
    """
    ph.run_mesh(list(mesh), is_mesh_symmetry=False)
    m = ph.get_mesh_dict()
    return stability(np.concatenate([m["qpoints"], band_qpoints]),
                     np.concatenate([m["frequencies"], band_frequencies_THz]))


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


def md_cell_modes(ph, md_cell_A: np.ndarray) -> tuple[np.ndarray, int]:
    """The harmonic frequencies (THz) a periodic MD cell can hold, and at how many q-points.

    The q-points are :func:`~harness.analysis.phonons.commensurate_qpoints` of ``md_cell_A`` in
    the primitive cell of ``ph``; the three uniform translations (|ν| ≤ 0.05 THz) are dropped,
    as MD removes them (``mom yes``). Raises ``ValueError`` when the MD cell is not a supercell
    of that primitive cell.
    """
    qs = commensurate_qpoints(md_cell_A, np.asarray(ph.primitive.cell))
    modes = qpoint_frequencies(ph, qs).ravel()
    return modes[np.abs(modes) > 0.05], len(qs)
