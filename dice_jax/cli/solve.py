"""dice-jax solve and dice-jax examples: the HQRE of a normal-form game.

    dice-jax solve GAME.nfg --temperature T [--method M] [--tol X] [--max-steps N] [--json]
    dice-jax solve --example NAME --temperature T ...
    dice-jax examples

T is one number or a comma-separated list with one temperature per player. With --json the
output is one JSON object with keys policies (per player, a list of probabilities), residual,
gap, steps, result ("converged" on success), plus method, temperature and players. Computation
is in float64 unless --float32 is given; numbers that are not finite are written as null.
Exit status 0 converged, 1 not converged, 2 bad input.
"""

from __future__ import annotations

from dice_jax.cli import output
from dice_jax.cli import parser as P

__all__ = ["register", "run", "load_normal_form"]


def register(subparsers) -> None:
  """Add the ``solve`` and ``examples`` commands."""
  from dice_jax.games.catalogue import EXAMPLES  # noqa: PLC0415
  from dice_jax.solvers._solve import METHODS  # noqa: PLC0415

  p = subparsers.add_parser(
    "solve",
    help="compute the HQRE (logit QRE) of a normal-form game",
    description=__doc__.split("\n\n")[0],
  )
  p.add_argument("game", nargs="?", help="a Gambit .nfg file")
  p.add_argument("--example", choices=sorted(EXAMPLES), help="a built-in game instead of a file")
  p.add_argument(
    "--temperature",
    "-t",
    type=P.temperatures,
    required=True,
    help="tau > 0: one number, or one per player separated by commas (lambda = 1/tau)",
  )
  p.add_argument("--method", "-m", choices=sorted(METHODS), default="auto")
  p.add_argument(
    "--tol", type=P.positive_number, default=None, help="fixed-point residual tolerance (> 0)"
  )
  p.add_argument(
    "--max-steps", type=P.step_count, default=None, help=f"step budget, 1 to {P.MAX_STEPS}"
  )
  p.add_argument("--float32", action="store_true", help="compute in float32 (default float64)")
  p.add_argument("--json", action="store_true", help="print one JSON object")
  subparsers.add_parser("examples", help="list the built-in example games")


def load_normal_form(args):
  """``(game, players, strategies, dtype)`` from ``args.game`` (an .nfg file) or ``args.example``.

  Enables float64 unless ``args.float32``. Raises ``ValueError`` unless exactly one is given.
  """
  import jax  # noqa: PLC0415

  if not args.float32:
    jax.config.update("jax_enable_x64", True)
  import jax.numpy as jnp  # noqa: PLC0415

  from dice_jax.games.catalogue import EXAMPLES  # noqa: PLC0415
  from dice_jax.games.nfg import read_nfg  # noqa: PLC0415

  if (args.game is None) == (args.example is None):
    raise ValueError("give exactly one of GAME.nfg or --example NAME")
  dtype = jnp.float32 if args.float32 else jnp.float64
  if args.example:
    game = EXAMPLES[args.example](dtype=dtype)
    players = [f"Player {i + 1}" for i in range(game.num_players)]
    strategies = [[str(k + 1) for k in range(n)] for n in game.num_actions]
  else:
    game, info = read_nfg(args.game, dtype=dtype, with_info=True)
    players, strategies = list(info.players), [list(s) for s in info.strategies]
  P.check_player_count(args.temperature, game.num_players)
  return game, players, strategies, dtype


def run(args) -> int:
  """Run ``solve`` or ``examples``; returns the exit status."""
  if args.command == "examples":
    from dice_jax.games.catalogue import EXAMPLES  # noqa: PLC0415

    for name, make in sorted(EXAMPLES.items()):
      print(f"{name:22s} {(make.__doc__ or '').strip().splitlines()[0]}")
    return 0
  import jax.numpy as jnp  # noqa: PLC0415
  import numpy as np  # noqa: PLC0415

  from dice_jax.solvers._solve import solve  # noqa: PLC0415

  game, players, strategies, dtype = load_normal_form(args)
  temps = args.temperature
  sol = solve(
    game, jnp.asarray(temps, dtype), method=args.method, tol=args.tol, max_steps=args.max_steps
  )
  policies = [np.asarray(p).tolist() for p in sol.probabilities]
  out = {
    "policies": policies,
    "residual": float(sol.residual),
    "gap": float(sol.gap),
    "steps": int(sol.steps),
    "result": str(sol.result_names().item()),
    "method": args.method,
    "method_ran": str(sol.method_names().item()),
    "bifurcations": int(sol.bifurcations),
    "temperature": temps,
    "players": players,
  }
  if args.json:
    print(output.dumps(out))
  else:
    for name, strats, probs in zip(players, strategies, policies):
      print(name)
      for s, p in zip(strats, probs):
        print(f"  {s:>12}  {p:.10f}")
    print(
      f"residual {out['residual']:.3e}   gap {out['gap']:.3e}   steps {out['steps']}   "
      f"result {out['result']}   method {args.method} (ran {out['method_ran']})"
    )
    if out["bifurcations"]:
      print(
        f"the principal branch passed {out['bifurcations']} bifurcation point(s): the game is "
        "degenerate there and other QRE branches meet it"
      )
  return 0 if out["result"] == "converged" else 1
