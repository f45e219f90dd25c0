"""Monotonicity constants of a game and the margins that certify a unique HQRE (DESIGN §4).

Write ``V(x) = (v_1(x), ..., v_N(x))``, ``J(x)`` its Jacobian, ``T`` the tangent space of the
product of simplices and ``P`` its projector. With player weights ``w_i > 0`` (``W = diag(w)``):

    alpha_W = sup_x lambda_max( P sym(W J(x)) P |_T ),     sym(A) = (A + A^T) / 2,

``alpha = alpha_W`` for ``w = 1``. Then for all profiles x, y (mean value theorem on the
segment, which stays in the product of simplices)

    <W (V(x) - V(y)), x - y>  <=  alpha_W ||x - y||_2^2.                                  (1)

**Margins.** With ``F_tau(x) = -V(x) + tau (log x - log rho)`` and
``<log x_i - log y_i, x_i - y_i> = KL(x_i||y_i) + KL(y_i||x_i) >= ||x_i - y_i||_1^2 >=
||x_i - y_i||_2^2`` (Pinsker, twice):

* ``mu = min_i tau_i - alpha``:  ``<F(x) - F(y), x - y> >= mu ||x - y||^2``;
* ``mu_W = 1 - alpha_W`` with ``w_i = 1 / tau_i``:  ``<W (F(x) - F(y)), x - y> >= mu_W ||x - y||^2``.

Either ``> 0`` (from a rigorous *upper* bound on ``alpha``) makes ``F_tau`` strongly monotone on
``T``, so the HQRE (the zero of ``P F_tau``, a variational inequality on the product of
simplices) is unique (Facchinei & Pang, *Finite-Dimensional Variational Inequalities and
Complementarity Problems*, Thm 2.3.3; for games, Rosen, Econometrica 1965).

**Bounds computed here.**

* Two players (``v_1 = A y``, ``v_2 = B^T x``): ``J`` is constant, ``sym(W J)`` has off-diagonal
  block ``(w_1 A + w_2 B) / 2`` and zero diagonal blocks, whose projected spectrum is
  ``+- sigma(P_1 (w_1 A + w_2 B) P_2) / 2``, so ``alpha_W = sigma_max(P_1 (w_1 A + w_2 B) P_2) / 2``
  exactly (:func:`alpha_two_player`). Zero-sum: ``A + B = 0``, ``alpha = 0``.
* N players, multilinear (:func:`alpha_vertex_bound`): with ``c_ij`` the largest projected slice
  norm of ``w_i U_i + w_j U_j`` (:mod:`dice_jax.certify.slices`) and ``C`` the symmetric matrix
  of the ``c_ij`` (zero diagonal, since ``v_i`` does not depend on ``x_i``), for ``d in T``:
  ``d^T sym(W J) d = sum_{i<j} d_i^T (w_i J_ij + w_j J_ji^T) d_j
  <= sum_{i<j} c_ij ||d_i|| ||d_j|| = (1/2) n^T C n <= lambda_max(C) / 2 ||d||^2`` with
  ``n = (||d_i||)_i``. So ``alpha_W <= lambda_max(C) / 2``; for two players this is the exact value.
* Any differentiable game (:func:`alpha_sampled`): ``lambda_max(Q^T sym(W J(x)) Q)`` at sampled
  profiles, ``J`` from the payoff tensors for a normal-form game
  (:func:`multilinear_projected_jacobians`), else by ``jax.jacfwd`` of the game's ``utilities``. Each value is a *lower* bound on
  ``alpha_W``: it can refute monotonicity, never certify it.

For a multilinear game the diagonal blocks of ``J`` vanish, so ``sym(J)`` has zero trace on ``T``
and ``alpha >= 0``: normal-form games are at best monotone (zero-sum), never strictly. When
every player has a single action, ``T = {0}`` and we set ``alpha = 0`` (the value the
two-player formula gives, ``sigma_max`` of an empty matrix): the only profile is the HQRE.
"""

from __future__ import annotations

import functools
import math
from typing import Optional, Tuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from dice_jax.certify import slices
from dice_jax.certify._tangent import (
  block_basis,
  flatten_profile,
  helmert_basis,
  map_batch,
  split_profile,
)
from dice_jax.games.normal_form import NormalFormGame


def is_multilinear(game) -> bool:
  """Whether the rigorous slice bounds apply (the game is a :class:`NormalFormGame`)."""
  return isinstance(game, NormalFormGame)


def _batch_ndim(game) -> int:
  return len(getattr(game, "batch_shape", ()))


