"""One MPI rank of a launched step: ``python -m harness.tasks.worker RUN_DIR STEP_FILE``.

Started by :class:`harness.lammps.launch.Mpiexec` (never by hand). Every rank rebuilds the
task of ``RUN_DIR`` from its ``summary.json``, runs the step described in ``STEP_FILE`` and
shuts MPI down; the root rank writes the step's report (or its error) for the launcher.
"""

from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path


def main(argv: list[str]) -> int:
    run_dir, step_name = Path(argv[0]), argv[1]
    spec = json.loads((run_dir / step_name).read_text())
    from ..errors import HarnessError
    from ..lammps.launch import Ranks

    ranks = Ranks(0, 1, 1)
    report: dict = {}
    code = 0
    try:
        ranks = Ranks.from_environment(spec.get("partitions", 1))
        from .base import load_task

        report["result"] = load_task(run_dir).lammps(run_dir, spec["step"], ranks)
    except HarnessError as exc:
        report["error"] = {"type": type(exc).__name__, "message": str(exc),
                           "summary_fields": getattr(exc, "summary_fields", None)}
        code = exc.exit_code
    except BaseException as exc:  # noqa: BLE001 - reported to the launcher, with the traceback on stderr
        traceback.print_exc()
        report["error"] = {"type": "SimulationError", "message": f"rank {ranks.rank}: {type(exc).__name__}: {exc}"}
        code = 1
    if ranks.root:
        (run_dir / spec["report"]).write_text(json.dumps(report, default=str))
    from ..lammps.probe import finalize_mpi

    finalize_mpi()
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
