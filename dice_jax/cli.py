"""The ``dice-jax`` command line.

    dice-jax solve GAME.nfg --temperature T [--method M] [--tol X] [--max-steps N] [--json]
    dice-jax solve --example NAME --temperature T ...
    dice-jax examples
    dice-jax certify GAME.nfg --temperature T [--json]
    dice-jax solve-markov GAME.json [--method M] [--convention own|zero_sum|logit] [--json]
    dice-jax llm generate|logits --model PATH --prompt TEXT ...   (see dice_jax.llm.cli)
    dice-jax pc run CONFIG [--out DIR] [--quiet] | pc report FOLDER   (see dice_jax.pc.cli)
    dice-jax ft run CONFIG [--out DIR] | ft report DIR | ft validate CONFIG   (dice_jax.ft.cli)

``T`` is one number or a comma-separated list with one temperature per player. With ``--json``
the output is one JSON object with keys ``policies`` (per player, a list of probabilities),
``residual``, ``gap``, ``steps``, ``result`` (``"converged"`` on success), plus ``method``,
``temperature`` and ``players``. Computation is in float64 unless ``--float32`` is given.
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import List, Optional

import numpy as np


def _temperatures(text: str) -> List[float]:
  try:
    values = [float(t) for t in text.split(",") if t.strip()]
  except ValueError:
    raise argparse.ArgumentTypeError(
        f"--temperature must be a number or a comma-separated list of numbers; got {text!r}")
  if not values:
    raise argparse.ArgumentTypeError("--temperature must not be empty")
  return values


def _build_parser() -> argparse.ArgumentParser:
  from dice_jax.games.catalogue import EXAMPLES
  from dice_jax.solvers._solve import METHODS

  parser = argparse.ArgumentParser(prog="dice-jax", description=__doc__.split("\n\n")[0])
  sub = parser.add_subparsers(dest="command", required=True)
  solve = sub.add_parser("solve", help="compute the HQRE (logit QRE) of a normal-form game")
  solve.add_argument("game", nargs="?", help="a Gambit .nfg file")
  solve.add_argument("--example", choices=sorted(EXAMPLES), help="a built-in game instead of a file")
  solve.add_argument("--temperature", "-t", type=_temperatures, required=True,
                     help="tau > 0: one number, or one per player separated by commas (lambda = 1/tau)")
  solve.add_argument("--method", "-m", choices=sorted(METHODS), default="mirror")
  solve.add_argument("--tol", type=float, default=None, help="fixed-point residual tolerance")
  solve.add_argument("--max-steps", type=int, default=None)
  solve.add_argument("--float32", action="store_true", help="compute in float32 (default float64)")
  solve.add_argument("--json", action="store_true", help="print one JSON object")
  sub.add_parser("examples", help="list the built-in example games")
  from dice_jax.llm import cli as llm_cli  # imports only argparse/json/os at module level
  llm_cli.register(sub)
  from dice_jax.markov import cli as markov_cli
  markov_cli.register(sub)
  from dice_jax.certify import cli as certify_cli
  certify_cli.register(sub)
  from dice_jax.pc import cli as pc_cli
  pc_cli.register(sub)
  from dice_jax.ft import cli as ft_cli
  ft_cli.register(sub)
  return parser


def _solve(args, parser) -> int:
  import jax

  if not args.float32:
    jax.config.update("jax_enable_x64", True)
  import jax.numpy as jnp

  from dice_jax.games.catalogue import EXAMPLES
  from dice_jax.games.nfg import read_nfg
  from dice_jax.solvers._solve import solve

  if (args.game is None) == (args.example is None):
    parser.error("give exactly one of GAME.nfg or --example NAME")
  dtype = jnp.float32 if args.float32 else jnp.float64
  if args.example:
    game = EXAMPLES[args.example](dtype=dtype)
    players = [f"Player {i + 1}" for i in range(game.num_players)]
    strategies = [[str(k + 1) for k in range(n)] for n in game.num_actions]
  else:
    game, info = read_nfg(args.game, dtype=dtype, with_info=True)
    players, strategies = list(info.players), [list(s) for s in info.strategies]
  temps = args.temperature
  if len(temps) not in (1, game.num_players):
    raise ValueError(f"--temperature must give 1 or {game.num_players} values (one per player); "
                     f"got {len(temps)}.")
  sol = solve(game, jnp.asarray(temps, dtype), method=args.method, tol=args.tol,
              max_steps=args.max_steps)
  policies = [np.asarray(p).tolist() for p in sol.probabilities]
  out = {
      "policies": policies,
      "residual": float(sol.residual),
      "gap": float(sol.gap),
      "steps": int(sol.steps),
      "result": str(sol.result_names().item()),
      "method": args.method,
      "temperature": temps,
      "players": players,
  }
  if args.json:
    print(json.dumps(out))
  else:
    for name, strats, probs in zip(players, strategies, policies):
      print(name)
      for s, p in zip(strats, probs):
        print(f"  {s:>12}  {p:.10f}")
    print(f"residual {out['residual']:.3e}   gap {out['gap']:.3e}   steps {out['steps']}   "
          f"result {out['result']}   method {args.method}")
  return 0 if out["result"] == "converged" else 1


def main(argv: Optional[List[str]] = None) -> int:
  parser = _build_parser()
  args = parser.parse_args(argv)
  try:
    if args.command == "solve":
      return _solve(args, parser)
    if args.command == "certify":
      from dice_jax.certify import cli as certify_cli
      return certify_cli.run(args)
    if args.command == "solve-markov":
      from dice_jax.markov import cli as markov_cli
      return markov_cli.run(args)
    if args.command == "pc":
      from dice_jax.pc import cli as pc_cli
      return pc_cli.run(args)
    if args.command == "ft":
      from dice_jax.ft import cli as ft_cli
      return ft_cli.run(args)
    if args.command == "llm":
      from dice_jax.llm import cli as llm_cli
      return llm_cli.run(args)
    if args.command == "examples":
      from dice_jax.games.catalogue import EXAMPLES
      for name, make in sorted(EXAMPLES.items()):
        print(f"{name:22s} {(make.__doc__ or '').strip().splitlines()[0]}")
      return 0
  except ValueError as e:  # bad input: a clear message, no traceback
    print(f"dice-jax: error: {e}", file=sys.stderr)
    return 2
  return 1


if __name__ == "__main__":
  sys.exit(main())
