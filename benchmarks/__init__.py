"""Runnable benchmarks; each module answers one question and writes a JSON record + a plot."""
