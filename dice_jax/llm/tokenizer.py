"""Tokenizers (transformers ``AutoTokenizer``, offline) and left-padded prompt batches.

A checkpoint directory must hold the tokenizer files that ``save_pretrained`` writes
(``tokenizer.json`` or ``tokenizer_config.json`` with a vocabulary); a GGUF file carries its
tokenizer in the metadata (``tokenizer.ggml.*``), which transformers converts
(``AutoTokenizer.from_pretrained(folder, gguf_file=name)``). ``HF_HUB_OFFLINE=1`` is set before
transformers is imported here so nothing is ever fetched from a hub.

Chat prompts use the tokenizer's chat template (``apply_chat_template`` with
``add_generation_prompt=True``) and are then encoded without adding special tokens again.
"""

from __future__ import annotations

import os

import numpy as np

from dice_jax.llm.errors import CheckpointError

__all__ = ["load_tokenizer", "encode_prompts", "format_chat", "left_pad"]

_TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "vocab.json", "tokenizer_config.json")


def load_tokenizer(path: str | os.PathLike):
  """The transformers tokenizer of a checkpoint directory or a ``.gguf`` file.

  Raises:
    CheckpointError: no tokenizer files in the directory (named in the message), or the GGUF
      file has no ``tokenizer.ggml.*`` metadata.
  """
  os.environ.setdefault("HF_HUB_OFFLINE", "1")
  from transformers import AutoTokenizer

  path = os.fspath(path)
  if path.endswith(".gguf"):
    if not os.path.isfile(path):
      raise CheckpointError(f"{path}: GGUF file does not exist")
    folder, name = os.path.split(os.path.abspath(path))
    try:
      return AutoTokenizer.from_pretrained(folder, gguf_file=name, local_files_only=True)
    except Exception as e:
      raise CheckpointError(
        f"{path}: missing or unreadable tokenizer in GGUF metadata "
        f"('tokenizer.ggml.*'): {type(e).__name__}: {e}"
      ) from e
  present = [n for n in _TOKENIZER_FILES if os.path.isfile(os.path.join(path, n))]
  if not present:
    raise CheckpointError(
      f"{path}: missing tokenizer (none of {list(_TOKENIZER_FILES)} in the directory)"
    )
  try:
    return AutoTokenizer.from_pretrained(path, local_files_only=True)
  except Exception as e:
    raise CheckpointError(
      f"{path}: cannot load tokenizer from {present}: {type(e).__name__}: {e}"
    ) from e


def format_chat(tokenizer, prompt: str, *, system: str | None = None) -> str:
  """``prompt`` as a single user turn in the tokenizer's chat template, ready for the reply."""
  if not getattr(tokenizer, "chat_template", None):
    raise ValueError("chat=True but the tokenizer has no chat_template")
  messages = ([{"role": "system", "content": system}] if system else []) + [
    {"role": "user", "content": prompt}
  ]
  return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


def left_pad(
  sequences: list[list[int]], pad_id: int, *, multiple: int = 1
) -> tuple[np.ndarray, np.ndarray]:
  """Left-pad token lists to a common length (rounded up to ``multiple``).

  Returns ``(ids [B, L] int32, mask [B, L] bool)``; padding is on the left so that the last
  column is every sequence's last real token.
  """
  if not sequences or any(len(s) == 0 for s in sequences):
    raise ValueError("left_pad needs a non-empty list of non-empty token sequences")
  length = max(len(s) for s in sequences)
  length = -(-length // multiple) * multiple
  ids = np.full((len(sequences), length), pad_id, dtype=np.int32)
  mask = np.zeros((len(sequences), length), dtype=bool)
  for i, s in enumerate(sequences):
    ids[i, length - len(s) :] = s
    mask[i, length - len(s) :] = True
  return ids, mask


def encode_prompts(
  tokenizer, prompts: list[str], *, chat: bool = False, system: str | None = None, multiple: int = 1
) -> tuple[np.ndarray, np.ndarray, list[list[int]]]:
  """Tokenise ``prompts`` (optionally through the chat template) into a left-padded batch.

  Returns ``(ids, mask, token_lists)``.
  """
  if isinstance(prompts, str):
    prompts = [prompts]
  if chat:
    texts = [format_chat(tokenizer, p, system=system) for p in prompts]
    lists = [tokenizer(t, add_special_tokens=False)["input_ids"] for t in texts]
  else:
    lists = [tokenizer(p)["input_ids"] for p in prompts]
  ids, mask = left_pad(lists, pad_id(tokenizer), multiple=multiple)
  return ids, mask, lists


def pad_id(tokenizer) -> int:
  """The tokenizer's pad token id, else its eos id, else 0."""
  for v in (tokenizer.pad_token_id, tokenizer.eos_token_id):
    if v is not None:
      return int(v)
  return 0
