"""benchmarks/dice_ft_seeds.py: the multi-seed DICE-FT record against SciPy's binomial test and
t quantiles and against explicit counts on synthetic per-seed records."""

import math

import numpy as np
import pytest
from scipy import stats

from benchmarks.dice_ft_seeds import combine, mcnemar_exact, table


def _record(seed, verdicts):
  return {
    "seed": seed,
    "size": {"test_tasks": len(verdicts["base"])},
    "settings": {},
    "environment": {},
    "timing": {},
    "total_seconds": 1.0,
    "heldout": {
      m: {
        "per_task_correct": [int(x) for x in v],
        "accuracy": float(np.mean(v)),
        "tokens_per_answer": 10.0 + i,
      }
      for i, (m, v) in enumerate(verdicts.items())
    },
  }


@pytest.mark.parametrize("b,c", [(0, 0), (3, 0), (7, 2), (10, 10), (40, 25)])
def test_mcnemar_exact_equals_scipys_two_sided_binomial_test(b, c):
  expected = 1.0 if b + c == 0 else stats.binomtest(b, b + c, 0.5).pvalue
  assert mcnemar_exact(b, c) == pytest.approx(expected, rel=1e-12)


def test_combine_counts_pairs_and_intervals():
  rng = np.random.default_rng(0)
  recs = [
    _record(
      s,
      {
        m: rng.random(50) < p
        for m, p in zip(("base", "dice_ft", "sft", "pg"), (0.2, 0.35, 0.15, 0.25))
      },
    )
    for s in range(3)
  ]
  rec = combine(recs)
  v = {
    m: np.concatenate([r["heldout"][m]["per_task_correct"] for r in recs]).astype(bool)
    for m in rec["methods"]
  }
  for m, out in rec["methods"].items():
    acc = [r["heldout"][m]["accuracy"] for r in recs]
    half = stats.t.ppf(0.975, 2) * np.std(acc, ddof=1) / math.sqrt(3)
    assert out["accuracy_ci95_over_seeds"] == pytest.approx(
      [np.mean(acc) - half, np.mean(acc) + half], rel=1e-3
    )
    assert out["pooled_correct"] == v[m].sum() and out["pooled_n"] == 150
  for m, p in rec["dice_ft_vs"].items():
    d, o = v["dice_ft"], v[m]
    assert p["first_only"] == np.sum(d & ~o) and p["second_only"] == np.sum(o & ~d)
    assert p["mean_difference"] == pytest.approx(d.mean() - o.mean())
    assert p["mcnemar_p"] == pytest.approx(mcnemar_exact(p["first_only"], p["second_only"]))
  assert set(rec["dice_ft_vs"]) == {"base", "sft", "pg"} and "DICE-FT - pg" in table(rec)
  with pytest.raises(ValueError, match="every seed must appear once"):
    combine([recs[0], recs[0]])


def test_one_seed_has_no_interval_over_seeds_but_keeps_the_paired_test():
  rng = np.random.default_rng(1)
  rec = combine([_record(0, {m: rng.random(40) < 0.3 for m in ("base", "dice_ft")})])
  assert rec["methods"]["dice_ft"]["accuracy_ci95_over_seeds"] is None
  assert rec["dice_ft_vs"]["base"]["pairs"] == 40 and "[   -,     -]" in table(rec)


def test_dice_ft_from_a_dice_only_run_replaces_dice_ft_and_keeps_the_pairing():
  from benchmarks.dice_ft_seeds import with_dice_ft_from

  rng = np.random.default_rng(2)
  base = rng.random(30) < 0.3
  full = _record(1, {"base": base, "dice_ft": rng.random(30) < 0.3, "sft": rng.random(30) < 0.3})
  new = rng.random(30) < 0.6
  only = _record(1, {"base": base, "dice_ft": new})
  only["settings"] = {"step_size": 8.0}
  rec = combine([with_dice_ft_from(full, only)])
  assert rec["methods"]["dice_ft"]["pooled_correct"] == new.sum()
  assert rec["methods"]["sft"]["pooled_correct"] == full["heldout"]["sft"][
    "per_task_correct"
  ].count(1)
  assert rec["settings"]["dice_ft"] == {"step_size": 8.0}
  assert rec["dice_ft_vs"]["base"]["first_only"] == np.sum(new & ~base)
  with pytest.raises(ValueError, match="seed 2 does not match"):
    with_dice_ft_from(full, _record(2, {"base": base, "dice_ft": new}))
  with pytest.raises(ValueError, match="base verdicts differ"):
    with_dice_ft_from(full, _record(1, {"base": ~base, "dice_ft": new}))


def test_dice_ft_from_on_some_seeds_keeps_the_others_and_refuses_unknown_seeds(tmp_path):
  import json

  from benchmarks.dice_ft_seeds import main

  rng = np.random.default_rng(3)
  paths = {}
  base = {s: rng.random(20) < 0.3 for s in (1, 2, 9)}
  for name, rec in {
    "r1": _record(1, {"base": base[1], "dice_ft": rng.random(20) < 0.3}),
    "r2": _record(2, {"base": base[2], "dice_ft": rng.random(20) < 0.3}),
    "d1": _record(1, {"base": base[1], "dice_ft": np.ones(20, bool)}),
    "d9": _record(9, {"base": base[9], "dice_ft": np.ones(20, bool)}),
  }.items():
    paths[name] = str(tmp_path / f"{name}.json")
    with open(paths[name], "w") as f:
      json.dump(rec, f)
  rec = main([paths["r1"], paths["r2"], "--dice-ft-from", paths["d1"]])
  with open(paths["r2"]) as f:
    own = sum(json.load(f)["heldout"]["dice_ft"]["per_task_correct"])
  assert rec["methods"]["dice_ft"]["pooled_correct"] == 20 + own
  with pytest.raises(SystemExit):
    main([paths["r1"], paths["r2"], "--dice-ft-from", paths["d9"]])
