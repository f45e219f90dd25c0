"""Metrics against closed forms and brute force: equilibrium regret, hindsight regret,
importance-weighted utilities, slope ratio."""

import itertools

import numpy as np
import pytest

import dice_jax as dj
from dice_jax.pc.metrics import measures as M
from dice_jax.pc import payoffs
from dice_jax.pc.environments.synthetic import drift_suite, oscillation_suite


def _true_game(env, t=0):
  return dj.NormalFormGame.from_arrays(list(payoffs(env.spec, *env.true_payoffs(t))))


def test_equilibrium_regret_is_zero_at_the_true_hqre_and_positive_elsewhere():
  env = drift_suite()
  game = _true_game(env, 37)
  tau = np.array([[0.7, 0.9], [0.8, 0.75]])
  ref = [np.array([0.5, 0.3, 0.2]), np.array([[0.2, 0.3, 0.5], [0.4, 0.4, 0.2]])]
  sol = dj.solve(game, tau, reference=ref, tol=1e-12)
  x = [np.asarray(p) for p in sol.probabilities]
  at = M.equilibrium_regret(game, x, tau, ref)
  assert at.shape == (2,) and np.all(np.abs(at) < 1e-12)
  rng = np.random.default_rng(0)
  for _ in range(5):
    y = [rng.dirichlet(np.ones(3), 2) for _ in range(2)]
    assert np.all(M.equilibrium_regret(game, y, tau, ref) > 1e-6)
  pure = [np.eye(3)[[0, 1]], np.eye(3)[[0, 2]]]  # zero entries: 0 log 0 = 0
  gaps = M.equilibrium_regret(game, pure, tau, ref)
  assert np.all(np.isfinite(gaps)) and np.all(gaps > 0.05)
  # the regret is the regularised best-response gain, summed over roles (Gibbs variational
  # principle): check it against a direct evaluation for role 0 of state 0
  v = np.asarray(game.utilities(tuple(np.asarray(p) for p in y))[0])[0]

  def reg(p):
    return p @ v - tau[0, 0] * np.sum(p * np.log(p / ref[0]))

  b = ref[0] * np.exp(v / tau[0, 0])
  b /= b.sum()
  g0 = M.equilibrium_gaps(game, y, tau, [np.broadcast_to(ref[0], (2, 3)), ref[1]])[0, 0]
  assert g0 == pytest.approx(reg(b) - reg(y[0][0]), abs=1e-12)


def test_hindsight_regret_matches_brute_force():
  env = drift_suite(period=7.0)
  rng = np.random.default_rng(2)
  t_count = 9
  team = np.stack([M.team_payoffs(env.spec, *env.true_payoffs(t)) for t in range(t_count)])
  profiles = [rng.dirichlet(np.ones(3), (t_count, 2)) for _ in range(2)]
  fast = M.hindsight_regret(team, profiles)
  tracker = M.HindsightTracker()
  online = np.stack([tracker.add(team[t], [p[t] for p in profiles]) for t in range(t_count)])
  brute = np.zeros((t_count, 2))
  for s in range(2):
    for t in range(t_count):
      earned = sum(
        profiles[0][k, s, a] * profiles[1][k, s, b] * team[k, s, a, b]
        for k in range(t + 1)
        for a, b in itertools.product(range(3), repeat=2)
      )
      best = max(
        sum(team[k, s, a, b] for k in range(t + 1))
        for a, b in itertools.product(range(3), repeat=2)
      )
      brute[t, s] = best - earned
  np.testing.assert_allclose(fast, brute, atol=1e-12)
  np.testing.assert_allclose(online, brute, atol=1e-12)
  static = M.hindsight_regret(team[0], [p[:3] for p in profiles])
  np.testing.assert_allclose(static, M.hindsight_regret(team[[0, 0, 0]], [p[:3] for p in profiles]))


def test_importance_weighted_utilities_are_unbiased_at_behaviour_and_target():
  env = oscillation_suite(seed=3)
  success, tokens = env.true_payoffs(0)
  u = payoffs(env.spec, success, tokens)
  rng = np.random.default_rng(3)
  x = [rng.dirichlet(np.ones(3) * 3, 2) for _ in range(2)]
  z = [rng.dirichlet(np.ones(3) * 3, 2) for _ in range(2)]
  b = 200_000
  states = rng.integers(0, 2, b)
  from dice_jax.pc.policies.policies import sample_actions

  actions = sample_actions(x, states, rng)
  correct = (rng.random(b) < success[states, actions[:, 0], actions[:, 1]]).astype(float)
  tok = rng.poisson(tokens[states, actions[:, 0], actions[:, 1]])
  rewards = payoffs(env.spec, correct, tok).T
  failed = rng.random(b) < 0.1
  for target in (x, z):
    rows, counts = M.importance_weighted_utilities(states, actions, rewards, failed, x, target)
    assert counts.sum() == (~failed).sum()
    game = dj.NormalFormGame.from_arrays(list(u))
    exact = [np.asarray(v) for v in game.utilities(tuple(target))]
    for i in range(2):
      est = rows[i].mean(1)
      se = rows[i].std(1) / np.sqrt(b)
      assert np.all(np.abs(est - exact[i]) < 5 * se + 1e-12), (est, exact[i])


def test_slope_ratio_linear_vs_flattening():
  assert M.slope_ratio(np.ones(400)) == pytest.approx(1.0)
  assert M.slope_ratio(1.0 / np.arange(1, 401)) < 0.1


def test_oscillation_index_reuses_the_certify_diagnostic():
  traj = [
    np.array([[[1.0, 0, 0]], [[0, 1.0, 0]], [[1.0, 0, 0]]]),
    np.array([[[0, 1.0, 0]], [[1.0, 0, 0]], [[0, 1.0, 0]]]),
  ]  # [T=3, S=1, 3]
  assert M.oscillation_index(traj) == pytest.approx([4.0])
  osc, dr = M.step_metrics([t[1] for t in traj], [t[2] for t in traj], [t[0] for t in traj])
  assert osc == pytest.approx([4.0]) and dr == pytest.approx([0.0])


def test_equilibrium_regret_rejects_bad_input():
  game = _true_game(oscillation_suite())
  x = [np.full(3, 1 / 3)] * 2
  with pytest.raises(ValueError, match="temperature"):
    M.equilibrium_regret(game, x, 0.0)
  with pytest.raises(ValueError, match="reference"):
    M.equilibrium_regret(game, x, 1.0, [np.full(3, 1 / 3)])
  with pytest.raises(ValueError, match=r"reference\[1\]"):
    M.equilibrium_regret(game, x, 1.0, [np.full(3, 1 / 3), np.array([0.5, 0.6, -0.1])])
  with pytest.raises(ValueError, match=r"profile\[0\]"):
    M.equilibrium_regret(game, [np.full(2, 0.5), x[1]], 1.0)
