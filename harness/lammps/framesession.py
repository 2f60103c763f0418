"""Frames of one structure (same cell, same atoms) in one LAMMPS session: the steps that
:class:`harness.forces.ForceSession` (any engine) and
:class:`harness.lammps.mliap_driver.MliapDriver` (an exported ML-IAP model) share.

Both write the structure as a data file, run the single-point deck (``templates/forces.in.j2``)
once, and for every further frame scatter the new positions into LAMMPS and repeat ``run 0``:
no process and no model load per frame. They differ in the deck's pair style and in what they
read back after each ``run 0``. The shared steps live here, on the floor of the session, because
the driver sits there and the force session above the engines: both can import them, and the
driver's numbers come from the very set-up the engines' sessions use.
"""

from __future__ import annotations

import ctypes
import tempfile
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.calculators.lammps import Prism
from ase.io import write

from .. import __version__
from ..errors import ConfigError
from ..files import write_text
from .render import render
from .session import OwnsSession, Session

DATA = "structure.data"


def single_point_deck(run_name: str, model: str, engine: str, elements: list[str], /, **pair) -> str:
    """The single-point deck (``templates/forces.in.j2``) on :data:`DATA`: it ends with ``run 0``.

    Parameters
    ----------
    run_name, model, engine : str
        What the deck's header names.
    elements : list[str]
        The element of each atom type, in type order (the data file's ``specorder``).
    **pair
        The pair style's variables (an engine's :meth:`~harness.engines.Engine.context`); they
        win over the ones above (an engine's context may name the elements again).
    """
    ctx = {"run_name": run_name, "harness_version": __version__, "model": model, "engine": engine,
           "elements": elements, "data_file": DATA, "neighbor_skin_A": 1.0, **pair}
    return render("forces.in.j2", **ctx)


class FrameSession(OwnsSession):
    """One structure in one LAMMPS session, evaluated again at new positions.

    A subclass calls :meth:`_prepare` (the work folder and the data file), renders its deck,
    calls :meth:`_start` (the session runs it) and defines :meth:`_read` (its result of the
    ``run 0`` just done); :meth:`evaluate` then serves every further frame.

    Attributes
    ----------
    workdir : Path
        Where the data file, the deck and the log are.
    prism : ase.calculators.lammps.Prism
        The rotation between the user's cell and LAMMPS' lower-triangular one.
    n : int
        Number of atoms.
    session : Session
        The LAMMPS session.
    result
        The last :meth:`_read`; right after construction, the structure as given.
    """

    def _prepare(self, atoms: Atoms, type_elements: list[str], workdir: Path | None, prefix: str) -> None:
        """The work folder (a temporary one named ``prefix…`` if ``workdir`` is ``None``) and the
        structure written to it as :data:`DATA`, atom types in ``type_elements``' order."""
        self._tmp = tempfile.TemporaryDirectory(prefix=prefix) if workdir is None else None
        self.workdir = Path(self._tmp.name if workdir is None else workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        # LAMMPS wants a lower-triangular cell: Prism rotates vectors and tensors both ways.
        self.prism = Prism(np.array(atoms.cell), pbc=True)
        self.n = len(atoms)
        write(self.workdir / DATA, atoms, format="lammps-data", specorder=type_elements, masses=True,
              units="metal", atom_style="atomic")

    def _start(self, deck: str, name: str, attach=None) -> None:
        """``in.<name>.lammps`` written and run by a new session (log ``log.<name>.lammps``), after
        ``attach(session)`` if given (an engine's hook into it); then :attr:`result`. On any
        failure the session and the temporary folder are closed before the error goes on."""
        write_text(self.workdir / f"in.{name}.lammps", deck)
        self.session = Session(self.workdir, log=f"log.{name}.lammps")
        try:
            if attach is not None:
                attach(self.session)
            self.session.execute(deck)  # ends with `run 0` on the structure as given
            self.result = self._read()
        except BaseException:
            self.close()
            raise

    def _read(self):
        """The result of the ``run 0`` just done (the subclass's)."""
        raise NotImplementedError

    def evaluate(self, positions: np.ndarray):
        """The structure at new ``positions`` (Å, the user's frame) of the same atoms: scattered
        into LAMMPS, ``run 0``, read back (:meth:`_read`), kept as :attr:`result` and returned."""
        positions = np.asarray(positions, dtype=float)
        if positions.shape != (self.n, 3):
            raise ConfigError(f"frame has shape {positions.shape}, expected ({self.n}, 3)")
        boxlo = np.asarray(self.session.lmp.extract_box()[0])
        x = self.prism.vector_to_lammps(positions, wrap=True) + boxlo
        self.session.lmp.scatter_atoms("x", 1, 3, (ctypes.c_double * (3 * self.n))(*x.ravel()))
        self.session.command("run 0 post no")
        self.result = self._read()
        return self.result
