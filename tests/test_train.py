"""``harness train`` with the families' own trainers on the mlearn VASP PBE Cu frames (31
configurations, ../shared): a tiny MACE from scratch (mace_run_train) that loads as MODEL= and
runs MD in LAMMPS, a MACE fine-tuned from that file (it starts from its weights: its loss before
the first step is the base's), and CHGNet fine-tuned with Deng et al.'s recipe (chgnet's
Trainer) on 10 of the frames, set against the pretrained CHGNet on the other 21.

Independent checks: the trainers' own validation errors against the same models evaluated
through LAMMPS by the harness (a different code path: LAMMPS' bridge, not the trainer's loop).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from harness.cli import main

ROOT = Path(__file__).resolve().parent.parent

MLEARN_CU = ROOT.parent / "shared" / "data" / "mlearn-dft" / "Cu_test.json"
TINY_SCRATCH = """description: a tiny MACE for tests (8 channels, L=0, one interaction)
family: mace
mode: scratch
split: {train: 16, validation: 4}
seed: 1
epochs: 3
batch_size: 2
trainer: {model: MACE, num_channels: 8, max_L: 0, r_max: 4.0, num_interactions: 1, correlation: 2,
          default_dtype: float64, energy_weight: 1.0, forces_weight: 10.0}
"""
TINY_FINETUNE = """family: mace
mode: finetune
split: {train: 16, validation: 4}
seed: 1
epochs: 1
batch_size: 2
trainer: {default_dtype: float64, energy_weight: 1.0, forces_weight: 10.0}
"""

pytestmark = pytest.mark.skipif(not MLEARN_CU.is_file() and os.environ.get("CI") != "true",
                                reason=f"mlearn DFT Cu frames not found at {MLEARN_CU}")


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A project folder of its own: models written by `harness train` land in its potentials/."""
    (tmp_path / "potentials").mkdir()
    monkeypatch.setenv("HARNESS_ROOT", str(tmp_path))
    return tmp_path


def results(run_dir: Path) -> dict:
    return json.loads((run_dir / "results.json").read_text())


def rmse_on(model: str, frames: list) -> tuple[float, float]:
    """Force RMSE and MAE (eV/Å) of ``model`` on ``frames``, evaluated through LAMMPS."""
    from harness.config import load_model
    from harness.forces import evaluate_frames
    from harness.models import with_precision

    spec, _ = with_precision(load_model(model), "check")
    out, _ = evaluate_frames(spec, frames)
    d = np.concatenate([r.forces_eV_A - a.calc.results["forces"] for a, r in zip(frames, out)])
    return float(np.sqrt((d ** 2).mean())), float(np.abs(d).mean())


def split_frames(run_dir: Path, key: str) -> list:
    from harness.io.frames import read_frames

    return read_frames(run_dir / "data" / f"{key}.extxyz")


