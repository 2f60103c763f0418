"""Engines: how a model's forces reach LAMMPS. Chosen from the probe of the build, overridable.

- ``mliap``  : ``pair_style mliap unified`` (production; Kokkos on GPUs). Needs ML-IAP with
  Python coupling in the LAMMPS build.
- ``bridge`` : ``fix external pf/callback`` into any ASE calculator (runs on any build).
- ``classic``: a LAMMPS pair style (EAM, ...) reading the model's potential files.

An engine owns everything that differs between them, so tasks never ask which engine they
have: the variables of its template partial ``templates/pair/<engine>.j2`` (:meth:`context`),
the files the deck reads (:meth:`stage`, copied into the run folder so it is self-contained),
what a session needs before the deck runs (:meth:`attach`), LAMMPS command-line switches
(:meth:`lammps_args`), how many MPI ranks one replica may use (:attr:`max_ranks_per_replica`)
and whether a job script must go through the harness's Python (:attr:`python_driver`).
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

from . import catalog
from .config import ModelSpec
from .errors import ConfigError, EngineUnavailableError
from .lammps.probe import Capabilities
from .models import builds_per_structure, calculator, family, weight_files
from .models.classic import potential_file
from .models.family import runs_on_torch
from .models.mace import can_export_mliap, export_mliap, export_on_record, export_record_path, mace_dtype
from .models.staging import STAGED


@dataclass(frozen=True)
class Choice:
    name: str
    reason: str


class Engine:
    name = ""
    description = ""
    # None: as many ranks as LAMMPS' domain decomposition likes; 1: serial
    max_ranks_per_replica: int | None = None
    # True: the model runs in the harness's Python (a job script calls `harness execute`);
    # False: a LAMMPS executable runs the rendered deck by itself
    python_driver = False
    # whether its LAMMPS runs on the GPUs of a profile that has them (Kokkos): a job of an engine
    # that does not asks for none (the bridge's calculators and the classic pair styles run on CPUs)
    uses_gpus = False

    def model_on_gpu(self, model: ModelSpec) -> bool:
        """Whether the model itself runs on a GPU of the job (the bridge's torch calculators)
        where LAMMPS does not (:attr:`uses_gpus`)."""
        return False

    def no_per_atom_virial(self, model: ModelSpec) -> str | None:
        """Why LAMMPS gets no per-atom energies and virials of this model from this engine (the
        heat flux needs them); ``None``: it gets them."""
        return None

    def available(self, caps: Capabilities) -> tuple[bool, str]:
        return True, "any LAMMPS build"

    def context(self, model: ModelSpec, elements: list[str]) -> dict:
        """Variables of ``templates/pair/<engine>.j2`` (pure: no files touched)."""
        raise NotImplementedError

    def stage(self, model: ModelSpec, elements: list[str], run_dir: Path) -> list[Path]:
        """Copy what the deck reads into ``run_dir``; returns the copies."""
        return []

    def attach(self, session, model: ModelSpec, symbols: list[str], run_dir: Path, caps: Capabilities,
               calc=None, per_atom_every: tuple[int, ...] = ()) -> None:
        """Prepare a :class:`~harness.lammps.session.Session` before it executes a deck
        (``per_atom_every``: the deck samples per-atom energies and virials on steps that are
        multiples of these)."""

    def check(self, model: ModelSpec, elements: list[str]) -> None:
        """Refuse, in one line and before any run folder exists, what this engine cannot run."""

    def shared_calculator(self, model: ModelSpec):
        """State that sessions over many structures can share (``None``: nothing)."""
        return None

    def lammps_args(self, gpus: int = 0) -> list[str]:
        """LAMMPS command-line switches this engine needs (``-k on g N ...``)."""
        return []

    def job_context(self, model: ModelSpec) -> dict:
        """Variables of the job script template for this engine."""
        return {"mliap_file": "", "weights_name": "", "export_dtype": ""}


class BridgeEngine(Engine):
    name = "bridge"
    description = "fix external pf/callback into an ASE calculator (serial; any LAMMPS build)"
    max_ranks_per_replica = 1  # the model sees all atoms of its replica at once
    python_driver = True

    def available(self, caps):
        if not caps.fix_external:
            return False, "this LAMMPS build has no fix external"
        return True, "fix external is in every standard build"

    def model_on_gpu(self, model):
        return runs_on_torch(model)  # MACE, CHGNet, SevenNet: torch_device() picks the job's GPU

    def context(self, model, elements):
        # pair_style zero only sets the neighbour/communication cutoff; the model's own
        # neighbour search runs in Python. Its value affects cost, not physics.
        return {"cutoff_A": model.cutoff_A or 6.0, "scale": model.scale}

    def no_per_atom_virial(self, model):
        if family(model).atomic_calculator is None:
            return (f"the {model.family} calculator gives no per-atom stresses for fix external to hand LAMMPS "
                    f"(MACE's does)")
        return None

    def attach(self, session, model, symbols, run_dir, caps, calc=None, per_atom_every=()):
        from .lammps.bridge import Bridge

        if per_atom_every:  # the calculator that also gives per-atom energies and stresses
            calc = family(model).atomic_calculator(model)
        session.bridge = Bridge(session.lmp, calc if calc is not None else calculator(model), symbols,
                                per_atom_every=per_atom_every)

    def shared_calculator(self, model):

        # (ASE's EAM reads one funcfl file per element: it is built for each structure instead)
        return None if builds_per_structure(model) else calculator(model)


class MliapEngine(Engine):
    name = "mliap"
    description = "pair_style mliap unified (ML-IAP + Python coupling; Kokkos for GPUs)"
    uses_gpus = True

    def available(self, caps):
        missing = caps.missing_for_mliap()
        if missing:
            return False, "this LAMMPS build lacks " + " and ".join(missing)
        return True, "ML-IAP with Python coupling found by the probe"

    @staticmethod
    def base_model(model: ModelSpec) -> ModelSpec:
        """The model the export is made of (a corrected model's base: the correction is
        LAMMPS' ``pair_style hybrid/scaled``)."""
        model = model.base if model.base is not None else model
        if not family(model).mliap_export:
            raise ConfigError(f"ML-IAP export is implemented for MACE models, not {model.family}")
        return model

    def model_file(self, model: ModelSpec) -> str:
        """The exported model as the deck reads it: beside the staged weights in ``model/``."""

        return f"{STAGED}/{weight_files(self.base_model(model))[0].name}-mliap_lammps.pt"

    def context(self, model, elements):
        return {"mliap_file": self.model_file(model), "elements": elements, "scale": model.scale}

    def _export_into(self, model: ModelSpec, run_dir: Path) -> list[Path]:
        """The checked export (:func:`harness.models.mace.export_mliap`, cached by hash) and its
        record, copied beside the staged weights as the deck reads them."""

        base = self.base_model(model)
        target = Path(run_dir) / self.model_file(model)
        if export_on_record(target, weight_files(base)[0], model.dtype or mace_dtype(base)):
            return [target, export_record_path(target)]  # the folder's own checked export
        exported = export_mliap(base, dtype=model.dtype or base.dtype)
        target.parent.mkdir(exist_ok=True)
        out = []
        for src, dst in ((exported, target), (export_record_path(exported), export_record_path(target))):
            if not dst.exists():
                shutil.copy2(src, dst)
            out.append(dst)
        return out

    def stage(self, model, elements, run_dir):
        """Export the model here when this environment can (cuequivariance-torch installed): the
        folder is then ready with a checked export; otherwise ``job.sh`` exports it on the cluster."""

        if not can_export_mliap()[0]:
            return []
        return self._export_into(model, run_dir)

    def attach(self, session, model, symbols, run_dir, caps, calc=None, per_atom_every=()):
        """The checked export in the run folder (its record says so: nothing is exported again);
        exported here only if the folder has none."""
        ok, why = self.available(caps)
        if not ok:
            raise EngineUnavailableError(f"engine mliap: {why}")
        self._export_into(model, run_dir)

    def lammps_args(self, gpus=0):
        return ["-k", "on", "g", str(gpus), "-sf", "kk", "-pk", "kokkos", "newton", "on", "neigh", "half"] \
            if gpus else []

    def job_context(self, model):

        base = self.base_model(model)
        name = weight_files(base)[0].name
        # the precision the run was rendered in (an export made on the cluster must match it)
        return {"mliap_file": self.model_file(model), "weights_name": f"{STAGED}/{name}",
                "export_dtype": model.dtype or mace_dtype(base)}


class ClassicEngine(Engine):
    name = "classic"
    description = "a LAMMPS pair style reading the model's potential files (EAM, ...)"

    def available(self, caps):
        return True, "classic pair styles are compiled in"

    def _files(self, model, elements) -> tuple[list[str], list[Path]]:
        """(pair_coeff arguments, the potential files): the deck reads each file from the run
        folder's ``model/``, the very copy whose sha256 ``harness execute`` checks."""

        if not model.pair_style:
            raise ConfigError(f"{model.source}: the classic engine needs 'pair_style' and 'files' (or 'pair_coeff')")
        coeffs = []
        if model.pair_coeff:
            # parameters per element pair: every type pair of the structure needs its line
            for i, a in enumerate(elements, start=1):
                for j, b in enumerate(elements[i - 1:], start=i):
                    args = model.pair_coeff.get(f"{a} {b}") or model.pair_coeff.get(f"{b} {a}")
                    if args is None:
                        raise ConfigError(f"{model.source}: no pair_coeff for the element pair '{a} {b}'")
                    coeffs.append(f"{i} {j} {args}")
            return coeffs, []
        if model.pair_style == "eam":
            # funcfl files: one per type, I,I only; LAMMPS mixes the cross terms.
            for i, el in enumerate(elements, start=1):
                coeffs.append(f"{i} {i} {STAGED}/{Path(model.files[el]).name}")
            files = [potential_file(model, el) for el in elements]
        else:
            # setfl / alloy / fs files hold every element: map each type to its element.
            (name,) = set(model.files[el] for el in elements)
            coeffs.append(f"* * {STAGED}/{Path(name).name} {' '.join(elements)}")
            files = [potential_file(model, elements[0])]
        return coeffs, files

    def context(self, model, elements):
        coeffs, _ = self._files(model, elements)
        # scaled (linearly corrected) models: templates/pair/classic.j2 wraps the style in
        # pair_style hybrid/scaled, whose pair_coeff lines name the sub-style
        return {"pair_style": model.pair_style, "pair_coeffs": coeffs, "scale": model.scale}

    def check(self, model, elements):
        """The potential files as LAMMPS reads them: the deck's interaction lines (the pair
        partial, as rendered) in a throwaway LAMMPS on an empty box. A file its pair style cannot
        read is one line here, before any folder exists, instead of a failed run; EAM files are
        parsed first (:mod:`harness.io.potentials`), because LAMMPS' EAM readers crash on garbage."""
        _, files = self._files(model, elements)
        _check_classic(model.pair_style, tuple(str(f) for f in files), tuple(elements),
                       render_pair("classic", self.context(model, elements)))

    def stage(self, model, elements, run_dir):
        """Nothing in a run folder that carries its model (``model/model.yaml``: the files are
        there, or linked there by the job script); copies into ``model/`` of a work folder that
        does not (a force session's temporary folder)."""

        dest = Path(run_dir) / STAGED
        _, files = self._files(model, elements)
        if (dest / "model.yaml").is_file():
            return [dest / f.name for f in files]
        dest.mkdir(exist_ok=True)
        for f in files:
            if not (dest / f.name).exists():
                shutil.copy2(f, dest / f.name)
        return [dest / f.name for f in files]


def render_pair(engine: str, context: dict) -> str:
    """``templates/pair/<engine>.j2`` rendered alone."""
    from .lammps.render import render

    return render(f"pair/{engine}.j2", **context)


@lru_cache(maxsize=32)
def _check_classic(pair_style: str, files: tuple[str, ...], elements: tuple[str, ...], pair_lines: str) -> None:
    import tempfile

    from .lammps.probe import new_lammps
    from .lammps.session import deck_commands, working_directory

    with tempfile.TemporaryDirectory(prefix="harness-check-") as tmp:
        (Path(tmp) / STAGED).mkdir()
        for f in files:
            shutil.copy2(f, Path(tmp) / STAGED / Path(f).name)
        lmp = new_lammps(["-log", "none", "-screen", "none", "-nocite"])
        try:
            with working_directory(Path(tmp)):
                for line in ["units metal", "atom_style atomic", "region box block 0 10 0 10 0 10",
                             f"create_box {len(elements)} box",
                             *(f"mass {i} 1.0" for i in range(1, len(elements) + 1)), *deck_commands(pair_lines)]:
                    try:
                        lmp.command(line)
                    except Exception as exc:  # noqa: BLE001 - LAMMPS' own error text, as one line
                        msg = " ".join(str(exc).split()).removeprefix("ERROR: ").removeprefix("ERROR on proc 0: ")
                        raise ConfigError(f"{', '.join(Path(f).name for f in files)}: LAMMPS cannot read it with "
                                          f"pair_style {pair_style} ({msg})") from None
        finally:
            lmp.close()


class _Engines(Mapping):
    """The engines by name, in the catalog's order: a view of :mod:`harness.catalog`."""

    def __getitem__(self, name: str) -> Engine:
        if name not in catalog.names("engine"):
            raise KeyError(name)
        return engine(name)

    def __iter__(self):
        return iter(catalog.names("engine"))

    def __len__(self) -> int:
        return len(catalog.names("engine"))


ENGINES: Mapping[str, Engine] = _Engines()


@cache
def engine(name: str) -> Engine:
    """The engine registered as ``name`` in :mod:`harness.catalog` (one instance per process)."""
    return catalog.load("engine", name)()


def choose(requested: str, model: ModelSpec, caps: Capabilities, *, render_only: bool = False) -> Choice:
    """The engine to use: the user's, checked; or the first of the model's engines the build can run."""
    if requested != "auto":
        if requested not in catalog.names("engine"):
            raise EngineUnavailableError(
                f"unknown engine '{requested}' (valid: auto, {', '.join(catalog.names('engine'))})"
            )
        if requested not in model.engines:
            raise EngineUnavailableError(
                f"model {model.name} cannot run through engine {requested} (its engines: {', '.join(model.engines)})"
            )
        ok, why = engine(requested).available(caps)
        if not ok and not render_only:
            raise EngineUnavailableError(
                f"engine {requested}: {why}; render the deck for a capable build with `harness render`"
            )
        return Choice(requested, f"requested; {why}")
    reasons = []
    for name in model.engines:
        ok, why = engine(name).available(caps)
        if ok:
            skipped = f" ({'; '.join(reasons)})" if reasons else ""
            return Choice(name, f"auto: first of {list(model.engines)} this build runs{skipped}")
        reasons.append(f"{name}: {why}")
    raise EngineUnavailableError(f"no engine of model {model.name} runs on this build: {'; '.join(reasons)}")
