"""The tangent space of a product of simplices, and batch-axis plumbing shared by certify/.

``T = T_1 x ... x T_N`` with ``T_i = {d in R^{n_i} : sum_a d[a] = 0}``; ``P_i = I - 11^T / n_i``
is the orthogonal projector onto ``T_i``. Where an orthonormal basis is needed we use the
Helmert basis ``Q_i`` (``n_i x (n_i - 1)``, ``Q_i^T Q_i = I``, ``Q_i Q_i^T = P_i``), so that
``lambda_max`` of ``P S P`` restricted to ``T`` is ``lambda_max(Q^T S Q)`` (negative values
included, unlike ``lambda_max(P S P)`` on the whole space, which is never below 0).
"""

from __future__ import annotations

import math
from typing import Callable, Sequence, Tuple

import jax
import jax.numpy as jnp
import numpy as np


def helmert_basis(n: int, dtype=None) -> jax.Array:
  """Orthonormal basis of ``{d : sum d = 0}`` in ``R^n``, shape ``(n, n - 1)``.

  Column ``k`` (1-based) is ``(1, ..., 1, -k, 0, ..., 0) / sqrt(k (k + 1))`` with ``k`` ones.
  """
  q = np.zeros((n, max(n - 1, 0)))
  for k in range(1, n):
    q[:k, k - 1] = 1.0
    q[k, k - 1] = -k
    q[:, k - 1] /= math.sqrt(k * (k + 1))
  return jnp.asarray(q, dtype=dtype or jnp.result_type(float))


def block_basis(num_actions: Sequence[int], dtype=None) -> jax.Array:
  """Block-diagonal ``Q = diag(Q_1, ..., Q_N)``, shape ``(sum n_i, sum (n_i - 1))``."""
  return jax.scipy.linalg.block_diag(*[helmert_basis(n, dtype) for n in num_actions])


def project(d: jax.Array) -> jax.Array:
  """``P_i d``: subtract the mean over the last axis."""
  return d - jnp.mean(d, axis=-1, keepdims=True)


def flatten_profile(profile) -> jax.Array:
  return jnp.concatenate(list(profile), axis=-1)


def split_profile(y: jax.Array, num_actions: Sequence[int]) -> Tuple[jax.Array, ...]:
  return tuple(jnp.split(y, np.cumsum(num_actions)[:-1], axis=-1))


def map_batch(fn: Callable, batch_shape: Tuple[int, ...], *args):
  """Apply the single-game ``fn`` to every game of a batch (``vmap`` over the flattened batch
  axes of every array leaf of ``args``), restoring the batch axes on the outputs."""
  if not batch_shape:
    return fn(*args)
  size = math.prod(batch_shape)
  nb = len(batch_shape)
  flat = jax.tree_util.tree_map(lambda x: x.reshape((size, *x.shape[nb:])), args)
  out = jax.vmap(fn)(*flat)
  return jax.tree_util.tree_map(lambda x: x.reshape((*batch_shape, *x.shape[1:])), out)
