"""Progress lines for long loops (MD steps are reported by :class:`harness.lammps.session.Progress`)."""

from __future__ import annotations

import math
import sys
import time


def hms(seconds: float) -> str:
    """``HH:MM:SS``, or ``--:--:--`` when unknown."""
    if not math.isfinite(seconds):
        return "--:--:--"
    s = int(round(seconds))
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def frame_progress(label: str, every_s: float = 5.0, stream=None):
    """A ``progress(done, total)`` callback: frames done, rate and ETA, at most every ``every_s``
    seconds, and always at the end. ``total=None`` (a file read to its end): count and rate only."""
    t0, last = time.perf_counter(), [-math.inf]

    def report(done: int, total: int | None = None) -> None:
        now = time.perf_counter()
        if (total is None or done < total) and now - last[0] < every_s:
            return
        last[0] = now
        rate = done / max(now - t0, 1e-9)
        if total is None:
            print(f"[{label}] frame {done} | {rate:8.2f} frames/s", file=stream or sys.stderr, flush=True)
            return
        print(f"[{label}] frame {done}/{total} {100 * done / max(total, 1):5.1f}% | {rate:8.2f} frames/s | "
              f"ETA {hms((total - done) / rate if rate > 0 else math.inf)}", file=stream or sys.stderr, flush=True)

    return report
