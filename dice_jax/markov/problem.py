"""The Markov HQRE problem (DESIGN §6) in the solvers' protocol (:mod:`dice_jax.solvers.protocol`).

Rows are states: agent i's log-policy has shape ``(S, n_i)``, and the response logits are

    z_i(s) = log rho_i(.|s) + Q_i(s, .) / tau_i(s),

``Q`` the exact regularised action values of the profile under the value convention
(:mod:`dice_jax.markov.evaluation`: one linear solve of size S). Every solver of
:mod:`dice_jax.solvers` runs on it; the proximal mirror step with ``Q`` in place of ``v``,

    log pi_i+(.|s) = log_softmax( w_i(s) log pi_i(.|s) + (1 - w_i(s)) z_i(s) ),
    w_i(s) = 1 / (1 + eta tau_i(s)),

has exactly the HQRE as its fixed points.
"""

from __future__ import annotations

from typing import Optional

import jax
import jax.numpy as jnp
from flax import struct

from dice_jax.equilibrium.residual import row_residual
from dice_jax.markov import evaluation as ev
from dice_jax.markov.game import MarkovGame
from dice_jax.solvers.solution import Solution


@struct.dataclass
class MarkovSolution(Solution):
  """A :class:`dice_jax.solvers.Solution` for a Markov game (``logits[i]`` has shape
  ``(*batch, S, n_i)``), plus what the Markov setting adds.

  Attributes:
    values: ``V_i(s)`` of the returned profile under ``convention``, ``(*batch, N, S)``.
    state_residual: per-state residual ``(*batch, S)``.
    state_gaps: per-agent, per-state regularised gaps ``(*batch, N, S)``; ``agent_gaps`` is
      their maximum over states and ``gap`` the sum of those over agents.
    convention: the value convention used (``"own"``, ``"zero_sum"`` or ``"logit"``).
  """

  values: Optional[jax.Array] = None
  state_residual: Optional[jax.Array] = None
  state_gaps: Optional[jax.Array] = None
  convention: str = struct.field(pytree_node=False, default="own")


@struct.dataclass
class MarkovProblem:
  """Find the Markov HQRE of ``game`` (one unbatched game) under a value convention.

  Attributes:
    game: the :class:`MarkovGame`.
    convention: ``"own"``, ``"zero_sum"`` or ``"logit"`` (static).
  """

  game: MarkovGame
  convention: str = struct.field(pytree_node=False, default="own")

  @property
  def temperature(self) -> jax.Array:
    return self.game.temperature

  @property
  def log_reference(self) -> ev.Policy:
    return self.game.log_reference

  def q_values(self, logits) -> ev.Policy:
    return ev.q_values(self.game, logits, self.convention)

  # --- the problem protocol (dice_jax.solvers.protocol) ---------------------------------------

  def row_temperatures(self):
    return tuple(self.game.temperature[..., i, :] for i in range(self.game.num_agents))

  def min_temperature(self) -> jax.Array:
    return jnp.min(self.game.temperature, axis=(-2, -1))

  def max_temperature(self) -> jax.Array:
    return jnp.max(self.game.temperature, axis=(-2, -1))

  def response_logits(self, logits, probs) -> ev.Policy:
    """``log rho_i(.|s) + Q_i(s, .) / tau_i(s)`` (one exact policy evaluation)."""
    return ev.response_logits(self.game, self.q_values(logits))

  def residual(self, probs, z) -> jax.Array:
    """``max_{i,s} ||pi_i(.|s) - b_i(.|s)||_1``."""
    return row_residual(probs, z)

  def gaps(self, logits) -> jax.Array:
    """Per agent the largest per-state gap ``max_s tau_i(s) KL(pi_i(.|s) || b_i(.|s))``."""
    z = self.response_logits(logits, None)
    return jnp.max(ev.state_gaps(self.game, logits, z), axis=-1)

  def lipschitz(self) -> jax.Array:
    """A scale ``L`` for the Q-values' sensitivity to the policy (a heuristic, not a bound).

    ``(h + tau_max log n_max) / (1 - gamma)``, ``h`` the largest reward half-range: the range
    of regularised values. It only sets default and floor step sizes; no general-sum
    convergence theorem is claimed.
    """
    g = self.game
    n = g.num_agents
    axes = tuple(range(-n - 1, 0))
    h = jnp.max(jnp.stack([(r.max(axis=axes) - r.min(axis=axes)) / 2 for r in g.rewards], -1), -1)
    reg = jnp.max(g.temperature, axis=(-2, -1)) * jnp.log(float(max(g.num_actions)))
    return jnp.abs((h + reg) / (1.0 - g.gamma))

  def uniqueness_certified(self) -> jax.Array:
    """Whether the contraction constant of the response map (DESIGN §6,
    :func:`dice_jax.certify.markov.contraction` on the set every fixed point lies in) is
    ``q < 1``: then the HQRE is unique. Computed from the game alone (rewards, transitions,
    temperatures, gamma); conservative -- it certifies only at temperatures high relative to
    the reward range / (1 - gamma)."""
    from dice_jax.certify import markov as cm  # noqa: PLC0415 - certify imports markov

    k = cm.game_constants(self.game)
    tau, gamma = self.game.temperature, self.game.gamma
    lam = cm.log_ratio_bound(k, tau, gamma, self.convention)
    return cm.contraction(k, tau, gamma, lam, self.convention) < 1.0

  def scale_payoffs(self, scale) -> "MarkovProblem":
    """The game with rewards ``s R`` (temperatures kept): ``s V_{tau/s}[R] = V_tau[s R]``."""
    return self.replace(game=self.game.replace(rewards=tuple(scale * r for r in self.game.rewards)))

  def postprocess(self, logits, outcome) -> MarkovSolution:
    """One evaluation of the returned profile gives values, per-state residual and gaps."""
    e = ev.evaluate_profile(self.game, logits, self.convention)
    agent_gaps = jnp.max(e.gaps, axis=-1)
    return MarkovSolution.from_outcome(
      logits,
      agent_gaps,
      outcome,
      values=e.values,
      state_residual=e.residual,
      state_gaps=e.gaps,
      convention=self.convention,
    )
