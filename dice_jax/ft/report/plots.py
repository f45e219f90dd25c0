"""Plots and a table of a DICE-FT run folder (:mod:`dice_jax.ft.harness.runner`).

:func:`report` reads ``records.jsonl`` and ``eval.jsonl`` and writes ``training.png``: per
iteration and agent the sampled accuracy (mean payoff of the ``K`` samples), the fit loss and
the KL of the mirror target to the current policy, the KL to the base reference, and the tokens
per sample; plus the held-out accuracy of every evaluation. It returns the table it prints.
"""

from __future__ import annotations

import os
from typing import Any, Dict, List, NamedTuple

__all__ = ["FTRun", "format_table", "read_run", "report"]


class FTRun(NamedTuple):
  """A run folder's records (one per completed iteration) and evaluations."""

  records: List[Dict[str, Any]]
  evals: List[Dict[str, Any]]


def read_run(folder: str) -> FTRun:
  """The records and evaluations of ``folder`` (torn last lines ignored).

  Raises:
    ValueError: ``folder`` holds no DICE-FT run (no ``records.jsonl`` nor ``eval.jsonl``).
  """
  from dice_jax.ft.harness.runner import EVAL, RECORDS, read_jsonl  # noqa: PLC0415

  run = FTRun(read_jsonl(os.path.join(folder, RECORDS)), read_jsonl(os.path.join(folder, EVAL)))
  if not run.records and not run.evals:
    raise ValueError(f"folder {folder!r} holds no DICE-FT run (no records.jsonl or eval.jsonl).")
  return run


def format_table(run: FTRun) -> str:
  """One line per iteration: sampled accuracy, target KL, loss, KL to the reference, tokens."""
  lines = ["iter  agent  sampled_acc  target_kl     loss  kl_to_ref  tokens  fitted"]
  for r in run.records:
    for i, a in enumerate(r["agents"]):
      lines.append(
        f"{r['iteration'] + 1:4d}  {i:5d}  {a.get('sample_payoff', float('nan')):11.3f}"
        f"  {a['target_kl']:9.2e}  {a['loss']:7.3g}  {a['kl_to_reference']:9.2e}"
        f"  {a.get('mean_tokens', float('nan')):6.1f}  {str(a['fitted']):>6s}"
      )
  for e in run.evals:
    lines.append(
      f"held-out after {e['iteration']} iteration(s): accuracy {e['accuracy']:.3f} "
      f"({e['correct']:g}/{e['n']}), {e['tokens_per_answer']:.1f} tokens per answer"
    )
  return "\n".join(lines)


def report(folder: str, *, out_dir: str | None = None) -> str:
  """Write ``training.png`` for the run in ``folder`` (into ``out_dir``, default ``folder``) and
  return :func:`format_table`'s table.

  Raises:
    ValueError: ``folder`` holds no run.
  """
  import matplotlib  # noqa: PLC0415

  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # noqa: PLC0415

  run = read_run(folder)
  out_dir = out_dir or folder
  fig, axes = plt.subplots(1, 4, figsize=(16, 3.6))
  its = [r["iteration"] + 1 for r in run.records]
  n = len(run.records[0]["agents"]) if run.records else 0
  series = (
    ("sample_payoff", "sampled accuracy"),
    ("target_kl", "KL(target || pi_k)"),
    ("kl_to_reference", "KL(pi || rho)"),
    ("mean_tokens", "tokens per sample"),
  )
  for ax, (key, title) in zip(axes, series):
    for i in range(n):
      ax.plot(its, [r["agents"][i].get(key) for r in run.records], "o-", label=f"agent {i}")
    ax.set_title(title)
    ax.set_xlabel("iteration")
  if run.evals:
    axes[0].plot(
      [e["iteration"] for e in run.evals],
      [e["accuracy"] for e in run.evals],
      "ks--",
      label="held-out (greedy)",
    )
  axes[0].legend(fontsize=8)
  fig.tight_layout()
  path = os.path.join(out_dir, "training.png")
  fig.savefig(path, dpi=110)
  plt.close(fig)
  return format_table(run)
