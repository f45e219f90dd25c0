"""The settings of the two backends, one frozen type each, and a backend created on first use.

* :class:`LocalSettings` -- :class:`~dice_jax.rollouts.backends.local.LocalBackend`: the
  checkpoint (``None``: the bundled SmolLM2-135M-Instruct), its batching
  (:class:`~dice_jax.rollouts.sampler.Batching` checks ``max_batch``, ``prompt_bucket`` and
  ``fixed_batch``) and ``top_p``.
* :class:`OpenAISettings` -- :class:`~dice_jax.rollouts.backends.openai.OpenAIBackend`: the
  server's URL and model, timeout, retries, backoff, concurrency, ``top_p``, and the *name* of
  the environment variable that holds the API key (never the key itself).

Each type checks its own fields (``ValueError`` naming the field) and the backend constructors
check their arguments by building it, so every check is written once. :class:`LazyBackend`
validates now and creates the backend on the first ``complete`` call: a config is checked, and
an environment built, without loading a model or opening a connection.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Optional, Union

from dice_jax.rollouts import fields
from dice_jax.rollouts.sampler import Batching, nucleus_mass

__all__ = ["LazyBackend", "LocalSettings", "OpenAISettings"]


@dataclasses.dataclass(frozen=True)
class LocalSettings:
  """``model_path``: checkpoint folder or ``.gguf`` (``None``: the bundled SmolLM2); batching
  ``max_batch`` ``>= 1``, ``prompt_bucket`` ``>= 1``, ``fixed_batch``; ``top_p`` in ``(0, 1]``."""

  model_path: Optional[str] = None
  max_batch: int = 16
  prompt_bucket: int = 64
  fixed_batch: bool = False
  top_p: float = 1.0

  def __post_init__(self):
    if self.model_path is not None:
      fields.text("model_path", self.model_path, "a file or folder name")
    b = self.batching
    object.__setattr__(self, "max_batch", b.max_batch)
    object.__setattr__(self, "prompt_bucket", b.prompt_bucket)
    object.__setattr__(self, "fixed_batch", b.fixed_batch)
    object.__setattr__(self, "top_p", nucleus_mass(self.top_p))

  @property
  def batching(self) -> Batching:
    """How the shared sampler cuts rows into generation calls."""
    return Batching(
      max_batch=self.max_batch, prompt_bucket=self.prompt_bucket, fixed_batch=self.fixed_batch
    )

  def create(self, name: str = "local"):
    """Load the model: a :class:`~dice_jax.rollouts.backends.local.LocalBackend`."""
    from dice_jax.rollouts.backends.local import LocalBackend  # noqa: PLC0415

    options = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
    return LocalBackend.from_path(options.pop("model_path"), **options)


@dataclasses.dataclass(frozen=True)
class OpenAISettings:
  """``base_url`` (an http(s) URL including the API version), ``model``; ``timeout > 0``
  seconds per request, ``retries >= 0``, ``backoff`` and ``max_backoff`` ``>= 0`` seconds,
  ``max_concurrency >= 1``, ``top_p`` in ``(0, 1]`` or ``None``; ``api_key_env``: the name of a
  set environment variable holding the API key, or ``None``."""

  base_url: str
  model: str
  api_key_env: Optional[str] = None
  timeout: float = 60.0
  retries: int = 2
  backoff: float = 0.5
  max_backoff: float = 8.0
  max_concurrency: int = 4
  top_p: Optional[float] = None

  def __post_init__(self):
    if not isinstance(self.base_url, str) or not self.base_url.startswith(("http://", "https://")):
      raise ValueError(
        f"base_url must be an http(s) URL such as 'http://127.0.0.1:8080/v1'; got {self.base_url!r}."
      )
    fields.text("model", self.model, "a non-empty name")
    if self.api_key_env is not None:
      if not isinstance(self.api_key_env, str) or not self.api_key_env.strip():
        raise ValueError(
          f"api_key_env must name an environment variable; got {self.api_key_env!r}."
        )
      if self.api_key_env not in os.environ:
        raise ValueError(f"api_key_env: environment variable {self.api_key_env} is not set.")
    object.__setattr__(
      self, "timeout", fields.real("timeout", self.timeout, low=0.0, low_open=True)
    )
    object.__setattr__(self, "retries", fields.integer("retries", self.retries, low=0))
    for name in ("backoff", "max_backoff"):
      object.__setattr__(self, name, fields.real(name, getattr(self, name), low=0.0))
    object.__setattr__(
      self, "max_concurrency", fields.integer("max_concurrency", self.max_concurrency, low=1)
    )
    if self.top_p is not None:
      object.__setattr__(self, "top_p", nucleus_mass(self.top_p))

  def create(self, name: Optional[str] = None):
    """An :class:`~dice_jax.rollouts.backends.openai.OpenAIBackend` (reads the API key now)."""
    from dice_jax.rollouts.backends.openai import OpenAIBackend  # noqa: PLC0415

    options = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
    env = options.pop("api_key_env")
    key = os.environ.get(env) if env else None
    return OpenAIBackend(
      options.pop("base_url"), options.pop("model"), api_key=key, name=name, **options
    )


class LazyBackend:
  """A :class:`~dice_jax.rollouts.backends.Backend` created from its settings on the first
  ``complete`` call (so that validating a config loads no model and opens no connection)."""

  def __init__(self, settings: Union[LocalSettings, OpenAISettings], name: str):
    if not isinstance(settings, (LocalSettings, OpenAISettings)):
      raise ValueError(
        f"settings must be LocalSettings or OpenAISettings; got {type(settings).__name__}."
      )
    self.settings, self.name = settings, name
    self._backend = None

  def get(self):
    """The backend (created on the first call)."""
    if self._backend is None:
      self._backend = self.settings.create(self.name)
      self.name = getattr(self._backend, "name", self.name)
    return self._backend

  def complete(self, prompts, *, max_tokens, temperature=0.0, n=1, seed=0):
    """The backend's ``complete`` (creating the backend on the first call)."""
    return self.get().complete(
      prompts, max_tokens=max_tokens, temperature=temperature, n=n, seed=seed
    )

  def close(self):
    """Close the backend if it was created."""
    if self._backend is not None and hasattr(self._backend, "close"):
      self._backend.close()
