"""Monotonicity bounds against closed forms and brute force (DESIGN §4)."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import struct
from hypothesis import given

from dice_jax.certify import monotonicity as mono
from dice_jax.games import coordination_game
from dice_jax.testing import strategies as dst


def _proj(n):
  return np.eye(n) - 1.0 / n


def _alpha_numpy(a, b, w=(1.0, 1.0)):
  """sigma_max(P1 (w1 A + w2 B) P2) / 2 with explicit projectors and NumPy's SVD."""
  m = _proj(a.shape[0]) @ (w[0] * a + w[1] * b) @ _proj(a.shape[1])
  return np.linalg.svd(m, compute_uv=False)[0] / 2


@given(
  dst.games(family="zero_sum", num_actions=(3, 5), batch_shape=(3,)),
  dst.temperatures(2, batch_shape=(3,)),
)
def test_zero_sum_alpha_is_zero_and_margin_is_min_tau(game, tau):
  alpha = np.asarray(mono.alpha_vertex_bound(game))
  np.testing.assert_allclose(alpha, 0.0, atol=1e-12)
  np.testing.assert_allclose(mono.alpha_two_player(game), 0.0, atol=1e-12)
  b = mono.monotonicity_bounds(
    game, jnp.asarray(tau), mono.sample_profiles(jax.random.PRNGKey(0), game.num_actions, 3)
  )
  np.testing.assert_allclose(b.margin, tau.min(-1), atol=1e-12)


@given(dst.seeds())
def test_two_player_formula_equals_numpy_and_max_of_sampled_bound(seed):
  shape = (3, 4)
  game = dst.make_game("uniform", seed, shape, (4,))
  tau = np.random.default_rng(seed).uniform(0.1, 2.0, (4, 2))
  exact = np.asarray(mono.alpha_two_player(game))
  wexact = np.asarray(mono.alpha_two_player(game, 1.0 / jnp.asarray(tau)))
  a, b = np.asarray(game.payoffs[0]), np.asarray(game.payoffs[1])
  for k in range(4):
    assert exact[k] == pytest.approx(_alpha_numpy(a[k], b[k]), abs=1e-12)
    assert wexact[k] == pytest.approx(_alpha_numpy(a[k], b[k], 1.0 / tau[k]), abs=1e-12)
  profiles = mono.sample_profiles(jax.random.PRNGKey(seed % 1000), shape, 5)
  lower, _ = mono.alpha_sampled(game, profiles)
  np.testing.assert_allclose(lower, exact, atol=1e-9)  # J is constant for two players
  upper = np.asarray(mono.alpha_vertex_bound(game))
  assert np.all(upper >= exact) and np.all(upper - exact <= 1e-12)


def test_jacfwd_jacobian_is_the_bimatrix_jacobian():
  game = dst.make_game("uniform", 3, (3, 2))
  a, b = np.asarray(game.payoffs[0]), np.asarray(game.payoffs[1])
  x = (jnp.array([0.2, 0.3, 0.5]), jnp.array([0.6, 0.4]))
  s = np.asarray(mono.projected_symmetric_jacobian(game, x, jnp.array([2.0, 0.5])))
  from dice_jax.certify._tangent import block_basis

  j = np.block([[np.zeros((3, 3)), 2.0 * a], [0.5 * b.T, np.zeros((2, 2))]])
  q = np.asarray(block_basis((3, 2)))
  np.testing.assert_allclose(s, q.T @ (j + j.T) / 2 @ q, atol=1e-14)


def _utilities_numpy(u, x):
  """v_i(x) by explicit einsum contractions (independent of NormalFormGame.utilities)."""
  n = len(x)
  letters = "abcdefgh"[:n]
  out = []
  for i in range(n):
    ops = [u[i]] + [x[j] for j in range(n) if j != i]
    subs = letters + "," + ",".join(letters[j] for j in range(n) if j != i)
    out.append(np.einsum(subs + "->" + letters[i], *ops))
  return out


def _brute_force_alpha_lower(game, rng, num):
  """max over random profiles of lambda_max(P sym(J) P), J by explicit finite differences."""
  shape = game.num_actions
  u = [np.asarray(p) for p in game.payoffs]
  best = -np.inf
  for _ in range(num):
    x = [rng.dirichlet(np.full(n, 0.3)) for n in shape]
    d = sum(shape)
    jac = np.zeros((d, d))
    h = 1e-6
    flat = np.concatenate(x)
    for c in range(d):
      e = np.zeros(d)
      e[c] = h
      sp = np.split(flat + e, np.cumsum(shape)[:-1])
      sm = np.split(flat - e, np.cumsum(shape)[:-1])
      jac[:, c] = (
        np.concatenate(_utilities_numpy(u, sp)) - np.concatenate(_utilities_numpy(u, sm))
      ) / (2 * h)
    p = np.zeros((d, d))
    o = 0
    for n in shape:
      p[o : o + n, o : o + n] = _proj(n)
      o += n
    ev = np.linalg.eigvalsh(p @ (jac + jac.T) / 2 @ p)
    best = max(best, ev[-1])
  return best


