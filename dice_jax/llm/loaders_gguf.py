"""Load a GGUF file (llama.cpp's format) into an NNX model, dequantised.

The file is read with the ``gguf`` package (``GGUFReader``); every tensor is dequantised to
float32 with ``gguf.quants.dequantize`` (Q4_0/Q4_1/Q8_0/K-quants/F16/BF16/F32 …) and renamed to
transformers' names, then assembled with the strict key accounting of
:mod:`dice_jax.llm.weights`. The architecture comes from the metadata (``general.architecture``
and ``<arch>.*`` keys), as in transformers' ``modeling_gguf_pytorch_utils.py``.

llama.cpp's converter permutes the rows of the Llama ``attn_q`` / ``attn_k`` weights from
Hugging Face's rotate-half RoPE layout to the interleaved layout; :func:`unpermute_qk` inverts it
(llama.cpp ``convert_hf_to_gguf.py``, ``LlamaModel.permute``; transformers
``LlamaTensorProcessor._reverse_permute_weights``). Qwen2 files are not permuted.

Supported architectures: ``llama`` (Llama, SmolLM2, …) and ``qwen2``. Anything else raises
:class:`~dice_jax.llm.errors.UnsupportedModelError`.
"""

from __future__ import annotations

import os
import re

import jax.numpy as jnp
import numpy as np

from dice_jax.llm.config import LMConfig, RopeConfig
from dice_jax.llm.errors import CheckpointError, UnsupportedModelError
from dice_jax.llm.weights import assemble_model

__all__ = ["load_gguf_model", "read_gguf", "gguf_config", "unpermute_qk"]

SUPPORTED_ARCHS = ("llama", "qwen2")

_LAYER_NAMES = {
  "attn_norm.weight": "input_layernorm.weight",
  "ffn_norm.weight": "post_attention_layernorm.weight",
  "attn_q.weight": "self_attn.q_proj.weight",
  "attn_k.weight": "self_attn.k_proj.weight",
  "attn_v.weight": "self_attn.v_proj.weight",
  "attn_output.weight": "self_attn.o_proj.weight",
  "attn_q.bias": "self_attn.q_proj.bias",
  "attn_k.bias": "self_attn.k_proj.bias",
  "attn_v.bias": "self_attn.v_proj.bias",
  "attn_output.bias": "self_attn.o_proj.bias",
  "ffn_gate.weight": "mlp.gate_proj.weight",
  "ffn_up.weight": "mlp.up_proj.weight",
  "ffn_down.weight": "mlp.down_proj.weight",
  "ffn_gate.bias": "mlp.gate_proj.bias",
  "ffn_up.bias": "mlp.up_proj.bias",
  "ffn_down.bias": "mlp.down_proj.bias",
}
_GLOBAL_NAMES = {
  "token_embd.weight": "model.embed_tokens.weight",
  "output_norm.weight": "model.norm.weight",
  "output.weight": "lm_head.weight",
}
_BLOCK = re.compile(r"^blk\.(\d+)\.(.+)$")


def hf_name(gguf_name: str) -> str | None:
  """transformers' name for a GGUF tensor name (None if the bridge has no use for it)."""
  if gguf_name in _GLOBAL_NAMES:
    return _GLOBAL_NAMES[gguf_name]
  m = _BLOCK.match(gguf_name)
  if m and m.group(2) in _LAYER_NAMES:
    return f"model.layers.{m.group(1)}.{_LAYER_NAMES[m.group(2)]}"
  return None


def unpermute_qk(w: np.ndarray, n_head: int) -> np.ndarray:
  """Invert llama.cpp's q/k row permutation (interleaved RoPE pairs → rotate-half).

  ``w`` has shape ``[n_head * head_dim, ...]``; rows ``(h, i, j)`` with ``j ∈ {0, 1}`` of the
  interleaved layout go to ``(h, j, i)``.
  """
  dim = w.shape[0] // n_head // 2
  return w.reshape(n_head, dim, 2, *w.shape[1:]).swapaxes(2, 1).reshape(w.shape)


def _field(reader, key: str, path: str, default=KeyError):
  f = reader.fields.get(key)
  if f is None:
    if default is KeyError:
      raise CheckpointError(f"{path}: missing GGUF metadata key {key!r}")
    return default
  value = f.contents()
  return value


def _open(path: str):
  from gguf import GGUFReader

  if not os.path.isfile(path):
    raise CheckpointError(f"{path}: GGUF file does not exist")
  try:
    return GGUFReader(path)
  except Exception as e:  # gguf raises ValueError/IndexError/struct errors on truncated files
    raise CheckpointError(
      f"{path}: cannot read GGUF file (truncated or corrupt?): {type(e).__name__}: {e}"
    ) from e


