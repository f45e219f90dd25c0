"""Roofline of the batched mirror kernel: bytes, flops and transcendentals per step, each against
a ceiling of this machine measured in the same run, and which one binds.

Work per game and step of ``dice_jax.Mirror`` on an N-player game whose payoff tensors have
``P`` entries and whose players have ``n_i`` actions (counted from the algorithm, DESIGN §3):

* **bytes**: the N payoff tensors are read once, ``N P`` entries (the per-action vectors are a
  few KiB per game and stay in cache; they are not counted);
* **flops**: ``2 N P`` for the N multilinear contractions (a multiply and an add per entry)
  plus ``15 sum n_i`` for the per-action vector work (response scaling, the residual's
  softmax and l1 distance, the proximal interpolation and its log-softmax);
* **transcendentals**: ``2 sum n_i`` ``exp`` (the residual's softmax and the update's) and
  ``N`` ``log`` (the update's log-sum-exp).

Ceilings, measured here in the same process (jitted, medians of interleaved repeats):

* **memory read bandwidth**: ``jnp.sum`` over 256 MiB (far larger than the caches), bytes read
  per second -- the figure the issue's target is stated against;
* **cache read bandwidth**: ``jnp.sum`` over a 4 MiB block (the chunk size the solver uses),
  repeated -- reported beside it, since a chunk's payoffs are re-read every step and may stay
  in the last-level cache;
* **flops**: a square float64 GEMM (``2 n^3`` flops);
* **transcendentals**: ``jnp.sum(jnp.exp(x))`` over a cache-resident 2 MiB vector.

The achieved rate of each resource is ``count x (sum over games of steps) / wall time``; games
that finished early inside a chunk still run (frozen) until the chunk ends, and that wasted
work is *not* counted. The model time of each resource is its count over its ceiling; the one
with the largest model time binds, and ``roofline_fraction`` is that model time over the
measured time (1.0 = running at the binding ceiling). ``bandwidth_fraction`` is the achieved
payoff bytes/s over the memory read bandwidth (the issue's target: >= 0.5 at 1024 x 32x32).

    python -m benchmarks.roofline [--n 32] [--batch 1024] [--lam 2] [--json FILE]
"""

from __future__ import annotations

import argparse

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import dice_jax as dj  # noqa: E402
from benchmarks._record import environment, interleaved_times, write_json  # noqa: E402

TOL = 1e-8
VECTOR_FLOPS_PER_ACTION = 15


def _median(fn, repeats):
  fn()
  return interleaved_times({"f": fn}, repeats)["f"]["median_s"]


