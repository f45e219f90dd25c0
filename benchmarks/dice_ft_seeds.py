"""Combine per-seed runs of ``benchmarks/dice_ft_real.py`` into one multi-seed record.

Each seed draws its own training prompts, held-out problems (``make_tasks(..., seed=s)``),
sampling keys and adapter initialisation. For every method (``base``, ``dice_ft``, ``sft``,
``pg``) the record gives the accuracy of each seed, its mean with a 95% Student-t interval over
seeds, the pooled accuracy over all held-out problems with a Wilson 95% interval, and tokens per
answer. DICE-FT is compared with every other method *paired by problem*: over all (seed,
problem) pairs, the mean difference of the 0/1 verdicts with a normal 95% interval, the
discordant counts, and the exact two-sided McNemar p-value (binomial test of the discordant
pairs, McNemar 1947). Writes JSON and a PNG. Not a unit test.

    python benchmarks/dice_ft_seeds.py S0.json S1.json S2.json --out benchmarks/results/dice_ft_seeds.json

``--dice-ft-from D1.json D2.json`` replaces the DICE-FT of those records' seeds with a
``dice_ft_real.py --dice-only`` run of the same seed (the other seeds keep their own) (another eta or tau; :func:`with_dice_ft_from`), keeping that
seed's base, SFT and policy-gradient verdicts: the same held-out problems and the same base
model, so the pairing by problem still holds (checked: the base verdicts must be equal).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from typing import Dict, List, Sequence

import numpy as np

METHODS = ("base", "dice_ft", "sft", "pg")
T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262}


def wilson(k: int, n: int, z: float = 1.96) -> List[float]:
  """Wilson score 95% interval for ``k`` successes in ``n`` trials."""
  if n == 0:
    return [float("nan"), float("nan")]
  p = k / n
  d = 1 + z * z / n
  c = (p + z * z / (2 * n)) / d
  h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
  return [c - h, c + h]


def mcnemar_exact(b: int, c: int) -> float:
  """Two-sided exact McNemar p-value: discordant pairs ``b`` (only the first right) and ``c``
  (only the second right) under ``Binomial(b + c, 1/2)``."""
  n = b + c
  if n == 0:
    return 1.0
  tail = sum(math.comb(n, i) for i in range(min(b, c) + 1)) / 2.0**n
  return min(1.0, 2.0 * tail)


def paired(x: np.ndarray, y: np.ndarray) -> Dict[str, float]:
  """``x - y`` over paired 0/1 verdicts: mean, normal 95% interval, discordant counts, p."""
  d = x.astype(float) - y.astype(float)
  se = float(np.std(d, ddof=1) / math.sqrt(len(d))) if len(d) > 1 else float("nan")
  b, c = int(np.sum(x & ~y)), int(np.sum(y & ~x))
  m = float(np.mean(d))
  return {
    "mean_difference": m,
    "ci95": [m - 1.96 * se, m + 1.96 * se],
    "first_only": b,
    "second_only": c,
    "pairs": int(len(d)),
    "mcnemar_p": mcnemar_exact(b, c),
  }


def with_dice_ft_from(record: dict, dice_only: dict) -> dict:
  """``record`` (a full per-seed run) with its DICE-FT results and settings replaced by those of
  ``dice_only`` (a ``--dice-only`` run of the same seed and size).

  Raises:
    ValueError: the seeds differ, or the two runs' base verdicts differ problem by problem (not
      the same held-out problems or base model, so the pairing would be wrong).
  """
  if record["seed"] != dice_only["seed"]:
    raise ValueError(
      f"dice_only: seed {dice_only['seed']} does not match the record's seed {record['seed']}."
    )
  a = record["heldout"]["base"]["per_task_correct"]
  b = dice_only["heldout"]["base"]["per_task_correct"]
  if list(a) != list(b):
    raise ValueError(
      f"dice_only: seed {record['seed']}: its base verdicts differ from the record's "
      f"({sum(b)}/{len(b)} vs {sum(a)}/{len(a)}); not the same held-out problems."
    )
  out = dict(record)
  out["heldout"] = {**record["heldout"], "dice_ft": dice_only["heldout"]["dice_ft"]}
  out["settings"] = {**record["settings"], "dice_ft": dice_only["settings"]}
  out["timing"] = {**record.get("timing", {}), "dice_only_seconds": dice_only["total_seconds"]}
  return out


def combine(records: Sequence[dict]) -> dict:
  """The multi-seed record of per-seed ``dice_ft_real`` records (module docstring)."""
  if not records:
    raise ValueError("records: need at least one per-seed record.")
  seeds = [r["seed"] for r in records]
  if len(set(seeds)) != len(seeds):
    raise ValueError(f"records: every seed must appear once; got seeds {seeds}.")
  methods = [m for m in METHODS if all(m in r["heldout"] for r in records)]
  verdicts = {
    m: np.concatenate([np.asarray(r["heldout"][m]["per_task_correct"], bool) for r in records])
    for m in methods
  }
  per_method = {}
  for m in methods:
    acc = [r["heldout"][m]["accuracy"] for r in records]
    k, n = int(verdicts[m].sum()), int(verdicts[m].size)
    mean = float(np.mean(acc))
    if len(acc) > 1:  # one seed has no spread: no interval (None in the JSON)
      half = T95.get(len(acc) - 1, 1.96) * float(np.std(acc, ddof=1)) / math.sqrt(len(acc))
      ci = [mean - half, mean + half]
    else:
      ci = None
    per_method[m] = {
      "accuracy_per_seed": acc,
      "accuracy_mean": mean,
      "accuracy_ci95_over_seeds": ci,
      "pooled_correct": k,
      "pooled_n": n,
      "pooled_accuracy": k / n,
      "pooled_wilson95": wilson(k, n),
      "tokens_per_answer_mean": float(
        np.mean([r["heldout"][m]["tokens_per_answer"] for r in records])
      ),
    }
  return {
    "benchmark": "dice_ft_seeds",
    "seeds": seeds,
    "size": records[0]["size"],
    "settings": records[0]["settings"],
    "environment": [r["environment"] for r in records],
    "methods": per_method,
    "dice_ft_vs": {m: paired(verdicts["dice_ft"], verdicts[m]) for m in methods if m != "dice_ft"},
    "timing": {str(r["seed"]): r["timing"] for r in records},
    "total_seconds": float(sum(r["total_seconds"] for r in records)),
  }


def table(rec: dict) -> str:
  """The multi-seed table as text."""
  lines = ["method    acc/seed                 mean [95% t, seeds]      pooled k/n   tokens"]
  for m, v in rec["methods"].items():
    per = " ".join(f"{a:.3f}" for a in v["accuracy_per_seed"])
    ci = v["accuracy_ci95_over_seeds"]
    ci = "[   -,     -]" if ci is None else f"[{ci[0]:.3f}, {ci[1]:.3f}]"
    lines.append(
      f"{m:9s} {per:24s} {v['accuracy_mean']:.3f} {ci}   "
      f"{v['pooled_correct']}/{v['pooled_n']:<6d} {v['tokens_per_answer_mean']:.1f}"
    )
  for m, p in rec["dice_ft_vs"].items():
    lines.append(
      f"DICE-FT - {m}: {p['mean_difference']:+.3f} [{p['ci95'][0]:+.3f}, {p['ci95'][1]:+.3f}], "
      f"discordant {p['first_only']}/{p['second_only']}, McNemar p = {p['mcnemar_p']:.3g}"
    )
  return "\n".join(lines)


def plot(rec: dict, path: str) -> None:
  import matplotlib  # noqa: PLC0415

  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # noqa: PLC0415

  names = list(rec["methods"])
  label = {"base": "base", "dice_ft": "DICE-FT", "sft": "SFT (rejection)", "pg": "PG (RLOO)"}
  fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
  acc = [rec["methods"][n]["pooled_accuracy"] for n in names]
  w = [rec["methods"][n]["pooled_wilson95"] for n in names]
  axes[0].bar(
    [label[n] for n in names],
    acc,
    yerr=[[a - lo for a, (lo, _) in zip(acc, w)], [hi - a for a, (_, hi) in zip(acc, w)]],
    capsize=4,
    color=["gray", "C0", "C1", "C2"][: len(names)],
  )
  n = rec["methods"][names[0]]["pooled_n"]
  axes[0].set(ylabel="held-out accuracy (greedy)", title=f"{n} problems over seeds {rec['seeds']}")
  vs = rec["dice_ft_vs"]
  means = [vs[m]["mean_difference"] for m in vs]
  axes[1].errorbar(
    means,
    range(len(vs)),
    xerr=[
      [mu - vs[m]["ci95"][0] for mu, m in zip(means, vs)],
      [vs[m]["ci95"][1] - mu for mu, m in zip(means, vs)],
    ],
    fmt="o",
    capsize=4,
  )
  axes[1].axvline(0, color="k", lw=0.8)
  axes[1].set_yticks(range(len(vs)), [f"DICE-FT - {label[m]}" for m in vs])
  axes[1].set(xlabel="paired accuracy difference (95%)", title="paired by problem")
  plt.tight_layout()
  plt.savefig(path, dpi=110)


def main(argv=None):
  ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  ap.add_argument("records", nargs="+", help="per-seed JSON records of dice_ft_real.py")
  ap.add_argument(
    "--dice-ft-from",
    nargs="+",
    default=None,
    help="dice_ft_real.py --dice-only records (at most one per seed) whose DICE-FT replaces "
    "that seed's record's; seeds without one keep their own",
  )
  ap.add_argument("--out", default=None, help="JSON path (and .png beside it); default: print only")
  args = ap.parse_args(argv)
  recs = []
  for p in args.records:
    with open(p) as f:
      recs.append(json.load(f))
  if args.dice_ft_from is not None:
    by_seed = {}
    for p in args.dice_ft_from:
      with open(p) as f:
        d = json.load(f)
      by_seed[d["seed"]] = d
    unmatched = sorted(set(by_seed) - {r["seed"] for r in recs})
    if unmatched or len(by_seed) != len(args.dice_ft_from):
      ap.error(
        f"--dice-ft-from: at most one record per seed, each a seed of the records; "
        f"seeds {sorted(by_seed)} given, {unmatched} not among the records"
      )
    recs = [with_dice_ft_from(r, by_seed[r["seed"]]) if r["seed"] in by_seed else r for r in recs]
  rec = combine(recs)
  print(table(rec))
  if args.out:
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
      json.dump(rec, f, indent=2)
    plot(rec, os.path.splitext(args.out)[0] + ".png")
    print(f"wrote {args.out}")
  return rec


if __name__ == "__main__":
  sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
  main()
