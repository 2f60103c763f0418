"""Typed, frozen configuration built from ``inputs/*.yaml``, ``potentials/*.yaml`` and the command line.

Every loader validates before any compute is spent and raises :class:`~harness.errors.ConfigError`
with the file, the key and what is allowed, so a user sees one line that says what to fix.

- :mod:`.project`: where ``inputs/``, ``potentials/`` and ``templates/`` are;
- :mod:`.system`, :mod:`.model`: one YAML per system and per model;
- :mod:`.tasks`: the frozen settings of every task (what ``summary.json`` records);
- :mod:`harness.names` (a leaf below config): the one rule for names, tags, paths and walltimes
  that reach folders, decks and job scripts.
"""

from .model import ModelSpec, list_models, load_model
from .project import inputs_dir, potentials_dir, project_root, templates_dir
from .system import PROTOTYPES, THERMOSTATS, MDProtocol, StructureSpec, SystemSpec, list_systems, load_system
from .tasks import (ENERGY_REFERENCES, FRAME_FORMATS, RELAX_MODES, TRAJECTORY_FORMATS, CampaignSettings,
                    CompareSettings, FramesSettings, HighEnergySettings, MDSettings, NEBSettings, PathSettings,
                    PhononsSettings, Settings, SigmaSettings, SinglePointSettings, SlideSettings, SofteningSettings,
                    md_settings)

__all__ = [
    "CampaignSettings", "CompareSettings", "ENERGY_REFERENCES", "FRAME_FORMATS", "FramesSettings",
    "HighEnergySettings", "inputs_dir", "list_models", "list_systems", "load_model", "load_system",
    "md_settings", "MDProtocol", "MDSettings", "ModelSpec", "NEBSettings", "PathSettings",
    "PhononsSettings", "potentials_dir", "project_root", "PROTOTYPES", "RELAX_MODES", "Settings",
    "SigmaSettings", "SinglePointSettings", "SlideSettings", "SofteningSettings", "StructureSpec", "SystemSpec",
    "templates_dir", "THERMOSTATS", "TRAJECTORY_FORMATS"
]
