"""Run a model's decoder layers as one ``lax.scan`` over their stacked parameters.

A decoder of ``L`` identical blocks unrolled in Python hands XLA ``L`` copies of the block to
compile, twice in a generation program (prefill and decoding step) and again for the backward
pass of training (measured compile times: ``benchmarks/results/llm_generate_scan.json``).
When every block has the same structure (the same ``nnx.GraphDef``: same module types,
LoRA adapters on the same projections, same static settings), :func:`run_layers` stacks the
blocks' states along a new leading axis and applies the block with ``jax.lax.scan``, so XLA
compiles one block (the usual remedy; cf. ``nnx.scan`` / Flax ``nn.scan`` in the Flax guides).

The parameters stay stored per layer (``model.layers[i].self_attn.q_proj.kernel``): the
checkpoint loaders, LoRA adapters and their PEFT files keep their per-layer names. The stacking
is a copy inside the compiled program, of about the size of the block weights per call; XLA's
loop-invariant code motion lifts it out of a ``while_loop`` whose body calls the model, so a
decoding loop pays it once. Inside the scan, XLA on CPU copies each layer's slice of the stacked
weights before its matrix products (a dot does not read an operand at a dynamic offset), one
more write and read of the block weights per call: negligible for scoring and training, but
decoding at small batch is bound by reading the weights, so there the scan costs tokens/s
(``benchmarks/llm_generate.py`` measures both). ``model.scan_layers = False`` runs the unrolled
loop (slower to compile, faster per decoded token at batch 1).

Scanned and unrolled layers compute the same operations in the same order on the same values;
blocks whose structures differ (adapters on some layers only, GPT-2's per-layer attention scale)
fall back to the unrolled loop. The key/value cache is stacked too: ``KVCache.keys`` and
``.values`` are ``[L, B, S, kv_heads, head_dim]`` arrays, the scan's per-layer inputs and outputs.
"""

from __future__ import annotations

from typing import Callable, Sequence

import jax
import jax.numpy as jnp
from flax import nnx

from dice_jax.llm.attention import KVCache

__all__ = ["run_layers", "stacked_layers"]


def stacked_layers(layers: Sequence[nnx.Module]):
  """``(graphdef, state)`` with every leaf stacked along a new leading layer axis, or ``None``
  when the layers do not share one ``nnx.GraphDef`` (then they cannot run under one scan)."""
  splits = [nnx.split(layer) for layer in layers]
  graphdef = splits[0][0]
  if any(g != graphdef for g, _ in splits[1:]):
    return None
  state = jax.tree_util.tree_map(lambda *xs: jnp.stack(xs), *[s for _, s in splits])
  return graphdef, state


def run_layers(
  layers: Sequence[nnx.Module],
  call: Callable,
  x: jax.Array,
  cache: KVCache | None,
  *,
  scan: bool = True,
) -> tuple[jax.Array, KVCache | None]:
  """Apply ``x, (k, v) = call(layer, x, kv)`` for every layer in order.

  Args:
    layers: the decoder blocks.
    call: ``call(layer, x, kv) -> (x, (k, v))`` with ``kv`` the layer's ``(keys, values)``
      cache buffers or ``None``.
    x: ``[B, T, hidden]`` input of the first block.
    cache: a stacked :class:`~dice_jax.llm.attention.KVCache` or ``None``.
    scan: scan over stacked layers when they share a structure (otherwise, or with
      ``scan=False``, a Python loop).

  Returns:
    ``(x, cache)``: the last block's output and the updated cache (``None`` without one).
  """
  stacked = stacked_layers(layers) if scan and len(layers) > 1 else None
  if stacked is not None:
    graphdef, state = stacked

    def body(h, xs):
      layer_state, kv = xs
      h, new_kv = call(nnx.merge(graphdef, layer_state), h, kv)
      return h, None if kv is None else new_kv

    kv_in = None if cache is None else (cache.keys, cache.values)
    x, kv_out = jax.lax.scan(body, x, (state, kv_in))
    return x, None if cache is None else KVCache(*kv_out)
  new_k, new_v = [], []
  for i, layer in enumerate(layers):
    kv = None if cache is None else (cache.keys[i], cache.values[i])
    x, (k, v) = call(layer, x, kv)
    new_k.append(k)
    new_v.append(v)
  return x, None if cache is None else KVCache(jnp.stack(new_k), jnp.stack(new_v))