@jax.jit
def alpha_two_player(game: NormalFormGame, weights: Optional[jax.Array] = None) -> jax.Array:
  """Exact ``alpha_W = sigma_max(P_1 (w_1 A + w_2 B) P_2) / 2`` of a two-player game.

  Args:
    game: a two-player :class:`NormalFormGame`, possibly batched.
    weights: optional ``(*batch, 2)`` player weights (``1 / tau`` for the weighted variant).

  Returns:
    ``alpha_W``, shape ``(*batch,)``, as computed (no rounding allowance).

  Example:
    >>> from dice_jax.games import matching_pennies
    >>> float(alpha_two_player(matching_pennies()))
    0.0
  """
  if game.num_players != 2:
    raise ValueError(f"game must have 2 players for the exact formula; got {game.num_players}.")
  m = slices.pair_slices(game.payoffs, _batch_ndim(game), 0, 1, weights)[..., 0, :, :]
  return slices.projected_norms(m, exact=True) / 2


@functools.partial(jax.jit, static_argnames=("fast", "cheap"))
def alpha_vertex_bound(
  game: NormalFormGame,
  weights: Optional[jax.Array] = None,
  *,
  fast: bool = False,
  cheap: bool = False,
) -> jax.Array:
  """Rigorous upper bound ``lambda_max(C) / 2 >= alpha_W`` for an N-player normal-form game.

  Includes rounding allowances (see :mod:`dice_jax.certify.slices`), so it is an upper bound on
  the exact ``alpha_W`` of the stored payoffs, not only on a rounded value. Shape ``(*batch,)``.
  ``fast=True`` bounds the slice norms with :func:`dice_jax.certify.slices.sigma_max_bounds`
  (matrix products instead of one SVD per slice; a slightly larger, still rigorous bound);
  ``cheap=True`` with :func:`dice_jax.certify.slices.cheap_norm_bounds` (Frobenius and
  ``sqrt(||.||_1 ||.||_inf)``: a few passes, looser, still rigorous) and ``lambda_max(C)``
  by the Collatz-Wielandt bound of :func:`perron_upper` instead of ``eigvalsh``.
  """
  c = slices.pair_bound_matrix(game.payoffs, _batch_ndim(game), weights, fast=fast, cheap=cheap)
  n = c.shape[-1]
  eps = jnp.finfo(c.dtype).eps
  lam = perron_upper(c) if cheap else jnp.linalg.eigvalsh(c)[..., -1]
  return (lam + 2 * n * eps * jnp.sqrt(jnp.sum(jnp.square(c), axis=(-2, -1)))) / 2


def _perron_vector(c: jax.Array, iterations: int = 4) -> jax.Array:
  """A positive vector near the Perron vector of a nonnegative ``c`` ``(..., n, n)``: power
  steps from ``1``, each lifted by ``1e-3`` of its largest entry (plus ``tiny``) so that no
  entry reaches 0 (a zero row, e.g. a player with one action)."""
  tiny = jnp.finfo(c.dtype).tiny
  u = jnp.ones(c.shape[:-1], c.dtype)
  for _ in range(iterations):
    u = jnp.einsum("...ij,...j->...i", c, u)
    u = u / jnp.maximum(jnp.max(u, axis=-1, keepdims=True), tiny) + 1e-3
  return u


def perron_upper(c: jax.Array) -> jax.Array:
  """An upper bound on ``lambda_max`` of a symmetric nonnegative ``c`` ``(..., n, n)`` without
  an eigensolver: ``lambda_max(c) = rho(c) <= max_i (c u)_i / u_i`` for every positive ``u``
  (the Collatz-Wielandt bound; Horn & Johnson, *Matrix Analysis*, 2nd ed., Thm 8.1.26), here
  ``u`` from :func:`_perron_vector`. Every term of ``(c u)_i`` is nonnegative, so its rounding
  is at most a relative ``n eps``; the result is raised by ``(n + 2) eps`` of itself."""
  n = c.shape[-1]
  u = _perron_vector(c)
  ratio = jnp.max(jnp.einsum("...ij,...j->...i", c, u) / u, axis=-1)
  return ratio * (1 + (n + 2) * jnp.finfo(c.dtype).eps)


ROUNDING_SLACK = 1e-9
"""Relative slack by which tier-1 claims about the full computation's floating-point results
stay clear of them (:func:`alpha_vertex_floor`, :func:`spectrum_below`): far above the rounding
of either computation (``~ n^2 eps``), far below any margin that matters."""


