"""dice-jax certify: solve a game and print its certificate.

    dice-jax certify GAME.nfg --temperature T [--method M] [--tol X] [--max-steps N]
                     [--num-samples K] [--fast] [--float32] [--json]
    dice-jax certify --example NAME --temperature T ...

T is one number or one per player, comma-separated. With --json the output is one JSON object
with keys certified (bool), margin, alpha_upper, alpha_lower, error_bound, predicted_rate,
observed_rate, reason (null when certified), plus weighted_margin, weighted_alpha_upper,
weighted_alpha_lower, exact, contraction, step_size, step_bound, lipschitz, evidence, policies,
residual, steps, result, method, temperature, players. Numbers that are infinite (no bound) are
null. Exit status: 0 certified, 1 not certified, 2 bad input.
"""
from __future__ import annotations

from dice_jax.cli import output
from dice_jax.cli import parser as P
from dice_jax.cli.solve import load_normal_form

__all__ = ["register", "run"]


def register(subparsers) -> None:
  """Add the ``certify`` command."""
  from dice_jax.games.catalogue import EXAMPLES  # noqa: PLC0415
  from dice_jax.solvers._solve import METHODS  # noqa: PLC0415

  p = subparsers.add_parser(
      "certify", help="solve a normal-form game and certify its HQRE (uniqueness, error bound, rate)",
      description=__doc__.split("\n\n")[0])
  p.add_argument("game", nargs="?", help="a Gambit .nfg file")
  p.add_argument("--example", choices=sorted(EXAMPLES), help="a built-in game instead of a file")
  p.add_argument("--temperature", "-t", type=P.temperatures, required=True,
                 help="tau > 0: one number, or one per player separated by commas")
  p.add_argument("--method", "-m", choices=sorted(METHODS), default="mirror")
  p.add_argument("--tol", type=P.positive_number, default=None, help="solver residual tolerance")
  p.add_argument("--max-steps", type=P.step_count, default=None,
                 help=f"step budget, 1 to {P.MAX_STEPS}")
  p.add_argument("--num-samples", type=P.count, default=8,
                 help="sampled profiles for the lower bound on alpha")
  p.add_argument("--fast", action="store_true",
                 help="SVD-free rigorous bounds (a few percent looser, cheaper for large games)")
  p.add_argument("--float32", action="store_true", help="compute in float32 (default float64)")
  p.add_argument("--json", action="store_true", help="print one JSON object")


def run(args) -> int:
  """Run a parsed ``certify`` command; returns the exit status."""
  import jax.numpy as jnp  # noqa: PLC0415
  import numpy as np  # noqa: PLC0415

  from dice_jax.certify.certificate import certify  # noqa: PLC0415
  from dice_jax.solvers._solve import solve  # noqa: PLC0415

  game, players, _, dtype = load_normal_form(args)
  temps = args.temperature
  tau = jnp.broadcast_to(jnp.asarray(temps, dtype), (game.num_players,))
  sol = solve(game, tau, method=args.method, tol=args.tol, max_steps=args.max_steps,
              history=True)
  cert = certify(game, tau, sol, num_samples=args.num_samples, fast=args.fast)
  out = cert.to_dict()
  out.update({
      "policies": [np.asarray(p).tolist() for p in sol.probabilities],
      "residual": float(sol.residual),
      "steps": int(sol.steps),
      "result": str(sol.result_names().item()),
      "method": args.method,
      "temperature": temps,
      "players": players,
  })
  if args.json:
    print(output.dumps(out))
  else:
    status = "CERTIFIED unique HQRE" if out["certified"] else "NOT certified"
    fmt = lambda v: "n/a" if v is None else f"{v:.6g}"
    print(f"{status}   (solver: {out['result']} after {out['steps']} steps, residual "
          f"{out['residual']:.3e})")
    print(f"  margin mu = {fmt(out['margin'])}   weighted mu_W = {fmt(out['weighted_margin'])}")
    print(f"  alpha in [{fmt(out['alpha_lower'])}, {fmt(out['alpha_upper'])}]"
          f"{' (exact)' if out['exact'] else ''}")
    print(f"  error bound ||x - x*||_2 <= {fmt(out['error_bound'])}")
    print(f"  mirror rate: predicted {fmt(out['predicted_rate'])} per step (eta = "
          f"{fmt(out['step_size'])}, {fmt(out['step_bound'])} steps to 1e-8), observed "
          f"{fmt(out['observed_rate'])}")
    if out["reason"]:
      print(f"  reason: {out['reason']}")
  return 0 if out["certified"] else 1
