"""Markov HQRE solvers against independent references (normal-form solver, dense NumPy,
entropy-regularised Shapley value iteration)."""

import math

import numpy as np
import pytest

import dice_jax
from dice_jax.markov import MarkovGame, MarkovSolution, solve_markov
from dice_jax.solvers._solve import solve_games_jit as _solve_jit
from dice_jax.solvers import RESULT, Solution

from tests.fresh_process import output_within
from tests.markov.reference import hqre_violation, random_game_arrays


def _batch(arrays):
  """One batched MarkovGame from a list of (p, r, gamma, tau)."""
  n = len(arrays[0][1])
  return MarkovGame.from_arrays(
    np.stack([a[0] for a in arrays]),
    [np.stack([a[1][i] for a in arrays]) for i in range(n)],
    [a[2] for a in arrays],
    temperature=np.stack([a[3] for a in arrays]),
  )


@pytest.mark.slow
def test_one_state_gamma_zero_equals_normal_form_hqre():
  # Acceptance: one state, gamma = 0 -> the normal-form HQRE of the stage payoffs (<= 1e-10).
  games = [random_game_arrays(s, 1, (2, 3), gamma=0.0) for s in range(4)]
  sol = solve_markov(_batch(games), tol=1e-13)
  assert np.all(sol.result == RESULT.CONVERGED)
  nf = dice_jax.NormalFormGame.from_arrays(
    [np.stack([g[1][i][0] for g in games]) for i in range(2)]
  )
  tau = np.stack([g[3][:, 0] for g in games])
  ref = dice_jax.solve(nf, tau, tol=1e-13)
  for i in range(2):
    err = np.max(np.abs(np.asarray(sol.probabilities[i])[:, 0] - np.asarray(ref.probabilities[i])))
    assert err <= 1e-10, err


def test_general_sum_fixed_point_with_dense_numpy_q():
  games = [random_game_arrays(s, 3, (2, 3)) for s in range(10, 13)]
  sol = solve_markov(_batch(games), tol=1e-11)
  assert isinstance(sol, Solution) and isinstance(sol, MarkovSolution)
  assert sol.convention == "own"
  np.testing.assert_allclose(np.max(sol.state_residual, -1), sol.residual, atol=1e-15)
  assert np.all(sol.state_gaps >= -1e-14) and np.all(sol.gap <= 1e-10)
  for b, (p, r, gamma, tau) in enumerate(games):
    assert sol.result[b] == RESULT.CONVERGED
    pol = [np.asarray(x[b]) for x in sol.probabilities]
    assert hqre_violation(p, r, gamma, tau, pol) <= 1e-8
    # and the profile is not trivially uniform
    assert np.max(np.abs(pol[1] - 1 / 3)) > 1e-2


@pytest.mark.slow
def test_three_agents_fixed_point():
  games = [random_game_arrays(s, 2, (2, 2, 2), gamma=0.8) for s in range(20, 22)]
  sol = solve_markov(_batch(games), tol=1e-11)
  for b, (p, r, gamma, tau) in enumerate(games):
    pol = [np.asarray(x[b]) for x in sol.probabilities]
    assert sol.result[b] == RESULT.CONVERGED
    assert hqre_violation(p, r, gamma, tau, pol) <= 1e-8


def shapley_reference(p, r, gamma, tau, iterations):
  """Entropy-regularised Shapley value iteration; stage games solved by dice_jax.solve.

  V <- val_tau[R(s) + gamma P(s) V], where val_tau of the matrix game G with temperatures
  (tau_1, tau_2) is x^T G y - tau_1 KL(x||u) + tau_2 KL(y||u) at its (unique) regularised
  equilibrium. A gamma-contraction, so ``iterations`` steps leave error ~ gamma**iterations.
  """
  num_states = p.shape[0]
  v = np.zeros(num_states)
  for _ in range(iterations):
    g = r[0] + gamma * p @ v
    nf = dice_jax.NormalFormGame.from_arrays(g, -g)
    sol = dice_jax.solve(nf, tau.T, method="extragradient", tol=1e-14, max_steps=100_000)
    x, y = [np.asarray(q) for q in sol.probabilities]
    kl = lambda z: np.sum(z * np.log(z * z.shape[-1]), -1)
    v = np.einsum("sa,sab,sb->s", x, g, y) - tau[0] * kl(x) + tau[1] * kl(y)
  return x, y, v


