"""The band on one process: every image evaluated here, ASE's NEB and FIRE moving them.

LAMMPS' multi-partition NEB runs one partition per image. On a machine with fewer cores than
images the partitions share the cores and the waiting ranks poll MPI: on 2 cores a 7-image EAM
band spends ~100 ms per iteration on ~1 ms of forces. Here one process holds the whole band:

- :class:`SessionBand`: one :class:`~harness.forces.ForceSession` (one LAMMPS instance, any
  engine) evaluates the moving images one after the other;
- a model family's batched evaluator (:class:`harness.models.mace.BatchedMACE`): a MACE model
  through the bridge evaluates all moving images in **one** forward pass, the graphs batched as
  mace-torch batches them in training. On a CPU this costs about what separate
  calls cost; on a GPU it is where batching pays.

ASE's :class:`~ase.mep.NEB` (improved tangent, the same spring constant) and ASE's ODE12r
(:class:`~ase.mep.neb.NEBOptimizer`, climbing from the start: the fewest force calls), or ASE's
FIRE / MDMin with a band stage then a climbing stage as LAMMPS, move the images; convergence is
LAMMPS' own criterion,
the largest 2-norm of an image's NEB force (``MaxReplicaForce``) below ``ftol``. What the
partition NEB writes is written here too, in the same layout — the universe log's table
(``log.neb.lammps``), each image's band dump every 10 iterations and its final dump —
so collecting, the stopping rules and resuming read both the same way.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator
from ase.mep import NEB

from ..analysis.neb import hopeless, image_distances, parse_neb_log
from ..lammps.launch import StopLaunch

EVALUATORS = ("auto", "partitions", "serial")


class SessionBand:
    """Moving images evaluated one after the other in one LAMMPS instance (any engine)."""

    name = "one LAMMPS session, image after image"

    def __init__(self, model, atoms: Atoms, engine: str, workdir: Path, caps=None):
        from ..forces import ForceSession

        self.session = ForceSession(model, atoms, engine=engine, workdir=workdir, caps=caps)

    def __call__(self, band: list[np.ndarray]) -> list[tuple[float, np.ndarray]]:
        out = []
        for positions in band:
            r = self.session.evaluate(positions)
            out.append((r.energy_eV, r.forces_eV_A))
        return out

    def close(self) -> None:
        self.session.close()


def evaluator_for(task, run_dir: Path):
    """The model family's batched evaluator when the engine runs the model in this Python (the
    bridge) and the family has one (MACE); otherwise one LAMMPS session for the band."""
    from ..models import family

    batched = family(task.model).batched_forces
    if task.engine.python_driver and batched is not None:
        return batched(task.model, task.initial)
    return SessionBand(task.model, task.initial, task.choice.name, Path(run_dir) / "band-session", task.caps)


def write_frame(path: Path, step: int, atoms: Atoms, types, append: bool) -> None:
    """One frame of ``id type x y z`` in LAMMPS' dump layout, as ``write_dump`` writes it (the
    cell must be in LAMMPS' triclinic form: a along x, b in the xy plane)."""
    cell = np.asarray(atoms.cell)
    if abs(cell[0, 1]) > 1e-9 or abs(cell[0, 2]) > 1e-9 or abs(cell[1, 2]) > 1e-9:
        raise ValueError(f"{path.name}: the cell is not in LAMMPS' triclinic form")
    (lx, _, _), (xy, ly, _), (xz, yz, lz) = cell
    lo, hi = min(0.0, xy, xz, xy + xz), max(0.0, xy, xz, xy + xz)
    head = (f"ITEM: TIMESTEP\n{step}\nITEM: NUMBER OF ATOMS\n{len(atoms)}\n"
            f"ITEM: BOX BOUNDS xy xz yz pp pp pp\n{lo:.12g} {lx + hi:.12g} {xy:.12g}\n"
            f"{min(0.0, yz):.12g} {ly + max(0.0, yz):.12g} {xz:.12g}\n0 {lz:.12g} {yz:.12g}\n"
            f"ITEM: ATOMS id type x y z\n")
    rows = "".join(f"{i} {t} {x:.12g} {y:.12g} {z:.12g}\n"
                   for i, (t, (x, y, z)) in enumerate(zip(types, atoms.positions), start=1))
    with open(path, "a" if append else "w") as fh:
        fh.write(head + rows)


