"""The production engine without a GPU: the real ML-IAP export of a MACE model, driven through
LAMMPS' own atoms, ghosts and neighbour lists (harness.lammps.mliap_driver), equals the bridge;
every rendered ML-IAP folder passes the pre-flight, and a broken one fails naming the line."""

from __future__ import annotations

import re
import shutil
from dataclasses import replace

import numpy as np
import pytest
from ase.build import bulk
from ase.spacegroup import crystal
from clihelp import fails

from harness.config import load_model
from harness.errors import EngineUnavailableError, ModelUnavailableError
from harness.forces import ForceSession

MODEL_ELEMENTS = ["Co", "Pt"]  # the model's own order (sorted by Z)
TYPE_ORDER = ["Pt", "Co"]      # the data file's atom types: deliberately another order


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """A cache of this module's own: the export below really runs, once."""
    mp = pytest.MonkeyPatch()
    path = tmp_path_factory.mktemp("cache")
    mp.setenv("HARNESS_CACHE", str(path))
    yield path
    mp.undo()


@pytest.fixture(scope="module")
def mace2(tmp_path_factory, cache):
    """A tiny untrained MACE for Co and Pt with two interaction layers: the second layer reads
    the first layer's features of ghost atoms, so the ghost exchange matters."""
    import warnings

    from harness.models.mace import build_small_mace

    path = tmp_path_factory.mktemp("mace2") / "tiny-CoPt-2L.model"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        build_small_mace(path, MODEL_ELEMENTS, channels=8, num_interactions=2)
    return path


@pytest.fixture(scope="module")
def exported(mace2):
    """``mace_create_lammps_model --format=mliap`` of the tiny model (cuequivariance-torch, CPU)."""
    from harness.models.mace import export_mliap

    return export_mliap(load_model(str(mace2)), dtype="float64")


@pytest.fixture(scope="module")
def unified(exported):
    from harness.lammps.mliap_driver import load_unified

    return load_unified(exported)


@pytest.mark.slow
def test_export_is_real_cached_by_hash_and_checked(mace2, exported):
    from harness.files import read_json
    from harness.models.mace import check_export, export_mliap, export_record_path

    out = exported
    assert out.name == f"{mace2.name}-mliap_lammps.pt" and out.parent.parent.name == "mliap"
    record = read_json(export_record_path(out))
    assert record["elements"] == MODEL_ELEMENTS and record["cutoff_A"] == 5.0 and record["dtype"] == "float64"
    assert record["versions"]["cuequivariance-torch"] == "0.13.0" and record["versions"]["mace-torch"] == "0.3.16"
    assert record["export_s"] > 0.5  # the exporter ran in this session (a fresh cache)
    mtime = out.stat().st_mtime_ns
    spec = load_model(str(mace2))
    assert export_mliap(spec, dtype="float64") == out and out.stat().st_mtime_ns == mtime  # cached: not again
    # a copy of the weights elsewhere has the same hash: the same export
    copy = mace2.parent / "copy" / mace2.name
    copy.parent.mkdir()
    shutil.copy2(mace2, copy)
    assert export_mliap(load_model(str(copy)), dtype="float64") == out
    # the load-back check refuses what LAMMPS would run differently
    with pytest.raises(ModelUnavailableError, match="exported in float64, float32 was asked for"):
        check_export(out, spec, "float32")
    with pytest.raises(ModelUnavailableError, match="cutoff 2·rcutfac = 5 Å, the model's r_max is 6 Å"):
        check_export(out, replace(spec, cutoff_A=6.0))


def _l12_unit_cell():
    """Pt3Co L1_2, one cubic cell (a = 3.85 Å < the 5 Å cutoff: each atom sees its own images)."""
    atoms = crystal(["Co", "Pt"], [(0, 0, 0), (0, 0.5, 0.5)], spacegroup=221, cellpar=[3.85] * 3 + [90] * 3)
    atoms.rattle(0.1, seed=3)
    return atoms


def _triclinic():
    """Primitive fcc cells (60° angles, 2×2×1 = 4 atoms, one Co): LAMMPS rotates the cell."""
    atoms = bulk("Pt", "fcc", a=3.9).repeat((2, 2, 1))
    atoms.symbols[1] = "Co"
    atoms.rattle(0.1, seed=4)
    return atoms


