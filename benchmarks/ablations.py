"""Before/after of every speed decision, measured in one run on the same games (issue #5, item 4).

Each row times a *before* configuration against the *after* one dice_jax ships, on the same
batch, and records both solvers' step counts, worst residual and convergence, so a speed-up is
never bought with accuracy. Rows (two-player n x n games, payoffs uniform on [-1, 1]):

* ``adaptive_step`` -- mirror with the fixed MMD-safe step ``eta = min tau / L^2`` (Sokota et
  al., ICLR 2023) vs the safeguarded adaptive step (the default);
* ``chunking`` -- one ``vmap`` over the whole batch vs cache-sized vmapped chunks
  (``dice_jax.solvers.batching.chunk_size``, the default), where each chunk stops when its own
  games have converged;
* ``check_every`` -- a convergence check after every step (the default) vs every 4 steps: kept
  only if it pays, and this row says whether it does;
* ``float32`` -- float64 at tolerance 1e-8 vs float32 at 1e-5 (a different accuracy: the row is
  labelled so, it is the speed a user trading precision gets);
* ``acceleration`` -- 16 zero-sum 16 x 16 games at lambda = 10 (monotone: one HQRE), where
  the adaptive step falls back to the MMD-safe one: plain ``mirror`` vs ``anderson``
  (safeguarded Anderson acceleration of the same map, not the default: the row says what it
  buys where it pays);
* ``small_tau`` -- one 50 x 50 game at lambda = 50: default mirror vs ``continuation`` (the
  method the README recommends at small temperatures; Gambit's branch). The QRE need not be
  unique there: the row records whether the two reached the same one (measured: they did not,
  max difference 0.54 -- the mirror iteration's fixed point is another QRE).

    python -m benchmarks.ablations [--quick] [--json FILE] [--plot FILE]
"""

from __future__ import annotations

import argparse
import functools

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import dice_jax as dj  # noqa: E402
from benchmarks._record import best_time, environment, write_json  # noqa: E402


def _timed(solve, repeats):
  """``(seconds, solution)``: best of ``repeats`` warm calls (the first call compiles)."""
  sol = jax.block_until_ready(solve())
  return best_time(lambda: jax.block_until_ready(solve()), repeats), sol


def _summary(label, seconds, sol, tol):
  residual = np.asarray(sol.residual, np.float64)
  return {
    "label": label,
    "seconds": seconds,
    "tol": tol,
    "max_steps": int(np.max(sol.steps)),
    "mean_steps": float(np.mean(sol.steps)),
    "max_residual": float(np.max(residual)),
    "converged_fraction": float(np.mean(np.asarray(sol.converged))),
  }


def _row(name, before, after, note=""):
  return {
    "name": name,
    "before": before,
    "after": after,
    "note": note,
    "speedup": before["seconds"] / after["seconds"],
  }


@functools.partial(jax.jit, static_argnames=("method",))
def _one_vmap(game, tau, tol, method):
  """The whole batch in one vmapped while-loop (no chunking): runs until its slowest game."""
  return jax.vmap(
    lambda g: dj.solve_one(g, jnp.full((2,), tau, tol.dtype), method=method, tol=tol)
  )(game)


