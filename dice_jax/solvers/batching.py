"""Run a per-game function over any number of batch axes, in cache-sized vmapped chunks.

Every family's ``solve`` (normal-form, Markov, Bayesian, observation) maps its one-game solve
with :func:`map_batch`: the batch axes are flattened, the games run as one ``jax.vmap`` when
they fit in :data:`CHUNK_BYTES`, otherwise as a ``lax.map`` over vmapped chunks, and the axes
are restored on every output leaf.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Tuple

import jax
from jax import lax

CHUNK_BYTES = 1 << 22


def chunk_size(tree, size: int) -> int:
  """Games per vmapped chunk: about ``CHUNK_BYTES`` (4 MiB) of the games' arrays (a power of
  two, >= 8), for a ``tree`` whose leaves carry ``size`` games on their leading axis.

  A batched while-loop streams every game's payoffs through memory at each step; 2-8 MiB chunks
  measured 1.4-1.7x more games/s than one 1024-game loop (32x32 and 50x50, float64, 2-core
  CPU), and each chunk stops as soon as its own games have converged.
  """
  leaves = jax.tree_util.tree_leaves(tree)
  per_game = sum(l.size // size * l.dtype.itemsize for l in leaves) if size else 1
  chunk = max(8, CHUNK_BYTES // max(per_game, 1))
  return min(size, 1 << (chunk.bit_length() - 1))


def map_batch(
  fn: Callable[..., Any], args: Tuple, batch_shape: Tuple[int, ...], chunk_of: Any = None
):
  """``fn(*args)`` for every game of a batch: flatten ``batch_shape``, map over cache-sized
  vmapped chunks (:func:`chunk_size` of ``chunk_of``, default ``args[0]``), restore the axes.

  Every leaf of ``args`` carries the batch axes first. Traceable (the chunking is decided at
  trace time from the shapes).
  """
  if not batch_shape:
    return fn(*args)
  size = math.prod(batch_shape)
  flat = lambda x: x.reshape((size, *x.shape[len(batch_shape) :]))
  args = jax.tree_util.tree_map(flat, tuple(args))
  chunk = chunk_size(args[0] if chunk_of is None else jax.tree_util.tree_map(flat, chunk_of), size)
  if chunk >= size:
    out = jax.vmap(fn)(*args)
  else:
    out = lax.map(lambda a: fn(*a), args, batch_size=chunk)
  return jax.tree_util.tree_map(lambda x: x.reshape((*batch_shape, *x.shape[1:])), out)