@pytest.mark.parametrize("shape", [(2, 3, 2), (2, 2, 2, 2)])
def test_vertex_bound_dominates_sampled_and_brute_force(shape):
  rng = np.random.default_rng(1)
  for seed in range(2):
    game = dst.make_game("uniform", seed, shape)
    upper = float(mono.alpha_vertex_bound(game))
    lower, _ = mono.alpha_sampled(
      game, mono.sample_profiles(jax.random.PRNGKey(seed), shape, 64, concentration=0.3)
    )
    brute = _brute_force_alpha_lower(game, rng, 10)
    assert float(lower) <= upper and brute <= upper + 1e-8
    assert float(lower) >= -1e-12  # multilinear: zero trace on T, so lambda_max >= 0


def test_vertex_bound_is_lambda_max_of_slice_norm_matrix():
  """Independent recomputation of C with explicit loops over pure profiles of the others."""
  game = dst.make_game("uniform", 7, (2, 3, 2))
  u = [np.asarray(p) for p in game.payoffs]
  shape = game.num_actions
  c = np.zeros((3, 3))
  for i, j in itertools.combinations(range(3), 2):
    (k,) = [m for m in range(3) if m not in (i, j)]
    for ak in range(shape[k]):
      idx = [slice(None)] * 3
      idx[k] = ak
      m = (u[i] + u[j])[tuple(idx)]  # remaining axes in order (i, j) since i < j
      c[i, j] = c[j, i] = max(
        c[i, j], np.linalg.svd(_proj(shape[i]) @ m @ _proj(shape[j]), compute_uv=False)[0]
      )
  assert float(mono.alpha_vertex_bound(game)) == pytest.approx(
    np.linalg.eigvalsh(c)[-1] / 2, rel=1e-12
  )


def test_coordination_alpha_is_one():
  # A + B = 2 I; P (2I) P = 2P has norm 2, so alpha = 1 for every n
  for n in (2, 3, 4):
    assert float(mono.alpha_two_player(coordination_game(n))) == pytest.approx(1.0, abs=1e-12)


def test_non_multilinear_game_gets_only_the_sampled_bound():
  @struct.dataclass
  class Concave:
    """v_1 = A y - 2x, v_2 = A^T x - 2y: own-action concave, not multilinear (alpha < 0)."""

    a: jax.Array
    num_actions = (2, 2)

    def utilities(self, x):
      return (self.a @ x[1] - 2.0 * x[0], self.a.T @ x[0] - 2.0 * x[1])

    def payoff_halfrange(self):
      return jnp.array([2.0, 2.0])

  g = Concave(jnp.array([[0.1, 0.0], [0.0, 0.1]]))
  b = mono.monotonicity_bounds(
    g, jnp.array([0.5, 0.5]), mono.sample_profiles(jax.random.PRNGKey(0), (2, 2), 4)
  )
  assert not bool(b.rigorous) and np.isinf(float(b.alpha_upper))
  # J = [[-2I, A], [A^T, -2I]]: on T, lambda_max = -2 + 0.1 (exactly, J constant)
  assert float(b.alpha_lower) == pytest.approx(-1.9, abs=1e-12)


def test_fast_sigma_bounds_bracket_the_svd():
  from dice_jax.certify import slices

  m = jax.random.uniform(jax.random.PRNGKey(0), (64, 9, 7), minval=-1, maxval=1)
  exact = np.asarray(jax.jit(lambda m: slices.projected_norms(m, exact=True))(m))
  lower, upper = map(np.asarray, jax.jit(slices.sigma_max_bounds)(m))
  assert np.all(lower <= exact * (1 + 1e-12)) and np.all(exact <= upper)
  assert np.all(upper <= 1.25 * exact) and np.median(upper / exact) < 1.05
  assert np.median(lower / exact) > 0.95
  zero = jax.jit(slices.sigma_max_bounds)(jnp.zeros((2, 3, 3)))
  np.testing.assert_array_equal(zero[1], 0.0)  # zero-sum: exactly 0


