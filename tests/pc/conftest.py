"""Fixtures: the real SmolLM2 backend and a loopback chat-completions server."""

from dice_jax.testing.llm_fixtures import (  # noqa: F401
  chat_server,
  llama_server,
  smollm2_backend,
  smollm2_path,
)