def read_bandwidth(dtype=jnp.float64, mib=256, repeats=9) -> float:
  """Bytes/s read by a jitted ``jnp.sum`` over ``mib`` MiB."""
  x = jnp.ones((mib * 2**20 // jnp.dtype(dtype).itemsize,), dtype)
  f = jax.jit(jnp.sum)
  return x.nbytes / _median(lambda: jax.block_until_ready(f(x)), repeats)


def cache_read_bandwidth(dtype=jnp.float64, mib=4, inner=16, repeats=9) -> float:
  """Bytes/s of ``inner`` jitted sums over the same ``mib`` MiB block (one call, so dispatch
  is not timed ``inner`` times)."""
  x = jnp.ones((mib * 2**20 // jnp.dtype(dtype).itemsize,), dtype)
  f = jax.jit(
    lambda x: jax.lax.fori_loop(
      0, inner, lambda i, s: s + jnp.sum(x * (1 + i)), jnp.zeros((), dtype)
    )
  )
  return inner * x.nbytes / _median(lambda: jax.block_until_ready(f(x)), repeats)


def peak_flops(dtype=jnp.float64, n=1024, repeats=5) -> float:
  """Flop/s of a jitted square GEMM."""
  a = jnp.ones((n, n), dtype)
  f = jax.jit(lambda a: a @ a)
  return 2 * n**3 / _median(lambda: jax.block_until_ready(f(a)), repeats)


def exp_rate(dtype=jnp.float64, mib=2, inner=16, repeats=9) -> float:
  """``exp`` evaluations per second, ``inner`` passes over a cache-resident vector."""
  x = jnp.linspace(-1, 1, mib * 2**20 // jnp.dtype(dtype).itemsize, dtype=dtype)
  f = jax.jit(
    lambda x: jax.lax.fori_loop(
      0, inner, lambda i, s: s + jnp.sum(jnp.exp(x + s * 1e-30)), jnp.zeros((), dtype)
    )
  )
  return inner * x.size / _median(lambda: jax.block_until_ready(f(x)), repeats)


def ceilings(dtype=jnp.float64, repeats=9):
  """The four measured ceilings of this machine (see the module docstring)."""
  return {
    "read_bytes_per_s": read_bandwidth(dtype, repeats=repeats),
    "cache_read_bytes_per_s": cache_read_bandwidth(dtype, repeats=repeats),
    "flops_per_s": peak_flops(dtype, repeats=max(3, repeats // 2)),
    "exp_per_s": exp_rate(dtype, repeats=repeats),
  }


def counts(num_actions, itemsize):
  """Bytes, flops and transcendentals per game and step (see the module docstring)."""
  players = len(num_actions)
  entries = int(np.prod(num_actions))
  acts = int(sum(num_actions))
  return {
    "bytes": players * entries * itemsize,
    "flops": 2 * players * entries + VECTOR_FLOPS_PER_ACTION * acts,
    "transcendentals": 2 * acts + players,
  }


def kernel(n=32, batch=1024, lam=2.0, players=2, dtype=jnp.float64, seed=0, repeats=9):
  """Time ``dj.solve`` on a batch (median of ``repeats``); return the game-steps and time."""
  game = dj.games.random.uniform(
    jax.random.PRNGKey(seed), (n,) * players, batch_shape=(batch,), dtype=dtype
  )
  tol = TOL if dtype == jnp.float64 else 1e-5
  solve = lambda: jax.block_until_ready(dj.solve(game, 1.0 / lam, method="mirror", tol=tol))
  sol = solve()
  return {
    "n": n,
    "batch": batch,
    "players": players,
    "lambda": lam,
    "dtype": jnp.dtype(dtype).name,
    "seconds": _median(solve, repeats),
    "total_steps": float(np.sum(sol.steps)),
    "max_steps": int(np.max(sol.steps)),
    "converged": float(np.mean(np.asarray(sol.converged))),
    "max_residual": float(np.max(sol.residual)),
  }


def model(k, peaks):
  """Achieved rates, model time per resource, the binding one and the fractions."""
  c = counts((k["n"],) * k["players"], jnp.dtype(k["dtype"]).itemsize)
  steps, t = k["total_steps"], k["seconds"]
  ceiling = {
    "bytes": peaks["read_bytes_per_s"],
    "flops": peaks["flops_per_s"],
    "transcendentals": peaks["exp_per_s"],
  }
  model_s = {r: steps * c[r] / ceiling[r] for r in c}
  binds = max(model_s, key=model_s.get)
  return {
    "per_game_step": c,
    "achieved_per_s": {r: steps * c[r] / t for r in c},
    "model_s": model_s,
    "binds": binds,
    "roofline_fraction": model_s[binds] / t,
    "bandwidth_fraction": steps * c["bytes"] / t / peaks["read_bytes_per_s"],
    "cache_bandwidth_fraction": steps * c["bytes"] / t / peaks["cache_read_bytes_per_s"],
  }


def measure(n=32, batch=1024, lam=2.0, players=2, dtype=jnp.float64, seed=0, repeats=9):
  """Ceilings, kernel timing and model in one run (the record's ``row``)."""
  peaks = ceilings(dtype, repeats)
  k = kernel(n, batch, lam, players, dtype, seed, repeats)
  return {**k, "ceilings": peaks, **model(k, peaks)}


def plot(r, path):
  """The roofline (read bandwidth slope, GEMM ceiling) with the kernel's achieved point."""
  import matplotlib

  matplotlib.use("Agg")
  import matplotlib.pyplot as plt

  ai = np.logspace(-2, 2, 200)
  peaks = r["ceilings"]
  fig, ax = plt.subplots(figsize=(5.5, 3.8))
  ax.loglog(
    ai,
    np.minimum(peaks["read_bytes_per_s"] * ai, peaks["flops_per_s"]) / 1e9,
    "k-",
    label="memory read roof",
  )
  ax.loglog(
    ai,
    np.minimum(peaks["cache_read_bytes_per_s"] * ai, peaks["flops_per_s"]) / 1e9,
    "k:",
    label="4 MiB cache read roof",
  )
  c = r["per_game_step"]
  ax.loglog(
    [c["flops"] / c["bytes"]],
    [r["achieved_per_s"]["flops"] / 1e9],
    "o",
    ms=8,
    label=f"mirror kernel, {r['n']}^{r['players']} x {r['batch']} "
    f"({100 * r['bandwidth_fraction']:.0f}% of read bandwidth)",
  )
  ax.set_xlabel("arithmetic intensity (flop / byte)")
  ax.set_ylabel("GFLOP/s")
  ax.legend(fontsize=8)
  ax.grid(True, which="both", alpha=0.3)
  fig.tight_layout()
  fig.savefig(path, dpi=120)


def main(argv=None):
  p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  p.add_argument("--n", type=int, default=32)
  p.add_argument("--batch", type=int, default=1024)
  p.add_argument("--players", type=int, default=2)
  p.add_argument("--lam", type=float, default=2.0)
  p.add_argument("--repeats", type=int, default=9)
  p.add_argument("--float32", action="store_true")
  p.add_argument("--json", default="benchmarks/results/roofline.json")
  p.add_argument("--plot", default="benchmarks/results/roofline.png")
  args = p.parse_args(argv)
  r = measure(
    args.n,
    args.batch,
    args.lam,
    args.players,
    jnp.float32 if args.float32 else jnp.float64,
    repeats=args.repeats,
  )
  record = {"benchmark": "roofline", "env": environment(), "row": r}
  write_json(args.json, record)
  plot(r, args.plot)
  pk, a = r["ceilings"], r["achieved_per_s"]
  print(
    f"device {record['env']['device']}  {r['dtype']}  {r['batch']} games of {r['n']}^{r['players']}"
    f"  load {record['env']['load_average']}"
  )
  print(
    f"ceilings: read {pk['read_bytes_per_s'] / 1e9:.1f} GB/s (4 MiB cached "
    f"{pk['cache_read_bytes_per_s'] / 1e9:.1f}), GEMM {pk['flops_per_s'] / 1e9:.1f} GFLOP/s, "
    f"exp {pk['exp_per_s'] / 1e9:.2f} G/s"
  )
  print(
    f"kernel: {a['bytes'] / 1e9:.1f} GB/s, {a['flops'] / 1e9:.2f} GFLOP/s, "
    f"{a['transcendentals'] / 1e9:.3f} G exp/s ({r['total_steps']:.0f} game-steps in "
    f"{1e3 * r['seconds']:.1f} ms)"
  )
  print(
    f"binds: {r['binds']}; {100 * r['roofline_fraction']:.0f}% of the roofline, "
    f"{100 * r['bandwidth_fraction']:.0f}% of memory read bandwidth"
  )
  return record


if __name__ == "__main__":
  main()