def alpha_vertex_floor(game: NormalFormGame, weights: Optional[jax.Array] = None) -> jax.Array:
  """A lower bound on the value :func:`alpha_vertex_bound` returns (with or without ``fast``),
  from a few passes over the payoffs: where it is ``>= min tau`` the full bound cannot certify.

  ``C_low`` (:func:`dice_jax.certify.slices.pair_bound_matrix` with ``cheap=True,
  lower=True``) is entrywise between 0 and the ``C`` of the full bound (each entry is at most the
  true largest slice norm, each entry of ``C`` at least that), so by Perron-Frobenius
  monotonicity ``lambda_max(C_low) <= lambda_max(C)`` (Horn & Johnson, *Matrix Analysis*,
  2nd ed., Thm 8.1.18), and every Rayleigh quotient ``u^T C_low u / u^T u`` (here ``u`` from
  :func:`_perron_vector`) is at most ``lambda_max(C_low)``. Reduced by the relative
  :data:`ROUNDING_SLACK` for the rounding of both computations. Shape ``(*batch,)``.
  """
  c = slices.pair_bound_matrix(game.payoffs, _batch_ndim(game), weights, cheap=True, lower=True)
  u = _perron_vector(c)
  quotient = jnp.einsum("...i,...ij,...j->...", u, c, u) / jnp.sum(jnp.square(u), -1)
  return quotient / 2 * (1 - ROUNDING_SLACK)


def spectrum_below(s: jax.Array, threshold: jax.Array) -> jax.Array:
  """Whether ``lambda_max(s) < threshold`` for a symmetric ``s`` (or a stack ``(..., n, n)``,
  ``threshold`` broadcast against ``s.shape[:-2]``), decided so that the answer also holds for
  the value ``eigvalsh`` computes: ``True`` only when the Cholesky factorisation of
  ``t I - s`` succeeds with ``t = threshold - ROUNDING_SLACK (|threshold| + ||s||_F)``.

  A Cholesky factorisation that runs to completion in floating point is that of ``A + E`` with
  ``||E||_2 <= c n^2 eps ||A||_2`` (Demmel, *On floating point errors in Cholesky*, LAPACK
  Working Note 14, 1989; Higham, *Accuracy and Stability*, 2nd ed., Thm 10.3), so ``t I - s`` is
  positive definite up to that, ``lambda_max(s) < t + c n^2 eps ||A||``, and the computed
  eigenvalues are within ``c n eps ||s||`` of the exact ones (Weyl): both far inside the slack.
  ``False`` says nothing (the caller computes the eigenvalue). An empty ``s`` (``n = 0``, all
  players with one action) has ``lambda_max = 0`` by the convention of this module.
  """
  n = s.shape[-1]
  if n == 0:
    return jnp.broadcast_to(threshold > 0, s.shape[:-2])
  return _cholesky_ok(s, _shifted_threshold(s, threshold))


def _shifted_threshold(s, threshold):
  """``t = threshold - ROUNDING_SLACK (|threshold| + ||s||_F)`` of :func:`spectrum_below`."""
  fro = jnp.sqrt(jnp.sum(jnp.square(s), axis=(-2, -1)))
  return threshold - ROUNDING_SLACK * (jnp.abs(threshold) + fro)


def _cholesky_ok(s, t):
  """Whether the Cholesky factorisation of ``t I - s`` succeeds (finite, positive pivots)."""
  chol = jnp.linalg.cholesky(t[..., None, None] * jnp.eye(s.shape[-1], dtype=s.dtype) - s)
  diag = jnp.diagonal(chol, axis1=-2, axis2=-1)
  return jnp.all(jnp.isfinite(chol), axis=(-2, -1)) & jnp.all(diag > 0, axis=-1)


def spectra_below(s: jax.Array, threshold: jax.Array, blocks, budget: int = 64) -> jax.Array:
  """:func:`spectrum_below` for a stack ``s`` ``(..., n, n)`` (``threshold`` broadcast against
  ``s.shape[:-2]``), with a cheaper sufficient test first. For blocks of sizes ``blocks``
  (summing to ``n``) and ``d = (d_i)``: ``d^T s d <= sum_ij ||s_ij||_2 ||d_i|| ||d_j||
  <= lambda_max(B) ||d||^2`` with ``B_ij = ||s_ij||_F``, so the Collatz-Wielandt bound
  :func:`perron_upper` of ``B`` below the shifted threshold proves ``lambda_max(s) <
  threshold`` without a factorisation (for the projected symmetric Jacobians of uniform 4^4
  games well below the margin it settles ~99% of them). The Cholesky factorisation then runs on
  the (at most ``budget``) matrices the block bound leaves, gathered; on every matrix when
  more are left (``lax.cond``)."""
  lead, n = s.shape[:-2], s.shape[-1]
  if n == 0:
    return jnp.broadcast_to(threshold > 0, lead)
  flat = s.reshape(-1, n, n)
  t = _shifted_threshold(flat, jnp.broadcast_to(threshold, lead).reshape(-1))
  ind = np.zeros((n, len(blocks)))
  ind[np.arange(n), np.repeat(np.arange(len(blocks)), blocks)] = 1.0
  ind = jnp.asarray(ind, s.dtype)
  b = jnp.sqrt(jnp.einsum("ap,zab,bq->zpq", ind, jnp.square(flat), ind))
  margin = perron_upper(b) - t  # < 0: proved below
  size = flat.shape[0]
  budget = min(budget, size)

  def few():
    idx = jax.lax.top_k(margin, budget)[1]  # every matrix left by the block bound
    ok = margin < 0
    return ok.at[idx].set(ok[idx] | _cholesky_ok(flat[idx], t[idx]))

  def every():
    return (margin < 0) | _cholesky_ok(flat, t)

  ok = jax.lax.cond(jnp.sum(margin >= 0) <= budget, few, every)
  return ok.reshape(lead)