@pytest.mark.slow
@pytest.mark.parametrize("make", [_l12_unit_cell, _triclinic], ids=["orthogonal", "triclinic"])
def test_driver_equals_bridge(make, mace2, unified, tmp_path):
    from harness.lammps.mliap_driver import MliapDriver

    atoms = make()
    with MliapDriver(unified, atoms, type_elements=TYPE_ORDER, workdir=tmp_path / "driver") as drv, \
            ForceSession(load_model(str(mace2)), atoms, engine="bridge", workdir=tmp_path / "bridge") as fs:
        assert drv.pair_elements == TYPE_ORDER and drv.model_elements == MODEL_ELEMENTS
        frames = [(drv.result, fs.result)]
        moved = atoms.copy()
        moved.rattle(0.05, seed=11)
        frames.append((drv.evaluate(moved.positions), fs.evaluate(moved.positions)))  # same sessions, new frame
    for mine, bridge in frames:
        assert mine.self_image_pairs > 0 and mine.nghost > mine.nlocal  # ghosts include the atoms' own images
        assert mine.exchanges == {"forward": 1, "reverse": 1}  # layer 2 read ghost features, and back
        assert np.abs(bridge.forces_eV_A).max() > 0.05  # not a comparison of zeros
        assert abs(mine.energy_eV - bridge.energy_eV) < 1e-6
        assert np.abs(mine.forces_eV_A - bridge.forces_eV_A).max() < 1e-6
        assert np.abs(mine.stress_eV_A3 - bridge.stress_eV_A3).max() < 1e-8  # the pair virial too
        # per-atom energies (eatoms, written by the model) sum to the total, the bridge's included
        assert abs(mine.energies_eV.sum() - mine.energy_eV) < 1e-10
        assert abs(mine.energies_eV.sum() - bridge.energy_eV) < 1e-6
        assert np.ptp(mine.energies_eV) > 1e-4  # per atom, not the total spread evenly


@pytest.mark.slow
def test_ghost_exchange_is_what_makes_layer_two_right(mace2, unified, tmp_path, monkeypatch):
    """Without the forward exchange (ghost features left zero) the two-layer model is wrong:
    the agreement above is the exchange's doing, not a model that never reads ghosts."""
    from harness.lammps import mliap_driver

    atoms = _l12_unit_cell()
    with ForceSession(load_model(str(mace2)), atoms, engine="bridge", workdir=tmp_path / "bridge") as fs:
        bridge = fs.result

    def no_exchange(self, feats, out, vec_len):
        out.zero_()
        out[: self.nlocal] = feats[: self.nlocal].detach()

    monkeypatch.setattr(mliap_driver.MLIAPData, "forward_exchange", no_exchange)
    with mliap_driver.MliapDriver(unified, atoms, type_elements=TYPE_ORDER, workdir=tmp_path / "driver") as drv:
        assert abs(drv.result.energy_eV - bridge.energy_eV) > 1e-4


# ---------------------------------------------------------------------- pre-flight
def test_swap_replaces_only_the_mliap_pair_style():
    from harness.lammps.deck import swap_pair_style

    deck = ("read_data       structure.data\n"
            "pair_style      hybrid/scaled 0.93 mliap unified model/m.model-mliap_lammps.pt 0\n"
            "pair_coeff      * * mliap Pt Co\n"
            "neighbor        1 bin\n")
    s = swap_pair_style(deck, 5.0)
    assert s.text.splitlines() == ["read_data       structure.data", "pair_style      zero 5 full",
                                   "pair_coeff      * *", "neighbor        1 bin"]
    assert (s.pair_elements, s.mliap_file, s.scale, s.lines) == (["Pt", "Co"], "model/m.model-mliap_lammps.pt", 0.93,
                                                                 (2, 3))


@pytest.fixture(scope="module")
def mliap_run(mace2, tmp_path_factory):
    """`harness render … --engine mliap` for 2 nodes × 4 GPUs (the export is the cached one)."""
    from harness.cli import main

    runs = tmp_path_factory.mktemp("runs")
    main(["render", "--system", "Pt3Co", "--model", str(mace2), "--preset", "dynamat", "--engine", "mliap",
          "--gpus-per-node", "4", "--nodes", "2", "--runs-dir", str(runs)])
    (run_dir,) = runs.iterdir()
    return run_dir


