"""Bad input raises ValueError naming the argument, before any compilation."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import dice_jax as dj
from dice_jax.games import random as rg
from dice_jax.solvers import _solve as solve_module


@pytest.fixture
def no_compilation():
  before = solve_module._solve_jit._cache_size()
  yield
  assert solve_module._solve_jit._cache_size() == before, "work started before the error"


def test_inconsistent_payoff_shapes(no_compilation):
  with pytest.raises(ValueError, match=r"payoffs\[1\] has shape \(3, 2\)"):
    dj.NormalFormGame.from_arrays(np.zeros((2, 3)), np.zeros((3, 2)))


def test_too_few_axes(no_compilation):
  with pytest.raises(ValueError, match=r"payoffs\[0\] has 1 axes"):
    dj.NormalFormGame.from_arrays(np.zeros(3), np.zeros(3))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nonfinite_payoffs(bad, no_compilation):
  u = np.zeros((2, 2))
  u[1, 0] = bad
  with pytest.raises(ValueError, match=r"payoffs\[1\] must be finite.*index \(1, 0\)"):
    dj.NormalFormGame.from_arrays(np.ones((2, 2)), u)


@pytest.mark.parametrize("tau,match", [
    (0.0, r"temperature must be > 0"),
    (-1.0, r"temperature must be > 0"),
    (np.nan, r"temperature must be finite"),
    ([0.5, 0.5, 0.5], r"temperature has shape \(3,\).*2 players"),
    ([0.5, -0.1], r"temperature must be > 0.*index \(1,\)"),
])
def test_bad_temperatures(tau, match, no_compilation):
  with pytest.raises(ValueError, match=match):
    dj.solve(dj.games.matching_pennies(), tau)


@pytest.mark.parametrize("ref,match", [
    ((np.array([0.5, 0.6]), np.array([0.5, 0.5])), r"reference\[0\] must be a probability"),
    ((np.array([1.0, 0.0]), np.array([0.5, 0.5])), r"reference\[0\] must be > 0"),
    ((np.array([0.5, 0.5]),), r"reference must hold one distribution per player \(2\)"),
    ((np.array([0.5, 0.5]), np.array([0.2, 0.3, 0.5])), r"reference\[1\] has shape \(3,\)"),
])
def test_reference_not_a_distribution(ref, match, no_compilation):
  with pytest.raises(ValueError, match=match):
    dj.solve(dj.games.matching_pennies(), 0.5, reference=ref)


def test_mismatched_batch_shapes(no_compilation):
  g = rg.uniform(jax.random.PRNGKey(0), (2, 2), batch_shape=(3,))
  with pytest.raises(ValueError, match=r"temperature has shape \(4, 2\).*batch shape \(3,\)"):
    dj.solve(g, jnp.ones((4, 2)))
  with pytest.raises(ValueError, match=r"init\[0\] has shape \(5, 2\)"):
    dj.solve(g, 0.5, init=(jnp.full((5, 2), 0.5), jnp.full((3, 2), 0.5)))


@pytest.mark.parametrize("kwargs,match", [
    (dict(method="newton"), r"method must be one of"),
    (dict(tol=-1.0), r"tol must be a finite number > 0"),
    (dict(max_steps=0), r"max_steps must be a positive integer"),
])
def test_bad_options(kwargs, match, no_compilation):
  with pytest.raises(ValueError, match=match):
    dj.solve(dj.games.matching_pennies(), 0.5, **kwargs)


def test_not_a_game(no_compilation):
  with pytest.raises(ValueError, match=r"game must implement the Game protocol"):
    dj.solve(np.zeros((2, 2)), 0.5)