@jax.jit
def projected_symmetric_jacobian(game, profile, weights: Optional[jax.Array] = None) -> jax.Array:
  """``Q^T sym(W J(x)) Q`` at one profile of one (unbatched) game, by ``jax.jacfwd``.

  ``J(x)`` is the Jacobian of ``x -> (v_1(x), ..., v_N(x))`` from ``game.utilities``; ``Q`` the
  block Helmert basis of ``T``. Shape ``(D - N, D - N)``, ``D = sum n_i``.
  """
  num_actions = tuple(game.num_actions)
  x = flatten_profile(profile)

  def v(y):
    return flatten_profile(game.utilities(split_profile(y, num_actions)))

  jac = jax.jacfwd(v)(x)
  if weights is not None:
    w = jnp.concatenate([jnp.full((n,), weights[i], x.dtype) for i, n in enumerate(num_actions)])
    jac = w[:, None] * jac
  q = block_basis(num_actions, x.dtype)
  return q.T @ ((jac + jac.T) / 2) @ q


@functools.partial(jax.jit, static_argnames=("num_actions", "num_samples", "dtype"))
def sample_profiles(
  key, num_actions, num_samples: int, dtype=None, concentration: float = 1.0
) -> Tuple[jax.Array, ...]:
  """``num_samples`` interior profiles: the uniform profile first, then random draws.

  A draw is ``x_i ∝ E^(1 / concentration)`` with ``E`` i.i.d. standard exponential: Dirichlet(1)
  for ``concentration = 1``, closer to the vertices (where the N-player sup of the vertex bound
  lives) for smaller values. Any interior profiles give valid lower bounds; these are cheap to
  compile (``jax.random.dirichlet`` costs seconds of compilation).

  Returns one array per player, shape ``(num_samples, n_i)``.
  """
  dtype = dtype or jnp.result_type(float)
  keys = jax.random.split(key, len(num_actions))
  out = []
  for k, n in zip(keys, num_actions):
    e = jax.random.exponential(k, (num_samples, n), dtype)
    logw = jnp.log(jnp.maximum(e, jnp.finfo(dtype).tiny)) / concentration
    draws = jax.nn.softmax(logw, axis=-1)
    draws = jnp.maximum(draws, jnp.finfo(dtype).tiny)
    draws = draws / jnp.sum(draws, axis=-1, keepdims=True)
    out.append(draws.at[0].set(jnp.full((n,), 1.0 / n, dtype)))
  return tuple(out)


def rayleigh_lower(s: jax.Array, iterations: int = 16, normalize_every: int = 8) -> jax.Array:
  """A lower bound on ``lambda_max`` of a symmetric ``s`` (or a stack ``(..., n, n)``) without
  an eigensolver: the Rayleigh quotient ``v^T s v / v^T v`` (``<= lambda_max`` for every ``v``)
  after ``iterations`` power steps on ``m = s / ||s||_F + I / 2``. Its eigenvalues
  ``lambda / ||s||_F + 1/2`` lie in ``[-1/2, 3/2]``; when ``lambda_max >= 0`` (every projected
  symmetric Jacobian of a normal-form game: zero trace) the top one has the largest modulus,
  since ``|lambda_min| <= ||s||_F``, so the iteration converges to the top eigenvector. ``v``
  grows at most ``1.5^8`` over 8 steps, so it is normalised only every ``normalize_every``
  steps and each step is one batched matrix-vector product. The bound is valid for any
  ``iterations``; more only make it tighter. A stack is flattened to one leading axis
  (``vmap`` of the single-matrix version ran far slower on CPU)."""
  lead, n = s.shape[:-2], s.shape[-1]
  s = s.reshape(-1, n, n)
  tiny = jnp.finfo(s.dtype).tiny
  fro = jnp.sqrt(jnp.sum(jnp.square(s), axis=(-2, -1)))
  m = s / jnp.maximum(fro, tiny)[:, None, None] + 0.5 * jnp.eye(n, dtype=s.dtype)
  v = jnp.broadcast_to(jnp.ones((n,), s.dtype) + 0.1 * jnp.arange(n, dtype=s.dtype), (len(s), n))
  for step in range(iterations):
    v = jnp.einsum("zij,zj->zi", m, v)
    if (step + 1) % normalize_every == 0:
      v = v / jnp.maximum(jnp.sqrt(jnp.sum(jnp.square(v), axis=-1, keepdims=True)), tiny)
  quotient = jnp.einsum("zi,zij,zj->z", v, s, v) / jnp.maximum(jnp.sum(jnp.square(v), -1), tiny)
  return quotient.reshape(lead)


