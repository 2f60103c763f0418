"""The run folder as the pre-flight reads it: its ML-IAP decks, the deck its job launches, the
model it carries, the atom types of its data files, and a scratch copy to execute decks in.

The checks (:mod:`.checks`), the swapped-deck runs (:mod:`.execute`) and the on-build
comparison (:mod:`.onbuild`) all start from these, so a folder is read one way by all three.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from ..config import load_model
from ..lammps.deck import is_mliap_deck, world_partitions
from ..lammps.session import deck_lines
from ..models.staging import staged_model_argument
from ..tasks.neb import RELAXED


def mliap_decks(run_dir: Path) -> list[str]:
    """The ML-IAP decks of a run folder (the harness's own resume decks excepted)."""
    return sorted(p.name for p in Path(run_dir).glob("*.lammps")
                  if not p.name.startswith("in.resume") and is_mliap_deck(p.read_text()))


def main_deck(run_dir: Path) -> tuple[str, int]:
    """The deck a job's launch runs and its partitions: ``in.lammps`` (MD), or the deck of a
    task on several partitions (NEB: ``neb.in.lammps``, one partition per image)."""
    for path in sorted(run_dir.glob("*.lammps")):
        partitions = world_partitions(list(deck_lines(path.read_text())))
        if partitions:
            return path.name, partitions
    return "in.lammps", 1


def staged_model(run_dir: Path):
    """The model the folder carries (``model/model.yaml``), or ``None``; for a scaled model its
    base (what the export and the bridge comparison are made of)."""
    argument = staged_model_argument(run_dir)
    if argument is None:
        return None
    spec = load_model(argument)
    return spec.base if spec.family == "scaled" else spec


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
    return {RELAXED[w]: f"{w}.data" for w in RELAXED}


def scratch_copy(run_dir: Path, tmp: Path) -> Path:
    """The run folder as rendered, copied to ``tmp/run`` (the model linked, not copied)."""
    scratch = tmp / "run"
    shutil.copytree(run_dir, scratch, symlinks=True,
                    ignore=shutil.ignore_patterns("model", "figures", "*.lammpstrj", "log*", "restart.*"))
    if (run_dir / "model").exists():
        (scratch / "model").symlink_to((run_dir / "model").resolve())
    return scratch
