"""Shared fixtures: cheap stand-in models (EMT, EAM, a small untrained MACE) and tmp run dirs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"

# The project root holds inputs/, potentials/, templates/; tests may run from anywhere.
os.environ.setdefault("HARNESS_ROOT", str(ROOT))


@pytest.fixture(scope="session")
def tiny_mace(tmp_path_factory) -> Path:
    """A real (untrained) MACE model for Co and Pt, built in the test session: no download."""
    import warnings

    from harness.models.mace import build_small_mace

    path = tmp_path_factory.mktemp("mace") / "tiny-PtCo.model"
    with warnings.catch_warnings():  # e3nn's TorchScript compilation notes, while building the model
        warnings.simplefilter("ignore", UserWarning)
        return build_small_mace(path, ["Co", "Pt", "Cu"], channels=8, num_interactions=1, interaction_scale=1.0)


@pytest.fixture
def runs_dir(tmp_path) -> Path:
    return tmp_path / "runs"


def model(name: str):
    from harness.config import load_model

    return load_model(name)
