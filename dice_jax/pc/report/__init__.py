"""DICE-PC results as plots and tables: one run folder, or methods x seeds comparisons."""

from dice_jax.pc.report.plots import report

__all__ = ["report"]
