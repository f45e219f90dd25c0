"""Classic games with known equilibria, and the registry the CLI's ``--example`` uses."""

from __future__ import annotations

import numpy as np

from dice_jax.games.normal_form import NormalFormGame


def matching_pennies(dtype=None) -> NormalFormGame:
  """Zero-sum 2x2; the unique Nash equilibrium and every logit QRE are uniform."""
  a = np.array([[1.0, -1.0], [-1.0, 1.0]])
  return NormalFormGame.from_arrays(a, -a, dtype=dtype)


def rock_paper_scissors(dtype=None) -> NormalFormGame:
  """Zero-sum 3x3 (win 1, lose -1); every logit QRE is uniform."""
  a = np.array([[0.0, -1.0, 1.0], [1.0, 0.0, -1.0], [-1.0, 1.0, 0.0]])
  return NormalFormGame.from_arrays(a, -a, dtype=dtype)


def prisoners_dilemma(dtype=None) -> NormalFormGame:
  """Actions (cooperate, defect); payoffs R=3, S=0, T=5, P=1. Defection dominates."""
  a = np.array([[3.0, 0.0], [5.0, 1.0]])
  return NormalFormGame.from_arrays(a, a.T, dtype=dtype)


def shapley_game(dtype=None) -> NormalFormGame:
  """Shapley's (1964) 3x3 cycling game; its unique Nash equilibrium is uniform.

  Fictitious play and logit dynamics cycle around it; the game is not monotone, so at low
  temperature mirror iterations cycle too and ``continuation`` is the method that converges.
  """
  a = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
  b = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
  return NormalFormGame.from_arrays(a, b, dtype=dtype)


def coordination_game(n: int = 2, dtype=None) -> NormalFormGame:
  """Pure n x n coordination: both players get 1 when they match, 0 otherwise.

  Below its critical temperature it has several QRE (one per convention plus mixtures).
  """
  a = np.eye(n)
  return NormalFormGame.from_arrays(a, a, dtype=dtype)


#: The built-in games by the names ``dice-jax solve --example NAME`` accepts.
EXAMPLES = {
  "matching-pennies": matching_pennies,
  "rock-paper-scissors": rock_paper_scissors,
  "prisoners-dilemma": prisoners_dilemma,
  "shapley": shapley_game,
  "coordination": coordination_game,
}
