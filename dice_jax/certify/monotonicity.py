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
  ``sqrt(||.||_1 ||.||_inf)``: a few passes, looser, still rigorous).
  """
  c = slices.pair_bound_matrix(game.payoffs, _batch_ndim(game), weights, fast=fast, cheap=cheap)
  n = c.shape[-1]
  eps = jnp.finfo(c.dtype).eps
  lam = jnp.linalg.eigvalsh(c)[..., -1]
  return (lam + 2 * n * eps * jnp.sqrt(jnp.sum(jnp.square(c), axis=(-2, -1)))) / 2


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
  2nd ed., Thm 8.1.18), and every Rayleigh quotient ``u^T C_low u / u^T u`` (here after four
  power steps from ``1``) is at most ``lambda_max(C_low)``. Reduced by the relative
  :data:`ROUNDING_SLACK` for the rounding of both computations. Shape ``(*batch,)``.
  """
  c = slices.pair_bound_matrix(game.payoffs, _batch_ndim(game), weights, cheap=True, lower=True)
  tiny = jnp.finfo(c.dtype).tiny
  u = jnp.ones(c.shape[:-1], c.dtype)
  for _ in range(4):
    u = jnp.einsum("...ij,...j->...i", c, u)
    u = u / jnp.maximum(jnp.max(u, axis=-1, keepdims=True), tiny)
  quotient = jnp.einsum("...i,...ij,...j->...", u, c, u) / jnp.maximum(
    jnp.sum(jnp.square(u), -1), tiny
  )
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
  fro = jnp.sqrt(jnp.sum(jnp.square(s), axis=(-2, -1)))
  t = threshold - ROUNDING_SLACK * (jnp.abs(threshold) + fro)
  chol = jnp.linalg.cholesky(t[..., None, None] * jnp.eye(n, dtype=s.dtype) - s)
  diag = jnp.diagonal(chol, axis1=-2, axis2=-1)
  return jnp.all(jnp.isfinite(chol), axis=(-2, -1)) & jnp.all(diag > 0, axis=-1)


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


def rayleigh_lower(s: jax.Array, iterations: int = 24) -> jax.Array:
  """A lower bound on ``lambda_max`` of a symmetric ``s`` (or a stack ``(..., n, n)``) without
  an eigensolver: the Rayleigh quotient ``v^T s v / v^T v`` (``<= lambda_max`` for every ``v``)
  after power iterations on the shifted ``s + ||s||_F I`` (positive semidefinite, same top
  eigenvector). A stack is flattened to one leading axis, so each product is one batched
  matrix-vector product (``vmap`` of the single-matrix version ran far slower on CPU)."""
  lead, n = s.shape[:-2], s.shape[-1]
  s = s.reshape(-1, n, n)
  tiny = jnp.finfo(s.dtype).tiny
  shift = jnp.sqrt(jnp.sum(jnp.square(s), axis=(-2, -1)))
  m = s + shift[:, None, None] * jnp.eye(n, dtype=s.dtype)
  v = jnp.broadcast_to(jnp.ones((n,), s.dtype) + 0.1 * jnp.arange(n, dtype=s.dtype), (len(s), n))
  for _ in range(iterations):
    v = jnp.einsum("zij,zj->zi", m, v)
    v = v / jnp.maximum(jnp.sqrt(jnp.sum(jnp.square(v), axis=-1, keepdims=True)), tiny)
  quotient = jnp.einsum("zi,zij,zj->z", v, s, v) / jnp.maximum(jnp.sum(jnp.square(v), -1), tiny)
  return quotient.reshape(lead)


