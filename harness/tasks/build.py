"""One builder of a task from names and options: what ``harness jobs submit --task …`` renders
for every member and what ``harness versus`` runs for every probe, with the settings the task's
own command builds from the same options.

A member is a model with a system (the crystal tasks) or with a file of labelled frames (the
frame tasks); ``options`` are the command line's, by name (absent or ``None``: the task's own
default)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ..errors import ConfigError

# tasks built from a system (inputs/) × a model, and from labelled frames × a model
SYSTEM_TASKS = ("md", "neb", "phonons", "slide", "surfaces", "defects", "mixing")
FRAME_TASKS = ("softening", "singlepoint", "sigma")
BUILDABLE = SYSTEM_TASKS + FRAME_TASKS


def build_task(kind: str, model: str, *, system: str | None = None, frames: str | Path | None = None,
               render_only: bool = False, **options):
    """The task ``kind`` of ``model`` on ``system`` (or on the labelled ``frames``).

    MD takes ``preset``, ``temperature_K``, ``steps``, ``timestep_fs``, ``seed`` (given: the run
    folder is tagged with it, one folder per replica) and the observables of
    :func:`harness.config.md_settings`; NEB ``hop``, ``images``, ``timestep_fs``; surfaces
    ``miller``; defects ``defects``; mixing ``mix``, ``max_size``; singlepoint
    ``energy_reference``; sigma ``fc`` and ``fc_forces``; all ``engine``."""
    from ..config import load_model, load_system

    if kind not in BUILDABLE:
        raise ConfigError(f"unknown task '{kind}' (known: {', '.join(BUILDABLE)})")
    opt = {k: v for k, v in options.items() if v is not None}
    engine = opt.pop("engine", "auto")
    if kind in FRAME_TASKS:
        if frames is None:
            raise ConfigError(f"task {kind} is computed on labelled frames: give the frames file (--frames)")
        return _frames_task(kind, load_model(model), str(frames), engine, opt, render_only)
    if system is None:
        raise ConfigError(f"task {kind} is computed on a crystal: give the system (--system)")
    if kind == "md":
        return _md_task(system, model, engine, opt, render_only)
    spec, sys_spec = load_model(model), load_system(system)
    common = {"model": spec, "system": sys_spec, "engine": engine}
    if kind == "neb":
        from ..config import NEBSettings
        from .neb import NEBTask

        return NEBTask(NEBSettings(hop=opt.get("hop", "vacancy"), **_only(opt, "images", "timestep_fs"), **common),
                       render_only=render_only)
    if kind == "phonons":
        from ..config import PhononsSettings
        from .phonons import PhononsTask

        return PhononsTask(PhononsSettings(**common))
    if kind == "slide":
        from ..config import SlideSettings
        from .path import SlideTask

        return SlideTask(SlideSettings(**common))
    if kind == "surfaces":
        from ..config import SurfacesSettings
        from .surfaces import SurfacesTask

        return SurfacesTask(SurfacesSettings(miller=_tuple(opt.get("miller")), **common), render_only=render_only)
    if kind == "defects":
        from ..config import DefectsSettings
        from .pointdefects import DefectsTask

        return DefectsTask(DefectsSettings(defects=_tuple(opt.get("defects")), **common), render_only=render_only)
    from ..config import MixingSettings
    from .mixing import MixingTask

    if not opt.get("mix"):
        raise ConfigError("task mixing needs --mix A:B")
    return MixingTask(MixingSettings(mix=opt["mix"], **_only(opt, "max_size"), **common), render_only=render_only)


def _md_task(system: str, model: str, engine: str, opt: dict, render_only: bool):
    from ..config import md_settings
    from ..config.md import OBSERVABLE_KEYS
    from .md import MDTask

    unknown = sorted(set(opt) - {"preset", "temperature_K", "steps", "timestep_fs", "seed", *OBSERVABLE_KEYS})
    if unknown:
        raise ConfigError(f"option(s) {', '.join(unknown)} are not MD's")
    settings = md_settings(system, model, opt.get("preset"), engine=engine,
                           **_only(opt, "temperature_K", "steps", "timestep_fs", "seed", *OBSERVABLE_KEYS))
    if "seed" in opt:  # a replica: its own folder, named after its seed
        settings = replace(settings, tag=f"{settings.default_tag}-seed{opt['seed']}")
    return MDTask(settings, render_only=render_only)


def _frames_task(kind: str, spec, frames: str, engine: str, opt: dict, render_only: bool):
    if kind == "softening":
        from ..config import SofteningSettings
        from .softening import SofteningTask

        return SofteningTask(SofteningSettings(model=spec, reference=frames, engine=engine))
    if kind == "singlepoint":
        from ..config import SinglePointSettings
        from .singlepoint import SinglePointTask

        return SinglePointTask(SinglePointSettings(model=spec, reference=frames, engine=engine,
                                                   **_only(opt, "energy_reference")))
    from ..config import SigmaSettings
    from .sigma import SigmaTask

    if not opt.get("fc") or opt["fc"] == "model":
        raise ConfigError("task sigma on labelled frames needs --fc PHONOPY_YAML (the reference's force constants)")
    return SigmaTask(SigmaSettings(reference=frames, model=spec, fc=str(opt["fc"]),
                                   fc_forces=tuple(map(str, opt.get("fc_forces") or ())), engine=engine))


def _only(opt: dict, *keys: str) -> dict:
    return {k: opt[k] for k in keys if k in opt}


def _tuple(value) -> tuple | None:
    """A comma-separated option (or a sequence) as a tuple; ``None`` or empty: the default."""
    if value is None:
        return None
    items = [v.strip() for v in value.split(",")] if isinstance(value, str) else list(value)
    return tuple(v for v in items if v) or None