def test_fast_n_player_bounds_bracket_the_exact_ones():
  shape = (2, 3, 2)  # the shape of test_vertex_bound_dominates...: shared compilations
  prof = mono.sample_profiles(jax.random.PRNGKey(0), shape, 64, concentration=0.3)
  for seed in range(2):
    game = dst.make_game("uniform", seed, shape)
    up, up_fast = mono.alpha_vertex_bound(game), mono.alpha_vertex_bound(game, fast=True)
    lo, _ = mono.alpha_sampled(game, prof)
    lo_fast, _ = mono.alpha_sampled(game, prof, fast=True)
    assert up <= up_fast <= 1.1 * up
    assert lo - 0.05 * abs(lo) <= lo_fast <= lo + 1e-12


def test_multilinear_jacobians_equal_autodiff_ones():
  """The payoff-tensor construction of sym(W J(x)) (used for every normal-form game) against
  jax.jacfwd of the game's utilities at the same profiles, with and without weights."""
  shape = (2, 3, 2)
  game = dst.make_game("uniform", 3, shape, batch_shape=(2,))
  prof = mono.sample_profiles(jax.random.PRNGKey(1), shape, 4, concentration=0.3)
  prof = tuple(jnp.broadcast_to(p, (2, *p.shape)) for p in prof)
  w = jnp.asarray([[0.5, 2.0, 1.5], [1.0, 3.0, 0.25]])
  for weights in (None, w):
    got = np.asarray(mono.multilinear_projected_jacobians(game.payoffs, 1, prof, weights))
    for b in range(2):
      for k in range(4):
        ref = mono.projected_symmetric_jacobian(
          game[b], tuple(p[b, k] for p in prof), None if weights is None else weights[b]
        )
        np.testing.assert_allclose(got[b, k], ref, atol=1e-12)
    # the same matrices with the first two profiles shared by the batch (one matrix product)
    shared = tuple(p[0, :2] for p in prof)
    split = mono.multilinear_projected_jacobians(
      game.payoffs, 1, tuple(p[:, 2:] for p in prof), weights, shared
    )
    np.testing.assert_allclose(split, got, atol=1e-14)


def test_multilinear_jacobians_with_many_slices_equal_autodiff_ones():
  """The slice combination both ways (term by term for pairs with at most SHORT_AXIS slices,
  einsum above: pair (0, 1) of a 2 x 2 x 17 game has 17 slices, the others 2) against jax.jacfwd,
  with shared and own profiles."""
  from dice_jax.certify import slices  # noqa: PLC0415

  shape = (2, 2, slices.SHORT_AXIS + 1)
  game = dst.make_game("uniform", 5, shape, batch_shape=(2,))
  prof = mono.sample_profiles(jax.random.PRNGKey(2), shape, 3, concentration=0.5)
  own = tuple(jnp.broadcast_to(p[1:], (2, 2, p.shape[-1])) for p in prof)
  w = jnp.asarray([[0.5, 2.0, 1.5], [1.0, 3.0, 0.25]])
  got = np.asarray(mono.multilinear_projected_jacobians(game.payoffs, 1, own, w, shared=prof))
  for b in range(2):
    for k in range(3):
      ref = mono.projected_symmetric_jacobian(game[b], tuple(p[k] for p in prof), w[b])
      np.testing.assert_allclose(got[b, k], ref, atol=1e-12)
    for k in range(2):
      ref = mono.projected_symmetric_jacobian(game[b], tuple(p[b, k] for p in own), w[b])
      np.testing.assert_allclose(got[b, 3 + k], ref, atol=1e-12)


