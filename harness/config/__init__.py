"""Typed, frozen configuration built from ``inputs/*.yaml``, ``potentials/*.yaml`` and the command line.

Every loader validates before any compute is spent and raises :class:`~harness.errors.ConfigError`
with the file, the key and what is allowed, so a user sees one line that says what to fix.

- :mod:`.project`: where ``inputs/``, ``potentials/`` and ``templates/`` are;
- :mod:`.system`, :mod:`.model`: one YAML per system and per model;
- :mod:`.settings` (the shape every task's settings share), :mod:`.md`, :mod:`.phonons`,
  :mod:`.frames`, :mod:`.neb`: the frozen settings of every task (what ``summary.json`` records);
- :mod:`harness.names` (a leaf below config): the one rule for names, tags, paths and walltimes
  that reach folders, decks and job scripts.
"""

from .frames import (
                     ENERGY_REFERENCES,
                     FRAME_FORMATS,
                     TRAJECTORY_FORMATS,
                     CampaignSettings,
                     CompareSettings,
                     FramesSettings,
                     SinglePointSettings,
                     SofteningSettings,
)
from .md import RELAX_MODES, HighEnergySettings, MDSettings, md_settings
from .model import ModelSpec, list_models, load_model
from .neb import NEBSettings, PathSettings, SlideSettings
from .phonons import PhononsSettings, ScreenSettings, SigmaSettings
from .project import inputs_dir, potentials_dir, project_root, templates_dir, use_as
from .settings import Settings
from .static import DefectsSettings, MixingSettings, SurfacesSettings
from .system import PROTOTYPES, THERMOSTATS, MDProtocol, StructureSpec, SystemSpec, list_systems, load_system
from .train import Recipe, TrainSettings, list_recipes, load_recipe

__all__ = [
    "CampaignSettings", "CompareSettings", "DefectsSettings", "MixingSettings", "SurfacesSettings",
    "ENERGY_REFERENCES", "FRAME_FORMATS", "FramesSettings",
    "HighEnergySettings", "inputs_dir", "list_models", "list_systems", "load_model", "load_system",
    "md_settings", "MDProtocol", "MDSettings", "ModelSpec", "NEBSettings", "PathSettings",
    "PhononsSettings", "potentials_dir", "project_root", "PROTOTYPES", "RELAX_MODES", "ScreenSettings", "Settings",
    "SigmaSettings", "SinglePointSettings", "SlideSettings", "SofteningSettings", "StructureSpec", "SystemSpec",
    "templates_dir", "THERMOSTATS", "TRAJECTORY_FORMATS", "Recipe", "TrainSettings", "list_recipes", "load_recipe",
    "use_as"
]
