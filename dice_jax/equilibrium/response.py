"""The logit (quantal) best response, in log space.

    b_i(x) = softmax(log rho_i + v_i(x) / tau_i)                       (DESIGN §3)

``tau_i > 0`` is player i's temperature (``lambda_i = 1 / tau_i`` is Gambit's logit precision)
and ``rho_i`` the reference policy (default uniform). Computed as a ``log_softmax`` (max
subtracted), so it never overflows for large ``v / tau``.
"""

from __future__ import annotations

from typing import Sequence

import jax
import jax.numpy as jnp

from dice_jax.games.base import Profile


def log_logit_response(
  utilities: Profile, temperature: jax.Array, log_reference: Sequence[jax.Array]
) -> Profile:
  """``log b_i = log_softmax(log rho_i + v_i / tau_i)`` for every player.

  Args:
    utilities: ``(v_1, ..., v_N)``, ``v_i`` of shape ``(..., n_i)``.
    temperature: shape ``(..., N)``; ``temperature[..., i]`` is ``tau_i``.
    log_reference: ``(log rho_1, ..., log rho_N)``, each broadcastable to ``v_i``.

  Returns:
    The tuple of normalised log-probabilities of the logit responses.
  """
  return tuple(
    jax.nn.log_softmax(lr + v / temperature[..., i, None], axis=-1)
    for i, (v, lr) in enumerate(zip(utilities, log_reference))
  )


def response_logits(
  utilities: Profile, temperature: jax.Array, log_reference: Sequence[jax.Array]
) -> Profile:
  """Unnormalised logits ``z_i = log rho_i + v_i / tau_i`` of the logit responses."""
  return tuple(
    lr + v / temperature[..., i, None] for i, (v, lr) in enumerate(zip(utilities, log_reference))
  )


def log_softmax_and_softmax(u: jax.Array):
  """``(log_softmax(u), softmax(u))`` over the last axis with a single ``exp`` pass."""
  u = u - jax.lax.stop_gradient(jnp.max(u, axis=-1, keepdims=True))
  e = jnp.exp(u)
  s = jnp.sum(e, axis=-1, keepdims=True)
  return u - jnp.log(s), e / s


def normalize(logits: Profile) -> Profile:
  """Normalise unnormalised logits to log-probabilities, player by player."""
  return tuple(jax.nn.log_softmax(l, axis=-1) for l in logits)


def probabilities(logits: Profile) -> Profile:
  """``x_i = exp(logits_i)`` for normalised logits."""
  return tuple(jnp.exp(l) for l in logits)


def uniform_logits(num_actions: Sequence[int], batch_shape=(), dtype=None) -> Profile:
  """Log-probabilities of the uniform profile."""
  dtype = dtype or jnp.result_type(float)
  return tuple(jnp.full((*batch_shape, n), -jnp.log(n), dtype=dtype) for n in num_actions)