@pytest.mark.slow  # 10 s: the slow tier
def test_cheap_pair_bounds_equal_the_slice_stack_bounds():
  from dice_jax.certify import slices  # noqa: PLC0415

  shape = (2, 3, 2)
  game = dst.make_game("uniform", 4, shape, batch_shape=(2,))
  w = jnp.asarray([[0.5, 2.0, 1.5], [1.0, 3.0, 0.25]])
  for i, j in itertools.permutations(range(3), 2):
    for both in (True, False):
      got = slices.cheap_pair_bounds(game.payoffs, 1, i, j, w, both=both)
      m = slices.pair_slices(game.payoffs, 1, i, j, w, both=both)
      for k in range(2):
        ref = jnp.max(slices.cheap_norm_bounds(m)[k], axis=-1)
        np.testing.assert_allclose(got[k], ref, rtol=1e-13)
  # the stacked matrices of all pairs, and a shape with slices above SMALL_SLICE (in place)
  for shape in (shape, (9, 8, 2)):
    game = dst.make_game("uniform", 4, shape, batch_shape=(2,))
    for both in (True, False):
      low, up = slices.cheap_pair_bound_matrices(game.payoffs, 1, w, both=both)
      for i, j in itertools.permutations(range(3), 2):
        pair = (min(i, j), max(i, j)) if both else (i, j)
        ref = slices.cheap_pair_bounds(game.payoffs, 1, *pair, w, both=both)
        m = slices.pair_slices(game.payoffs, 1, i, j, w, both=both)
        for k, c in enumerate((low, up)):
          np.testing.assert_allclose(c[:, i, j], ref[k], rtol=1e-13)
          stack = jnp.max(slices.cheap_norm_bounds(m)[k], axis=-1)
          np.testing.assert_allclose(c[:, i, j], stack, rtol=1e-13)


@pytest.mark.parametrize("budget", [None, 4, 64])
def test_spectrum_below_agrees_with_numpy_eigvalsh_at_the_boundary(budget):
  """The tier-1 test lambda_max(S) < t against NumPy's eigvalsh: never True where NumPy's
  largest eigenvalue is >= t (thresholds at, just above and just below it), and True once t
  clears it by a relative 1e-6 (the slack is 1e-9). ``budget``: spectra_below, the block-norm
  bound first and Cholesky for at most ``budget`` matrices (4: the fallback to every matrix;
  64: the gathered few), on matrices with zero diagonal blocks like the Jacobians'."""
  rng = np.random.default_rng(0)
  a = rng.normal(size=(64, 9, 9))
  s = (a + np.swapaxes(a, -1, -2)) / 2
  for k in range(3):
    s[:, 3 * k : 3 * k + 3, 3 * k : 3 * k + 3] = 0.0
  s[:8] = 0.0  # lambda_max = 0 exactly
  s[8:40] *= 0.01  # far below the thresholds: the block bound decides these
  top = np.linalg.eigvalsh(s)[:, -1]
  scale = np.maximum(np.abs(top), 1.0)
  if budget is None:
    below = jax.jit(mono.spectrum_below)
  else:
    below = jax.jit(lambda s, t: mono.spectra_below(s, t, (3, 3, 3), budget))
  for offset in (-1e-3, -1e-12, 0.0, 1e-12, 1e-11):
    t = top + offset * scale
    t[8:40] = 1.0
    got = np.asarray(below(jnp.asarray(s), jnp.asarray(t)))
    assert not np.any(got & (top >= t))
    assert np.all(got[8:40])
  assert np.all(np.asarray(below(jnp.asarray(s), jnp.asarray(top + 1e-6 * scale))))
  empty = mono.spectrum_below(jnp.zeros((3, 0, 0)), jnp.asarray([-1.0, 0.0, 1.0]))
  np.testing.assert_array_equal(empty, [False, False, True])


def test_perron_upper_is_above_numpy_eigvalsh():
  """The Collatz-Wielandt bound of the cheap tier against NumPy's largest eigenvalue of
  nonnegative symmetric matrices (with zero rows, and all-zero ones: exactly 0)."""
  rng = np.random.default_rng(2)
  c = rng.uniform(0, 1, (200, 5, 5))
  c = (c + np.swapaxes(c, -1, -2)) / 2
  c[:50, 0, :] = c[:50, :, 0] = 0.0
  c[50:60] = 0.0
  top = np.linalg.eigvalsh(c)[:, -1]
  got = np.asarray(jax.jit(mono.perron_upper)(jnp.asarray(c)))
  assert np.all(got >= top) and np.all(got <= 1.05 * top)
  np.testing.assert_array_equal(got[50:60], 0.0)


def test_vertex_floor_is_below_the_full_vertex_bounds():
  """alpha_vertex_floor (cheap lower slice norms, Perron-Frobenius) never exceeds the SVD or
  fast vertex bound, and is not vacuous (> 40% of it on uniform games)."""
  game = dst.make_game("uniform", 7, (2, 3, 2), batch_shape=(8,))
  w = jnp.asarray(np.random.default_rng(1).uniform(0.2, 3.0, (8, 3)))
  floor = jax.jit(mono.alpha_vertex_floor)
  for weights in (None, w):
    lo = np.asarray(floor(game, weights))
    for fast in (False, True):
      up = np.asarray(mono.alpha_vertex_bound(game, weights, fast=fast))
      assert np.all(lo <= up) and np.all(lo > 0.4 * up)
