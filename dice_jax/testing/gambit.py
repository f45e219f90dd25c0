"""Bridges to Gambit (``pygambit``), the independent reference for logit QRE.

pygambit is a test/benchmark dependency (``pip install dice_jax[test]``); it is imported
lazily so the package itself never needs it.
"""

from __future__ import annotations

from typing import List, Sequence

import numpy as np

from dice_jax.games.normal_form import NormalFormGame


def to_gambit(game: NormalFormGame):
  """The ``pygambit.Game`` with the same payoff tensors (one unbatched game)."""
  import pygambit  # noqa: PLC0415 - optional dependency

  if game.batch_shape:
    raise ValueError(f"game must be a single game; it has batch shape {game.batch_shape}.")
  return pygambit.Game.from_arrays(*[np.asarray(u, dtype=np.float64) for u in game.payoffs])


def gambit_logit_qre(game: NormalFormGame, lam: float) -> List[np.ndarray]:
  """Gambit's logit QRE at precision ``lam`` (the principal branch, traced from 0).

  ``pygambit.qre.logit_solve_lambda`` (Turocy, "A dynamic homotopy interpretation of the
  logistic quantal response equilibrium correspondence", GEB 2005). Equals
  ``dice_jax.solve(game, 1 / lam, method="continuation")`` with uniform references.
  """
  import pygambit  # noqa: PLC0415

  g = game if isinstance(game, pygambit.Game) else to_gambit(game)
  profile = pygambit.qre.logit_solve_lambda(g, [float(lam)])[0]
  return [np.array([float(profile.profile[s]) for s in player.strategies]) for player in g.players]


def gambit_logit_qre_path(game: NormalFormGame, lams: Sequence[float]) -> List[List[np.ndarray]]:
  """Gambit's logit QRE at several precisions in one path trace."""
  import pygambit  # noqa: PLC0415

  g = to_gambit(game)
  out = []
  for profile in pygambit.qre.logit_solve_lambda(g, [float(l) for l in lams]):
    out.append([np.array([float(profile.profile[s]) for s in p.strategies]) for p in g.players])
  return out


def gambit_payoffs(g) -> List[np.ndarray]:
  """The payoff tensors of a strategic ``pygambit.Game``, each exact payoff (Gambit keeps
  rationals and decimals) rounded once to float64.

  A profile whose outcome is Gambit's null outcome (index 0 in an ``.nfg`` outcome list) pays 0
  to every player; pygambit gives ``None`` for that outcome, which ``Game.to_arrays`` cannot
  convert, so the tensors are read profile by profile here.
  """
  import itertools  # noqa: PLC0415
  from fractions import Fraction  # noqa: PLC0415

  shape = tuple(len(p.strategies) for p in g.players)
  out = [np.zeros(shape) for _ in g.players]
  for prof in itertools.product(*map(range, shape)):
    outcome = g[prof]
    for i, p in enumerate(g.players):
      out[i][prof] = 0.0 if outcome is None else float(Fraction(outcome[p]))
  return out
