"""Benchmark: analysis of a Dyna-Mat-size trajectory (20,000 frames × 256 atoms).

Times `harness.analysis.md.analyze_md` (RDF, VDOS, MSD, pressure) on a synthetic LAMMPS dump
and MDAnalysis' InterRDF run the default way on the same file, each in a fresh process with
its peak resident memory. Issue #3 target: all observables in ≤ 60 s, memory flat in length.
Lengths above the VACF/MSD lag window (MAX_LAG_FRAMES) must show the same peak memory.

Also `harness compare` of a run against an extxyz reference of the same length (the reference
written from the run's own frames, so every error is ~0).

Usage: python benchmarks/bench_analysis.py [--frames 2000 10000 20000] [--interrdf 20000]
       [--compare 20000] [--out benchmarks/results-analysis.md]
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


def write_run(folder: Path, n_frames: int, reps: int = 4, a: float = 3.615) -> None:
    """A harness-like run folder: traj.lammpstrj (fcc Cu, 4×4×4 = 256 atoms) and thermo.dat."""
    from ase.build import bulk

    atoms = bulk("Cu", "fcc", a=a, cubic=True).repeat(reps)
    n, L = len(atoms), atoms.cell.lengths()
    rng = np.random.default_rng(0)
    head = f"ITEM: NUMBER OF ATOMS\n{n}\nITEM: BOX BOUNDS pp pp pp\n" + "".join(f"0 {x}\n" for x in L)
    head += "ITEM: ATOMS id type xu yu zu vx vy vz fx fy fz\n"
    ids = np.arange(1, n + 1)[:, None]
    with open(folder / "traj.lammpstrj", "w") as fh:
        for k in range(n_frames):
            x = atoms.positions + rng.normal(scale=0.1, size=(n, 3))
            v = rng.normal(scale=5.0, size=(n, 3))
            f = rng.normal(scale=0.5, size=(n, 3))
            fh.write(f"ITEM: TIMESTEP\n{10 * k}\n{head}")
            np.savetxt(fh, np.hstack([ids, np.ones((n, 1)), x, v, f]),
                       fmt="%d %d %.6f %.6f %.6f %.5f %.5f %.5f %.5f %.5f %.5f")
    with open(folder / "thermo.dat", "w") as fh:
        fh.write("# Time-averaged data for fix thermo_out\n# TimeStep c_thermo_temp c_thermo_pe c_ke c_thermo_press "
                 "c_thermo_press[1] c_thermo_press[2] c_thermo_press[3] c_thermo_press[4] c_thermo_press[5] "
                 "c_thermo_press[6] v_vol\n")
        p = rng.normal(1e4, 1e3, size=n_frames)
        for k in range(n_frames):
            fh.write(f"{10 * k} 300 -900 10 {p[k]} {p[k]} {p[k]} {p[k]} 0 0 0 {np.prod(L)}\n")


HARNESS = (r"""
import json, resource, sys, time
from harness.analysis.md import analyze_md
t = time.perf_counter()
r = analyze_md(sys.argv[1], elements=["Cu"], timestep_fs=1.0, dump_every=10, thermo_every=10, temperature_K=300)
print(json.dumps({"seconds": time.perf_counter() - t, "maxrss_MB": """
           r"""resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "frames": r.get("n_frames"), "skipped": [k for k in ("rdf", "vdos", "msd") """
           r"""if "skipped" in r.get(k, {})]}))
""")

INTERRDF = (r"""
import json, resource, sys, time, warnings
import MDAnalysis as mda
from MDAnalysis.analysis.rdf import InterRDF
warnings.simplefilter("ignore")
t = time.perf_counter()
u = mda.Universe(sys.argv[1] + "/traj.lammpstrj", format="LAMMPSDUMP", topology_format="LAMMPSDUMP",
                 lammps_coordinate_convention="unwrapped", dt=0.001)
