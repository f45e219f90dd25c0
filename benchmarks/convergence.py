"""Steps to tolerance vs temperature and vs monotonicity margin, with the certificate's
predicted rate beside the observed one.

* vs temperature: lambda = 1/tau in {0.5 ... 200} on 16x16 games (zero-sum: monotone, unique
  HQRE; general-sum: not monotone at low temperature), every method, residual <= 1e-8.
* acceleration: ``anderson`` (safeguarded Anderson acceleration of the mirror map) against
  plain ``mirror`` at lambda in {0.5, 2, 10, 50}, steps and time (medians of interleaved
  repeats, compilation excluded) on the same games, with the converged fraction of each and
  the largest distance between their answers on games both solved;
* vs margin: perturbed zero-sum games ``U_1 = A + eps C``, ``U_2 = -A + eps C`` at tau = 0.5,
  eps swept so that the margin ``mu = min tau - alpha`` goes from tau down through 0; the fixed
  theoretical MMD step (``Mirror(adaptive=False)``), whose rate ``dice_jax.certify.certify``
  predicts, against the observed geometric rate of the residual history.

    python -m benchmarks.convergence [--quick] [--json FILE] [--plot FILE]
"""

from __future__ import annotations

import argparse

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from tqdm import tqdm  # noqa: E402

import dice_jax as dj  # noqa: E402
from benchmarks._record import environment, interleaved_times, write_json  # noqa: E402
from dice_jax.certify import certify  # noqa: E402

TOL = 1e-8
METHODS = ["mirror", "optimistic", "extragradient", "damped", "continuation", "anderson"]
ACCELERATION_LAMBDAS = [0.5, 2.0, 10.0, 50.0]


def vs_temperature(lams, n, seed, max_steps):
  rows = []
  for family in ("zero_sum", "uniform"):
    game = getattr(dj.games.random, family)(jax.random.PRNGKey(seed), (n, n), batch_shape=(16,))
    for lam in tqdm(lams, desc=f"{family} vs lambda"):
      for method in METHODS:
        sol = dj.solve(game, 1.0 / lam, method=method, tol=TOL, max_steps=max_steps)
        conv = np.asarray(sol.converged)
        rows.append(
          {
            "family": family,
            "lambda": lam,
            "method": method,
            "converged_fraction": float(conv.mean()),
            "median_steps": float(np.median(np.asarray(sol.steps))),
            "max_steps": int(np.max(sol.steps)),
          }
        )
  return rows


def acceleration(lams, n, batch, seed, max_steps, repeats):
  """``anderson`` against ``mirror``: steps, time and agreement per (family, lambda)."""
  rows = []
  for family in ("zero_sum", "uniform"):
    game = getattr(dj.games.random, family)(jax.random.PRNGKey(seed), (n, n), batch_shape=(batch,))
    for lam in lams:
      solve = {
        m: jax.jit(
          lambda g, t, m=m: dj.solve_one(
            g, jnp.full((2,), t), method=m, tol=TOL, max_steps=max_steps
          )
        )
        for m in ("mirror", "anderson")
      }
      run = {
        m: (lambda m=m: jax.block_until_ready(jax.vmap(solve[m], (0, None))(game, 1 / lam)))
        for m in solve
      }
      sols = {m: run[m]() for m in run}
      times = interleaved_times(run, repeats)
      both = np.asarray(sols["mirror"].converged) & np.asarray(sols["anderson"].converged)
      diff = max(
        (float(np.abs(np.asarray(a) - np.asarray(b))[both].max()) if both.any() else None) or 0.0
        for a, b in zip(sols["mirror"].probabilities, sols["anderson"].probabilities)
      )
      row = {
        "family": family,
        "lambda": lam,
        "n": n,
        "batch": batch,
        "max_steps": max_steps,
        "max_diff_where_both_converged": diff,
        "both_converged": int(both.sum()),
      }
      for m, sol in sols.items():
        row[m] = {
          "median_steps": float(np.median(np.asarray(sol.steps))),
          "mean_steps": float(np.mean(np.asarray(sol.steps))),
          "converged_fraction": float(np.mean(np.asarray(sol.converged))),
          "seconds": times[m]["median_s"],
        }
      row["step_ratio"] = row["mirror"]["mean_steps"] / row["anderson"]["mean_steps"]
      row["time_ratio"] = row["mirror"]["seconds"] / row["anderson"]["seconds"]
      rows.append(row)
  return rows


def vs_margin(epsilons, n, tau, seed, max_steps):
  rows = []
  for eps in tqdm(epsilons, desc="vs margin"):
    game = dj.games.random.perturbed_zero_sum(jax.random.PRNGKey(seed), (n, n), eps)
    sol = dj.solve(
      game, tau, method=dj.Mirror(adaptive=False), tol=1e-12, history=True, max_steps=max_steps
    )
    cert = certify(game, tau, sol)
    rows.append(
      {
        "epsilon": eps,
        "margin": float(cert.margin),
        "certified": bool(cert.certified),
        "predicted_rate": float(cert.predicted_rate),
        "observed_rate": float(cert.observed_rate),
        "steps": int(sol.steps),
        "result": str(sol.result_names().item()),
      }
    )
  return rows