def multilinear_projected_jacobians(
  payoffs, batch_ndim: int, profiles, weights: Optional[jax.Array] = None
) -> jax.Array:
  """``Q^T sym(W J(x_k)) Q`` of a (batched) normal-form game at K profiles at once, shape
  ``(*batch, K, D - N, D - N)``, from its payoff tensors (no automatic differentiation).

  For a multilinear game ``J_ii = 0`` and ``J_ij(x)[a_i, a_j] = sum_{a_{-ij}} U_i[a]
  prod_{k != i, j} x_k[a_k]`` (the slice combination of :mod:`dice_jax.certify.slices`), so
  block ``(i, j)`` of ``sym(W J)`` is ``(w_i J_ij + w_j J_ji^T) / 2``, projected as
  ``Q_i^T . Q_j``. The same matrix as :func:`projected_symmetric_jacobian` (up to rounding),
  computed as batched matrix products over the flattened batch.

  Args:
    payoffs: the game's payoff tensors, each ``(*batch, n_1, ..., n_N)``.
    batch_ndim: number of batch axes.
    profiles: per player ``(*batch, K, n_i)``.
    weights: optional ``(*batch, N)`` player weights.
  """
  n_players = len(payoffs)
  batch = payoffs[0].shape[:batch_ndim]
  sizes = payoffs[0].shape[batch_ndim:]
  k = profiles[0].shape[-2]
  dtype = payoffs[0].dtype

  size = math.prod(batch)
  flat = tuple(p.reshape(size, k, -1) for p in profiles)

  @functools.lru_cache(maxsize=None)
  def block(i, j):  # J_ij at every profile, (size, K, n_i, n_j)
    # U_i as a (n_i n_j) x (prod of the others' n) matrix per game, against the outer
    # product of the others' profiles: one batched matrix product per block.
    u = jnp.moveaxis(payoffs[i], (batch_ndim + i, batch_ndim + j), (batch_ndim, batch_ndim + 1))
    u = u.reshape(size, sizes[i] * sizes[j], -1)
    w = jnp.ones((size, k, 1), dtype)
    for m in range(n_players):
      if m not in (i, j):
        w = (w[..., :, None] * flat[m][..., None, :]).reshape(size, k, -1)
    return jnp.einsum("zrs,zks->zkr", u, w).reshape(size, k, sizes[i], sizes[j])

  q = [helmert_basis(n, dtype) for n in sizes]
  w = None if weights is None else jnp.asarray(weights, dtype).reshape(size, n_players)
  rows = []
  for i in range(n_players):
    row = []
    for j in range(n_players):
      if i == j:
        row.append(jnp.zeros((size, k, sizes[i] - 1, sizes[j] - 1), dtype))
        continue
      jij, jji = block(i, j), jnp.swapaxes(block(j, i), -1, -2)
      if w is not None:
        jij = jij * w[:, i, None, None, None]
        jji = jji * w[:, j, None, None, None]
      row.append(jnp.einsum("zkab,ap,bq->zkpq", (jij + jji) / 2, q[i], q[j]))
    rows.append(jnp.concatenate(row, axis=-1))
  out = jnp.concatenate(rows, axis=-2)
  return out.reshape(*batch, *out.shape[1:])


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
) -> MonotonicityBounds:
  """All bounds for a (batched) game at temperatures ``(*batch, N)``; traceable, no checks.

  ``profiles``: per player ``(*batch, K, n_i)`` sample profiles for the lower bounds. For a
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
  one = jnp.ones_like(tmin)
  profiles = tuple(jnp.broadcast_to(p, (*batch, *p.shape[-2:])) for p in profiles)
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
    lo, k, below = _sampled_and_below(game, profiles, None, tmin, fast, cheap and rigorous)
    if equal_temperatures:
      wlo, wk, wbelow = lo * w[..., 0], k, below
    else:
      wlo, wk, wbelow = _sampled_and_below(game, profiles, w, one, fast, cheap and rigorous)
    if rigorous:
      up = alpha_vertex_bound(game, fast=fast, cheap=cheap)
      wup = (
        up * w[..., 0]
        if equal_temperatures
        else alpha_vertex_bound(game, w, fast=fast, cheap=cheap)
      )
    else:
      up = jnp.full(batch, jnp.inf, dtype)
      wup = jnp.full(batch, jnp.inf, dtype)
    if cheap and rigorous:
      floor = alpha_vertex_floor(game)
      wfloor = floor * w[..., 0] if equal_temperatures else alpha_vertex_floor(game, w)
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


def _sampled_and_below(game, profiles, weights, threshold, fast, test):
  """``(alpha_lower, index, below)`` of :func:`alpha_sampled`; with ``test`` (a normal-form
  game) the projected symmetric Jacobians are built once and ``below`` says, by
  :func:`spectrum_below`, that ``lambda_max < threshold`` at every profile (the full
  computation's ``eigvalsh`` included); otherwise ``below = alpha_lower < threshold``."""
  if not test:
    lo, k = alpha_sampled(game, profiles, weights, fast=fast)
    return lo, k, lo < threshold
  s = multilinear_projected_jacobians(game.payoffs, _batch_ndim(game), profiles, weights)
  values = _lambda_max_or_lower(s, fast)
  k = jnp.argmax(values, axis=-1)
  lo = jnp.take_along_axis(values, k[..., None], axis=-1)[..., 0]
  below = jnp.all(spectrum_below(s, threshold[..., None]), axis=-1)
  return lo, k, below


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
