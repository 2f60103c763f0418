"""A run folder's job script read as text: its ``#SBATCH`` resources and the LAMMPS launch it makes.

Two kinds of script reach the pre-flight: the run folder's own (``templates/slurm.sh.j2``:
``srun "$LMP" … -in DECK``, read as it is) and a cluster profile's (``templates/jobs/``:
``harness execute . --ranks N`` with the LAMMPS switches in ``HARNESS_LAMMPS_ARGS``, read as
the launch it amounts to). Both become one list of words that the launch check judges alike.
"""

from __future__ import annotations

import re
import shlex

JOB = "job.sh"


def sbatch_value(text: str, key: str) -> str | None:
    """The value of ``#SBATCH --<key>=VALUE`` in a job script, or ``None`` if it does not ask."""
    m = re.search(rf"^#SBATCH\s+--{key}=(\S+)", text, re.MULTILINE)
    return m.group(1) if m else None


def launch_line(job_text: str) -> tuple[int, list[str]] | None:
    """(line number, words) of the job script's LAMMPS launch: the line with ``-in``."""
    for number, raw in enumerate(job_text.splitlines(), start=1):
        if raw.lstrip().startswith("#"):
            continue
        try:
            words = shlex.split(raw, comments=True)
        except ValueError:
            continue
        if "-in" in words and any(w in ("$LMP", "lmp") or w.endswith("/lmp") for w in words):
            return number, words
    return None


def harness_launch(job_text: str, deck: str = "in.lammps", partitions: int = 1) -> tuple[int, list[str]] | None:
    """A cluster profile's job script (``harness jobs``) launches LAMMPS through ``harness
    execute . --ranks N`` (N per partition) with the switches in ``HARNESS_LAMMPS_ARGS``: (line
    number, the words of the equivalent launch line ``srun --ntasks=N×P lmp <switches> -in <deck>``).

    Parameters
    ----------
    job_text : str
        The job script.
    deck : str
        The deck the launch runs (what ``harness execute`` runs in the folder).
    partitions : int
        The deck's partitions (an NEB: one per image); the ranks are per partition.
    """
    m = re.search(r"^export HARNESS_LAMMPS_ARGS=(.*)$", job_text, re.MULTILINE)
    switches = shlex.split(m.group(1))[0].split() if m else []
    for number, raw in enumerate(job_text.splitlines(), start=1):
        try:
            words = shlex.split(raw, comments=True)
        except ValueError:
            continue
        if len(words) > 3 and words[1] == "execute" and "--ranks" in words:
            ranks = int(words[words.index("--ranks") + 1]) * partitions
            extra = ["-partition", f"{partitions}x1"] if partitions > 1 else []
            return number, ["srun", f"--ntasks={ranks}", "lmp", *switches, *extra, "-in", deck]
    return None
