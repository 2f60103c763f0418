"""Named filters for what libraries print that a user cannot act on.

Each entry names one known message and why it is filtered; nothing else is hidden, and
``--debug`` (HARNESS_DEBUG=1) shows everything. The harness says what matters itself (the
precision a model runs in, which engine, what was dropped).
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import sys
import warnings

# (how it is emitted, logger or category, message pattern, why it is filtered)
KNOWN = (
    ("print", None, r"cuequivariance or cuequivariance_torch is not available",
     "mace-torch at import: an optional GPU kernel library; the CPU path needs none"),
    ("print", None, r"^CHGNet (v?\S+ )?initialized with [\d,]+ parameters",
     "CHGNet's parameter count at load (a trained checkpoint's without a version); the harness records "
     "the weights' sha256"),
    ("print", None, r"^CHGNet will run on (cpu|cuda)",
     "CHGNet's device at load; the harness runs on the CPU here and says which engine"),
    ("logging", "root", r"Default dtype \S+ does not match model dtype \S+, converting",
     "MACE converts to the precision the harness chose; the harness states it in the run header"),
    ("logging", "root", r"No dtype selected, switching to",
     "MACE picks the model's own precision; the harness states it in the run header"),
    ("logging", "MDAnalysis.coordinates.AMBER", r"netCDF4 is not available",
     "MDAnalysis at import: only AMBER NetCDF writing is slower; the harness never writes it"),
    ("warning", UserWarning, r"Environment variable TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD detected",
     "set on purpose by the harness to load pickled models (see harness._env.prepare_torch)"),
    ("warning", UserWarning, r"Converting a tensor with requires_grad=True to a scalar",
     "CHGNet at every call, about a conversion it makes itself"),
)


_DEBUG = False


def debug() -> bool:
    """Everything shown: ``--debug`` on the command line (see :func:`install_logging`) or HARNESS_DEBUG=1."""
    return _DEBUG or os.environ.get("HARNESS_DEBUG") == "1"


class _KnownChatter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        for kind, name, pattern, _ in KNOWN:
            if kind == "logging" and (name == "root" or record.name.startswith(name)) and re.search(pattern, msg):
                return False
        return True


def install_logging(debug_mode: bool = False) -> None:
    """Log to stderr as ``<logger>: <message>``, warnings and up (everything with debug),
    without the known messages above (all of them with debug)."""
    global _DEBUG
    _DEBUG = debug_mode
    logging.basicConfig(level=logging.DEBUG if debug_mode else logging.WARNING, format="%(name)s: %(message)s")
    if not debug_mode:
        for handler in logging.getLogger().handlers:
            if not any(isinstance(f, _KnownChatter) for f in handler.filters):
                handler.addFilter(_KnownChatter())


def filter_warnings() -> None:
    """The known Python warnings, filtered by message (call again after a warnings reset)."""
    if debug():
        return
    for kind, category, pattern, _ in KNOWN:
        if kind == "warning":
            warnings.filterwarnings("ignore", message=pattern, category=category)


@contextlib.contextmanager
def quiet_prints():
    """Hold back what is printed to stdout inside; pass on every line that is not a known one."""
    if debug():
        yield
        return
    buf = io.StringIO()
    try:
        with contextlib.redirect_stdout(buf):
            yield
    finally:
        patterns = [p for kind, _, p, _ in KNOWN if kind == "print"]
        for line in buf.getvalue().splitlines(keepends=True):
            if not any(re.search(p, line) for p in patterns):
                sys.stdout.write(line)
