"""Host-side input checks shared by every public entry point.

Each check runs on concrete (non-traced) values before any compilation and raises a
``ValueError`` whose message starts with the argument's name. Under ``jax.jit`` the values are
tracers; then only the static (shape) checks run and the value checks are skipped.
"""
from __future__ import annotations

from typing import Any, Sequence

import jax
import numpy as np


def is_concrete(x: Any) -> bool:
  """True when ``x`` holds values (not a tracer), so value checks can run on the host."""
  return not isinstance(x, jax.core.Tracer)


def require_finite(name: str, x: Any) -> None:
  """Raise ``ValueError`` naming ``name`` if a concrete ``x`` has NaN or infinite entries."""
  if not is_concrete(x):
    return
  a = np.asarray(x)
  if a.size and not np.all(np.isfinite(a)):
    bad = np.argwhere(~np.isfinite(a))[0]
    raise ValueError(
        f"{name} must be finite; found {a[tuple(bad)]} at index {tuple(int(i) for i in bad)}.")


def require_positive(name: str, x: Any) -> None:
  """Raise ``ValueError`` naming ``name`` unless every entry of a concrete ``x`` is finite and > 0."""
  require_finite(name, x)
  if not is_concrete(x):
    return
  a = np.asarray(x)
  if a.size and not np.all(a > 0):
    bad = np.argwhere(~(a > 0))[0]
    raise ValueError(
        f"{name} must be > 0; found {a[tuple(bad)]} at index {tuple(int(i) for i in bad)}.")


def require_distribution(name: str, x: Any, *, atol: float = 1e-6) -> None:
  """Raise ``ValueError`` unless a concrete ``x`` is strictly positive and sums to 1 on its last axis."""
  require_positive(name, x)
  if not is_concrete(x):
    return
  a = np.asarray(x, dtype=np.float64)
  sums = a.sum(axis=-1)
  if not np.all(np.abs(sums - 1.0) <= atol * max(1, a.shape[-1])):
    worst = np.unravel_index(np.argmax(np.abs(sums - 1.0)), sums.shape)
    raise ValueError(
        f"{name} must be a probability distribution over its last axis (sum 1); "
        f"a row sums to {float(sums[worst]):.6g} at batch index {tuple(int(i) for i in worst)}.")


def broadcast_or_raise(name: str, shape: Sequence[int], target: Sequence[int], meaning: str) -> None:
  """Raise ``ValueError`` unless ``shape`` broadcasts to ``target`` (described by ``meaning``)."""
  try:
    out = np.broadcast_shapes(tuple(shape), tuple(target))
  except ValueError:
    out = None
  if out != tuple(target):
    raise ValueError(
        f"{name} has shape {tuple(shape)}, which does not broadcast to {tuple(target)} ({meaning}).")


def game_and_temperature(game: Any, temperature: Any):
  """Check a game and its temperatures, the arguments every entry point shares.

  Returns:
    ``(num_actions, batch_shape, dtype, temperature)`` with ``temperature`` broadcast to
    ``(*batch, N)`` (a NumPy array on the host, or a JAX array when traced).

  Raises:
    ValueError: ``game`` lacks the Game protocol; ``temperature`` is not finite, not > 0, or
      does not broadcast to ``(*batch, N)``.
  """
  import jax.numpy as jnp  # noqa: PLC0415 - keep this module importable without tracing cost

  if not all(hasattr(game, a) for a in ("num_actions", "utilities", "payoff_halfrange")):
    raise ValueError(f"game must implement the Game protocol (num_actions, utilities, "
                     f"payoff_halfrange); got {type(game).__name__}.")
  n_actions = tuple(game.num_actions)
  n = len(n_actions)
  batch = tuple(getattr(game, "batch_shape", ()))
  dtype = getattr(game, "dtype", jnp.result_type(float))
  require_positive("temperature", temperature)
  broadcast_or_raise("temperature", np.shape(temperature), (*batch, n),
                     f"batch shape {batch} by {n} players")
  if is_concrete(temperature):
    temperature = np.broadcast_to(np.asarray(temperature, dtype=dtype), (*batch, n))
  else:
    temperature = jnp.broadcast_to(jnp.asarray(temperature, dtype), (*batch, n))
  return n_actions, batch, dtype, temperature
