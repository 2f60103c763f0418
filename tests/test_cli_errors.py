"""Bad input: one line on stderr, non-zero exit, no traceback, nothing half-written called a result."""

from __future__ import annotations

import pytest
from clihelp import fails

from harness.cli import main


def test_unknown_names_list_the_valid_ones(capsys, runs_dir):
    rd = ["--runs-dir", str(runs_dir)]
    msg = fails(capsys, "md", "--system", "Unobtainium", *rd)
    assert "unknown system 'Unobtainium'" in msg and "Pt3Co" in msg and "Cu" in msg
    msg = fails(capsys, "md", "--model", "nosuchmodel", *rd)
    assert "unknown model" in msg and "chgnet" in msg and "mace" in msg
    msg = fails(capsys, "md", "--system", "Cu", "--model", "eam", "--engine", "warp", *rd)
    assert "unknown engine 'warp'" in msg and "bridge" in msg
    msg = fails(capsys, "md", "--system", "Cu", "--model", "eam", "--preset", "huge", *rd)
    assert "unknown preset 'huge'" in msg and "dynamat" in msg and "quick" in msg
    msg = fails(capsys, "md", "--system", "Cu", "--model", "mace:large-xl", *rd)
    assert "unknown variant" in msg and "small" in msg
    assert not runs_dir.exists() or not any(runs_dir.iterdir())  # validated before any folder


def test_malformed_yaml_names_file_and_line(capsys, tmp_path, runs_dir):
    bad = tmp_path / "Broken.yaml"
    bad.write_text("name: Broken\nstructure: {prototype: fcc, elements: [Cu]\n")
    msg = fails(capsys, "md", "--system", str(bad), "--model", "eam", "--runs-dir", str(runs_dir))
    assert "Broken.yaml" in msg and "malformed YAML" in msg and "line" in msg


@pytest.mark.parametrize(
    "field, value, expect",
    [
        ("prototype", "fcc-ish", "'structure.prototype' must be one of"),
        ("timestep_fs", "-1.0", "'presets.quick.timestep_fs' must be a positive number"),
        ("temperature_K", "0", "'temperature_K' must be a positive number"),
        ("supercell", "[2, 2]", "'presets.quick.supercell' must be three positive integers"),
        ("colour", "blue", "'colour' is not a known key"),
    ],
)
def test_invalid_values_name_file_key_and_allowed(capsys, tmp_path, runs_dir, field, value, expect):
    spec = {
        "prototype": "fcc", "timestep_fs": "2.0", "temperature_K": "300", "supercell": "[2, 2, 2]", "colour": None,
    }
    spec[field] = value
    text = (
        f"name: Bad\ntemperature_K: {spec['temperature_K']}\n"
        f"structure: {{prototype: {spec['prototype']}, elements: [Cu], a_A: 3.6}}\n"
        f"presets:\n  quick: {{supercell: {spec['supercell']}, timestep_fs: {spec['timestep_fs']}, steps: 10}}\n"
    )
    if spec["colour"]:
        text += f"colour: {spec['colour']}\n"
    path = tmp_path / "Bad.yaml"
    path.write_text(text)
    msg = fails(capsys, "md", "--system", str(path), "--model", "eam", "--runs-dir", str(runs_dir))
    assert "Bad.yaml" in msg and expect in msg


def test_nonpositive_temperature_and_timestep_on_the_command_line(capsys, runs_dir):
    rd = ["--system", "Cu", "--model", "eam", "--runs-dir", str(runs_dir)]
    assert "temperature must be a positive" in fails(capsys, "md", "--temperature", "-5", *rd)
    assert "timestep must be a positive" in fails(capsys, "md", "--timestep", "0", *rd)


def test_element_not_covered_by_the_model(capsys, runs_dir):
    msg = fails(capsys, "md", "--system", "Pt3Co", "--model", "emt", "--runs-dir", str(runs_dir))
    assert "does not cover element(s) Co" in msg


def test_atoms_too_close(capsys, tmp_path, runs_dir):
    path = tmp_path / "Squashed.yaml"
    path.write_text("temperature_K: 300\nstructure: {prototype: fcc, elements: [Cu], a_A: 1.2}\n"
                    "presets: {quick: {supercell: [2, 2, 2], timestep_fs: 1.0, steps: 10}}\n")
    msg = fails(capsys, "md", "--system", str(path), "--model", "eam", "--runs-dir", str(runs_dir))
    assert "Å apart, below the sane minimum" in msg


def test_mace_weights_offline_say_what_to_do(capsys, tmp_path, runs_dir, monkeypatch):
    """No cached weights, no network: one line naming the offline models and the local-file way."""
    root = tmp_path / "project"
    (root / "potentials").mkdir(parents=True)
    (root / "inputs").symlink_to(__import__("harness.config").config.inputs_dir())
    (root / "templates").symlink_to(__import__("harness.config").config.templates_dir())
    # an unreachable address on this machine: refused at once, no real network touched
    (root / "potentials" / "mace.yaml").write_text(
        "family: mace\nengines: [bridge]\nvariants:\n  small: {url: 'http://127.0.0.1:9/mace.model', file: m.model}\n"
    )
    (root / "potentials" / "chgnet.yaml").write_text("family: chgnet\nengines: [bridge]\noffline: true\n")
    monkeypatch.setenv("HARNESS_ROOT", str(root))
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.cache/mace either
    msg = fails(capsys, "md", "--system", "Cu", "--model", "mace", "--runs-dir", str(runs_dir))
    assert "cannot be downloaded" in msg and "offline models: chgnet" in msg and "MODEL=/path/to/file.model" in msg


def test_mliap_requested_on_a_build_without_it(capsys, tiny_mace, runs_dir):
    from harness.lammps.probe import probe

    if probe().mliap_python:
        pytest.skip("this LAMMPS build has ML-IAP Python coupling")
    msg = fails(capsys, "md", "--system", "Pt3Co", "--model", str(tiny_mace), "--engine", "mliap",
                "--runs-dir", str(runs_dir))
    assert "lacks" in msg and "MLIAP_ENABLE_PYTHON" in msg and "harness render" in msg


def test_blow_up_exit_code_and_kept_outputs(capsys, runs_dir):
    msg = fails(capsys, "md", "--system", "Cu", "--model", "eam", "--timestep", "20", "--temperature", "3000",
                "--runs-dir", str(runs_dir), "--no-progress", code=3)
    assert "MD stopped between steps" in msg
    (run_dir,) = runs_dir.iterdir()
    assert (run_dir / "log.lammps").is_file() and not (run_dir / "results.json").exists()


def test_existing_run_folder(capsys, runs_dir):
    args = ["md", "--system", "Cu", "--model", "eam", "--steps", "8", "--runs-dir", str(runs_dir), "--no-progress"]
    main(args)
    msg = fails(capsys, *args)
    assert "already exists (status: completed)" in msg and "--overwrite" in msg


def test_debug_shows_the_traceback(runs_dir):
    from harness.errors import UnknownNameError

    with pytest.raises(UnknownNameError):
        main(["--debug", "md", "--system", "Nope", "--runs-dir", str(runs_dir)])
