"""Cost of certification next to solving (issues 3 and 13): ``certify`` time / ``solve`` time.

Settings (float64, lambda = 1 / tau, payoffs uniform on [-1, 1], solver: the adaptive mirror
method (``method="mirror"``) to residual 1e-8, compilation excluded -- the baseline of the
issue-13 target; the default ``method="auto"`` adds continuation where no cheap bound
certifies uniqueness, which is every game here):

* a batch of two-player n x n games (default 1024 games of 32 x 32);
* a batch of four-player 4 x 4 x 4 x 4 games (the vertex bound over 6 pairs x 16 slices;
  default 256 games, ``--nplayer-batch``).

Every setting times four calls **interleaved** in one process (solve, certify with the default
tiered bounds, ``tiered=False`` -- the full exact computation for every game, as before issue
13 -- and ``fast=True``), ``--repeats`` rounds, medians quoted: the machine is shared, and
interleaving keeps the ratios meaningful while its speed drifts (the spread is recorded).
``ratio`` is tiered certify / solve; ``ratio_exact`` and ``ratio_fast`` the others.

Also recorded: the fraction certified, how many games the cheap tier decided, and that the
tiered verdicts equal the exact ones (``verdicts_agree``) with bounds no looser than exact on
the games the exact tier handled (``max_alpha_upper_excess_exact_tier``, 0 when identical).
Targets (issue 13): ratio <= 1 at 1024 x 32 x 32 and <= 3 at 4^4.

    python -m benchmarks.certify_cost [--quick] [--json FILE]
"""

from __future__ import annotations

import argparse

import jax

jax.config.update("jax_enable_x64", True)

import numpy as np  # noqa: E402

import dice_jax as dj  # noqa: E402
from benchmarks._record import environment, interleaved_times, load_average, write_json  # noqa: E402
from dice_jax.certify import certify  # noqa: E402


def run_setting(num_actions, batch, lam, *, repeats, seed, num_samples):
  game = dj.games.random.uniform(jax.random.PRNGKey(seed), num_actions, (batch,))
  tau = 1.0 / lam
  sol = dj.solve(game, tau, method="mirror")
  calls = {
    "solve": lambda: dj.solve(game, tau, method="mirror"),
    "certify": lambda: certify(game, tau, sol, num_samples=num_samples),
    "certify_exact": lambda: certify(game, tau, sol, num_samples=num_samples, tiered=False),
    "certify_fast": lambda: certify(
      game, tau, sol, num_samples=num_samples, fast=True, tiered=False
    ),
  }
  out = {k: jax.block_until_ready(f()) for k, f in calls.items()}  # compile everything
  out["certify"] = jax.block_until_ready(calls["certify"]())  # and the exact tier's subsets
  times = interleaved_times(
    {k: (lambda f=f: jax.block_until_ready(f())) for k, f in calls.items()}, repeats
  )
  tiered, exact = out["certify"], out["certify_exact"]
  certified = np.asarray(tiered.certified)
  in_exact_tier = (
    np.asarray(tiered.exact)
    if len(num_actions) == 2
    else np.asarray(tiered.alpha_upper) == np.asarray(exact.alpha_upper)
  )
  med = {k: v["median_s"] for k, v in times.items()}
  return {
    "players": len(num_actions),
    "num_actions": list(num_actions),
    "batch": batch,
    "lambda": lam,
    "num_samples": num_samples,
    "solve_s": med["solve"],
    "certify_s": med["certify"],
    "certify_exact_s": med["certify_exact"],
    "certify_fast_s": med["certify_fast"],
    "ratio": med["certify"] / med["solve"],
    "ratio_exact": med["certify_exact"] / med["solve"],
    "ratio_fast": med["certify_fast"] / med["solve"],
    "timings": times,
    "solve_max_steps": int(np.max(sol.steps)),
    "solve_converged": float(np.mean(np.asarray(sol.converged))),
    "fraction_certified": float(np.mean(certified)),
    "fraction_decided_by_cheap_tier": float(np.mean(~in_exact_tier)),
    "verdicts_agree": bool(np.all(np.asarray(tiered.reason_code) == np.asarray(exact.reason_code))),
    "max_alpha_upper_excess_exact_tier": float(
      np.max(
        np.asarray(tiered.alpha_upper) - np.asarray(exact.alpha_upper),
        where=in_exact_tier,
        initial=0.0,
      )
    ),
    "mean_error_bound_certified": (
      float(np.mean(np.asarray(tiered.error_bound)[certified])) if certified.any() else None
    ),
    "mean_error_bound_certified_exact": (
      float(np.mean(np.asarray(exact.error_bound)[certified])) if certified.any() else None
    ),
    "mean_alpha_upper": float(np.mean(tiered.alpha_upper)),
    "mean_alpha_upper_exact": float(np.mean(exact.alpha_upper)),
    "mean_alpha_lower": float(np.mean(tiered.alpha_lower)),
  }


