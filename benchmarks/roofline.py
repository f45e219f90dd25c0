"""Roofline of the batched mirror kernel against this machine's measured peaks (same run).

Per step and game, ``dice_jax.Mirror`` on an N-player game with payoff tensors of ``P``
entries evaluates the N utility vectors: it reads ``N * P`` payoff entries and does ``2 N P``
flops (multiply-add), plus O(sum n_i) vector work. Arithmetic intensity is 2 flops per
payoff entry (0.25 flop/byte in float64), far left of the ridge point, so the roof is memory
bandwidth. Peaks measured here, in the same process:

* bandwidth: a STREAM-style scale ``x <- 1.5 x + 1`` in place over 256 MiB (read + write);
* compute: a square GEMM (2 n^3 flops).

``achieved bandwidth = sum over games of steps x N P x itemsize / wall time``; the fraction is
that over the copy bandwidth. Chunks of the batch that fit in cache can exceed the DRAM copy
bandwidth (fraction > 1 means the kernel runs from cache).

    python -m benchmarks.roofline [--n 32] [--batch 1024] [--lam 2] [--json FILE]
"""
from __future__ import annotations

import argparse

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import dice_jax as dj  # noqa: E402
from benchmarks._record import best_time, environment, write_json  # noqa: E402

TOL = 1e-8


def peak_bandwidth(dtype=jnp.float64, mib=256, repeats=5) -> float:
  """Bytes/s of a STREAM "scale" ``x <- 1.5 x + 1`` over ``mib`` MiB, in place (the buffer is
  donated, so no page faults of a fresh output are timed); bytes = read + write."""
  x = jnp.ones((mib * 2**20 // jnp.dtype(dtype).itemsize,), dtype)
  f = jax.jit(lambda a: a * 1.5 + 1.0, donate_argnums=0)
  state = {"x": jax.block_until_ready(f(x))}
  nbytes = state["x"].nbytes

  def run():
    state["x"] = jax.block_until_ready(f(state["x"]))
  return 2 * nbytes / best_time(run, repeats)


def peak_flops(dtype=jnp.float64, n=1024, repeats=5) -> float:
  """Flop/s of a jitted square GEMM."""
  a = jnp.ones((n, n), dtype)
  f = jax.jit(lambda a: a @ a)
  jax.block_until_ready(f(a))
  return 2 * n**3 / best_time(lambda: jax.block_until_ready(f(a)), repeats)


def kernel(n=32, batch=1024, lam=2.0, players=2, dtype=jnp.float64, seed=0, repeats=3):
  game = dj.games.random.uniform(jax.random.PRNGKey(seed), (n,) * players, batch_shape=(batch,),
                                 dtype=dtype)
  solve = lambda: jax.block_until_ready(dj.solve(game, 1.0 / lam, tol=TOL if dtype == jnp.float64 else 1e-5))
  sol = solve()
  t = best_time(solve, repeats)
  entries = players * n**players
  steps = float(np.sum(sol.steps))
  itemsize = jnp.dtype(dtype).itemsize
  return {"n": n, "batch": batch, "players": players, "lambda": lam, "dtype": jnp.dtype(dtype).name,
          "seconds": t, "total_steps": steps, "bytes_per_step_per_game": entries * itemsize,
          "flops_per_step_per_game": 2 * entries,
          "achieved_bytes_per_s": steps * entries * itemsize / t,
          "achieved_flops_per_s": steps * 2 * entries / t}


def measure(n=32, batch=1024, lam=2.0, players=2, dtype=jnp.float64, seed=0):
  bw, fl = peak_bandwidth(dtype), peak_flops(dtype)
  k = kernel(n, batch, lam, players, dtype, seed)
  k.update(peak_copy_bytes_per_s=bw, peak_gemm_flops_per_s=fl,
           roofline_bytes_per_s=min(bw, fl / (k["flops_per_step_per_game"] / k["bytes_per_step_per_game"])),
           )
  k["roofline_fraction"] = k["achieved_bytes_per_s"] / k["roofline_bytes_per_s"]
  return k


def plot(r, path):
  """The roofline (bandwidth slope, GEMM ceiling) with the kernel's achieved point."""
  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt
  ai = np.logspace(-2, 2, 200)
  roof = np.minimum(r["peak_copy_bytes_per_s"] * ai, r["peak_gemm_flops_per_s"])
  fig, ax = plt.subplots(figsize=(5.5, 3.8))
  ax.loglog(ai, roof / 1e9, "k-", label="measured roofline")
  k_ai = r["flops_per_step_per_game"] / r["bytes_per_step_per_game"]
  ax.loglog([k_ai], [r["achieved_flops_per_s"] / 1e9], "o", ms=8,
            label=f"mirror kernel, {r['n']}^{r['players']} x {r['batch']} ({100 * r['roofline_fraction']:.0f}%)")
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
  p.add_argument("--float32", action="store_true")
  p.add_argument("--json", default="benchmarks/results/roofline.json")
  p.add_argument("--plot", default="benchmarks/results/roofline.png")
  args = p.parse_args(argv)
  r = measure(args.n, args.batch, args.lam, args.players,
              jnp.float32 if args.float32 else jnp.float64)
  record = {"benchmark": "roofline", "env": environment(), "row": r}
  write_json(args.json, record)
  plot(r, args.plot)
  print(f"device {record['env']['device']}  {r['dtype']}  {r['batch']} games of {r['n']}^{r['players']}")
  print(f"peak copy {r['peak_copy_bytes_per_s'] / 1e9:.1f} GB/s, peak GEMM {r['peak_gemm_flops_per_s'] / 1e9:.1f} GFLOP/s")
  print(f"kernel {r['achieved_bytes_per_s'] / 1e9:.1f} GB/s, {r['achieved_flops_per_s'] / 1e9:.2f} GFLOP/s "
        f"-> {100 * r['roofline_fraction']:.0f}% of the roofline ({r['total_steps']:.0f} game-steps in {1e3 * r['seconds']:.1f} ms)")
  return record


if __name__ == "__main__":
  main()
