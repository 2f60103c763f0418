"""Where each member of a campaign stands: from the scheduler (while it remembers the job), the
sentinels the job script writes into the run folder (``.job/starts``, ``.job/exit``: they outlive
the scheduler's memory) and the run's own summary; and the campaign file that lists them.

States use myqueue's names (pending, running, completed, failed, timeout, memory, cancelled,
node-failure), plus ``not-submitted`` and ``unknown`` (the scheduler cannot be asked and the
folder does not say how the member ended).
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

from ..errors import ConfigError
from ..files import read_json
from ..runs import load_run
from .scheduler import SchedulerUnreachable, TaskState, adapter

CAMPAIGN = "campaign.json"


def _sentinels(run_dir: Path) -> dict:
    job = Path(run_dir) / ".job"
    out = {"attempts": 0, "exit_code": None}
    if (job / "starts").is_file():
        out["attempts"] = len((job / "starts").read_text().splitlines())
    if (job / "exit").is_file():
        words = (job / "exit").read_text().split()
        out["exit_code"] = int(words[0]) if words and words[0].lstrip("-").isdigit() else None
        out["ended"] = words[1] if len(words) > 1 else None
    return out


def _progress(record) -> str:
    """``step 400/20000, ETA 00:12:03`` from a running MD folder's thermo and start time: the
    rate is this segment's (a resumed run started at ``started_step``, not at 0)."""
    from ..progress import hms
    from ..runs import _last_thermo_step

    if not record.is_md:
        return ""
    steps = (record.summary.get("resolved") or {}).get("protocol", {}).get("steps")
    step = _last_thermo_step(record.path)
    if step is None or not steps:
        return ""
    text = f"step {step}/{steps}"
    started = record.summary.get("started")
    first = int(record.summary.get("started_step") or 0)
    if started and step > first:
        elapsed = (_dt.datetime.now(_dt.UTC) - _dt.datetime.fromisoformat(started)).total_seconds()
        text += f", ETA {hms(elapsed * (steps - step) / (step - first))}"
    return text


def classify(sched: TaskState | None, sentinels: dict, record) -> tuple[str, str]:
    """(state, why) of one member from the scheduler, the job's sentinels and the run's summary."""
    if sched is not None and sched.state in ("pending", "running"):
        why = sched.reason if sched.state == "pending" and sched.reason not in ("None", "") else ""
        return sched.state, (_progress(record) if sched.state == "running" else why)
    status = record.status if record is not None else "missing"
    code = sentinels.get("exit_code")
    if status == "completed" and code in (0, None, 4):
        return "completed", "results incomplete (exit 4): see the run's skipped/status" if code == 4 else ""
    error = (record.error or "") if record is not None else ""
    if sched is not None and sched.state in ("timeout", "memory", "node-failure", "cancelled"):
        return sched.state, error or sched.native_state
    if code == 75:
        return "timeout", "stopped for the walltime; continues from its restart when resubmitted"
    if code is None and status in ("rendered",) and sched is None:
        return "not-submitted", ""
    if code is None and status == "running":
        return "failed", "the job ended without its exit sentinel (killed, or its node failed)"
    low = error.lower()
    if "non-finite" in low or "nan" in low.split():
        return "failed", f"NaN: {error}"
    if "blew up" in low:
        return "failed", f"MD blow-up: {error}"
    if code == 4 or "not converged" in low:
        return "failed", f"not converged: {error}"
    if code == 137 or code == -9:
        return "memory" if sched is not None and sched.state == "memory" else "failed", error or "killed (SIGKILL)"
    return ("failed" if status != "completed" else "completed"), error or (f"exit code {code}" if code else status)


def member_states(out: Path) -> list[dict]:
    """Each member's state (pending / running (step, ETA) / completed / failed, timeout, ... (why)).
    A member whose job the scheduler cannot be asked about (no client, its controller down) and
    whose folder does not say how it ended is ``unknown``, with the scheduler's words."""
    from ..errors import RunFolderError

    out = Path(out)
    doc = read_campaign(out)
    scheduler = adapter(doc["scheduler"])
    sched: dict[tuple[str, int], TaskState] = {}
    latest: dict[int, str] = {}
    reachable, unreachable = scheduler.available()
    unreachable = "" if reachable else unreachable
    for sub in doc["submissions"]:
        group = [i for i in next(a for a in doc["arrays"] if a["group"] == sub["group"])["members"]]
        by_index = {doc["members"][i]["index"]: i for i in group}
        for k in sub["indices"]:
            latest[by_index[k]] = sub["job_id"]
        if unreachable:
            continue
        try:
            for t in scheduler.status(sub["job_id"]):
                if t.array_task is not None:
                    sched[(sub["job_id"], t.array_task)] = t
        except SchedulerUnreachable as exc:
            unreachable = str(exc)
    rows = []
    for i, m in enumerate(doc["members"]):
        try:
            record = load_run(m["run"])
        except RunFolderError:
            record = None
        job = latest.get(i)
        sentinels = _sentinels(Path(m["run"]))
        state, why = classify(sched.get((job, m["index"])) if job else None, sentinels, record)
        if job and unreachable and sentinels.get("exit_code") is None and state != "completed":
            state, why = "unknown", f"the scheduler cannot be asked ({unreachable})"
        rows.append({"index": i, "run": m["name"], "task": m["task"], "system": m.get("system"),
                     "model": m.get("model"), "seed": m.get("seed"), "job": f"{job}_{m['index']}" if job else None,
                     "state": state, "why": why})
    return rows


def latest_campaign(runs_dir: Path) -> Path:
    found = sorted(Path(runs_dir).glob(f"jobs-*/{CAMPAIGN}"), key=lambda p: p.stat().st_mtime)
    if not found:
        raise ConfigError(f"no job campaign in {runs_dir} (harness jobs submit makes one)")
    return found[-1].parent


def load_campaign(path: Path) -> Path:
    path = Path(path)
    if not (path / CAMPAIGN).is_file():
        raise ConfigError(f"{path}: not a job campaign (no {CAMPAIGN})")
    read_campaign(path)
    return path


def read_campaign(out: Path) -> dict:
    """``campaign.json`` of a campaign folder, or one line saying why it cannot be read."""
    path = Path(out) / CAMPAIGN
    try:
        doc = read_json(path)
    except FileNotFoundError:
        raise ConfigError(f"{out}: not a job campaign (no {CAMPAIGN})") from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: unreadable ({exc}); render the campaign again with --overwrite") from None
    missing = [k for k in ("scheduler", "members", "arrays", "submissions")
               if not isinstance(doc, dict) or k not in doc]
    if missing:
        raise ConfigError(f"{path}: not a harness campaign file (no {', '.join(missing)})")
    return doc
