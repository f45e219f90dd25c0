"""NormalFormGame, utility vectors against brute force, random families, classics."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import dice_jax as dj
from dice_jax.games import random as rg


def brute_force_utilities(payoffs, profile):
  """v_i[a_i] = sum over all pure profiles a with a_i fixed of U_i[a] prod_{j != i} x_j[a_j]."""
  n = len(payoffs)
  shape = payoffs[0].shape
  out = [np.zeros(k) for k in shape]
  for a in itertools.product(*[range(k) for k in shape]):
    for i in range(n):
      w = np.prod([profile[j][a[j]] for j in range(n) if j != i])
      out[i][a[i]] += payoffs[i][a] * w
  return out


@pytest.mark.parametrize("shape", [(2, 2), (3, 5), (2, 3, 4), (3, 2, 2, 2)])
def test_utilities_match_brute_force(shape):
  rng = np.random.default_rng(len(shape))
  payoffs = [rng.normal(size=shape) for _ in shape]
  profile = [rng.dirichlet(np.ones(k)) for k in shape]
  g = dj.NormalFormGame.from_arrays(payoffs)
  v = g.utilities(tuple(jnp.asarray(x) for x in profile))
  for got, want in zip(v, brute_force_utilities(payoffs, profile)):
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_batched_utilities_equal_per_game_and_vmap():
  g = rg.uniform(jax.random.PRNGKey(0), (3, 4, 2), batch_shape=(2, 3))
  xs = tuple(
    jax.nn.softmax(jax.random.normal(jax.random.PRNGKey(i), (2, 3, k)))
    for i, k in enumerate((3, 4, 2))
  )
  batched = g.utilities(xs)
  flat = jax.tree_util.tree_map(lambda a: a.reshape(6, *a.shape[2:]), (g, xs))
  mapped = jax.vmap(lambda game, x: game.utilities(x))(*flat)
  for b in range(2):
    for c in range(3):
      single = g[b, c].utilities(tuple(x[b, c] for x in xs))
      for i in range(3):
        np.testing.assert_allclose(batched[i][b, c], single[i], atol=1e-13)
        np.testing.assert_allclose(mapped[i][3 * b + c], single[i], atol=1e-13)


def test_game_is_a_pytree_and_reports_shapes():
  g = rg.uniform(jax.random.PRNGKey(1), (2, 3), batch_shape=(4,))
  assert g.num_players == 2 and g.num_actions == (2, 3) and g.batch_shape == (4,)
  leaves, treedef = jax.tree_util.tree_flatten(g)
  assert len(leaves) == 2
  assert jax.tree_util.tree_unflatten(treedef, leaves).num_actions == (2, 3)


def test_payoff_halfrange_bounds_utility_differences():
  g = rg.uniform(jax.random.PRNGKey(2), (4, 3, 5))
  h = np.asarray(g.payoff_halfrange())
  rng = np.random.default_rng(0)
  for _ in range(20):
    x = [rng.dirichlet(np.ones(k)) for k in (4, 3, 5)]
    y = [rng.dirichlet(np.ones(k)) for k in (4, 3, 5)]
    vx = g.utilities(tuple(map(jnp.asarray, x)))
    vy = g.utilities(tuple(map(jnp.asarray, y)))
    for i in range(3):
      bound = h[i] * sum(np.abs(x[j] - y[j]).sum() for j in range(3) if j != i)
      assert np.abs(np.asarray(vx[i]) - np.asarray(vy[i])).max() <= bound + 1e-12


def test_random_families_have_their_structure():
  key = jax.random.PRNGKey(3)
  z = rg.zero_sum(key, (4, 5), batch_shape=(3,))
  np.testing.assert_array_equal(z.payoffs[0], -z.payoffs[1])
  p = rg.perturbed_zero_sum(key, (4, 5), 0.1)
  s = np.asarray(p.payoffs[0] + p.payoffs[1])
  assert 0 < np.abs(s).max() <= 0.2 + 1e-12
  coordination = rg.coordination(key, (3, 3))
  c = np.asarray(coordination.payoffs[0])
  off = ~np.eye(3, dtype=bool)
  assert np.all((np.diag(c)[:, None] - c)[off] > 0.3)  # matching beats any mismatch
  np.testing.assert_array_equal(coordination.payoffs[0], coordination.payoffs[1])


def test_potential_game_differences_match_a_common_potential():
  key = jax.random.PRNGKey(4)
  g = rg.potential(key, (3, 4))
  u1, u2 = map(np.asarray, g.payoffs)
  # U_1(a1', a2) - U_1(a1, a2) must not depend on which potential-free term was added,
  # i.e. the cross differences of U_1 and U_2 coincide (Monderer & Shapley 1996).
  d1 = u1[1:, 1:] - u1[:-1, 1:] - u1[1:, :-1] + u1[:-1, :-1]
  d2 = u2[1:, 1:] - u2[:-1, 1:] - u2[1:, :-1] + u2[:-1, :-1]
  np.testing.assert_allclose(d1, d2, atol=1e-12)


def test_classics():
  pd = dj.games.prisoners_dilemma()
  assert pd.num_actions == (2, 2)
  assert float(pd.payoffs[0][1, 0]) == 5 and float(pd.payoffs[1][0, 1]) == 5
  rps = dj.games.rock_paper_scissors()
  np.testing.assert_array_equal(rps.payoffs[0], -rps.payoffs[1])
  for name, make in dj.games.EXAMPLES.items():
    assert make().num_players == 2, name
