"""Synthetic suites: the protocol, payoffs as documented, noise as declared, the levers' closed
forms (uniform-reference HQRE is the uniform mixture; the reference shifts it)."""

import numpy as np
import pytest

import dice_jax as dj
from dice_jax.certify import alpha_two_player
from dice_jax.pc import Environment, payoffs
from dice_jax.pc.metrics import measures as M
from dice_jax.pc.environments.synthetic import drift_suite, oscillation_suite


def _game(env, t=0):
  return dj.NormalFormGame.from_arrays(list(payoffs(env.spec, *env.true_payoffs(t))))


def test_suites_implement_the_environment_protocol():
  for env in (oscillation_suite(), drift_suite()):
    assert isinstance(env, Environment)
    s, k = env.true_payoffs(5)
    assert s.shape == (2, 3, 3) and k.shape == (2, 3, 3, 2)
    tasks = env.tasks(np.random.default_rng(0), 7, round=5)
    assert len(tasks) == 7 and all(t.state in (0, 1) for t in tasks)


def test_play_matches_the_true_success_and_tokens():
  env = oscillation_suite(seed=4)
  rng = np.random.default_rng(4)
  tasks = env.tasks(rng, 60_000, round=0)
  states = np.array([t.state for t in tasks])
  actions = rng.integers(0, 3, (60_000, 2))
  out = env.play(tasks, actions, round=0)
  success, tokens = env.true_payoffs(0)
  for s in range(2):
    on = (states == s) & (actions[:, 0] == actions[:, 1])
    off = (states == s) & (actions[:, 0] != actions[:, 1])
    assert out.correct[on].mean() == pytest.approx(0.8, abs=0.015)
    assert out.correct[off].mean() == pytest.approx((0.3, 0.2)[s], abs=0.015)
    assert out.tokens[on].mean() == pytest.approx(100, abs=1)
    assert out.tokens[off].mean() == pytest.approx(150, abs=1)
  # common random numbers: the same round and actions give the same outcome
  again = env.play(tasks, actions, round=0)
  assert np.array_equal(again.correct, out.correct)


def test_failure_rate_marks_rows_failed_and_zeroes_them():
  env = oscillation_suite(failure_rate=0.3)
  tasks = env.tasks(np.random.default_rng(0), 2000, round=1)
  out = env.play(tasks, np.zeros((2000, 2), int), round=1)
  assert 0.25 < out.failed.mean() < 0.35
  assert np.all(out.correct[out.failed] == 0) and np.all(out.tokens[out.failed] == 0)


def test_oscillation_suite_alpha_and_uniform_reference_hqre_are_as_documented():
  env = oscillation_suite()
  game = _game(env)
  np.testing.assert_allclose(np.asarray(alpha_two_player(game)), [0.51, 0.61], atol=1e-9)
  sol = dj.solve(game, 0.7)
  for p in sol.probabilities:
    np.testing.assert_allclose(np.asarray(p), 1 / 3, atol=1e-9)  # mixture: miscoordinated
  cert = dj.certify.certify(game, 0.7, sol)
  assert np.all(np.asarray(cert.certified))  # ... but unique and stable


def test_reference_lever_shifts_the_hqre_toward_its_convention():
  env = oscillation_suite()
  game = _game(env)
  team = M.team_payoffs(env.spec, *env.true_payoffs(0))
  uni = [np.asarray(p) for p in dj.solve(game, 0.7).probabilities]
  ref = [np.array([0.6, 0.2, 0.2])] * 2
  led = [np.asarray(p) for p in dj.solve(game, 0.7, reference=ref).probabilities]
  assert np.all(led[0][:, 0] > 0.65) and np.all(led[1][:, 0] > 0.65)  # from 1/3
  # the tilt is larger than the reference's own: the game amplifies it (0.6 -> ~0.7)
  assert np.all(led[0][:, 0] > 0.6)
  gain = M.expected_team_payoff(team, led) - M.expected_team_payoff(team, uni)
  assert np.all(gain > 0.05)


def test_drift_suite_best_convention_rotates():
  env = drift_suite(period=300.0)
  best = [np.argmax(np.diagonal(env.true_payoffs(t)[0][0])) for t in range(0, 300, 25)]
  assert len(set(best)) == 3


def test_best_of_n_majority_improves_with_n_and_costs_n_samples():
  env = oscillation_suite(seed=5)
  tasks = env.tasks(np.random.default_rng(5), 20_000, round=0)
  one, nine = env.best_of_n(tasks, 1, round=0), env.best_of_n(tasks, 9, round=0)
  assert nine.correct.mean() > one.correct.mean() + 0.1
  assert nine.tokens[:, 0].mean() == pytest.approx(9 * 120, rel=0.02)
  assert np.all(nine.tokens[:, 1] == 0)
  with pytest.raises(ValueError, match="n must"):
    env.best_of_n(tasks, 0, round=0)
