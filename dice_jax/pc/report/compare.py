"""Methods x seeds: the comparison ``dice-jax pc run`` writes, its plots and its table.

A results folder of ``dice-jax pc run`` holds, per method label and seed, the harness's
``<label>/seed<k>/records.jsonl`` and ``summary.json`` (:func:`dice_jax.pc.harness.loop.run`), and at
the top a ``summary.json`` that compares the methods. :func:`collect` also reads the layout of
:func:`dice_jax.pc.harness.loop.compare` (``<label>/summary.json``: one run per label).

For every method and metric :func:`aggregate` gives, over its seeds, ``mean``, ``std`` (sample,
``ddof = 1``), ``n``, ``ci95`` -- the half-width ``t_{0.975, n-1} std / sqrt(n)`` of the 95%
Student-t confidence interval of the mean (``null`` for one seed) -- and the per-seed
``values``; runs where a metric does not apply (``null``) are left out of it. Metrics
(:data:`METRICS`), each from one run's ``summary.json`` / ``records.jsonl``:

* ``accuracy`` (mean over rounds), ``accuracy_last_quarter``, ``tokens_per_task``;
* ``final_equilibrium_regret``: mean of the per-round equilibrium regret ``sum_i gap_i(x_t)``
  over the last quarter of the rounds (true game; ``null`` without true payoffs);
* ``cumulative_equilibrium_regret``, ``final_distance_to_hqre``, ``hindsight_regret``;
* ``oscillation_index`` (mean over the run of ``sum_i ||x_t - x_{t-1}||_1``) and
  ``oscillation_index_last_half``;
* ``certified_fraction`` (DICE-PC: rounds whose HQRE was certified in every state);
* ``seconds`` (wall time of the run).

:func:`plot_comparison` writes ``frontier.png`` (mean accuracy against mean tokens per task,
95% intervals as error bars), ``regret.png`` (cumulative equilibrium regret and hindsight
regret per round: mean over seeds, shaded min-max) and ``oscillation.png`` (moving-average
oscillation and drift, mean over seeds, shaded min-max). :func:`format_table` prints the
comparison.
"""

from __future__ import annotations

import json
import math
import os
import re
from typing import Any, Dict, List, Optional

import numpy as np

from dice_jax.pc.harness.loop import Results, load_results

__all__ = [
  "METRICS",
  "aggregate",
  "collect",
  "comparison_summary",
  "format_table",
  "metric_curves",
  "plot_comparison",
  "seed_stats",
]

METRICS = (
  "accuracy",
  "accuracy_last_quarter",
  "tokens_per_task",
  "final_equilibrium_regret",
  "cumulative_equilibrium_regret",
  "final_distance_to_hqre",
  "hindsight_regret",
  "oscillation_index",
  "oscillation_index_last_half",
  "certified_fraction",
  "seconds",
)

# two-sided 95% Student-t quantiles t_{0.975, df}, df = 1..30; 1.96 beyond
_T975 = (
  12.706,
  4.303,
  3.182,
  2.776,
  2.571,
  2.447,
  2.365,
  2.306,
  2.262,
  2.228,
  2.201,
  2.179,
  2.160,
  2.145,
  2.131,
  2.120,
  2.110,
  2.101,
  2.093,
  2.086,
  2.080,
  2.074,
  2.069,
  2.064,
  2.060,
  2.056,
  2.052,
  2.048,
  2.045,
  2.042,
)
_SEED = re.compile(r"^seed(\d+)$")