def plot(temp_rows, margin_rows, path):
  import matplotlib

  matplotlib.use("Agg")
  import matplotlib.pyplot as plt

  fig, axes = plt.subplots(1, 3, figsize=(14, 3.8))
  for ax, family in zip(axes[:2], ("zero_sum", "uniform")):
    for method in METHODS:
      rs = [r for r in temp_rows if r["family"] == family and r["method"] == method]
      ax.loglog(
        [r["lambda"] for r in rs],
        [r["median_steps"] if r["converged_fraction"] == 1 else np.nan for r in rs],
        "o-",
        label=method,
      )
    ax.set_title(f"16x16 {family.replace('_', '-')}: median steps to 1e-8")
    ax.set_xlabel("lambda = 1 / tau")
    ax.grid(True, which="both", alpha=0.3)
  axes[0].legend(fontsize=8)
  m = [r["margin"] for r in margin_rows]
  axes[2].plot(m, [r["predicted_rate"] for r in margin_rows], "o-", label="predicted (certificate)")
  axes[2].plot(m, [r["observed_rate"] for r in margin_rows], "s--", label="observed")
  axes[2].set_xlabel("monotonicity margin mu = min tau - alpha")
  axes[2].set_ylabel("per-step residual decay")
  axes[2].set_title("MMD, theoretical step, tau = 0.5")
  axes[2].legend(fontsize=8)
  axes[2].grid(alpha=0.3)
  fig.tight_layout()
  fig.savefig(path, dpi=120)


def main(argv=None):
  p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  p.add_argument("--quick", action="store_true")
  p.add_argument("--seed", type=int, default=0)
  p.add_argument("--json", default="benchmarks/results/convergence.json")
  p.add_argument("--plot", default="benchmarks/results/convergence.png")
  args = p.parse_args(argv)
  lams = [0.5, 2, 10] if args.quick else [0.5, 1, 2, 5, 10, 20, 50, 100, 200]
  eps = [0.0, 0.2] if args.quick else [0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4]
  n = 4 if args.quick else 16
  temp_rows = vs_temperature(lams, n, args.seed, 2_000 if args.quick else 20_000)
  accel_rows = acceleration(
    ACCELERATION_LAMBDAS,
    n,
    4 if args.quick else 16,
    args.seed,
    2_000 if args.quick else 20_000,
    1 if args.quick else 5,
  )
  margin_rows = vs_margin(eps, n, 0.5, args.seed, 2_000 if args.quick else 20_000)
  record = {
    "benchmark": "convergence",
    "env": environment(),
    "dtype": "float64",
    "tol": TOL,
    "seed": args.seed,
    "vs_temperature": temp_rows,
    "acceleration": accel_rows,
    "vs_margin": margin_rows,
  }
  write_json(args.json, record)
  plot(temp_rows, margin_rows, args.plot)
  print(f"{'family':>9} {'lambda':>7} " + " ".join(f"{m:>13}" for m in METHODS))
  for fam in ("zero_sum", "uniform"):
    for lam in lams:
      cells = []
      for m in METHODS:
        r = next(
          r for r in temp_rows if r["family"] == fam and r["lambda"] == lam and r["method"] == m
        )
        cells.append(
          f"{r['median_steps']:>8.0f}"
          + (" " * 5 if r["converged_fraction"] == 1 else f" ({r['converged_fraction']:.1f})")
        )
      print(f"{fam:>9} {lam:>7g} " + " ".join(f"{c:>13}" for c in cells))
  for r in accel_rows:
    a, m = r["anderson"], r["mirror"]
    print(
      f"{r['family']:>9} lambda {r['lambda']:>4g}: mirror {m['mean_steps']:8.0f} steps "
      f"({m['converged_fraction']:.2f} conv, {1e3 * m['seconds']:8.1f} ms), anderson "
      f"{a['mean_steps']:8.0f} ({a['converged_fraction']:.2f}, {1e3 * a['seconds']:8.1f} ms): "
      f"steps x{r['step_ratio']:.1f}, time x{r['time_ratio']:.1f}, "
      f"max diff {r['max_diff_where_both_converged']:.0e}"
    )
  for r in margin_rows:
    print(
      f"eps {r['epsilon']:.2f}: margin {r['margin']:+.3f} certified {r['certified']!s:5} "
      f"predicted {r['predicted_rate']:.4f} observed {r['observed_rate']:.4f}"
    )
  print(f"wrote {args.json} and {args.plot}")
  return record


if __name__ == "__main__":
  main()
