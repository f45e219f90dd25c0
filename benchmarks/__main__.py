"""``python -m benchmarks [--quick] [--json FILE]``: the headline figures in one run.

Keys written (ratios are peer time / dice_jax time, all at residual <= 1e-8, float64; timings
are medians of repeats interleaved in this process):

* ``vs_gambit``: throughput at 1024 games of 32x32, lambda = 2 (``mirror``);
* ``vs_numpy_best_effort``: the same batch against :mod:`benchmarks.numpy_best` (the same
  algorithm and stopping rule written as a NumPy expert would, its faster contraction);
* ``vs_numpy``: the same batch against the *former* baseline :mod:`benchmarks.numpy_mirror`,
  kept so that this key stays comparable with records written before issue 13 (not the ratio
  to quote);
* ``roofline_fraction``: the measured time of that batch over the time its binding resource
  (payoff bytes, flops or ``exp``) needs at a ceiling measured in the same run
  (:mod:`benchmarks.roofline`); ``bandwidth_fraction``: payoff bytes/s over the measured memory
  read bandwidth;
* ``certify_vs_solve``: ``certify`` time / ``solve`` time on a batch of two-player games, read
  from the record :mod:`benchmarks.certify_cost` writes (its first row; all rows under
  ``certify_cost``);
* ``small_tau_vs_gambit``: one 50x50 game at lambda = 50 (``continuation``, which follows
  Gambit's branch; the answers are compared).

``--quick`` times Gambit on 2 games instead of 8, repeats each timing 5 times instead of 15
(``--repeats`` overrides either) and runs the certify benchmark on its quick setting; the full
run also writes the throughput and peers records.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time

import jax

jax.config.update("jax_enable_x64", True)

import numpy as np  # noqa: E402

import dice_jax as dj  # noqa: E402
from benchmarks import certify_cost, peers, roofline, throughput  # noqa: E402
from benchmarks._record import best_time, environment, interleaved_times, write_json  # noqa: E402
from benchmarks.numpy_mirror import solve_numpy_mirror  # noqa: E402


def small_tau_vs_gambit(n=50, lam=50.0, seed=0, repeats=2):
  from dice_jax.testing import gambit_logit_qre

  game = dj.games.random.uniform(jax.random.PRNGKey(seed), (n, n))
  solve = lambda: jax.block_until_ready(dj.solve(game, 1 / lam, method="continuation"))
  sol = solve()
  ours = best_time(solve, repeats)
  gambit_logit_qre(dj.games.matching_pennies(), 1.0)
  t = time.perf_counter()
  ref = gambit_logit_qre(game, lam)
  theirs = time.perf_counter() - t
  diff = max(float(np.abs(np.asarray(a) - b).max()) for a, b in zip(sol.probabilities, ref))
  return {
    "dice_jax_s": ours,
    "gambit_s": theirs,
    "ratio": theirs / ours,
    "max_diff_vs_gambit": diff,
    "dice_jax_residual": float(sol.residual),
  }


def vs_former_numpy(n, batch, lam, repeats, seed=0):
  """dice_jax against the former NumPy baseline, interleaved (the ``vs_numpy`` key)."""
  tau = 1.0 / lam
  game = dj.games.random.uniform(jax.random.PRNGKey(seed), (n, n), batch_shape=(batch,))
  a, b = (np.asarray(u) for u in game.payoffs)
  solve = lambda: jax.block_until_ready(dj.solve(game, tau, method="mirror", tol=throughput.TOL))
  solve()
  t = interleaved_times(
    {"dice_jax": solve, "numpy_former": lambda: solve_numpy_mirror(a, b, tau, tol=throughput.TOL)},
    repeats,
  )
  return {
    "dice_jax_s": t["dice_jax"]["median_s"],
    "numpy_former_s": t["numpy_former"]["median_s"],
    "ratio": t["numpy_former"]["median_s"] / t["dice_jax"]["median_s"],
  }


def certify_record(batch, lam, repeats, quick):
  """Run :mod:`benchmarks.certify_cost` through its command line and read back its record."""
  with tempfile.TemporaryDirectory() as d:
    path = os.path.join(d, "certify_cost.json")
    certify_cost.main(
      ["--batch", str(batch), "--lam", str(lam), "--repeats", str(repeats), "--json", path]
      + (["--quick"] if quick else [])
    )
    with open(path) as f:
      return json.load(f)


def main(argv=None):
  p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  p.add_argument("--quick", action="store_true")
  p.add_argument("--json", default="benchmarks/results/summary.json")
  p.add_argument("--n", type=int, default=32, help="actions per player of the throughput batch")
  p.add_argument("--batch", type=int, default=1024)
  p.add_argument("--small-n", type=int, default=50, help="actions of the lambda=50 game")
  p.add_argument(
    "--repeats", type=int, default=None, help="repeats of each timing (default 5 quick, 15 full)"
  )
  args = p.parse_args(argv)
  if args.repeats is not None and args.repeats < 1:
    p.error(f"--repeats must be >= 1; got {args.repeats}")
  reps = args.repeats or (5 if args.quick else 15)
  row = throughput.run_setting(
    args.n, args.batch, 2.0, gambit_games=2 if args.quick else 8, repeats=reps, seed=0
  )
  former = vs_former_numpy(args.n, args.batch, 2.0, reps)
  roof = roofline.measure(args.n, args.batch, 2.0, repeats=reps)
  cert = certify_record(args.batch, 2.0, 3 if args.quick else 5, args.quick)
  small = small_tau_vs_gambit(n=args.small_n, repeats=reps)
  record = {
    "benchmark": "summary",
    "env": environment(),
    "quick": args.quick,
    "vs_gambit": row["ratio_vs_gambit"],
    "vs_numpy": former["ratio"],
    "vs_numpy_best_effort": row["ratio_vs_numpy_best_effort"],
    "roofline_fraction": roof["roofline_fraction"],
    "bandwidth_fraction": roof["bandwidth_fraction"],
    "certify_vs_solve": cert["rows"][0]["ratio"],
    "small_tau_vs_gambit": small["ratio"],
    "throughput_setting": row,
    "numpy_former": former,
    "roofline": roof,
    "certify_cost": cert["rows"],
    "small_tau": small,
  }
  if not args.quick:
    record["peers"] = peers.main([])["rows"]
    record["throughput"] = throughput.main([])["rows"]
  write_json(args.json, record)
  print(f"device {record['env']['device']}  jax {record['env']['jax']}  float64  residual <= 1e-8")
  print(
    f"{args.batch} x {args.n}x{args.n}, lambda=2:  {record['vs_gambit']:.0f}x Gambit, "
    f"{record['vs_numpy_best_effort']:.2f}x best-effort NumPy ({record['vs_numpy']:.2f}x the "
    f"former baseline), {100 * record['roofline_fraction']:.0f}% of the roofline ({roof['binds']} "
    f"binds), {100 * record['bandwidth_fraction']:.0f}% of memory read bandwidth; certify / solve "
    f"{record['certify_vs_solve']:.2f}  (load {record['env']['load_average']})"
  )
  print(
    f"{args.small_n}x{args.small_n}, lambda=50, batch 1: {record['small_tau_vs_gambit']:.1f}x Gambit "
    f"(max |diff| {small['max_diff_vs_gambit']:.1e})"
  )
  print(f"wrote {args.json}")
  return record


if __name__ == "__main__":
  main()
