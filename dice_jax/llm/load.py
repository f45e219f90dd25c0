"""One entry point for any checkpoint: a Hugging Face directory or a ``.gguf`` file."""

from __future__ import annotations

import os

import jax.numpy as jnp

from dice_jax.llm.errors import CheckpointError
from dice_jax.llm.loaders_gguf import load_gguf_model
from dice_jax.llm.loaders_hf import load_hf_model

__all__ = ["load_model"]


def load_model(path: str | os.PathLike, *, dtype=jnp.float32, with_tokenizer: bool = False):
  """Load ``path`` (checkpoint directory or ``.gguf`` file) into an NNX model.

  Returns:
    ``(model, config)``, or ``(model, config, tokenizer)`` with ``with_tokenizer=True``.

  Raises:
    CheckpointError: the path does not exist or is neither a directory nor a ``.gguf`` file,
      or any loader error (naming the file and key).
  """
  path = os.fspath(path)
  if os.path.isdir(path):
    model, cfg = load_hf_model(path, dtype=dtype)
  elif path.endswith(".gguf"):
    model, cfg = load_gguf_model(path, dtype=dtype)
  elif not os.path.exists(path):
    raise CheckpointError(f"{path}: no such checkpoint directory or GGUF file")
  else:
    raise CheckpointError(f"{path}: not a checkpoint directory or a .gguf file")
  if not with_tokenizer:
    return model, cfg
  from dice_jax.llm.tokenizer import load_tokenizer

  return model, cfg, load_tokenizer(path)