def collect(folder: str, *, only: Optional[Dict[str, Any]] = None) -> Dict[str, Dict[int, Results]]:
  """``{label: {seed: Results}}`` of the runs under ``folder``.

  Reads ``folder/<label>/seed<k>/`` (``dice-jax pc run``) or, failing that, the harness layout
  ``folder/<label>/`` / ``folder/`` (one run per label, keyed by its summary's seed). With
  ``only`` (``{label: seeds}``, e.g. the ``runs`` of a top-level ``summary.json``) other labels
  and seeds -- left over from an earlier run into the same folder -- are ignored; by default
  the ``runs`` of ``folder/summary.json`` when it has them.

  Raises:
    ValueError: ``folder`` is not a directory or holds no run.
  """
  if not os.path.isdir(folder):
    raise ValueError(f"folder {folder!r} is not a directory.")
  if only is None:
    top = os.path.join(folder, "summary.json")
    if os.path.isfile(top):
      with open(top) as f:
        only = json.load(f).get("runs")
  keep = None if only is None else {str(k): {int(s) for s in v} for k, v in only.items()}
  out: Dict[str, Dict[int, Results]] = {}
  for label in sorted(os.listdir(folder)):
    d = os.path.join(folder, label)
    if not os.path.isdir(d) or (keep is not None and label not in keep):
      continue
    seeds = sorted(
      (int(m.group(1)), s)
      for s in os.listdir(d)
      if (m := _SEED.match(s))
      and os.path.isfile(os.path.join(d, s, "summary.json"))
      and (keep is None or int(m.group(1)) in keep[label])
    )
    for seed, sub in seeds:
      (res,) = load_results(os.path.join(d, sub)).values()
      out.setdefault(label, {})[seed] = res
  if out:
    return out
  for label, res in load_results(folder).items():
    out[label] = {int(res.summary.get("seed", 0)): res}
  return out


