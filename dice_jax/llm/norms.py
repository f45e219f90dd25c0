"""Normalisation layers with Hugging Face parameter names (``weight``, ``bias``).

* :class:`RMSNorm` (Zhang & Sennrich 2019, arXiv:1910.07467), as transformers' ``LlamaRMSNorm``:
  ``weight * (x / sqrt(mean(x²) + eps))`` with the statistics in float32 and the normalised
  activations cast back to the input dtype before the scale.
* :class:`LayerNorm` (Ba et al. 2016, arXiv:1607.06450), as ``torch.nn.LayerNorm``:
  ``(x - mean) / sqrt(var + eps) * weight + bias`` with the biased variance.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

__all__ = ["RMSNorm", "LayerNorm"]


class RMSNorm(nnx.Module):
  """Root-mean-square normalisation over the last axis, scale initialised to one."""

  def __init__(self, dim: int, *, eps: float, param_dtype=jnp.float32):
    self.eps = eps
    self.weight = nnx.Param(jnp.ones((dim,), param_dtype))

  def __call__(self, x: jax.Array) -> jax.Array:
    dtype = x.dtype
    h = x.astype(jnp.float32)
    var = jnp.mean(h * h, axis=-1, keepdims=True)
    h = h * jax.lax.rsqrt(var + self.eps)
    return self.weight[...] * h.astype(dtype)


class LayerNorm(nnx.Module):
  """Layer normalisation over the last axis with learned scale and bias (statistics in float32)."""

  def __init__(self, dim: int, *, eps: float, param_dtype=jnp.float32):
    self.eps = eps
    self.weight = nnx.Param(jnp.ones((dim,), param_dtype))
    self.bias = nnx.Param(jnp.zeros((dim,), param_dtype))

  def __call__(self, x: jax.Array) -> jax.Array:
    dtype = x.dtype
    h = x.astype(jnp.float32)
    mean = jnp.mean(h, axis=-1, keepdims=True)
    var = jnp.mean(jnp.square(h - mean), axis=-1, keepdims=True)
    h = (h - mean) * jax.lax.rsqrt(var + self.eps)
    return (h * self.weight[...] + self.bias[...]).astype(dtype)