def gguf_config(reader, path: str) -> LMConfig:
  """The :class:`LMConfig` described by a GGUF file's metadata."""
  arch = _field(reader, "general.architecture", path)
  if arch not in SUPPORTED_ARCHS:
    raise UnsupportedModelError(
      f"{path}: unknown architecture general.architecture={arch!r}; "
      f"supported GGUF architectures: {SUPPORTED_ARCHS}"
    )
  g = lambda k, d=KeyError: _field(reader, f"{arch}.{k}", path, d)  # noqa: E731
  hidden = int(g("embedding_length"))
  heads = int(g("attention.head_count"))
  kv_heads = int(g("attention.head_count_kv", heads))
  head_dim = int(g("attention.key_length", hidden // heads))
  scaling = g("rope.scaling.type", "none")
  if scaling in ("none", None):
    rope = RopeConfig(theta=float(g("rope.freq_base", 10000.0)))
  elif scaling == "linear":
    rope = RopeConfig(
      theta=float(g("rope.freq_base", 10000.0)),
      rope_type="linear",
      factor=float(g("rope.scaling.factor")),
    )
  else:
    raise UnsupportedModelError(
      f"{path}: RoPE scaling {arch}.rope.scaling.type={scaling!r} is not supported"
    )
  names = {t.name for t in reader.tensors}
  if "rope_freqs.weight" in names:
    raise UnsupportedModelError(
      f"{path}: tensor 'rope_freqs.weight' (Llama 3.1 RoPE frequency factors) "
      "is not supported for GGUF; load the Hugging Face checkpoint instead"
    )
  tokens = reader.fields.get("tokenizer.ggml.tokens")
  vocab = g("vocab_size", None)
  if vocab is None:
    if tokens is None:
      raise CheckpointError(f"{path}: missing GGUF metadata key {arch + '.vocab_size'!r}")
    vocab = len(tokens.data)
  eos = _field(reader, "tokenizer.ggml.eos_token_id", path, None)
  return LMConfig(
    family="llama",
    model_type=arch,
    vocab_size=int(vocab),
    hidden_size=hidden,
    intermediate_size=int(g("feed_forward_length")),
    num_layers=int(g("block_count")),
    num_heads=heads,
    num_kv_heads=kv_heads,
    head_dim=head_dim,
    max_position_embeddings=int(g("context_length", 2048)),
    norm_eps=float(g("attention.layer_norm_rms_epsilon", 1e-6)),
    activation="silu",
    attention_bias="blk.0.attn_q.bias" in names,
    o_bias="blk.0.attn_output.bias" in names,
    mlp_bias="blk.0.ffn_up.bias" in names,
    tie_word_embeddings="output.weight" not in names,
    rope=rope,
    bos_token_id=_field(reader, "tokenizer.ggml.bos_token_id", path, None),
    eos_token_ids=() if eos is None else (int(eos),),
    pad_token_id=_field(reader, "tokenizer.ggml.padding_token_id", path, None),
  )


def read_gguf(path: str | os.PathLike) -> tuple[LMConfig, dict[str, np.ndarray]]:
  """``(config, {transformers name: float32 array})`` from a GGUF file.

  Raises:
    CheckpointError: missing/truncated file, missing metadata, or a tensor name the bridge
      does not know (named in the message).
  """
  from gguf.quants import dequantize

  path = os.fspath(path)
  reader = _open(path)
  cfg = gguf_config(reader, path)
  tensors = {}
  for t in reader.tensors:
    name = hf_name(t.name)
    if name is None:
      raise CheckpointError(
        f"{path}: unused tensor {t.name!r} (not a parameter of the {cfg.model_type} model)"
      )
    try:
      w = np.asarray(dequantize(t.data, t.tensor_type), dtype=np.float32)
    except Exception as e:
      raise CheckpointError(
        f"{path}: cannot dequantise tensor {t.name!r} ({t.tensor_type.name}): {e}"
      ) from e
    if cfg.model_type == "llama":
      if t.name.endswith("attn_q.weight") or t.name.endswith("attn_q.bias"):
        w = unpermute_qk(w, cfg.num_heads)
      elif t.name.endswith("attn_k.weight") or t.name.endswith("attn_k.bias"):
        w = unpermute_qk(w, cfg.num_kv_heads)
    tensors[name] = w
  return cfg, tensors


def load_gguf_model(path: str | os.PathLike, *, dtype=jnp.float32):
  """Load a GGUF file into an NNX model (dequantised to ``dtype``). Returns ``(model, config)``."""
  cfg, tensors = read_gguf(path)
  return assemble_model(cfg, tensors, source=os.fspath(path), dtype=dtype), cfg
