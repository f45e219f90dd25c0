"""dice-jax solve-markov: the HQRE of a Markov game read from a JSON file.

    dice-jax solve-markov GAME.json [--method M] [--convention C] [--tol X] [--max-steps N]
                          [--certify] [--float32] [--json]

GAME.json is in the format of dice_jax.markov.io (size and nesting limits there). With --json
the output is one JSON object with keys policies ([N][S][n_i] probabilities), values ([N][S]
regularised values under the convention), residual, gap, steps, result ("converged" on
success), convention, method and state_residual ([S]). With --certify the game is also
certified (dice_jax.certify.certify_markov: a contraction bound q of the response map; q < 1
gives a unique HQRE, an error bound and a rate) and the object gains the key certificate
(certified, contraction, error_bound, predicted_rate, observed_rate, reason, ...). Exit status
0 converged (and, with --certify, certified), 1 otherwise, 2 bad input. float64 unless
--float32; numbers that are not finite are written as null.
"""

from __future__ import annotations

from dice_jax.cli import output
from dice_jax.cli import parser as P

__all__ = [
  "register",
  "run",
  "solve_file",
  "certificate",
  "print_certificate",
  "method_names",
  "CONVENTION_NAMES",
]

CONVENTION_NAMES = ("own", "zero_sum", "logit")


def method_names():
  """The Markov solvers' names (:data:`dice_jax.markov.solve.METHODS`)."""
  from dice_jax.markov.solve import METHODS  # noqa: PLC0415

  return sorted(METHODS)


def register(subparsers) -> None:
  """Add the ``solve-markov`` command."""
  p = subparsers.add_parser(
    "solve-markov",
    help="compute the HQRE of a Markov game (JSON file)",
    description=__doc__.split("\n\n")[0],
  )
  p.add_argument("game", help="a Markov game in JSON (see dice_jax.markov.io)")
  p.add_argument("--method", "-m", choices=method_names(), default="auto")
  p.add_argument(
    "--convention",
    choices=CONVENTION_NAMES,
    default=None,
    help="value convention (default: the file's, else 'own')",
  )
  p.add_argument(
    "--tol", type=P.positive_number, default=None, help="fixed-point residual tolerance (> 0)"
  )
  p.add_argument(
    "--max-steps", type=P.step_count, default=None, help=f"step budget, 1 to {P.MAX_STEPS}"
  )
  p.add_argument(
    "--certify", action="store_true", help="also certify the HQRE (uniqueness, error bound, rate)"
  )
  p.add_argument("--float32", action="store_true", help="compute in float32 (default float64)")
  p.add_argument("--json", action="store_true", help="print one JSON object")


def solve_file(args, *, history: bool = False):
  """``(game, convention, solution)``: read ``args.game`` and solve it with ``args.method``,
  ``args.convention`` (default the file's), ``args.tol``, ``args.max_steps``, ``args.float32``
  (``history``: record the residuals, for the certificate's observed rate)."""
  import jax  # noqa: PLC0415

  if not args.float32:
    jax.config.update("jax_enable_x64", True)
  import jax.numpy as jnp  # noqa: PLC0415

  from dice_jax.markov.io import read_game  # noqa: PLC0415
  from dice_jax.markov.solve import solve_markov  # noqa: PLC0415

  dtype = jnp.float32 if args.float32 else jnp.float64
  game, convention = read_game(args.game, dtype=dtype)
  convention = args.convention or convention
  sol = solve_markov(
    game,
    method=args.method,
    convention=convention,
    tol=args.tol,
    max_steps=args.max_steps,
    history=history,
  )
  return game, convention, sol


def certificate(game, sol, convention) -> dict:
  """The Markov certificate of ``sol`` as a JSON-ready dict (see the module docstring)."""
  from dice_jax.certify.markov import certify_markov  # noqa: PLC0415

  return certify_markov(game, sol, convention=convention).to_dict()


def print_certificate(cert: dict) -> None:
  """Print a Markov certificate (from :func:`certificate`) as text."""
  fmt = lambda v: "n/a" if v is None else f"{v:.6g}" if isinstance(v, float) else str(v)
  status = "CERTIFIED unique HQRE" if cert["certified"] else "NOT certified"
  print(
    f"{status}   contraction q = {fmt(cert['contraction'])}   error bound "
    f"{fmt(cert['error_bound'])} ({cert['error_metric']})"
  )
  print(
    f"  soft policy iteration rate: predicted {fmt(cert['predicted_rate'])} per step "
    f"({fmt(cert['step_bound'])} steps), observed {fmt(cert['observed_rate'])}"
  )
  if cert["reason"]:
    print(f"  reason: {cert['reason']}")


def run(args) -> int:
  """Run ``solve-markov`` for parsed ``args``; returns the exit status."""
  import numpy as np  # noqa: PLC0415

  game, convention, sol = solve_file(args, history=args.certify)
  out = {
    "policies": [np.asarray(p).tolist() for p in sol.probabilities],
    "values": np.asarray(sol.values).tolist(),
    "residual": float(sol.residual),
    "gap": float(sol.gap),
    "steps": int(sol.steps),
    "result": str(sol.result_names().item()),
    "convention": convention,
    "method": args.method,
    "method_ran": str(sol.method_names().item()),
    "state_residual": np.asarray(sol.state_residual).tolist(),
  }
  if args.certify:
    out["certificate"] = certificate(game, sol, convention)
  if args.json:
    print(output.dumps(out))
  else:
    for i, pol in enumerate(out["policies"]):
      print(f"Agent {i + 1}")
      for s, row in enumerate(pol):
        print(
          f"  state {s:3d}  V = {out['values'][i][s]: .8f}  pi = "
          + " ".join(f"{x:.8f}" for x in row)
        )
    print(
      f"residual {out['residual']:.3e}   gap {out['gap']:.3e}   steps {out['steps']}   "
      f"result {out['result']}   convention {convention}   "
      f"method {args.method} (ran {out['method_ran']})"
    )
    if args.certify:
      print_certificate(out["certificate"])
  ok = out["result"] == "converged" and (not args.certify or out["certificate"]["certified"])
  return 0 if ok else 1
