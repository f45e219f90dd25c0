"""The DICE-FT mirror target over a candidate set (DESIGN §7)."""

from __future__ import annotations

from typing import Optional

import jax
import jax.numpy as jnp
import numpy as np

from dice_jax import _validation
from dice_jax.solvers.mirror import mirror_update


def masked_log_softmax(x: jax.Array, mask: Optional[jax.Array]) -> jax.Array:
  """``log_softmax`` over the last axis restricted to ``mask`` (masked entries ``-inf``)."""
  if mask is not None:
    x = jnp.where(mask, x, -jnp.inf)
  return jax.nn.log_softmax(x, axis=-1)


def mirror_target(
  log_policy, log_reference, advantages, temperature, step_size, mask: Optional[jax.Array] = None
) -> jax.Array:
  """``log pi+`` for K candidate responses per prompt (state).

      log pi+(c) = [log pi_k(c) + eta A(c) + eta tau log rho(c)] / (1 + eta tau) - logsumexp(.)

  i.e. ``pi+ ∝ pi_k^(1/(1+eta tau)) rho^(eta tau/(1+eta tau)) exp(eta A / (1+eta tau))``: the
  proximal mirror (MMD) step of DESIGN §3 with the advantages in place of the utility vector
  and the base model as the magnet. It *is* the solver's update: this function calls
  :func:`dice_jax.solvers.mirror.mirror_update` with ``w = 1 / (1 + eta tau)`` and response
  logits ``log rho + A / tau``. ``pi_k`` and ``rho`` are sequence probabilities renormalised
  over the candidate set (``log_policy`` and ``log_reference`` need not be normalised).

  Args:
    log_policy, log_reference, advantages: ``[..., K]``.
    temperature: ``tau > 0``, broadcastable to ``[...]`` (one per prompt/state).
    step_size: ``eta > 0``, broadcastable to ``[...]``.
    mask: optional boolean ``[..., K]``: which candidates exist (sets of different sizes).

  Returns:
    Normalised ``log pi+`` of shape ``[..., K]`` (``-inf`` where masked).

  Raises:
    ValueError: naming the argument, for non-finite advantages (where unmasked), ``tau <= 0``,
      ``eta <= 0`` or shapes that do not match.
  """
  shape = np.shape(log_policy)
  for name, value in (("log_reference", log_reference), ("advantages", advantages)):
    if np.shape(value) != shape:
      raise ValueError(f"{name} has shape {np.shape(value)} but log_policy has shape {shape}.")
  if mask is not None and np.shape(mask) != shape:
    raise ValueError(f"mask has shape {np.shape(mask)} but log_policy has shape {shape}.")
  if _validation.is_concrete(advantages):
    a = np.asarray(advantages)
    valid = np.ones(shape, bool) if mask is None else np.asarray(mask, bool)
    _validation.require_finite("advantages", np.where(valid, a, 0.0))
  _validation.require_positive("temperature", temperature)
  _validation.require_positive("step_size", step_size)
  for name, value in (("temperature", temperature), ("step_size", step_size)):
    _validation.broadcast_or_raise(name, np.shape(value), shape[:-1], "one per prompt")
  tau = jnp.asarray(temperature)[..., None]
  weight = 1.0 / (1.0 + jnp.asarray(step_size)[..., None] * tau)  # [..., 1]: one "player"
  log_pi = masked_log_softmax(jnp.asarray(log_policy), mask)
  z = masked_log_softmax(jnp.asarray(log_reference), mask) + jnp.asarray(advantages) / tau
  if mask is not None:
    z = jnp.where(mask, z, -jnp.inf)
  (log_target,), _ = mirror_update((log_pi,), (z,), weight)
  return log_target
