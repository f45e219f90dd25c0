"""DICE-FT run folders as plots and a table (``dice-jax ft report DIR``)."""

from dice_jax.ft.report.plots import read_run, report

__all__ = ["read_run", "report"]
