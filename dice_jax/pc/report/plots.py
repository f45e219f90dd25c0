"""PNG plots of DICE-PC runs: accuracy-cost frontier, regret curves, oscillation curves.

``report(folder)`` reads every run under ``folder`` -- the layout of ``dice-jax pc run``
(``folder/<label>/seed<k>/``) or of :func:`dice_jax.pc.harness.loop.run` /
:func:`~dice_jax.pc.harness.loop.compare` (``folder/summary.json``, ``folder/<label>/summary.json``
with their ``records.jsonl``) -- and writes:

* ``frontier.png`` -- accuracy against mean tokens per task, one point per method (with 95%
  t-intervals over seeds when there are several; best-of-``n`` at a matched budget sits at the
  same cost);
* ``regret.png`` -- cumulative equilibrium regret and hindsight regret per round;
* ``oscillation.png`` -- per-round oscillation ``sum_i ||x_t - x_{t-1}||_1`` (moving average)
  and drift ``sum_i ||x_t - x_0||_1``.

It is :func:`dice_jax.pc.report.compare.plot_comparison` (one implementation of the plots for
one seed or many). Matplotlib runs with the Agg backend (no display needed).
"""

from __future__ import annotations

from typing import List, Optional

from dice_jax.pc.report.compare import plot_comparison

__all__ = ["report"]


def report(folder: str, *, out_dir: Optional[str] = None, window: int = 25) -> List[str]:
  """Write the three PNGs for the runs under ``folder`` into ``out_dir`` (default ``folder``);
  returns their paths.

  Raises:
    ValueError: ``folder`` does not exist or holds no run, or ``window < 1``.
  """
  return plot_comparison(folder, out_dir=out_dir, window=window)
