"""Bayesian games against the normal-form solver and Gambit on the explicit agent form."""

import itertools

import numpy as np
import pytest

import dice_jax
from dice_jax.markov.bayesian import BayesianGame, solve_bayesian
from dice_jax.solvers import RESULT
from dice_jax.testing.gambit import gambit_logit_qre


def test_one_type_per_agent_equals_normal_form():
  rng = np.random.default_rng(80)
  u = [rng.normal(size=(2, 3)) for _ in range(2)]
  tau = np.array([0.4, 0.9])
  g = BayesianGame.from_arrays(np.ones((1, 1)), [x[None, None] for x in u], temperature=tau)
  sol = solve_bayesian(g, tol=1e-13)
  ref = dice_jax.solve(dice_jax.NormalFormGame.from_arrays(*u), tau, tol=1e-13)
  assert sol.result == RESULT.CONVERGED
  for a, b in zip(sol.probabilities, ref.probabilities):
    assert np.max(np.abs(np.asarray(a)[0] - np.asarray(b))) <= 1e-10


def agent_form(prior, payoffs, temperature):
  """The agent-form normal-form game: player (i, theta_i) with payoff rescaled by
  1 / (p(theta_i) tau_i(theta_i)), so its logit QRE at lambda = 1 is the HQRE."""
  types = prior.shape
  n = len(types)
  actions = payoffs[0].shape[n:]
  players = [(i, t) for i in range(n) for t in range(types[i])]
  shape = tuple(actions[i] for i, _ in players)
  out = []
  for i, ti in players:
    u = np.zeros(shape)
    marginal = prior.sum(axis=tuple(j for j in range(n) if j != i))[ti]
    for prof in itertools.product(*[range(k) for k in shape]):
      act = dict(zip(players, prof))
      total = 0.0
      for theta in itertools.product(*[range(k) for k in types]):
        if theta[i] != ti:
          continue
        a = tuple(act[(j, theta[j])] for j in range(n))
        total += prior[theta] * payoffs[i][theta + a]
      u[prof] = total / (marginal * temperature[i][ti])
    out.append(u)
  return players, dice_jax.NormalFormGame.from_arrays(*out)


def test_two_types_equal_gambit_on_the_agent_form():
  rng = np.random.default_rng(81)
  prior = rng.random((2, 2))
  prior /= prior.sum()
  payoffs = [rng.normal(size=(2, 2, 2, 3)) for _ in range(2)]
  temperature = [np.array([0.5, 1.5]), np.array([0.8, 0.3])]
  g = BayesianGame.from_arrays(prior, payoffs, temperature=temperature)
  sol = solve_bayesian(g, tol=1e-13)
  assert sol.result == RESULT.CONVERGED
  players, af = agent_form(prior, payoffs, temperature)
  ref = gambit_logit_qre(af, 1.0)
  for k, (i, t) in enumerate(players):
    assert np.max(np.abs(np.asarray(sol.probabilities[i])[t] - ref[k])) <= 1e-8
  # Types matter: the two types of agent 0 play differently.
  assert np.max(np.abs(np.diff(np.asarray(sol.probabilities[0]), axis=0))) > 1e-2
  assert np.all(np.asarray(sol.agent_gaps) >= -1e-15)


@pytest.mark.parametrize(
  "kw,name",
  [
    (dict(prior=np.array([[0.5, 0.6], [0.0, 0.0]])), "prior"),
    (dict(prior=np.array([[0.5, 0.5], [0.0, 0.0]])), "prior"),
    (dict(temperature=[np.array([1.0, -1.0]), np.array([1.0, 1.0])]), "temperature"),
    (dict(payoffs=[np.zeros((2, 2, 2, 2)), np.zeros((2, 2, 2))]), "payoffs"),
    # A length-1 "distribution" sums to 1; it used to broadcast over the actions.
    (dict(reference=[[1.0], [1.0]]), r"reference\[0\] must be a distribution over 2"),
    (dict(temperature=[[1.0, 1.0], [1.0, 1.0, 1.0]]), r"temperature\[1\]"),
  ],
)
def test_bad_input(kw, name):
  args = dict(prior=np.full((2, 2), 0.25), payoffs=[np.zeros((2, 2, 2, 2))] * 2, temperature=1.0)
  args.update(kw)
  with pytest.raises(ValueError, match=name):
    BayesianGame.from_arrays(args.pop("prior"), args.pop("payoffs"), **args)


def test_agents_with_different_numbers_of_types():
  """Per-agent temperature arrays of different lengths (2 and 3 types) are one array per
  agent, not a ragged array (NumPy's 'inhomogeneous shape' error before)."""
  rng = np.random.default_rng(3)
  prior = rng.random((2, 3))
  prior /= prior.sum()
  payoffs = [rng.normal(size=(2, 3, 2, 2)) for _ in range(2)]
  temps = [np.array([0.5, 0.8]), np.array([0.6, 0.7, 0.9])]
  game = BayesianGame.from_arrays(prior, payoffs, temperature=temps)
  assert [t.shape for t in game.temperature] == [(2,), (3,)]
  for got, want in zip(game.temperature, temps):
    np.testing.assert_allclose(np.asarray(got), want)
