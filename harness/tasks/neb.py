"""Migration barriers: climbing-image NEB in LAMMPS, one partition per image, any engine.

render writes the endpoints (built for a hop, or the user's), the relaxation decks and the NEB
deck (``templates/relax.in.j2``, ``templates/neb.in.j2``); execute relaxes both endpoints with
the model (positions, cell fixed, on the force tolerance), interpolates the band (linear or
IDPP) and runs the NEB through the launch seam: ``mpiexec -n R`` with ``-partition Rx1``, each
rank one image (the bridge engine: each rank holds its own copy of the model); collect parses
the universe log (replica energies, reaction coordinate, forces per iteration:
:func:`harness.analysis.neb.parse_neb_log`), writes the final images and the report card
(:func:`harness.analysis.neb.report_card`); :mod:`harness.report.neb` draws the profile and
tabulates barriers across models.

An NEB cut short (walltime, kill) continues with ``--resume`` from the band dumped every
``band_every`` iterations, not from the interpolation.
"""

from __future__ import annotations

import ctypes
import sys
import time
from pathlib import Path

import numpy as np
from ase import Atoms

from .. import __version__
from ..analysis.neb import (
    compare_profile,
    hopeless,
    last_common_band,
    parse_neb_log,
    profile_of,
    reaction_coordinate,
    read_images,
    report_card,
    split_hops,
)
from ..config import NEBSettings
from ..engines import ENGINES, choose
from ..errors import ConfigError, IncompleteResultsError, SimulationError, StructureError
from ..files import write_json, write_text
from ..lammps.launch import StopLaunch
from ..lammps.probe import Capabilities, probe
from ..lammps.render import render
from ..lammps.session import Session
from ..runs import load_run
from . import neb_band
from .base import Task, register
from .neb_band import LOG, SAME_STATE_A, SEGMENTS

DECK = "neb.in.lammps"
RELAXED = {"initial": "relaxed_initial.data", "final": "relaxed_final.data"}
BAND_EVERY = 10
# the push after an endpoint's relaxation (Å, per component) and the energy it must not lower
PUSH_A, PUSH_SEED, PUSH_TOL_EV, MAX_PUSHES = 0.02, 2027, 1e-4, 4


def write_coords(path: Path, positions: np.ndarray) -> None:
    """An NEB ``each`` file: the atom count, then ``id x y z`` (Å) per atom."""
    lines = [str(len(positions))] + [f"{i + 1} {x:.12g} {y:.12g} {z:.12g}" for i, (x, y, z) in enumerate(positions)]
    write_text(path, "\n".join(lines) + "\n")


def interpolate(initial: Atoms, final: Atoms, n_images: int, method: str) -> list[np.ndarray]:
    """Positions of the whole band (endpoints included): linear (minimum image) or IDPP (ASE)."""
    from ase.mep import NEB

    band = [initial.copy() for _ in range(n_images - 1)] + [final.copy()]
    neb = NEB(band, method="improvedtangent")  # the method only matters for ASE's own NEB forces
    neb.interpolate(method=method, mic=True) if method == "idpp" else neb.interpolate(mic=True)
    return [np.array(a.positions) for a in band]


def fire_timestep_fs(lightest_amu: float) -> float:
    """The FIRE time step that moves the lightest atom as far per step as ASE's FIRE does.

    ASE's FIRE sets every mass to 1 amu and steps dt = 0.1 ASE time units (1.018 fs); LAMMPS'
    ``min_style fire`` uses the real masses, so its displacement per step is ASE's for
    dt·sqrt(m / 1 amu): 8.1 fs for Cu, 1.0 fs for H. (1 fs, the MD step, took twice the
    iterations of ASE's NEB on the Cu vacancy hop; LAMMPS' ``dmax`` still caps a step at 0.1 Å.)
    """
    from ase import units

    return round(0.1 / units.fs * float(np.sqrt(lightest_amu)), 2)