@pytest.mark.slow
def test_render_exports_and_checks_the_model(mliap_run, mace2):
    from harness.files import read_json

    model = mliap_run / "model"
    assert (model / f"{mace2.name}-mliap_lammps.pt").is_file()
    assert read_json(model / f"{mace2.name}-mliap_lammps.json")["elements"] == MODEL_ELEMENTS


@pytest.mark.slow
def test_preflight_passes_for_a_rendered_mliap_md_folder(mliap_run, capsys):
    from harness.cli import main

    main(["preflight", str(mliap_run)])
    out = capsys.readouterr().out.splitlines()
    names = [re.match(r"(ok  |FAIL) ([^:]+):", line).group(2) for line in out[:-1]]
    assert names == ["job script", "launch", "elements (in.lammps)", "model", "deck in.lammps"]
    assert all(line.startswith("ok   ") for line in out[:-1]), out
    assert "-k on g 4 -sf kk -pk kokkos newton on neigh half -in in.lammps" in out[1]
    assert "pair_style zero 5 full" in out[4] and "`run             20000` → `run 10`" in out[4]
    assert out[-1].endswith("pre-flight passed (5 checks)")


def _broken(run_dir, tmp_path, file, old, new):
    copy = tmp_path / run_dir.name
    shutil.copytree(run_dir, copy, symlinks=True)
    text = (copy / file).read_text()
    assert old in text
    (copy / file).write_text(text.replace(old, new, 1))
    number = text[: text.index(old)].count("\n") + 1
    return copy, number


@pytest.mark.parametrize("file, old, new, expect", [
    # a typo LAMMPS only notices when it runs the command
    ("in.lammps", "dump_modify     traj sort id", "dump_modify     trajectory sort id",
     (r"FAIL deck in\.lammps: in\.lammps line {n}: `dump_modify trajectory sort id format float %\.10g`: LAMMPS: "
      r"Could not find dump_modify ID")),
    ("in.lammps", "pair_coeff      * * Co Pt", "pair_coeff      * * Pt Co",
     (r"FAIL elements \(in\.lammps\): atom type 1 of structure\.data has mass 58\.9332 \(Co\), but pair_coeff "
      r"gives it Pt")),
    ("job.sh", "\nfi\n", "\n", r"FAIL job script: bash -n job\.sh: job\.sh: line \d+: syntax error"),
    ("job.sh", "-k on g 4", "-k on g 2", r"FAIL launch: job\.sh line {n}: `-k on g 2` but the job has 4 GPUs per node"),
], ids=["deck", "element-order", "bash", "kokkos-gpus"])
@pytest.mark.slow
def test_preflight_fails_naming_the_line(mliap_run, tmp_path, capsys, file, old, new, expect):
    from harness.cli import main

    broken, number = _broken(mliap_run, tmp_path, file, old, new)
    with pytest.raises(SystemExit) as exc:
        main(["preflight", str(broken)])
    out, err = capsys.readouterr()
    assert exc.value.code == 2 and "Traceback" not in err
    assert err.strip().splitlines()[-1] == (f"harness: error: {broken}: pre-flight failed "
                                            f"({re.match(r'FAIL ([^:]+):', expect).group(1).replace(chr(92), '')}): "
                                            "fix it before submitting")
    failed = [line for line in out.splitlines() if not line.startswith("ok   ")]
    assert len(failed) == 1 and re.match(expect.format(n=number), failed[0]), out
    assert len(out.splitlines()) == 5  # every check still reported, one line each


@pytest.fixture(scope="module")
def mliap_neb(mace2, tmp_path_factory):
    """An ML-IAP NEB folder (Pt3Co vacancy hop, 3 images) with the job script of the example GPU
    profile (one rank and one GPU per image)."""
    from harness.cli import main
    from harness.jobs.campaign import render_job
    from harness.jobs.profiles import load_profile
    from harness.tasks.base import load_task

    runs = tmp_path_factory.mktemp("neb")
    main(["neb", "--system", "Pt3Co", "--model", str(mace2), "--hop", "vacancy:Co", "--images", "3",
          "--engine", "mliap", "--render-only", "--runs-dir", str(runs)])
    (run_dir,) = runs.iterdir()
    render_job(load_task(run_dir, render_only=True), run_dir, load_profile("example-gpu"))
    return run_dir


