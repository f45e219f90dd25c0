"""Build a causal LM module for an :class:`~dice_jax.llm.config.LMConfig`.

Every model class shares one call signature::

    logits, cache = model(input_ids, positions, key_mask, cache=None, cache_index=0)

(see :class:`~dice_jax.llm.llama.LlamaForCausalLM`), so generation, scoring and LoRA code is
architecture-agnostic.
"""

from __future__ import annotations

import jax.numpy as jnp
from flax import nnx

from dice_jax.llm.attention import KVCache, init_cache
from dice_jax.llm.config import LMConfig
from dice_jax.llm.gpt2 import GPT2LMHeadModel
from dice_jax.llm.llama import LlamaForCausalLM

__all__ = ["build_model", "abstract_model", "new_cache", "CausalLM"]

CausalLM = LlamaForCausalLM | GPT2LMHeadModel

_FAMILIES = {"llama": LlamaForCausalLM, "gpt2": GPT2LMHeadModel}


def build_model(cfg: LMConfig, *, rngs: nnx.Rngs | None = None, dtype=jnp.float32):
  """A randomly initialised model of ``cfg``'s family (``rngs`` defaults to ``nnx.Rngs(0)``)."""
  try:
    cls = _FAMILIES[cfg.family]
  except KeyError:
    raise ValueError(f"unknown model family {cfg.family!r}; known: {sorted(_FAMILIES)}") from None
  return cls(cfg, rngs=rngs if rngs is not None else nnx.Rngs(0), dtype=dtype)


def abstract_model(cfg: LMConfig, *, dtype=jnp.float32):
  """The model with ``jax.ShapeDtypeStruct`` leaves (no memory allocated), for loaders."""
  return nnx.eval_shape(lambda: build_model(cfg, rngs=nnx.Rngs(0), dtype=dtype))


def new_cache(cfg: LMConfig, *, batch: int, max_len: int, dtype=jnp.float32) -> KVCache:
  """A zero KV cache with ``max_len`` slots for ``batch`` sequences."""
  return init_cache(
    num_layers=cfg.num_layers,
    batch=batch,
    max_len=max_len,
    kv_heads=cfg.num_kv_heads,
    head_dim=cfg.head_dim,
    dtype=dtype,
  )
