"""Pytest fixtures for tests of LLM backends: the real SmolLM2 backend and a loopback
chat-completions server. Import them into a ``conftest.py``::

    from dice_jax.testing.llm_fixtures import chat_server, smollm2_backend, smollm2_path
"""

from __future__ import annotations

import pytest

from dice_jax.testing.chat_server import ChatServer

__all__ = ["chat_server", "smollm2_backend", "smollm2_path"]


@pytest.fixture(scope="session")
def smollm2_path():
  """Path of the bundled SmolLM2-135M-Instruct GGUF (fails under CI, skips elsewhere, if absent)."""
  from dice_jax.testing.models import smollm2_path_or_skip

  return smollm2_path_or_skip()


@pytest.fixture(scope="session")
def smollm2_backend(smollm2_path):
  """SmolLM2 through the Flax bridge, loaded once; one batch shape (4 rows, prompts padded to a
  multiple of 128 tokens) so a test compiles one program per ``max_tokens``."""
  from dice_jax.rollouts.backends import LocalBackend

  return LocalBackend.from_path(smollm2_path, max_batch=4, prompt_bucket=128, fixed_batch=True)


@pytest.fixture
def chat_server():
  """A :class:`~dice_jax.testing.chat_server.ChatServer`, closed after the test."""
  s = ChatServer()
  yield s
  s.close()
