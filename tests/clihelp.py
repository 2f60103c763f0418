"""What every bad-input test asserts about the CLI (imported by the test modules)."""

from __future__ import annotations

import pytest

from harness.cli import main


def fails(capsys, *args, code=2):
    """Run ``harness *args``: it must exit with ``code`` and end stderr with one
    'harness: error:' line and no traceback. Returns that line."""
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    err = capsys.readouterr().err.strip()
    assert exc.value.code == code, err
    lines = err.splitlines()
    assert lines and lines[-1].startswith("harness: error:"), err
    assert "Traceback" not in err
    return lines[-1]
