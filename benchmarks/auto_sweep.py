"""The default method across temperatures: converged fraction of ``method="auto"`` on random
2- to 4-player games for tau = 1e-4 ... 1e4 (issue 16, item 4), with the bifurcation points it
passed, and Gambit's ``logit_solve_lambda`` beside it on a few games per cell.

Every cell: ``--games`` random games of one shape at one temperature (payoffs uniform in
[0, 1]: :func:`dice_jax.games.random.uniform`), float64, the default tolerance (residual
<= 1e-8) and budget. All temperatures of a shape are one batched ``solve`` call (one compilation).
Per cell the record has the converged count, the result codes, which method ``auto`` used,
median and maximum steps, the games whose path passed a bifurcation point, and the wall time
per game of the whole shape's call. The headline is the converged fraction over
tau in [1e-3, 1e4] (the issue's range) and at tau = 1e-4 separately.

Gambit (``--gambit-games`` per cell, 2- and 3-player shapes, tau >= 1e-2): the largest policy
difference to dice_jax, and how many of Gambit's answers are not a QRE at the lambda asked
(fixed-point residual > 1e-6, computed here in NumPy): its tracer stopped short.

    python -m benchmarks.auto_sweep [--quick] [--json FILE]
"""

from __future__ import annotations

import argparse
import string
import time

import jax

jax.config.update("jax_enable_x64", True)

import numpy as np  # noqa: E402

import dice_jax as dj  # noqa: E402
from benchmarks._record import environment, write_json  # noqa: E402

TAUS = [1e-4, 1e-3, 1e-2, 1e-1, 1.0, 1e1, 1e2, 1e3, 1e4]
SHAPES = [(2, 2), (5, 5), (10, 10), (2, 2, 2), (3, 3, 3), (2, 2, 2, 2), (3, 3, 3, 3)]
QUICK_SHAPES = [(3, 3), (2, 2, 2), (2, 2, 2, 2)]


def numpy_residual(payoffs, profile, lam):
  """``max_i ||x_i - softmax(lam v_i(x))||_1`` with ``v_i`` the expected payoffs of player i's
  actions against the others' mixed strategies (plain NumPy: an independent check)."""
  n = len(payoffs)
  letters = string.ascii_lowercase[:n]
  worst = 0.0
  for i, u in enumerate(payoffs):
    others = [letters[j] for j in range(n) if j != i]
    spec = f"{letters},{','.join(others)}->{letters[i]}"
    v = np.einsum(spec, u, *[profile[j] for j in range(n) if j != i])
    z = lam * v
    b = np.exp(z - z.max())
    b /= b.sum()
    worst = max(worst, float(np.abs(profile[i] - b).sum()))
  return worst


def sweep_shape(shape, games, seed, gambit_games):
  taus = np.repeat(np.asarray(TAUS), games)
  key = jax.random.PRNGKey(seed)
  game = dj.games.random.uniform(key, shape, batch_shape=(len(taus),))
  t0 = time.perf_counter()
  sol = dj.solve(game, taus[:, None])
  jax.block_until_ready(sol.result)
  wall = time.perf_counter() - t0
  results, methods = sol.result_names(), sol.method_names()
  steps, bif = np.asarray(sol.steps), np.asarray(sol.bifurcations)
  rows = []
  for k, tau in enumerate(TAUS):
    sel = slice(k * games, (k + 1) * games)
    row = dict(
      shape=list(shape),
      tau=tau,
      games=games,
      converged=int(np.sum(results[sel] == "converged")),
      results={str(a): int(b) for a, b in zip(*np.unique(results[sel], return_counts=True))},
      methods_used={str(a): int(b) for a, b in zip(*np.unique(methods[sel], return_counts=True))},
      steps_median=float(np.median(steps[sel])),
      steps_max=int(steps[sel].max()),
      games_past_a_bifurcation=int(np.sum(bif[sel] > 0)),
    )
    if gambit_games and len(shape) <= 3 and tau >= 1e-2:
      from dice_jax.testing import gambit_logit_qre  # noqa: PLC0415

      diffs, stalls, g_time = [], 0, 0.0
      for g in range(min(gambit_games, games)):
        idx = k * games + g
        one = jax.tree_util.tree_map(lambda a: a[idx], game)
        t = time.perf_counter()
        ref = gambit_logit_qre(one, 1 / tau)
        g_time += time.perf_counter() - t
        payoffs = [np.asarray(u) for u in one.payoffs]
        if numpy_residual(payoffs, ref, 1 / tau) > 1e-6:
          stalls += 1
          continue
        ours = [np.asarray(p[idx]) for p in sol.probabilities]
        diffs.append(max(float(np.abs(a - b).max()) for a, b in zip(ours, ref)))
      row.update(
        gambit_games=min(gambit_games, games),
        gambit_not_a_qre=stalls,
        max_diff_to_gambit=max(diffs) if diffs else None,
        gambit_seconds_per_game=g_time / min(gambit_games, games),
      )
    rows.append(row)
  return rows, wall / len(taus)


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--quick", action="store_true", help="8 games per cell, three shapes")
  parser.add_argument("--games", type=int, default=None, help="games per cell (default 100)")
  parser.add_argument("--gambit-games", type=int, default=None, help="default 3 (quick: 1)")
  parser.add_argument("--json", default=None)
  args = parser.parse_args(argv)
  games = args.games or (8 if args.quick else 100)
  gambit_games = args.gambit_games if args.gambit_games is not None else (1 if args.quick else 3)
  shapes = QUICK_SHAPES if args.quick else SHAPES
  rows, per_game = [], {}
  for s, shape in enumerate(shapes):
    r, seconds = sweep_shape(shape, games, 1000 + s, gambit_games)
    rows += r
    per_game["x".join(map(str, shape))] = seconds
    for row in r:
      g = (
        f"  gambit: not a QRE {row['gambit_not_a_qre']}/{row['gambit_games']}, max diff "
        f"{row['max_diff_to_gambit']}"
        if "gambit_games" in row
        else ""
      )
      print(
        f"{'x'.join(map(str, shape)):8s} tau {row['tau']:7.0e}  converged "
        f"{row['converged']:3d}/{games}  used {row['methods_used']}  steps median "
        f"{row['steps_median']:.0f} max {row['steps_max']}  past a bifurcation "
        f"{row['games_past_a_bifurcation']}{g}",
        flush=True,
      )
    print(f"{'x'.join(map(str, shape))}: {seconds * 1e3:.1f} ms per game (first call)")
  main_range = [r for r in rows if r["tau"] >= 1e-3]
  tiny = [r for r in rows if r["tau"] < 1e-3]
  frac = sum(r["converged"] for r in main_range) / sum(r["games"] for r in main_range)
  frac_tiny = sum(r["converged"] for r in tiny) / sum(r["games"] for r in tiny)
  print(f"converged, tau in [1e-3, 1e4]: {frac:.4f}; at tau = 1e-4: {frac_tiny:.4f}")
  if args.json:
    write_json(
      args.json,
      {
        "rows": rows,
        "converged_fraction_1e-3_to_1e4": frac,
        "converged_fraction_1e-4": frac_tiny,
        "seconds_per_game_first_call": per_game,
        "environment": environment(),
      },
    )
  return frac, frac_tiny


if __name__ == "__main__":
  main()