@register
class NEBTask(Task):
    """``harness neb``: the climbing-image NEB barrier of one hop with one model."""

    name = "neb"
    settings_class = NEBSettings
    templates = ("neb.in.j2", "relax.in.j2", "pair/bridge.j2", "pair/mliap.j2", "pair/classic.j2")
    collects_on_execute = True

    def __init__(self, settings: NEBSettings, *, render_only: bool = False, caps: Capabilities | None = None,
                 endpoints_from: Path | None = None):
        from ..models import for_elements, with_precision
        from ..models.metadata import model_info
        from ..systems import check_atoms, species_order, unit_cell

        super().__init__(settings)
        s = settings
        self.hop = None
        if endpoints_from is not None:  # a rendered folder: its own endpoints, as rendered
            initial, final = self._read_endpoints(Path(endpoints_from) / "initial.extxyz",
                                                  Path(endpoints_from) / "final.extxyz")
        elif s.hop is not None:
            from ..config.neb import parse_hop
            from ..defects import build_hop

            unit = unit_cell(s.system.structure)
            elements = list(dict.fromkeys(unit.get_chemical_symbols() + [parse_hop(s.hop)[1] or unit[0].symbol]))
            cutoff = model_info(for_elements(s.model, elements)).cutoff_A
            if cutoff is None and s.supercell is None:
                raise ConfigError(f"model {s.model.name} states no cutoff: give the supercell (--supercell)")
            self.hop = build_hop(unit, s.hop, cutoff or 0.0, s.supercell)
            initial, final = self.hop.initial, self.hop.final
        else:
            initial, final = self._read_endpoints(Path(s.initial), Path(s.final))
        for atoms in (initial, final):
            check_atoms(atoms, s.model)
        self.initial, self.final = initial, final
        self.elements = species_order(initial)
        self.timestep_fs = s.timestep_fs or fire_timestep_fs(initial.get_masses().min())
        model, self.precision = with_precision(s.model, "NEB")
        self.model = for_elements(model, self.elements)
        self.caps = caps or probe()
        self.choice = choose(s.engine, self.model, self.caps, render_only=render_only)
        self.engine = ENGINES[self.choice.name]
        self.engine.check(self.model, self.elements)  # (before any folder exists)
        self.max_ranks = self.engine.max_ranks_per_replica

    @staticmethod
    def _read_endpoints(a: Path, b: Path) -> tuple[Atoms, Atoms]:
        from ..io.structures import read_structure

        initial, final = read_structure(a, "--initial"), read_structure(b, "--final")
        if len(initial) != len(final):
            raise StructureError(f"the endpoints differ in atom count: {a.name} has {len(initial)}, {b.name} "
                                 f"{len(final)}")
        if initial.get_chemical_symbols() != final.get_chemical_symbols():
            raise StructureError(f"the endpoints differ in species order ({a.name}, {b.name}): atom k must be the "
                                 f"same element in both")
        if not np.allclose(initial.cell, final.cell, atol=1e-6):
            raise StructureError(f"the endpoints have different cells ({a.name}, {b.name}); NEB keeps one cell")
        for atoms in (initial, final):
            atoms.pbc = True
        return initial, final

    @classmethod
    def from_request(cls, request: dict, run_dir: Path | None = None, **kwargs) -> NEBTask:
        return cls(cls.settings_class.from_request(request), endpoints_from=run_dir, **kwargs)

    @property
    def model_spec(self):
        return self.model

    @property
    def n_images(self) -> int:
        return self.settings.images

    replicas = n_images  # a job gets one rank (one GPU) per image

    @classmethod
    def metrics(cls, results: dict) -> dict:
        return {"barrier_eV": results["band"]["barrier_eV"]}

    def evaluator(self) -> tuple[str, str]:
        """How the band's images are evaluated here (``partitions`` or ``serial``), and why."""
        import os

        asked = self.settings.evaluator
        if asked != "auto":
            return asked, "asked for"
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        if cores < self.n_images:
            return "serial", f"auto: {cores} cores for {self.n_images} images (partitions would share them)"
        return "partitions", f"auto: {cores} cores for {self.n_images} images, one partition each"

    def launcher_for(self, ranks: int = 1):
        """One partition per image, ``ranks`` ranks each (1 for the bridge engine); this process
        when the band is evaluated serially."""
        from ..lammps.launch import InProcess, Mpiexec

        if self.evaluator()[0] == "serial":
            return InProcess()
        return Mpiexec(self.n_images * ranks, partitions=self.n_images)

    # ------------------------------------------------------------------ render
    def context(self) -> dict:
        s = self.settings
        what = (f"a {self.hop.kind} hop of {self.hop.element} in {s.system.name}" if self.hop
                else f"{Path(s.initial).name} -> {Path(s.final).name}")
        return {"run_name": self.run_name, "harness_version": __version__, "what": what, "model": self.model.label,
                "engine": self.choice.name, "elements": self.elements, "neighbor_skin_A": 1.0,
                **self.engine.context(self.model, self.elements)}

    def render(self, run_dir: Path, *, staged: dict | None = None, **_) -> dict:
        from ase.io import write

        s, run_dir = self.settings, Path(run_dir)
        for which, atoms in (("initial", self.initial), ("final", self.final)):
            self.write_data(run_dir / f"{which}.data", atoms)
            write(run_dir / f"{which}.extxyz", atoms, format="extxyz")
        self.engine.stage(self.model, self.elements, run_dir)
        ctx = self.context()
        for which in ("initial", "final"):
            self.render_relax(run_dir, which, f"the {which} state of {ctx['what']}", f"{which}.data",
                               RELAXED[which])
        write_text(run_dir / DECK, render(
            "neb.in.j2", **ctx, images=self.n_images, image_numbers=list(range(1, self.n_images + 1)),
            data_file=RELAXED["initial"], spring_eV_A2=s.spring_eV_A2,
            min_style=s.min_style if s.min_style in ("fire", "quickmin") else "fire",
            timestep_ps=self.timestep_fs / 1000.0, ftol_eV_A=s.ftol_eV_A, n1=s.max_iterations,
            n2=s.climbing_iterations, nevery=BAND_EVERY, band_every=BAND_EVERY))
        from .frames import model_entry

        return {
            "engine": {"name": self.choice.name, "reason": self.choice.reason},
            "model": {**model_entry(self.model), "precision": self.precision},
            "hop": self.hop.describe() if self.hop else {"initial": s.initial, "final": s.final},
            "structure": {"n_atoms": len(self.initial), "elements_type_order": self.elements,
                          "cell_A": np.asarray(self.initial.cell).tolist()},
            "neb": {"images": self.n_images, "partitions": self.n_images, "interpolation": s.interpolation,
                    "spring_eV_A2": s.spring_eV_A2, "ftol_eV_A": s.ftol_eV_A, "min_style": s.min_style,
                    "timestep_fs": self.timestep_fs,
                    "timestep_from": "given" if s.timestep_fs else "ASE's FIRE step for the lightest element",
                    "max_iterations": s.max_iterations,
                    "climbing_iterations": s.climbing_iterations, "relax_ftol_eV_A": s.relax_ftol_eV_A},
            "units": {"energy": "eV", "length": "Å", "force": "eV/Å"},
            "lammps": {"version": self.caps.version},
        }

    def render_relax(self, run_dir: Path, which: str, what: str, data_file: str, out_file: str) -> None:
        """The decks that relax ``data_file`` into ``out_file`` at fixed cell (``relax_<which>``)."""
        ctx = self.context()
        relax = {**ctx, "what": what, "data_file": data_file, "out_file": out_file,
                 "ftol_eV_A": self.settings.relax_ftol_eV_A, "relax_style": "cg", "maxiter": 10000,
                 "maxeval": 100000, "thermo_every": 100, "push_A": PUSH_A}
        write_text(run_dir / f"relax_{which}.in.lammps", render("relax.in.j2", **relax, again=False))
        write_text(run_dir / f"relax_{which}.again.in.lammps", render("relax.in.j2", **relax, again=True))

    # ------------------------------------------------------------------ execute
    def can_resume(self, run_dir: Path) -> bool:
        return all((Path(run_dir) / f"band.{i}.lammpstrj").is_file() for i in range(1, self.n_images + 1)) \
            and all((Path(run_dir) / f).is_file() for f in RELAXED.values())

    def execute(self, run_dir: Path, launcher, *, resume: bool = False, progress: bool = True) -> dict:
        from ..lammps.launch import InProcess

        run_dir = Path(run_dir)
        t0 = time.perf_counter()
        out: dict = {"engine": {"name": self.choice.name, "reason": self.choice.reason}}
        if resume and self.can_resume(run_dir):
            band, step = self._last_band(run_dir)
            segments = neb_band.segments(run_dir)
            offset = neb_band.offset(segments)
            if (run_dir / LOG).is_file():  # its history stays: the log moves aside, iterations count on
                name = f"log.neb.segment{len(segments) + 1}.lammps"
                (run_dir / LOG).replace(run_dir / name)
                segments.append({"log": name, "first_iteration": offset, "resumed_from": step})
                write_json(run_dir / SEGMENTS, segments)
            print(f"[neb] resuming {run_dir.name} from the band of iteration {offset + step}", file=sys.stderr)
            out["resumed_from_iteration"] = offset + step
        else:
            relaxed = {}
            for which in ("initial", "final"):
                relaxed[which] = InProcess().run(self, run_dir, {"kind": "relax", "which": which})
                if progress:
                    r = relaxed[which]
                    saddle = sum(p for p in r["push_lowered_eV"] if p > PUSH_TOL_EV)
                    note = f"; a push lowered it by {saddle:.4f} eV (it was a saddle)" if saddle else ""
                    print(f"[neb] {which} state relaxed: E = {r['energy_eV']:.6f} eV, max force "
                          f"{r['max_force_eV_A']:.2e} eV/Å ({r['iterations']} iterations){note}", file=sys.stderr)
            out["endpoints"] = relaxed
            initial, final = self.relaxed_atoms(run_dir)
            from ase.geometry import find_mic

            d, lengths = find_mic(final.positions - initial.positions, initial.cell, pbc=True)
            if lengths.max() < SAME_STATE_A:
                raise StructureError(f"the endpoints relaxed into the same state (largest atom displacement "
                                     f"{lengths.max():.3f} Å < {SAME_STATE_A} Å): there is no hop between them")
            band = interpolate(initial, final, self.n_images, self.settings.interpolation)
        for i, positions in enumerate(band, start=1):
            write_coords(run_dir / f"image.{i}.coords", positions)
        t1 = time.perf_counter()
        out["stopped_early"] = None
        how, why = self.evaluator()
        if how == "partitions" and self.settings.min_style == "ode":
            raise ConfigError(f"--min-style ode is ASE's ODE12r for the band on one process, and this band runs on "
                              f"partitions ({why}): use --evaluator serial or another min style")
        out["evaluator"] = {"name": how, "reason": why}
        if progress:
            print(f"[neb] band evaluator: {how} ({why})", file=sys.stderr)
        try:
            if how == "serial":
                from .neb_serial import evaluator_for, run_band

                evaluate = evaluator_for(self, run_dir)
                # the minimiser's step in ASE's units: 0.1 (ASE's FIRE default) for the default --timestep
                dt = 0.1 * self.timestep_fs / fire_timestep_fs(self.initial.get_masses().min())
                try:
                    out["evaluator"].update(run_band(self, run_dir, band, evaluate, progress=progress, log_name=LOG,
                                                     band_every=BAND_EVERY, dt=dt))
                finally:
                    evaluate.close()
            else:
                launcher.run(self, run_dir, {"kind": "neb"}, monitor=self._monitor(run_dir, progress))
        except StopLaunch as stop:
            out["stopped_early"] = str(stop)
            print(f"[neb] stopped early: {stop}", file=sys.stderr)
        t2 = time.perf_counter()
        out["interior_states"] = neb_band.interior_states(self, run_dir, progress) if self._converged(run_dir) else []
        out["timings"] = {"endpoints_s": t1 - t0, "neb_s": t2 - t1, "interior_s": time.perf_counter() - t2,
                          "wall_s": time.perf_counter() - t0, "ranks": launcher.ranks,
                          "partitions": launcher.partitions}
        return out

    def _converged(self, run_dir: Path) -> bool:
        """The band's last logged row is below the force tolerance (LAMMPS' criterion)."""
        log = parse_neb_log(Path(run_dir) / LOG)
        rows = log["stages"][-1] if log["stages"] else []
        return bool(rows) and rows[-1]["MaxReplicaForce"] <= self.settings.ftol_eV_A * (1 + 1e-9)

    def write_data(self, path: Path, atoms: Atoms) -> None:
        """A LAMMPS data file of ``atoms`` in this task's type order (metal units)."""
        from ase.io import write

        write(path, atoms, format="lammps-data", specorder=self.elements, masses=True, units="metal",
              atom_style="atomic")

    def read_data(self, path: Path) -> Atoms:
        """Periodic atoms from a LAMMPS data file in this task's type order."""
        from ase.data import atomic_numbers
        from ase.io import read

        atoms = read(path, format="lammps-data", atom_style="atomic",
                     Z_of_type={i + 1: atomic_numbers[e] for i, e in enumerate(self.elements)})
        atoms.pbc = True
        return atoms

    def relaxed_atoms(self, run_dir: Path) -> tuple[Atoms, Atoms]:
        return self.read_data(run_dir / RELAXED["initial"]), self.read_data(run_dir / RELAXED["final"])

    def _last_band(self, run_dir: Path) -> tuple[list[np.ndarray], int]:
        """Positions of every image at the last iteration all band dumps have."""
        return last_common_band([run_dir / f"band.{i}.lammpstrj" for i in range(1, self.n_images + 1)], self.elements)

    def _monitor(self, run_dir: Path, progress: bool = True):
        """Called while the band runs: a progress line from the universe log (iteration, largest
        NEB force, current barrier), and :class:`StopLaunch` when the band cannot end in one
        barrier (:func:`~harness.analysis.neb.hopeless`)."""
        state = {"last": None}
        n = self.n_images

        def report():
            log = parse_neb_log(run_dir / LOG)
            if not log["stages"] or not log["stages"][-1]:
                return
            row = log["stages"][-1][-1]
            if row["Step"] == state["last"]:
                return
            state["last"] = row["Step"]
            if progress:
                _, pe = profile_of(row, n)
                stage = "climbing" if len(log["stages"]) > 1 else "band"
                print(f"[neb] {stage} iteration {int(row['Step'])} | max force {row['MaxReplicaForce']:.4f} eV/Å | "
                      f"barrier {pe.max() - pe[0]:.4f} eV", file=sys.stderr, flush=True)
            why = hopeless(log["stages"], n)
            if why:
                raise StopLaunch(why)

        return report

    def lammps(self, run_dir: Path, step: dict, ranks) -> dict:
        run_dir = Path(run_dir)
        if step["kind"] == "relax":
            which = step["which"]
            session = Session(run_dir, log=f"log.relax_{which}.lammps")
            try:
                self.engine.attach(session, self.model, self.initial.get_chemical_symbols(), run_dir, self.caps)
                session.execute((run_dir / f"relax_{which}.in.lammps").read_text())
                out = self._relaxed_state(session)
                # a push and the same minimisation again: a lower energy means the first one
                # stopped on a saddle point (forces vanish there by symmetry); repeat until not
                rng = np.random.default_rng(PUSH_SEED)
                pushes = []
                for _ in range(MAX_PUSHES):
                    x = np.ctypeslib.as_array(session.lmp.gather_atoms("x", 1, 3)).reshape(-1, 3)
                    x = x + rng.normal(scale=PUSH_A, size=x.shape)
                    session.lmp.scatter_atoms("x", 1, 3, (ctypes.c_double * x.size)(*x.ravel()))
                    session.execute((run_dir / f"relax_{which}.again.in.lammps").read_text())
                    again = self._relaxed_state(session)
                    pushes.append(out["energy_eV"] - again["energy_eV"])
                    lowered = again["energy_eV"] < out["energy_eV"] - PUSH_TOL_EV
                    out = {**again, "iterations": out["iterations"] + again["iterations"]}
                    if not lowered:
                        break
                out["push_lowered_eV"] = pushes
            finally:
                session.close()
            if out["max_force_eV_A"] > self.settings.relax_ftol_eV_A * (1 + 1e-6):
                raise SimulationError(f"the {which} state did not relax to a max force ≤ "
                                      f"{self.settings.relax_ftol_eV_A:g} eV/Å (stopped at {out['max_force_eV_A']:.3g} "
                                      f"eV/Å after {out['iterations']} iterations): not a minimum to start an NEB from")
            return out
        session = Session(run_dir, log=LOG, extra_args=tuple(ranks.lammps_args(run_dir)))
        try:
            self.engine.attach(session, self.model, self.initial.get_chemical_symbols(), run_dir, self.caps)
            session.execute((run_dir / DECK).read_text())
        finally:
            session.close()
        return {"partition": ranks.partition}

    # ------------------------------------------------------------------ collect
    @staticmethod
    def _relaxed_state(session) -> dict:
        lmp = session.lmp
        f = np.ctypeslib.as_array(lmp.gather_atoms("f", 1, 3)).reshape(-1, 3)
        return {"energy_eV": float(lmp.get_thermo("pe")), "max_force_eV_A": float(np.linalg.norm(f, axis=1).max()),
                "iterations": int(lmp.get_thermo("step"))}

    def _band_images(self, run_dir: Path, band: list[np.ndarray], energies_eV: np.ndarray) -> list[Atoms]:
        """Images of a band that stopped early (positions from :meth:`_last_band`)."""
        from ase.calculators.singlepoint import SinglePointCalculator

        out = []
        for i, positions in enumerate(band, start=1):
            atoms = self.initial.copy()
            atoms.positions = positions
            atoms.calc = SinglePointCalculator(atoms, energy=float(energies_eV[i - 1]))
            atoms.info["image"] = i
            out.append(atoms)
        return out

    def final_images(self, run_dir: Path, energies_eV: np.ndarray) -> list[Atoms]:
        """The converged band's images with their energies (eV)."""
        return read_images([run_dir / f"final.{i}.lammpstrj" for i in range(1, self.n_images + 1)], self.elements,
                           energies_eV)

    def collect(self, run_dir: Path, *, progress: bool = True, **_) -> dict:
        from ase.io import read, write

        from ..report.neb import plot_profile

        s, run_dir, n = self.settings, Path(run_dir), self.n_images
        log = parse_neb_log(run_dir / LOG)
        if not log["stages"] or not log["stages"][-1]:
            raise SimulationError(f"{run_dir / LOG}: no NEB table (did the NEB run?)")
        summary = load_run(run_dir).summary
        stopped = summary.get("stopped_early")
        last = log["stages"][-1][-1]
        if stopped:  # the last band all images dumped, with the energies the log gave for it
            band, step = self._last_band(run_dir)
            last = next((r for stage in log["stages"] for r in stage if int(r["Step"]) == step), last)
        rc_log, pe = profile_of(last, n)
        climbing = len(log["stages"]) > 1 and log["climbing_image"] is not None
        converged = last["MaxReplicaForce"] <= s.ftol_eV_A * (1 + 1e-9) and not stopped
        images = self.final_images(run_dir, pe) if not stopped else self._band_images(run_dir, band, pe)
        positions = np.array([a.positions for a in images])
        history = neb_band.history(run_dir, log)
        card = report_card(pe, positions, np.asarray(images[0].cell), converged=converged and climbing,
                           climbing=climbing, max_force_eV_A=last["MaxReplicaForce"], ftol_eV_A=s.ftol_eV_A,
                           iterations=int(last["Step"]) + neb_band.offset(neb_band.segments(run_dir)))
        card["reaction_coordinate_lammps"] = rc_log
        card["climbing_image"] = log["climbing_image"]
        if stopped:
            card["status"] = f"stopped early at iteration {card['iterations']}: {stopped}; no barrier is quoted"
            card["stopped_early"] = stopped
        interior = summary.get("interior_states") or []
        card["interior_states"] = interior
        own_states = [e for e in interior if e.get("state_of_its_own")]
        own = [e["at"] if e.get("at") is not None else e["image"] for e in own_states]
        if own:
            hops = split_hops(pe - pe[0], own, log["climbing_image"],
                              {e["at"]: e["relaxed_energy_eV"] for e in own_states if e.get("image") is None})
            card["hops"] = hops
            card["barrier_eV"], card["quoted"] = None, None
            listed = "; ".join(f"{h['from_image']}→{h['to_image']}: " +
                               (f"{h['barrier_eV']:.4f} eV ({h['note']})" if h["barrier_eV"] is not None
                                else h["note"]) for h in hops)
            where = ", ".join(f"image {int(x)}" if float(x).is_integer() else f"the point {x:.2f}" for x in own)
            many = len(own) > 1
            card["status"] = (f"several hops in one band: {where} relax{'' if many else 'es'} into "
                              f"{'states' if many else 'a state'} of {'their' if many else 'its'} own, "
                              f"apart from the endpoints; hops {listed}; no single barrier is quoted")
        doc = {"task": "neb", "run_name": self.run_name, "model": self.model.label, "engine": self.choice.name,
               "hop": load_run(run_dir).summary.get("hop"), "images": n,
               "absolute_energies_eV": pe, "band": card, "convergence": history,
               "units": {"energy": "eV", "force": "eV/Å", "distance": "Å"},
               "definitions": {"forward_barrier_eV": "E_max − E_initial", "backward_barrier_eV": "E_max − E_final",
                               "kra_barrier_eV": "E_saddle − (E_initial + E_final)/2",
                               "reaction_coordinate": "cumulative image distance (minimum image), normalised"}}
        reference = None
        if s.reference is not None:
            ref = read(s.reference, index=":")
            e_ref = np.array([a.get_potential_energy() for a in ref])
            rc_ref = reaction_coordinate(np.array([a.positions for a in ref]), np.asarray(ref[0].cell))
            reference = compare_profile(card["reaction_coordinate"], pe, rc_ref, e_ref)
            reference["file"] = s.reference
            doc["reference"] = reference
        if s.reference_barrier_eV is not None:
            doc.setdefault("reference", {})["reference_forward_barrier_eV"] = s.reference_barrier_eV
            doc["reference"]["forward_barrier_error_eV"] = (card["barrier_eV"] - s.reference_barrier_eV
                                                            if card["barrier_eV"] is not None else None)
        write(run_dir / "images.extxyz", images, format="extxyz")
        write(run_dir / "saddle.extxyz", images[card["saddle_image"] - 1], format="extxyz")
        (run_dir / "figures").mkdir(exist_ok=True)
        plot_profile(card, run_dir / "figures" / "neb.png", title=f"{self.run_name}",
                     reference=doc.get("reference"))
        doc["files"] = {"images": "images.extxyz", "saddle": "saddle.extxyz", "figure": "figures/neb.png"}
        doc["headline"] = self.headline(doc)
        write_json(run_dir / "results.json", doc)
        return doc

    def headline(self, doc: dict) -> list[str]:
        from ..report.neb import neb_headline

        return neb_headline(doc)

    def check_results(self, results: dict) -> None:
        if results["band"]["barrier_eV"] is None:
            raise IncompleteResultsError(f"no barrier: {results['band']['status']} (results.json has the band)")
