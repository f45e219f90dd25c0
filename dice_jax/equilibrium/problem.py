"""The normal-form HQRE problem: a game, temperatures and reference policies (DESIGN §2-3).

It implements the solvers' problem protocol (:mod:`dice_jax.solvers.protocol`) for any game
offering ``utilities`` and ``payoff_halfrange`` (:class:`dice_jax.games.base.Game`): one row
per player, ``z_i = log rho_i + s v_i(x) / tau_i`` with ``s = payoff_scale``.
"""

from __future__ import annotations

from typing import Any, Tuple

import jax
import jax.numpy as jnp
from flax import struct

from dice_jax.equilibrium.residual import fixed_point_residual, regularised_gap
from dice_jax.equilibrium.response import log_logit_response, probabilities
from dice_jax.games.base import Profile


def halfrange_lipschitz(halfrange: jax.Array) -> jax.Array:
  """``L = sqrt((N - 1) max_j sum_{i != j} h_i^2)`` from per-player half-ranges ``h``
  ``(..., N)`` (see :meth:`HQREProblem.lipschitz`), computed relative to ``max_i h_i`` so that
  tiny half-ranges (``< 1e-154`` in float64) do not underflow to 0 when squared, and returned
  ``>= +0.0`` (never ``-0.0``, which turned the optimistic step into ``-inf``)."""
  h = jnp.abs(halfrange)
  n = h.shape[-1]
  hmax = jnp.max(h, axis=-1, keepdims=True)
  rel = jnp.square(h / jnp.where(hmax > 0, hmax, 1.0))
  others = jnp.maximum(jnp.sum(rel, axis=-1, keepdims=True) - rel, 0.0)
  return jnp.abs(hmax[..., 0] * jnp.sqrt((n - 1) * jnp.max(others, axis=-1)))


@struct.dataclass
class HQREProblem:
  """Find x with ``x_i = softmax(log rho_i + v_i(x) / tau_i)`` for every player i.

  Attributes:
    game: any game implementing :class:`dice_jax.games.base.Game`.
    temperature: ``tau``, shape ``(N,)`` (or ``(*batch, N)`` for a batch).
    log_reference: ``(log rho_1, ..., log rho_N)``.
    payoff_scale: ``s``, multiplies every utility vector (1 for the game as given; continuation
      runs ``s`` from 0 to 1).
  """

  game: Any
  temperature: jax.Array
  log_reference: Tuple[jax.Array, ...]
  payoff_scale: Any = 1.0

  def utilities(self, logits: Profile) -> Profile:
    """``s v_i(x)`` at the profile ``exp(logits)``."""
    return self.scaled_utilities(probabilities(logits))

  def scaled_utilities(self, probs: Profile) -> Profile:
    v = self.game.utilities(tuple(probs))
    if isinstance(self.payoff_scale, float) and self.payoff_scale == 1.0:
      return v
    return tuple(self.payoff_scale * vi for vi in v)

  def log_response(self, utilities: Profile) -> Profile:
    """``log b_i`` from (scaled) utility vectors."""
    return log_logit_response(utilities, self.temperature, self.log_reference)

  # --- the problem protocol (dice_jax.solvers.protocol) ---------------------------------------

  def row_temperatures(self) -> Profile:
    return tuple(self.temperature[..., i] for i in range(self.temperature.shape[-1]))

  def min_temperature(self) -> jax.Array:
    return jnp.min(self.temperature, axis=-1)

  def max_temperature(self) -> jax.Array:
    return jnp.max(self.temperature, axis=-1)

  def response_logits(self, logits: Profile, probs: Profile) -> Profile:
    """Unnormalised logits ``log rho_i + s v_i(x) / tau_i`` of the logit responses."""
    v = self.scaled_utilities(probs)
    return tuple(
      lr + vi / self.temperature[..., i, None]
      for i, (vi, lr) in enumerate(zip(v, self.log_reference))
    )

  def residual(self, probs: Profile, response_logits: Profile) -> jax.Array:
    """:func:`fixed_point_residual` of ``x`` given its response logits."""
    return fixed_point_residual(probs, response_logits)

  def gaps(self, logits: Profile) -> jax.Array:
    """Per-player regularised gaps ``tau_i KL(x_i || b_i(x))``."""
    return regularised_gap(logits, self.log_response(self.utilities(logits)), self.temperature)

  def lipschitz(self) -> jax.Array:
    """A Lipschitz bound L of x -> V(x) from (prod of l1, l2 over players) to its dual norm.

    From ``||v_i(x) - v_i(x')||_inf <= h_i sum_{j != i} ||x_j - x'_j||_1`` (the game's
    ``payoff_halfrange``, times ``|s|``) and Cauchy-Schwarz:
    ``sum_i ||dv_i||_inf^2 <= (N - 1) max_j sum_{i != j} h_i^2 * sum_j ||dx_j||_1^2``.
    For two players this is ``max(h_1, h_2)`` (:func:`halfrange_lipschitz`).
    """
    return halfrange_lipschitz(self.game.payoff_halfrange() * self.payoff_scale)

  def uniqueness_certified(self) -> jax.Array:
    """Whether a cheap rigorous bound certifies a unique HQRE: for a
    :class:`dice_jax.NormalFormGame`, ``min tau - alpha > 0`` or ``1 - alpha_W > 0`` with the
    vertex bound of :func:`dice_jax.certify.alpha_vertex_bound` (DESIGN §4; ``alpha`` scales
    with ``|s|``); ``False`` for other games (no cheap rigorous bound)."""
    from dice_jax.certify.monotonicity import alpha_vertex_bound, is_multilinear  # noqa: PLC0415

    if not is_multilinear(self.game):
      return jnp.bool_(False)
    s = jnp.abs(jnp.asarray(self.payoff_scale, self.temperature.dtype))
    alpha = s * alpha_vertex_bound(self.game)
    alpha_w = s * alpha_vertex_bound(self.game, 1.0 / self.temperature)
    return (alpha < self.min_temperature()) | (alpha_w < 1.0)

  def scale_payoffs(self, scale) -> "HQREProblem":
    return self.replace(payoff_scale=scale * self.payoff_scale)

  def postprocess(self, logits: Profile, outcome):
    from dice_jax.solvers.solution import Solution  # noqa: PLC0415 - solvers import this module

    return Solution.from_outcome(logits, self.gaps(logits), outcome)
