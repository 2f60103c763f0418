"""What a model covers is known before anything runs; a run folder carries its model (checked by
hash); the precision is a stated choice; the terminal shows the harness's own lines only."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from ase.calculators.singlepoint import SinglePointCalculator
from clihelp import fails

from harness.cli import main

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def hcu_mace(tmp_path_factory) -> Path:
    """A third-party-like MACE file trained on H and Cu only (untrained weights; the elements matter)."""
    import warnings

    from harness.models.mace import build_small_mace

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return build_small_mace(tmp_path_factory.mktemp("hcu") / "MACE_HCu.model", ["H", "Cu"], channels=8,
                                num_interactions=1)


@pytest.fixture(scope="module")
def float32_mace(tiny_mace, tmp_path_factory) -> Path:
    """The tiny Co/Pt/Cu MACE stored in float32 (as most foundation checkpoints are)."""
    import torch

    from harness._env import prepare_torch

    prepare_torch()
    model = torch.load(str(tiny_mace), weights_only=False).float()
    path = tmp_path_factory.mktemp("f32") / "tiny-f32.model"
    torch.save(model, str(path))
    return path


def frames_file(path: Path, symbol_pairs) -> Path:
    """A labelled-frames file (zero forces) of the given structure."""
    from harness.io.frames import write_frames

    atoms = symbol_pairs.copy()
    atoms.calc = SinglePointCalculator(atoms, energy=0.0, forces=np.zeros((len(atoms), 3)))
    return write_frames(path, [atoms])


def americium_yaml(folder: Path) -> Path:
    path = folder / "Am.yaml"
    path.write_text("temperature_K: 300\nstructure: {prototype: fcc, elements: [Am], a_A: 4.9}\n"
                    "presets: {quick: {supercell: [2, 2, 2], timestep_fs: 1.0, steps: 10}}\n")
    return path


# ----------------------------------------------------------------------------- coverage
@pytest.mark.parametrize("model", ["local-mace", "chgnet", "sevennet", "eam", "scaled"])
def test_an_uncovered_element_is_refused_before_anything_runs(model, hcu_mace, tmp_path, capsys):
    from harness.config import load_system
    from harness.systems import build_atoms

    runs = tmp_path / "runs"
    if model == "local-mace":
        arg, system, missing, covers = str(hcu_mace), "Pt3Co", "Co, Pt", "H, Cu"
    elif model in ("chgnet", "sevennet"):  # CHGNet: H..Pu (its embedding's 94 rows); SevenNet-0: 89 species
        arg, system, missing = model, str(americium_yaml(tmp_path)), "Am"
        covers = "H, He" if model == "chgnet" else "Ac, Ag"
    else:
        arg, system, missing, covers = "eam", "Pt3Co", "Co", "Ag, Au"
        if model == "scaled":
            arg = str(tmp_path / "soft.yaml")
            Path(arg).write_text("family: scaled\nbase: eam\nscale: 0.9\n")
    structure = build_atoms(load_system(system).structure, (1, 1, 1))
    frames = frames_file(tmp_path / "frames.extxyz", structure)
    commands = [["run", "--system", system, "--model", arg],
                ["render", "--system", system, "--model", arg, "--engine", "mliap", "--gpus-per-node", "4"],
                ["phonons", "--system", system, "--model", arg],
                ["singlepoint", "--model", arg, "--reference", str(frames)]]
    for args in commands:
        msg = fails(capsys, *args, "--runs-dir", str(runs))
        assert f"does not cover element(s) {missing}" in msg, (args, msg)
        assert f"(it covers: {covers}" in msg, msg
    assert not runs.exists()  # refused before any run folder


def test_what_a_model_file_covers_is_read_once_and_cached(hcu_mace, tmp_path, monkeypatch):
    from harness.config import load_model
    from harness.files import files_sha256
    from harness.models import metadata

    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "cache"))
    metadata._info_of_files.cache_clear()
    spec = load_model(str(hcu_mace))
    info = metadata.model_info(spec)
    assert info.elements == ("H", "Cu") and info.cutoff_A == pytest.approx(5.0) and info.dtype == "float64"
    cached = tmp_path / "cache" / "metadata" / f"{files_sha256([hcu_mace])}.json"
    assert json.loads(cached.read_text())["info"]["elements"] == ["H", "Cu"]
    metadata._info_of_files.cache_clear()
    from dataclasses import replace

    from harness import catalog
    from harness.models import family

    never = replace(family("mace"), read_info=lambda files: pytest.fail("read the file again"))
    monkeypatch.setitem(catalog._LOADED, ("model family", "mace"), never)
    assert metadata.model_info(spec).elements == ("H", "Cu")  # from the cache file, not the model


# ----------------------------------------------------------------------------- self-contained folders
def test_a_rendered_folder_carries_its_model_and_runs_elsewhere(tiny_mace, tmp_path, capsys):
    """Render with a local MACE file, move the folder to another place and delete the original
    file: `harness execute` runs it from the folder's own copy. A changed copy is refused."""
    local = tmp_path / "elsewhere" / tiny_mace.name
    local.parent.mkdir()
    shutil.copy2(tiny_mace, local)
    main(["render", "--system", "Pt3Co", "--model", str(local), "--engine", "bridge", "--steps", "10",
          "--runs-dir", str(tmp_path / "a")])
    (rendered,) = (tmp_path / "a").iterdir()
    staged = json.loads((rendered / "summary.json").read_text())["model"]["staged"]
    assert staged["mode"] == "copy" and staged["files"][0]["name"] == local.name
    assert len(staged["files"][0]["sha256"]) == 64 and (rendered / "model" / local.name).is_file()
    moved = tmp_path / "b" / rendered.name
    moved.parent.mkdir()
    shutil.move(rendered, moved)
    local.unlink()  # the rendering machine's file is gone
    main(["execute", str(moved), "--no-progress"])
    summary = json.loads((moved / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["timings"]["md_steps"] == 10

    weights = moved / "model" / local.name
    data = bytearray(weights.read_bytes())
    data[-10] ^= 0xFF
    weights.write_bytes(bytes(data))
    msg = fails(capsys, "execute", str(moved))
    assert "sha256" in msg and "refusing to run another model" in msg


def test_a_model_declared_on_the_cluster_is_linked_by_the_job(tiny_mace, tmp_path, capsys):
    runs = tmp_path / "runs"
    main(["render", "--system", "Pt3Co", "--model", str(tiny_mace), "--engine", "mliap", "--gpus-per-node", "2",
          "--model-path-on-cluster", "/cluster/models/tiny-PtCo.model", "--runs-dir", str(runs)])
    (run_dir,) = runs.iterdir()
    job = (run_dir / "job.sh").read_text()
    assert "ln -sfn /cluster/models/tiny-PtCo.model model/tiny-PtCo.model" in job
    assert "mace_create_lammps_model model/tiny-PtCo.model --format=mliap" in job
    assert not (run_dir / "model" / "tiny-PtCo.model").exists() and (run_dir / "model" / "model.yaml").is_file()
    assert subprocess.run(["bash", "-n", str(run_dir / "job.sh")]).returncode == 0
    msg = fails(capsys, "execute", str(run_dir))
    assert "missing (declared on the cluster at /cluster/models/tiny-PtCo.model" in msg
    msg = fails(capsys, "render", "--system", "Pt3Co", "--model", str(tiny_mace), "--engine", "mliap",
                "--model-path-on-cluster", "/x/$(reboot).model", "--runs-dir", str(tmp_path / "bad"))
    assert "is not a plain path" in msg and not (tmp_path / "bad").exists()


# ----------------------------------------------------------------------------- precision
def test_precision_is_a_stated_choice(float32_mace, tmp_path, capsys):
    runs = tmp_path / "runs"
    main(["md", "--system", "Pt3Co", "--model", str(float32_mace), "--steps", "4", "--runs-dir", str(runs),
          "--no-progress"])
    err = capsys.readouterr().err
    assert "runs in float32 (trained in float32; MD runs in the precision the model was trained in)" in err
    (md_dir,) = runs.iterdir()
    prec = json.loads((md_dir / "summary.json").read_text())["model"]["precision"]
    assert prec == {"trained": "float32", "used": "float32", "why": "MD runs in the precision the model was trained in"}
    main(["phonons", "--system", "Pt3Co", "--model", str(float32_mace), "--supercell", "1", "1", "1", "--mesh", "2",
          "2", "2", "--runs-dir", str(runs)])
    err = capsys.readouterr().err
    assert "runs in float64 (trained in float32; phonons uses float64 by default)" in err
    assert "Default dtype" not in err


@pytest.mark.slow
def test_the_terminal_shows_only_the_harness_lines(float32_mace, tmp_path):
    """`harness run` and `harness phonons` with a small MACE (which converts precision for the
    phonons): every line on the terminal is the harness's own."""
    env = dict(os.environ, HARNESS_ROOT=str(ROOT))
    env.pop("HARNESS_DEBUG", None)
    lines = []
    for args in (["run", "--system", "Pt3Co", "--steps", "20"], ["phonons", "--system", "Pt3Co", "--supercell",
                                                                 "1", "1", "1", "--mesh", "2", "2", "2"]):
        proc = subprocess.run([sys.executable, "-m", "harness", *args, "--model", str(float32_mace), "--runs-dir",
                               str(tmp_path / "runs")], capture_output=True, text=True, env=env, timeout=600)
        assert proc.returncode == 0, proc.stderr
        lines += (proc.stdout + proc.stderr).splitlines()
    own = re.compile(r"^(\[[^\]]+\] |run folder: |engine: |model: |T = |P = |RDF |D = |D: |[\d.]+ ms/step |results: |"
                     r"\d+ displaced supercells |max frequency |harmonic thermodynamics |md done|warning: |skipped: )")
    strangers = [ln for ln in lines if ln.strip() and not own.match(ln)]
    assert not strangers, strangers
