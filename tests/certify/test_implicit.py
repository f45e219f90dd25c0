"""Implicit gradients of the HQRE vs central finite differences (float64)."""

import jax
import jax.flatten_util
import jax.numpy as jnp
import numpy as np
import pytest

from dice_jax.certify import alpha_vertex_bound
from dice_jax.certify.implicit import hqre_logits, hqre_probabilities, optimality
from dice_jax.games import NormalFormGame
from dice_jax.games import random as rg

# One N-player case (J is not constant there, unlike two players); the 2x3 general-sum case
# (relative errors ~1e-10, like this one) was dropped to keep the suite's compile time down.
CASES = {
  "2x2x2 three-player": (rg.uniform(jax.random.PRNGKey(1), (2, 2, 2)), [1.3, 1.0, 1.5]),
}


def _pack(game, tau, lr):
  return jnp.concatenate([u.ravel() for u in game.payoffs] + [tau] + list(lr))


def _unpack(theta, shape, n):
  size = int(np.prod(shape))
  us = [theta[k * size : (k + 1) * size].reshape(shape) for k in range(n)]
  tau = theta[n * size : n * size + n]
  lr, o = [], n * size + n
  for k in shape:
    lr.append(theta[o : o + k])
    o += k
  return NormalFormGame(tuple(us)), tau, tuple(lr)


@pytest.mark.parametrize(
  "name", [pytest.param(n, marks=[pytest.mark.slow] if "three" in n else []) for n in sorted(CASES)]
)
def test_implicit_gradient_matches_central_differences(name):
  game, tau = CASES[name]
  shape, n = game.num_actions, len(game.num_actions)
  tau = jnp.asarray(tau)
  rng = np.random.default_rng(0)
  lr = tuple(jnp.asarray(np.log(rng.dirichlet(np.ones(k)))) for k in shape)
  weights = [jnp.asarray(rng.normal(size=k)) for k in shape]
  # the test is meaningful only where the gradient is guaranteed: mu > 0 or mu_W > 0
  assert (
    float(alpha_vertex_bound(game)) < float(jnp.min(tau))
    or float(alpha_vertex_bound(game, 1.0 / tau)) < 1.0
  )

  def loss(theta):
    g, t, l = _unpack(theta, shape, n)
    x = hqre_probabilities(g, t, l, tol=1e-13, max_steps=100_000)
    return sum(jnp.sum(w * xi) for w, xi in zip(weights, x))

  theta = _pack(game, tau, lr)
  value, grad = jax.jit(jax.value_and_grad(loss))(theta)
  # the forward value is the HQRE: the optimality function vanishes there
  y = jnp.concatenate(hqre_logits(game, tau, lr, tol=1e-13))
  assert float(jnp.max(jnp.abs(optimality(y, game, tau, lr)))) < 1e-11
  h = 1e-5
  eye = jnp.eye(theta.size)
  f = jax.jit(jax.vmap(loss))
  fd = (f(theta + h * eye) - f(theta - h * eye)) / (2 * h)
  size = int(np.prod(shape))
  parts = {
    "payoffs": slice(0, n * size),
    "temperatures": slice(n * size, n * size + n),
    "references": slice(n * size + n, theta.size),
  }
  for part, sl in parts.items():
    err = float(jnp.linalg.norm(grad[sl] - fd[sl]) / jnp.linalg.norm(fd[sl]))
    print(f"{name} {part}: relative gradient error {err:.2e}")
    assert err <= 1e-6, (part, err)


def _directional_check(loss, params, rng, directions=3, h=1e-5, rtol=1e-6):
  """``grad . d`` (implicit) against central differences along random directions ``d`` of
  every parameter group; returns the worst relative error per group."""
  value, grad = jax.jit(jax.value_and_grad(loss))(params)
  f = jax.jit(jax.vmap(loss))
  worst = {}
  flat, unravel = jax.flatten_util.ravel_pytree(params)
  for name in params:
    ds = []
    for _ in range(directions):
      d = jax.tree_util.tree_map(jnp.zeros_like, params)
      d[name] = jax.tree_util.tree_map(
        lambda x: jnp.asarray(rng.normal(size=x.shape)), params[name]
      )
      ds.append(jax.flatten_util.ravel_pytree(d)[0])
    ds = jnp.stack(ds)
    fd = (f(jax.vmap(unravel)(flat + h * ds)) - f(jax.vmap(unravel)(flat - h * ds))) / (2 * h)
    g = ds @ jax.flatten_util.ravel_pytree(grad)[0]
    worst[name] = float(jnp.max(jnp.abs(g - fd)) / jnp.max(jnp.abs(fd)))
  return worst


@pytest.mark.parametrize("convention", ["own", "logit"])
def test_markov_implicit_gradient_matches_central_differences(convention):
  from dice_jax.certify.implicit import markov_logits
  from dice_jax.markov import MarkovGame
  from tests.markov.reference import random_game_arrays

  p, r, gamma, tau = random_game_arrays(7, 2, (2, 3), gamma=0.7)
  base = MarkovGame.from_arrays(p, r, gamma, temperature=tau)
  rng = np.random.default_rng(1)
  weights = [jnp.asarray(rng.normal(size=(2, k))) for k in (2, 3)]

  def loss(theta):
    g = base.replace(
      rewards=theta["rewards"],
      transitions=theta["transitions"],
      temperature=theta["temperature"],
      log_reference=theta["log_reference"],
    )
    x = markov_logits(g, convention=convention, tol=1e-13)
    return sum(jnp.sum(w * jnp.exp(l)) for w, l in zip(weights, x))

  params = dict(
    rewards=base.rewards,
    transitions=base.transitions,
    temperature=base.temperature,
    log_reference=base.log_reference,
  )
  errors = _directional_check(loss, params, rng)
  print(convention, errors)
  assert max(errors.values()) <= 1e-6, errors


def test_bayesian_implicit_gradient_matches_central_differences():
  from dice_jax.certify.implicit import bayesian_logits
  from dice_jax.markov import BayesianGame

  rng = np.random.default_rng(2)
  prior = rng.random((2, 2)) + 0.2
  prior /= prior.sum()
  base = BayesianGame.from_arrays(
    prior,
    [rng.normal(size=(2, 2, 2, 3)) for _ in range(2)],
    temperature=[np.array([0.6, 1.1]), np.array([0.9, 0.7])],
  )
  weights = [jnp.asarray(rng.normal(size=(2, k))) for k in (2, 3)]

  def loss(theta):
    g = base.replace(
      prior=theta["prior"],
      payoffs=theta["payoffs"],
      temperature=theta["temperature"],
      log_reference=theta["log_reference"],
    )
    x = bayesian_logits(g, tol=1e-13)
    return sum(jnp.sum(w * jnp.exp(l)) for w, l in zip(weights, x))

  params = dict(
    prior=base.prior,
    payoffs=base.payoffs,
    temperature=base.temperature,
    log_reference=base.log_reference,
  )
  errors = _directional_check(loss, params, rng)
  print(errors)
  assert max(errors.values()) <= 1e-6, errors