@pytest.mark.slow
def test_preflight_runs_an_neb_deck_on_its_partitions(mliap_neb, capsys):
    """The NEB deck on 3 partitions of the wheel's own lmp (mpiexec -n 3 lmp -partition 3x1),
    with the inputs `harness execute` would write made here; the relax decks on one."""
    from harness.cli import main

    main(["preflight", str(mliap_neb)])
    out = capsys.readouterr().out.splitlines()
    assert all(line.startswith("ok   ") for line in out[:-1]), out
    launch = next(line for line in out if line.startswith("ok   launch"))
    # 3 images: 3 ranks, one GPU each (the job asks for 3 of the node's 4)
    assert "--ntasks=3 lmp -k on g 3 -sf kk -pk kokkos newton on neigh half -partition 3x1 -in neb.in.lammps" in launch
    neb = next(line for line in out if line.startswith("ok   deck neb.in.lammps"))
    assert "on 3 partitions (mpiexec -n 3 lmp -partition 3x1)" in neb and "image.1..3.coords" in neb
    assert "elements (neb.in.lammps)" in "\n".join(out) and out[-1].endswith("pre-flight passed (9 checks)")


@pytest.mark.slow
def test_preflight_fails_a_broken_neb_deck_with_lammps_words(mliap_neb, tmp_path, capsys):
    from harness.cli import main

    broken, _ = _broken(mliap_neb, tmp_path, "neb.in.lammps", "fix             neb all neb",
                        "fix             neb all nebb")
    with pytest.raises(SystemExit) as exc:
        main(["preflight", str(broken)])
    out = capsys.readouterr().out
    assert exc.value.code == 2
    (failed,) = [line for line in out.splitlines() if line.startswith("FAIL")]
    assert failed.startswith("FAIL deck neb.in.lammps: neb.in.lammps on 3 partitions: ") and "nebb" in failed, failed


@pytest.mark.slow
def test_on_build_says_what_this_build_lacks(mliap_run, capsys, monkeypatch):
    """Here (the PyPI wheel) the real ML-IAP pair style cannot run: one line saying so and what to
    do on the cluster, after the pre-flight itself passed."""
    from harness.lammps import probe as probe_module
    from harness.preflight import on_build

    caps = replace(probe_module.probe(), mliap_python=False)
    with pytest.raises(EngineUnavailableError):
        on_build(mliap_run, caps=caps)
    monkeypatch.setattr(probe_module, "probe", lambda: caps)  # what the wheel reports (also on a capable build)
    line = fails(capsys, "preflight", str(mliap_run), "--on-build")
    assert line == ("harness: error: --on-build: this LAMMPS build lacks ML-IAP Python coupling "
                    "(-D MLIAP_ENABLE_PYTHON=on, with PKG_PYTHON=on); run `harness preflight RUN_DIR --on-build` on "
                    "the cluster, on a GPU node, in the job's environment (its LAMMPS Python module, mace-torch and "
                    "cuequivariance-torch)")


@pytest.mark.slow
def test_on_build_comparison_reads_the_frame_as_lammps_wrote_it(mace2, unified, tmp_path):
    """The comparison --on-build makes after the real deck (a `write_data` frame, forces in atom-ID
    order, types in pair_coeff's order), fed here with the driver's forces: they agree."""
    from harness.lammps.mliap_driver import MliapDriver
    from harness.preflight import compare_with_bridge

    atoms = _l12_unit_cell()
    with MliapDriver(unified, atoms, type_elements=TYPE_ORDER, workdir=tmp_path / "driver") as drv:
        drv.session.command("write_data frame.data")
        df, de = compare_with_bridge(tmp_path / "driver" / "frame.data", drv.result.forces_eV_A, drv.result.energy_eV,
                                     TYPE_ORDER, load_model(str(mace2)))
    assert df < 1e-6 and de < 1e-6
    shuffled = drv.result.forces_eV_A[::-1]  # another atom order is caught
    assert compare_with_bridge(tmp_path / "driver" / "frame.data", shuffled, drv.result.energy_eV, TYPE_ORDER,
                               load_model(str(mace2)))[0] > 1e-3


def test_preflight_refuses_a_folder_without_mliap_deck(tmp_path, capsys):
    from harness.cli import main

    main(["render", "--system", "Cu", "--model", "eam", "--runs-dir", str(tmp_path)])
    capsys.readouterr()
    (run_dir,) = tmp_path.iterdir()
    line = fails(capsys, "preflight", str(run_dir))
    assert "no ML-IAP deck" in line and "--engine mliap" in line
