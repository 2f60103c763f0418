"""Names, tags, paths and walltimes that become folder names, deck lines and job-script lines:
validated once, here, whatever the entry point (a command-line option, a system, model or
cluster YAML, a campaign file).

A run folder is ``<system>-<model>-<task>-<tag>``; each part also reaches ``in.lammps`` and
``job.sh`` (``#SBATCH --job-name``). A ``;``, a newline, a space or a path separator there
would break a deck or a script, or write outside the runs folder, so every name a user types
is checked against one rule, and names the harness derives (from a file name) are made to
fit it.
"""

from __future__ import annotations

import re

from .errors import ConfigError

_NAME = re.compile(r"[A-Za-z0-9+_-][A-Za-z0-9._+-]*")
NAME_RULE = "letters, digits and . _ - + (not starting with '.'; no spaces or path separators)"
MAX_LENGTH = 120


def is_valid_name(text) -> bool:
    return isinstance(text, str) and len(text) <= MAX_LENGTH and _NAME.fullmatch(text) is not None


def validate_name(kind: str, text: str | None) -> str | None:
    """``text`` itself if it is a valid name (``None`` passes through), else one line naming the rule."""
    if text is None:
        return None
    if not is_valid_name(text):
        shown = repr(text) if len(text) <= 60 else repr(text[:57] + "...")
        raise ConfigError(f"{kind} {shown} is not a valid name: use {NAME_RULE}, at most {MAX_LENGTH} characters")
    return text


def safe_name(text: str, fallback: str = "run") -> str:
    """A valid name made from free text (a file stem): other characters become '-'."""
    out = re.sub(r"[^A-Za-z0-9._+-]+", "-", str(text)).strip("-.")[:MAX_LENGTH]
    return out or fallback


_PATH = re.compile(r"[A-Za-z0-9._+\-/~@%:=,]+")
PATH_RULE = "letters, digits, / and . _ - + ~ @ % : = , (no spaces, quotes, $, ; or other shell characters)"


def is_plain_path(text) -> bool:
    return isinstance(text, str) and _PATH.fullmatch(text) is not None


def validate_path(kind: str, text: str | None) -> str | None:
    """A path that reaches a job script as written (a declared cluster path): one line if it
    holds anything a shell would act on."""
    if text is None:
        return None
    if not is_plain_path(text):
        raise ConfigError(f"{kind} {text!r} is not a plain path: use {PATH_RULE}")
    return text


_TIME = re.compile(r"(?:(\d+)-)?(\d{1,3}):(\d{2}):(\d{2})")
WALLTIME_RULE = "[D-]HH:MM:SS, e.g. 01:30:00 or 2-00:00:00"


def walltime_seconds(text, what: str = "walltime", *, positive: bool = True) -> int:
    """``[D-]HH:MM:SS`` -> seconds; one line for anything else (a walltime reaches
    ``#SBATCH --time=`` as written, so nothing but this shape may pass). ``positive``: more
    than zero seconds (a job's walltime; a margin may be zero)."""
    m = _TIME.fullmatch(text) if isinstance(text, str) else None
    if not m:
        shown = repr(text) if not isinstance(text, str) or len(text) <= 60 else repr(text[:57] + "...")
        raise ConfigError(f"{what} {shown}: use {WALLTIME_RULE}")
    d, h, mi, s = (int(x or 0) for x in m.groups())
    if mi > 59 or s > 59:
        raise ConfigError(f"{what} {text!r}: minutes and seconds go to 59 ({WALLTIME_RULE})")
    seconds = ((d * 24 + h) * 60 + mi) * 60 + s
    if positive and seconds <= 0:
        raise ConfigError(f"{what} {text!r}: must be longer than zero ({WALLTIME_RULE})")
    return seconds


def validate_walltime(what: str, text) -> str:
    """``text`` itself if it is a walltime Slurm reads (see :func:`walltime_seconds`)."""
    walltime_seconds(text, what)
    return text
