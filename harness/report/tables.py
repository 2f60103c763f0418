"""Tables as files people open: CSV for spreadsheets, Markdown for reading. One writer of each,
for every campaign and screen table."""

from __future__ import annotations

import csv
from pathlib import Path


def fmt(value) -> str:
    """A cell: empty for nothing, 4 significant digits for floats, the text otherwise."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def write_csv(path: Path, rows: list[dict], columns: list[str] | tuple[str, ...]) -> None:
    """``rows`` (dicts) as CSV with ``columns`` in that order; ``None`` as an empty cell."""
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(columns), extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in columns})


def write_rows_csv(path: Path, header: list[str], rows: list[list]) -> None:
    """Rows given as lists under ``header``; ``None`` as an empty cell."""
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for row in rows:
            w.writerow(["" if v is None else v for v in row])


def markdown(header: list[str], rows: list[list]) -> list[str]:
    """The lines of a Markdown table (cells through :func:`fmt` unless already text)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(c if isinstance(c, str) else fmt(c) for c in row) + " |" for row in rows]
    return lines
