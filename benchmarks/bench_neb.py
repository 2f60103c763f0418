"""NEB benchmark: the harness's LAMMPS NEB (one MPI partition per image) against ASE's NEB driving
the same calculator on the same images to the same force tolerance.

For EAM through the classic engine and through the bridge, and a small untrained MACE through
the bridge (every rank holds its own copy of the model), and each number of images R: the wall
time of the NEB stage of ``harness neb`` (endpoint relaxation and interpolation excluded, the
same start for both), ASE's FIRE on ``ase.mep.NEB`` (climbing image, improved tangent) from the
harness's relaxed endpoints and the same IDPP band to the same force tolerance, the two
barriers, and the largest resident memory of any process of the run (the bridge holds R copies
of the model, one per rank).

    python benchmarks/bench_neb.py --out benchmarks/results-neb.md
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def harness_neb(model: str, engine: str, images: int, runs: Path, tag: str, ftol: float) -> tuple[Path, dict]:
    from harness._env import user_environment

    # the environment as the user set it: importing the harness here set OMP_NUM_THREADS for this
    # process, which the ranks must not inherit (they split the cores between them)
    env = dict(user_environment(), HARNESS_ROOT=str(ROOT))
    cmd = [sys.executable, "-m", "harness", "neb", "--system", "Cu", "--hop", "vacancy", "--model", model,
           "--engine", engine, "--images", str(images), "--ftol", str(ftol), "--runs-dir", str(runs), "--tag", tag,
           "--no-progress"]
    # a fresh parent per run: its children's largest RSS is this run's (the ranks, the harness)
    wrap = ("import resource, subprocess, sys; rc = subprocess.run(sys.argv[1:]).returncode; "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); sys.exit(rc)")
    proc = subprocess.run([sys.executable, "-c", wrap, *cmd], env=env, capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(proc.stderr[-3000:])
    rss = int(proc.stderr.strip().splitlines()[-1]) / 1024  # MB
    run_dir = runs / f"Cu-{Path(model).stem if model.endswith('.model') else model}-neb-vacancy-{tag}"
    summary = json.loads((run_dir / "summary.json").read_text())
    results = json.loads((run_dir / "results.json").read_text())
    # the two stages' loops (band, then climbing) from the first partition's own log: the NEB
    # itself, without the start of the R ranks (Python, the model's imports and load)
    loop = sum(float(m) for m in re.findall(r"^Loop time of (\S+)", (run_dir / "log.neb.lammps.0").read_text(),
                                            re.MULTILINE))
    return run_dir, {"neb_s": summary["timings"]["neb_s"], "loop_s": loop, "max_child_rss_MB": rss,
                     "iterations": results["band"]["iterations"], "barrier_eV": results["band"]["barrier_eV"]}


def ase_neb(run_dir: Path, make_calc, images: int, fmax: float) -> dict:
    from ase.io import read
    from ase.mep import NEB
    from ase.optimize import FIRE

    from harness.tasks.neb import interpolate

    initial, final = [read(run_dir / f"relaxed_{w}.data", format="lammps-data", atom_style="atomic",
                           Z_of_type={1: 29}) for w in ("initial", "final")]
    band = []
    for pos in interpolate(initial, final, images, "idpp"):
        a = initial.copy()
        a.positions = pos
        a.calc = make_calc()
        band.append(a)
    neb = NEB(band, climb=True, k=1.0, method="improvedtangent")
    opt = FIRE(neb, logfile=None)
    t0 = time.perf_counter()
    opt.run(fmax=fmax, steps=3000)
    seconds = time.perf_counter() - t0
    e = np.array([a.get_potential_energy() for a in band])
    return {"seconds": seconds, "steps": opt.nsteps, "barrier_eV": float(e.max() - e[0])}


def eam_calc():
    from ase.units import Bohr, Hartree

    from harness.config import load_model
    from harness.models import calculator, for_elements

    calc = calculator(for_elements(load_model("eam"), ["Cu"]))
    calc.rphi_data *= 27.2 * 0.529 / (Hartree * Bohr)  # LAMMPS' funcfl constant
    calc.set_splines()
    return calc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", default="3,5,7", help="bands of EAM through the classic engine")
    ap.add_argument("--bridge-images", default="3,5", help="bands of EAM through the bridge")
    ap.add_argument("--mace-images", default="3,5,7", help="bands of a small MACE through the bridge")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results-neb.md")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="harness-bench-neb-") as tmp:
        work = Path(tmp)
        from harness.models.mace import build_small_mace

        # untrained: its landscape is not copper's (a flat one, a barrier of ~0.16 eV)
        mace = build_small_mace(work / "mace-8ch.model", ["Cu"], channels=8, num_interactions=2)

        def mace_calc():
            from mace.calculators import MACECalculator

            return MACECalculator(model_paths=str(mace), device="cpu", default_dtype="float64")

        bridge = [int(x) for x in args.bridge_images.split(",")]
        cases = ([("eam", "eam", "classic", eam_calc, r, 0.01) for r in (int(x) for x in args.images.split(","))]
                 + [("eam", "eam", "bridge", eam_calc, r, 0.01) for r in bridge]
                 + [("mace-8ch", str(mace), "bridge", mace_calc, r, 0.01)
                    for r in (int(x) for x in args.mace_images.split(","))])
        for label, model, engine, make, r, ftol in cases:
            run_dir, lmp = harness_neb(model, engine, r, work / "runs", f"{engine}-r{r}", ftol)
            ase = ase_neb(run_dir, make, r, ftol)
            rows.append({"model": label, "engine": engine, "images": r, "ftol": ftol, **lmp, "ase_s": ase["seconds"],
                         "ase_steps": ase["steps"], "ase_barrier_eV": ase["barrier_eV"]})
            print(f"[bench] {rows[-1]}", file=sys.stderr)
    lines = ["# NEB benchmark", "",
             f"{time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores; Cu vacancy hop (107 atoms), climbing image, "
             "FIRE on both sides to the same force tolerance, the same relaxed endpoints and IDPP band.", "",
             "| model | engine | images (= ranks) | ftol (eV/Å) | LAMMPS NEB loop (s) | iterations | start of the "
             "ranks (s) | ASE NEB (s) | ASE steps | LAMMPS / ASE (loops) | barrier LAMMPS (eV) | barrier ASE (eV) | "
             "largest process RSS (MB) |", "|" + "---|" * 13]
    for r in rows:
        lines.append(f"| {r['model']} | {r['engine']} | {r['images']} | {r['ftol']:g} | {r['loop_s']:.1f} | "
                     f"{r['iterations']} | {r['neb_s'] - r['loop_s']:.1f} | {r['ase_s']:.1f} | {r['ase_steps']} | "
                     f"{r['loop_s'] / r['ase_s']:.2f} | {r['barrier_eV']:.4f} | {r['ase_barrier_eV']:.4f} | "
                     f"{r['max_child_rss_MB']:.0f} |")
    lines += ["", "LAMMPS NEB loop: the `neb` command's two stages (band, then climbing image) as the first "
              "partition's log times them, one MPI rank per image; the endpoints are held fixed (through the "
              "bridge their model result is the cached one after the first call), the interior images are "
              "evaluated at every iteration, in parallel. Start of the ranks: the rest of the `neb` stage of "
              "`harness neb` (mpiexec, Python, the model's imports and load on every rank). ASE: `ase.mep.NEB` "
              "(improved tangent) under FIRE in one process, the interior images in turn, the calculator made "
              "before the clock starts. On this 2-core machine more than 2 ranks oversubscribe the cores: "
              "R − 2 computing ranks and the 2 endpoint ranks (which poll MPI while they wait) share 2 cores, "
              "against ASE's R − 2 calls in turn. "
              "RSS: the largest process of the run (a rank, or the harness relaxing the endpoints); the bridge "
              "holds one copy of the model per rank, so the band's memory is about images × a rank's RSS. "
              "The FIRE step is the harness's default, ASE's step for the lightest element (8.1 fs for Cu)."]
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
