"""Deck text read and rewritten, without running it: the ML-IAP pair style swapped for
``pair_style zero``, runs cut to a few steps, the data file and the partitions a deck asks for.

Two users rewrite a rendered deck the same way and sit on different floors: the pre-flight
(:mod:`harness.preflight`) executes every ML-IAP deck of a folder with the swap, and
:mod:`harness.lammps.mliap_driver` takes LAMMPS' atoms, ghosts and neighbour list from a
session of the swapped single-point deck. So the rewriting lives here, beside the session
that reads decks (:func:`harness.lammps.session.deck_lines`), and both import it from below.
Every rewrite keeps the deck's line numbers, so a LAMMPS error still names the rendered line.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from ..errors import RunFolderError
from .session import deck_lines


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

    Parameters
    ----------
    deck : str
        The text of a rendered ML-IAP deck.
    cutoff_A : float
        The model's cutoff (Å): the neighbour lists and ghosts of ``pair_style zero`` are then
        the ones the real pair style gets.

    Returns
    -------
    Swapped
        The new text, the elements of ``pair_coeff * *``, the model file, the hybrid/scaled
        factor and the numbers of the swapped lines.

    Raises
    ------
    RunFolderError
        The deck has no ML-IAP pair style, or no ``pair_coeff * *`` with elements after it.
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
        raise RunFolderError(f"the deck has no `pair_coeff * * <elements>` after its ML-IAP pair style "
                             f"(line {swapped[0]})")
    return Swapped("".join(out), elements, mfile, scale, tuple(swapped))


def is_mliap_deck(text: str) -> bool:
    """Whether a deck sets the ML-IAP unified pair style (plain or under hybrid/scaled)."""
    return any(_STYLE.match(cmd) for _, cmd in deck_lines(text))


def few_steps(command: str, steps: int) -> str:
    """One deck command cut to a few steps; anything else as it is.

    ``run N …`` runs at most ``steps`` (``upto`` dropped: the run starts at the deck's step),
    ``minimize etol ftol maxiter maxeval`` at most ``steps`` iterations and ``10 × steps``
    evaluations, and ``neb etol ftol N1 N2 Nevery …`` both stages at most ``steps``.
    """
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


def read_data_file(deck: str) -> str | None:
    """The file the deck's first ``read_data`` reads, or ``None``."""
    for _, cmd in deck_lines(deck):
        words = cmd.split()
        if words[0] == "read_data" and len(words) > 1:
            return words[1]
    return None


def world_partitions(commands: list[tuple[int, str]]) -> int:
    """How many partitions a deck's ``variable NAME world v1 v2 …`` asks for (0: a single-partition deck).

    Parameters
    ----------
    commands : list of (int, str)
        The deck's (line number, command) pairs, as :func:`~harness.lammps.session.deck_lines` gives them.
    """
    for _, cmd in commands:
        words = cmd.split()
        if words[:1] == ["variable"] and len(words) > 3 and words[2] == "world":
            return len(words) - 3
    return 0
