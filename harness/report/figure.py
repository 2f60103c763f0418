"""What every harness figure does last: lay out, write at 120 dpi, close (long campaigns make many)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def save_figure(fig, path) -> Path:
    """tight_layout, savefig(path, dpi=120), close the figure; returns ``Path(path)``."""
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)