def multilinear_projected_jacobians(
  payoffs, batch_ndim: int, profiles, weights: Optional[jax.Array] = None, shared=None
) -> jax.Array:
  """``Q^T sym(W J(x_k)) Q`` of a (batched) normal-form game at K profiles at once, shape
  ``(*batch, K, D - N, D - N)``, from its payoff tensors (no automatic differentiation).

  For a multilinear game ``J_ii = 0`` and ``J_ij(x)[a_i, a_j] = sum_{a_{-ij}} U_i[a]
  prod_{k != i, j} x_k[a_k]`` (the slice combination of :mod:`dice_jax.certify.slices`), so
  block ``(i, j)`` of ``sym(W J)`` is ``(w_i J_ij + w_j J_ji^T) / 2``: half the combination of
  the slices of ``M_ij = w_i U_i + w_j U_j`` (:func:`dice_jax.certify.slices.pair_slices`), and
  block ``(j, i)`` its transpose. The unordered pairs whose slices share a shape are handled
  together (:func:`dice_jax.certify.slices.stacked_pair_slices`): their slices are combined
  with the outer products of the others' profiles (:func:`_combine_slices`, the ``shared`` and
  the games' own profiles alike), projected by one matrix product with ``Q_i (x) Q_j`` (the
  projection is linear, so it commutes with the combination), halved, and every block and its
  transpose concatenated into place. The same matrix as :func:`projected_symmetric_jacobian`
  (up to rounding).

  Args:
    payoffs: the game's payoff tensors, each ``(*batch, n_1, ..., n_N)``.
    batch_ndim: number of batch axes.
    profiles: per player ``(*batch, K, n_i)``.
    weights: optional ``(*batch, N)`` player weights.
    shared: optional per player ``(K_s, n_i)`` profiles shared by every game, taken before
      ``profiles`` (the result has ``K_s + K`` profiles).
  """
  n_players = len(payoffs)
  batch = payoffs[0].shape[:batch_ndim]
  sizes = payoffs[0].shape[batch_ndim:]
  dtype = payoffs[0].dtype
  size = math.prod(batch)
  flat = tuple(p.reshape(size, p.shape[-2], -1) for p in profiles)
  k = flat[0].shape[1] + (0 if shared is None else shared[0].shape[0])
  dims = [n - 1 for n in sizes]
  d = sum(dims)

  def outer(profs, lead, i, j):  # the outer product of the others' profiles, (*lead, rest)
    w = jnp.ones((*lead, 1), dtype)
    for m in range(n_players):
      if m not in (i, j):
        w = (w[..., :, None] * profs[m][..., None, :]).reshape(*lead, -1)
    return w

  groups = {}  # pairs whose slices share a shape: one stack, one projection, one contraction
  for i in range(n_players):
    for j in range(i + 1, n_players):
      if dims[i] and dims[j]:
        groups.setdefault((sizes[i], sizes[j]), []).append((i, j))
  blocks = {}
  for (ni, nj), pairs in groups.items():
    m = slices.stacked_pair_slices(payoffs, batch_ndim, pairs, weights)
    m = m.reshape(len(pairs), size, -1, ni * nj)  # (pairs, size, slices, n_i n_j)
    combined = []  # with the profiles' outer products, (pairs, size, k, n_i n_j)
    if shared is not None:
      w = jnp.stack([outer(shared, shared[0].shape[:1], i, j) for i, j in pairs])
      combined.append(_combine_slices(m, w[:, None]))
    if flat[0].shape[1]:
      w = jnp.stack([outer(flat, flat[0].shape[:2], i, j) for i, j in pairs])
      combined.append(_combine_slices(m, w))
    q = jnp.kron(helmert_basis(ni, dtype), helmert_basis(nj, dtype))
    m = 0.5 * (jnp.concatenate(combined, axis=2) @ q)  # (pairs, size, k, d_i d_j)
    for p, (i, j) in enumerate(pairs):
      blocks[i, j] = m[p].reshape(size, k, ni - 1, nj - 1)
  if not blocks:
    return jnp.zeros((*batch, k, d, d), dtype)
  live = [i for i in range(n_players) if dims[i]]

  def block(i, j):  # block (i, j) of sym(W J): (w_i J_ij + w_j J_ji^T) / 2, or its transpose
    if (i, j) in blocks:
      return blocks[i, j]
    if (j, i) in blocks:
      return jnp.swapaxes(blocks[j, i], -1, -2)
    return jnp.zeros((size, k, dims[i], dims[j]), dtype)

  out = jnp.concatenate(
    [jnp.concatenate([block(i, j) for j in live], axis=-1) for i in live], axis=-2
  )
  return out.reshape(*batch, k, d, d)


