"""Distances from equilibrium shared by every solver: fixed-point residual and regularised gap.

With a profile ``x`` (``l_i = log x_i``) and its logit responses ``b_i``
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


def fixed_point_residual(probs: Profile, response_logits: Profile) -> jax.Array:
  """``max_i ||x_i - b_i||_1`` with ``b_i = softmax(z_i)``; shape ``(...)``.

  Args:
    probs: the profile ``x`` (probabilities).
    response_logits: the (possibly unnormalised) logits ``z_i`` of the responses ``b_i``.
  """
  per_player = [jnp.sum(jnp.abs(x - jax.nn.softmax(z, axis=-1)), axis=-1)
                for x, z in zip(probs, response_logits)]
  return jnp.max(jnp.stack(per_player, axis=-1), axis=-1)


def regularised_gap(logits: Profile, log_response: Profile, temperature: jax.Array) -> jax.Array:
  """``tau_i KL(x_i || b_i)`` per player, shape ``(..., N)``; ``>= 0`` up to rounding."""
  kl = [jnp.sum(jnp.exp(l) * (l - lb), axis=-1) for l, lb in zip(logits, log_response)]
  return temperature * jnp.stack(kl, axis=-1)
