"""``python -m benchmarks [--quick] [--json FILE]``: the headline figures in one run.

Keys written (ratios are peer time / dice_jax time, all at residual <= 1e-8, float64):

* ``vs_gambit``, ``vs_numpy``: throughput at 1024 games of 32x32, lambda = 2 (``mirror``);
* ``roofline_fraction``: achieved payoff bandwidth of that batch over the measured STREAM-scale
  bandwidth (:mod:`benchmarks.roofline`);
* ``small_tau_vs_gambit``: one 50x50 game at lambda = 50 (``continuation``, which follows
  Gambit's branch; the answers are compared).

``--quick`` times Gambit on 2 games instead of 8 and repeats each timing twice (under 2
minutes on a 2-core CPU); the full run also writes the throughput, peers and roofline records.
"""
from __future__ import annotations

import argparse
import time

import jax

jax.config.update("jax_enable_x64", True)

import numpy as np  # noqa: E402

import dice_jax as dj  # noqa: E402
from benchmarks import peers, roofline, throughput  # noqa: E402
from benchmarks._record import best_time, environment, write_json  # noqa: E402


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
  return {"dice_jax_s": ours, "gambit_s": theirs, "ratio": theirs / ours,
          "max_diff_vs_gambit": diff, "dice_jax_residual": float(sol.residual)}


def main(argv=None):
  p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  p.add_argument("--quick", action="store_true")
  p.add_argument("--json", default="benchmarks/results/summary.json")
  p.add_argument("--n", type=int, default=32, help="actions per player of the throughput batch")
  p.add_argument("--batch", type=int, default=1024)
  p.add_argument("--small-n", type=int, default=50, help="actions of the lambda=50 game")
  args = p.parse_args(argv)
  reps = 2 if args.quick else 5
  row = throughput.run_setting(args.n, args.batch, 2.0, gambit_games=2 if args.quick else 8,
                               repeats=reps, seed=0)
  roof = roofline.measure(args.n, args.batch, 2.0)
  small = small_tau_vs_gambit(n=args.small_n, repeats=reps)
  record = {"benchmark": "summary", "env": environment(), "quick": args.quick,
            "vs_gambit": row["ratio_vs_gambit"], "vs_numpy": row["ratio_vs_numpy"],
            "roofline_fraction": roof["roofline_fraction"],
            "small_tau_vs_gambit": small["ratio"],
            "throughput_setting": row, "roofline": roof, "small_tau": small}
  if not args.quick:
    record["peers"] = peers.main([])["rows"]
    record["throughput"] = throughput.main([])["rows"]
  write_json(args.json, record)
  print(f"device {record['env']['device']}  jax {record['env']['jax']}  float64  residual <= 1e-8")
  print(f"{args.batch} x {args.n}x{args.n}, lambda=2:  {record['vs_gambit']:.0f}x Gambit, {record['vs_numpy']:.2f}x NumPy, "
        f"{100 * record['roofline_fraction']:.0f}% of the measured roofline")
  print(f"{args.small_n}x{args.small_n}, lambda=50, batch 1: {record['small_tau_vs_gambit']:.1f}x Gambit "
        f"(max |diff| {small['max_diff_vs_gambit']:.1e})")
  print(f"wrote {args.json}")
  return record


if __name__ == "__main__":
  main()
