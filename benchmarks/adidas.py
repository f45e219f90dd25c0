"""N-player peers: dice_jax against OpenSpiel's ADIDAS QRE solver and Gambit, same games, same run.

ADIDAS (Gemp et al., "Sample-based Approximation of Nash in Large Many-player Games via Gradient
Descent", AAMAS 2022; ``open_spiel.python.algorithms.adidas_utils.solvers.nonsymmetric.qre``)
descends the entropy-regularised exploitability at a fixed temperature ``tau`` -- its minimiser
is the logit QRE at ``lambda = 1 / tau``, the HQRE dice_jax computes with equal temperatures.
ADIDAS normally *estimates* the pairwise payoff matrices ``M_ij(x)[a_i, a_j] =
E_{a_-ij ~ x} U[a_i, a_j, a_-ij]`` by sampling; here they are computed exactly at every step
(``einsum`` over the payoff tensors), which only helps it: its gradient is then exact
(``sum_j M_ij x_j / (N - 1) = v_i(x)``). Its learning rates are tried on a small grid and the
best kept. Gambit's ``logit_solve_lambda`` gives the independent reference QRE.

ADIDAS is built to approximate, not to reach 1e-8: each row records the residual it reached
within its step and time caps (measured: 4e-6 to 1.3e-2 after 20,000 steps, 5-8 s per game), and compares times **at the accuracy ADIDAS reached** (dice_jax
re-run with that tolerance) as well as dice_jax's time to 1e-8.

    python -m benchmarks.adidas [--quick] [--json FILE] [--plot FILE]
"""

from __future__ import annotations

import argparse
import itertools
import string
import time

import jax

jax.config.update("jax_enable_x64", True)

import numpy as np  # noqa: E402

import dice_jax as dj  # noqa: E402
from benchmarks._record import best_time, environment, write_json  # noqa: E402
from benchmarks.throughput import TOL, residual  # noqa: E402

LEARNING_RATES = ((1e-2, 1e-1), (1e-1, 1e-1), (1.0, 1e-1))


def pairwise_matrices(payoffs, dist):
  """``{(i, j): (M_i, M_j)}`` for ``i < j``: players i's and j's expected payoffs over
  ``(a_i, a_j)`` with every other player ``k`` drawn from ``dist[k]`` (ADIDAS's polymatrix
  form, exact)."""
  n = len(payoffs)
  idx = string.ascii_letters[:n]
  out = {}
  for i, j in itertools.combinations(range(n), 2):
    others = [k for k in range(n) if k not in (i, j)]
    spec = idx + "".join("," + idx[k] for k in others) + "->" + idx[i] + idx[j]
    mats = tuple(np.einsum(spec, payoffs[p], *[dist[k] for k in others]) for p in (i, j))
    out[(i, j)] = mats
  return out


def adidas_qre(game, tau, *, tol, lrs, max_steps, max_seconds, check_every=10):
  """Run ADIDAS's nonsymmetric QRE solver with exact gradients until the fixed-point residual
  is ``<= tol`` or a cap; returns ``(profile, steps, seconds, residual)``."""
  from open_spiel.python.algorithms.adidas_utils.solvers.nonsymmetric import qre

  payoffs = [np.asarray(u, np.float64) for u in game.payoffs]
  solver = qre.Solver(temperature=tau, proj_grad=True, lrs=lrs)
  params = solver.init_vars(list(game.num_actions), len(payoffs))
  start = time.perf_counter()
  res, step = np.inf, 0
  for step in range(1, max_steps + 1):
    grads, _, _ = solver.compute_gradients(params, pairwise_matrices(payoffs, params[0]))
    params = solver.update(params, grads, step)
    if step % check_every == 0:
      res = float(residual(game, params[0], tau))
      if not np.isfinite(res) or res <= tol or time.perf_counter() - start > max_seconds:
        break
  seconds = time.perf_counter() - start
  return [np.asarray(p) for p in params[0]], step, seconds, float(residual(game, params[0], tau))


def _diff(a, b):
  return float(max(np.abs(np.asarray(x) - np.asarray(y)).max() for x, y in zip(a, b)))


