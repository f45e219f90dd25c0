"""dice_jax against every peer in one run, at equal accuracy (residual <= 1e-8, float64).

* Gambit ``logit_solve_lambda`` (path following, one game at a time);
* the best-effort NumPy implementation of dice_jax's adaptive MMD update
  (:mod:`benchmarks.numpy_best`, its faster contraction picked on the batch);
* strataq (PyPI, a pre-alpha JAX QRE solver): ``logit_qre`` (damped fixed point), per game;
* OpenSpiel's MMD (``open_spiel.python.algorithms.mmd_dilated``) on two-player zero-sum games
  only (its QRE is for zero-sum games), run until its profile meets the tolerance.

Each row also records how far every peer's answer is from dice_jax's, so equal accuracy is
visible, not assumed. Peers that are not installed are skipped (and named in the record).

    python -m benchmarks.peers [--quick] [--json FILE]
"""

from __future__ import annotations

import argparse
import time

import jax

jax.config.update("jax_enable_x64", True)

import numpy as np  # noqa: E402

import dice_jax as dj  # noqa: E402
from benchmarks._record import best_time, environment, write_json  # noqa: E402
from benchmarks.numpy_best import pick_contraction, solve_numpy_best  # noqa: E402
from benchmarks.throughput import TOL, residual  # noqa: E402


def _diff(a, b):
  return float(max(np.abs(np.asarray(x) - np.asarray(y)).max() for x, y in zip(a, b)))


def strataq_solve(game, lam):
  from strataq import DenseTensorGame
  from strataq.core.solve.fixedpoint import logit_qre

  q = logit_qre(
    DenseTensorGame([np.asarray(u) for u in game.payoffs]), lam, tol=TOL / 10, max_iter=100_000
  )
  return [np.asarray(s) for s in q.sigma]


def openspiel_mmd(a, lam, tol=TOL, max_iter=200_000):
  """OpenSpiel MMD with dilated entropy on the zero-sum matrix game (a, -a) made turn-based;
  returns the profile and the iterations it needed to reach residual <= tol (checked every 10
  iterations; the check is not timed separately, so OpenSpiel's time includes it)."""
  import pyspiel
  from open_spiel.python.algorithms.mmd_dilated import MMDDilatedEnt

  g = pyspiel.convert_to_turn_based(pyspiel.create_matrix_game(a.tolist(), (-a).tolist()))
  game = dj.NormalFormGame.from_arrays(a, -a)
  mmd = MMDDilatedEnt(g, alpha=1.0 / lam)
  x = None
  for it in range(1, max_iter + 1):
    mmd.update_sequences()
    if it % 10 == 0:
      tab = mmd.get_policies().action_probability_array
      x = [tab[0][: a.shape[0]], tab[1][: a.shape[1]]]
      if residual(game, x, 1.0 / lam) <= tol:
        return x, it
  return x, max_iter


def run(n, lam, batch, gambit_games, repeats, seed, zero_sum):
  tau = 1.0 / lam
  family = dj.games.random.zero_sum if zero_sum else dj.games.random.uniform
  game = family(jax.random.PRNGKey(seed), (n, n), batch_shape=(batch,))
  method = "continuation" if lam > 10 else "mirror"
  row = {"n": n, "lambda": lam, "batch": batch, "zero_sum": zero_sum, "dice_jax_method": method}
  solve = lambda: jax.block_until_ready(dj.solve(game, tau, method=method, tol=TOL))
  sol = solve()
  row["dice_jax_s"] = best_time(solve, repeats)
  row["dice_jax_max_residual"] = float(np.max(sol.residual))
  ours = [np.asarray(p) for p in sol.probabilities]
  k = min(gambit_games, batch)
  peers = {}

  from dice_jax.testing import gambit_logit_qre

  gambit_logit_qre(game[0], lam)
  t = time.perf_counter()
  prof = [gambit_logit_qre(game[i], lam) for i in range(k)]
  peers["gambit"] = ((time.perf_counter() - t) / k * batch, prof)

  if n <= 64 and lam <= 10:
    a, b = (np.asarray(u) for u in game.payoffs)
    contraction, _ = pick_contraction(a, b, tau, tol=TOL)
    out = {}
    tn = best_time(
      lambda: out.update(r=solve_numpy_best(a, b, tau, tol=TOL, contraction=contraction)), repeats
    )
    x1, x2 = out["r"][:2]
    peers["numpy_best_effort"] = (tn, [[x1[i], x2[i]] for i in range(k)])
    row["numpy_contraction"] = contraction

  try:
    strataq_solve(game[0], lam)  # compile
    t = time.perf_counter()
    prof = [strataq_solve(game[i], lam) for i in range(k)]
    peers["strataq"] = ((time.perf_counter() - t) / k * batch, prof)
  except ImportError:
    row["strataq"] = "not installed"

  if zero_sum:
    try:
      t = time.perf_counter()
      res = [openspiel_mmd(np.asarray(game.payoffs[0][i]), lam) for i in range(k)]
      peers["openspiel_mmd"] = ((time.perf_counter() - t) / k * batch, [r[0] for r in res])
      row["openspiel_mmd_iterations"] = max(r[1] for r in res)
    except ImportError:
      row["openspiel_mmd"] = "not installed"

  for name, (seconds, prof) in peers.items():
    row[f"{name}_s"] = seconds
    row[f"{name}_max_residual"] = float(max(residual(game[i], p, tau) for i, p in enumerate(prof)))
    row[f"{name}_vs_dice_jax_max_diff"] = float(
      max(_diff(p, [o[i] for o in ours]) for i, p in enumerate(prof))
    )
    row[f"ratio_vs_{name}"] = seconds / row["dice_jax_s"]
  return row


