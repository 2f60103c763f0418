"""The checks of the pre-flight, one :class:`~.result.Check` each, and :func:`preflight`: all of
them on a run folder, in the order the command prints them (see :mod:`harness.preflight`).

Each check reads what the cluster will read (the job script, the decks, the data files, the
exported model) with the tools that will read it (``bash -n``, ASE's element table, the
exporter's own loader, this LAMMPS); a check that cannot run is a ``FAIL`` line, not an error,
so every check is still reported.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from ase.data import atomic_masses, atomic_numbers

from ..errors import RunFolderError
from ..files import file_sha256, read_json
from ..lammps.deck import read_data_file, swap_pair_style
from ..models.mace import check_export as check_mace_export
from ..models.mace import export_record_path
from ..models.metadata import model_info
from .execute import FEW_STEPS, run_swapped
from .folder import data_types, made_at_execute, main_deck, mliap_decks, staged_model
from .jobscript import JOB, harness_launch, launch_line, sbatch_value
from .result import Check


def check_job_script(run_dir: Path) -> Check:
    """``job script``: ``bash -n job.sh`` parses the folder's job script."""
    job = run_dir / JOB
    if not job.is_file():
        return Check("job script", False, f"no {JOB} in the run folder")
    proc = subprocess.run(["bash", "-n", JOB], cwd=run_dir, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        first = (proc.stderr.strip().splitlines() or [f"exit code {proc.returncode}"])[0]
        return Check("job script", False, f"bash -n {JOB}: {first}")
    return Check("job script", True, f"bash -n {JOB} parses it")


def check_launch(run_dir: Path) -> Check:
    """``launch``: the Kokkos launch line agrees with the job's resources: one MPI rank per GPU,
    ``-k on g N`` with N = GPUs per node, ``-sf kk``, ``-pk kokkos newton on neigh half``, and
    ``-in`` naming a deck of the folder."""
    job = run_dir / JOB
    if not job.is_file():
        return Check("launch", False, f"no {JOB}")
    text = job.read_text()
    deck, partitions = main_deck(run_dir)
    found = launch_line(text) or harness_launch(text, deck, partitions)
    if found is None:
        return Check("launch", False, f"{JOB} has no LAMMPS launch line (`… lmp … -in DECK`, or `harness execute`)")
    number, words = found
    where = f"{JOB} line {number}"
    gpus = int(sbatch_value(text, "gpus-per-node") or 0)
    nodes = int(sbatch_value(text, "nodes") or 1)
    total = sbatch_value(text, "ntasks")  # a cluster profile's scripts ask for tasks in total
    tasks = int(sbatch_value(text, "ntasks-per-node") or (int(total) // nodes if total else 1))
    if gpus < 1:
        return Check("launch", False, f"{JOB} asks for no GPUs (#SBATCH --gpus-per-node): render the GPU folder "
                                      "with --gpus-per-node N")

    def after(flag: str, n: int) -> list[str] | None:
        for k in range(len(words) - n):
            if words[k] == flag:
                return words[k + 1:k + 1 + n]
        return None

    problems = []
    k = after("-k", 3)
    if k is None or k[:2] != ["on", "g"]:
        problems.append("no `-k on g N` (Kokkos on the GPUs)")
    elif k[2] != str(gpus):
        problems.append(f"`-k on g {k[2]}` but the job has {gpus} GPUs per node")
    if after("-sf", 1) != ["kk"]:
        problems.append("no `-sf kk` (the Kokkos styles)")
    pk = after("-pk", 5)
    if pk is None or pk[0] != "kokkos" or " ".join(pk[1:]) != "newton on neigh half":
        problems.append("no `-pk kokkos newton on neigh half`")
    ntasks = next((w.split("=", 1)[1] for w in words if w.startswith("--ntasks=")), None)
    if total is not None:  # a cluster profile's script: tasks in total, one GPU each, nodes as few as fit
        ranks = int(ntasks) if ntasks is not None else int(total)
        if ranks != int(total) or -(-ranks // gpus) != nodes:
            problems.append(f"{ranks} MPI ranks on {nodes} node(s) × {gpus} GPUs (one rank per GPU: "
                            f"{-(-ranks // gpus)} node(s) for --ntasks={total})")
        per_node = sbatch_value(text, "ntasks-per-node")
        if per_node is None:
            problems.append("no #SBATCH --ntasks-per-node (Slurm may put more ranks on a node than it has GPUs)")
        elif int(per_node) > gpus:
            problems.append(f"--ntasks-per-node={per_node} on nodes of {gpus} GPUs (one rank per GPU)")
    else:
        if tasks != gpus:
            problems.append(f"{tasks} MPI ranks per node for {gpus} GPUs (one rank per GPU: --ntasks-per-node={gpus})")
        if ntasks is not None and int(ntasks) != nodes * gpus:
            problems.append(f"srun --ntasks={ntasks}, but {nodes} node(s) × {gpus} GPUs need {nodes * gpus}")
    if "--gpu-bind" in text:
        problems.append("srun --gpu-bind with `-k on g N`: a rank sees only its bound GPU(s) while Kokkos picks "
                        "device (local rank % N) among all N; leave the binding to Kokkos")
    deck = after("-in", 1)
    if deck is None or not (run_dir / deck[0]).is_file():
        problems.append(f"`-in {deck[0] if deck else ''}` names no deck of this folder")
    if problems:
        return Check("launch", False, f"{where}: " + "; ".join(problems))
    return Check("launch", True, f"{nodes} node(s) × {gpus} GPUs, {tasks} ranks per node (one per GPU): "
                                 f"{' '.join(w for w in words if w != 'srun')}")


def check_elements(run_dir: Path, deck_name: str, deck: str, model_elements: list[str] | None) -> Check:
    """``elements (<deck>)``: the elements of ``pair_coeff * *`` are the data file's atom types, in
    order (count, masses, ASE's ``# Pt`` comments), and the model covers them."""
    name = f"elements ({deck_name})"
    try:
        elements = swap_pair_style(deck, 1.0).pair_elements
    except RunFolderError as exc:
        return Check(name, False, str(exc))
    data_name = read_data_file(deck)
    if data_name is not None and not (run_dir / data_name).is_file():
        data_name = made_at_execute().get(data_name, data_name)  # (its types are the rendered file's)
    if data_name is None or not (run_dir / data_name).is_file():
        return Check(name, False, f"the deck reads no data file of this folder (read_data {data_name or '?'})")
    types = data_types(run_dir / data_name)
    if len(types) != len(elements):
        return Check(name, False, f"pair_coeff names {len(elements)} element(s) ({' '.join(elements)}), "
                                  f"{data_name} has {len(types)} atom types")
    for t, (el, (mass, comment)) in enumerate(zip(elements, types), start=1):
        if el not in atomic_numbers:
            return Check(name, False, f"pair_coeff names '{el}', not an element")
        expected = atomic_masses[atomic_numbers[el]]
        if comment not in (None, el) or not abs(mass - expected) < 1e-3 * expected:
            said = f" ({comment})" if comment else ""
            return Check(name, False, f"atom type {t} of {data_name} has mass {mass:g}{said}, but pair_coeff gives it "
                                      f"{el} ({expected:g}): the type order differs from pair_coeff's")
    if model_elements is not None:
        missing = [e for e in elements if e not in model_elements]
        if missing:
            return Check(name, False, f"the model does not cover {', '.join(missing)} "
                                      f"(it covers {', '.join(model_elements)})")
    return Check(name, True, f"pair_coeff * * {' '.join(elements)} = the atom types 1..{len(elements)} of {data_name}")


def check_export(run_dir: Path, mliap_file: str, model_spec) -> Check:
    """``model``: the exported ``<model>-mliap_lammps.pt`` in the folder loads, is the file exported
    and checked at render (its record's sha256), and its elements, cutoff and precision are the
    model's. Absent, it passes: the job script exports it on the cluster."""
    path = run_dir / mliap_file
    if not path.is_file():
        return Check("model", True, f"{mliap_file} is not in the folder: job.sh exports it on the cluster "
                                    "(mace_create_lammps_model … --format=mliap, needs cuequivariance-torch there)")
    record = export_record_path(path)
    rec = read_json(record) if record.is_file() else {}
    if rec.get("sha256") and rec["sha256"] != file_sha256(path):
        return Check("model", False, f"{mliap_file} is not the file exported and checked at render "
                                     f"(sha256 differs from {record.name}); render the folder again")
    try:
        info = check_mace_export(path, model_spec, rec.get("dtype"))
    except Exception as exc:  # noqa: BLE001 - any failure to load is the finding
        return Check("model", False, f"{mliap_file}: {exc}")
    return Check("model", True, f"{mliap_file} loads: elements {' '.join(info['elements'])}, cutoff "
                                f"{info['cutoff_A']:g} Å, {info['dtype']}")


def preflight(run_dir: Path | str, steps: int = FEW_STEPS) -> list[Check]:
    """Every check of the pre-flight on ``run_dir``; the caller stops on any failure.

    Parameters
    ----------
    run_dir : Path or str
        A folder rendered with ``--engine mliap``.
    steps : int
        What every ``run``/``minimize``/``neb`` of the executed decks is cut to.

    Returns
    -------
    list of Check
        ``job script``, ``launch``, ``elements`` of each ML-IAP deck, ``model`` (when the folder
        carries one) and ``deck`` of each ML-IAP deck, in that order.

    Raises
    ------
    RunFolderError
        The folder has no ML-IAP deck: there is nothing to pre-flight.
    """
    run_dir = Path(run_dir)
    decks = mliap_decks(run_dir)
    if not decks:
        raise RunFolderError(f"{run_dir}: no ML-IAP deck (`pair_style mliap unified`); the pre-flight is for "
                             "folders rendered with --engine mliap")
    spec = staged_model(run_dir)
    info = model_info(spec) if spec is not None else None
    model_elements = list(info.elements) if info and info.elements else None
    checks = [check_job_script(run_dir), check_launch(run_dir)]
    first = (run_dir / decks[0]).read_text()
    checks += [check_elements(run_dir, d, (run_dir / d).read_text(), model_elements) for d in decks]
    if spec is not None:
        checks.append(check_export(run_dir, swap_pair_style(first, 1.0).mliap_file, spec))
    cutoff = (info.cutoff_A if info else None) or 6.0
    checks += [run_swapped(run_dir, d, cutoff, steps) for d in decks]
    return checks
