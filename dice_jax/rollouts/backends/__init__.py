"""Text-generation backends: the protocol, a local Flax model, an OpenAI-compatible server, a cache.

Importing this package is cheap: ``httpx``, the Flax model and transformers load only when a
backend is created.
"""

from dice_jax.rollouts.backends.cache import CachedBackend, request_key
from dice_jax.rollouts.backends.local import LocalBackend
from dice_jax.rollouts.backends.openai import OpenAIBackend, parse_chat_completion
from dice_jax.rollouts.backends.protocol import (
  Backend,
  BackendError,
  Completion,
  Messages,
  Prompt,
  check_request,
  to_messages,
)
from dice_jax.rollouts.backends.settings import LazyBackend, LocalSettings, OpenAISettings

__all__ = [
  "Backend",
  "BackendError",
  "CachedBackend",
  "Completion",
  "LazyBackend",
  "LocalBackend",
  "LocalSettings",
  "Messages",
  "OpenAIBackend",
  "OpenAISettings",
  "Prompt",
  "check_request",
  "parse_chat_completion",
  "request_key",
  "to_messages",
]