class _Band(NEB):
    """ASE's NEB whose moving images are evaluated together by an evaluator, once per positions."""

    def __init__(self, images, evaluate, **kw):
        super().__init__(images, **kw)
        self.evaluate, self.calls, self._at = evaluate, 0, None

    def get_forces(self):
        moving = self.images[1:-1]
        now = np.array([a.positions for a in moving])
        if self._at is None or not np.array_equal(now, self._at):
            for atoms, (energy, forces) in zip(moving, self.evaluate(list(now))):
                atoms.calc = SinglePointCalculator(atoms, energy=energy, forces=forces)
            self._at, self.calls = now.copy(), self.calls + 1
        return super().get_forces()


class _Log:
    """The universe log's NEB table, in LAMMPS' columns and layout."""

    def __init__(self, path: Path, n_images: int, note: str):
        self.path = Path(path)
        cols = ["Step", "MaxReplicaForce", "MaxAtomForce", "GradV0", "GradV1", "GradVc", "EBF", "EBR", "RDT"]
        cols += [f"RD{k}" for k in range(1, n_images + 1)] + [f"PE{k}" for k in range(1, n_images + 1)]
        self.header = " ".join(f"{c:>14s}" for c in cols)
        self.path.write_text(f"# {note}\n")

    def stage(self, climbing_image: int | None = None) -> None:
        with open(self.path, "a") as fh:
            fh.write((f"Climbing replica = {climbing_image}\n" if climbing_image else "") + self.header + "\n")

    def row(self, step: int, band: _Band, replica_force: float) -> None:
        e = np.array([a.get_potential_energy() for a in band.images])
        d = image_distances(np.array([a.positions for a in band.images]), np.asarray(band.images[0].cell))
        total = float(d.sum())
        rc = np.concatenate([[0.0], np.cumsum(d)]) / (total if total > 0 else 1.0)
        atom = float(np.linalg.norm(band.get_forces(), axis=1).max())  # the largest NEB force on an atom
        k = int(np.argmax(e))
        values = [step, replica_force, atom, 0.0, 0.0, replica_force, e[k] - e[0], e[k] - e[-1], total, *rc, *e]
        with open(self.path, "a") as fh:
            fh.write(" ".join(f"{v:>14.10g}" for v in values) + "\n")


