"""PNG plots of DICE-PC runs: accuracy-cost frontier, regret curves, oscillation curves.

``report(folder)`` reads every run under ``folder`` (``folder/summary.json`` and
``folder/<label>/summary.json`` with their ``records.jsonl``, as written by
:func:`dice_jax.pc.harness.run` / :func:`~dice_jax.pc.harness.compare`) and writes:

* ``frontier.png`` -- accuracy against mean tokens per task, one point per method (the
  accuracy-cost frontier; best-of-``n`` at a matched budget sits at the same cost);
* ``regret.png`` -- cumulative equilibrium regret and cumulative hindsight regret per round;
* ``oscillation.png`` -- per-round oscillation ``sum_i ||x_t - x_{t-1}||_1`` (moving average)
  and drift ``sum_i ||x_t - x_0||_1``.

Matplotlib runs with the Agg backend (no display needed).
"""
from __future__ import annotations

import os
from typing import Dict, List, Optional

import numpy as np

from dice_jax.pc.harness import Results, load_results

__all__ = ["report"]


def _moving_average(x: np.ndarray, window: int) -> np.ndarray:
  if window <= 1 or len(x) < window:
    return x
  ok = ~np.isnan(x)
  c = np.convolve(np.where(ok, x, 0.0), np.ones(window), "valid")
  n = np.convolve(ok.astype(float), np.ones(window), "valid")
  out = np.full(len(x), np.nan)
  out[window - 1:] = np.where(n > 0, c / np.maximum(n, 1), np.nan)
  return out


def report(folder: str, *, out_dir: Optional[str] = None, window: int = 25) -> List[str]:
  """Write the three PNGs for the runs under ``folder``; returns their paths.

  Args:
    folder: a results folder (see the module docstring).
    out_dir: where to write (default ``folder``).
    window: moving-average window of the oscillation curve (rounds).

  Raises:
    ValueError: ``folder`` does not exist or holds no run.
  """
  if not os.path.isdir(folder):
    raise ValueError(f"folder {folder!r} is not a directory.")
  if int(window) < 1:
    raise ValueError(f"window must be >= 1; got {window!r}.")
  import matplotlib  # noqa: PLC0415
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # noqa: PLC0415

  runs: Dict[str, Results] = load_results(folder)
  out_dir = folder if out_dir is None else out_dir
  os.makedirs(out_dir, exist_ok=True)
  paths = []

  fig, ax = plt.subplots(figsize=(5.5, 4))
  for label, r in runs.items():
    acc, tok = r.summary.get("accuracy"), r.summary.get("tokens_per_task")
    if acc is None or tok is None:
      continue
    ax.scatter([tok], [acc], s=40)
    ax.annotate(label, (tok, acc), textcoords="offset points", xytext=(4, 4), fontsize=8)
  ax.set_xlabel("mean tokens per task")
  ax.set_ylabel("accuracy")
  ax.set_title("accuracy-cost frontier")
  ax.grid(alpha=0.3)
  fig.tight_layout()
  paths.append(os.path.join(out_dir, "frontier.png"))
  fig.savefig(paths[-1], dpi=120)
  plt.close(fig)

  fig, axes = plt.subplots(1, 2, figsize=(10, 4))
  for label, r in runs.items():
    if not r.records:
      continue
    er = r.series("equilibrium_regret")
    if np.any(~np.isnan(er)):
      axes[0].plot(np.nancumsum(er), label=label)
    hr = r.series("hindsight_regret")
    if np.any(~np.isnan(hr)):
      axes[1].plot(hr, label=label)
    elif r.summary.get("hindsight_regret_curve"):
      axes[1].plot(r.summary["hindsight_regret_curve"], "--", label=f"{label} (estimated)")
  axes[0].set_title("cumulative equilibrium regret")
  axes[1].set_title("hindsight regret (best fixed joint action)")
  for a in axes:
    a.set_xlabel("round")
    a.grid(alpha=0.3)
    if a.get_legend_handles_labels()[0]:
      a.legend(fontsize=8)
  fig.tight_layout()
  paths.append(os.path.join(out_dir, "regret.png"))
  fig.savefig(paths[-1], dpi=120)
  plt.close(fig)

  fig, axes = plt.subplots(1, 2, figsize=(10, 4))
  for label, r in runs.items():
    if not r.records:
      continue
    osc = r.series("oscillation")
    if np.any(~np.isnan(osc)):
      axes[0].plot(_moving_average(osc, int(window)), label=label)
    dr = r.series("drift")
    if np.any(~np.isnan(dr)):
      axes[1].plot(dr, label=label)
  axes[0].set_title(f"oscillation (moving average, {int(window)} rounds)")
  axes[1].set_title("drift from the first policy")
  for a in axes:
    a.set_xlabel("round")
    a.grid(alpha=0.3)
    if a.get_legend_handles_labels()[0]:
      a.legend(fontsize=8)
  fig.tight_layout()
  paths.append(os.path.join(out_dir, "oscillation.png"))
  fig.savefig(paths[-1], dpi=120)
  plt.close(fig)
  return paths