def _combine_slices(m: jax.Array, w: jax.Array) -> jax.Array:
  """``sum_s w[..., k, s] m[..., s, e]`` for slices ``m`` ``(..., S, E)`` and weights ``w``
  ``(..., K, S)`` (leading axes broadcast), shape ``(..., K, E)``: term by term over a short
  slice axis (one loop that XLA fuses; the slice axis sits between the batch and the entries,
  where a matrix product would first transpose the whole stack), else by ``einsum``."""
  if m.shape[-2] > slices.SHORT_AXIS:
    return jnp.einsum("...ks,...se->...ke", w, m)
  return functools.reduce(
    jnp.add, [w[..., :, s, None] * m[..., None, s, :] for s in range(m.shape[-2])]
  )


def _sampled_one(game, profiles, weights, fast=False):
  """Max over the leading sample axis of ``profiles`` of ``lambda_max``, and its index."""

  def lam(*prof):
    s = projected_symmetric_jacobian(game, prof, weights)
    if s.shape[0] == 0:  # every player has one action: T = {0}, alpha = 0 as for two players
      return jnp.asarray(0.0, s.dtype)
    return rayleigh_lower(s) if fast else jnp.linalg.eigvalsh(s)[-1]

  values = jax.vmap(lam)(*profiles)
  k = jnp.argmax(values)
  return values[k], k


@functools.partial(jax.jit, static_argnames=("fast",))
def alpha_sampled(game, profiles, weights: Optional[jax.Array] = None, *, fast: bool = False):
  """Sampled lower bound ``max_k lambda_max(P sym(W J(x_k)) P) <= alpha_W`` for any game.

  Normal-form games build all K matrices at once from the payoff tensors
  (:func:`multilinear_projected_jacobians`); other games use ``jax.jacfwd`` per profile
  (:func:`projected_symmetric_jacobian`).

  Args:
    game: any game implementing ``num_actions`` and ``utilities`` (differentiable in the
      profile), possibly with ``batch_shape``.
    profiles: per player an array ``(*batch, K, n_i)`` (or ``(K, n_i)``, shared by the batch)
      of K interior profiles.
    weights: optional ``(*batch, N)`` player weights.
    fast: use :func:`rayleigh_lower` (power iteration, still a lower bound) instead of
      ``eigvalsh``.

  Returns:
    ``(alpha_lower, index)``: the bound, shape ``(*batch,)``, and the index of the profile that
    attains it.
  """
  batch = tuple(getattr(game, "batch_shape", ()))
  profiles = tuple(jnp.broadcast_to(p, (*batch, *p.shape[-2:])) for p in profiles)
  if is_multilinear(game):
    s = multilinear_projected_jacobians(game.payoffs, len(batch), profiles, weights)
    values = _lambda_max_or_lower(s, fast)
    k = jnp.argmax(values, axis=-1)
    return jnp.take_along_axis(values, k[..., None], axis=-1)[..., 0], k
  if weights is None:
    return map_batch(lambda g, p: _sampled_one(g, p, None, fast), batch, game, profiles)
  return map_batch(lambda g, p, w: _sampled_one(g, p, w, fast), batch, game, profiles, weights)


def _lambda_max_or_lower(s, fast):
  """``lambda_max`` of a stack (``eigvalsh``) or, ``fast``, its :func:`rayleigh_lower` bound."""
  if s.shape[-1] == 0:  # every player has one action: T = {0}, alpha = 0 as for two players
    return jnp.zeros(s.shape[:-2], s.dtype)
  return rayleigh_lower(s) if fast else jnp.linalg.eigvalsh(s)[..., -1]


@struct.dataclass
class MonotonicityBounds:
  """Bounds on ``alpha`` and ``alpha_W`` (``w = 1 / tau``) and the margins they give.

  Attributes:
    alpha_upper: rigorous upper bound on ``alpha`` (``inf`` when the game offers none).
    alpha_lower: sampled lower bound on ``alpha``.
    weighted_alpha_upper, weighted_alpha_lower: the same for ``alpha_W``.
    margin: ``mu = min tau - alpha_upper`` (``-inf`` without a rigorous bound).
    weighted_margin: ``mu_W = 1 - weighted_alpha_upper``.
    exact: whether ``alpha_upper`` is the exact value up to rounding (two players).
    rigorous: whether ``alpha_upper`` is a rigorous bound (multilinear games).
    evidence: the sampled profile attaining ``alpha_lower`` (per player, ``(*batch, n_i)``).
    weighted_evidence: the one attaining ``weighted_alpha_lower``.
    alpha_upper_floor, weighted_alpha_upper_floor: lower bounds on the ``alpha_upper`` and
      ``weighted_alpha_upper`` that the full computation (``cheap=False``, same ``fast``)
      returns for this game (equal to them when this is the full computation).
    below_min_temperature: the ``alpha_lower`` the full computation returns is ``< min tau``
      (proved at every sampled profile by :func:`spectrum_below` in the cheap tier);
      weighted_below_one: its ``weighted_alpha_lower`` is ``< 1``. With the floors these let
      the cheap tier settle ``margin_not_positive`` without the full computation.
  """

  alpha_upper: jax.Array
  alpha_lower: jax.Array
  weighted_alpha_upper: jax.Array
  weighted_alpha_lower: jax.Array
  margin: jax.Array
  weighted_margin: jax.Array
  exact: jax.Array
  rigorous: jax.Array
  evidence: Tuple[jax.Array, ...]
  weighted_evidence: Tuple[jax.Array, ...]
  alpha_upper_floor: jax.Array
  weighted_alpha_upper_floor: jax.Array
  below_min_temperature: jax.Array
  weighted_below_one: jax.Array


