"""One process at a time in a run folder: an advisory lock on ``<run>/.lock``.

``harness run``, ``execute``, ``--resume`` and ``--overwrite`` take the lock before they touch
a folder, and hold it until they are done; a second one is refused in one line naming the
holder (pid, host, command, since when). The lock is ``fcntl.flock`` on the lock file, so the
kernel releases it when its process ends, however it ends (``kill -9``, a node's job killed
at its walltime): a folder whose summary says ``running`` while nobody holds its lock was
interrupted, and ``harness status`` says so.

The file stays after its process ends, holding who last held it (never deleted: removing a
lock file while another process opens it is the classic race). A filesystem without locks
(a Lustre mount without ``-o flock``) is said once, and the run goes on unlocked.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .errors import RunBusyError

LOCK = ".lock"
_HELD: dict[str, RunLock] = {}  # this process's locks, by folder: taking one again nests
_WARNED: set[str] = set()


@dataclass(frozen=True)
class Holder:
    """Who holds (or last held) a run folder's lock."""

    pid: int | None
    host: str
    command: str
    since: str

    def describe(self) -> str:
        return f"pid {self.pid} on {self.host} ({self.command}, since {self.since})"


def _command() -> str:
    """What this process is, as a user would recognise it: ``harness execute``, or the program."""
    argv = sys.argv or ["python"]
    program = os.path.basename(argv[0])
    if program in ("harness", "__main__.py") or argv[0].endswith(("harness/__main__.py", "harness/cli/__init__.py")):
        return " ".join(["harness", *argv[1:2]])
    return " ".join([program, *argv[1:2]])[:80]


def _read_holder(fd: int) -> Holder | None:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        data = json.loads(os.read(fd, 4096).decode() or "{}")
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or "host" not in data:
        return None
    return Holder(data.get("pid"), str(data.get("host")), str(data.get("command", "?")), str(data.get("since", "?")))


def _unsupported(exc: OSError) -> bool:
    return exc.errno in (errno.ENOLCK, errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP)


class RunLock:
    """The lock of one run folder; a context manager. Taking a folder this process already
    holds nests (released when the outermost holder releases it)."""

    def __init__(self, run_dir: Path | str, purpose: str = ""):
        self.run_dir = Path(run_dir)
        self.key = str(self.run_dir.resolve())
        self.purpose = purpose
        self.fd: int | None = None
        self.depth = 0

    def acquire(self) -> RunLock:
        held = _HELD.get(self.key)
        if held is not None:
            held.depth += 1
            return held
        path = self.run_dir / LOCK
        for _ in range(5):  # the folder may be replaced (--overwrite) between open and lock
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read_holder(fd)
                os.close(fd)
                who = holder.describe() if holder else "another process"
                raise RunBusyError(f"{self.run_dir}: in use by {who}; wait for it to end, or stop it first") from None
            except OSError as exc:
                if not _unsupported(exc):
                    os.close(fd)
                    raise
                if self.key not in _WARNED:
                    _WARNED.add(self.key)
                    print(f"warning: {self.run_dir}: this filesystem has no file locks ({exc.strerror}); nothing "
                          f"stops a second process from running in this folder", file=sys.stderr)
            try:
                same = os.fstat(fd).st_ino == os.stat(path).st_ino
            except FileNotFoundError:
                same = False
            if not same:
                os.close(fd)
                continue
            os.ftruncate(fd, 0)
            os.write(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "command": _command(),
                                     "purpose": self.purpose, "since": time.strftime("%Y-%m-%dT%H:%M:%S%z")}).encode())
            self.fd, self.depth = fd, 1
            _HELD[self.key] = self
            return self
        raise RunBusyError(f"{self.run_dir}: its lock file keeps being replaced; is another harness overwriting it?")

    def release(self) -> None:
        self.depth -= 1
        if self.depth > 0 or self.fd is None:
            return
        _HELD.pop(self.key, None)
        try:
            os.close(self.fd)  # closing releases the lock
        finally:
            self.fd = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        (_HELD.get(self.key) or self).release()


def held_fds() -> tuple[int, ...]:
    """The descriptors of the locks this process holds: a launcher hands them to the processes
    it starts, so a folder stays locked while any of them runs."""
    return tuple(lock.fd for lock in _HELD.values() if lock.fd is not None)


def holder(run_dir: Path | str) -> Holder | None:
    """Who holds the lock of ``run_dir`` now; ``None`` when nobody does (or the filesystem has
    no locks: then nothing can be said)."""
    path = Path(run_dir) / LOCK
    if str(Path(run_dir).resolve()) in _HELD:
        return Holder(os.getpid(), socket.gethostname(), _command(), "now")
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_holder(fd) or Holder(None, "?", "?", "?")
        except OSError:  # no locks on this filesystem: nothing can be said, assume it is held
            return Holder(None, "?", "unknown: this filesystem has no file locks", "?")
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def last_holder(run_dir: Path | str) -> Holder | None:
    """Who held the lock last (the file keeps it after its process ended)."""
    try:
        fd = os.open(Path(run_dir) / LOCK, os.O_RDONLY)
    except OSError:
        return None
    try:
        return _read_holder(fd)
    finally:
        os.close(fd)
