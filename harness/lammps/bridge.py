"""The Python bridge: LAMMPS integrates, an ASE calculator supplies forces, energy and virial.

LAMMPS calls :meth:`Bridge.callback` every step through ``fix external pf/callback``. We
update one persistent :class:`ase.Atoms` from the LAMMPS box and positions, ask the model,
and hand back forces (in place), the energy and the global virial so that LAMMPS' own
thermo ``pe`` and ``press`` are right. Serial only: the model sees all atoms at once.

On the steps a deck samples per-atom quantities (the heat flux: ``compute pe/atom`` and
``centroid/stress/atom``), the bridge also hands LAMMPS the model's per-atom energies and
virials (``fix_external_set_energy_peratom`` / ``_virial_peratom``), from a calculator that gives
them (MACE's with atomic stresses); LAMMPS takes them only on steps it asked for them.
"""

from __future__ import annotations

import math
import time

import numpy as np
from ase import Atoms

from ..units import ase_to_lammps_voigt, virial_from_stress


def lammps_cell(lmp) -> tuple[np.ndarray, np.ndarray]:
    """(cell rows a, b, c; origin) of the LAMMPS box, restricted-triclinic convention."""
    boxlo, boxhi, xy, yz, xz, _periodicity, _changed = lmp.extract_box()
    lx, ly, lz = (boxhi[k] - boxlo[k] for k in range(3))
    cell = np.array([[lx, 0.0, 0.0], [xy, ly, 0.0], [xz, yz, lz]])
    return cell, np.asarray(boxlo, dtype=float)


class Bridge:
    """Model forces for a running LAMMPS through ``fix external``.

    Parameters
    ----------
    lmp : lammps.lammps
        The instance that owns the fix.
    calculator : ase.calculators.calculator.Calculator
        Any ASE calculator that gives energy, forces and stress.
    symbols : list[str]
        Chemical symbols in LAMMPS atom-ID order (ID 1 is ``symbols[0]``).
    per_atom_every : tuple of int
        Steps that are a multiple of one of these also get per-atom energies and virials (the
        calculator must give ``energies`` and ``stresses``).
    """

    def __init__(self, lmp, calculator, symbols: list[str], per_atom_every: tuple[int, ...] = ()):
        self.lmp = lmp
        self.per_atom_every = tuple(int(k) for k in per_atom_every if k)
        self.calc = calculator
        self.atoms = Atoms(symbols=symbols, pbc=True)
        self.atoms.calc = calculator
        self.fix_id: str | None = None
        self.calls = 0
        self.model_seconds = 0.0
        self.callback_seconds = 0.0
        # the force call LAMMPS makes at the setup of each `run` (before step 1): the session
        # flags it so the steady cost per MD step can leave it out
        self.expect_setup = False
        self.setup_seconds = 0.0
        self.error: BaseException | None = None

    def attach(self, fix_id: str) -> None:
        self.fix_id = fix_id
        self.lmp.set_fix_external_callback(fix_id, self.callback, None)

    def evaluate(self, positions: np.ndarray, cell: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """(energy eV, forces eV/Å, stress eV/Å³ Voigt) of the model at these positions."""
        self.atoms.cell = cell
        self.atoms.positions = positions
        t0 = time.perf_counter()
        energy = self.atoms.get_potential_energy()
        forces = self.atoms.get_forces()
        stress = self.atoms.get_stress(voigt=True)
        self.model_seconds += time.perf_counter() - t0
        return energy, forces, stress

    def callback(self, caller, ntimestep, nlocal, tag, x, f) -> None:
        """Called by LAMMPS; must never raise (a Python error cannot unwind through C++)."""
        t0 = time.perf_counter()
        try:
            if self.error is not None:  # already failed: keep LAMMPS alive until the chunk ends
                f[:] = 0.0
                return
            if nlocal != len(self.atoms):
                raise RuntimeError(
                    f"the bridge is serial: this rank owns {nlocal} of {len(self.atoms)} atoms (run on one MPI rank)"
                )
            cell, origin = lammps_cell(self.lmp)
            order = np.asarray(tag, dtype=np.int64).reshape(-1) - 1  # LAMMPS order -> ID order
            positions = np.empty((nlocal, 3))
            positions[order] = np.asarray(x) - origin
            energy, forces, stress = self.evaluate(positions, cell)
            if not (math.isfinite(energy) and np.all(np.isfinite(forces)) and np.all(np.isfinite(stress))):
                raise FloatingPointError(f"model returned non-finite energy/forces/stress at step {ntimestep}")
            f[:] = forces[order]
            volume = abs(np.linalg.det(cell))
            self.lmp.fix_external_set_energy_global(self.fix_id, float(energy))
            self.lmp.fix_external_set_virial_global(self.fix_id, virial_from_stress(stress, volume))
            if any(ntimestep % k == 0 for k in self.per_atom_every):
                self.set_per_atom(order, volume, ntimestep)
            self.calls += 1
        except BaseException as exc:  # noqa: BLE001 - reported after the chunk by the session
            self.error = exc
            f[:] = 0.0
        finally:
            dt = time.perf_counter() - t0
            self.callback_seconds += dt
            if self.expect_setup:
                self.setup_seconds += dt
                self.expect_setup = False

    def set_per_atom(self, order: np.ndarray, volume_A3: float, step: int) -> None:
        """Per-atom energies (eV) and virials (eV; W_i = -V σ_i, LAMMPS' xx yy zz xy xz yz) of the
        positions just evaluated, in LAMMPS' local order."""
        t0 = time.perf_counter()
        energies = np.asarray(self.atoms.get_potential_energies(), dtype=float)
        stresses = np.asarray(self.atoms.get_stresses(voigt=True), dtype=float)  # xx yy zz yz xz xy, eV/Å³
        self.model_seconds += time.perf_counter() - t0
        if not (np.all(np.isfinite(energies)) and np.all(np.isfinite(stresses))):
            raise FloatingPointError(f"model returned non-finite per-atom energies/stresses at step {step}")
        virials = -volume_A3 * ase_to_lammps_voigt(stresses[order])
        self.lmp.fix_external_set_energy_peratom(self.fix_id, energies[order].tolist())
        self.lmp.fix_external_set_virial_peratom(self.fix_id, virials.tolist())

    def timings(self) -> dict:
        n = max(self.calls, 1)
        return {
            "calls": self.calls,
            "model_ms_per_call": 1000 * self.model_seconds / n,
            "callback_ms_per_call": 1000 * self.callback_seconds / n,
            "setup_calls_s": self.setup_seconds,
        }
