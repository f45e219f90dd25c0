"""dice-jax solve-markov: the HQRE of a Markov game read from a JSON file.

    dice-jax solve-markov GAME.json [--method M] [--convention C] [--tol X] [--max-steps N]
                          [--float32] [--json]

GAME.json is in the format of dice_jax.markov.io (size and nesting limits there). With --json
the output is one JSON object with keys policies ([N][S][n_i] probabilities), values ([N][S]
regularised values under the convention), residual, gap, steps, result ("converged" on
success), convention, method and state_residual ([S]). Exit status 0 converged, 1 otherwise,
2 bad input. float64 unless --float32.
"""
from __future__ import annotations

from dice_jax.cli import output
from dice_jax.cli import parser as P

__all__ = ["register", "run"]

METHOD_NAMES = ("extragradient", "mirror", "continuation")
CONVENTION_NAMES = ("own", "zero_sum", "logit")


def register(subparsers) -> None:
  """Add the ``solve-markov`` command."""
  p = subparsers.add_parser("solve-markov", help="compute the HQRE of a Markov game (JSON file)",
                            description=__doc__.split("\n\n")[0])
  p.add_argument("game", help="a Markov game in JSON (see dice_jax.markov.io)")
  p.add_argument("--method", "-m", choices=METHOD_NAMES, default="extragradient")
  p.add_argument("--convention", choices=CONVENTION_NAMES, default=None,
                 help="value convention (default: the file's, else 'own')")
  p.add_argument("--tol", type=P.positive_number, default=None,
                 help="fixed-point residual tolerance (> 0)")
  p.add_argument("--max-steps", type=P.step_count, default=None,
                 help=f"step budget, 1 to {P.MAX_STEPS}")
  p.add_argument("--float32", action="store_true", help="compute in float32 (default float64)")
  p.add_argument("--json", action="store_true", help="print one JSON object")


def run(args) -> int:
  """Run ``solve-markov`` for parsed ``args``; returns the exit status."""
  import jax  # noqa: PLC0415

  if not args.float32:
    jax.config.update("jax_enable_x64", True)
  import jax.numpy as jnp  # noqa: PLC0415
  import numpy as np  # noqa: PLC0415

  from dice_jax.markov.io import read_game  # noqa: PLC0415
  from dice_jax.markov.solve import solve_markov  # noqa: PLC0415

  dtype = jnp.float32 if args.float32 else jnp.float64
  game, convention = read_game(args.game, dtype=dtype)
  convention = args.convention or convention
  sol = solve_markov(game, method=args.method, convention=convention, tol=args.tol,
                     max_steps=args.max_steps)
  out = {
      "policies": [np.asarray(p).tolist() for p in sol.probabilities],
      "values": np.asarray(sol.values).tolist(),
      "residual": float(sol.residual),
      "gap": float(sol.gap),
      "steps": int(sol.steps),
      "result": str(sol.result_names().item()),
      "convention": convention,
      "method": args.method,
      "state_residual": np.asarray(sol.state_residual).tolist(),
  }
  if args.json:
    print(output.dumps(out))
  else:
    for i, pol in enumerate(out["policies"]):
      print(f"Agent {i + 1}")
      for s, row in enumerate(pol):
        print(f"  state {s:3d}  V = {out['values'][i][s]: .8f}  pi = "
              + " ".join(f"{x:.8f}" for x in row))
    print(f"residual {out['residual']:.3e}   gap {out['gap']:.3e}   steps {out['steps']}   "
          f"result {out['result']}   convention {convention}   method {args.method}")
  return 0 if out["result"] == "converged" else 1
