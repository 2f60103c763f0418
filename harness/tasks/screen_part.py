"""A screen as a job array: ``harness screen --cluster PROFILE --per-member K`` splits the
materials into parts of K, each part a run folder of this task (one array member, one model load
for its K materials); ``harness jobs collect`` joins the parts' rows into the screen's one table
and figures (:meth:`ScreenPartTask.campaign_summary`).

A part runs its materials through :class:`harness.tasks.screen.Screen` exactly as a screen on
one process does: every material is its own phonons (MD, σ) run folder beside the parts, so a
part killed or requeued resumes at the material where it stopped (completed member folders with
the same request are reused) and the screen run afterwards on one machine reuses them all. Its
rows go to ``rows.json`` after each material.
"""

from __future__ import annotations

import io
import sys
from dataclasses import dataclass
from pathlib import Path

from ..config.phonons import ScreenSettings
from ..config.settings import Settings
from ..errors import ConfigError, RunFolderError
from ..files import read_json, write_json
from ..limits import check_range
from .base import Task, register

ROWS = "rows.json"


@dataclass(frozen=True)
class ScreenPartSettings(Settings):
    """Part ``part`` (0-based) of a screen split into parts of ``per_member`` materials; the
    material folders (run folders) go to ``runs_dir``."""

    screen: ScreenSettings
    part: int = 0
    per_member: int = 1
    runs_dir: str = "runs"

    def __post_init__(self):
        check_range("--per-member", self.per_member, (1, 100000), integer=True)
        check_range("part", self.part, (0, 10**7), integer=True)
        object.__setattr__(self, "runs_dir", str(Path(self.runs_dir).resolve()))

    @property
    def run_name(self) -> str:
        return f"{self.screen.folder_name}-part{self.part:04d}"


def screen_parts(settings: ScreenSettings, per_member: int, runs_dir: Path) -> list[ScreenPartTask]:
    """The parts of a screen: ceil(materials / per_member) tasks."""
    from .screen import find_materials

    n = len(find_materials(settings))
    return [ScreenPartTask(ScreenPartSettings(screen=settings, part=k, per_member=per_member, runs_dir=str(runs_dir)))
            for k in range((n + per_member - 1) // per_member)]


@register
class ScreenPartTask(Task):
    """K materials of a screen in one process (one model load)."""

    name = "screen-part"
    settings_class = ScreenPartSettings

    @property
    def model_spec(self):
        return None  # the materials' run folders stage the model (each a phonons run)

    def labels(self) -> dict:
        return {"system": f"part{self.settings.part}", "model": self.settings.screen.model.label, "seed": None}

    def materials(self):
        from .screen import find_materials

        s = self.settings
        found = find_materials(s.screen)
        mine = found[s.part * s.per_member:(s.part + 1) * s.per_member]
        if not mine:
            raise ConfigError(f"part {s.part} of {s.screen.source}: no materials (the folder has {len(found)})")
        return mine

    def render(self, run_dir: Path, **_) -> dict:
        return {"screen_part": {"materials": [m.name for m in self.materials()], "part": self.settings.part,
                                "per_member": self.settings.per_member, "screen": self.settings.screen.folder_name}}

    def can_resume(self, run_dir: Path) -> bool:
        return True

    def execute(self, run_dir: Path, launcher, *, resume: bool = False, progress: bool = True) -> dict:
        import time

        from ..errors import WalltimeReached
        from .screen import Screen

        run_dir = Path(run_dir)
        sc = Screen(self.settings.screen, self.settings.runs_dir, stream=sys.stderr if progress else io.StringIO(),
                    progress=False)
        sc.out.mkdir(parents=True, exist_ok=True)
        rows, mine = [], self.materials()
        deadline = getattr(self, "deadline", None)
        for k, m in enumerate(mine, 1):
            if deadline is not None and time.time() > deadline:
                raise WalltimeReached(f"stopped before {m.name} ({k}/{len(mine)}): the walltime is near")
            print(f"[screen part {self.settings.part}] {k}/{len(mine)} {m.name}", file=sc.stream)
            rows.append(sc.material(m))
            write_json(run_dir / ROWS, {"rows": rows, "members": [str(p) for p in dict.fromkeys(sc.members)]})
        failed = [r["material"] for r in rows if r["status"] != "done"]
        return {"materials": len(rows), "failed_materials": failed}

    def collect(self, run_dir: Path, *, progress: bool = True, **_) -> dict:
        run_dir = Path(run_dir)
        if not (run_dir / ROWS).is_file():
            raise RunFolderError(f"{run_dir}: no {ROWS} (execute the part first)")
        doc = read_json(run_dir / ROWS)
        doc["headline"] = [f"part {self.settings.part}: {len(doc['rows'])} materials, "
                           f"{sum(r['status'] == 'done' for r in doc['rows'])} done"]
        write_json(run_dir / "results.json", doc)
        return doc

    @classmethod
    def campaign_summary(cls, out: Path, run_dirs: list[Path]) -> dict:
        """The screen's table and figures from every completed part's rows, in material order
        (the same files a screen on one process writes)."""
        from ..runs import load_run
        from .screen import Screen

        parts = sorted(run_dirs, key=lambda d: load_run(d).request["part"])
        if not parts:
            return {}
        settings = cls.settings_class.from_request(load_run(parts[0]).request)
        sc = Screen(settings.screen, settings.runs_dir, stream=io.StringIO())
        rows = []
        for d in parts:
            doc = read_json(Path(d) / ROWS)
            rows += doc["rows"]
            sc.members += [Path(p) for p in doc["members"]]
        sc.out.mkdir(parents=True, exist_ok=True)
        doc = sc.write(rows)
        return {"screen": str(sc.out), "materials": len(rows), "parts": len(parts), "summary": doc["summary"]}
