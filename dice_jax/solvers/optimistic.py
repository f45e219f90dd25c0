"""Optimistic mirror descent (OMWU) with entropy regularisation."""
from __future__ import annotations

from typing import Optional

import jax
import jax.numpy as jnp
from flax import struct

from dice_jax.equilibrium.problem import HQREProblem
from dice_jax.games.base import Profile
from dice_jax.solvers.mirror import init_state, mirror_update, proximal_weight


def cen_weight(problem: HQREProblem, *, optimistic: bool) -> jax.Array:
  """Interpolation weights ``w_i = 1 - eta' tau_i`` from the step sizes of Cen et al. (2021).

  Cen, Cheng, Chen, Wei & Chi, "Fast Policy Extragradient Methods for Competitive Games with
  Entropy Regularization", NeurIPS 2021, write the update as
  ``x+ ∝ x^(1 - eta' tau) exp(eta' v)`` and prove linear convergence at rate ``1 - eta' tau``
  for two-player zero-sum games with ``eta' <= 1 / (tau + 2 ||A||_inf)`` (extragradient,
  "PU") and ``eta' <= min(1 / (2 tau + 2 ||A||_inf), 1 / (4 ||A||_inf))`` (OMWU). We use
  ``||A||_inf -> L`` (:meth:`HQREProblem.lipschitz`, the payoff half-range for two players;
  constants do not change the dynamics) and ``tau -> max_i tau_i``.
  """
  tau = problem.temperature
  lip = problem.lipschitz()[..., None]
  tmax = jnp.max(tau, axis=-1, keepdims=True)
  if optimistic:
    eta = jnp.minimum(1.0 / (2 * tmax + 2 * lip), 1.0 / (4 * lip))
  else:
    eta = 1.0 / (tmax + 2 * lip)
  return 1.0 - eta * tau


@struct.dataclass
class Optimistic:
  """Optimistic mirror descent: one utility evaluation per step, a look-ahead that reuses the
  previous look-ahead's response (OMWU of Cen et al., 2021):

      xbar+ = prox(x, b(xbar)),   x+ = prox(x, b(xbar+)),

  where ``prox(x, b) = log_softmax(w log x + (1 - w) log b)`` is the MMD step of
  :func:`dice_jax.solvers.mirror.mirror_update`. The residual reported (and the profile
  returned) is the look-ahead ``xbar``'s, whose utilities each step evaluates anyway.

  Attributes:
    step_size: the proximal ``eta`` of DESIGN §3 (``w = 1 / (1 + eta tau)``), or ``None`` for
      the step of :func:`cen_weight`.
    check_every: steps between convergence checks (static).
  """

  step_size: Optional[jax.Array] = None
  check_every: int = struct.field(pytree_node=False, default=1)

  def weight(self, problem: HQREProblem) -> jax.Array:
    if self.step_size is not None:
      return proximal_weight(self.step_size, problem.temperature)
    return cen_weight(problem, optimistic=True)

  def init(self, problem: HQREProblem, logits: Profile):
    logits, probs = init_state(logits)
    z = problem.response_logits(problem.game.utilities(probs))
    return (logits, probs), z, self.weight(problem)

  def step(self, problem: HQREProblem, state):
    (logits, _), z_prev, w = state
    look, look_probs = mirror_update(logits, z_prev, w)
    z = problem.response_logits(problem.game.utilities(look_probs))
    r = problem.residual(look_probs, z)
    return (mirror_update(logits, z, w), z, w), look, r, jnp.bool_(True)


@struct.dataclass
class Extragradient:
  """Extragradient mirror descent (policy extragradient "PU" of Cen et al., 2021):

      xbar = prox(x, b(x)),   x+ = prox(x, b(xbar)),

  two utility evaluations per step; the residual of ``x`` comes with the first.

  Attributes:
    step_size: the proximal ``eta`` (``w = 1 / (1 + eta tau)``) or ``None`` for
      :func:`cen_weight`.
    check_every: steps between convergence checks (static).
  """

  step_size: Optional[jax.Array] = None
  check_every: int = struct.field(pytree_node=False, default=1)

  def weight(self, problem: HQREProblem) -> jax.Array:
    if self.step_size is not None:
      return proximal_weight(self.step_size, problem.temperature)
    return cen_weight(problem, optimistic=False)

  def init(self, problem: HQREProblem, logits: Profile):
    return init_state(logits), self.weight(problem)

  def step(self, problem: HQREProblem, state):
    (logits, probs), w = state
    z = problem.response_logits(problem.game.utilities(probs))
    r = problem.residual(probs, z)
    _, look_probs = mirror_update(logits, z, w)
    z_look = problem.response_logits(problem.game.utilities(look_probs))
    return (mirror_update(logits, z_look, w), w), logits, r, jnp.bool_(True)
