"""Benchmark: `harness screen` over N materials against N separate `harness phonons` calls.

The materials are the DFT sets in ../shared (NaCl with FORCE_SETS and BORN, Si with its
vasprun.xml), each present ``--copies`` times under another name (N = 2 × copies), with an
offline model (CHGNet by default: its weights ship in the wheel). Both routes run in fresh
processes, one after the other, on this machine's cores; each process counts the calculators it
builds (``harness.models.calculator``), so "the model is loaded once per process" is measured,
not assumed. The two routes are interleaved ``--repeats`` times and the best wall time of each
is kept (the machine may be shared). The screen's rows are checked against the separate runs.

Usage: python benchmarks/bench_screen.py [--model chgnet] [--copies 2] [--mesh 20 20 20] [--repeats 2]
       [--out benchmarks/results-screen.md]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DFT = ROOT.parent / "shared" / "data" / "phonopy-dft"
os.environ.setdefault("HARNESS_ROOT", str(ROOT))

# Runs the harness CLI in this process, counting the calculators it builds.
COUNTING = r"""
import json, sys, time
t0 = time.perf_counter()
import harness.models as models
built = []
real = models.calculator
def counting(spec):
    built.append(spec.label)
    return real(spec)
models.calculator = counting
from harness.cli import main
try:
    main(sys.argv[2:])
except SystemExit as exc:
    if exc.code not in (0, None):
        raise
with open(sys.argv[1], "w") as fh:
    json.dump({"model_loads": len(built), "wall_s": time.perf_counter() - t0}, fh)
"""


def harness(args: list[str], report: Path) -> dict:
    """One fresh process running ``harness *args``; its wall time (from outside) and model loads."""
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", COUNTING, str(report), *args], check=True, cwd=ROOT,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    out = json.loads(report.read_text())
    out["process_s"] = time.perf_counter() - t0
    return out


def materials(refs: Path, copies: int) -> dict[str, list[str]]:
    """refs/<name>/ -> the shared DFT folder (symbolic links); returns each one's `harness phonons` args."""
    refs.mkdir(parents=True)
    found = {}
    for k in range(1, copies + 1):
        for name in ("NaCl", "Si"):
            (refs / f"{name}-{k}").symlink_to(DFT / name, target_is_directory=True)
            d = DFT / name
            found[f"{name}-{k}"] = (["--reference", str(d / "phonopy_disp.yaml"), "--reference-forces",
                                     str(d / "FORCE_SETS"), "--born", str(d / "BORN")] if name == "NaCl" else
                                    ["--reference", str(d / "phonopy_disp.yaml"), "--reference-forces",
                                     str(d / "vasprun.xml")])
    return found


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="chgnet")
    ap.add_argument("--copies", type=int, default=2)
    ap.add_argument("--mesh", nargs=3, type=int, default=(20, 20, 20))
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results-screen.md")
    args = ap.parse_args()
    if not DFT.is_dir():
        sys.exit(f"bench_screen: the DFT sets are not at {DFT} (../shared)")
    mesh = [str(n) for n in args.mesh]
    with tempfile.TemporaryDirectory(prefix="bench-screen-") as tmp:
        tmp = Path(tmp)
        mats = materials(tmp / "refs", args.copies)
        n = len(mats)
        screens, alones, loads_alone = [], [], 0
        for k in range(args.repeats):  # interleaved: a change in the machine's load hits both routes
            shutil.rmtree(tmp / "screen", ignore_errors=True)
            shutil.rmtree(tmp / "alone", ignore_errors=True)
            screens.append(harness(["screen", "--references", str(tmp / "refs"), "--model", args.model, "--mesh",
                                    *mesh, "--runs-dir", str(tmp / "screen"), "--no-progress", "--tag", "bench"],
                                   tmp / "screen.json"))
            alone, loads_alone, rows_alone = 0.0, 0, {}
            for name, ref_args in mats.items():
                r = harness(["phonons", "--model", args.model, *ref_args, "--mesh", *mesh, "--runs-dir",
                             str(tmp / "alone" / name), "--no-progress"], tmp / f"{name}.json")
                alone += r["process_s"]
                loads_alone += r["model_loads"]
                (run,) = (tmp / "alone" / name).iterdir()
                rows_alone[name] = json.loads((run / "results.json").read_text())["comparison"]
            alones.append(alone)
            print(f"repeat {k + 1}: screen {screens[-1]['process_s']:.1f} s, separate {alone:.1f} s", file=sys.stderr)
        screen = min(screens, key=lambda r: r["process_s"])
        alone = min(alones)
        doc = json.loads(next((tmp / "screen").glob("screen-*/screen.json")).read_text())
        rows = {r["material"]: r for r in doc["rows"]}
        worst = max(abs(rows[m]["max_frequency_ratio"] - c["max_frequency_ratio"]) +
                    abs(rows[m]["rmse_omega2_THz2"] - c["rmse_omega2_THz2"]) for m, c in rows_alone.items())
        sample = {m: (rows[m]["max_frequency_ratio"], rows[m]["rmse_omega2_THz2"], rows[m]["rmse_group_velocity_THz_A"])
                  for m in ("NaCl-1", "Si-1")}
    per_min_screen = 60 * n / screen["process_s"]
    per_min_alone = 60 * n / alone
    lines = [
        "# Screen benchmark", "",
        f"{datetime.date.today()}, {os.cpu_count()} cores, Python {platform.python_version()}; model {args.model} "
        f"(offline), mesh {'×'.join(mesh)}, default temperatures; N = {n} materials (NaCl with FORCE_SETS + BORN "
        f"and Si with vasprun.xml from ../shared, {args.copies} copies each). Each route in fresh processes "
        "(imports, model load and all).", "",
        "| route | processes | model loads | wall (s) | materials / min |", "|---|---|---|---|---|",
        f"| `harness screen` | 1 | {screen['model_loads']} | {screen['process_s']:.1f} | {per_min_screen:.2f} |",
        f"| {n} × `harness phonons` | {n} | {loads_alone} | {alone:.1f} | {per_min_alone:.2f} |", "",
        f"Best of {args.repeats} interleaved repeats; all repeats (s): screen "
        + ", ".join(f"{r['process_s']:.1f}" for r in screens) + "; separate " + ", ".join(f"{a:.1f}" for a in alones)
        + ".", "",
        f"Ratio (separate calls / screen, wall time): **{alone / screen['process_s']:.2f}**. "
        f"Largest difference of a screen row from its separate run (max-frequency ratio + RMSE(ω²)): {worst:.1e}.", "",
        f"What the screen saves is the fixed cost of a process (Python and torch imports, the model load, "
        f"LAMMPS' start): (separate − screen) / (N − 1) = {(alone - screen['process_s']) / max(n - 1, 1):.1f} s per "
        f"material. The rest, {screen['process_s'] / n:.1f} s per material in the screen, is each material's own "
        "phonons (forces, band, DOS, group velocities on the DOS mesh and the comparison mesh, thermodynamics), "
        "which no process can share; the ratio therefore tends to (fixed + own) / own for large N.", "",
        "Rows (max-frequency ratio, RMSE(ω²) THz², RMSE(v_g) THz·Å): "
        + "; ".join(f"{m}: {a:.3f}, {b:.2f}, " + ("n/a" if c is None else f"{c:.2f}")
                    for m, (a, b, c) in sample.items())
        + ".",
    ]
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
