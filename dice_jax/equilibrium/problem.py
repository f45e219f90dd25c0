"""An HQRE problem: a game, temperatures and reference policies (DESIGN §2-3)."""
from __future__ import annotations

from typing import Any, Tuple

import jax
import jax.numpy as jnp
from flax import struct

from dice_jax.equilibrium.residual import fixed_point_residual, regularised_gap
from dice_jax.equilibrium.response import (log_logit_response, probabilities,
                                           response_logits)
from dice_jax.games.base import Profile


@struct.dataclass
class HQREProblem:
  """Find x with ``x_i = softmax(log rho_i + v_i(x) / tau_i)`` for every player i.

  Attributes:
    game: any game implementing :class:`dice_jax.games.base.Game`.
    temperature: ``tau``, shape ``(N,)`` (or ``(*batch, N)`` for a batch).
    log_reference: ``(log rho_1, ..., log rho_N)``.
  """

  game: Any
  temperature: jax.Array
  log_reference: Tuple[jax.Array, ...]

  def utilities(self, logits: Profile) -> Profile:
    return self.game.utilities(probabilities(logits))

  def log_response(self, utilities: Profile) -> Profile:
    return log_logit_response(utilities, self.temperature, self.log_reference)

  def response_logits(self, utilities: Profile) -> Profile:
    """Unnormalised logits ``log rho_i + v_i / tau_i`` of the logit responses."""
    return response_logits(utilities, self.temperature, self.log_reference)

  def residual(self, probs: Profile, response_logits: Profile) -> jax.Array:
    """:func:`fixed_point_residual` of ``x`` given its response logits."""
    return fixed_point_residual(probs, response_logits)

  def gaps(self, logits: Profile) -> jax.Array:
    """Per-player regularised gaps ``tau_i KL(x_i || b_i(x))``."""
    return regularised_gap(logits, self.log_response(self.utilities(logits)), self.temperature)

  def lipschitz(self) -> jax.Array:
    """A Lipschitz bound L of x -> V(x) from (prod of l1, l2 over players) to its dual norm.

    From ``||v_i(x) - v_i(x')||_inf <= h_i sum_{j != i} ||x_j - x'_j||_1`` (the game's
    ``payoff_halfrange``) and Cauchy-Schwarz:
    ``sum_i ||dv_i||_inf^2 <= (N - 1) max_j sum_{i != j} h_i^2 * sum_j ||dx_j||_1^2``.
    For two players this is ``max(h_1, h_2)``.
    """
    h2 = jnp.square(self.game.payoff_halfrange())
    n = h2.shape[-1]
    others = jnp.sum(h2, axis=-1, keepdims=True) - h2
    return jnp.sqrt((n - 1) * jnp.max(others, axis=-1))