def run(shape, lam, games, *, seed, repeats, max_steps, max_seconds):
  from dice_jax.testing import gambit_logit_qre

  tau = 1.0 / lam
  batch = dj.games.random.uniform(jax.random.PRNGKey(seed), shape, batch_shape=(games,))
  row = {"shape": list(shape), "players": len(shape), "lambda": lam, "games": games}
  solve = lambda g, tol=TOL: jax.block_until_ready(dj.solve(g, tau, tol=tol))
  ours = solve(batch)
  row["dice_jax_batch_s"] = best_time(lambda: solve(batch), repeats)
  row["dice_jax_per_game_batched_s"] = row["dice_jax_batch_s"] / games
  row["dice_jax_max_residual"] = float(np.max(ours.residual))
  row["dice_jax_converged"] = float(np.mean(np.asarray(ours.converged)))
  per_game = []
  gambit_logit_qre(dj.games.matching_pennies(), 1.0)  # Gambit's one-time start-up, not timed
  for g in range(games):
    game = jax.tree_util.tree_map(lambda x: x[g], batch)
    ref = [np.asarray(p[g]) for p in ours.probabilities]
    solve(game)  # compile the one-game program before timing it
    single = best_time(lambda: solve(game), repeats)
    t = time.perf_counter()
    gambit = gambit_logit_qre(game, lam)
    gambit_s = time.perf_counter() - t
    best = None
    for lrs in LEARNING_RATES:
      prof, steps, secs, res = adidas_qre(
        game, tau, tol=TOL, lrs=lrs, max_steps=max_steps, max_seconds=max_seconds
      )
      if best is None or (res, secs) < (best["residual"], best["seconds"]):
        best = {
          "lrs": list(lrs),
          "steps": steps,
          "seconds": secs,
          "residual": res,
          "vs_dice_jax_max_diff": _diff(prof, ref),
        }
    # dice_jax at the accuracy ADIDAS reached (when it did not reach TOL)
    at = max(best["residual"], TOL)
    ours_at = best_time(lambda: solve(game, at), repeats)
    per_game.append(
      {
        "dice_jax_s": single,
        "gambit_s": gambit_s,
        "gambit_vs_dice_jax_max_diff": _diff(gambit, ref),
        "adidas": best,
        "adidas_reached_tol": best["residual"] <= TOL,
        "dice_jax_s_at_adidas_residual": ours_at,
        "ratio_vs_adidas_at_its_residual": best["seconds"] / ours_at,
        "ratio_vs_gambit": gambit_s / single,
      }
    )
  row["per_game"] = per_game
  for key in ("ratio_vs_adidas_at_its_residual", "ratio_vs_gambit"):
    row[key + "_median"] = float(np.median([p[key] for p in per_game]))
  row["adidas_reached_tol_fraction"] = float(np.mean([p["adidas_reached_tol"] for p in per_game]))
  row["adidas_median_residual"] = float(np.median([p["adidas"]["residual"] for p in per_game]))
  row["gambit_max_diff"] = float(max(p["gambit_vs_dice_jax_max_diff"] for p in per_game))
  return row


def plot(record, path):
  """Per setting: peer time / dice_jax time (log scale), ADIDAS at the residual it reached."""
  import matplotlib  # noqa: PLC0415

  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # noqa: PLC0415

  rows = record["rows"]
  labels = [f"{'x'.join(map(str, r['shape']))}, lambda {r['lambda']:g}" for r in rows]
  x = np.arange(len(rows))
  fig, ax = plt.subplots(figsize=(6.5, 3.6))
  ax.bar(x - 0.2, [r["ratio_vs_gambit_median"] for r in rows], 0.4, label="Gambit (to 1e-8)")
  ax.bar(
    x + 0.2,
    [r["ratio_vs_adidas_at_its_residual_median"] for r in rows],
    0.4,
    label="ADIDAS (at the residual it reached: "
    + ", ".join(f"{r['adidas_median_residual']:.0e}" for r in rows)
    + ")",
  )
  ax.set_yscale("log")
  ax.set_xticks(x)
  ax.set_xticklabels(labels)
  ax.set_ylabel("peer time / dice_jax time (median game)")
  ax.set_title(f"N-player peers, {record['env']['device']}, float64")
  ax.legend(fontsize=8)
  ax.grid(True, axis="y", which="both", alpha=0.3)
  fig.tight_layout()
  fig.savefig(path, dpi=120)
  plt.close(fig)


SETTINGS = [((5, 5, 5), 2.0, 3), ((4, 4, 4, 4), 2.0, 3)]
QUICK = [((3, 3, 3), 2.0, 2)]


def main(argv=None):
  p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  p.add_argument("--quick", action="store_true")
  p.add_argument("--seed", type=int, default=0)
  p.add_argument("--repeats", type=int, default=3)
  p.add_argument("--max-steps", type=int, default=20_000)
  p.add_argument(
    "--max-seconds", type=float, default=10.0, help="ADIDAS time cap per game and learning rate"
  )
  p.add_argument("--json", default="benchmarks/results/adidas.json")
  p.add_argument("--plot", default="benchmarks/results/adidas.png")
  args = p.parse_args(argv)
  caps = (
    dict(max_steps=2_000, max_seconds=3.0)
    if args.quick
    else dict(max_steps=args.max_steps, max_seconds=args.max_seconds)
  )
  rows = [
    run(s, lam, g, seed=args.seed, repeats=1 if args.quick else args.repeats, **caps)
    for s, lam, g in (QUICK if args.quick else SETTINGS)
  ]
  record = {
    "benchmark": "adidas",
    "env": environment(),
    "dtype": "float64",
    "tol": TOL,
    "seed": args.seed,
    "caps": caps,
    "learning_rates": [list(l) for l in LEARNING_RATES],
    "rows": rows,
  }
  write_json(args.json, record)
  if args.plot:
    plot(record, args.plot)
  for r in rows:
    print(
      f"{'x'.join(map(str, r['shape']))} lambda={r['lambda']:g}, {r['games']} games: "
      f"dice_jax {1e3 * r['per_game'][0]['dice_jax_s']:.2f} ms/game to 1e-8 "
      f"({1e3 * r['dice_jax_per_game_batched_s']:.3f} batched); ADIDAS reached 1e-8 on "
      f"{r['adidas_reached_tol_fraction']:.0%} (median residual "
      f"{r['adidas_median_residual']:.1e}), x{r['ratio_vs_adidas_at_its_residual_median']:.0f} "
      f"slower at its own residual; Gambit x{r['ratio_vs_gambit_median']:.0f} "
      f"(same QRE within {r['gambit_max_diff']:.0e})"
    )
  return record


if __name__ == "__main__":
  main()
