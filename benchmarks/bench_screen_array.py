"""A screen as a job array against the same screen on one process: 40 small materials (fcc
metals, EMT), `harness screen --cluster local --per-member K` on the one-node Slurm the tests
start (tests/slurm/start-slurm.sh; needs root and Slurm installed) against `harness screen` in
one process, on this machine in the same run. Time: from the command's start to the screen's
table (for the array: until the collect job has written screen.json). Goal: the ratio follows the
number of worker slots (≥ 1.8× on two).

    python benchmarks/bench_screen_array.py --out benchmarks/results-screen-array.md
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
sys.path.insert(0, str(ROOT))


def structures(folder: Path, n: int) -> Path:
    from ase.build import bulk
    from ase.io import write

    folder.mkdir(parents=True, exist_ok=True)
    metals = [("Cu", 3.61), ("Ag", 4.09), ("Au", 4.08), ("Ni", 3.52), ("Pd", 3.89), ("Pt", 3.92)]
    for k in range(n):
        el, a = metals[k % len(metals)]
        write(folder / f"{el}{k:02d}.cif", bulk(el, "fcc", a=a * (1 + 0.01 * (k // len(metals)))))
    return folder


def run(args: list[str], env: dict) -> float:
    """Wall seconds of one harness command; its CPU seconds (children's user + system) go to CPU."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "harness", *args], env=env, capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(proc.stderr[-3000:])
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return time.perf_counter() - t0


CPU: list[float] = []


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results-screen-array.md")
    ap.add_argument("--materials", type=int, default=40)
    ap.add_argument("--per-member", type=int, default=20)
    args = ap.parse_args()
    from harness._env import user_environment

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        state = tmp / "slurm"
        subprocess.run([str(ROOT / "tests" / "slurm" / "start-slurm.sh"), str(state)], check=True,
                       capture_output=True, timeout=180)
        env = dict(user_environment(), HARNESS_ROOT=str(ROOT), SLURM_CONF=str(state / "slurm.conf"),
                   PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
        try:
            src = structures(tmp / "structures", args.materials)
            one = run(["screen", "--structures", str(src), "--model", "emt", "--runs-dir", str(tmp / "one"),
                       "--tag", "bench", "--no-progress"], env)
            # the same on one thread: OpenMP's, and the rayon pool of phonopy's Rust extension
            # (phonors), which OMP_NUM_THREADS does not govern
            one_thread = run(["screen", "--structures", str(src), "--model", "emt", "--runs-dir",
                              str(tmp / "one-thread"), "--tag", "bench", "--no-progress"],
                             dict(env, OMP_NUM_THREADS="1", RAYON_NUM_THREADS="1"))
            t0 = time.perf_counter()
            run(["screen", "--structures", str(src), "--model", "emt", "--runs-dir", str(tmp / "array"),
                 "--tag", "bench", "--cluster", "local", "--per-member", str(args.per_member)], env)
            table = tmp / "array" / "screen-emt-bench" / "screen.json"
            while not table.is_file() or subprocess.run(["squeue", "-h"], env=env, capture_output=True,
                                                        text=True).stdout.strip():
                time.sleep(0.5)
            array = time.perf_counter() - t0
            parts = []  # each part's job: start and end (its sentinels), seconds after the submission
            import datetime as dt

            for d in sorted((tmp / "array").glob("screen-emt-bench-part*")):
                start = (d / ".job" / "starts").read_text().split()[3]
                end = (d / ".job" / "exit").read_text().split()[1]
                parts.append((dt.datetime.fromisoformat(start.replace("Z", "+00:00")).timestamp(),
                              dt.datetime.fromisoformat(end.replace("Z", "+00:00")).timestamp()))
            wall0 = time.time() - (time.perf_counter() - t0)
            spans = [(s - wall0, e - wall0) for s, e in parts]
            a = json.loads((tmp / "one" / "screen-emt-bench" / "screen.json").read_text())
            b = json.loads(table.read_text())
            key = "max_frequency_model_THz"
            same = all(x[key] == y[key] for x, y in zip(a["rows"], b["rows"]))
        finally:
            subprocess.run([str(ROOT / "tests" / "slurm" / "stop-slurm.sh"), str(state)], capture_output=True,
                           timeout=120)
    n = args.materials
    members = -(-n // args.per_member)
    lines = ["# Screen as a job array", "",
             f"{time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores; {n} fcc metals (EMT, bridge), the one-node "
             f"Slurm of the tests (2 worker slots); see the script's docstring.", "",
             "| route | members | time (s) | materials/min | speed-up | same table |", "|---|---|---|---|---|---|",
             f"| `harness screen` (one process) | 1 | {one:.1f} | {60 * n / one:.1f} | 1.00 | |",
             f"| `harness screen` (one process, one thread: OMP_ and RAYON_NUM_THREADS=1) | 1 | {one_thread:.1f} | "
             f"{60 * n / one_thread:.1f} | {one / one_thread:.2f} | |",
             f"| `harness screen --cluster local --per-member {args.per_member}` | {members} | {array:.1f} | "
             f"{60 * n / array:.1f} | {one / array:.2f} | {'yes' if same else 'NO'} |", "",
             "Parts (start → end, s after the submit command started): "
             + ", ".join(f"{s:.0f} → {e:.0f}" for s, e in spans)
             + f"; the table {array:.0f} s (the rest: the collect job joining the parts and drawing the figures). "
             f"Per material: {one / n:.2f} s in one process, {one_thread / n:.2f} s on one thread, "
             f"{max(e - s for s, e in spans) / args.per_member:.2f} s in a part. Speed-up over the one-thread "
             f"process: {one_thread / array:.2f}. CPU time: {CPU[0]:.1f} s for the one process "
             f"({CPU[0] / one:.2f} cores on average), {CPU[1]:.1f} s on one thread; two slots can make the "
             f"array at most {2 * one / CPU[0]:.2f}× the one process (its CPU time over two cores)."]
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
