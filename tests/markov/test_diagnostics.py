"""Stage-game monotonicity diagnostic against a NumPy SVD of the projected stage payoffs."""

import numpy as np
import pytest

from dice_jax.markov import MarkovGame, solve_markov
from dice_jax.markov.diagnostics import stage_monotonicity

from tests.markov.reference import dense_values, random_game_arrays

pytestmark = pytest.mark.slow  # the slow tier (pyproject.toml): run with -m slow


def _projector(n):
  return np.eye(n) - np.ones((n, n)) / n


def test_stage_alpha_matches_numpy_and_zero_sum_is_zero():
  p, r, gamma, tau = random_game_arrays(10, 3, (2, 3))
  game = MarkovGame.from_arrays(p, r, gamma, temperature=tau)
  sol = solve_markov(game, tol=1e-11)
  d = stage_monotonicity(game, sol.logits)
  pol = [np.asarray(x) for x in sol.probabilities]
  v = dense_values(p, r, gamma, tau, pol)
  for s in range(3):
    a = r[0][s] + gamma * p[s] @ v[0]
    b = r[1][s] + gamma * p[s] @ v[1]
    m = _projector(2) @ (a + b) @ _projector(3)
    alpha = np.linalg.svd(m, compute_uv=False)[0] / 2
    np.testing.assert_allclose(d.alpha[s], alpha, atol=1e-10)
    mw = _projector(2) @ (a / tau[0, s] + b / tau[1, s]) @ _projector(3)
    np.testing.assert_allclose(
      d.weighted_margin[s], 1 - np.linalg.svd(mw, compute_uv=False)[0] / 2, atol=1e-10
    )
    np.testing.assert_allclose(d.margin[s], tau[:, s].min() - alpha, atol=1e-10)
  assert not d.certified and np.all(d.alpha > 1e-3)
  zs = MarkovGame.from_arrays(p, [r[0], -r[0]], gamma, temperature=tau)
  dz = stage_monotonicity(zs, sol.logits, "zero_sum")
  assert dz.certified and np.max(np.abs(dz.alpha)) <= 1e-12 and np.all(dz.monotone)