def ablations(n=32, batch=1024, lam=2.0, small_n=50, small_lam=50.0, accel_n=16, repeats=3, seed=0):
  tau, tol = 1.0 / lam, 1e-8
  game = dj.games.random.uniform(jax.random.PRNGKey(seed), (n, n), batch_shape=(batch,))
  rows = []

  t_default, s_default = _timed(lambda: dj.solve(game, tau, method="mirror", tol=tol), repeats)
  after = _summary("mirror (adaptive step, chunked, check every step)", t_default, s_default, tol)

  fixed = dj.Mirror(adaptive=False)
  t, s = _timed(lambda: dj.solve(game, tau, tol=tol, method=fixed, max_steps=100_000), repeats)
  rows.append(_row("adaptive_step", _summary("mirror, fixed MMD-safe step", t, s, tol), after))

  mirror = dj.Mirror()
  t, s = _timed(lambda: _one_vmap(game, tau, jnp.asarray(tol), mirror), repeats)
  rows.append(
    _row(
      "chunking",
      _summary("one vmap over the batch", t, s, tol),
      after,
      note=f"{dj.solvers.batching.chunk_size(game, batch)} games per chunk",
    )
  )

  every4 = dj.Mirror(check_every=4)
  t, s = _timed(lambda: dj.solve(game, tau, tol=tol, method=every4), repeats)
  rows.append(
    _row(
      "check_every",
      after,
      _summary("mirror, check every 4 steps", t, s, tol),
      note="after = the alternative; speedup > 1 would argue for changing the default",
    )
  )

  game32 = dj.games.random.uniform(
    jax.random.PRNGKey(seed), (n, n), batch_shape=(batch,), dtype=jnp.float32
  )
  t, s = _timed(lambda: dj.solve(game32, np.float32(tau), method="mirror", tol=1e-5), repeats)
  rows.append(
    _row(
      "float32",
      after,
      _summary("float32, tol 1e-5", t, s, 1e-5),
      note="different accuracy: float64 to 1e-8 vs float32 to 1e-5",
    )
  )

  zs = dj.games.random.zero_sum(jax.random.PRNGKey(seed), (accel_n, accel_n), batch_shape=(16,))
  t_m, s_m = _timed(lambda: dj.solve(zs, 0.1, method="mirror", tol=tol, max_steps=100_000), repeats)
  t_a, s_a = _timed(
    lambda: dj.solve(zs, 0.1, tol=tol, method="anderson", max_steps=100_000), repeats
  )
  diff = max(
    float(np.max(np.abs(np.asarray(a) - np.asarray(b))))
    for a, b in zip(s_m.probabilities, s_a.probabilities)
  )
  rows.append(
    _row(
      "acceleration",
      _summary("mirror", t_m, s_m, tol),
      _summary("anderson", t_a, s_a, tol),
      note=f"16 zero-sum {accel_n}x{accel_n}, lambda 10; max |mirror - anderson| = {diff:.1e}",
    )
  )

  small = dj.games.random.uniform(jax.random.PRNGKey(seed), (small_n, small_n))
  small_tau = 1.0 / small_lam
  t_m, s_m = _timed(
    lambda: dj.solve(small, small_tau, method="mirror", tol=tol, max_steps=100_000), repeats
  )
  t_c, s_c = _timed(lambda: dj.solve(small, small_tau, tol=tol, method="continuation"), repeats)
  diff = max(
    float(np.max(np.abs(np.asarray(a) - np.asarray(b))))
    for a, b in zip(s_m.probabilities, s_c.probabilities)
  )
  same = diff <= 1e-6
  rows.append(
    _row(
      "small_tau",
      _summary("mirror", t_m, s_m, tol),
      _summary("continuation", t_c, s_c, tol),
      note=f"{small_n}x{small_n}, lambda {small_lam}; max |mirror - continuation| "
      f"= {diff:.1e}: "
      + (
        "the same QRE"
        if same
        else "different QREs (not unique at this lambda; continuation follows "
        "Gambit's principal branch, mirror does not)"
      ),
    )
  )
  rows[-1]["max_diff_mirror_vs_continuation"] = diff
  return {"n": n, "batch": batch, "lambda": lam, "rows": rows}


def plot(record, path):
  import matplotlib  # noqa: PLC0415

  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # noqa: PLC0415

  rows = record["rows"]
  fig, ax = plt.subplots(figsize=(7, 3.2))
  names = [r["name"] for r in rows]
  ax.barh(names, [r["speedup"] for r in rows], color="tab:blue")
  ax.axvline(1.0, color="k", lw=0.8)
  ax.set_xscale("log")
  ax.set_xlabel("speed-up of 'after' over 'before' (same run, same games)")
  ax.set_title(
    f"dice_jax ablations, {record['env']['device']}, "
    f"{record['batch']} x {record['n']}x{record['n']}, lambda {record['lambda']}"
  )
  fig.tight_layout()
  fig.savefig(path, dpi=110)
  plt.close(fig)


def main(argv=None):
  p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  p.add_argument("--quick", action="store_true", help="small sizes, 1 repeat (a smoke run)")
  p.add_argument("--json", default="benchmarks/results/ablations.json")
  p.add_argument("--plot", default="benchmarks/results/ablations.png")
  args = p.parse_args(argv)
  kw = dict(n=8, batch=64, small_n=8, accel_n=6, repeats=1) if args.quick else {}
  record = {"benchmark": "ablations", "env": environment(), "quick": args.quick, **ablations(**kw)}
  write_json(args.json, record)
  if args.plot:
    plot(record, args.plot)
  for r in record["rows"]:
    print(
      f"{r['name']:>14}: {r['before']['label']} {r['before']['seconds']:.4f} s "
      f"({r['before']['max_steps']} steps) -> {r['after']['label']} "
      f"{r['after']['seconds']:.4f} s ({r['after']['max_steps']} steps): "
      f"x{r['speedup']:.2f}  {r['note']}"
    )
  return record


if __name__ == "__main__":
  main()
