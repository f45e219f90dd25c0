"""Throughput at equal accuracy: dice_jax vs Gambit vs the best-effort NumPy baseline.

Two-player n x n games (payoffs uniform on [-1, 1]), lambda = 1 / tau, float64, every solver
run to fixed-point residual <= 1e-8 (Gambit's path-following result is checked to meet it).
dice_jax and NumPy (:mod:`benchmarks.numpy_best`, the same algorithm and stopping rule, with
whichever of its two contractions is faster on the row's batch) solve the whole batch, timed
interleaved in one process (medians of ``--repeats``); Gambit solves games one at a time, so its batch time
is (mean time per game over the first ``--gambit-games`` games) x batch size.

    python -m benchmarks.throughput [--quick] [--json FILE] [--plot FILE]
"""

from __future__ import annotations

import argparse
import functools
import time

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from tqdm import tqdm  # noqa: E402

import dice_jax as dj  # noqa: E402
from benchmarks._record import best_time, environment, interleaved_times, write_json  # noqa: E402
from benchmarks.numpy_best import CONTRACTIONS, solve_numpy_best  # noqa: E402

TOL = 1e-8


def residual(game, x, tau):
  """Fixed-point residual of profiles ``x`` (batched), computed by dice_jax's primitive."""
  probs = tuple(jnp.asarray(p) for p in x)
  z = tuple(v / tau for v in game.utilities(probs))
  return np.asarray(dj.equilibrium.fixed_point_residual(probs, z))


def run_setting(n, batch, lam, *, gambit_games, repeats, seed, method="mirror"):
  """One (n, batch, lambda) row: dice_jax and the best-effort NumPy baseline (both
  contractions) timed interleaved in this process (medians of ``repeats``), Gambit on the first
  ``gambit_games`` games."""
  tau = 1.0 / lam
  game = dj.games.random.uniform(jax.random.PRNGKey(seed), (n, n), batch_shape=(batch,))
  row = {"n": n, "batch": batch, "lambda": lam, "method": method}
  solve = lambda: jax.block_until_ready(dj.solve(game, tau, method=method, tol=TOL))

  t = time.perf_counter()
  sol = solve()
  row["dice_jax_first_call_s"] = time.perf_counter() - t
  row["dice_jax_max_residual"] = float(np.max(sol.residual))
  row["dice_jax_converged"] = float(np.mean(np.asarray(sol.converged)))
  row["dice_jax_max_steps"] = int(np.max(sol.steps))

  a, b = (np.asarray(u) for u in game.payoffs)
  out = {}
  fns = {"dice_jax": solve}
  for c in CONTRACTIONS:
    fns[f"numpy_{c}"] = functools.partial(
      lambda c: out.__setitem__(c, solve_numpy_best(a, b, tau, tol=TOL, contraction=c)), c
    )
  times = interleaved_times(fns, repeats)
  row["timings"] = times
  row["dice_jax_s"] = times["dice_jax"]["median_s"]
  best = min(CONTRACTIONS, key=lambda c: times[f"numpy_{c}"]["median_s"])
  row["numpy_contraction"] = best
  row["numpy_best_effort_s"] = times[f"numpy_{best}"]["median_s"]
  x1, x2, _, steps = out[best]
  row["numpy_max_residual"] = float(residual(game, (x1, x2), tau).max())
  row["numpy_max_steps"] = int(steps.max())
  row["numpy_steps_equal"] = bool(np.array_equal(steps, np.asarray(sol.steps)))
  row["numpy_vs_dice_jax_max_diff"] = float(
    max(
      np.abs(x1 - np.asarray(sol.probabilities[0])).max(),
      np.abs(x2 - np.asarray(sol.probabilities[1])).max(),
    )
  )

  if gambit_games:
    from dice_jax.testing import gambit_logit_qre

    k = min(gambit_games, batch)
    gambit_logit_qre(game[0], lam)  # warm-up: import and first-call costs are not per game
    t = time.perf_counter()
    profiles = [gambit_logit_qre(game[i], lam) for i in range(k)]
    per_game = (time.perf_counter() - t) / k
    row["gambit_s_per_game"] = per_game
    row["gambit_s"] = per_game * batch
    row["gambit_games_timed"] = k
    g1 = np.stack([p[0] for p in profiles])
    g2 = np.stack([p[1] for p in profiles])
    row["gambit_max_residual"] = float(residual(game[:k], (g1, g2), tau).max())
    row["gambit_vs_dice_jax_max_diff"] = float(
      max(
        np.abs(g1 - np.asarray(sol.probabilities[0][:k])).max(),
        np.abs(g2 - np.asarray(sol.probabilities[1][:k])).max(),
      )
    )
    row["ratio_vs_gambit"] = row["gambit_s"] / row["dice_jax_s"]
  row["ratio_vs_numpy_best_effort"] = row["numpy_best_effort_s"] / row["dice_jax_s"]
  row["dice_jax_games_per_s"] = batch / row["dice_jax_s"]
  return row