def test_mace_from_scratch_runs_md_and_a_finetune_starts_from_its_weights(project, capsys):
    (project / "tiny.yaml").write_text(TINY_SCRATCH)
    runs = project / "runs"
    main(["train", str(MLEARN_CU), "--recipe", str(project / "tiny.yaml"), "--name", "tiny-cu", "--runs-dir",
          str(runs)])
    captured = capsys.readouterr()
    assert "[train] epoch 3/3 | train loss" in captured.err and "ETA" in captured.err
    run = runs / "tiny-cu-train"
    res = results(run)
    assert res["model"]["use_as"] == "MODEL=tiny-cu" and "use: MODEL=tiny-cu" in captured.out
    assert res["split"] == {"train": 16, "validation": 4, "test": 11} and res["training"]["trainer"] == "mace_run_train"
    history = res["history"]
    assert [h["epoch"] for h in history] == [0, 1, 2] and (run / "training.png").is_file()
    kept = min(history, key=lambda h: h["valid_loss"])
    assert res["training"]["kept_epoch"] == kept["epoch"]
    # the registered file is the kept checkpoint: mace's validation RMSE of that epoch is what
    # LAMMPS gives with MODEL=tiny-cu on the same four frames
    rmse, _ = rmse_on("tiny-cu", split_frames(run, "validation"))
    assert rmse == pytest.approx(kept["valid_force_rmse_eV_A"], rel=1e-6)
    after = res["test_errors"]["after"]
    assert after["model"] == "tiny-cu" and 0 < after["force_mae_eV_A"] < 1.0 and "before" not in res["test_errors"]

    # MODEL=tiny-cu in LAMMPS MD
    main(["md", "--system", "Cu", "--model", "tiny-cu", "--steps", "20", "--runs-dir", str(runs), "--no-progress"])
    (md,) = [d for d in runs.iterdir() if d.name.startswith("Cu-tiny-cu-md")]
    summary = json.loads((md / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["model"]["name"] == "tiny-cu"
    thermo = np.loadtxt(md / "thermo.dat", comments="#")
    assert thermo.shape[0] >= 2 and np.all(np.isfinite(thermo))

    # fine-tuned from that file: before its first step it is the base (same split, same loss)
    (project / "ft.yaml").write_text(TINY_FINETUNE)
    main(["train", str(MLEARN_CU), "--recipe", str(project / "ft.yaml"), "--base", "tiny-cu", "--name", "tiny-cu-ft",
          "--runs-dir", str(runs), "--no-progress"])
    ft = results(runs / "tiny-cu-ft-train")
    initial = ft["training"]["initial_validation"]
    assert initial["valid_loss"] == pytest.approx(kept["valid_loss"], rel=1e-9)
    assert initial["valid_force_rmse_eV_A"] == pytest.approx(rmse, rel=1e-6)
    errors = ft["test_errors"]
    assert errors["before"]["model"] == "tiny-cu" and errors["after"]["model"] == "tiny-cu-ft"
    assert errors["before"]["force_mae_eV_A"] == pytest.approx(after["force_mae_eV_A"], rel=1e-9)  # same 11 frames
    assert (runs / "tiny-cu-ft-train" / "parity.png").is_file()
    registry = (project / "potentials" / "tiny-cu-ft.yaml").read_text()
    assert "base: tiny-cu" in registry and "mode: finetune" in registry

    # scratch, its linear correction and its fine-tune (and EAM) through the same probes, in one command
    main(["softening", "--model", "tiny-cu", "--reference", str(MLEARN_CU), "--fit-correction", "--tag", "ml",
          "--runs-dir", str(runs), "--no-progress"])
    c = results(runs / "tiny-cu-softening-ml")["correction"]["c"]
    main(["versus", "--models", "eam=eam,scratch=tiny-cu,corrected=tiny-cu-corrected-ml,fine-tuned=tiny-cu-ft",
          "--probes", "softening,neb", "--system", "Cu", "--frames", str(MLEARN_CU), "--reference", "barrier_eV=0.70",
          "--runs-dir", str(runs), "--no-progress"])
    doc = json.loads((runs / "versus-compare" / "versus.json").read_text())
    rows = {r["label"]: r for r in doc["rows"]}
    assert list(rows) == ["eam", "scratch", "corrected", "fine-tuned"] and doc["figures"] == ["bars.png", "mep.png"]
    assert all(r["barrier_eV_error"] == pytest.approx(r["barrier_eV"] - 0.70) for r in rows.values())
    # E' = cE, F' = cF: the same minimum-energy path, every energy along it times c
    assert rows["corrected"]["barrier_eV"] == pytest.approx(c * rows["scratch"]["barrier_eV"], rel=2e-3)
    assert rows["corrected"]["softening_scale"] == pytest.approx(c * rows["scratch"]["softening_scale"], rel=1e-6)
    assert rows["eam"]["softening_scale"] == pytest.approx(0.935, abs=0.005)  # test_softening's measurement
    assert "| fine-tuned | tiny-cu-ft |" in (runs / "versus-compare" / "versus.md").read_text()


def test_chgnet_finetune_with_the_deng_recipe(project, capsys):
    """Deng et al.'s CHGNet recipe (Adam 1e-3 cosine to 1e-5, loss 0.1:100:0.1, 9:1 of 10
    structures, best-validation checkpoint), run for 5 of its 100 epochs here: the held-out force
    MAE and cMAE fall below the pretrained model's, the softening scale of the held-out frames the
    pretrained model softens moves toward 1, and training starts from its weights."""
    runs = project / "runs"
    main(["train", str(MLEARN_CU), "--recipe", "chgnet-finetune-deng", "--name", "chgnet-cu", "--epochs", "5",
          "--runs-dir", str(runs)])
    err = capsys.readouterr().err
    assert "[train] epoch 5/5 | train F MAE" in err
    run = runs / "chgnet-cu-train"
    res = results(run)
    assert res["split"] == {"train": 9, "validation": 1, "test": 21} and res["epochs"] == 5
    assert res["training"]["trainer"] == "chgnet.trainer.Trainer" and res["base"]["name"] == "chgnet"
    before, after = res["test_errors"]["before"], res["test_errors"]["after"]
    assert before["model"] == "chgnet" and after["model"] == "chgnet-cu" and after["engine"] == "bridge"
    assert after["force_mae_eV_A"] < before["force_mae_eV_A"]
    assert after["force_cmae_eV_A"] < before["force_cmae_eV_A"]
    # where the pretrained model is softened (the vacancy snapshots: 0.85; on the AIMD ones it is
    # 1.00, so over all frames there is no softening to remove) the fine-tune moves it toward 1
    softened = {g: p for g, p in before["per_group"].items() if p["softening_scale"] < 0.95}
    assert softened, before["per_group"]
    for group, p in softened.items():
        assert abs(1 - after["per_group"][group]["softening_scale"]) < abs(1 - p["softening_scale"]), group
    # the pretrained CHGNet on the validation frame, through LAMMPS, is where training started
    _, mae = rmse_on("chgnet", split_frames(run, "validation"))
    assert res["training"]["initial_validation"]["valid_force_mae_eV_A"] == pytest.approx(mae, rel=2e-3)
    kept = min(res["history"], key=lambda h: h["valid_force_mae_eV_A"])
    assert res["training"]["kept_epoch"] == kept["epoch"]
    assert (project / "potentials" / "chgnet-cu.yaml").is_file() and (run / "training.png").is_file()


def test_a_rendered_training_runs_as_a_job_and_asks_for_one_gpu(project):
    """`--render-only`, then what a job runs (`harness execute . --resume`): the same training as
    the one-shot command (seeded); on a GPU profile the job asks for one GPU, on a CPU one none."""
    (project / "tiny.yaml").write_text(TINY_SCRATCH.replace("epochs: 3", "epochs: 1"))
    runs = project / "runs"
    main(["train", str(MLEARN_CU), "--recipe", str(project / "tiny.yaml"), "--name", "tiny-job", "--runs-dir",
          str(runs), "--render-only"])
    run = runs / "tiny-job-train"
    assert not (project / "potentials" / "tiny-job.yaml").exists() and (run / "data" / "test.extxyz").is_file()
    main(["jobs", "submit", "--cluster", "example-gpu", str(run), "--render-only", "--runs-dir", str(runs),
          "--tag", "gpu"])
    script = (run / "job.sh").read_text()
    assert "#SBATCH --gpus-per-node=1" in script and "harness execute . --resume" in script
    main(["jobs", "submit", "--cluster", "local", str(run), "--render-only", "--runs-dir", str(runs), "--tag", "cpu",
          "--overwrite"])
    assert "--gpus-per-node" not in (run / "job.sh").read_text()
    main(["execute", str(run), "--resume"])
    main(["collect", str(run)])
    job = results(run)
    main(["train", str(MLEARN_CU), "--recipe", str(project / "tiny.yaml"), "--name", "tiny-once", "--runs-dir",
          str(runs), "--no-progress"])
    once = results(runs / "tiny-once-train")
    assert job["history"][0]["valid_loss"] == pytest.approx(once["history"][0]["valid_loss"], rel=1e-9)
    assert job["model"]["use_as"] == "MODEL=tiny-job"


def test_a_training_killed_with_sigkill_resumes_where_it_stopped(project):
    """The whole process group of `harness train` (the harness and mace_run_train below it, as
    scancel or a node failure would) killed after epoch 3 of 6: `--resume` continues from the
    trainer's latest checkpoint (no epoch before it trained again) and finishes with every epoch
    in the history once."""
    import signal
    import subprocess
    import sys

    (project / "tiny.yaml").write_text(TINY_SCRATCH.replace("epochs: 3", "epochs: 6"))
    runs = project / "runs"
    cmd = [sys.executable, "-m", "harness", "train", str(MLEARN_CU), "--recipe", str(project / "tiny.yaml"),
           "--name", "tiny-kill", "--runs-dir", str(runs)]
    env = dict(os.environ, HARNESS_ROOT=str(project))
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True)
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if "epoch 3/6" in line:
            os.killpg(proc.pid, signal.SIGKILL)
            break
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "".join(seen)
    status = subprocess.run([sys.executable, "-m", "harness", "status", str(runs / "tiny-kill-train")],
                            capture_output=True, text=True, env=env)
    assert "interrupted" in status.stdout
    again = subprocess.run(cmd + ["--resume"], capture_output=True, text=True, env=env)
    assert again.returncode == 0, again.stderr[-2000:]
    trained = [line.split("|")[0].split("epoch")[1].strip() for line in again.stderr.splitlines()
               if line.startswith("[train] epoch")]
    assert trained and "1/6" not in trained and trained[-1] == "6/6", trained
    res = results(runs / "tiny-kill-train")
    assert [h["epoch"] for h in res["history"]] == list(range(6))
    # epoch 1 is the killed run's (mace_run_train restarts at the epoch of its newest whole
    # checkpoint, 1 or 2 here, and trains that one again)
    printed = [float(line.split("valid loss ")[1].split(" ")[0]) for line in seen if "valid loss" in line]
    assert res["history"][0]["valid_loss"] == pytest.approx(printed[0], rel=1e-3)
    assert res["model"]["use_as"] == "MODEL=tiny-kill"


SEVENNET_SCRATCH = """family: sevennet
mode: scratch
split: {train: 16, validation: 4}
seed: 1
epochs: 2
batch_size: 2
trainer:
  model: {chemical_species: auto, cutoff: 4.0, channel: 4, lmax: 1, num_convolution_layer: 1, is_parity: false}
  train: {optimizer: adam, optim_param: {lr: 0.004}, scheduler: exponentiallr, scheduler_param: {gamma: 0.99}}
"""


def test_sevennet_from_scratch_and_finetuned_by_sevenn(project):
    """sevenn's own trainer (its input.yaml): the registered checkpoint, evaluated through LAMMPS
    on the validation frames, gives sevenn's validation force MAE and energy RMSE of the kept
    epoch; the shipped fine-tune recipe (SevenNet's preset, 1 of its epochs) continues from it."""
    import csv

    (project / "sv.yaml").write_text(SEVENNET_SCRATCH)
    runs = project / "runs"
    main(["train", str(MLEARN_CU), "--recipe", str(project / "sv.yaml"), "--name", "sv-tiny", "--runs-dir", str(runs),
          "--no-progress"])
    run = runs / "sv-tiny-train"
    res = results(run)
    assert res["training"]["trainer"] == "sevenn" and res["model"]["use_as"] == "MODEL=sv-tiny"
    with open(run / "trainer" / "out" / "lc.csv") as fh:
        rows = list(csv.DictReader(fh))
    kept = rows[res["training"]["kept_epoch"]]
    assert float(kept["validset_TotalLoss"]) == min(float(r["validset_TotalLoss"]) for r in rows)
    frames = split_frames(run, "validation")
    _, mae = rmse_on("sv-tiny", frames)
    assert mae == pytest.approx(float(kept["validset_Force_MAE"]), rel=1e-4)

    main(["train", str(MLEARN_CU), "--recipe", "sevennet-finetune", "--base", "sv-tiny", "--epochs", "1",
          "--name", "sv-tiny-ft", "--runs-dir", str(runs), "--no-progress"])
    ft = results(runs / "sv-tiny-ft-train")
    config = (runs / "sv-tiny-ft-train" / "trainer" / "input.yaml").read_text()
    assert "continue:" in config and "loss: Huber" in config and "channel: 4" in config
    assert ft["test_errors"]["before"]["model"] == "sv-tiny" and ft["test_errors"]["after"]["model"] == "sv-tiny-ft"


def test_a_trainer_that_fails_is_one_line_naming_its_log(project, capsys):
    """An option value mace_run_train refuses (its own argparse) ends the run in one line: what the
    trainer said last and where its whole log is; the run folder says failed."""
    (project / "bad.yaml").write_text(TINY_SCRATCH.replace("model: MACE", "model: NoSuchModel"))
    runs = project / "runs"
    with pytest.raises(SystemExit) as exc:
        main(["train", str(MLEARN_CU), "--recipe", str(project / "bad.yaml"), "--name", "bad", "--runs-dir",
              str(runs), "--no-progress"])
    assert exc.value.code != 0
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert line.startswith("harness: error: mace_run_train failed:") and "invalid choice: 'NoSuchModel'" in line
    assert "mace_run_train.log" in line and "Traceback" not in line
    summary = json.loads((runs / "bad-train" / "summary.json").read_text())
    assert summary["status"] == "failed" and not (project / "potentials" / "bad.yaml").exists()
