"""What every text-generation backend speaks: prompts in, :class:`Completion` s out.

Every backend implements :class:`Backend`::

    complete(prompts, *, max_tokens, temperature=0.0, n=1, seed=0) -> list[Completion]

``prompts`` is a list of strings (each sent as one user turn) or of chat message lists
(``[{"role": "system"|"user"|"assistant", "content": str}, ...]``). The result is flat and
prompt-major: ``n`` completions per prompt, entry ``i * n + j`` is sample ``j`` of prompt ``i``.
A :class:`Completion` is ``(text, tokens)`` with ``tokens`` the number of generated tokens
(the cost an algorithm charges). ``temperature == 0`` is greedy decoding.

When some completions cannot be produced, ``complete`` raises :class:`BackendError`; its
``failures`` maps flat indices to messages and ``partial`` holds the completions that did succeed
(``None`` elsewhere), so a caller can record exactly the failed tasks.

Implementations: :class:`~dice_jax.rollouts.backends.local.LocalBackend` (a Flax model through
the shared sampler), :class:`~dice_jax.rollouts.backends.openai.OpenAIBackend` (an
OpenAI-compatible server), :class:`~dice_jax.rollouts.backends.cache.CachedBackend` (memoises
any of them).
"""

from __future__ import annotations

from typing import Dict, List, NamedTuple, Optional, Protocol, Sequence, Union, runtime_checkable

import numpy as np

__all__ = [
  "Backend",
  "BackendError",
  "Completion",
  "Messages",
  "Prompt",
  "check_request",
  "to_messages",
]

#: A chat prompt: a list of ``{"role": ..., "content": ...}`` messages.
Messages = List[Dict[str, str]]
#: A prompt is plain text or chat messages.
Prompt = Union[str, Messages]
_ROLES = ("system", "user", "assistant")


class Completion(NamedTuple):
  """One generated answer: its text and the number of tokens generated for it."""

  text: str
  tokens: int


class BackendError(RuntimeError):
  """Completions that could not be produced.

  Attributes:
    failures: flat completion index -> error message, for each failed completion.
    partial: the flat result list with the completions that succeeded (``None`` where failed).
  """

  def __init__(
    self,
    message: str,
    *,
    failures: Optional[Dict[int, str]] = None,
    partial: Optional[List[Optional[Completion]]] = None,
  ):
    super().__init__(message)
    self.failures = dict(failures or {})
    self.partial = list(partial or [])


@runtime_checkable
class Backend(Protocol):
  """What DICE-PC roles call to generate text (see the module docstring)."""

  name: str

  def complete(
    self,
    prompts: Sequence[Prompt],
    *,
    max_tokens: int,
    temperature: float = 0.0,
    n: int = 1,
    seed: int = 0,
  ) -> List[Completion]: ...


def to_messages(prompt: Prompt, *, index: int = 0) -> Messages:
  """A prompt as chat messages: a string becomes one user turn; a message list is validated.

  Raises:
    ValueError: naming ``prompts[index]`` and the bad message or field.
  """
  if isinstance(prompt, str):
    return [{"role": "user", "content": prompt}]
  if not isinstance(prompt, (list, tuple)) or not prompt:
    raise ValueError(
      f"prompts[{index}] must be a string or a non-empty list of messages; got "
      f"{type(prompt).__name__}."
    )
  out = []
  for k, m in enumerate(prompt):
    if (
      not isinstance(m, dict)
      or set(m) - {"role", "content"}
      or "role" not in m
      or "content" not in m
    ):
      raise ValueError(
        f"prompts[{index}][{k}] must be a dict with 'role' and 'content'; got {m!r}."
      )
    if m["role"] not in _ROLES:
      raise ValueError(
        f"prompts[{index}][{k}]['role'] must be one of {list(_ROLES)}; got {m['role']!r}."
      )
    if not isinstance(m["content"], str):
      raise ValueError(
        f"prompts[{index}][{k}]['content'] must be a string; got {type(m['content']).__name__}."
      )
    out.append({"role": m["role"], "content": m["content"]})
  return out


def check_request(prompts, max_tokens, temperature, n) -> List[Messages]:
  """Check the arguments every backend's ``complete`` takes; the prompts as chat messages.

  Raises:
    ValueError: naming the argument (``prompts``, ``prompts[i]...``, ``max_tokens``,
      ``temperature``, ``n``).
  """
  if isinstance(prompts, str):
    raise ValueError("prompts must be a list of prompts; got a single string.")
  for name, v in (("max_tokens", max_tokens), ("n", n)):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
      raise ValueError(f"{name} must be an integer >= 1; got {v!r}.")
  if (
    isinstance(temperature, bool)
    or not isinstance(temperature, (int, float, np.number))
    or not (np.isfinite(temperature) and temperature >= 0)
  ):
    raise ValueError(f"temperature must be a finite number >= 0; got {temperature!r}.")
  return [to_messages(p, index=i) for i, p in enumerate(prompts)]
