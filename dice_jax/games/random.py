"""Random game families for tests and benchmarks; every function takes a ``jax.random`` key.

Payoff entries are drawn in ``[-1, 1]`` so temperatures are comparable across families.
"""

from __future__ import annotations

from typing import Sequence

import jax
import jax.numpy as jnp

from dice_jax.games.normal_form import NormalFormGame


def _shape(num_actions, batch_shape):
  return (*tuple(batch_shape), *tuple(num_actions))


def uniform(key, num_actions: Sequence[int], batch_shape=(), dtype=None) -> NormalFormGame:
  """General-sum: every player's payoffs i.i.d. uniform on [-1, 1]."""
  keys = jax.random.split(key, len(num_actions))
  shape = _shape(num_actions, batch_shape)
  return NormalFormGame(
    tuple(jax.random.uniform(k, shape, dtype or float, -1.0, 1.0) for k in keys)
  )


def zero_sum(key, num_actions: Sequence[int], batch_shape=(), dtype=None) -> NormalFormGame:
  """Two-player zero-sum: ``U_1`` uniform on [-1, 1], ``U_2 = -U_1``. Monotone (alpha = 0)."""
  if len(num_actions) != 2:
    raise ValueError(f"num_actions must have 2 entries for a zero-sum game; got {num_actions}.")
  a = jax.random.uniform(key, _shape(num_actions, batch_shape), dtype or float, -1.0, 1.0)
  return NormalFormGame((a, -a))


def perturbed_zero_sum(
  key, num_actions: Sequence[int], epsilon: float, batch_shape=(), dtype=None
) -> NormalFormGame:
  """Zero-sum plus a common-interest perturbation of size ``epsilon``: ``U_1 = A + eps C``,
  ``U_2 = -A + eps C`` with ``C`` uniform on [-1, 1]. Then ``U_1 + U_2 = 2 eps C``, so the
  monotonicity constant grows linearly in ``epsilon`` (DESIGN §4)."""
  k1, k2 = jax.random.split(key)
  g = zero_sum(k1, num_actions, batch_shape, dtype)
  c = jax.random.uniform(k2, g.payoffs[0].shape, g.dtype, -1.0, 1.0)
  return NormalFormGame((g.payoffs[0] + epsilon * c, g.payoffs[1] + epsilon * c))


def coordination(key, num_actions: Sequence[int], batch_shape=(), dtype=None) -> NormalFormGame:
  """Common interest with a random positive bonus on the diagonal joint actions (``a_i`` all
  equal) and small noise elsewhere: several strict equilibria, one per convention."""
  n = min(num_actions)
  shape = _shape(num_actions, batch_shape)
  k1, k2 = jax.random.split(key)
  noise = jax.random.uniform(k1, shape, dtype or float, -0.1, 0.1)
  idx = jnp.indices(tuple(num_actions))
  diag = jnp.all(idx == idx[0], axis=0) & (idx[0] < n)
  bonus = jax.random.uniform(
    k2, (*tuple(batch_shape), *([1] * len(num_actions))), dtype or float, 0.5, 1.0
  )
  u = noise + bonus * diag
  return NormalFormGame(tuple(u for _ in num_actions))


def potential(key, num_actions: Sequence[int], batch_shape=(), dtype=None) -> NormalFormGame:
  """Exact potential game: ``U_i = Phi + W_i(a_{-i})`` with a common potential ``Phi`` and
  terms ``W_i`` that do not depend on player i's own action (so they do not move incentives)."""
  keys = jax.random.split(key, len(num_actions) + 1)
  shape = _shape(num_actions, batch_shape)
  b = len(tuple(batch_shape))
  phi = jax.random.uniform(keys[0], shape, dtype or float, -0.5, 0.5)
  out = []
  for i, k in enumerate(keys[1:]):
    w_shape = list(shape)
    w_shape[b + i] = 1
    out.append(phi + jax.random.uniform(k, tuple(w_shape), dtype or float, -0.5, 0.5))
  return NormalFormGame(tuple(jnp.broadcast_to(u, shape) for u in out))
