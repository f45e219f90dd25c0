"""Batched Markov HQRE solves: steps and wall time per game (issue 4's benchmark).

256 random general-sum (and zero-sum) Markov games, S = 20 states, 2 agents x 4 actions,
gamma = 0.9, per-agent-and-state temperatures in [0.3, 0.8], solved to residual <= 1e-8 (at most
3,000 steps) under
each value convention with each method; prints steps (median / max), converged fraction and
wall seconds per game (compile excluded: a warm-up call on the same shapes first).

sgamesolver (the issue's peer on the ``logit`` convention) is not run: version 1.0.2 does not
build against NumPy 2 (its shipped Cython C uses ``PyArray_Descr.subarray``), so no ratio is
printed; the ``logit`` rows are the numbers to set beside it where it can be installed.

    python -m benchmarks.markov_batched [--quick] [--json FILE]
"""
from __future__ import annotations

import argparse
import time

import jax

jax.config.update("jax_enable_x64", True)

import numpy as np  # noqa: E402

from dice_jax.markov import MarkovGame, solve_markov  # noqa: E402

MAX_STEPS = 3000


def random_games(seed, batch, num_states, num_actions, gamma, zero_sum=False):
  rng = np.random.default_rng(seed)
  p = rng.random((batch, num_states, *num_actions, num_states)) ** 3
  p /= p.sum(-1, keepdims=True)
  r = [rng.normal(size=(batch, num_states, *num_actions)) for _ in num_actions]
  if zero_sum:
    r = [r[0], -r[0]]
  tau = 0.3 + 0.5 * rng.random((batch, len(num_actions), num_states))
  return MarkovGame.from_arrays(p, r, np.full(batch, gamma), temperature=tau)


def run(batch, num_states, num_actions, gamma, tol=1e-8):
  rows = []
  cases = [("own", False), ("logit", False), ("zero_sum", True)]
  for convention, zs in cases:
    game = random_games(0, batch, num_states, num_actions, gamma, zero_sum=zs)
    for method in ("extragradient", "mirror", "continuation"):
      solve_markov(game, method=method, convention=convention, tol=tol,
                   max_steps=MAX_STEPS).result.block_until_ready()
      t0 = time.perf_counter()
      sol = solve_markov(game, method=method, convention=convention, tol=tol, max_steps=MAX_STEPS)
      sol.result.block_until_ready()
      wall = time.perf_counter() - t0
      steps = np.asarray(sol.steps)
      rows.append(dict(convention=convention, method=method, batch=batch, states=num_states,
                       actions=list(num_actions), gamma=gamma,
                       converged=float(np.mean(np.asarray(sol.converged))),
                       steps_median=float(np.median(steps)), steps_max=int(steps.max()),
                       seconds_per_game=wall / batch, max_residual=float(np.max(sol.residual))))
      r = rows[-1]
      print(f"{convention:9s} {method:14s} converged {r['converged']:.3f}  steps median "
            f"{r['steps_median']:.0f} max {r['steps_max']}  {r['seconds_per_game'] * 1e3:.3f} ms/game"
            f"  max residual {r['max_residual']:.1e}", flush=True)
  return rows


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--quick", action="store_true", help="16 games, S = 5")
  parser.add_argument("--json", default=None)
  args = parser.parse_args(argv)
  if args.quick:
    rows = run(16, 5, (2, 4), 0.9)
  else:
    rows = run(256, 20, (4, 4), 0.9)
  print(f"device: {jax.devices()[0].device_kind}; sgamesolver: not run (see module docstring)")
  if args.json:
    import json
    with open(args.json, "w") as f:
      json.dump({"rows": rows, "device": jax.devices()[0].device_kind}, f, indent=1)


if __name__ == "__main__":
  main()