def sweep_dice_jax(players, n, batch, lam, repeats, seed, dtype):
  """games/s of dice_jax alone (no peers) for one (players, n, batch) setting."""
  game = dj.games.random.uniform(
    jax.random.PRNGKey(seed), (n,) * players, batch_shape=(batch,), dtype=dtype
  )
  tol = TOL if dtype == jnp.float64 else 1e-5
  solve = lambda: jax.block_until_ready(dj.solve(game, 1.0 / lam, method="mirror", tol=tol))
  sol = solve()
  t = best_time(solve, repeats)
  return {
    "players": players,
    "n": n,
    "batch": batch,
    "lambda": lam,
    "dtype": jnp.dtype(dtype).name,
    "seconds": t,
    "games_per_s": batch / t,
    "max_steps": int(np.max(sol.steps)),
    "converged": float(np.mean(np.asarray(sol.converged))),
  }


def sweeps(lam, repeats, seed, quick=False):
  """Games/s vs batch size (32x32, two players) and vs action count (batch 64; two and three
  players), float64."""
  batches = [1, 16, 256] if quick else [1, 4, 16, 64, 256, 1024, 4096, 16384]
  actions2 = [2, 8] if quick else [2, 4, 8, 16, 32, 64, 128, 256]
  actions3 = [2, 4] if quick else [2, 4, 8, 16, 32]
  out = {"vs_batch": [], "vs_actions": []}
  for b in tqdm(batches, desc="batch sweep"):
    out["vs_batch"].append(sweep_dice_jax(2, 32, b, lam, repeats, seed, jnp.float64))
  for players, acts in ((2, actions2), (3, actions3)):
    for n in tqdm(acts, desc=f"{players}-player action sweep"):
      out["vs_actions"].append(sweep_dice_jax(players, n, 64, lam, repeats, seed, jnp.float64))
  return out


def plot_sweeps(sw, path):
  import matplotlib

  matplotlib.use("Agg")
  import matplotlib.pyplot as plt

  fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.8))
  rs = sw["vs_batch"]
  a.loglog([r["batch"] for r in rs], [r["games_per_s"] for r in rs], "o-")
  a.set_xlabel("batch size (2 players, 32x32)")
  a.set_ylabel("games / s (residual <= 1e-8)")
  for players in (2, 3):
    rs = [r for r in sw["vs_actions"] if r["players"] == players]
    b.loglog([r["n"] for r in rs], [r["games_per_s"] for r in rs], "o-", label=f"{players} players")
  b.set_xlabel("actions per player (batch 64)")
  b.legend()
  for ax in (a, b):
    ax.grid(True, which="both", alpha=0.3)
  fig.tight_layout()
  fig.savefig(path, dpi=120)


