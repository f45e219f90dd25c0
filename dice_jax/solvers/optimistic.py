"""Optimistic (OMWU) and extragradient mirror descent with entropy regularisation, on any
problem of :mod:`dice_jax.solvers.protocol`."""

from __future__ import annotations

from typing import NamedTuple, Optional

import jax
import jax.numpy as jnp
from flax import struct

from dice_jax.solvers.engine import Step
from dice_jax.solvers.method_code import METHOD
from dice_jax.solvers.mirror import evaluate, mirror_update, proximal_weight
from dice_jax.solvers.protocol import Problem, Profile


def cen_weight(problem: Problem, *, optimistic: bool) -> Profile:
  """Interpolation weights ``w_{i,r} = 1 - eta' tau_{i,r}`` from the step sizes of Cen et al.

  Cen, Cheng, Chen, Wei & Chi, "Fast Policy Extragradient Methods for Competitive Games with
  Entropy Regularization", NeurIPS 2021, write the update as
  ``x+ ∝ x^(1 - eta' tau) exp(eta' v)`` and prove linear convergence at rate ``1 - eta' tau``
  for two-player zero-sum games with ``eta' <= 1 / (tau + 2 ||A||_inf)`` (extragradient,
  "PU") and ``eta' <= min(1 / (2 tau + 2 ||A||_inf), 1 / (4 ||A||_inf))`` (OMWU). We use
  ``||A||_inf -> L`` (the problem's ``lipschitz()``, the payoff half-range for two players;
  constants do not change the dynamics) and ``tau -> max tau``. ``L = 0`` (a constant game)
  gives ``eta' = 1 / (2 max tau)`` (optimistic) or ``1 / max tau``.
  """
  lip = problem.lipschitz()
  tmax = problem.max_temperature()
  if optimistic:
    eta = jnp.minimum(1.0 / (2 * tmax + 2 * lip), 1.0 / (4 * lip))
  else:
    eta = 1.0 / (tmax + 2 * lip)
  return tuple(1.0 - eta * t for t in problem.row_temperatures())


def prox_weight(solver, problem: Problem, *, optimistic: bool) -> Profile:
  """The weights of a step-size setting: ``step_size`` (``eta``), else ``step_scale``
  (``eta = step_scale / min tau``), else :func:`cen_weight`."""
  if solver.step_size is not None:
    return proximal_weight(solver.step_size, problem)
  if solver.step_scale is not None:
    return proximal_weight(solver.step_scale / problem.min_temperature(), problem)
  return cen_weight(problem, optimistic=optimistic)


class OptimisticState(NamedTuple):
  """:class:`Optimistic`'s state: the iterate, the last look-ahead's response logits and the
  weights."""

  logits: Profile
  look_z: Profile
  weight: Profile


@struct.dataclass
class Optimistic:
  """Optimistic mirror descent: one response evaluation per step, a look-ahead that reuses the
  previous look-ahead's response (OMWU of Cen et al., 2021):

      xbar+ = prox(x, b(xbar)),   x+ = prox(x, b(xbar+)),

  where ``prox(x, b) = log_softmax(w log x + (1 - w) log b)`` is the MMD step of
  :func:`dice_jax.solvers.mirror.mirror_update`, row by row. The residual reported (and the
  profile returned) is the look-ahead ``xbar``'s, whose responses each step evaluates anyway.

  Attributes:
    step_size: the proximal ``eta`` of DESIGN §3 (``w = 1 / (1 + eta tau)``), or ``None``.
    step_scale: ``eta min tau`` when ``step_size`` is ``None``; ``None`` for the step of
      :func:`cen_weight`.
    check_every: steps between convergence checks (static).
  """

  step_size: Optional[jax.Array] = None
  step_scale: Optional[float] = None
  check_every: int = struct.field(pytree_node=False, default=1)
  code: int = struct.field(pytree_node=False, default=METHOD.OPTIMISTIC)  # static: see METHOD

  def init(self, problem: Problem, logits: Profile) -> OptimisticState:
    z, _ = evaluate(problem, logits, tuple(jnp.exp(l) for l in logits))
    return OptimisticState(tuple(logits), z, prox_weight(self, problem, optimistic=True))

  def step(self, problem: Problem, s: OptimisticState) -> Step:
    look, look_probs = mirror_update(s.logits, s.look_z, s.weight)
    z, r = evaluate(problem, look, look_probs)
    new, _ = mirror_update(s.logits, z, s.weight)
    return Step(OptimisticState(new, z, s.weight), look, r, jnp.bool_(True), jnp.int32(self.code))


class ExtragradientState(NamedTuple):
  """:class:`Extragradient`'s state: the iterate and the weights."""

  logits: Profile
  weight: Profile


@struct.dataclass
class Extragradient:
  """Extragradient mirror descent (policy extragradient "PU" of Cen et al., 2021):

      xbar = prox(x, b(x)),   x+ = prox(x, b(xbar)),

  two response evaluations per step (in a Markov game two exact policy evaluations); the
  residual of ``x`` comes with the first. For two-player zero-sum games (and Markov games under
  the ``zero_sum`` convention) the regularised equilibrium is unique and Cen et al. prove linear
  convergence (for Markov games through the regularised Shapley operator with an approximate
  value iteration; this single-loop form with exact ``Q`` is measured, not proved).

  Attributes:
    step_size: the proximal ``eta`` (``w = 1 / (1 + eta tau)``) or ``None``.
    step_scale: ``eta min tau`` when ``step_size`` is ``None``; ``None`` for
      :func:`cen_weight`.
    check_every: steps between convergence checks (static).
  """

  step_size: Optional[jax.Array] = None
  step_scale: Optional[float] = None
  check_every: int = struct.field(pytree_node=False, default=1)
  code: int = struct.field(pytree_node=False, default=METHOD.EXTRAGRADIENT)  # static: see METHOD

  def init(self, problem: Problem, logits: Profile) -> ExtragradientState:
    return ExtragradientState(tuple(logits), prox_weight(self, problem, optimistic=False))

  def step(self, problem: Problem, s: ExtragradientState) -> Step:
    dtype = s.logits[0].dtype

    # Both half-steps evaluate a point and take prox(x, b(point)): written as a two-pass loop
    # so the evaluation is traced (and compiled) once -- it is a linear solve in Markov games.
    def half(k, carry):
      point, r = carry
      z, r_point = evaluate(problem, point, tuple(jnp.exp(l) for l in point))
      new, _ = mirror_update(s.logits, z, s.weight)
      return new, jnp.where(k == 0, r_point, r)

    new, r = jax.lax.fori_loop(0, 2, half, (s.logits, jnp.asarray(jnp.inf, dtype)))
    return Step(
      ExtragradientState(new, s.weight), s.logits, r, jnp.bool_(True), jnp.int32(self.code)
    )
