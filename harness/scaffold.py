"""``harness init``: a project folder for production work, written from the shipped defaults.

The folder gets a copy of every shipped file of :data:`harness.config.project.SHIPPED_FILES`
(``inputs/``, ``potentials/``, ``templates/``; ``clusters/`` as soon as cluster profiles
ship) and a README of what each folder holds. An existing file is never overwritten: it is
kept and reported, so ``harness init`` can be run again after an upgrade to add what is new.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .errors import ConfigError

# What each folder of a project holds (the README harness init writes). A folder is
# described only when the shipped defaults have it, e.g. clusters/.
FOLDER_NOTES = {
    "inputs": "systems, one YAML each: `--system NAME` reads `inputs/NAME.yaml` (a prototype with lattice "
              "constants, or `structure: {file: ...}`), its temperature and presets (`quick`, `dynamat`)",
    "potentials": "models, one YAML each: `--model NAME` reads `potentials/NAME.yaml` (family, engines, "
                  "weights or potential files); `harness softening --fit-correction` writes corrected models here",
    "templates": "every LAMMPS deck (`md.in.j2`, `forces.in.j2`, `pair/<engine>.j2`) and the Slurm job "
                 "script (`slurm.sh.j2`), Jinja; each run folder records the sha256 of the ones it used",
    "clusters": "cluster profiles (partitions, modules, launch lines) for the job scripts",
}

README = """\
# harness project

Written by `harness init` (harness {version}). Run `harness` from this folder or any folder
below it (its `runs/`, a run folder): a file here overrides the shipped file of the same name,
and a name that is not here falls back to the shipped one. The lookup order is `$HARNESS_ROOT`,
then this project folder, then the shipped defaults; `harness list systems|models|templates`
says where each entry comes from.

{folders}
- `runs/`: run folders (`--runs-dir` puts them elsewhere; keep them below this folder so that
  `harness execute` inside a run folder finds this project's files).

The files here started as copies of the shipped ones: edit them, add new ones, or delete one
to go back to the shipped version (and get its updates with a newer harness).
Downloaded weights and ML-IAP exports are not kept here: they go to the user cache
(`$HARNESS_CACHE` if set; `harness list models` prints where).
"""


@dataclass
class InitReport:
    """What :func:`init_project` did: files written and kept (paths relative to the project)."""

    root: Path
    written: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    folders: list[str] = field(default_factory=list)


def shipped_files(root: Path) -> dict[str, list[Path]]:
    """The shipped files below ``root`` by folder (folders the defaults lack are left out)."""
    from .config.project import SHIPPED_FILES

    out = {}
    for folder, patterns in SHIPPED_FILES.items():
        base = root / folder
        if not base.is_dir():
            continue  # e.g. no cluster profiles ship yet: no clusters/ in the project either
        files = sorted({p for pattern in patterns for p in base.glob(pattern) if p.is_file()
                        and not any(part.startswith(".") for part in p.relative_to(base).parts)})
        out[folder] = files
    return out


def _write_new(path: Path, data: bytes) -> bool:
    """Create ``path`` with ``data``; ``False`` (and nothing written) if it exists already."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(path, "xb") as fh:  # exclusive create: never overwrites, not even in a race
            fh.write(data)
    except FileExistsError:
        return False
    return True


def init_project(directory: Path) -> InitReport:
    """Write a project folder into ``directory`` (created if needed), never overwriting a file.

    Parameters
    ----------
    directory
        The project folder.

    Returns
    -------
    InitReport
        The files written and the existing files kept, relative to ``directory``.
    """
    from . import __version__
    from .config.project import shipped_root

    source = shipped_root()
    if source is None:
        raise ConfigError("no shipped defaults found (neither harness/_shipped in the installed package nor a "
                          "source checkout): reinstall the harness")
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise ConfigError(f"{directory}: exists and is not a folder")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"{directory}: cannot create the project folder ({exc.strerror})") from None
    report = InitReport(root=directory)
    for folder, files in shipped_files(source).items():
        report.folders.append(folder)
        (directory / folder).mkdir(parents=True, exist_ok=True)
        for src in files:
            rel = src.relative_to(source).as_posix()
            target = directory / rel
            if target.exists() or not _write_new(target, src.read_bytes()):
                report.kept.append(rel)
                continue
            report.written.append(rel)  # with the user's default mode: an installed copy may be read-only
    notes = "\n".join(f"- `{folder}/`: {FOLDER_NOTES.get(folder, 'shipped ' + folder)}." for folder in report.folders)
    readme = README.format(version=__version__, folders=notes)
    (report.written if _write_new(directory / "README.md", readme.encode()) else report.kept).append("README.md")
    return report