InterRDF(u.atoms, u.atoms, nbins=500, range=(0.0, u.dimensions[:3].min() / 2), exclusion_block=(1, 1)).run()
print(json.dumps({"seconds": time.perf_counter() - t, "maxrss_MB": """
            r"""resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
""")


COMPARE_RUN = (r"""
import json, resource, sys, time
from pathlib import Path
from harness.config import CompareSettings
from harness.tasks.compare import compare_run
folder = Path(sys.argv[1])
t = time.perf_counter()
_, doc = compare_run(CompareSettings(run=str(folder), reference=str(folder / "ref.extxyz")), figures=False)
print(json.dumps({"seconds": time.perf_counter() - t, "maxrss_MB": """
               r"""resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "E_RDF": doc["errors"]["E_RDF_percent"], "E_VDOS": doc["errors"]["E_VDOS_percent"]}))
""")

READ_REF = (r"""
import json, resource, sys, time
from pathlib import Path
from harness.io.trajectory import read_trajectory
t = time.perf_counter()
read_trajectory(Path(sys.argv[1]) / "ref.extxyz")
print(json.dumps({"seconds": time.perf_counter() - t, "maxrss_MB": """
            r"""resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
""")


def as_compare_pair(folder: Path, n_atoms: int, temperature_K: float) -> None:
    """Make the synthetic run folder a completed MD run and write its frames as an extxyz reference."""
    from harness.io.trajectory import read_trajectory, write_extxyz

    summary = {"task": "md", "status": "completed", "run_name": folder.name,
               "resolved": {"protocol": {"timestep_fs": 1.0, "dump_every": 10, "thermo_every": 10,
                                         "equilibration_ps": 0.0},
                            "temperature_K": temperature_K, "system": {"name": "Cu"}},
               "structure": {"elements_type_order": ["Cu"], "n_atoms": n_atoms},
               "model": {"label": "synthetic", "sha256": None}, "engine": {"name": "classic"}, "timings": {}}
    (folder / "summary.json").write_text(json.dumps(summary))
    write_extxyz(folder / "ref.extxyz", read_trajectory(folder / "traj.lammpstrj", "lammps-dump"))


def child(code: str, folder: Path) -> dict:
    proc = subprocess.run([sys.executable, "-c", code, str(folder)], capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(proc.stderr[-2000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, nargs="+", default=[2000, 10000, 20000])
    ap.add_argument("--interrdf", type=int, nargs="*", default=[20000], help="lengths also timed with InterRDF")
    ap.add_argument("--compare", type=int, nargs="*", default=[20000], help="lengths also timed with harness compare")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results-analysis.md")
    ap.add_argument("--make-pair", type=Path, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.make_pair:
        as_compare_pair(args.make_pair, 256, 1917.0)
        return
    rows, compare_rows = [], []
    with tempfile.TemporaryDirectory(prefix="harness-bench-") as tmp:
        for n in args.frames:
            folder = Path(tmp) / f"run-{n}"
            folder.mkdir()
            t = time.perf_counter()
            write_run(folder, n)
            print(f"[bench] wrote {n} frames in {time.perf_counter() - t:.0f} s", file=sys.stderr, flush=True)
            h = child(HARNESS, folder)
            m = child(INTERRDF, folder) if n in args.interrdf else None
            rows.append((n, h, m))
            print(f"[bench] {n}: harness {h}, InterRDF {m}", file=sys.stderr, flush=True)
            if n in args.compare:
                t = time.perf_counter()
                # the synthetic velocities (5 Å/ps per component) are a 1917 K gas for Cu: state it, so the
                # equipartition check passes
                # in a child: ru_maxrss survives fork+exec, so a parent grown by this would inflate the
                # children's peaks
                subprocess.run([sys.executable, __file__, "--make-pair", str(folder)], check=True)
                print(f"[bench] wrote the extxyz reference in {time.perf_counter() - t:.0f} s", file=sys.stderr,
                      flush=True)
                c, r = child(COMPARE_RUN, folder), child(READ_REF, folder)
                compare_rows.append((n, (folder / "ref.extxyz").stat().st_size / 1e6, c, r))
                print(f"[bench] {n}: compare {c}, read {r}", file=sys.stderr, flush=True)
            for f in ("traj.lammpstrj", "ref.extxyz"):
                (folder / f).unlink(missing_ok=True)
    lines = ["# Analysis benchmark", "", f"{time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores; synthetic fcc Cu dump, "
             "256 atoms, positions/velocities/forces; each measurement in a fresh process.", "",
             "| frames | harness analyze_md: RDF+VDOS+MSD+pressure (s) | peak RSS (MB) "
             "| MDAnalysis InterRDF default (s) | peak RSS (MB) | time ratio harness/InterRDF |",
             "|---|---|---|---|---|---|"]
    for n, h, m in rows:
        mda = f"{m['seconds']:.1f} | {m['maxrss_MB']:.0f} | {h['seconds'] / m['seconds']:.2f}" if m else "– | – | –"
        lines.append(f"| {n} | {h['seconds']:.1f} | {h['maxrss_MB']:.0f} | {mda} |")
    from harness.analysis.stream import BLOCK_FRAMES, MAX_LAG_FRAMES

    lines += ["", f"Issue #3 target: ≤ 60 s for 20,000 frames and memory that does not grow with length "
              f"(the VACF/MSD lag window is {MAX_LAG_FRAMES} frames, parsed in blocks of at most {BLOCK_FRAMES}: "
              f"beyond the window the memory stays the same).", ""]
    if compare_rows:
        lines += ["`harness compare` of the run against its own frames written as an extxyz reference "
                  "(every error ~0):", "",
                  "| frames | extxyz (MB) | compare (s) | peak RSS (MB) | of which reading the reference (s) "
                  "| its peak RSS (MB) | E_RDF % | E_VDOS % |",
                  "|---|---|---|---|---|---|---|---|"]
        for n, mb, c, r in compare_rows:
            lines.append(f"| {n} | {mb:.0f} | {c['seconds']:.1f} | {c['maxrss_MB']:.0f} | {r['seconds']:.1f} | "
                         f"{r['maxrss_MB']:.0f} | {c['E_RDF']:.2g} | {c['E_VDOS']:.2g} |")
        lines.append("")
    args.out.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