def main(argv=None):
  p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  p.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
  p.add_argument("--lam", type=float, nargs="*", default=None)
  p.add_argument("--batch", type=int, default=None)
  p.add_argument(
    "--nplayer-batch", type=int, default=None, help="batch for games of 3+ players (default 256)"
  )
  p.add_argument("--num-samples", type=int, default=8)
  p.add_argument("--repeats", type=int, default=7, help="interleaved rounds (medians quoted)")
  p.add_argument("--seed", type=int, default=0)
  p.add_argument(
    "--shapes",
    nargs="*",
    default=None,
    help="game shapes such as 32x32 4x4x4x4 (default: both of the issue)",
  )
  p.add_argument("--json", default="benchmarks/results/certify_cost.json")
  args = p.parse_args(argv)
  batch = args.batch or (16 if args.quick else 1024)
  shapes = [(4, 4), (2, 2, 2, 2)] if args.quick else [(32, 32), (4, 4, 4, 4)]
  if args.shapes:
    shapes = [tuple(int(k) for k in s.split("x")) for s in args.shapes]
  lams = args.lam or ([2.0] if args.quick else [2.0, 0.5, 0.05])
  rows = []
  for shape in shapes:
    for lam in lams:
      rows.append(
        run_setting(
          shape,
          batch if len(shape) == 2 else (args.nplayer_batch or (batch if args.quick else 256)),
          lam,
          repeats=args.repeats,
          seed=args.seed,
          num_samples=args.num_samples,
        )
      )
      print(f"done {shape} lambda={lam}: ratio {rows[-1]['ratio']:.2f}", flush=True)
  record = {
    "benchmark": "certify_cost",
    "env": environment(),
    "load_average": load_average(),
    "timing": "interleaved medians (solve, certify, certify_exact, certify_fast)",
    "dtype": "float64",
    "rows": rows,
  }
  write_json(args.json, record)
  print(
    f"device {record['env']['device']}  jax {record['env']['jax']}  float64  "
    f"load {record['load_average']}"
  )
  print(
    f"{'game':>10} {'batch':>6} {'lambda':>6} {'solve ms':>9} {'certify':>8} {'exact':>7} "
    f"{'fast':>6} {'cheap tier':>10} {'certified':>9} {'same verdicts':>13}"
  )
  for r in rows:
    print(
      f"{'x'.join(map(str, r['num_actions'])):>10} {r['batch']:>6} {r['lambda']:>6} "
      f"{1e3 * r['solve_s']:>9.2f} {r['ratio']:>7.2f}x {r['ratio_exact']:>6.2f}x "
      f"{r['ratio_fast']:>5.2f}x {r['fraction_decided_by_cheap_tier']:>10.2f} "
      f"{r['fraction_certified']:>9.2f} {str(r['verdicts_agree']):>13}"
    )
  return record


if __name__ == "__main__":
  main()