def _metric(res: Results, key: str) -> Optional[float]:
  if key == "final_equilibrium_regret":
    er = res.series("equilibrium_regret") if res.records else np.array([])
    tail = er[-max(1, len(er) // 4) :] if len(er) else er
    return float(np.nanmean(tail)) if np.any(~np.isnan(tail)) else None
  v = res.summary.get(key)
  return None if v is None or not math.isfinite(float(v)) else float(v)


def seed_stats(values: List[float]) -> Optional[Dict[str, Any]]:
  """``{"mean", "std", "n", "ci95", "values"}`` of per-seed values (``None`` for none):
  ``ci95`` is the half-width ``t_{0.975, n-1} s / sqrt(n)`` of the Student-t interval of the
  mean (``None`` for one value)."""
  if not values:
    return None
  a = np.asarray(values, np.float64)
  n = len(a)
  std = float(a.std(ddof=1)) if n > 1 else None
  half = (
    None if std is None else (_T975[n - 2] if n - 1 <= len(_T975) else 1.96) * std / math.sqrt(n)
  )
  return {"mean": float(a.mean()), "std": std, "n": n, "ci95": half, "values": a.tolist()}


def aggregate(runs: Dict[str, Dict[int, Results]]) -> Dict[str, Dict[str, Any]]:
  """``{label: {"method", "seeds", metric: stats or None}}`` over each label's seeds (the
  statistics of the module docstring)."""
  out = {}
  for label, by_seed in runs.items():
    seeds = sorted(by_seed)
    entry: Dict[str, Any] = {"method": by_seed[seeds[0]].method, "seeds": seeds}
    for key in METRICS:
      vals = [v for s in seeds if (v := _metric(by_seed[s], key)) is not None]
      entry[key] = seed_stats(vals)
    out[label] = entry
  return out


def comparison_summary(
  folder: str, *, extra: Optional[Dict[str, Any]] = None, only: Optional[Dict[str, Any]] = None
) -> Dict[str, Any]:
  """The top-level ``summary.json`` of a results folder: ``metrics`` (the metric names),
  ``methods`` (:func:`aggregate`), ``runs`` (``{label: {seed: relative folder}}``), plus
  ``extra`` (the run's name, config, budget ...); ``only`` as in :func:`collect`."""
  runs = collect(folder, only=only)
  layout = {
    label: {str(s): os.path.join(label, f"seed{s}") for s in sorted(by)}
    for label, by in runs.items()
  }
  return {**(extra or {}), "metrics": list(METRICS), "methods": aggregate(runs), "runs": layout}


def metric_curves(
  by_seed: Dict[int, Results], key: str, cumulative: bool = False, window: int = 1
) -> Optional[np.ndarray]:
  """``[seeds, rounds]``: the per-round series ``key`` of each seed's run (optionally cumulated,
  then a ``window``-round moving average), cut to the shortest; ``None`` where no run logs it."""
  rows = []
  for res in by_seed.values():
    if not res.records:
      continue
    x = res.series(key)
    if not np.any(~np.isnan(x)):
      continue
    if cumulative:
      x = np.nancumsum(x)
    rows.append(_moving_average(x, window))
  if not rows:
    return None
  n = min(len(r) for r in rows)
  return np.stack([r[:n] for r in rows])


def _moving_average(x: np.ndarray, window: int) -> np.ndarray:
  if window <= 1 or len(x) < window:
    return x
  ok = ~np.isnan(x)
  c = np.convolve(np.where(ok, x, 0.0), np.ones(window), "valid")
  k = np.convolve(ok.astype(float), np.ones(window), "valid")
  out = np.full(len(x), np.nan)
  out[window - 1 :] = np.where(k > 0, c / np.maximum(k, 1), np.nan)
  return out


def _band(ax, rows: np.ndarray, label: str, style: str = "-"):
  t = np.arange(rows.shape[1])
  with np.errstate(all="ignore"):
    import warnings  # noqa: PLC0415

    with warnings.catch_warnings():
      warnings.simplefilter("ignore", RuntimeWarning)
      mean, lo, hi = np.nanmean(rows, 0), np.nanmin(rows, 0), np.nanmax(rows, 0)
  (line,) = ax.plot(t, mean, style, label=label)
  if rows.shape[0] > 1:
    ax.fill_between(t, lo, hi, color=line.get_color(), alpha=0.2, linewidth=0)


def _save(plt, fig, path: str) -> str:
  fig.tight_layout()
  fig.savefig(path, dpi=120)
  plt.close(fig)
  return path


def plot_comparison(
  folder: str,
  *,
  out_dir: Optional[str] = None,
  window: int = 25,
  runs: Optional[Dict[str, Dict[int, Results]]] = None,
) -> List[str]:
  """Write ``frontier.png``, ``regret.png`` and ``oscillation.png`` (module docstring) for the
  runs under ``folder`` into ``out_dir`` (default ``folder``); returns their paths.

  Raises:
    ValueError: ``folder`` holds no run, or ``window < 1``.
  """
  if int(window) < 1:
    raise ValueError(f"window must be >= 1; got {window!r}.")
  import matplotlib  # noqa: PLC0415

  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # noqa: PLC0415

  runs = collect(folder) if runs is None else runs
  stats = aggregate(runs)
  out_dir = folder if out_dir is None else out_dir
  os.makedirs(out_dir, exist_ok=True)
  paths = []

  fig, ax = plt.subplots(figsize=(6, 4.5))
  for label, s in stats.items():
    acc, tok = s["accuracy"], s["tokens_per_task"]
    if acc is None or tok is None:
      continue
    ax.errorbar(
      [tok["mean"]],
      [acc["mean"]],
      xerr=[[tok["ci95"] or 0.0]],
      yerr=[[acc["ci95"] or 0.0]],
      fmt="o",
      capsize=3,
      label=label,
    )
  # accuracy is a fraction: a wide t-interval over few seeds must not stretch the axis past it
  ax.set_ylim(max(ax.get_ylim()[0], -0.02), min(ax.get_ylim()[1], 1.02))
  n_seeds = max((len(b) for b in runs.values()), default=0)
  ax.set_xlabel("mean tokens per task")
  ax.set_ylabel("accuracy")
  ax.set_title(
    f"accuracy-cost frontier ({n_seeds} seed{'s' if n_seeds != 1 else ''}"
    f"{', 95% CI' if n_seeds > 1 else ''})"
  )
  ax.grid(alpha=0.3)
  if ax.get_legend_handles_labels()[0]:
    ax.legend(fontsize=8, loc="best")
  paths.append(_save(plt, fig, os.path.join(out_dir, "frontier.png")))

  fig, axes = plt.subplots(1, 2, figsize=(11, 4))
  for label, by_seed in runs.items():
    er = metric_curves(by_seed, "equilibrium_regret", cumulative=True)
    if er is not None:
      _band(axes[0], er, label)
    hr = metric_curves(by_seed, "hindsight_regret")
    if hr is not None:
      _band(axes[1], hr, label)
    else:
      est = [
        np.asarray(r.summary["hindsight_regret_curve"], float)
        for r in by_seed.values()
        if r.summary.get("hindsight_regret_curve")
      ]
      if est:
        n = min(len(e) for e in est)
        _band(axes[1], np.stack([e[:n] for e in est]), f"{label} (estimated)", "--")
  axes[0].set_title("cumulative equilibrium regret")
  axes[1].set_title("hindsight regret (best fixed joint action)")
  for a in axes:
    a.set_xlabel("round")
    a.grid(alpha=0.3)
    if a.get_legend_handles_labels()[0]:
      a.legend(fontsize=8)
    else:
      a.text(
        0.5,
        0.5,
        "not measured\n(no true payoffs or no mixed policy)",
        ha="center",
        va="center",
        transform=a.transAxes,
        fontsize=9,
        color="0.4",
      )
  paths.append(_save(plt, fig, os.path.join(out_dir, "regret.png")))

  fig, axes = plt.subplots(1, 2, figsize=(11, 4))
  for label, by_seed in runs.items():
    osc = metric_curves(by_seed, "oscillation", window=int(window))
    if osc is not None:
      _band(axes[0], osc, label)
    dr = metric_curves(by_seed, "drift")
    if dr is not None:
      _band(axes[1], dr, label)
  axes[0].set_title(f"oscillation sum_i |x_t - x_(t-1)|_1 (moving average, {int(window)} rounds)")
  axes[1].set_title("drift sum_i |x_t - x_0|_1")
  for a in axes:
    a.set_xlabel("round")
    a.grid(alpha=0.3)
    if a.get_legend_handles_labels()[0]:
      a.legend(fontsize=8)
  paths.append(_save(plt, fig, os.path.join(out_dir, "oscillation.png")))
  return paths


_COLUMNS = (
  ("accuracy", "accuracy", 3),
  ("tokens_per_task", "tokens/task", 1),
  ("final_equilibrium_regret", "final eq. regret", 4),
  ("oscillation_index", "oscillation", 4),
  ("certified_fraction", "certified", 2),
)


def format_table(methods: Dict[str, Dict[str, Any]]) -> str:
  """A text table of :func:`aggregate`'s output: mean ± 95% CI half-width per metric
  (``-`` where a metric does not apply)."""

  def cell(s, digits):
    if s is None:
      return "-"
    if s["ci95"] is None:
      return f"{s['mean']:.{digits}f}"
    return f"{s['mean']:.{digits}f} ± {s['ci95']:.{digits}f}"

  header = ["method", "seeds"] + [h for _, h, _ in _COLUMNS]
  rows = [
    [label, str(len(s["seeds"]))] + [cell(s[k], d) for k, _, d in _COLUMNS]
    for label, s in methods.items()
  ]
  widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]
  fmt = lambda r: "  ".join(
    c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))
  )
  return "\n".join([fmt(header), "  ".join("-" * w for w in widths)] + [fmt(r) for r in rows])


def write_summary(folder: str, summary: Dict[str, Any]) -> str:
  """Write ``summary`` as ``folder/summary.json``; returns the path."""
  path = os.path.join(folder, "summary.json")
  with open(path, "w") as f:
    json.dump(summary, f, indent=1)
  return path
