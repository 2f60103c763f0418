"""What every check of the pre-flight returns (:class:`Check`: one ``ok``/``FAIL`` line) and the
error the command raises when any of them failed, so that nothing is submitted."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import RunFolderError


class PreflightError(RunFolderError):
    """A run folder failed its pre-flight (the check lines say which and why)."""


@dataclass(frozen=True)
class Check:
    """One finding of the pre-flight: the check's name, whether it passed, and what was seen."""

    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        """The line the command prints: ``ok   name: detail`` or ``FAIL name: detail``."""
        return f"{'ok  ' if self.ok else 'FAIL'} {self.name}: {self.detail}"