def run_band(task, run_dir: Path, band: list[np.ndarray], evaluator, *, progress: bool, log_name: str,
             band_every: int, dt: float) -> dict:
    """Move ``band`` (every image's positions, the endpoints included) to a converged climbing
    image; the moving images evaluated by ``evaluator``, ``dt`` the FIRE/MDMin step in ASE's
    units. Writes the partition NEB's files (``log_name``, band dumps every ``band_every``
    iterations, final dumps) and raises :class:`StopLaunch` when the band is hopeless.

    ``min_style`` ``auto`` or ``ode``: ASE's ODE12r (:class:`~ase.mep.neb.NEBOptimizer`) with the
    climbing image from the start (fewest force calls: 24 band evaluations against FIRE's 70 on the
    Cu vacancy);
    ``fire`` / ``quickmin``: ASE's FIRE / MDMin, the band stage then the climbing stage as LAMMPS."""
    from ase.mep.neb import NEBOptimizer
    from ase.optimize import FIRE, MDMin

    s, n, run_dir = task.settings, len(band), Path(run_dir)
    initial, _ = task.relaxed_atoms(run_dir)
    types = [task.elements.index(sym) + 1 for sym in initial.get_chemical_symbols()]
    images = []
    for positions in band:
        atoms = initial.copy()
        atoms.positions = positions
        images.append(atoms)
    for atoms, (energy, forces) in zip((images[0], images[-1]), evaluator([band[0], band[-1]])):
        atoms.calc = SinglePointCalculator(atoms, energy=energy, forces=forces)
    neb = _Band(images, evaluator, k=s.spring_eV_A2, climb=False, method="improvedtangent")
    ode = s.min_style in ("auto", "ode")
    how = "ASE's NEB and ODE12r" if ode else f"ASE's NEB and {'FIRE' if s.min_style == 'fire' else 'MDMin'}"
    log = _Log(run_dir / log_name, n, f"harness: the band on one process ({evaluator.name}); {how} move the "
                                      f"images; this table has the columns of LAMMPS' NEB log")
    t0 = time.perf_counter()
    state = {"step": 0, "last_row": -1, "force": np.inf}

    def replica_force() -> float:  # LAMMPS' MaxReplicaForce: the largest 2-norm of an image's NEB force
        f = neb.get_forces().reshape(n - 2, -1)
        return float(np.sqrt((f ** 2).sum(axis=1)).max())

    def observe(final: bool = False) -> None:
        """After each iteration: the log row, band dumps and progress every ``band_every``
        iterations, and the stopping rules."""
        step = state["step"]
        state["force"] = force = replica_force()
        if (step % band_every == 0 or final) and state["last_row"] != step:
            log.row(step, neb, force)
            state["last_row"] = step
        if step % band_every == 0 and not final:
            for i, atoms in enumerate(images, start=1):
                write_frame(run_dir / f"band.{i}.lammpstrj", step, atoms, types, append=step > 0)
            if progress:
                e = np.array([a.get_potential_energy() for a in images])
                print(f"[neb] {'climbing' if neb.climb else 'band'} iteration {step} | max force {force:.4f} eV/Å | "
                      f"barrier {e.max() - e[0]:.4f} eV", file=sys.stderr, flush=True)
            why = hopeless(parse_neb_log(run_dir / log_name)["stages"], n)
            if why:
                raise StopLaunch(why)

    def climbing_image() -> int:
        e = np.array([a.get_potential_energy() for a in images])
        return int(np.argmax(e[1:-1])) + 2

    log.stage()
    if ode:
        observe()
        neb.climb = True
        log.stage(climbing_image())

        class Criterion(NEBOptimizer):  # ODE12r stopping on LAMMPS' criterion
            def get_residual(self, F=None, X=None):
                return replica_force()

        def after_step():
            state["step"] += 1
            observe()

        opt = Criterion(neb, method="ode", logfile=None)
        opt.attach(after_step, interval=1)
        opt.run(fmax=s.ftol_eV_A, steps=s.max_iterations + s.climbing_iterations)
    else:
        minimiser = FIRE if s.min_style == "fire" else MDMin
        for climb, steps in ((False, s.max_iterations), (True, s.climbing_iterations)):
            neb.climb = climb
            if climb:
                log.stage(climbing_image())
            start = state["step"]
            for _ in minimiser(neb, logfile=None, dt=dt).irun(fmax=0.0, steps=steps):  # (our criterion)
                observe()
                if state["force"] <= s.ftol_eV_A or state["step"] - start >= steps:
                    break
                state["step"] += 1
            observe(final=True)
    observe(final=True)
    with open(run_dir / log_name, "a") as fh:  # the image that climbed at the end (ASE's NEB picks the highest)
        fh.write(f"Climbing replica = {climbing_image()}\n")
    step = state["step"]
    for i, atoms in enumerate(images, start=1):
        write_frame(run_dir / f"final.{i}.lammpstrj", step, atoms, types, append=False)
    return {"evaluator": evaluator.name, "optimizer": how, "band_evaluations": neb.calls, "iterations": step,
            "band_s": time.perf_counter() - t0, "converged": bool(state["force"] <= s.ftol_eV_A)}
