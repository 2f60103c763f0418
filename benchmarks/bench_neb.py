"""NEB benchmark: the harness against what a user would run instead, ASE's NEB driving the same
LAMMPS pair style (``ase.calculators.lammpslib.LAMMPSlib``) or the same MLIP calculator (one per
image, the fastest way: a shared one is recomputed at every request).

The same relaxed endpoints and IDPP band, FIRE, climbing image, improved tangent, spring 1 eV/Å²,
on this machine in the same run. The harness with both band evaluators: ``serial`` (one process:
the images in one LAMMPS session, or a MACE model's images in one batched forward) and
``partitions`` (one LAMMPS partition per image on MPI). Times: the band stage (``neb_s`` of the
harness's summary: for partitions it includes starting the ranks; endpoint relaxation excluded)
against ASE's NEB run from making its calculators to convergence. Convergence: the harness stops
when the largest 2-norm of an image's NEB force is below ftol (LAMMPS' criterion), ASE when the
largest NEB force on an atom is (its criterion) -- the harness's is the stricter.

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


def harness_neb(system: str, model: str, engine: str, evaluator: str, images: int, runs: Path, tag: str,
                ftol: float) -> tuple[Path, dict]:
    from harness._env import user_environment

    # the environment as the user set it: importing the harness here set OMP_NUM_THREADS for this
    # process, which the ranks must not inherit (they split the cores between them)
    env = dict(user_environment(), HARNESS_ROOT=str(ROOT))
    cmd = [sys.executable, "-m", "harness", "neb", "--system", system, "--hop", "vacancy", "--model", model,
           "--engine", engine, "--evaluator", evaluator, "--images", str(images), "--ftol", str(ftol),
           "--runs-dir", str(runs), "--tag", tag, "--no-progress"]
    # a fresh parent per run: its children's largest RSS is this run's (the ranks, the harness)
    wrap = ("import resource, subprocess, sys; rc = subprocess.run(sys.argv[1:]).returncode; "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); sys.exit(rc)")
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", wrap, *cmd], env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode:
        raise RuntimeError(proc.stderr[-3000:])
    rss = int(proc.stderr.strip().splitlines()[-1]) / 1024  # MB
    (run_dir,) = [p for p in runs.iterdir() if p.name.endswith(f"-neb-vacancy-{tag}")]
    summary = json.loads((run_dir / "summary.json").read_text())
    results = json.loads((run_dir / "results.json").read_text())
    return run_dir, {"neb_s": summary["timings"]["neb_s"], "wall_s": wall, "max_rss_MB": rss,
                     "iterations": results["band"]["iterations"], "barrier_eV": results["band"]["barrier_eV"]}


def ase_neb(run_dir: Path, make_calc, images: int, fmax: float, shared: bool) -> dict:
    """ASE's NEB and FIRE from the harness's relaxed endpoints and IDPP band (the clock includes
    making the calculators: one per image, or one shared when ``shared``)."""
    from ase.data import atomic_numbers
    from ase.io import read
    from ase.mep import NEB
    from ase.optimize import FIRE

    from harness.tasks.neb import interpolate

    summary = json.loads((run_dir / "summary.json").read_text())
    z = {i + 1: atomic_numbers[e] for i, e in enumerate(summary["structure"]["elements_type_order"])}
    initial, final = [read(run_dir / f"relaxed_{w}.data", format="lammps-data", atom_style="atomic", Z_of_type=z)
                      for w in ("initial", "final")]
    t0 = time.perf_counter()
    band, calc = [], make_calc() if shared else None
    for pos in interpolate(initial, final, images, "idpp"):
        a = initial.copy()
        a.positions = pos
        a.calc = calc if shared else make_calc()
        band.append(a)
    neb = NEB(band, climb=True, k=1.0, method="improvedtangent", allow_shared_calculator=shared)
    opt = FIRE(neb, logfile=None)
    opt.run(fmax=fmax, steps=3000)
    seconds = time.perf_counter() - t0
    e = np.array([a.get_potential_energy() for a in band])
    return {"seconds": seconds, "steps": opt.nsteps, "barrier_eV": float(e.max() - e[0])}


def lammpslib(potential: Path, element: str):
    """What a user would write: ASE's LAMMPSlib with the same pair style and file."""
    from ase.calculators.lammpslib import LAMMPSlib

    from harness._env import preload_mpi

    preload_mpi()  # the wheel's liblammps needs the venv's libmpi (as for any user of the wheel)

    def make():
        return LAMMPSlib(lmpcmds=["pair_style eam", f"pair_coeff 1 1 {potential}"], atom_types={element: 1},
                         log_file=None, keep_alive=True)
    return make


