"""Rollout-measurable diagnostics (DESIGN §5): what DICE-PC computes from sampled payoffs.

* **Monotonicity ratio.** From per-rollout utility estimates ``v̂(x)^{(s)}`` at a profile ``x``
  and ``v̂(y)^{(s)}`` at ``y`` (sampled payoffs, not the game),

      m̂ = < mean_s v̂(x) - mean_s v̂(y), x - y > / ||x - y||_2^2 .

  For exact utilities ``m = <V(x) - V(y), x - y> / ||x - y||^2 <= alpha`` (inequality (1) of
  :mod:`dice_jax.certify.monotonicity`), so ``m > min tau`` refutes the monotonicity margin along
  the direction ``x - y`` while ``m < min tau`` on every probed pair is the evidence DICE-PC can
  gather for it. ``m̂`` is unbiased when the estimates are; its uncertainty is reported with a
  percentile bootstrap interval (Efron & Tibshirani, *An Introduction to the Bootstrap*, 1993,
  ch. 13), resampling the rollouts at ``x`` and at ``y`` independently.
* **Oscillation** of a policy trajectory ``x_0, ..., x_T``: ``mean_t sum_i ||x_{t+1,i} - x_{t,i}||_1``.
* **Drift**: ``sum_i ||x_{t,i} - x_{0,i}||_1`` for every ``t``.
"""

from __future__ import annotations

import functools
from typing import Optional, Sequence

import jax
import jax.numpy as jnp
from flax import struct


@struct.dataclass
class MonotonicityRatio:
  """The rollout monotonicity estimate and its bootstrap interval.

  Attributes:
    estimate: ``m̂``; lower, upper: the bootstrap percentile interval.
    min_temperature: ``min tau`` (NaN when no temperature was given).
    ratio: ``m̂ / min tau`` (``< 1``: consistent with a positive margin; ``> 1``: refutes it).
    refuted: ``lower > min tau`` -- the interval lies above the margin.
  """

  estimate: jax.Array
  lower: jax.Array
  upper: jax.Array
  min_temperature: jax.Array
  ratio: jax.Array
  refuted: jax.Array


def _quotient(vx, vy, dx):
  num = sum(jnp.sum((a - b) * d, -1) for a, b, d in zip(vx, vy, dx))
  den = sum(jnp.sum(jnp.square(d), -1) for d in dx)
  return num / den


@functools.partial(jax.jit, static_argnames=("num_bootstrap",))
def monotonicity_ratio(
  utilities_x: Sequence[jax.Array],
  utilities_y: Sequence[jax.Array],
  x: Sequence[jax.Array],
  y: Sequence[jax.Array],
  temperature: Optional[jax.Array] = None,
  *,
  key=None,
  num_bootstrap: int = 1000,
  confidence: float = 0.95,
) -> MonotonicityRatio:
  """Estimate ``<V(x) - V(y), x - y> / ||x - y||^2`` from sampled utilities, with an interval.

  Args:
    utilities_x: per player, ``(S_x, n_i)`` per-rollout estimates of ``v_i(x)``.
    utilities_y: per player, ``(S_y, n_i)`` estimates of ``v_i(y)``.
    x, y: the two profiles, per player ``(n_i,)``; ``x != y``.
    temperature: optional ``tau`` (scalar or per player) to compare with.
    key: ``jax.random`` key for the bootstrap (default ``PRNGKey(0)``).
    num_bootstrap: bootstrap resamples (static).
    confidence: level of the percentile interval.

  Returns:
    A :class:`MonotonicityRatio`. Jit- and vmap-safe (no host checks).
  """
  key = jax.random.PRNGKey(0) if key is None else key
  dx = tuple(jnp.asarray(a) - jnp.asarray(b) for a, b in zip(x, y))
  mx = tuple(jnp.mean(u, 0) for u in utilities_x)
  my = tuple(jnp.mean(u, 0) for u in utilities_y)
  est = _quotient(mx, my, dx)
  sx, sy = utilities_x[0].shape[0], utilities_y[0].shape[0]
  kx, ky = jax.random.split(key)
  ix = jax.random.randint(kx, (num_bootstrap, sx), 0, sx)
  iy = jax.random.randint(ky, (num_bootstrap, sy), 0, sy)
  bx = tuple(jnp.mean(u[ix], 1) for u in utilities_x)
  by = tuple(jnp.mean(u[iy], 1) for u in utilities_y)
  boot = _quotient(bx, by, tuple(d[None] for d in dx))
  q = (1 - confidence) / 2
  lo, hi = jnp.quantile(boot, q), jnp.quantile(boot, 1 - q)
  if temperature is None:
    tmin = jnp.asarray(jnp.nan, est.dtype)
  else:
    tmin = jnp.min(jnp.asarray(temperature, est.dtype))
  return MonotonicityRatio(
    estimate=est, lower=lo, upper=hi, min_temperature=tmin, ratio=est / tmin, refuted=lo > tmin
  )


def oscillation(trajectory: Sequence[jax.Array]) -> jax.Array:
  """``mean_t sum_i ||x_{t+1,i} - x_{t,i}||_1`` of a trajectory given per player as
  ``(..., T + 1, n_i)``; shape ``(...)``."""
  steps = sum(jnp.sum(jnp.abs(jnp.diff(p, axis=-2)), -1) for p in trajectory)
  return jnp.mean(steps, -1)


def drift(trajectory: Sequence[jax.Array]) -> jax.Array:
  """``sum_i ||x_{t,i} - x_{0,i}||_1`` for every ``t``, shape ``(..., T + 1)``."""
  return sum(jnp.sum(jnp.abs(p - p[..., :1, :]), -1) for p in trajectory)
