"""Rotary position embeddings (RoPE), computed exactly as transformers does.

RoPE (Su et al. 2021, "RoFormer", arXiv:2104.09864) rotates each pair of query/key features
``(x_i, x_{i+d/2})`` by the angle ``p * inv_freq_i`` where ``p`` is the token position and
``inv_freq_i = θ^(-2i/d)``. transformers uses the "rotate half" pairing (feature ``i`` with
``i + d/2``), not the interleaved pairing of the original paper and of llama.cpp; GGUF
checkpoints are un-permuted on load (see :mod:`dice_jax.llm.loaders_gguf`).

Scalings:

* ``linear`` (Chen et al. 2023, arXiv:2306.15595): ``inv_freq / factor``.
* ``llama3`` (Llama 3.1; transformers ``_compute_llama3_parameters``): wavelengths longer than
  ``original_max_position_embeddings / low_freq_factor`` are divided by ``factor``, shorter than
  ``... / high_freq_factor`` kept, and the band in between smoothly interpolated.

The inverse frequencies are computed in float32 with the same operation order as
transformers' ``modeling_rope_utils.py`` so that logits agree to float32 round-off.
"""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np

from dice_jax.llm.config import RopeConfig
from dice_jax.llm.errors import UnsupportedModelError

__all__ = ["rope_inv_freq", "rope_cos_sin", "apply_rope"]


def rope_inv_freq(rope: RopeConfig, head_dim: int) -> np.ndarray:
  """Inverse frequencies ``inv_freq`` of shape ``[head_dim // 2]`` (float32 numpy array)."""
  exponents = np.arange(0, head_dim, 2, dtype=np.int64).astype(np.float32) / np.float32(head_dim)
  inv_freq = (np.float32(1.0) / np.power(np.float32(rope.theta), exponents)).astype(np.float32)
  if rope.rope_type == "default":
    return inv_freq
  if rope.rope_type == "linear":
    return (inv_freq / np.float32(rope.factor)).astype(np.float32)
  if rope.rope_type == "llama3":
    factor = np.float32(rope.factor)
    old_len = rope.original_max_position_embeddings
    low_wavelen = old_len / rope.low_freq_factor
    high_wavelen = old_len / rope.high_freq_factor
    wavelen = (np.float32(2 * math.pi) / inv_freq).astype(np.float32)
    scaled = np.where(wavelen > low_wavelen, inv_freq / factor, inv_freq).astype(np.float32)
    smooth = (
      (np.float32(old_len) / wavelen - np.float32(rope.low_freq_factor))
      / np.float32(rope.high_freq_factor - rope.low_freq_factor)
    ).astype(np.float32)
    smoothed = ((1 - smooth) * scaled / factor + smooth * scaled).astype(np.float32)
    medium = ~(wavelen < high_wavelen) & ~(wavelen > low_wavelen)
    return np.where(medium, smoothed, scaled).astype(np.float32)
  raise UnsupportedModelError(f"RoPE type {rope.rope_type!r} is not supported")


def rope_cos_sin(positions: jnp.ndarray, inv_freq: jnp.ndarray) -> tuple[jnp.ndarray, jnp.ndarray]:
  """``cos`` and ``sin`` tables of shape ``positions.shape + (head_dim,)`` in float32.

  ``freqs = positions * inv_freq`` is concatenated with itself (the rotate-half layout).
  """
  freqs = positions.astype(jnp.float32)[..., None] * inv_freq.astype(jnp.float32)
  emb = jnp.concatenate([freqs, freqs], axis=-1)
  return jnp.cos(emb), jnp.sin(emb)


def apply_rope(x: jnp.ndarray, cos: jnp.ndarray, sin: jnp.ndarray) -> jnp.ndarray:
  """Rotate ``x`` of shape ``[B, T, heads, head_dim]`` by tables of shape ``[B, T, head_dim]``.

  Computes ``x * cos + rotate_half(x) * sin`` with ``rotate_half(x) = concat(-x2, x1)``.
  """
  half = x.shape[-1] // 2
  x1, x2 = x[..., :half], x[..., half:]
  rotated = jnp.concatenate([-x2, x1], axis=-1)
  cos = cos[:, :, None, :].astype(x.dtype)
  sin = sin[:, :, None, :].astype(x.dtype)
  return x * cos + rotated * sin
