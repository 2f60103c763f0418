"""Benchmark: phonon forces through one LAMMPS session vs bare model calls; σ streaming memory.

1. For N displaced supercells (phonopy) of a rattled Pt3Co L1_2 2×2×2 cell (32 atoms, N = 24):
   time of all forces through the harness' ForceSession (one LAMMPS session, bridge engine)
   against N bare energy+forces+stress calls of the same ASE calculator. Target ≤ 1.1.
2. σ^(2) over synthetic LAMMPS dumps of 2,000 and 20,000 frames (32 atoms): wall time and
   peak resident memory in a fresh process each. Target: memory flat in trajectory length.

Usage: python benchmarks/bench_phonons.py [--models mace-16ch,chgnet] --out benchmarks/results-phonons.md
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("HARNESS_ROOT", str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


def bench_forces(name: str, workdir: Path, repeats: int = 3) -> dict:
    from bench_bridge import model_spec

    from harness.analysis.harmonic import DisplacementSettings, to_ase
    from harness.config import load_system
    from harness.models import calculator
    from harness.systems import build_atoms
    from harness.tasks.displacements import FiniteDisplacements

    system = load_system("Pt3Co")
    cell = build_atoms(system.structure, (1, 1, 1))
    # rattled: no symmetry left, so phonopy asks for 4 atoms × 3 directions × ± = 24
    # displaced supercells, enough calls that torch's first-call warm-up does not dominate
    cell.rattle(0.02, seed=1)
    spec = model_spec(name, workdir)
    best_session, best_bare = [], []
    for _ in range(repeats):
        task = FiniteDisplacements(spec, cell, DisplacementSettings(supercell_matrix=np.diag([2, 2, 2]).tolist(),
                                                                    engine="bridge"))
        task.compute_forces()
        best_session.append(task.timings["forces_s"])
        calc = calculator(spec)
        disp = [to_ase(c) for c in task.phonon.supercells_with_displacements]
        warm = disp[0].copy()
        warm.calc = calc
        warm.get_forces()
        t0 = time.perf_counter()
        for atoms in disp:
            atoms.calc = calc
            atoms.get_potential_energy(), atoms.get_forces(), atoms.get_stress()
        best_bare.append(time.perf_counter() - t0)
    n = task.n_displacements
    return {"model": name, "n_displacements": n, "n_atoms": len(task.phonon.supercell),
            "session_s": min(best_session), "bare_s": min(best_bare), "ratio": min(best_session) / min(best_bare)}


def write_dump(path: Path, n_frames: int, n_atoms_side: int = 2, a: float = 3.615, seed: int = 0) -> None:
    """A synthetic fcc Cu trajectory in `dump custom` form: random displacements and forces."""
    from ase.build import bulk

    atoms = bulk("Cu", "fcc", a=a, cubic=True).repeat(n_atoms_side)
    n = len(atoms)
    L = atoms.cell.lengths()
    rng = np.random.default_rng(seed)
    with open(path, "w") as fh:
        for k in range(n_frames):
            u = rng.normal(scale=0.08, size=(n, 3))
            f = rng.normal(scale=0.5, size=(n, 3))
            fh.write(f"ITEM: TIMESTEP\n{10 * k}\nITEM: NUMBER OF ATOMS\n{n}\nITEM: BOX BOUNDS pp pp pp\n")
            fh.write("".join(f"0 {L[i]}\n" for i in range(3)))
            fh.write("ITEM: ATOMS id type xu yu zu vx vy vz fx fy fz\n")
            x = atoms.positions + u
            fh.write("".join(f"{i + 1} 1 {x[i, 0]:.6f} {x[i, 1]:.6f} {x[i, 2]:.6f} 0 0 0 "
                             f"{f[i, 0]:.6f} {f[i, 1]:.6f} {f[i, 2]:.6f}\n" for i in range(n)))


SIGMA_CHILD = r"""
import json, resource, sys, time
import numpy as np
from ase.build import bulk
from harness.analysis.sigma import SigmaAnalysis
from harness.config import load_model
from harness.io.lammps_dump import index_dump, iter_dump
from harness.tasks.sigma import model_force_constants
fc, ref = model_force_constants(load_model("eam"), bulk("Cu", "fcc", a=3.615, cubic=True).repeat(2))
t0 = time.perf_counter()
an = SigmaAnalysis(fc, ref.positions, ref.get_chemical_symbols(), ref.cell)
for frames, symbols in iter_dump(index_dump(sys.argv[1]), ["Cu"], forces=True):  # as sigma_of_run streams
    if an.order is None:
        an.prepare(frames.positions_A[0], symbols)
    for pos, frc in zip(frames.positions_A, frames.forces_eV_A):
        an.single_frame(pos, frc)
res = an.conclude()
print(json.dumps({"frames": res["n_frames"], "seconds": time.perf_counter() - t0,
                  "maxrss_MB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def bench_sigma(workdir: Path) -> list[dict]:
    out = []
    for n in (2000, 20000):
        dump = workdir / f"traj-{n}.lammpstrj"
        write_dump(dump, n)
        proc = subprocess.run([sys.executable, "-c", SIGMA_CHILD, str(dump)], capture_output=True, text=True,
                              env=dict(os.environ))
        if proc.returncode:
            raise RuntimeError(proc.stderr[-2000:])
        out.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="mace-16ch,chgnet")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results-phonons.md")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="harness-bench-") as tmp:
        work = Path(tmp)
        forces = [bench_forces(m, work) for m in args.models.split(",")]
        sigma = bench_sigma(work)
    lines = ["# Phonon-force and σ benchmarks", "",
             f"{time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores. Best of 3 repeats.", "",
             "| model | displacements | atoms | one LAMMPS session (s) | bare calls (s) | session / bare |",
             "|---|---|---|---|---|---|"]
    for r in forces:
        lines.append(f"| {r['model']} | {r['n_displacements']} | {r['n_atoms']} | {r['session_s']:.2f} | "
                     f"{r['bare_s']:.2f} | {r['ratio']:.3f} |")
    lines += ["", "Target: session / bare ≤ 1.1 (forces of all displaced supercells through one LAMMPS "
              "session, bridge engine, vs the same number of bare energy+forces+stress calls).", "",
              "| σ^(2) over a dump of | wall time (s) | peak RSS (MB) |", "|---|---|---|"]
    for s in sigma:
        lines.append(f"| {s['frames']} frames × 32 atoms | {s['seconds']:.1f} | {s['maxrss_MB']:.0f} |")
    lines += ["", "Frames are streamed one at a time through MDAnalysis: memory does not grow with length.", ""]
    args.out.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