SETTINGS = [  # (n, lambda, batch, zero_sum)
  (10, 2.0, 1, False),
  (32, 2.0, 1024, False),
  (32, 2.0, 64, True),
  (50, 50.0, 1, False),
]
QUICK = [(6, 2.0, 4, False), (6, 2.0, 4, True), (8, 50.0, 1, False)]


def plot(rows, path):
  """Peer time / dice_jax time per setting, log scale."""
  import matplotlib

  matplotlib.use("Agg")
  import matplotlib.pyplot as plt

  names = sorted({k[len("ratio_vs_") :] for r in rows for k in r if k.startswith("ratio_vs_")})
  fig, ax = plt.subplots(figsize=(10, 3.8))
  width = 0.8 / len(names)
  for j, name in enumerate(names):
    xs = [i + j * width for i, r in enumerate(rows) if f"ratio_vs_{name}" in r]
    ys = [r[f"ratio_vs_{name}"] for r in rows if f"ratio_vs_{name}" in r]
    ax.bar(xs, ys, width, label=name)
  ax.set_yscale("log")
  ax.axhline(1.0, color="k", lw=0.8)
  ax.set_xticks([i + 0.4 - width / 2 for i in range(len(rows))])
  ax.set_xticklabels(
    [
      f"{r['n']}x{r['n']} lam={r['lambda']:g}\nbatch {r['batch']}"
      f"{' zero-sum' if r['zero_sum'] else ''}"
      for r in rows
    ],
    fontsize=8,
  )
  ax.set_ylabel("peer time / dice_jax time")
  ax.legend(fontsize=8)
  ax.grid(True, axis="y", which="both", alpha=0.3)
  fig.tight_layout()
  fig.savefig(path, dpi=120)


def main(argv=None):
  p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  p.add_argument("--quick", action="store_true")
  p.add_argument("--gambit-games", type=int, default=4)
  p.add_argument("--repeats", type=int, default=3)
  p.add_argument("--seed", type=int, default=0)
  p.add_argument("--json", default="benchmarks/results/peers.json")
  p.add_argument("--plot", default="benchmarks/results/peers.png")
  args = p.parse_args(argv)
  rows = [
    run(n, lam, b, args.gambit_games, args.repeats, args.seed, zs)
    for n, lam, b, zs in (QUICK if args.quick else SETTINGS)
  ]
  record = {
    "benchmark": "peers",
    "env": environment(),
    "dtype": "float64",
    "tol": TOL,
    "seed": args.seed,
    "rows": rows,
  }
  write_json(args.json, record)
  plot(rows, args.plot)
  print(
    f"device {record['env']['device']}  float64  residual <= {TOL}  (ratio = peer time / dice_jax time)"
  )
  for r in rows:
    peers = [k[len("ratio_vs_") :] for k in r if k.startswith("ratio_vs_")]
    desc = ", ".join(
      f"{q} x{r['ratio_vs_' + q]:.1f} (res {r[q + '_max_residual']:.0e}, "
      f"diff {r[q + '_vs_dice_jax_max_diff']:.0e})"
      for q in peers
    )
    print(
      f"{r['n']}x{r['n']} lambda={r['lambda']:g} batch={r['batch']} "
      f"{'zero-sum' if r['zero_sum'] else 'general'} [{r['dice_jax_method']}, "
      f"{1e3 * r['dice_jax_s']:.2f} ms]: {desc}"
    )
  print(f"wrote {args.json}")
  return record


if __name__ == "__main__":
  main()
