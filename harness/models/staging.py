"""A run folder carries its model: ``<run>/model/`` holds the weight files (copied, or linked)
and ``model.yaml``, a registry YAML that loads exactly them.

``harness execute`` on any machine rebuilds the task from ``model/model.yaml`` instead of the
name it was rendered from, after checking every staged file against the sha256 recorded in
``summary.json`` (a different file is refused). Three ways to stage:

- ``copy`` (default): the folder runs anywhere;
- ``link``: symbolic links to the files (saves disk; the folder runs on this machine);
- ``declared``: the user names where the (single) weights file is on the cluster; nothing is
  copied, the job script links ``model/<file>`` to that path and the hash is checked there.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from ..config import ModelSpec
from ..errors import ConfigError
from ..files import file_sha256
from ..names import validate_path
from .classic import potential_file
from .family import family

STAGED = "model"
MODES = ("copy", "link", "declared")


def _yaml_of(spec: ModelSpec, put) -> dict:
    """A registry YAML for ``spec`` whose files are the staged ones (``put(path) -> name``): a
    model defined by potential files (``files``: element -> file, classic pair styles) keeps them
    per element; any other by its one weights file."""

    fam = family(spec)
    data = {"name": spec.label, "family": spec.family, "description": spec.description or f"staged {spec.label}",
            "engines": list(spec.engines), "offline": True}
    if spec.files:
        data["files"] = {el: put(potential_file(spec, el)) for el in spec.files}
    else:
        files = fam.weights(spec)
        if len(files) > 1:
            raise ConfigError(f"{spec.source}: staging takes one weights file per model, this one has {len(files)}")
        if files:
            data["weights"] = put(files[0])
        if spec.elements is not None:
            data["elements"] = list(spec.elements)
    for key in fam.staged_keys:
        if getattr(spec, key):
            data[key] = getattr(spec, key)
    for key in ("pair_style", "pair_coeff", "dtype", "cutoff_A", "license", "citation"):
        value = getattr(spec, key)
        if value not in (None, "") and key not in data:
            data[key] = value
    return data


def stage_model(spec: ModelSpec, run_dir: Path, mode: str = "copy", declared: str | None = None) -> dict:
    """Put ``spec`` into ``run_dir/model`` (see the module docstring); returns the summary entry."""
    if mode not in MODES:
        raise ConfigError(f"unknown model staging '{mode}' (valid: {', '.join(MODES)})")
    if (mode == "declared") != (declared is not None):
        raise ConfigError("a declared model path goes with staging 'declared' (--model-path-on-cluster)")

    validate_path("--model-path-on-cluster", declared)
    dest = Path(run_dir) / STAGED
    dest.mkdir()
    entries: list[dict] = []

    def put(src: Path) -> str:
        src = Path(src).resolve()
        if any(e["name"] == src.name for e in entries):
            return src.name
        if mode == "copy":
            shutil.copy2(src, dest / src.name)
        elif mode == "link":
            (dest / src.name).symlink_to(src)
        entries.append({"name": src.name, "sha256": file_sha256(src), "source": str(src)})
        return src.name

    if spec.base is not None:  # a corrected model: its base staged beside it, and the factor
        (dest / "base.yaml").write_text(yaml.safe_dump(_yaml_of(spec.base, put), sort_keys=False))
        data = {"name": spec.name, "family": "scaled", "description": spec.description, "base": "base.yaml",
                "scale": spec.scale, "provenance": spec.provenance}
    else:
        data = _yaml_of(spec, put)
    if mode == "declared" and len(entries) != 1:
        raise ConfigError(f"--model-path-on-cluster names one file; model {spec.label} has {len(entries)}")
    (dest / "model.yaml").write_text("# The model this run folder was rendered with (harness staging).\n"
                                     + yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    out = {"mode": mode, "dir": STAGED, "yaml": f"{STAGED}/model.yaml", "files": entries}
    if declared is not None:
        out["declared"] = {"path": str(declared), "links": [{"name": f"{STAGED}/{entries[0]['name']}",
                                                            "target": str(declared)}]}
    return out


def staged_model_argument(run_dir: Path) -> str | None:
    """``run_dir/model/model.yaml`` when the folder carries its model (what execute loads)."""
    path = Path(run_dir) / STAGED / "model.yaml"
    return str(path.resolve()) if path.is_file() else None


def with_staged_model(request: dict, run_dir: Path) -> dict:
    """The request with every model argument replaced by the folder's own staged model."""
    argument = staged_model_argument(run_dir)
    if argument is None:
        return request

    def swap(obj):
        if isinstance(obj, dict):
            return {k: (argument if k == "model" and isinstance(v, str) else swap(v)) for k, v in obj.items()}
        return obj

    return swap(request)


def verify_staged(run_dir: Path, entry: dict | None) -> None:
    """Every staged file is there and has the sha256 it was rendered with (one line otherwise)."""
    if not entry:
        return
    for f in entry.get("files", []):
        path = Path(run_dir) / entry.get("dir", STAGED) / f["name"]
        if not path.exists():
            declared = (entry.get("declared") or {}).get("path")
            where = f" (declared on the cluster at {declared}; the job script links it)" if declared else ""
            raise ConfigError(f"{path}: the model file this folder was rendered with is missing{where}")
        digest = file_sha256(path)
        if digest != f["sha256"]:
            raise ConfigError(f"{path}: sha256 {digest[:12]}… is not the {f['sha256'][:12]}… this folder was "
                              f"rendered with; refusing to run another model (render a new folder)")
