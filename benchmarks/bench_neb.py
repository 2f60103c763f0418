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
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def harness_neb(model: str, engine: str, images: int, runs: Path, tag: str, ftol: float) -> tuple[Path, dict]:
    env = dict(os.environ, HARNESS_ROOT=str(ROOT))
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
    return run_dir, {"neb_s": summary["timings"]["neb_s"], "max_child_rss_MB": rss,
                     "barrier_eV": json.loads((run_dir / "results.json").read_text())["band"]["barrier_eV"]}


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
    t0 = time.perf_counter()
    FIRE(neb, logfile=None).run(fmax=fmax, steps=3000)
    seconds = time.perf_counter() - t0
    e = np.array([a.get_potential_energy() for a in band])
    return {"seconds": seconds, "barrier_eV": float(e.max() - e[0])}


def eam_calc():
    from ase.units import Bohr, Hartree

    from harness.config import load_model
    from harness.models import calculator, restrict_eam

    calc = calculator(restrict_eam(load_model("eam"), ["Cu"]))
    calc.rphi_data *= 27.2 * 0.529 / (Hartree * Bohr)  # LAMMPS' funcfl constant
    calc.set_splines()
    return calc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", default="3,5,7", help="bands of EAM through the classic engine")
    ap.add_argument("--bridge-images", default="3,5", help="bands through the bridge (EAM, then a small MACE)")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results-neb.md")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="harness-bench-neb-") as tmp:
        work = Path(tmp)
        from harness.models.mace import build_small_mace

        # untrained: its landscape is not copper's, so its band converges to a looser tolerance
        mace = build_small_mace(work / "mace-8ch.model", ["Cu"], channels=8, num_interactions=2)

        def mace_calc():
            from mace.calculators import MACECalculator

            return MACECalculator(model_paths=str(mace), device="cpu", default_dtype="float64")

        bridge = [int(x) for x in args.bridge_images.split(",")]
        cases = ([("eam", "eam", "classic", eam_calc, r, 0.01) for r in (int(x) for x in args.images.split(","))]
                 + [("eam", "eam", "bridge", eam_calc, r, 0.01) for r in bridge]
                 + [("mace-8ch", str(mace), "bridge", mace_calc, bridge[0], 0.05)])
        for label, model, engine, make, r, ftol in cases:
            run_dir, lmp = harness_neb(model, engine, r, work / "runs", f"{engine}-r{r}", ftol)
            ase = ase_neb(run_dir, make, r, ftol)
            rows.append({"model": label, "engine": engine, "images": r, "ftol": ftol, **lmp, "ase_s": ase["seconds"],
                         "ase_barrier_eV": ase["barrier_eV"]})
            print(f"[bench] {rows[-1]}", file=sys.stderr)
    lines = ["# NEB benchmark", "",
             f"{time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores; Cu vacancy hop (107 atoms), climbing image, "
             "FIRE on both sides to the same force tolerance, the same relaxed endpoints and IDPP band.", "",
             "| model | engine | images (= ranks) | ftol (eV/Å) | LAMMPS NEB (s) | ASE NEB (s) | LAMMPS / ASE | "
             "barrier LAMMPS (eV) | barrier ASE (eV) | largest process RSS (MB) |", "|" + "---|" * 10]
    for r in rows:
        lines.append(f"| {r['model']} | {r['engine']} | {r['images']} | {r['ftol']:g} | {r['neb_s']:.1f} | "
                     f"{r['ase_s']:.1f} | "
                     f"{r['neb_s'] / r['ase_s']:.2f} | {r['barrier_eV']:.4f} | {r['ase_barrier_eV']:.4f} | "
                     f"{r['max_child_rss_MB']:.0f} |")
    lines += ["", "LAMMPS NEB: the `neb` stage of `harness neb` (one MPI rank per image; on this 2-core machine more "
              "than 2 images oversubscribe the cores). ASE: one process, every image in turn. RSS: the largest process "
              "of the run (a rank, or the harness relaxing the endpoints); the bridge holds one copy of the model "
              "per rank, so the band's memory is about images × a rank's RSS. The untrained MACE's landscape is "
              "not copper's: its band is converged to 0.05 eV/Å."]
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
