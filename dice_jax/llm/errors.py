"""Errors raised by the LLM bridge.

Every error names the file and, where there is one, the key (a config key or a tensor name), so a
bad checkpoint is diagnosed from the message alone.
"""

from __future__ import annotations

__all__ = ["CheckpointError", "UnsupportedModelError"]


class CheckpointError(ValueError):
  """A checkpoint file is missing, truncated, or its tensors do not match the model.

  Raised for: a missing ``config.json`` / weights file / index shard, a file that cannot be
  parsed, a tensor that the model needs but the file lacks (missing), a tensor in the file that
  the model does not use (unused), and a tensor whose shape differs from the model's (shape
  mismatch). The message names the file and the tensor key.
  """


class UnsupportedModelError(CheckpointError):
  """The checkpoint is well formed but describes something the bridge does not implement.

  Examples: an unknown ``model_type`` / GGUF ``general.architecture``, a RoPE type other than
  ``default``, ``linear`` or ``llama3``, sliding-window attention, ``partial_rotary_factor < 1``.
  Raising is deliberate: running such a model with the wrong maths would silently give wrong
  logits.
  """
