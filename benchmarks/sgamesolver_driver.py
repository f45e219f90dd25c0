"""sgamesolver's side of :mod:`benchmarks.sgamesolver_peer`: run in sgamesolver's own virtualenv.

Imports only NumPy and sgamesolver 1.0.2 (which needs NumPy < 2), never dice_jax.

    <venv>/bin/python benchmarks/sgamesolver_driver.py GAMES.npz OUT.json [--tol T]

``GAMES.npz`` holds ``transitions`` ``(G, S, n_1, n_2, S)``, ``rewards`` ``(G, 2, S, n_1,
n_2)``, ``gamma`` ``(G,)`` and ``lam`` ``(G,)``. Each game becomes an ``sgamesolver.SGame``
(``payoff_matrices[s][p, a_1, a_2]``, ``transition_matrices[s][a_1, a_2, s']``, common
discount factor) and is solved by ``sgamesolver.homotopy.QRE`` with
``solver_setup(target_lambda=lam)``: the homotopy stops once ``|t - lam| < convergence_tol``
(``sgamesolver/homcont.py``, ``HomContSolver.check_convergence``). ``--tol`` sets both
``convergence_tol`` and ``corrector_tol`` (defaults 1e-7 in ``QRE_base.default_parameters``).
Game 0 is solved once untimed first (imports, caches); then every game is timed from building
the ``SGame`` to the end of ``solve()``. ``OUT.json`` holds per game the strategies
``[S][2][n_max]`` (padded with null), the values ``[S][2]``, the homotopy parameter reached,
success, steps, failure reason and seconds.
"""

import argparse
import json
import time
from importlib.metadata import version

import numpy as np


def sgame_arguments(transitions, rewards):
  """``SGame``'s ``payoff_matrices[s][p, a_1, a_2]`` and ``transition_matrices[s][a_1, a_2, s']``
  from one game's ``transitions`` ``(S, n_1, n_2, S)`` and ``rewards`` ``(2, S, n_1, n_2)``."""
  num_states = transitions.shape[0]
  return [rewards[:, s] for s in range(num_states)], [transitions[s] for s in range(num_states)]


def solve_one(transitions, rewards, gamma, lam, tol):
  import sgamesolver

  game = sgamesolver.SGame(*sgame_arguments(transitions, rewards), float(gamma))
  homotopy = sgamesolver.homotopy.QRE(game)
  homotopy.solver_setup(target_lambda=float(lam))
  homotopy.solver.verbose = 0
  homotopy.solver.set_parameters(convergence_tol=tol, corrector_tol=tol)
  result = homotopy.solver.start()
  return homotopy, result


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("games")
  parser.add_argument("out")
  parser.add_argument("--tol", type=float, default=1e-10)
  args = parser.parse_args()
  data = np.load(args.games)
  transitions, rewards, gamma, lam = (data[k] for k in ("transitions", "rewards", "gamma", "lam"))
  solve_one(transitions[0], rewards[0], gamma[0], lam[0], args.tol)  # warm-up, untimed
  games = []
  for g in range(len(lam)):
    t0 = time.perf_counter()
    homotopy, result = solve_one(transitions[g], rewards[g], gamma[g], lam[g], args.tol)
    seconds = time.perf_counter() - t0
    eq = homotopy.equilibrium
    games.append(
      {
        "success": bool(result["success"]),
        "failure_reason": result["failure reason"],
        "steps": int(result["steps"]),
        "t_reached": float(result["y"][-1]),
        "seconds": seconds,
        "strategies": None
        if eq is None
        else np.where(np.isnan(eq.strategies), None, eq.strategies).tolist(),
        "values": None if eq is None else np.asarray(eq.values).tolist(),
      }
    )
  with open(args.out, "w") as f:
    json.dump(
      {
        "sgamesolver": version("sgamesolver"),
        "numpy": np.__version__,
        "tol": args.tol,
        "games": games,
      },
      f,
    )


if __name__ == "__main__":
  main()
