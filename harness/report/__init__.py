"""Figures and reports built from harness results."""

from .plots import plot_md_report

__all__ = ["plot_md_report"]
