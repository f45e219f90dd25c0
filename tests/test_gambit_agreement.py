"""Policies equal Gambit's logit QRE (pygambit.qre.logit_solve_lambda) within 1e-8, float64."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import dice_jax as dj
from dice_jax.games import random as rg
from dice_jax.testing import gambit_logit_qre
from tests.tiers import rows

SHAPES = [(2, 2), (3, 5), (10, 10), (30, 30), (2, 2, 2), (3, 4, 2), (5, 5, 5)]
LAMBDAS = [0.5, 2.0, 10.0]


def make_game(shape, kind, seed):
  key = jax.random.PRNGKey(seed)
  g = rg.uniform(key, shape)
  if kind == "zero_sum":  # the last player's payoff makes every profile sum to zero
    rest = g.payoffs[:-1]
    g = dj.NormalFormGame(tuple(rest) + (-sum(rest),))
  return g


def max_diff(a, b):
  return max(float(np.abs(np.asarray(x) - np.asarray(y)).max()) for x, y in zip(a, b))


@pytest.mark.parametrize("lam", rows(LAMBDAS, default=(2.0,)))
@pytest.mark.parametrize("kind", ["general", "zero_sum"])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_continuation_equals_gambit(shape, kind, lam):
  g = make_game(shape, kind, seed=len(shape) * 100 + shape[0] + int(lam))
  ref = gambit_logit_qre(g, lam)
  sol = dj.solve(g, 1.0 / lam, method="continuation", tol=1e-12)
  assert sol.result_names().item() == "converged"
  assert max_diff(sol.probabilities, ref) <= 1e-8


@pytest.mark.parametrize(
  "method", rows(["mirror", "optimistic", "extragradient", "damped"], default=("mirror",))
)
@pytest.mark.parametrize(
  "shape", [(3, 5), (30, 30), (3, 4, 2), (5, 5, 5)], ids=lambda s: "x".join(map(str, s))
)
def test_iterative_methods_equal_gambit_at_moderate_precision(shape, method):
  """At lambda in {0.5, 2} these random games have a unique QRE that the iterations reach."""
  for lam in (0.5, 2.0):
    g = make_game(shape, "general", seed=7 + shape[0])
    ref = gambit_logit_qre(g, lam)
    sol = dj.solve(g, 1.0 / lam, method=method, tol=1e-12, max_steps=50_000)
    assert sol.result_names().item() == "converged", (lam, sol.residual)
    assert max_diff(sol.probabilities, ref) <= 1e-8, lam


@pytest.mark.parametrize("method", ["mirror", "optimistic", "extragradient"])
def test_mirror_methods_equal_gambit_on_zero_sum_at_high_precision(method):
  """Zero-sum games are monotone, so the HQRE is unique and mirror methods converge to it."""
  g = rg.zero_sum(jax.random.PRNGKey(11), (10, 10))
  ref = gambit_logit_qre(g, 10.0)
  sol = dj.solve(g, 0.1, method=method, tol=1e-12, max_steps=100_000)
  assert sol.result_names().item() == "converged"
  assert max_diff(sol.probabilities, ref) <= 1e-8


@pytest.mark.parametrize("shape,lams", [((4, 6), (0.5, 5.0)), ((3, 3, 4), (1.0, 4.0, 8.0))])
def test_per_player_temperatures_match_gambit_on_rescaled_game(shape, lams):
  """HQRE with lambda_i = 1/tau_i equals Gambit's QRE at lambda on the game whose player-i
  payoffs are scaled by lambda_i / lambda (softmax(lambda_i v_i) = softmax(lambda (lambda_i /
  lambda) v_i))."""
  g = rg.uniform(jax.random.PRNGKey(5), shape)
  lam = 2.0
  scaled = dj.NormalFormGame(tuple(u * (li / lam) for u, li in zip(g.payoffs, lams)))
  ref = gambit_logit_qre(scaled, lam)
  for method in ("continuation", "mirror"):
    sol = dj.solve(g, 1.0 / jnp.asarray(lams), method=method, tol=1e-12, max_steps=50_000)
    assert sol.result_names().item() == "converged", method
    assert max_diff(sol.probabilities, ref) <= 1e-8, method
