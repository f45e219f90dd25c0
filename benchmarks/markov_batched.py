"""Batched Markov HQRE solves: convergence, steps and wall time per game (issue 16, item 6).

256 random general-sum Markov games, S = 20 states, 2 agents x 3 actions, gamma = 0.9,
per-agent-and-state temperatures log-uniform in [0.05, 1], solved to residual <= 1e-8 (at most
3,000 steps per phase) with the default ``method="auto"`` and, for comparison, explicit
extragradient (the earlier default) under the ``own`` convention; the ``logit`` convention
with ``auto`` too. Prints the converged fraction, the method ``auto`` used, steps
(median / max) and wall seconds per game (compile excluded: a warm-up call on the same shapes
first). The ratio printed is extragradient's time over auto's, measured in the same run.

sgamesolver (the issue's peer on the ``logit`` convention) is compared in
:mod:`benchmarks.sgamesolver_peer` (version 1.0.2 needs NumPy < 2: it runs in its own
virtualenv).

    python -m benchmarks.markov_batched [--quick] [--json FILE]
"""

from __future__ import annotations

import argparse
import time

import jax

jax.config.update("jax_enable_x64", True)

import numpy as np  # noqa: E402

from benchmarks import _record  # noqa: E402
from dice_jax.markov import MarkovGame, solve_markov  # noqa: E402

MAX_STEPS = 3000


def random_games(seed, batch, num_states, num_actions, gamma, tau_range=(0.05, 1.0)):
  rng = np.random.default_rng(seed)
  p = rng.random((batch, num_states, *num_actions, num_states)) ** 3
  p /= p.sum(-1, keepdims=True)
  r = [rng.normal(size=(batch, num_states, *num_actions)) for _ in num_actions]
  lo, hi = np.log(tau_range[0]), np.log(tau_range[1])
  tau = np.exp(rng.uniform(lo, hi, (batch, len(num_actions), num_states)))
  return MarkovGame.from_arrays(p, r, np.full(batch, gamma), temperature=tau)


def run(batch, num_states, num_actions, gamma, tol=1e-8):
  rows = []
  game = random_games(0, batch, num_states, num_actions, gamma)
  for convention, method in [("own", "auto"), ("own", "extragradient"), ("logit", "auto")]:
    solve = lambda: solve_markov(
      game, method=method, convention=convention, tol=tol, max_steps=MAX_STEPS
    )
    t0 = time.perf_counter()
    solve().result.block_until_ready()
    compile_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    sol = solve()
    sol.result.block_until_ready()
    wall = time.perf_counter() - t0
    steps = np.asarray(sol.steps)
    used = {str(k): int(v) for k, v in zip(*np.unique(sol.method_names(), return_counts=True))}
    rows.append(
      dict(
        convention=convention,
        method=method,
        batch=batch,
        states=num_states,
        actions=list(num_actions),
        gamma=gamma,
        tau_range=[0.05, 1.0],
        converged=int(np.sum(np.asarray(sol.converged))),
        results={
          str(k): int(v) for k, v in zip(*np.unique(sol.result_names(), return_counts=True))
        },
        methods_used=used,
        steps_median=float(np.median(steps)),
        steps_max=int(steps.max()),
        seconds_per_game=wall / batch,
        first_call_seconds=compile_s,
        max_residual=float(np.max(sol.residual)),
      )
    )
    r = rows[-1]
    print(
      f"{convention:6s} {method:14s} converged {r['converged']}/{batch}  used {used}  steps "
      f"median {r['steps_median']:.0f} max {r['steps_max']}  "
      f"{r['seconds_per_game'] * 1e3:.1f} ms/game  max residual {r['max_residual']:.1e}",
      flush=True,
    )
  ratio = rows[1]["seconds_per_game"] / rows[0]["seconds_per_game"]
  print(f"time per game, extragradient / auto (own): {ratio:.2f}")
  return rows, ratio


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--quick", action="store_true", help="16 games, S = 5")
  parser.add_argument("--json", default=None)
  args = parser.parse_args(argv)
  if args.quick:
    rows, ratio = run(16, 5, (2, 3), 0.9)
  else:
    rows, ratio = run(256, 20, (3, 3), 0.9)
  if args.json:
    _record.write_json(
      args.json,
      {"rows": rows, "extragradient_over_auto_time": ratio, "environment": _record.environment()},
    )


if __name__ == "__main__":
  main()
