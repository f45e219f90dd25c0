"""Observation-conditioned policies: full observability equals the Markov solve; aliased
states satisfy stationarity of J_i, checked by finite differences of a dense NumPy J_i."""

import numpy as np

from dice_jax.markov import MarkovGame, solve_markov
from dice_jax.markov.observation import ObservationGame, solve_observation
from dice_jax.solvers import RESULT

from tests.markov.reference import dense_values, random_game_arrays


def _game(seed=90):
  p, r, gamma, tau = random_game_arrays(seed, 3, (2, 3), gamma=0.8)
  mu = np.array([0.5, 0.3, 0.2])
  return (p, r, gamma, tau, mu), MarkovGame.from_arrays(p, r, gamma, temperature=tau, initial=mu)


def test_full_observability_equals_markov_solve():
  _, game = _game()
  og = ObservationGame.create(game, [np.arange(3), np.arange(3)])
  sol = solve_observation(og, tol=1e-12)
  ref = solve_markov(game, tol=1e-12)
  assert sol.result == RESULT.CONVERGED
  for a, b in zip(sol.probabilities, ref.probabilities):
    assert np.max(np.abs(np.asarray(a) - np.asarray(b))) <= 1e-10


def test_aliased_states_are_stationary_points_of_j():
  (p, r, gamma, tau, mu), game = _game()
  obs = [np.array([0, 0, 1]), np.array([0, 1, 1])]
  og = ObservationGame.create(game, obs)
  sol = solve_observation(og, tol=1e-12)
  assert sol.result == RESULT.CONVERGED
  pol = [np.asarray(x) for x in sol.probabilities]

  def j(i, obs_pol):
    state_pol = [obs_pol[k][obs[k]] for k in range(2)]
    return mu @ dense_values(p, r, gamma, tau, state_pol)[i]

  def derivative(i, d, h):  # central difference, Richardson-extrapolated: O(h^4)
    def central(h):
      plus = [x.copy() for x in pol]
      minus = [x.copy() for x in pol]
      plus[i] += h * d
      minus[i] -= h * d
      return (j(i, plus) - j(i, minus)) / (2 * h)

    return (4 * central(h / 2) - central(h)) / 3

  worst = 0.0
  for i in range(2):
    for o in range(pol[i].shape[0]):
      n = pol[i].shape[1]
      for a in range(n):
        for b in range(a + 1, n):
          d = np.zeros_like(pol[i])
          d[o, a], d[o, b] = 1.0, -1.0  # a tangent direction of pi_i(.|o)'s simplex
          # a step relative to the smaller probability (p log p has third derivative 1/p^2)
          h = 1e-2 * min(pol[i][o, a], pol[i][o, b])
          worst = max(worst, abs(derivative(i, d, h)))
  assert worst <= 1e-7, worst
  # Aliasing matters: the policy differs from the Markov HQRE's in the aliased states.
  markov = solve_markov(game, tol=1e-12)
  assert np.max(np.abs(np.asarray(markov.probabilities[0])[0] - pol[0][0])) > 1e-3


def test_bad_observation_input():
  import pytest

  _, game = _game()
  with pytest.raises(ValueError, match="observations"):
    ObservationGame.create(game, [np.arange(3)])
  with pytest.raises(ValueError, match="observations"):
    ObservationGame.create(game, [np.array([0, 2, 2]), np.arange(3)])
  with pytest.raises(ValueError, match="observations"):
    ObservationGame.create(game, [np.array([0.0, 1.0, 1.0]), np.arange(3)])
  og = ObservationGame.create(game, [np.arange(3), np.arange(3)])
  with pytest.raises(ValueError, match="zero_sum"):
    solve_observation(og, convention="zero_sum")
