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
from jax.flatten_util import ravel_pytree

from dice_jax.games.base import Profile


def fixed_point_residual(probs: Profile, response_logits: Profile) -> jax.Array:
  """``max_i ||x_i - b_i||_1`` with ``b_i = softmax(z_i)``; shape ``(...)``.

  Args:
    probs: the profile ``x`` (probabilities).
    response_logits: the (possibly unnormalised) logits ``z_i`` of the responses ``b_i``.
  """
  per_player = [
    jnp.sum(jnp.abs(x - jax.nn.softmax(z, axis=-1)), axis=-1)
    for x, z in zip(probs, response_logits)
  ]
  return jnp.max(jnp.stack(per_player, axis=-1), axis=-1)


def regularised_gap(logits: Profile, log_response: Profile, temperature: jax.Array) -> jax.Array:
  """``tau_i KL(x_i || b_i)`` per player, shape ``(..., N)``; ``>= 0`` up to rounding."""
  kl = [jnp.sum(jnp.exp(l) * (l - lb), axis=-1) for l, lb in zip(logits, log_response)]
  return temperature * jnp.stack(kl, axis=-1)


def row_residual(probs: Profile, response_logits: Profile) -> jax.Array:
  """``max_{i, r} ||x_{i,r} - softmax(z_{i,r})||_1`` over every agent and every row ``r`` (state,
  type or observation) of one unbatched problem: a scalar.

  Args:
    probs: per agent ``x_i`` of shape ``(*rows_i, n_i)``.
    response_logits: per agent the logits ``z_i`` of the responses, same shapes.
  """
  per_agent = [
    jnp.max(jnp.sum(jnp.abs(x - jax.nn.softmax(z, axis=-1)), axis=-1))
    for x, z in zip(probs, response_logits)
  ]
  return jnp.max(jnp.stack(per_agent))


def row_kl(logits: Profile, response_logits: Profile) -> Profile:
  """Per agent ``KL(x_{i,r} || b_{i,r})`` for every row, shape ``rows_i`` (``>= 0`` up to
  rounding); ``logits`` normalised, ``response_logits`` possibly not."""
  return tuple(
    jnp.sum(jnp.exp(l) * (l - jax.nn.log_softmax(z, axis=-1)), axis=-1)
    for l, z in zip(logits, response_logits)
  )


def optimality(problem, y: jax.Array) -> jax.Array:
  """``H(y) = y - log b(softmax(y))``: the HQRE's optimality function on flattened logits.

  ``y`` holds every agent's log-probabilities, all rows, flattened in the order of
  ``jax.flatten_util.ravel_pytree(problem.log_reference)``; ``x`` is their row-wise softmax and
  ``log b = log_softmax(problem.response_logits(log x, x))`` (any problem of
  :mod:`dice_jax.solvers.protocol`). ``H = 0`` exactly at the HQRE (normalised ``y``), and
  ``dH/dy`` is the identity along each row's all-ones direction. Continuation traces it along
  ``problem.scale_payoffs(s)``; implicit differentiation (:mod:`dice_jax.certify.implicit`)
  solves with its Jacobian.
  """
  _, unravel = ravel_pytree(tuple(problem.log_reference))
  logits = tuple(jax.nn.log_softmax(l, axis=-1) for l in unravel(y))
  z = problem.response_logits(logits, tuple(jnp.exp(l) for l in logits))
  lb, _ = ravel_pytree(tuple(jax.nn.log_softmax(zi, axis=-1) for zi in z))
  return y - lb
