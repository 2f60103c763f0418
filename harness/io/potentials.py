"""Classic potential files (EAM funcfl, setfl, Finnis-Sinclair) checked before LAMMPS reads them.

LAMMPS' EAM readers trust the header's counts: a file that is not an EAM file (a text file,
``/etc/passwd`` through a project's model YAML) can crash LAMMPS with a segmentation fault,
taking the run with it and leaving the reason only in ``log.lammps``. The file is checked
here instead, as LAMMPS will read it (``pair_eam.cpp``, ``pair_eam_alloy.cpp``,
``pair_eam_fs.cpp``): the header lines, then every tabulated value, counted and parsed. Other
pair styles' readers (``PotentialFileReader``) stop with an error of their own, which the
harness reports in one line.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

from ..errors import ConfigError

EAM_STYLES = {"eam": "funcfl", "eam/alloy": "setfl", "eam/fs": "fs"}


class _Lines:
    """The file's lines, consumed as LAMMPS consumes them: a header line whole, values across lines."""

    def __init__(self, path: Path, kind: str):
        self.path, self.kind = path, kind
        try:
            text = path.read_bytes().decode("ascii")
        except UnicodeDecodeError:
            raise ConfigError(f"potential file {path}: not an EAM {kind} file (it holds non-text bytes)") from None
        self.lines, self.i = text.splitlines(), 0

    def fail(self, msg: str) -> ConfigError:
        return ConfigError(f"potential file {self.path}: not an EAM {self.kind} file: {msg}")

    def line(self, meaning: str) -> list[str]:
        if self.i >= len(self.lines):
            raise self.fail(f"ends before line {self.i + 1} ({meaning})")
        self.i += 1
        return self.lines[self.i - 1].split()

    def values(self, n: int, meaning: str) -> None:
        """Consume ``n`` finite numbers across lines."""
        got = 0
        while got < n:
            if self.i >= len(self.lines):
                raise self.fail(f"ends after {got} of the {n} values of {meaning}")
            words = self.lines[self.i].split()
            self.i += 1
            for w in words[: n - got]:
                try:
                    v = float(w)
                except ValueError:
                    raise self.fail(f"line {self.i}: {w[:20]!r} is not a number ({meaning})") from None
                if not math.isfinite(v):
                    raise self.fail(f"line {self.i}: {w!r} is not finite ({meaning})")
            got += min(len(words), n - got)


def _grid(lines: _Lines, words: list[str]) -> tuple[int, int]:
    """``Nrho drho Nr dr cutoff``: two positive counts and three positive numbers."""
    try:
        nrho, drho, nr, dr, cut = int(words[0]), float(words[1]), int(words[2]), float(words[3]), float(words[4])
    except (IndexError, ValueError):
        raise lines.fail(f"line {lines.i}: expected 'Nrho drho Nr dr cutoff', got {' '.join(words)[:60]!r}") from None
    if not (0 < nrho < 10**7 and 0 < nr < 10**7 and drho > 0 and dr > 0 and cut > 0):
        raise lines.fail(f"line {lines.i}: 'Nrho drho Nr dr cutoff' must be positive (counts below 10^7), got "
                         f"{' '.join(words)[:60]!r}")
    return nrho, nr


def _element_line(lines: _Lines) -> None:
    words = lines.line("'Z mass lattice-constant lattice-type' of an element")
    try:
        int(float(words[0])), float(words[1])
    except (IndexError, ValueError):
        raise lines.fail(f"line {lines.i}: expected 'Z mass lattice-constant lattice-type', got "
                         f"{' '.join(words)[:60]!r}") from None


@lru_cache(maxsize=64)
def _check(path: str, style: str, size: int, mtime: float) -> tuple[str, ...]:
    kind = EAM_STYLES[style]
    lines = _Lines(Path(path), kind)
    if kind == "funcfl":
        lines.line("a comment")
        _element_line(lines)
        nrho, nr = _grid(lines, lines.line("'Nrho drho Nr dr cutoff'"))
        lines.values(nrho, "F(rho)")
        lines.values(nr, "Z(r)")
        lines.values(nr, "rho(r)")
        return ()
    for _ in range(3):
        lines.line("a comment (setfl files begin with three)")
    words = lines.line("'N element1 ... elementN'")
    try:
        n = int(words[0])
    except (IndexError, ValueError):
        raise lines.fail(f"line 4: expected 'N element1 ... elementN', got {' '.join(words)[:60]!r}") from None
    if not 0 < n < 200 or len(words) != n + 1:
        raise lines.fail(f"line 4: expected 'N element1 ... elementN' with N elements, got {' '.join(words)[:60]!r}")
    elements = tuple(words[1:])
    nrho, nr = _grid(lines, lines.line("'Nrho drho Nr dr cutoff'"))
    for el in elements:
        _element_line(lines)
        lines.values(nrho, f"F(rho) of {el}")
        lines.values(nr * (n if kind == "fs" else 1), f"rho(r) of {el}")
    lines.values(nr * n * (n + 1) // 2, "the pair potentials r*phi(r)")
    return elements


def check_potential_file(path: Path | str, pair_style: str | None) -> tuple[str, ...]:
    """Check ``path`` as ``pair_style`` reads it (EAM styles; others pass); returns the elements a
    setfl/fs file names (``()`` for funcfl and other styles). One line for anything LAMMPS would
    not read."""
    if pair_style not in EAM_STYLES:
        return ()
    p = Path(path)
    try:
        st = p.stat()
    except OSError as exc:
        raise ConfigError(f"potential file {p}: {exc.strerror}") from None
    if st.st_size == 0:
        raise ConfigError(f"potential file {p}: empty (0 bytes)")
    return _check(str(p.resolve()), pair_style, st.st_size, st.st_mtime)
