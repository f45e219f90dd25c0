"""vmap == Python loop, jit == no jit, no recompilation, per-game result codes."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import dice_jax as dj
from dice_jax.games import random as rg
from dice_jax.solvers import _solve as solve_module
from dice_jax.solvers import batching
from tests.tiers import rows

METHODS = sorted(dj.solvers.METHODS)


@pytest.mark.parametrize("method", rows(METHODS, default=("auto", "mirror")))
def test_batched_solve_equals_python_loop(method):
  g = rg.uniform(jax.random.PRNGKey(0), (4, 3), batch_shape=(2, 3))
  tau = jnp.linspace(0.3, 1.0, 6).reshape(2, 3, 1) * jnp.array([1.0, 1.5])
  # tol well above the float64 residual floor: batched and single kernels round differently, and
  # a tolerance near the floor (1e-11 here) made the stopping step depend on that rounding.
  batched = dj.solve(g, tau, method=method, tol=1e-9)
  for b in range(2):
    for c in range(3):
      single = dj.solve(g[b, c], tau[b, c], method=method, tol=1e-9)
      assert int(single.steps) == int(batched.steps[b, c])
      assert int(single.result) == int(batched.result[b, c])
      for p, q in zip(single.logits, batched.logits):
        np.testing.assert_allclose(p, q[b, c], atol=1e-10)


@pytest.mark.parametrize(
  "method", rows(METHODS, default=("damped", "extragradient", "mirror", "optimistic"))
)
def test_jit_equals_no_jit(method):
  g = rg.uniform(jax.random.PRNGKey(1), (3, 3))
  tau = jnp.array([0.5, 0.7])
  with jax.disable_jit():
    eager = dj.solve_one(g, tau, method=method, tol=1e-10, max_steps=40)
  jitted = jax.jit(lambda g, t: dj.solve_one(g, t, method=method, tol=1e-10, max_steps=40))(g, tau)
  assert int(eager.steps) == int(jitted.steps) and int(eager.result) == int(jitted.result)
  for a, b in zip(eager.logits, jitted.logits):
    np.testing.assert_allclose(a, b, atol=1e-12)


def test_second_call_with_same_shapes_does_not_recompile():
  g1 = rg.uniform(jax.random.PRNGKey(2), (5, 4), batch_shape=(7,))
  g2 = rg.uniform(jax.random.PRNGKey(3), (5, 4), batch_shape=(7,))
  dj.solve(g1, 0.5)
  before = solve_module._solve_jit._cache_size()
  # new payoffs, temperatures, tolerance and step budget: all traced, so no new compilation
  dj.solve(g2, 0.9, tol=1e-6, max_steps=123)
  dj.solve(g2, jnp.full((7, 2), 0.4))
  assert solve_module._solve_jit._cache_size() == before


def test_solve_one_traces_once_under_jit():
  @jax.jit
  @chex.assert_max_traces(n=1)
  def f(g, tau):
    return dj.solve_one(g, tau, tol=1e-9).logits

  for seed in range(3):
    f(rg.uniform(jax.random.PRNGKey(seed), (3, 2)), jnp.array([0.5, 0.5]) * (seed + 1))


@pytest.mark.parametrize("method", rows(METHODS, default=("mirror", "optimistic")))
def test_overflow_in_one_game_gives_nonfinite_for_that_game_only(method):
  g = rg.uniform(jax.random.PRNGKey(4), (3, 3), batch_shape=(3,))
  huge = g.payoffs[0].at[1].set(jnp.array([[1e308, -1e308, 1e308]] * 3))
  bad = dj.NormalFormGame((huge, g.payoffs[1]))
  sol = dj.solve(bad, 0.5, method=method)
  names = list(sol.result_names())
  assert names[1] == "nonfinite", (method, names)
  assert names[0] == names[2] == "converged", (method, names)
  ok = dj.solve(g[0], 0.5, method=method)
  np.testing.assert_allclose(sol.probabilities[0][0], ok.probabilities[0], atol=1e-12)
  assert np.all(np.isfinite(np.asarray(sol.probabilities[0][1])))  # last finite iterate


def test_max_steps_code_and_budget():
  g = rg.zero_sum(jax.random.PRNGKey(5), (10, 10))
  sol = dj.solve(g, 0.05, method="mirror", max_steps=7)
  assert sol.result_names().item() == "max_steps" and int(sol.steps) == 7
  assert float(sol.residual) > 1e-8


@pytest.mark.slow
def test_float32_solve():
  g = rg.uniform(jax.random.PRNGKey(6), (6, 5), batch_shape=(4,), dtype=jnp.float32)
  sol = dj.solve(g, 0.5)
  assert sol.logits[0].dtype == jnp.float32
  assert np.all(sol.result_names() == "converged") and np.all(np.asarray(sol.residual) <= 1e-5)
  ref = dj.solve(g.astype(jnp.float64), 0.5, tol=1e-12)
  np.testing.assert_allclose(sol.probabilities[0], ref.probabilities[0], atol=1e-4)


@pytest.mark.slow
def test_chunked_batches_equal_one_vmap(monkeypatch):
  """Large batches run as a lax.map over vmapped chunks; results equal the unchunked vmap."""
  g = rg.uniform(jax.random.PRNGKey(7), (4, 4), batch_shape=(50,))
  whole = dj.solve(g, 0.4, tol=1e-11)
  monkeypatch.setattr(batching, "CHUNK_BYTES", 256)  # 8 games per chunk, 50 = 6*8 + 2
  assert batching.chunk_size(g, 50) == 8
  solve_module._solve_jit.clear_cache()  # chunking is decided at trace time
  try:
    chunked = dj.solve(g, 0.4, tol=1e-11)
  finally:
    solve_module._solve_jit.clear_cache()
  np.testing.assert_array_equal(chunked.steps, whole.steps)
  np.testing.assert_array_equal(chunked.result, whole.result)
  for a, b in zip(chunked.logits, whole.logits):
    np.testing.assert_allclose(a, b, atol=1e-13)
