"""Per-state stage-game monotonicity of a Markov HQRE: a diagnostic, not a certificate.

At a profile ``pi`` with values ``V`` (under a convention), state s defines the normal-form
*stage game* ``G_i(s, a) = R_i(s, a) + gamma sum_{s'} P(s'|s, a) V_i(s')``
(:func:`dice_jax.markov.evaluation.continuation_payoffs`); the Markov HQRE condition in state s
is the HQRE condition of ``G(s)`` at temperatures ``tau_i(s)``. For each state this module
reports the monotonicity constant ``alpha(s)`` of ``G(s)`` (DESIGN §4; exact for two agents,
the rigorous vertex upper bound for more, :mod:`dice_jax.certify.monotonicity`) and the margins
``mu(s) = min_i tau_i(s) - alpha(s)`` and ``mu_W(s) = 1 - alpha_W(s)`` (``w_i = 1 / tau_i(s)``).

Why it is **not** a certificate: ``G(s)`` holds continuation values that themselves move with
the policy, so a positive stage margin says the stage game with frozen continuation is
monotone, not that the Markov HQRE is unique. The certified case is the two-player zero-sum
game under the ``"zero_sum"`` convention (Cen, Wei & Chi 2021: the regularised Shapley operator
is a gamma-contraction, so the equilibrium is unique and policy extragradient converges
linearly); there every stage game is zero-sum and ``alpha(s) = 0``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct

from dice_jax.certify.monotonicity import alpha_two_player, alpha_vertex_bound
from dice_jax.games.normal_form import NormalFormGame
from dice_jax.markov import evaluation as ev
from dice_jax.markov.game import MarkovGame


@struct.dataclass
class StageMonotonicity:
  """Per-state stage-game monotonicity (shapes ``(*batch, S)``).

  Attributes:
    alpha: ``alpha(s)`` (exact for two agents, an upper bound for more).
    alpha_weighted: ``alpha_W(s)`` with ``w_i = 1 / tau_i(s)``.
    margin: ``min_i tau_i(s) - alpha(s)``.
    weighted_margin: ``1 - alpha_W(s)``.
    monotone: ``margin > 0 or weighted_margin > 0`` per state (frozen continuation values).
    certified: ``True`` only for a two-player zero-sum game under ``"zero_sum"`` (static).
  """

  alpha: jax.Array
  alpha_weighted: jax.Array
  margin: jax.Array
  weighted_margin: jax.Array
  monotone: jax.Array
  certified: bool = struct.field(pytree_node=False, default=False)


def stage_monotonicity(game: MarkovGame, logits, convention: str = "own") -> StageMonotonicity:
  """The diagnostic of the module docstring at the profile ``exp(logits)`` (e.g. a solution's).

  Raises:
    ValueError: for a one-agent game (no stage game to measure) or an unknown convention.
  """
  ev.check_convention(convention)
  if game.num_agents < 2:
    raise ValueError("game must have at least two agents for a stage-game diagnostic.")
  v = ev.values(game, tuple(logits), convention)
  g = ev.continuation_payoffs(game, v, convention)
  stage = NormalFormGame(payoffs=g)
  tau = jnp.swapaxes(game.temperature, -1, -2)  # (*batch, S, N)
  alpha_fn = alpha_two_player if game.num_agents == 2 else alpha_vertex_bound
  alpha = alpha_fn(stage)
  alpha_w = alpha_fn(stage, 1.0 / tau)
  margin = jnp.min(tau, axis=-1) - alpha
  weighted = 1.0 - alpha_w
  return StageMonotonicity(
    alpha=alpha,
    alpha_weighted=alpha_w,
    margin=margin,
    weighted_margin=weighted,
    monotone=(margin > 0) | (weighted > 0),
    certified=convention == "zero_sum",
  )