def test_zero_sum_equals_regularised_shapley_iteration_and_rate_is_linear():
  gamma = 0.8
  games = [random_game_arrays(s, 3, (2, 3), gamma=gamma, zero_sum=True) for s in range(30, 33)]
  sol = solve_markov(_batch(games), convention="zero_sum", method="extragradient", tol=1e-12)
  # Linear rate: the steps to reach 1e-6 and 1e-12 (same compiled program) give the observed
  # contraction factor per step, (1e-6) ** (1 / (extra steps)).
  early = solve_markov(_batch(games), convention="zero_sum", method="extragradient", tol=1e-6)
  for b, (p, r, g, tau) in enumerate(games):
    assert sol.result[b] == RESULT.CONVERGED
    x, y, v = shapley_reference(p, r, gamma, tau, iterations=int(math.log(1e-13) / math.log(gamma)))
    np.testing.assert_allclose(sol.probabilities[0][b], x, atol=1e-8, rtol=0)
    np.testing.assert_allclose(sol.probabilities[1][b], y, atol=1e-8, rtol=0)
    np.testing.assert_allclose(sol.values[b, 0], v, atol=1e-8, rtol=0)
    np.testing.assert_allclose(sol.values[b, 1], -v, atol=1e-8, rtol=0)
    extra = int(sol.steps[b]) - int(early.steps[b])
    rate = 1e-6 ** (1 / extra)
    print(f"zero-sum extragradient: {int(sol.steps[b])} steps, observed rate {rate:.3f}")
    assert rate < 0.9 and int(sol.steps[b]) < 300


def test_state_temperature_changes_that_state_and_its_predecessors_only():
  # State 0: agent 0's action decides the next state (1 or 2); 1 and 2 are absorbing.
  rng = np.random.default_rng(40)
  p = np.zeros((3, 2, 3, 3))
  p[0, 0, :, 1] = 1
  p[0, 1, :, 2] = 1
  p[1, ..., 1] = 1
  p[2, ..., 2] = 1
  r = [rng.normal(size=(3, 2, 3)) for _ in range(2)]
  tau = np.full((2, 3), 0.5)
  tau2 = tau.copy()
  tau2[:, 1] = 2.0  # change only state 1
  gamma = 0.9
  # (the third game only keeps the batch shape shared with the other tests: one compilation)
  sol = solve_markov(
    _batch([(p, r, gamma, tau), (p, r, gamma, tau2), (p, r, gamma, tau)]), tol=1e-11
  )
  x = [np.asarray(q) for q in sol.probabilities]
  for b, t in enumerate((tau, tau2)):
    assert hqre_violation(p, r, gamma, t, [x[0][b], x[1][b]]) <= 1e-8
  change = [np.max(np.abs(q[0] - q[1]), axis=-1) for q in x]  # per agent and state
  assert change[0][1] > 1e-3 and change[1][1] > 1e-3  # the state itself
  assert change[0][0] > 1e-3  # its predecessor, through V(1)
  assert change[0][2] <= 1e-10 and change[1][2] <= 1e-10  # unreachable from state 1: unchanged


@pytest.mark.slow
def test_methods_agree_and_bad_game_does_not_spoil_batch():
  games = [random_game_arrays(s, 3, (2, 3)) for s in range(10, 13)]
  p, r, g, tau = games[1]
  games[1] = (p, [r[0] * 1e300, r[1]], g, tau * 1e-10)  # Q / tau overflows: inf / NaN
  batch = _batch(games)
  a = solve_markov(batch, method="mirror", tol=1e-11)
  assert a.result.tolist() == [RESULT.CONVERGED, RESULT.NONFINITE, RESULT.CONVERGED]
  assert np.all(np.isfinite(np.asarray(a.probabilities[0])))
  for method in ("extragradient", "continuation"):
    b = solve_markov(batch, method=method, tol=1e-11)
    for k in (0, 2):
      assert b.result[k] == RESULT.CONVERGED
      np.testing.assert_allclose(b.probabilities[0][k], a.probabilities[0][k], atol=1e-9)
  # one game alone equals the same game in the batch
  one = solve_markov(batch[2], tol=1e-11)
  np.testing.assert_allclose(one.probabilities[1], a.probabilities[1][2], atol=1e-12)


