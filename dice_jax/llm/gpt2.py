"""GPT-2 as a Flax NNX module (Radford et al. 2019, "Language Models are Unsupervised
Multitask Learners").

Pre-LayerNorm blocks, learned absolute position embeddings (``wpe``), a fused ``c_attn``
projection to q/k/v with biases, a GELU MLP (``gelu_new`` is the tanh approximation,
Hendrycks & Gimpel 2016, arXiv:1606.08415), output embeddings tied to ``wte``.

Names mirror transformers' ``GPT2LMHeadModel`` (``transformer.h[i].attn.c_attn`` …). GPT-2's
``Conv1D`` stores weights as ``[in, out]``, the same layout as ``nnx.Linear.kernel``, so they load
without a transpose. Reference: transformers ``models/gpt2/modeling_gpt2.py`` (v5.x).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from dice_jax.llm.attention import KVCache, attention_mask, grouped_query_attention, update_cache
from dice_jax.llm.config import LMConfig
from dice_jax.llm.layer_stack import run_layers
from dice_jax.llm.norms import LayerNorm

__all__ = ["GPT2LMHeadModel", "activation"]


def activation(name: str):
  """The elementwise activation named as in transformers' ``ACT2FN``."""
  if name in ("gelu_new", "gelu_pytorch_tanh"):
    return lambda x: jax.nn.gelu(x, approximate=True)
  if name == "gelu":
    return lambda x: jax.nn.gelu(x, approximate=False)
  if name == "relu":
    return jax.nn.relu
  if name == "silu":
    return jax.nn.silu
  raise ValueError(f"unsupported activation {name!r}")


def _linear(n_in: int, n_out: int, rngs: nnx.Rngs, dtype) -> nnx.Linear:
  return nnx.Linear(n_in, n_out, use_bias=True, param_dtype=dtype, dtype=dtype, rngs=rngs)


class GPT2Attention(nnx.Module):
  def __init__(self, cfg: LMConfig, layer_idx: int, *, rngs: nnx.Rngs, dtype):
    self.num_heads, self.head_dim, self.hidden = cfg.num_heads, cfg.head_dim, cfg.hidden_size
    scale = cfg.attention_scale
    if cfg.scale_attn_by_inverse_layer_idx:
      scale /= float(layer_idx + 1)
    self.scale = scale
    self.c_attn = _linear(cfg.hidden_size, 3 * cfg.hidden_size, rngs, dtype)
    self.c_proj = _linear(cfg.hidden_size, cfg.hidden_size, rngs, dtype)

  def __call__(self, x, key_mask, kv, cache_index):
    b, t, _ = x.shape
    qkv = self.c_attn(x)
    q, k, v = jnp.split(qkv, 3, axis=-1)
    q = q.reshape(b, t, self.num_heads, self.head_dim)
    k = k.reshape(b, t, self.num_heads, self.head_dim)
    v = v.reshape(b, t, self.num_heads, self.head_dim)
    if kv is not None:
      k = update_cache(kv[0], k, cache_index)
      v = update_cache(kv[1], v, cache_index)
    mask = attention_mask(key_mask, t, cache_index)
    out = grouped_query_attention(q, k, v, mask, self.scale)
    return self.c_proj(out.reshape(b, t, self.hidden)), (k, v)


class GPT2MLP(nnx.Module):
  def __init__(self, cfg: LMConfig, *, rngs: nnx.Rngs, dtype):
    self.act_name = cfg.activation
    self.c_fc = _linear(cfg.hidden_size, cfg.intermediate_size, rngs, dtype)
    self.c_proj = _linear(cfg.intermediate_size, cfg.hidden_size, rngs, dtype)

  def __call__(self, x):
    return self.c_proj(activation(self.act_name)(self.c_fc(x)))


class GPT2Block(nnx.Module):
  def __init__(self, cfg: LMConfig, layer_idx: int, *, rngs: nnx.Rngs, dtype):
    self.ln_1 = LayerNorm(cfg.hidden_size, eps=cfg.norm_eps, param_dtype=dtype)
    self.attn = GPT2Attention(cfg, layer_idx, rngs=rngs, dtype=dtype)
    self.ln_2 = LayerNorm(cfg.hidden_size, eps=cfg.norm_eps, param_dtype=dtype)
    self.mlp = GPT2MLP(cfg, rngs=rngs, dtype=dtype)

  def __call__(self, x, key_mask, kv, cache_index):
    h, new_kv = self.attn(self.ln_1(x), key_mask, kv, cache_index)
    x = x + h
    x = x + self.mlp(self.ln_2(x))
    return x, new_kv


class GPT2Model(nnx.Module):
  def __init__(self, cfg: LMConfig, *, rngs: nnx.Rngs, dtype):
    self.wte = nnx.Embed(cfg.vocab_size, cfg.hidden_size, param_dtype=dtype, dtype=dtype, rngs=rngs)
    self.wpe = nnx.Embed(
      cfg.max_position_embeddings, cfg.hidden_size, param_dtype=dtype, dtype=dtype, rngs=rngs
    )
    self.h = nnx.List([GPT2Block(cfg, i, rngs=rngs, dtype=dtype) for i in range(cfg.num_layers)])
    self.ln_f = LayerNorm(cfg.hidden_size, eps=cfg.norm_eps, param_dtype=dtype)


class GPT2LMHeadModel(nnx.Module):
  """GPT-2 causal LM with the same call signature as
  :class:`~dice_jax.llm.llama.LlamaForCausalLM`: ``model(input_ids, positions, key_mask,
  cache=None, cache_index=0) -> (logits, cache)``."""

  def __init__(self, cfg: LMConfig, *, rngs: nnx.Rngs, dtype=jnp.float32):
    if cfg.family != "gpt2":
      raise ValueError(f"GPT2LMHeadModel needs family='gpt2', got {cfg.family!r}")
    self.config = cfg
    self.scan_layers = True  # run the blocks as one lax.scan (dice_jax.llm.layer_stack)
    self.transformer = GPT2Model(cfg, rngs=rngs, dtype=dtype)
    if not cfg.tie_word_embeddings:
      self.lm_head = nnx.Linear(
        cfg.hidden_size, cfg.vocab_size, use_bias=False, param_dtype=dtype, dtype=dtype, rngs=rngs
      )

  def hidden_states(
    self, input_ids, positions, key_mask, cache: KVCache | None = None, cache_index=0
  ):
    """Final-norm hidden states ``[B, T, hidden]`` and the updated cache (no output head)."""
    tr = self.transformer
    x = tr.wte(input_ids) + tr.wpe(positions)

    def call(block, h, kv):
      return block(h, key_mask, kv, cache_index)

    x, new_cache = run_layers(tr.h, call, x, cache, scan=self.scan_layers)
    return tr.ln_f(x), new_cache

  def logits(self, hidden):
    """The output head: float32 logits ``[..., vocab]`` of final hidden states."""
    if self.config.tie_word_embeddings:
      return self.transformer.wte.attend(hidden).astype(jnp.float32)
    return self.lm_head(hidden).astype(jnp.float32)

  def __call__(self, input_ids, positions, key_mask, cache: KVCache | None = None, cache_index=0):
    h, new_cache = self.hidden_states(input_ids, positions, key_mask, cache, cache_index)
    return self.logits(h), new_cache
