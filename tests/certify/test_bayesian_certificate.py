"""Certificates for Bayesian games through the agent form (issue 16, item 3): the agent form's
utilities are the Bayesian game's interim utilities, and the error bound holds at perturbed
strategies against a tight solve of the Bayesian game itself."""

import jax
import numpy as np
import pytest

import dice_jax as dj
from dice_jax.certify import REASON, agent_form, certify, certify_bayesian
from dice_jax.certify.bayesian import from_agent_form, to_agent_form
from dice_jax.markov import BayesianGame, solve_bayesian
from dice_jax.solvers import Mirror

TYPES, ACTIONS = (2, 2), (2, 3)  # unequal type counts: see the report (from_arrays)


def _game(seed, tau_scale):
  rng = np.random.default_rng(seed)
  prior = rng.random(TYPES) + 0.05
  prior /= prior.sum()
  payoffs = [rng.uniform(-1, 1, (*TYPES, *ACTIONS)) for _ in range(2)]
  temps = [tau_scale * rng.uniform(0.5, 1.5, t) for t in TYPES]
  refs = [rng.uniform(0.2, 1.0, (t, k)) for t, k in zip(TYPES, ACTIONS)]
  refs = [r / r.sum(-1, keepdims=True) for r in refs]
  return BayesianGame.from_arrays(prior, payoffs, temperature=temps, reference=refs)


def _random_strategies(rng):
  out = [rng.random((t, k)) + 0.01 for t, k in zip(TYPES, ACTIONS)]
  return [x / x.sum(-1, keepdims=True) for x in out]


def test_agent_form_utilities_are_the_interim_utilities():
  game = _game(0, 1.0)
  af, temps, log_refs = agent_form(game)
  x = _random_strategies(np.random.default_rng(0))
  v_af = af.utilities(tuple(jax.numpy.asarray(r) for r in to_agent_form(game, x)))
  v = game.utilities(tuple(jax.numpy.asarray(r) for r in x))
  for a, b in zip(from_agent_form(game, v_af), v):
    np.testing.assert_allclose(a, b, atol=1e-13)
  np.testing.assert_array_equal(temps, np.concatenate([np.asarray(t) for t in game.temperature]))
  assert af.num_players == sum(TYPES)


@pytest.mark.parametrize("seed", range(6))
def test_error_bound_is_sound_at_perturbed_strategies(seed):
  game = _game(seed, [0.2, 0.5, 1.0, 2.0, 5.0, 10.0][seed])
  star = solve_bayesian(game, tol=1e-13, max_steps=200_000)
  assert bool(star.converged)
  c_star = certify(game, star)
  rng = np.random.default_rng(seed)
  verdicts = set()
  for t in (1.0, 0.1, 1e-3):
    noise = _random_strategies(rng)
    x = [(1 - t) * np.asarray(s) + t * y for s, y in zip(star.probabilities, noise)]
    c = certify(game, x)
    verdicts.add(bool(c.certified))
    if c.certified:
      d = np.sqrt(sum(np.sum((a - np.asarray(b)) ** 2) for a, b in zip(x, star.probabilities)))
      assert d <= float(c.error_bound) + float(c_star.error_bound)
      assert float(c.predicted_rate) < 1
    else:
      assert np.isinf(float(c.error_bound))
      assert int(c.reason_code) in (REASON.REFUTED, REASON.MARGIN_NOT_POSITIVE)
  assert [e.shape for e in c.evidence] == [(t, k) for t, k in zip(TYPES, ACTIONS)]


def test_high_temperature_certified_low_refuted_and_rate_at_its_step():
  hot = _game(1, 20.0)
  c = certify_bayesian(hot, solve_bayesian(hot))
  assert bool(c.certified) and float(c.predicted_rate) < 1
  # the predicted KL factor holds for Mirror on the agent form at the certificate's steps
  af, temps, log_refs = agent_form(hot)
  sol = dj.solve(
    af,
    temps,
    method=Mirror(step_size=np.asarray(c.step_sizes), adaptive=False),
    reference=tuple(np.exp(l) for l in log_refs),
    history=True,
    tol=1e-12,
  )
  obs = float(dj.certify.observed_rate(sol.history))
  assert obs <= float(c.predicted_rate) + 1e-9
  cold = _game(1, 0.01)
  cc = certify(cold, [np.full((t, k), 1 / k) for t, k in zip(TYPES, ACTIONS)])
  assert not bool(cc.certified)


def test_bad_input_names_the_argument():
  game = _game(0, 1.0)
  with pytest.raises(ValueError, match=r"solution\[1\]"):
    certify(game, [np.full((2, 2), 0.5), np.full((3, 2), 0.5)])
  with pytest.raises(ValueError, match="temperature"):
    certify(game, 1.0, [np.full((2, 2), 0.5), np.full((3, 3), 1 / 3)])
  with pytest.raises(ValueError, match="game"):
    certify_bayesian(object(), [])