def test_no_recompilation_for_new_values_and_errors_before_work():
  games = [random_game_arrays(s, 3, (2, 3)) for s in range(50, 53)]
  solve_markov(_batch(games), tol=1e-9)
  size = _solve_jit._cache_size()
  games2 = [random_game_arrays(s, 3, (2, 3), gamma=0.5) for s in range(60, 63)]
  solve_markov(_batch(games2), tol=1e-7, max_steps=500)
  assert _solve_jit._cache_size() == size
  g = _batch(games)
  with pytest.raises(ValueError, match="convention"):
    solve_markov(g, convention="zero_sum")
  with pytest.raises(ValueError, match="convention"):
    solve_markov(g, convention="nash")
  with pytest.raises(ValueError, match="method"):
    solve_markov(g, method="newton")
  with pytest.raises(ValueError, match="init"):
    solve_markov(g, init=[np.ones((3, 2)), np.ones((3, 3))])
  with pytest.raises(ValueError, match="tol"):
    solve_markov(g, tol=-1)
  with pytest.raises(ValueError, match="game"):
    solve_markov(dice_jax.games.matching_pennies())
  assert _solve_jit._cache_size() == size


def test_single_agent_equals_soft_value_iteration():
  # One agent: the HQRE is the KL-regularised optimal policy; soft value iteration
  # V(s) = tau(s) log sum_a rho(a|s) exp(Q(s,a) / tau(s)), Q = R + gamma P V (Ziebart 2010).
  rng = np.random.default_rng(95)
  s, n, gamma = 4, 3, 0.9
  p = rng.random((s, n, s)) ** 3
  p /= p.sum(-1, keepdims=True)
  r = rng.normal(size=(s, n))
  tau = 0.2 + rng.random(s)
  rho = rng.dirichlet(np.ones(n), size=s)
  v = np.zeros(s)
  for _ in range(400):
    q = r + gamma * p @ v
    v = tau * np.log(np.sum(rho * np.exp(q / tau[:, None]), -1))
  q = r + gamma * p @ v
  policy = rho * np.exp(q / tau[:, None])
  policy /= policy.sum(-1, keepdims=True)
  game = MarkovGame.from_arrays(p, [r], gamma, temperature=tau[None], reference=[rho])
  sol = solve_markov(game, tol=1e-12)
  assert sol.result == RESULT.CONVERGED
  np.testing.assert_allclose(sol.probabilities[0], policy, atol=1e-10, rtol=0)
  np.testing.assert_allclose(sol.values[0], v, atol=1e-9, rtol=0)


_CONTINUATION_BATCH_SCRIPT = """
import jax
jax.config.update("jax_enable_x64", True)
import numpy as np
from dice_jax.markov import MarkovGame, solve_markov
rng = np.random.default_rng(0)
b, s = 64, 10
p = rng.random((b, s, 3, 3, s)) ** 3
p /= p.sum(-1, keepdims=True)
r = [rng.normal(size=(b, s, 3, 3)) for _ in range(2)]
tau = np.exp(rng.uniform(np.log(0.05), 0.0, (b, 2, s)))
game = MarkovGame.from_arrays(p, r, np.full(b, 0.9), temperature=tau)
sol = solve_markov(game, method="continuation", max_steps=5)
print(int(np.asarray(sol.steps).max()), flush=True)
"""


@pytest.mark.slow
def test_continuation_over_a_large_markov_batch_finishes():
  # Regression: 64 vmapped games (S = 10, 3 x 3 actions) under continuation hung forever in
  # XLA:CPU with every thread idle while the Bellman solve was a hand-written fori_loop
  # elimination (24 games at S = 20 hung too; 16 did not). Run in a fresh process with a time
  # limit, so a hang fails this test instead of stalling the suite.
  out = output_within(_CONTINUATION_BATCH_SCRIPT, 150, "continuation on 64 Markov games")
  assert out.strip() == "5"
