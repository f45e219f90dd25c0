"""Load a Hugging Face checkpoint directory (``config.json`` + safetensors) without torch.

Layouts accepted (as written by transformers' ``save_pretrained``):

* ``model.safetensors`` — a single file;
* ``model.safetensors.index.json`` + shards — the index's ``weight_map`` names, for every
  tensor, the shard file that holds it; every shard must exist and hold the tensors the index
  says it holds.

Tensors are read with ``safetensors.flax`` (which, unlike ``safetensors.numpy``, reads bfloat16)
and cast to the requested parameter dtype. Key accounting is strict (see
:mod:`dice_jax.llm.weights`). Every failure is a :class:`~dice_jax.llm.errors.CheckpointError`
whose message names the file and, where relevant, the tensor key.
"""

from __future__ import annotations

import json
import os

import jax.numpy as jnp

from dice_jax.llm.config import LMConfig, load_hf_config
from dice_jax.llm.errors import CheckpointError
from dice_jax.llm.weights import assemble_model

__all__ = ["load_hf_model", "read_safetensors_dir"]

SINGLE_FILE = "model.safetensors"
INDEX_FILE = "model.safetensors.index.json"


def _read_file(path: str, keys: set[str] | None = None) -> dict:
  from safetensors import SafetensorError
  from safetensors.flax import safe_open

  if not os.path.isfile(path):
    raise CheckpointError(f"{path}: missing weights file")
  try:
    with safe_open(path, framework="flax") as f:
      names = set(f.keys())
      if keys is not None:
        absent = sorted(keys - names)
        if absent:
          raise CheckpointError(
            f"{path}: tensor {absent[0]!r} listed in {INDEX_FILE} is not in this shard"
          )
      return {k: f.get_tensor(k) for k in (names if keys is None else keys)}
  except SafetensorError as e:
    raise CheckpointError(
      f"{path}: cannot read safetensors file (truncated or corrupt?): {e}"
    ) from e
  except (OSError, ValueError) as e:
    if isinstance(e, CheckpointError):
      raise
    raise CheckpointError(
      f"{path}: cannot read safetensors file (truncated or corrupt?): {e}"
    ) from e


def read_safetensors_dir(directory: str | os.PathLike) -> dict:
  """All tensors of a checkpoint directory, ``{name: jax array}`` (single file or sharded)."""
  directory = os.fspath(directory)
  index_path = os.path.join(directory, INDEX_FILE)
  if os.path.isfile(index_path):
    try:
      with open(index_path, encoding="utf-8") as f:
        index = json.load(f)
      weight_map = index["weight_map"]
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
      raise CheckpointError(f"{index_path}: not valid JSON ({e})") from e
    except (KeyError, TypeError):
      raise CheckpointError(f"{index_path}: missing key 'weight_map'") from None
    by_shard: dict[str, set[str]] = {}
    for key, shard in weight_map.items():
      by_shard.setdefault(shard, set()).add(key)
    tensors = {}
    for shard, keys in sorted(by_shard.items()):
      shard_path = os.path.join(directory, shard)
      if not os.path.isfile(shard_path):
        raise CheckpointError(
          f"{shard_path}: missing shard file listed in {index_path} "
          f"(holds e.g. tensor {sorted(keys)[0]!r})"
        )
      tensors.update(_read_file(shard_path, keys))
    return tensors
  single = os.path.join(directory, SINGLE_FILE)
  if not os.path.isfile(single):
    others = [n for n in os.listdir(directory) if n.endswith((".bin", ".pt", ".pth"))]
    hint = (
      f" (found {others}: PyTorch pickles are not read; re-save with safe_serialization)"
      if others
      else ""
    )
    raise CheckpointError(
      f"{single}: missing weights file; neither {SINGLE_FILE} nor {INDEX_FILE} in {directory}{hint}"
    )
  return _read_file(single)


def load_hf_model(
  directory: str | os.PathLike, *, dtype=jnp.float32, config: LMConfig | None = None
):
  """Load a Hugging Face checkpoint directory into an NNX model.

  Args:
    directory: holds ``config.json`` and the safetensors weights.
    dtype: parameter dtype (float32 by default; bfloat16 halves memory).
    config: use this :class:`LMConfig` instead of reading ``config.json`` (tests use it to
      perturb a setting).

  Returns:
    ``(model, config)``.

  Raises:
    CheckpointError: a missing or malformed file, naming the file and key.
    UnsupportedModelError: a setting the bridge does not implement.
  """
  directory = os.fspath(directory)
  if not os.path.isdir(directory):
    raise CheckpointError(f"{directory}: checkpoint directory does not exist")
  cfg = config if config is not None else load_hf_config(directory)
  tensors = read_safetensors_dir(directory)
  return assemble_model(cfg, tensors, source=directory, dtype=dtype), cfg
