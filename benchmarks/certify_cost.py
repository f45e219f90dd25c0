"""Cost of certification next to solving (issue 3): ``certify`` time / ``solve`` time.

Settings (float64, lambda = 1 / tau, payoffs uniform on [-1, 1], solver: default adaptive
mirror to residual 1e-8, timings are the best of ``--repeats`` warm calls, compilation
excluded):

* a batch of two-player n x n games (default 1024 games of 32 x 32): certify computes the exact
  alpha (an SVD per game and variant), the sampled lower bound (``jax.jacfwd`` at
  ``--num-samples`` + 1 profiles), the Lipschitz slice bound and the error bound;
* a batch of four-player 4 x 4 x 4 x 4 games (the vertex bound over 6 pairs x 16 slices).

Every setting runs twice: exact (SVD / eigvalsh) and ``fast=True`` (rigorous bounds from
matrix products and power iterations only).

Also records the fraction certified and the mean error bound. Target: ratio <= 0.5 for the
two-player batch.

    python -m benchmarks.certify_cost [--quick] [--json FILE]
"""
from __future__ import annotations

import argparse

import jax

jax.config.update("jax_enable_x64", True)

import numpy as np  # noqa: E402

import dice_jax as dj  # noqa: E402
from benchmarks._record import best_time, environment, write_json  # noqa: E402
from dice_jax.certify import certify  # noqa: E402


def run_setting(num_actions, batch, lam, *, repeats, seed, num_samples, fast=False):
  game = dj.games.random.uniform(jax.random.PRNGKey(seed), num_actions, (batch,))
  tau = 1.0 / lam
  sol = dj.solve(game, tau)
  cert = certify(game, tau, sol, num_samples=num_samples, fast=fast)  # compile both
  jax.block_until_ready((sol, cert))
  solve_s = best_time(lambda: jax.block_until_ready(dj.solve(game, tau)), repeats)
  certify_s = best_time(
      lambda: jax.block_until_ready(certify(game, tau, sol, num_samples=num_samples, fast=fast)),
      repeats)
  certified = np.asarray(cert.certified)
  return {
      "players": len(num_actions), "num_actions": list(num_actions), "batch": batch,
      "lambda": lam, "num_samples": num_samples, "fast": fast,
      "solve_s": solve_s, "certify_s": certify_s, "ratio": certify_s / solve_s,
      "solve_max_steps": int(np.max(sol.steps)),
      "solve_converged": float(np.mean(np.asarray(sol.converged))),
      "fraction_certified": float(np.mean(certified)),
      "mean_error_bound_certified": (float(np.mean(np.asarray(cert.error_bound)[certified]))
                                     if certified.any() else None),
      "mean_alpha_upper": float(np.mean(cert.alpha_upper)),
      "mean_alpha_lower": float(np.mean(cert.alpha_lower)),
  }


def main(argv=None):
  p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  p.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
  p.add_argument("--lam", type=float, nargs="*", default=None)
  p.add_argument("--batch", type=int, default=None)
  p.add_argument("--num-samples", type=int, default=8)
  p.add_argument("--repeats", type=int, default=3)
  p.add_argument("--seed", type=int, default=0)
  p.add_argument("--json", default="benchmarks/results/certify_cost.json")
  args = p.parse_args(argv)
  batch = args.batch or (16 if args.quick else 1024)
  shapes = [(4, 4), (2, 2, 2, 2)] if args.quick else [(32, 32), (4, 4, 4, 4)]
  lams = args.lam or ([2.0] if args.quick else [2.0, 0.5])
  rows = [run_setting(s, batch, lam, repeats=args.repeats, seed=args.seed,
                      num_samples=args.num_samples, fast=fast)
          for s in shapes for lam in lams for fast in (False, True)]
  record = {"benchmark": "certify_cost", "env": environment(), "dtype": "float64", "rows": rows}
  write_json(args.json, record)
  print(f"device {record['env']['device']}  jax {record['env']['jax']}  float64")
  print(f"{'game':>12} {'fast':>5} {'batch':>6} {'lambda':>6} {'solve ms':>9} {'certify ms':>11} "
        f"{'ratio':>6} {'steps':>6} {'certified':>9}")
  for r in rows:
    print(f"{'x'.join(map(str, r['num_actions'])):>12} {str(r['fast']):>5} {r['batch']:>6} {r['lambda']:>6} "
          f"{1e3 * r['solve_s']:>9.2f} {1e3 * r['certify_s']:>11.2f} {r['ratio']:>6.2f} "
          f"{r['solve_max_steps']:>6} {r['fraction_certified']:>9.2f}")
  return record


if __name__ == "__main__":
  main()
