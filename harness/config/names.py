"""Names and tags that become folder names, deck lines and job-script lines: validated once, here.

A run folder is ``<system>-<model>-<task>-<tag>``; each part also reaches ``in.lammps`` and
``job.sh`` (``#SBATCH --job-name``). A ``;``, a newline, a space or a path separator there
would break a deck or a script, or write outside the runs folder, so every name a user types
is checked against one rule, and names the harness derives (from a file name) are made to
fit it.
"""

from __future__ import annotations

import re

from ..errors import ConfigError

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
