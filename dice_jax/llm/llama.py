"""The Llama family as a Flax NNX module: Llama 2/3, SmolLM2, Qwen2.

One implementation with options read from :class:`~dice_jax.llm.config.LMConfig`: RMSNorm,
rotary embeddings (default / linear / llama3 scaling), grouped-query attention, a SwiGLU MLP
(Shazeer 2020, arXiv:2002.05202), q/k/v biases (Qwen2), optional ``attention_bias`` /
``mlp_bias`` (Llama), tied or untied output embeddings.

Module and parameter names mirror transformers' ``LlamaForCausalLM`` / ``Qwen2ForCausalLM``
(``model.layers[i].self_attn.q_proj`` …), so a checkpoint key maps onto a path by renaming
``weight`` to ``kernel`` (transposed: PyTorch stores ``[out, in]``, ``nnx.Linear`` ``[in, out]``)
or ``embedding``. Reference: transformers ``models/llama/modeling_llama.py`` (v5.x);
Touvron et al. 2023 (arXiv:2302.13971, 2307.09288).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from dice_jax.llm.attention import KVCache, attention_mask, grouped_query_attention, update_cache
from dice_jax.llm.config import LMConfig
from dice_jax.llm.layer_stack import run_layers
from dice_jax.llm.norms import RMSNorm
from dice_jax.llm.rope import apply_rope, rope_cos_sin, rope_inv_freq

__all__ = ["LlamaForCausalLM"]


def _linear(cfg_in: int, cfg_out: int, bias: bool, rngs: nnx.Rngs, dtype) -> nnx.Linear:
  return nnx.Linear(cfg_in, cfg_out, use_bias=bias, param_dtype=dtype, dtype=dtype, rngs=rngs)


class LlamaAttention(nnx.Module):
  def __init__(self, cfg: LMConfig, *, rngs: nnx.Rngs, dtype):
    self.num_heads, self.num_kv_heads, self.head_dim = cfg.num_heads, cfg.num_kv_heads, cfg.head_dim
    self.scale = cfg.attention_scale
    self.q_proj = _linear(
      cfg.hidden_size, cfg.num_heads * cfg.head_dim, cfg.attention_bias, rngs, dtype
    )
    self.k_proj = _linear(
      cfg.hidden_size, cfg.num_kv_heads * cfg.head_dim, cfg.attention_bias, rngs, dtype
    )
    self.v_proj = _linear(
      cfg.hidden_size, cfg.num_kv_heads * cfg.head_dim, cfg.attention_bias, rngs, dtype
    )
    self.o_proj = _linear(cfg.num_heads * cfg.head_dim, cfg.hidden_size, cfg.o_bias, rngs, dtype)

  def __call__(self, x, cos, sin, key_mask, kv, cache_index):
    b, t, _ = x.shape
    q = self.q_proj(x).reshape(b, t, self.num_heads, self.head_dim)
    k = self.k_proj(x).reshape(b, t, self.num_kv_heads, self.head_dim)
    v = self.v_proj(x).reshape(b, t, self.num_kv_heads, self.head_dim)
    q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
    if kv is not None:
      k = update_cache(kv[0], k, cache_index)
      v = update_cache(kv[1], v, cache_index)
    mask = attention_mask(key_mask, t, cache_index)
    out = grouped_query_attention(q, k, v, mask, self.scale)
    return self.o_proj(out.reshape(b, t, self.num_heads * self.head_dim)), (k, v)


class LlamaMLP(nnx.Module):
  def __init__(self, cfg: LMConfig, *, rngs: nnx.Rngs, dtype):
    self.gate_proj = _linear(cfg.hidden_size, cfg.intermediate_size, cfg.mlp_bias, rngs, dtype)
    self.up_proj = _linear(cfg.hidden_size, cfg.intermediate_size, cfg.mlp_bias, rngs, dtype)
    self.down_proj = _linear(cfg.intermediate_size, cfg.hidden_size, cfg.mlp_bias, rngs, dtype)

  def __call__(self, x):
    return self.down_proj(jax.nn.silu(self.gate_proj(x)) * self.up_proj(x))


class LlamaDecoderLayer(nnx.Module):
  def __init__(self, cfg: LMConfig, *, rngs: nnx.Rngs, dtype):
    self.self_attn = LlamaAttention(cfg, rngs=rngs, dtype=dtype)
    self.mlp = LlamaMLP(cfg, rngs=rngs, dtype=dtype)
    self.input_layernorm = RMSNorm(cfg.hidden_size, eps=cfg.norm_eps, param_dtype=dtype)
    self.post_attention_layernorm = RMSNorm(cfg.hidden_size, eps=cfg.norm_eps, param_dtype=dtype)

  def __call__(self, x, cos, sin, key_mask, kv, cache_index):
    h, new_kv = self.self_attn(self.input_layernorm(x), cos, sin, key_mask, kv, cache_index)
    x = x + h
    x = x + self.mlp(self.post_attention_layernorm(x))
    return x, new_kv


class LlamaModel(nnx.Module):
  def __init__(self, cfg: LMConfig, *, rngs: nnx.Rngs, dtype):
    self.embed_tokens = nnx.Embed(
      cfg.vocab_size, cfg.hidden_size, param_dtype=dtype, dtype=dtype, rngs=rngs
    )
    self.layers = nnx.List(
      [LlamaDecoderLayer(cfg, rngs=rngs, dtype=dtype) for _ in range(cfg.num_layers)]
    )
    self.norm = RMSNorm(cfg.hidden_size, eps=cfg.norm_eps, param_dtype=dtype)


class LlamaForCausalLM(nnx.Module):
  """Decoder-only Llama-family causal LM.

  Call signature (shared with :class:`~dice_jax.llm.gpt2.GPT2LMHeadModel`)::

      logits, cache = model(input_ids, positions, key_mask, cache=None, cache_index=0)

  Args:
    input_ids: ``[B, T]`` int token ids.
    positions: ``[B, T]`` int position ids (``cumsum(mask) - 1`` for left-padded prompts).
    key_mask: ``[B, S]`` bool, True for real (non-padding) key slots; ``S = T`` without a cache,
      the cache length with one.
    cache: a :class:`~dice_jax.llm.attention.KVCache` or None.
    cache_index: the slot at which this chunk's keys/values are written.

  Returns:
    ``(logits [B, T, vocab] float32, cache)`` where ``cache`` is the updated KVCache (or None).

  ``hidden_states(...)`` and ``logits(h)`` are the two halves of the call, so callers that
  need few logit rows (the last prompt token, candidate positions) skip the vocabulary
  projection elsewhere.
  """

  def __init__(self, cfg: LMConfig, *, rngs: nnx.Rngs, dtype=jnp.float32):
    if cfg.family != "llama":
      raise ValueError(f"LlamaForCausalLM needs family='llama', got {cfg.family!r}")
    self.config = cfg
    self.scan_layers = True  # run the decoder layers as one lax.scan (dice_jax.llm.layer_stack)
    self.model = LlamaModel(cfg, rngs=rngs, dtype=dtype)
    if not cfg.tie_word_embeddings:
      self.lm_head = _linear(cfg.hidden_size, cfg.vocab_size, False, rngs, dtype)

  def hidden_states(
    self, input_ids, positions, key_mask, cache: KVCache | None = None, cache_index=0
  ):
    """Final-norm hidden states ``[B, T, hidden]`` and the updated cache (no output head)."""
    x = self.model.embed_tokens(input_ids)
    inv_freq = jnp.asarray(rope_inv_freq(self.config.rope, self.config.head_dim))
    cos, sin = rope_cos_sin(positions, inv_freq)

    def call(layer, h, kv):
      return layer(h, cos, sin, key_mask, kv, cache_index)

    x, new_cache = run_layers(self.model.layers, call, x, cache, scan=self.scan_layers)
    return self.model.norm(x), new_cache

  def logits(self, hidden):
    """The output head: float32 logits ``[..., vocab]`` of final hidden states."""
    if self.config.tie_word_embeddings:
      return self.model.embed_tokens.attend(hidden).astype(jnp.float32)
    return self.lm_head(hidden).astype(jnp.float32)

  def __call__(self, input_ids, positions, key_mask, cache: KVCache | None = None, cache_index=0):
    h, new_cache = self.hidden_states(input_ids, positions, key_mask, cache, cache_index)
    return self.logits(h), new_cache