def plot(rows, path):
  import matplotlib

  matplotlib.use("Agg")
  import matplotlib.pyplot as plt

  fig, axes = plt.subplots(1, len({r["n"] for r in rows}), figsize=(12, 3.8), squeeze=False)
  for ax, n in zip(axes[0], sorted({r["n"] for r in rows})):
    rs = [r for r in rows if r["n"] == n]
    bs = [r["batch"] for r in rs]
    ax.loglog(bs, [r["batch"] / r["dice_jax_s"] for r in rs], "o-", label="dice_jax (jit, vmap)")
    ax.loglog(
      bs, [r["batch"] / r["numpy_best_effort_s"] for r in rs], "s--", label="NumPy (best effort)"
    )
    if "gambit_s" in rs[0]:
      ax.loglog(bs, [r["batch"] / r["gambit_s"] for r in rs], "^:", label="Gambit")
    ax.set_title(f"{n}x{n}, lambda={rs[0]['lambda']}")
    ax.set_xlabel("batch size")
    ax.set_ylabel("games / s (residual <= 1e-8)")
    ax.grid(True, which="both", alpha=0.3)
  axes[0][0].legend()
  fig.tight_layout()
  fig.savefig(path, dpi=120)


def main(argv=None):
  p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  p.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
  p.add_argument("--sizes", type=int, nargs="*", default=None)
  p.add_argument("--batches", type=int, nargs="*", default=None)
  p.add_argument("--lam", type=float, default=2.0)
  p.add_argument("--method", default="mirror")
  p.add_argument("--gambit-games", type=int, default=8)
  p.add_argument("--repeats", type=int, default=9, help="interleaved repeats (medians quoted)")
  p.add_argument("--seed", type=int, default=0)
  p.add_argument("--json", default="benchmarks/results/throughput.json")
  p.add_argument("--plot", default="benchmarks/results/throughput.png")
  p.add_argument(
    "--sweeps",
    action="store_true",
    help="also sweep batch size (1..16384) and action count (2..256; 3 players 2..32)",
  )
  args = p.parse_args(argv)
  sizes = args.sizes or ([8] if args.quick else [10, 32, 50])
  batches = args.batches or ([1, 16] if args.quick else [1, 64, 1024])
  rows = []
  for n in tqdm(sizes, desc="sizes"):
    for b in tqdm(batches, desc=f"{n}x{n} batches", leave=False):
      rows.append(
        run_setting(
          n,
          b,
          args.lam,
          gambit_games=args.gambit_games,
          repeats=args.repeats,
          seed=args.seed,
          method=args.method,
        )
      )
  record = {
    "benchmark": "throughput",
    "env": environment(),
    "dtype": "float64",
    "tol": TOL,
    "seed": args.seed,
    "rows": rows,
  }
  if args.sweeps:
    record["sweeps"] = sweeps(args.lam, args.repeats, args.seed, quick=args.quick)
    plot_sweeps(record["sweeps"], args.plot.replace(".png", "_sweeps.png"))
  write_json(args.json, record)
  plot(rows, args.plot)
  print(f"device {record['env']['device']}  jax {record['env']['jax']}  float64  tol {TOL}")
  print(
    f"{'n':>4} {'batch':>6} {'dice_jax ms':>12} {'numpy ms':>10} {'gambit ms':>11} "
    f"{'x numpy':>8} {'x gambit':>9} {'steps':>6} {'max res':>9}"
  )
  for r in rows:
    print(
      f"{r['n']:>4} {r['batch']:>6} {1e3 * r['dice_jax_s']:>12.2f} {1e3 * r['numpy_best_effort_s']:>10.2f} "
      f"{1e3 * r.get('gambit_s', float('nan')):>11.1f} {r['ratio_vs_numpy_best_effort']:>8.2f} "
      f"{r.get('ratio_vs_gambit', float('nan')):>9.1f} {r['dice_jax_max_steps']:>6} "
      f"{r['dice_jax_max_residual']:>9.1e}"
    )
  for kind in ("vs_batch", "vs_actions"):
    for r in record.get("sweeps", {}).get(kind, []):
      print(
        f"sweep {r['players']}p n={r['n']:>3} batch={r['batch']:>5}: {r['games_per_s']:>10.0f} games/s "
        f"({r['max_steps']} steps, converged {r['converged']:.2f})"
      )
  print(f"wrote {args.json} and {args.plot}")
  return record


if __name__ == "__main__":
  main()
