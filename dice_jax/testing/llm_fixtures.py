"""Pytest fixtures for tests of LLM backends: the real SmolLM2 backend, a scripted loopback
chat-completions server, and llama.cpp's real OpenAI-compatible server on the bundled GGUF.
Import them into a ``conftest.py``::

    from dice_jax.testing.llm_fixtures import chat_server, llama_server, smollm2_path
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import tempfile
import time

import pytest

from dice_jax.testing.chat_server import ChatServer

__all__ = ["chat_server", "free_port", "llama_server", "smollm2_backend", "smollm2_path"]


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


def free_port() -> int:
  """A TCP port on 127.0.0.1 that was free when asked."""
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


@pytest.fixture(scope="session")
def llama_server(smollm2_path):
  """Base URL (``http://127.0.0.1:PORT/v1``) of ``python -m llama_cpp.server`` serving the
  bundled SmolLM2 GGUF, started once per session and stopped after it.

  Skips where ``llama-cpp-python[server]`` is not installed, and fails there under CI (which
  installs it). The server's log goes to a temporary file, not a pipe: a pipe nobody reads
  fills after ~64 KB of request logs and then blocks the server.
  """
  import httpx

  missing = [m for m in ("llama_cpp", "uvicorn") if importlib.util.find_spec(m) is None]
  if missing:  # CI installs it (.ci/run): there a missing server is a failure, not a skip
    msg = f"{missing} not installed (pip install 'llama-cpp-python[server]')"
    pytest.fail(msg) if os.environ.get("CI") else pytest.skip(msg)
  port = free_port()
  with tempfile.TemporaryFile() as log:
    proc = subprocess.Popen(
      [sys.executable, "-m", "llama_cpp.server", "--model", smollm2_path]
      + ["--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048", "--verbose", "False"],
      stdout=subprocess.DEVNULL,
      stderr=log,
    )

    def log_tail() -> str:
      log.seek(0)
      return log.read().decode(errors="replace")[-2000:]

    base = f"http://127.0.0.1:{port}/v1"
    try:
      deadline = time.monotonic() + 120
      while True:  # bounded: at most 120 s of polling
        if proc.poll() is not None:
          pytest.fail(f"llama_cpp.server exited with {proc.returncode}: {log_tail()}")
        try:
          if httpx.get(f"{base}/models", timeout=2.0).status_code == 200:
            break
        except httpx.TransportError:
          pass
        if time.monotonic() > deadline:
          pytest.fail(f"llama_cpp.server did not answer /v1/models within 120 s: {log_tail()}")
        time.sleep(0.5)
      yield base
    finally:
      proc.terminate()
      try:
        proc.wait(timeout=15)
      except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=15)