@functools.partial(jax.jit, static_argnames=("fast", "cheap", "equal_temperatures"))
def monotonicity_bounds(
  game,
  temperature: jax.Array,
  profiles,
  *,
  fast: bool = False,
  cheap: bool = False,
  equal_temperatures: bool = False,
  shared_profiles=None,
) -> MonotonicityBounds:
  """All bounds for a (batched) game at temperatures ``(*batch, N)``; traceable, no checks.

  ``profiles``: per player ``(*batch, K, n_i)`` sample profiles for the lower bounds;
  ``shared_profiles`` (optional): per player ``(K_s, n_i)`` more of them, shared by every game
  and counted before ``profiles`` (the cheap tier builds their Jacobians in one product). For a
  two-player normal-form game ``J`` is constant, so the lower bound is the exact value (what
  :func:`alpha_sampled` returns at any profile; a test checks this) and no sampling is done.
  With ``fast=True`` no SVD or eigensolver runs: slice norms come from
  :func:`dice_jax.certify.slices.sigma_max_bounds` and sampled eigenvalues from
  :func:`rayleigh_lower` -- still rigorous upper and valid lower bounds, a few percent apart
  (``exact`` is then ``False``). ``cheap=True`` is the first tier of
  :func:`dice_jax.certify.certify`: slice norms from
  :func:`dice_jax.certify.slices.cheap_norm_bounds` and, for N players, the sampled bound at
  every given profile with :func:`rayleigh_lower` (a Rayleigh quotient: never above the
  eigenvalue the full computation finds at the same profile).
  ``equal_temperatures=True`` (the caller promises ``tau_1 = ... = tau_N`` in every game):
  then ``W = I / tau`` and ``alpha_W = alpha / tau`` exactly, and every bound here is
  positively homogeneous, so the weighted bounds are the unweighted ones divided by ``tau``
  (half the work).

  The cheap tier also bounds what the full computation would return (the ``*_floor`` and
  ``*below*`` fields): :func:`alpha_vertex_floor` from below, and the sampled eigenvalues from
  above by :func:`spectrum_below` at every profile (two players: the cheap lower and upper
  slice bounds). Where the floors reach ``min tau`` and ``1`` and the samples stay below, the
  full computation's verdict is ``margin_not_positive`` too.
  """
  batch = tuple(getattr(game, "batch_shape", ()))
  tau = jnp.asarray(temperature)
  dtype = tau.dtype
  w = 1.0 / tau
  tmin = jnp.min(tau, axis=-1)
  own = tuple(jnp.broadcast_to(p, (*batch, *p.shape[-2:])) for p in profiles)
  profiles = own
  if shared_profiles is not None:
    profiles = tuple(
      jnp.concatenate([jnp.broadcast_to(d, (*batch, *d.shape)), p], axis=-2)
      for d, p in zip(shared_profiles, own)
    )
  take = lambda idx: tuple(
    jnp.take_along_axis(p, idx[..., None, None], axis=-2)[..., 0, :] for p in profiles
  )
  rigorous = is_multilinear(game)
  two = rigorous and len(game.num_actions) == 2
  exact = two and not fast and not cheap
  fast = fast or cheap
  if two:
    # J is constant: the exact value is the lower bound at every profile (no sampling needed;
    # alpha_sampled equals it, which a test checks); the evidence is the last given profile.
    up, lo = _two_player_bounds(game, None, fast, cheap)
    if equal_temperatures:
      wup, wlo = up * w[..., 0], lo * w[..., 0]
    else:
      wup, wlo = _two_player_bounds(game, w, fast, cheap)
    last = jnp.full(batch, profiles[0].shape[-2] - 1, jnp.int32)
    k = wk = last
    if cheap:  # the full lower bound (sigma / 2 as computed) is at most the cheap upper bound
      floor, wfloor = lo * (1 - ROUNDING_SLACK), wlo * (1 - ROUNDING_SLACK)
      below = up < tmin * (1 - ROUNDING_SLACK)
      wbelow = wup < 1 - ROUNDING_SLACK
  else:
    if cheap and rigorous:
      up, wup, lo, k, wlo, wk, floor, wfloor, below, wbelow = _cheap_tier(
        game, own, shared_profiles, w, tmin, equal_temperatures
      )
    else:
      lo, k = alpha_sampled(game, profiles, fast=fast)
      if equal_temperatures:
        wlo, wk = lo * w[..., 0], k
      else:
        wlo, wk = alpha_sampled(game, profiles, w, fast=fast)
      if rigorous:
        up = alpha_vertex_bound(game, fast=fast)
        wup = up * w[..., 0] if equal_temperatures else alpha_vertex_bound(game, w, fast=fast)
      else:
        up = jnp.full(batch, jnp.inf, dtype)
        wup = jnp.full(batch, jnp.inf, dtype)
  if not cheap or not rigorous:
    floor, wfloor = up, wup
    below, wbelow = lo < tmin, wlo < 1
  return MonotonicityBounds(
    alpha_upper=up,
    alpha_lower=lo,
    weighted_alpha_upper=wup,
    weighted_alpha_lower=wlo,
    margin=tmin - up,
    weighted_margin=1.0 - wup,
    exact=jnp.full(batch, exact),
    rigorous=jnp.full(batch, rigorous),
    evidence=take(k),
    weighted_evidence=take(wk),
    alpha_upper_floor=floor,
    weighted_alpha_upper_floor=wfloor,
    below_min_temperature=below,
    weighted_below_one=wbelow,
  )


