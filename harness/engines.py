"""Engines: how a model's forces reach LAMMPS. Chosen from the probe of the build, overridable.

- ``mliap``  : ``pair_style mliap unified`` (production; Kokkos on GPUs). Needs ML-IAP with
  Python coupling in the LAMMPS build.
- ``bridge`` : ``fix external pf/callback`` into any ASE calculator (runs on any build).
- ``classic``: a LAMMPS pair style (EAM, ...) reading the model's potential files.

Each engine gives the context for its template partial ``templates/pair/<engine>.j2`` and
copies what the deck reads into the run folder, so the folder is self-contained.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from .config import ModelSpec
from .errors import ConfigError, EngineUnavailableError
from .lammps.probe import Capabilities


@dataclass(frozen=True)
class Choice:
    name: str
    reason: str


class Engine:
    name = ""
    description = ""

    def available(self, caps: Capabilities) -> tuple[bool, str]:
        return True, "any LAMMPS build"

    def context(self, model: ModelSpec, elements: list[str], run_dir: Path | None) -> dict:
        raise NotImplementedError


class BridgeEngine(Engine):
    name = "bridge"
    description = "fix external pf/callback into an ASE calculator (serial; any LAMMPS build)"

    def available(self, caps):
        if not caps.fix_external:
            return False, "this LAMMPS build has no fix external"
        return True, "fix external is in every standard build"

    def context(self, model, elements, run_dir):
        # pair_style zero only sets the neighbour/communication cutoff; the model's own
        # neighbour search runs in Python. Its value affects cost, not physics.
        return {"cutoff_A": model.cutoff_A or 6.0, "scale": model.scale}


class MliapEngine(Engine):
    name = "mliap"
    description = "pair_style mliap unified (ML-IAP + Python coupling; Kokkos for GPUs)"

    def available(self, caps):
        missing = caps.missing_for_mliap()
        if missing:
            return False, "this LAMMPS build lacks " + " and ".join(missing)
        return True, "ML-IAP with Python coupling found by the probe"

    @staticmethod
    def model_file(model: ModelSpec) -> str:
        from .models import weight_files

        model = model.base if model.family == "scaled" else model
        if model.family != "mace":
            raise ConfigError(f"ML-IAP export is implemented for MACE models, not {model.family}")
        return weight_files(model)[0].name + "-mliap_lammps.pt"

    def context(self, model, elements, run_dir):
        return {"mliap_file": self.model_file(model), "elements": elements, "scale": model.scale}

    def stage(self, model: ModelSpec, run_dir: Path) -> Path:
        """Export the model for ML-IAP (mace_create_lammps_model) and copy it into the run folder."""
        from .models.mace import export_mliap

        exported = export_mliap(model.base if model.family == "scaled" else model)
        target = run_dir / exported.name
        if not target.exists():
            shutil.copy2(exported, target)
        return target


class ClassicEngine(Engine):
    name = "classic"
    description = "a LAMMPS pair style reading the model's potential files (EAM, ...)"

    def available(self, caps):
        return True, "classic pair styles are compiled in"

    def context(self, model, elements, run_dir):
        from .models import potential_file

        if not model.pair_style:
            raise ConfigError(f"{model.source}: the classic engine needs 'pair_style' and 'files'")
        coeffs = []
        if model.pair_style == "eam":
            # funcfl files: one per type, I,I only; LAMMPS mixes the cross terms.
            for i, el in enumerate(elements, start=1):
                coeffs.append(f"{i} {i} {Path(model.files[el]).name}")
            files = [potential_file(model, el) for el in elements]
        else:
            # setfl / alloy / fs files hold every element: map each type to its element.
            (name,) = set(model.files[el] for el in elements)
            coeffs.append(f"* * {Path(name).name} {' '.join(elements)}")
            files = [potential_file(model, elements[0])]
        if run_dir is not None:
            for f in files:
                shutil.copy2(f, run_dir / f.name)
        # scaled (linearly corrected) models: templates/pair/classic.j2 wraps the style in
        # pair_style hybrid/scaled, whose pair_coeff lines name the sub-style
        return {"pair_style": model.pair_style, "pair_coeffs": coeffs, "scale": model.scale}


ENGINES: dict[str, Engine] = {}
for _engine in (MliapEngine(), BridgeEngine(), ClassicEngine()):
    if _engine.name in ENGINES:
        raise ValueError(f"engine {_engine.name} registered twice")
    ENGINES[_engine.name] = _engine


def choose(requested: str, model: ModelSpec, caps: Capabilities, *, render_only: bool = False) -> Choice:
    """The engine to use: the user's, checked; or the first of the model's engines the build can run."""
    if requested != "auto":
        if requested not in ENGINES:
            raise EngineUnavailableError(f"unknown engine '{requested}' (valid: auto, {', '.join(ENGINES)})")
        if requested not in model.engines:
            raise EngineUnavailableError(
                f"model {model.name} cannot run through engine {requested} (its engines: {', '.join(model.engines)})"
            )
        ok, why = ENGINES[requested].available(caps)
        if not ok and not render_only:
            raise EngineUnavailableError(f"engine {requested}: {why}; render the deck for a capable build with `harness render`")
        return Choice(requested, f"requested; {why}")
    reasons = []
    for name in model.engines:
        ok, why = ENGINES[name].available(caps)
        if ok:
            skipped = f" ({'; '.join(reasons)})" if reasons else ""
            return Choice(name, f"auto: first of {list(model.engines)} this build runs{skipped}")
        reasons.append(f"{name}: {why}")
    raise EngineUnavailableError(f"no engine of model {model.name} runs on this build: {'; '.join(reasons)}")
