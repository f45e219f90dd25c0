"""Distances from equilibrium shared by every solver: fixed-point residual and regularised gap.

With normalised log-probabilities ``l_i = log x_i`` and logit responses ``log b_i``
(:func:`dice_jax.equilibrium.response.log_logit_response`):

* fixed-point residual  ``r(x) = max_i ||x_i - b_i(x)||_1``;
* regularised gap  ``gap_i(x) = tau_i KL(x_i || b_i(x))``, which equals player i's gain from a
  best response in the regularised game ``u_i(x) - tau_i KL(x_i || rho_i)`` (DESIGN §3): the
  regularised best response is ``b_i`` and, by the Gibbs variational principle,
  ``max_y [<y, v_i> - tau_i KL(y||rho_i)] - [<x_i, v_i> - tau_i KL(x_i||rho_i)]
  = tau_i KL(x_i || b_i)``. Both vanish exactly at the HQRE.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from dice_jax.games.base import Profile


def fixed_point_residual(logits: Profile, log_response: Profile) -> jax.Array:
  """``max_i ||x_i - b_i||_1``; shape ``(...)`` (the leading axes of the inputs)."""
  per_player = [jnp.sum(jnp.abs(jnp.exp(l) - jnp.exp(lb)), axis=-1)
                for l, lb in zip(logits, log_response)]
  return jnp.max(jnp.stack(per_player, axis=-1), axis=-1)


def regularised_gap(logits: Profile, log_response: Profile, temperature: jax.Array) -> jax.Array:
  """``tau_i KL(x_i || b_i)`` per player, shape ``(..., N)``; ``>= 0`` up to rounding."""
  kl = [jnp.sum(jnp.exp(l) * (l - lb), axis=-1) for l, lb in zip(logits, log_response)]
  return temperature * jnp.stack(kl, axis=-1)
