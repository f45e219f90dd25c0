"""One harness for every DICE-PC method: rounds of tasks, rollouts, updates, metrics, logs."""

from dice_jax.pc.harness.loop import Results, compare, load_results, run

__all__ = ["Results", "compare", "load_results", "run"]
