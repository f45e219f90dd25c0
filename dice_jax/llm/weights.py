"""Assemble a model from a flat ``{hugging-face tensor name: array}`` dictionary.

Both loaders (safetensors directories and GGUF files) produce tensors under transformers'
names (``model.layers.0.self_attn.q_proj.weight``); this module maps each name onto the NNX
parameter path and checks, strictly:

* every parameter of the model is present (else "missing tensor KEY"),
* every tensor in the file is used (else "unused tensor KEY"), apart from non-parameter buffers
  that old checkpoints carry (RoPE ``inv_freq``, GPT-2's causal ``attn.bias`` mask),
* every shape matches after the layout change (else "shape mismatch for KEY").

Naming rule (the modules mirror transformers' names): ``a.b.kernel`` ↔ ``a.b.weight``
(transposed for ``torch.nn.Linear``, not for GPT-2's ``Conv1D``), ``a.b.embedding`` ↔
``a.b.weight``, norm ``weight``/``bias`` and linear ``bias`` unchanged.
"""

from __future__ import annotations

import re
from typing import Mapping

import jax.numpy as jnp
import numpy as np
from flax import nnx

from dice_jax.llm.config import LMConfig
from dice_jax.llm.errors import CheckpointError
from dice_jax.llm.model import abstract_model

__all__ = ["hf_parameter_map", "assemble_model", "IGNORABLE_KEYS"]

#: Buffers that some checkpoints store but that are not parameters (recomputed by the model).
IGNORABLE_KEYS = (
  re.compile(r".*\.rotary_emb\.inv_freq$"),
  re.compile(r"^transformer\.h\.\d+\.attn\.(bias|masked_bias)$"),
)


def _transposed(cfg: LMConfig, path: tuple) -> bool:
  if path[-1] != "kernel":
    return False
  if cfg.family == "gpt2":
    return (
      path[0] == "lm_head"
    )  # Conv1D stores [in, out]; only an untied nn.Linear head is [out, in]
  return True


def hf_parameter_map(cfg: LMConfig, abstract) -> dict[str, tuple[tuple, bool, tuple, object]]:
  """``{hf_key: (nnx_path, transpose, nnx_shape, dtype)}`` for every parameter of ``abstract``."""
  out = {}
  for path, var in nnx.to_flat_state(nnx.state(abstract, nnx.Param)):
    leaf = path[-1]
    stem = ".".join(str(p) for p in path[:-1])
    name = {"kernel": "weight", "embedding": "weight"}.get(leaf, leaf)
    out[f"{stem}.{name}"] = (tuple(path), _transposed(cfg, path), tuple(var.shape), var.dtype)
  return out


def assemble_model(cfg: LMConfig, tensors: Mapping[str, object], *, source: str, dtype=jnp.float32):
  """Build the NNX model of ``cfg`` holding ``tensors`` (Hugging Face names).

  Args:
    cfg: the architecture.
    tensors: name → array (numpy or jax; any float dtype, cast to ``dtype``).
    source: the file or directory named in error messages.
    dtype: the parameter dtype of the returned model.

  Raises:
    CheckpointError: a missing, unused or mis-shaped tensor (the message names the key and
      ``source``).
  """
  abstract = abstract_model(cfg, dtype=dtype)
  graphdef, abs_state = nnx.split(abstract)
  pmap = hf_parameter_map(cfg, abstract)
  tensors = dict(tensors)
  if cfg.family == "gpt2" and not any(k.startswith("transformer.") for k in tensors):
    # The original GPT-2 checkpoints were saved from GPT2Model: "h.0.attn.c_attn.weight", "wte.weight".
    tensors = {k if k == "lm_head.weight" else f"transformer.{k}": v for k, v in tensors.items()}
  head_key = "lm_head.weight"
  if cfg.tie_word_embeddings and head_key in tensors and head_key not in pmap:
    emb_key = "transformer.wte.weight" if cfg.family == "gpt2" else "model.embed_tokens.weight"
    head = tensors.pop(head_key)
    if emb_key in tensors and not np.array_equal(np.asarray(head), np.asarray(tensors[emb_key])):
      raise CheckpointError(
        f"{source}: tie_word_embeddings is true but tensor {head_key!r} differs from {emb_key!r}"
      )
  missing = [k for k in pmap if k not in tensors]
  if missing:
    raise CheckpointError(
      f"{source}: missing tensor {missing[0]!r} ({len(missing)} missing in all)"
    )
  unused = [k for k in tensors if k not in pmap and not any(p.match(k) for p in IGNORABLE_KEYS)]
  if unused:
    raise CheckpointError(
      f"{source}: unused tensor {unused[0]!r} is not a parameter of the "
      f"{cfg.model_type} model ({len(unused)} unused in all)"
    )
  values = {}
  for key, (path, transpose, shape, _) in pmap.items():
    arr = tensors[key]
    src_shape = tuple(arr.shape)
    want = tuple(reversed(shape)) if transpose else shape
    if src_shape != want:
      raise CheckpointError(
        f"{source}: shape mismatch for tensor {key!r}: file has {src_shape}, "
        f"the {cfg.model_type} config needs {want}"
      )
    a = np.asarray(arr).astype(np.dtype(dtype), copy=False)  # host-side: no per-shape XLA compiles
    values[path] = jnp.asarray(np.ascontiguousarray(a.T) if transpose else a)
  flat = []
  for path, var in nnx.to_flat_state(abs_state):
    if path not in values:  # a non-parameter variable: a bug in the model definition
      raise RuntimeError(f"model state {path} has no value after loading {source}")
    flat.append((path, var.replace(values[path])))
  return nnx.merge(graphdef, nnx.from_flat_state(flat))
