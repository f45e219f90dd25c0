"""Benchmark: DICE-PC's selection levers on the synthetic suites, against fictitious play and
best response.

Question (issue 14, item 4): with a fixed reference the HQRE of a coordination game at a
certified temperature is a mixture, so DICE-PC trails fictitious play in accuracy on the
oscillation suite (0.542 vs 0.795 before this benchmark). Does a *moving reference* (proximal /
magnet updates, :class:`dice_jax.pc.DICEPC` ``magnet``: the reference is a mixture of the base
reference and the last rounds' HQRE) close that gap while every round's HQRE stays certified,
its oscillation index and equilibrium regret stay far below best response's, and the drift
suite is still tracked? And what does posterior (Thompson) sampling buy as exploration?

Methods (same tasks, rollout noise and seeds for all; :func:`dice_jax.pc.harness.run`):

* ``dice-pc``: fixed reference (0.6, 0.2, 0.2) toward convention 0, ``tau = 0.7`` (the README
  setting);
* ``dice-pc-uniform``: the uniform reference (no lean), ``tau = 0.7``;
* ``dice-pc-magnet``: uniform base reference, ``magnet`` beta (default 0.95) ramped over
  ``warmup`` rounds, window 1 -- the convention is *selected* by the dynamics, not given;
* ``dice-pc-magnet-thompson``: the same with one posterior (Beta) draw of the game per round
  (posterior-sampling exploration);
* ``dice-pc-magnet-anneal``: the magnet with the temperature annealed down to the certified
  floor (``final_temperature = 0.001``);

Every DICE-PC variant floors its temperature at ``(1 + 0.1) alpha_upper`` of the round's
posterior game, so every round's HQRE is certified unique (``certified_fraction``);
* ``fictitious-play``, ``best-response``.

Figures per method (mean over seeds, and min/max): accuracy (all rounds and last quarter),
oscillation index, cumulative equilibrium regret at the evaluation target (``tau = 0.7``,
uniform reference: the game's unique HQRE the moving reference deliberately leaves) and the
per-round *own-reference* regret of the magnet runs (sum_i tau KL(x_i || b_i(x)) in the true
game at the round's own reference rho_t: how far each round is from the HQRE it was solving
for), certified fraction, drift-suite distance of the played policy's best convention to the
true best convention (tracking: fraction of rounds in the last half whose most-played joint
convention is the true best one).

Writes ``benchmarks/results/dice_pc_levers.json``. Not a unit test.

    nice python benchmarks/dice_pc_levers.py --json benchmarks/results/dice_pc_levers.json
    python benchmarks/dice_pc_levers.py --quick      # seconds; not recorded
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import jax

jax.config.update("jax_enable_x64", True)

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks._record import environment, write_json  # noqa: E402
from dice_jax.pc import (  # noqa: E402
  DICEPC,
  BestResponseDynamics,
  FictitiousPlay,
  drift_suite,  # noqa: E402
  oscillation_suite,
  payoffs,
  run,
)
from dice_jax.pc.metrics import equilibrium_gaps  # noqa: E402

LEAN = [[0.6, 0.2, 0.2], [0.6, 0.2, 0.2]]
TAU = 0.7


def methods(args):
  """Every DICE-PC variant floors its temperature at the certified ``(1 + margin) alpha_upper`` of
  the round's posterior game (``final_temperature``), so every round's HQRE is certified unique."""
  post = None if args.forgetting == 1.0 else {"discount": args.forgetting}
  mag = dict(magnet=args.magnet, magnet_warmup=args.warmup, posterior=post)
  return {
    "dice-pc": lambda: DICEPC(TAU, final_temperature=TAU, reference=LEAN, posterior=post),
    "dice-pc-uniform": lambda: DICEPC(TAU, final_temperature=TAU, posterior=post),
    "dice-pc-magnet": lambda: DICEPC(TAU, final_temperature=TAU, **mag),
    "dice-pc-magnet-thompson": lambda: DICEPC(
      TAU, final_temperature=TAU, sampling="thompson", **mag
    ),
    "dice-pc-magnet-anneal": lambda: DICEPC(TAU, final_temperature=1e-3, **mag),
    "fictitious-play": lambda: FictitiousPlay(posterior=post),
    "best-response": lambda: BestResponseDynamics(posterior=post),
  }


def own_reference_regret(env, res):
  """Per round, mean over states of sum_i tau KL(x_i || b_i(x)) in the true game at the round's
  own reference (recorded as ``reference`` by a magnet run)."""
  import dice_jax as dj

  out = []
  for t, rec in enumerate(res.records):
    if rec.get("reference") is None or rec.get("policy") is None:
      return None
    success, tokens = env.true_payoffs(t)
    game = dj.NormalFormGame.from_arrays(list(payoffs(env.spec, success, tokens)))
    x = tuple(
      np.array([rec["policy"][s][i] for s in range(env.spec.num_states)])
      for i in range(env.spec.num_roles)
    )
    ref = tuple(
      np.array([rec["reference"][s][i] for s in range(env.spec.num_states)])
      for i in range(env.spec.num_roles)
    )
    tau = np.full((env.spec.num_states, env.spec.num_roles), TAU)
    out.append(float(equilibrium_gaps(game, x, tau, ref).sum(-1).mean()))
  return out


def tracking(env, res):
  """Fraction of last-half rounds whose most likely joint convention (per state) is the true
  best convention of that round."""
  hits, n = 0, 0
  r = len(res.records)
  for t in range(r // 2, r):
    rec = res.records[t]
    if rec.get("policy") is None:
      continue
    success, _ = env.true_payoffs(t)
    for s in range(env.spec.num_states):
      x = [np.asarray(p) for p in rec["policy"][s]]
      k = x[0].shape[0]
      diag = np.array([np.prod([xi[j] for xi in x]) for j in range(k)])
      best = int(np.argmax([success[(s, *(j,) * len(x))] for j in range(k)]))
      hits += int(np.argmax(diag) == best)
      n += 1
  return hits / n if n else None


def run_suite(name, make_env, args):
  rows = {}
  for label, make in methods(args).items():
    runs = []
    for seed in range(args.seeds):
      env = make_env(seed)
      t0 = time.perf_counter()
      res = run(
        env,
        make(),
        rounds=args.rounds,
        batch_size=args.batch,
        seed=seed,
        temperature=TAU,
        reference=None,
        monotonicity=False,
      )
      sec = time.perf_counter() - t0
      s = res.summary
      cert = [all(r["certificate"]["certified"]) for r in res.records if r.get("certificate")]
      own = own_reference_regret(env, res)
      runs.append(
        {
          "seed": seed,
          "seconds": sec,
          "accuracy": s["accuracy"],
          "accuracy_last_quarter": s["accuracy_last_quarter"],
          "oscillation_index": s["oscillation_index"],
          "cumulative_equilibrium_regret": s["cumulative_equilibrium_regret"],
          "regret_slope_ratio": s["regret_slope_ratio"],
          "final_distance_to_hqre": s["final_distance_to_hqre"],
          "certified_fraction": float(np.mean(cert)) if cert else None,
          "own_reference_regret_cumulative": None if own is None else float(np.sum(own)),
          "own_reference_regret_last_quarter": None
          if own is None
          else float(np.mean(own[-max(1, len(own) // 4) :])),
          "tracking_last_half": tracking(env, res) if name == "drift" else None,
        }
      )
      print(
        f"  {name:11s} {label:24s} seed {seed}: acc {s['accuracy']:.3f} (last q "
        f"{s['accuracy_last_quarter']:.3f}) osc {s['oscillation_index']:.4f} "
        f"regret {s['cumulative_equilibrium_regret']:.2f} "
        f"cert {runs[-1]['certified_fraction']} {sec:.1f}s",
        flush=True,
      )
    agg = {}
    for k in runs[0]:
      if k == "seed":
        continue
      vals = [r[k] for r in runs if r[k] is not None]
      agg[k] = (
        None
        if not vals
        else {"mean": float(np.mean(vals)), "min": float(np.min(vals)), "max": float(np.max(vals))}
      )
    rows[label] = {"runs": runs, "mean": agg}
  return rows


def table(rows):
  keys = (
    "accuracy",
    "accuracy_last_quarter",
    "oscillation_index",
    "cumulative_equilibrium_regret",
    "own_reference_regret_cumulative",
    "certified_fraction",
    "tracking_last_half",
  )
  head = "method".ljust(25) + "".join(k[:14].rjust(16) for k in keys)
  lines = [head]
  for label, row in rows.items():
    cells = []
    for k in keys:
      v = row["mean"].get(k)
      cells.append(("-" if v is None else f"{v['mean']:.4g}").rjust(16))
    lines.append(label.ljust(25) + "".join(cells))
  return "\n".join(lines)


def main(argv=None):
  ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  ap.add_argument("--rounds", type=int, default=500)
  ap.add_argument("--batch", type=int, default=32)
  ap.add_argument("--seeds", type=int, default=2)
  ap.add_argument("--magnet", type=float, default=0.95)
  ap.add_argument("--warmup", type=int, default=50)
  ap.add_argument("--drift-period", type=float, default=250.0)
  ap.add_argument(
    "--forgetting",
    type=float,
    default=1.0,
    help="posterior discount gamma of every posterior-based method (drift: 0.97)",
  )
  ap.add_argument(
    "--suites", nargs="+", default=["oscillation", "drift"], choices=["oscillation", "drift"]
  )
  ap.add_argument("--quick", action="store_true", help="60 rounds, 1 seed (smoke)")
  ap.add_argument("--json", help="write the record here")
  args = ap.parse_args(argv)
  if args.quick:
    args.rounds, args.seeds, args.warmup = 60, 1, 10
  record = {"env": environment(), "settings": vars(args), "suites": {}}
  for name, make_env in (
    ("oscillation", lambda seed: oscillation_suite(seed=seed)),
    ("drift", lambda seed: drift_suite(period=args.drift_period, seed=seed)),
  ):
    if name not in args.suites:
      continue
    print(f"{name} suite: {args.rounds} rounds x {args.batch} tasks x {args.seeds} seeds")
    rows = run_suite(name, make_env, args)
    record["suites"][name] = rows
    print(table(rows))
  if args.json:
    write_json(args.json, record)
  return record


if __name__ == "__main__":
  main()
