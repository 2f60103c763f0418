"""Benchmark: MD analysis at production size (issue #21), classic EAM Cu through LAMMPS.

For each cell (32,000 and 256,000 atoms; 1000 K, 2 fs, 2 MPI ranks) three runs of the same
length: ``bare`` (no dump, no in-situ observables: the MD alone), ``dump`` (a frame every
20 steps, analysed afterwards by ``harness analyze``) and ``insitu`` (g(r), MSD, VACF computed
by LAMMPS while it runs, no dump). Reported: ms/step of each run (the in-situ overhead is
insitu/bare − 1), and for the two analyses their wall time and peak resident memory, each in a
fresh process (the MD's ranks and the analysis are measured apart).

Goals (issue #21): peak memory of any analysis ≤ 2 GB whatever the number of atoms or frames;
in-situ overhead ≤ 10 % of the MD step.

Usage: python benchmarks/bench_scale.py [--sizes 20 40] [--steps 2000 600] [--out benchmarks/results-scale.md]
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

ROOT = Path(__file__).resolve().parent.parent
ENV = dict(os.environ, HARNESS_ROOT=str(ROOT))

# run a command in a child and report its wall time and the peak RSS of it and its descendants
MEASURE = r"""
import json, resource, subprocess, sys, time
t0 = time.perf_counter()
code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
print(json.dumps({"code": code, "wall_s": time.perf_counter() - t0,
                  "peak_MB": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""


def measured(cmd: list[str]) -> dict:
    out = subprocess.run([sys.executable, "-c", MEASURE, *cmd], capture_output=True, text=True, env=ENV, check=True)
    doc = json.loads(out.stdout.strip().splitlines()[-1])
    if doc["code"] not in (0, 4):
        raise SystemExit(f"{' '.join(cmd)} exited {doc['code']}")
    return doc


def system(folder: Path, n: int, steps: int) -> Path:
    path = folder / f"Cu{n}.yaml"
    path.write_text(f"name: Cu{4 * n ** 3}\ntemperature_K: 1000\n"
                    f"structure: {{prototype: fcc, elements: [Cu], a_A: 3.615}}\n"
                    f"presets:\n  bench: {{supercell: [{n}, {n}, {n}], timestep_fs: 2.0, steps: {steps}, "
                    f"dump_every: 20, thermo_every: 20, restart_every: {steps}}}\n")
    return path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[20, 40], help="fcc cells per edge (4 n³ atoms)")
    ap.add_argument("--steps", type=int, nargs="+", default=[2000, 600], help="MD steps of each size")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results-scale.md")
    args = ap.parse_args()
    harness = [sys.executable, "-m", "harness"]
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        tmp = Path(tmp)
        for n, steps in zip(args.sizes, args.steps):
            sysfile = system(tmp, n, steps)
            runs = tmp / f"runs{n}"
            md = [*harness, "md", "--system", str(sysfile), "--model", "eam", "--ranks", "2", "--runs-dir", str(runs),
                  "--no-progress"]
            ms = {}
            for tag, extra in (("bare", ["--no-insitu", "--dump-every", "0"]), ("dump", ["--no-insitu"]),
                               ("insitu", ["--insitu", "--dump-every", "0"])):
                measured([*md, "--tag", tag, *extra])
                summary = json.loads((runs / f"Cu{4 * n ** 3}-eam-md-{tag}" / "summary.json").read_text())
                ms[tag] = summary["timings"]["ms_per_step"]
                print(f"{4 * n ** 3} atoms, {tag}: {ms[tag]:.1f} ms/step", flush=True)
            dump_file = runs / f"Cu{4 * n ** 3}-eam-md-dump" / "traj.lammpstrj"
            analysis = {}
            for tag in ("dump", "insitu"):
                analysis[tag] = measured([*harness, "analyze", str(runs / f"Cu{4 * n ** 3}-eam-md-{tag}"),
                                          "--no-progress"])
                print(f"{4 * n ** 3} atoms, analyze {tag}: {analysis[tag]}", flush=True)
            rows.append({"atoms": 4 * n ** 3, "steps": steps, "ms": ms, "analysis": analysis,
                         "dump_MB": dump_file.stat().st_size / 2**20, "frames": steps // 20 + 1})
    lines = ["# Analysis at production size", "",
             f"{time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores; classic EAM Cu (Foiles u3) at 1000 K, 2 fs, "
             "`harness md --ranks 2`; each analysis `harness analyze` in a fresh process (peak RSS of it and its "
             "children).", "",
             "| atoms | steps | MD bare (ms/step) | MD + dump every 20 (ms/step) | MD + in-situ (ms/step) | "
             "in-situ overhead | dump (MB, frames) | analyze dump: wall (s), peak (MB) | "
             "analyze in-situ: wall (s), peak (MB) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        ms, a = r["ms"], r["analysis"]
        lines.append(f"| {r['atoms']} | {r['steps']} | {ms['bare']:.1f} | {ms['dump']:.1f} | {ms['insitu']:.1f} | "
                     f"{100 * (ms['insitu'] / ms['bare'] - 1):+.1f} % | {r['dump_MB']:.0f}, {r['frames']} | "
                     f"{a['dump']['wall_s']:.1f}, {a['dump']['peak_MB']:.0f} | "
                     f"{a['insitu']['wall_s']:.1f}, {a['insitu']['peak_MB']:.0f} |")
    lines += ["", "Goals: peak memory of any analysis ≤ 2 GB; in-situ overhead ≤ 10 % of the MD step. In-situ: "
              "g(r) to 8 Å (500 bins) every 10th sample, MSD and VACF per element every 20 steps; the dump "
              "route's g(r) goes to 12 Å on at most 5·10⁵ atom-frames, its lag window within 1.2 GB. MD timings "
              "on a 2-core VM vary by about ±5 % between runs."]
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