NI = """name: Ni
temperature_K: 300
structure: {prototype: fcc, elements: [Ni], a_A: 3.52}
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", default="5,7", help="bands of EAM (classic engine) and of MACE (bridge)")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results-neb.md")
    args = ap.parse_args()
    rows = []
    images = [int(x) for x in args.images.split(",")]
    with tempfile.TemporaryDirectory(prefix="harness-bench-neb-") as tmp:
        work = Path(tmp)
        (work / "Ni.yaml").write_text(NI)
        from harness.models.mace import build_small_mace

        # untrained: its landscape is not copper's (a flat one, a barrier of ~0.16 eV)
        mace = build_small_mace(work / "mace-8ch.model", ["Cu"], channels=8, num_interactions=2)

        def mace_calc():
            from mace.calculators import MACECalculator

            return MACECalculator(model_paths=str(mace), device="cpu", default_dtype="float64")

        cases = [("Ni", str(work / "Ni.yaml"), "eam", "eam", "classic", r) for r in images]
        cases += [("Cu", "Cu", "mace-8ch", str(mace), "bridge", r) for r in images]
        for system, system_arg, label, model, engine, r in cases:
            for evaluator in ("serial", "partitions"):
                run_dir, h = harness_neb(system_arg, model, engine, evaluator, r, work / "runs",
                                         f"{engine}-{evaluator}-r{r}", 0.01)
                if evaluator == "serial":
                    if engine == "classic":
                        ase = ase_neb(run_dir, lammpslib(run_dir / "model" / f"{system}_u3.eam", system), r, 0.01,
                                      shared=False)
                        peer = "ASE NEB + LAMMPSlib (one per image)"
                    else:
                        # one calculator per image: a shared one recomputes every image at each of
                        # ASE's force requests (its cache holds the last image only)
                        ase = ase_neb(run_dir, mace_calc, r, 0.01, shared=False)
                        peer = "ASE NEB + MACECalculator (one per image)"
                rows.append({"system": system, "model": label, "engine": engine, "evaluator": evaluator, "images": r,
                             **h, "peer": peer, "ase_s": ase["seconds"], "ase_steps": ase["steps"],
                             "ase_barrier_eV": ase["barrier_eV"]})
                print(f"[bench] {rows[-1]}", file=sys.stderr)
    lines = ["# NEB benchmark", "",
             f"{time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores; vacancy hop (107 atoms), climbing image, FIRE, "
             "ftol 0.01 eV/Å, the same relaxed endpoints and IDPP band on both sides (see the script's docstring).",
             "",
             "| system | model | engine | band evaluator | images | harness band (s) | harness whole run (s) | "
             "iterations | peer | peer (s) | peer steps | harness / peer | barrier harness (eV) | barrier peer (eV) "
             "| largest RSS (MB) |", "|" + "---|" * 15]
    for r in rows:
        lines.append(f"| {r['system']} | {r['model']} | {r['engine']} | {r['evaluator']} | {r['images']} | "
                     f"{r['neb_s']:.2f} | {r['wall_s']:.1f} | {r['iterations']} | {r['peer']} | {r['ase_s']:.2f} | "
                     f"{r['ase_steps']} | {r['neb_s'] / r['ase_s']:.2f} | {r['barrier_eV']:.4f} | "
                     f"{r['ase_barrier_eV']:.4f} | {r['max_rss_MB']:.0f} |")
    lines += ["", "Harness band: the band stage of `harness neb` (`neb_s`): for `partitions` it includes starting "
              "mpiexec and one Python rank per image, each loading the model; for `serial` it includes starting "
              "the one LAMMPS session (or reading the MACE model). Whole run: the `harness neb` command from start "
              "to exit (Python start, endpoint relaxation, collect). Peer: ASE's NEB from making its calculators "
              "to convergence, in this process. On this 2-core machine the partitions oversubscribe the cores "
              "(R ranks on 2 cores, the waiting ones polling MPI); `serial` is what `--evaluator auto` picks here."]
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
