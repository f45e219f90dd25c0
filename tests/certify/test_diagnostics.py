"""Rollout diagnostics: closed forms, the monotonicity inequality, bootstrap coverage."""

import jax
import jax.numpy as jnp
import numpy as np

from dice_jax.certify import alpha_two_player
from dice_jax.certify.diagnostics import drift, monotonicity_ratio, oscillation
from dice_jax.games import random as rg


def _profiles(rng, shape):
  return tuple(rng.dirichlet(np.ones(n)) for n in shape)


def test_noiseless_ratio_equals_bilinear_form_and_is_below_alpha():
  game = rg.uniform(jax.random.PRNGKey(0), (3, 4))
  a, b = np.asarray(game.payoffs[0]), np.asarray(game.payoffs[1])
  alpha = float(alpha_two_player(game))
  rng = np.random.default_rng(0)
  for _ in range(20):
    x, y = _profiles(rng, (3, 4)), _profiles(rng, (3, 4))
    vx = [a @ x[1], b.T @ x[0]]
    vy = [a @ y[1], b.T @ y[0]]
    out = monotonicity_ratio(
      [v[None] for v in vx], [v[None] for v in vy], x, y, 0.5, num_bootstrap=8
    )
    d1, d2 = x[0] - y[0], x[1] - y[1]
    exact = d1 @ (a + b) @ d2 / (d1 @ d1 + d2 @ d2)  # <V(x)-V(y), x-y> for a bimatrix game
    assert abs(float(out.estimate) - exact) < 1e-12
    # one rollout per profile: every bootstrap resample is the same, no spread
    assert abs(float(out.lower) - float(out.estimate)) < 1e-12
    assert abs(float(out.upper) - float(out.estimate)) < 1e-12
    assert exact <= alpha + 1e-12
    assert abs(float(out.ratio) - float(out.estimate) / 0.5) < 1e-12


def test_bootstrap_interval_covers_the_truth():
  """90% intervals from noisy rollouts cover the exact quotient in >= 80% of 80 repetitions."""
  game = rg.uniform(jax.random.PRNGKey(1), (2, 3))
  a, b = np.asarray(game.payoffs[0]), np.asarray(game.payoffs[1])
  rng = np.random.default_rng(1)
  x, y = _profiles(rng, (2, 3)), _profiles(rng, (2, 3))
  vx = [a @ x[1], b.T @ x[0]]
  vy = [a @ y[1], b.T @ y[0]]
  d = [x[0] - y[0], x[1] - y[1]]
  truth = sum((p - q) @ e for p, q, e in zip(vx, vy, d)) / sum(e @ e for e in d)
  reps, s = 80, 32
  noise = lambda k, v: jnp.asarray(v) + 0.5 * jax.random.normal(k, (reps, s, v.size))
  keys = jax.random.split(jax.random.PRNGKey(2), 5)
  ux = [noise(keys[0], vx[0]), noise(keys[1], vx[1])]
  uy = [noise(keys[2], vy[0]), noise(keys[3], vy[1])]
  f = jax.jit(
    jax.vmap(
      lambda ux, uy, k: monotonicity_ratio(
        ux, uy, x, y, 1.0, key=k, num_bootstrap=200, confidence=0.9
      )
    )
  )
  out = f(ux, uy, jax.random.split(keys[4], reps))
  covered = np.mean((np.asarray(out.lower) <= truth) & (truth <= np.asarray(out.upper)))
  assert covered >= 0.8
  assert np.all(np.asarray(out.lower) <= np.asarray(out.upper))


def test_refuted_when_interval_above_min_tau():
  x, y = (np.array([0.9, 0.1]),), (np.array([0.1, 0.9]),)
  # a coordination-like utility: v(x) = 2 x, so m = 2 exactly
  ux, uy = [2 * x[0][None]], [2 * y[0][None]]
  out = monotonicity_ratio(ux, uy, x, y, np.array([0.5]), num_bootstrap=4)
  assert bool(out.refuted) and float(out.estimate) == 2.0
  out = monotonicity_ratio(ux, uy, x, y, np.array([3.0]), num_bootstrap=4)
  assert not bool(out.refuted)


def test_oscillation_and_drift_vs_loops():
  rng = np.random.default_rng(3)
  traj = [rng.dirichlet(np.ones(3), size=7), rng.dirichlet(np.ones(2), size=7)]
  osc = float(oscillation(traj))
  dr = np.asarray(drift(traj))
  ref_osc = np.mean([sum(np.abs(p[t + 1] - p[t]).sum() for p in traj) for t in range(6)])
  ref_dr = [sum(np.abs(p[t] - p[0]).sum() for p in traj) for t in range(7)]
  assert abs(osc - ref_osc) < 1e-12
  np.testing.assert_allclose(dr, ref_dr, atol=1e-12)
  # batched trajectories
  batched = [np.stack([p, p[::-1]]) for p in traj]
  np.testing.assert_allclose(oscillation(batched), [osc, osc], atol=1e-12)
