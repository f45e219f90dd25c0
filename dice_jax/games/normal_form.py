"""N-player normal-form games with leading batch dimensions."""

from __future__ import annotations

import math
from typing import Tuple

import jax
import jax.numpy as jnp
from flax import struct

from dice_jax import _validation
from dice_jax.games.base import Profile


@struct.dataclass
class NormalFormGame:
  """An N-player normal-form game, or a batch of games of one shape.

  ``payoffs[i]`` is player i's payoff tensor ``U_i`` of shape ``(*batch, n_1, ..., n_N)``,
  indexed by the joint action. The utility vector of player i at a mixed profile x is the
  multilinear contraction (DESIGN §2)

      v_i(x)[a_i] = sum_{a_{-i}} U_i[a_i, a_{-i}] prod_{j != i} x_j[a_j],

  computed with one ``einsum`` per player (a batched mat-vec for two players).

  A registered pytree: ``jax.vmap`` over a batched game maps its leading axis.

  Example:
    >>> import jax.numpy as jnp
    >>> g = NormalFormGame.from_arrays([[1., -1.], [-1., 1.]], [[-1., 1.], [1., -1.]])
    >>> g.num_actions
    (2, 2)
    >>> [v.tolist() for v in g.utilities((jnp.array([.5, .5]), jnp.array([.5, .5])))]
    [[0.0, 0.0], [0.0, 0.0]]
  """

  payoffs: Tuple[jax.Array, ...]

  @classmethod
  def from_arrays(cls, *payoffs, dtype=None) -> "NormalFormGame":
    """Build a game from one payoff array per player, checking shapes and values.

    Args:
      *payoffs: N >= 2 arrays, each of shape ``(*batch, n_1, ..., n_N)``; a single argument
        is read as the sequence of per-player arrays (a list, or an array with a leading
        player axis).
      dtype: optional floating dtype; default: the JAX default float type.

    Raises:
      TypeError: payoffs that are not real numbers (text, ``None``, complex, objects).
      ValueError: fewer than two players, ragged or differing shapes, fewer than ``N`` axes,
        an empty action set, NaN/inf payoffs, or payoffs beyond the range of ``dtype`` (the
        message names the argument).
    """
    if len(payoffs) == 1:  # one argument: a sequence of per-player arrays (or a stacked array)
      first = payoffs[0]
      try:
        if isinstance(first, (str, bytes, dict)):
          raise TypeError
        payoffs = tuple(first)
      except TypeError:
        raise TypeError(
          f"payoffs must hold one array per player; got {type(first).__name__}."
        ) from None
    n = len(payoffs)
    if n < 2:
      raise ValueError(f"payoffs must hold one array per player for N >= 2 players; got {n}.")
    dtype = dtype or jnp.result_type(float)
    arrays = []
    for i, p in enumerate(payoffs):
      a = _validation.real_array(f"payoffs[{i}]", p)
      if _validation.is_concrete(a):
        _validation.require_finite(f"payoffs[{i}]", a)
        _validation.fits_dtype(f"payoffs[{i}]", a, dtype)
      arrays.append(jnp.asarray(a, dtype=dtype))
    shape = arrays[0].shape
    for i, a in enumerate(arrays):
      if a.shape != shape:
        raise ValueError(
          f"payoffs[{i}] has shape {a.shape} but payoffs[0] has shape {shape}; every player's "
          "payoff tensor is indexed by the full joint action and must have the same shape."
        )
    if len(shape) < n:
      raise ValueError(
        f"payoffs[0] has {len(shape)} axes but a {n}-player game needs at least {n} "
        "(one per player, after any batch axes)."
      )
    if any(k < 1 for k in shape[len(shape) - n :]):
      raise ValueError(
        f"payoffs have an empty action set: action counts {shape[len(shape) - n :]}."
      )
    for i, a in enumerate(arrays):
      _validation.require_finite(f"payoffs[{i}]", a)
    return cls(payoffs=tuple(arrays))

  @property
  def num_players(self) -> int:
    return len(self.payoffs)

  @property
  def num_actions(self) -> Tuple[int, ...]:
    return tuple(self.payoffs[0].shape[-self.num_players :])

  @property
  def batch_shape(self) -> Tuple[int, ...]:
    return tuple(self.payoffs[0].shape[: -self.num_players])

  @property
  def dtype(self):
    return self.payoffs[0].dtype

  def utilities(self, profile: Profile) -> Profile:
    """Utility vectors ``(v_1(x), ..., v_N(x))``; works with or without batch axes.

    For player i the trailing axes (players j > i) are contracted last-first as matrix-vector
    products and then the leading axes first-first as vector-matrix products, so every
    contraction is one GEMV over a reshaped, never transposed, tensor, which XLA lowers to its
    dot kernels; the equivalent ``einsum`` lowered to a fused loop that measured 2-3x slower
    on CPU for batches of 32x32 games.
    """
    n = self.num_players
    out = []
    for i, u in enumerate(self.payoffs):
      t = u
      for j in reversed(range(i + 1, n)):  # trailing axes: matrix-vector products
        t = _contract_last(t, profile[j])
      for j in range(i):  # leading axes: vector-matrix products
        t = _contract_first(t, profile[j], i + 1 - j)
      out.append(t)
    return tuple(out)

  def payoff_halfrange(self) -> jax.Array:
    """``h_i = (max U_i - min U_i) / 2`` per player, shape ``(*batch, N)``.

    Because ``x_j - x'_j`` sums to zero, subtracting the mid-range from ``U_i`` changes no
    utility difference, so ``||v_i(x) - v_i(x')||_inf <= h_i sum_{j != i} ||x_j - x'_j||_1``.
    """
    axes = tuple(range(-self.num_players, 0))
    return jnp.stack([(u.max(axis=axes) - u.min(axis=axes)) / 2 for u in self.payoffs], axis=-1)

  def expected_payoffs(self, profile: Profile) -> jax.Array:
    """``u_i(x) = <x_i, v_i(x)>`` for every player, shape ``(*batch, N)``."""
    v = self.utilities(profile)
    return jnp.stack([jnp.sum(x * vi, axis=-1) for x, vi in zip(profile, v)], axis=-1)

  def __getitem__(self, index) -> "NormalFormGame":
    """Index the batch axes: ``games[3]`` is the fourth game of a batch."""
    if not self.batch_shape:
      raise IndexError("this game has no batch axes to index")
    return NormalFormGame(payoffs=tuple(u[index] for u in self.payoffs))

  def astype(self, dtype) -> "NormalFormGame":
    """The game in another dtype; ``ValueError`` if a payoff overflows it (1e300 in float32)."""
    for i, u in enumerate(self.payoffs):
      _validation.fits_dtype(f"payoffs[{i}]", u, dtype)
    return NormalFormGame(payoffs=tuple(u.astype(dtype) for u in self.payoffs))


def _contract_last(t: jax.Array, x: jax.Array) -> jax.Array:
  """``sum_a t[..., a] x[a]`` as a matrix-vector product over ``t`` viewed as ``(*batch, P, n)``."""
  return (t @ x.reshape(*x.shape[:-1], *(1,) * (t.ndim - x.ndim - 1), x.shape[-1], 1))[..., 0]


def _contract_first(t: jax.Array, x: jax.Array, m: int) -> jax.Array:
  """Contract the first of the ``m`` trailing game axes of ``t`` with ``x``: a vector-matrix
  product over ``t`` viewed as ``(*batch, n, S)``."""
  batch, game = t.shape[: t.ndim - m], t.shape[t.ndim - m :]
  t2 = t.reshape(*batch, game[0], math.prod(game[1:]))
  return (x[..., None, :] @ t2)[..., 0, :].reshape(*batch, *game[1:])
