"""dice-jax certify: solve a game and print its certificate.

    dice-jax certify GAME.nfg --temperature T [--method M] [--tol X] [--max-steps N]
                     [--num-samples K] [--fast] [--float32] [--json]
    dice-jax certify --example NAME --temperature T ...
    dice-jax certify MARKOV.json [--method M] [--convention C] [--tol X] [--max-steps N] [--json]

A file whose name ends in .json is a Markov game (the format of dice_jax.markov.io, its
temperatures inside): it is solved as by solve-markov and certified by
dice_jax.certify.certify_markov (a contraction bound q of the response map; q < 1 gives a
unique HQRE, an error bound in max over states of the sum over agents of l1 distances, and the
rate of soft policy iteration); the JSON object then has the keys of the Markov certificate
(certified, contraction, error_bound, predicted_rate, observed_rate, reason, ...) plus policies,
residual, steps, result, method and convention.

For a normal-form game T is one number or one per player, comma-separated. With --json the
output is one JSON object
with keys certified (bool), margin, alpha_upper, alpha_lower, error_bound, predicted_rate,
observed_rate, reason (null when certified), plus weighted_margin, weighted_alpha_upper,
weighted_alpha_lower, exact, contraction, step_size, step_bound, lipschitz, evidence, policies,
residual, steps, result, method, temperature, players. Numbers that are infinite (no bound) are
null. Exit status: 0 certified, 1 not certified, 2 bad input.
"""

from __future__ import annotations

from dice_jax.cli import markov, output
from dice_jax.cli import parser as P
from dice_jax.cli.solve import load_normal_form

__all__ = ["register", "run"]


def register(subparsers) -> None:
  """Add the ``certify`` command."""
  from dice_jax.games.catalogue import EXAMPLES  # noqa: PLC0415
  from dice_jax.solvers._solve import METHODS  # noqa: PLC0415

  p = subparsers.add_parser(
    "certify",
    help="solve a normal-form or Markov game and certify its HQRE (uniqueness, error bound, rate)",
    description=__doc__.split("\n\n")[0],
  )
  p.add_argument("game", nargs="?", help="a Gambit .nfg file, or a Markov game (.json)")
  p.add_argument("--example", choices=sorted(EXAMPLES), help="a built-in game instead of a file")
  p.add_argument(
    "--temperature",
    "-t",
    type=P.temperatures,
    default=None,
    help="tau > 0: one number, or one per player separated by commas (normal-form "
    "games; a Markov file holds its own)",
  )
  p.add_argument(
    "--method",
    "-m",
    choices=sorted(set(METHODS) | set(markov.method_names())),
    default=None,
    help="solver (default: mirror; extragradient for Markov games)",
  )
  p.add_argument(
    "--convention",
    choices=markov.CONVENTION_NAMES,
    default=None,
    help="Markov value convention (default: the file's, else 'own')",
  )
  p.add_argument("--tol", type=P.positive_number, default=None, help="solver residual tolerance")
  p.add_argument(
    "--max-steps", type=P.step_count, default=None, help=f"step budget, 1 to {P.MAX_STEPS}"
  )
  p.add_argument(
    "--num-samples", type=P.count, default=8, help="sampled profiles for the lower bound on alpha"
  )
  p.add_argument(
    "--fast",
    action="store_true",
    help="SVD-free rigorous bounds (a few percent looser, cheaper for large games)",
  )
  p.add_argument("--float32", action="store_true", help="compute in float32 (default float64)")
  p.add_argument("--json", action="store_true", help="print one JSON object")


def run(args) -> int:
  """Run a parsed ``certify`` command; returns the exit status."""
  import jax.numpy as jnp  # noqa: PLC0415
  import numpy as np  # noqa: PLC0415

  from dice_jax.certify.certificate import certify  # noqa: PLC0415
  from dice_jax.solvers._solve import METHODS, solve  # noqa: PLC0415

  if args.game is not None and args.game.lower().endswith(".json") and args.example is None:
    return _run_markov(args)
  if args.convention is not None:
    raise ValueError("--convention applies to Markov games (a .json file) only")
  if args.temperature is None:
    raise ValueError("give --temperature for a normal-form game")
  args.method = args.method or "auto"
  if args.method not in METHODS:
    raise ValueError(
      f"--method {args.method!r} is for Markov games; choose one of {sorted(METHODS)}"
    )
  game, players, _, dtype = load_normal_form(args)
  temps = args.temperature
  tau = jnp.broadcast_to(jnp.asarray(temps, dtype), (game.num_players,))
  sol = solve(game, tau, method=args.method, tol=args.tol, max_steps=args.max_steps, history=True)
  cert = certify(game, tau, sol, num_samples=args.num_samples, fast=args.fast)
  out = cert.to_dict()
  out.update(
    {
      "policies": [np.asarray(p).tolist() for p in sol.probabilities],
      "residual": float(sol.residual),
      "steps": int(sol.steps),
      "result": str(sol.result_names().item()),
      "method": args.method,
      "temperature": temps,
      "players": players,
    }
  )
  if args.json:
    print(output.dumps(out))
  else:
    status = "CERTIFIED unique HQRE" if out["certified"] else "NOT certified"
    fmt = lambda v: "n/a" if v is None else f"{v:.6g}"
    print(
      f"{status}   (solver: {out['result']} after {out['steps']} steps, residual "
      f"{out['residual']:.3e})"
    )
    print(f"  margin mu = {fmt(out['margin'])}   weighted mu_W = {fmt(out['weighted_margin'])}")
    print(
      f"  alpha in [{fmt(out['alpha_lower'])}, {fmt(out['alpha_upper'])}]"
      f"{' (exact)' if out['exact'] else ''}"
    )
    print(f"  error bound ||x - x*||_2 <= {fmt(out['error_bound'])}")
    print(
      f"  mirror rate: predicted {fmt(out['predicted_rate'])} per step (eta = "
      f"{fmt(out['step_size'])}, {fmt(out['step_bound'])} steps to 1e-8), observed "
      f"{fmt(out['observed_rate'])}"
    )
    if out["reason"]:
      print(f"  reason: {out['reason']}")
  return 0 if out["certified"] else 1


def _run_markov(args) -> int:
  """``certify MARKOV.json``: solve as ``solve-markov`` does, then the Markov certificate."""
  import numpy as np  # noqa: PLC0415

  if args.temperature is not None:
    raise ValueError(
      "--temperature applies to normal-form games; a Markov game file holds its temperatures"
    )
  args.method = args.method or "auto"
  if args.method not in markov.method_names():
    raise ValueError(
      f"--method {args.method!r} is not a Markov method; choose one of {markov.method_names()}"
    )
  game, convention, sol = markov.solve_file(args, history=True)
  out = markov.certificate(game, sol, convention)
  out.update(
    {
      "policies": [np.asarray(p).tolist() for p in sol.probabilities],
      "residual": float(sol.residual),
      "steps": int(sol.steps),
      "result": str(sol.result_names().item()),
      "method": args.method,
      "convention": convention,
    }
  )
  if args.json:
    print(output.dumps(out))
  else:
    print(f"solver: {out['result']} after {out['steps']} steps, residual {out['residual']:.3e}")
    markov.print_certificate(out)
  return 0 if out["certified"] else 1
