"""Causal grouped-query attention over a fixed-size key/value cache.

The cache holds ``keys`` and ``values`` arrays of shape
``[layers, batch, max_len, kv_heads, head_dim]`` (stacked over layers, so the decoder layers can
run as one ``lax.scan``, see :mod:`dice_jax.llm.layer_stack`); new keys/values are written at slot ``cache_index``
with ``lax.dynamic_update_slice``, so every decoding step has the same shapes and one compiled
program serves the whole generation (the standard static KV cache, cf. Pope et al. 2022,
"Efficiently Scaling Transformer Inference", arXiv:2211.05102).

Masking: query ``t`` of the current chunk sits at slot ``cache_index + t`` and may attend to key
slot ``s`` iff ``s <= cache_index + t`` (causal) and ``key_mask[b, s]`` (not padding). Grouped-query
attention (Ainslie et al. 2023, arXiv:2305.13245) shares each key/value head among
``heads // kv_heads`` query heads without materialising repeated keys. Scores and the softmax are
computed in float32 with the row maximum subtracted; masked scores are set to the most negative
finite float32, so a fully masked (padding) query row gives finite, ignored outputs instead of NaN.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

__all__ = ["KVCache", "init_cache", "attention_mask", "grouped_query_attention", "update_cache"]


class KVCache(NamedTuple):
  """Key and value buffers stacked over layers, each ``[L, B, S, kv_heads, head_dim]``
  (``keys[i]`` is layer ``i``'s ``[B, S, kv_heads, head_dim]`` buffer)."""

  keys: jax.Array
  values: jax.Array


def init_cache(
  *, num_layers: int, batch: int, max_len: int, kv_heads: int, head_dim: int, dtype=jnp.float32
) -> KVCache:
  """An all-zero cache for ``max_len`` slots."""
  shape = (num_layers, batch, max_len, kv_heads, head_dim)
  return KVCache(keys=jnp.zeros(shape, dtype), values=jnp.zeros(shape, dtype))


def attention_mask(key_mask: jax.Array, num_queries: int, cache_index) -> jax.Array:
  """Boolean mask ``[B, T, S]``: causal (slot ``s <= cache_index + t``) and ``key_mask[b, s]``."""
  num_keys = key_mask.shape[1]
  q_slot = cache_index + jnp.arange(num_queries)[:, None]
  causal = jnp.arange(num_keys)[None, :] <= q_slot
  return causal[None, :, :] & key_mask[:, None, :].astype(bool)


def update_cache(buf: jax.Array, new: jax.Array, cache_index) -> jax.Array:
  """Write ``new`` ``[B, T, H, D]`` into ``buf`` ``[B, S, H, D]`` at slot ``cache_index``."""
  idx = jnp.asarray(cache_index, jnp.int32)
  zero = jnp.zeros((), jnp.int32)
  return jax.lax.dynamic_update_slice(buf, new.astype(buf.dtype), (zero, idx, zero, zero))


def grouped_query_attention(
  q: jax.Array, k: jax.Array, v: jax.Array, mask: jax.Array, scale: float
) -> jax.Array:
  """softmax(q kᵀ · scale, masked) v with grouped key/value heads.

  Args:
    q: ``[B, T, H, D]`` queries.
    k, v: ``[B, S, KH, D]`` keys and values, ``H % KH == 0``.
    mask: ``[B, T, S]`` booleans, True where attention is allowed.
    scale: the score multiplier (``head_dim ** -0.5`` for standard attention).

  Returns:
    ``[B, T, H, D]`` in the dtype of ``q``.
  """
  b, t, h, d = q.shape
  kh = k.shape[2]
  g = h // kh
  qg = q.reshape(b, t, kh, g, d)
  scores = jnp.einsum("btkgd,bskd->bkgts", qg, k, preferred_element_type=jnp.float32)
  scores = scores.astype(jnp.float32) * jnp.float32(scale)
  big_neg = jnp.finfo(jnp.float32).min
  scores = jnp.where(mask[:, None, None, :, :], scores, big_neg)
  scores = scores - jax.lax.stop_gradient(jnp.max(scores, axis=-1, keepdims=True))
  weights = jnp.exp(scores)
  weights = weights / jnp.sum(weights, axis=-1, keepdims=True)
  out = jnp.einsum("bkgts,bskd->btkgd", weights.astype(v.dtype), v)
  return out.reshape(b, t, h, d).astype(q.dtype)