def _cheap_tier(game, profiles, shared, w, tmin, equal_temperatures):
  """The N-player cheap tier of :func:`monotonicity_bounds`: ``(up, wup, lo, k, wlo, wk, floor,
  wfloor, below, wbelow)``. The projected symmetric Jacobians are built once for the Rayleigh
  quotients and the :func:`spectrum_below` tests; the tests (the only Cholesky factorisations)
  run only when some game is left undecided by the other bounds (``lax.cond``; their results
  are ``False`` otherwise, and unused)."""
  nb = _batch_ndim(game)
  one = jnp.ones_like(tmin)

  def sampled(weights):
    s = multilinear_projected_jacobians(game.payoffs, nb, profiles, weights, shared)
    values = _lambda_max_or_lower(s, True)
    k = jnp.argmax(values, axis=-1)
    return s, jnp.take_along_axis(values, k[..., None], axis=-1)[..., 0], k

  s, lo, k = sampled(None)
  up = alpha_vertex_bound(game, cheap=True)
  floor = alpha_vertex_floor(game)
  if equal_temperatures:
    sw, wlo, wk, wup, wfloor = None, lo * w[..., 0], k, up * w[..., 0], floor * w[..., 0]
  else:
    sw, wlo, wk = sampled(w)
    wup, wfloor = alpha_vertex_bound(game, w, cheap=True), alpha_vertex_floor(game, w)
  open_ = ~(up < tmin) & ~(wup < 1) & ~((lo >= tmin) & (wlo >= 1))

  blocks = [k - 1 for k in game.num_actions]

  def tests():
    below = jnp.all(spectra_below(s, tmin[..., None], blocks), axis=-1)
    wbelow = below if sw is None else jnp.all(spectra_below(sw, one[..., None], blocks), axis=-1)
    return below, wbelow

  def skip():
    false = jnp.zeros(tmin.shape, bool)
    return false, false

  below, wbelow = jax.lax.cond(jnp.any(open_), tests, skip)
  return up, wup, lo, k, wlo, wk, floor, wfloor, below, wbelow


def _two_player_bounds(game, weights, fast=False, cheap=False):
  """``(upper, lower)`` for a two-player game from one SVD per game: ``lower`` is the computed
  ``sigma_max / 2``, ``upper`` adds the rounding allowance of :mod:`dice_jax.certify.slices`.
  ``fast``: the SVD-free bounds of :func:`dice_jax.certify.slices.sigma_max_bounds`;
  ``cheap``: those of :func:`dice_jax.certify.slices.cheap_norm_bounds`."""
  m = slices.pair_slices(game.payoffs, _batch_ndim(game), 0, 1, weights)[..., 0, :, :]
  if cheap:
    lo, up = slices.cheap_norm_bounds(m)
    return up / 2, lo / 2
  if fast:
    lo, up = slices.sigma_max_bounds(m)
    return up / 2, lo / 2
  s = slices.projected_norms(m, exact=True)
  ni, nj = m.shape[-2:]
  eps = jnp.finfo(m.dtype).eps
  allowance = 4 * (ni + nj) * eps * jnp.sqrt(jnp.sum(jnp.square(m), axis=(-2, -1)))
  return (s + allowance) / 2, s / 2
