"""Continuation in temperature: follow the principal branch of the HQRE correspondence.

The branch starts at the reference policy (infinite temperature) and is traced to the target
temperatures, as Gambit's ``logit_solve_lambda`` traces the logit QRE branch from ``lambda = 0``.
Written once over the problem protocol (:mod:`dice_jax.solvers.protocol`): the homotopy
parameter is the problem's ``scale_payoffs``, so it runs on normal-form, Markov, Bayesian and
observation problems alike.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
from flax import struct
from jax.flatten_util import ravel_pytree

from dice_jax.equilibrium.residual import optimality
from dice_jax.equilibrium.response import normalize
from dice_jax.solvers.engine import Step
from dice_jax.solvers.method_code import METHOD
from dice_jax.solvers.protocol import Problem, Profile


def homotopy(problem: Problem) -> Callable[[jax.Array], jax.Array]:
  """``H(y, s) = y - log b(y; s)`` with ``log b = log_softmax(z)`` the responses of the problem
  whose payoffs are scaled by ``s`` (``problem.scale_payoffs(s)``).

  ``y`` holds every agent's log-probabilities, all rows, flattened (``z = (y, s)``), ``x`` is
  their row-wise softmax, and ``s`` runs from 0 (``x = rho``) to 1 (the target): scaling the
  payoffs by ``s`` at temperature ``tau`` is the temperature ``tau / s`` (in a Markov game the
  regularised values scale the same way, ``s V_{tau/s}[R] = V_tau[s R]``). ``H = 0`` exactly on
  the HQRE correspondence. ``dH/dy`` is the identity along each row's all-ones direction (a
  constant shift of ``y_r`` changes no probability), so the Newton systems below are
  non-singular there.
  """
  return lambda z: optimality(problem.scale_payoffs(z[-1]), z[:-1])


def _unit_tangent(jacobian: jax.Array, previous: jax.Array) -> jax.Array:
  """The unit null vector ``t`` of the ``D x (D + 1)`` Jacobian with ``previous . t > 0``:
  solve ``[J; previous^T] t = e_last`` and normalise (Allgower & Georg, §2.1)."""
  e_last = jnp.zeros_like(previous).at[-1].set(1.0)
  t = jnp.linalg.solve(jnp.concatenate([jacobian, previous[None]]), e_last)
  return t / jnp.linalg.norm(t)


class ContinuationState(NamedTuple):
  """:class:`Continuation`'s state.

  Attributes:
    point: ``(y, s)``, the current point on the branch.
    tangent: the unit tangent there (oriented along the branch).
    step_length: the next predictor step ``h``.
    done: whether ``s = 1`` was reached (from then on: Newton at the target).
    orientation: the sign of ``det [dH/dz; t^T]`` at the last accepted tracing step (0 before
      the first).
    bifurcations: how many times that sign changed along the traced branch.
  """

  point: jax.Array
  tangent: jax.Array
  step_length: jax.Array
  done: jax.Array
  orientation: jax.Array
  bifurcations: jax.Array


def determinant_sign(lu: jax.Array, pivots: jax.Array) -> jax.Array:
  """``sign(det A)`` from ``jax.scipy.linalg.lu_factor(A) = (lu, pivots)``: the signs of ``U``'s
  diagonal times ``(-1)`` per row exchange (LAPACK pivots: row ``i`` swapped with ``pivots[i]``)."""
  swaps = jnp.sum(pivots != jnp.arange(pivots.shape[0], dtype=pivots.dtype))
  return jnp.prod(jnp.sign(jnp.diagonal(lu))) * jnp.where(swaps % 2 == 0, 1.0, -1.0)


@struct.dataclass
class Continuation:
  """Predictor-corrector path following of ``H(y, s) = 0`` (pseudo-arclength continuation).

  Each step (Allgower & Georg, "Introduction to Numerical Continuation Methods", SIAM 2003,
  ch. 2-3): the unit tangent ``t`` solves ``[dH/dz; t_prev^T] t = e_last`` (so it keeps its
  orientation through turning points of the branch, where ``s`` temporarily decreases);
  the predictor is ``z + h t``; the corrector runs ``newton_iterations`` chord-Newton steps on
  ``[H(z); t^T (z - z_pred)] = 0`` with the Jacobian at the predicted point, factorised once;
  the same Jacobian gives the next tangent. One Jacobian per step instead of
  ``newton_iterations + 1`` (full Newton, with a fresh Jacobian per iteration, took ~4x the
  time per step). A step is accepted when the corrector converged
  (``||H||_inf <= corrector_tol``), its first Newton step was shorter than ``max_distance``
  and it contracted; then ``h`` grows by ``acceleration`` (up to ``max_step_length``),
  otherwise ``h`` halves and the step is retried — below ``min_step_length`` the result is
  ``BREAKDOWN``. When the predictor would pass ``s = 1`` the step is shortened to land on it
  and the constraint becomes ``s = 1``; from then on each step is Newton's method at the
  target, converging quadratically to the fixed-point tolerance.

  This is how "start at large temperature, shrink to the target, warm-starting" is made
  robust: the Newton corrector converges to branch points that mirror dynamics cannot reach
  (non-monotone games at low temperature, e.g. Shapley's game), so the result is the QRE
  Gambit's path-following returns. Cost per step: one Jacobian of size ``D x (D + 1)``,
  ``D = sum_i n_i`` (forward-mode, ``jax.jacfwd``: ``D + 1`` utility evaluations), one LU
  factorisation and ``newton_iterations + 1`` triangular solves.

  **Bifurcations.** Along a regular stretch of the branch ``det [dH/dz; t^T]`` keeps its sign;
  it changes sign exactly where the branch crosses a simple bifurcation point (Allgower &
  Georg, §8.1), which the predictor steps over while the orientation ``t_prev . t > 0`` keeps
  the method on the same branch. The sign is read from the corrector's LU factors
  (``[dH/dz; t_prev^T]`` has the sign of ``[dH/dz; t^T]`` since ``t_prev . t > 0``), and the
  number of changes is the solution's ``bifurcations`` (an odd count means the path passed at
  least one bifurcation point; turning points of ``s``, where the branch folds back, change
  nothing). Non-generic games (symmetries, ties) have such points on their principal branch,
  e.g. the pitchfork of a 2x2 pure coordination game at ``lambda = 2``.
  """

  initial_step_length: float = 0.1
  max_step_length: float = 5.0
  min_step_length: float = 1e-10
  acceleration: float = 1.5
  max_distance: float = 0.4
  newton_iterations: int = struct.field(pytree_node=False, default=3)
  check_every: int = struct.field(pytree_node=False, default=1)
  code: int = struct.field(pytree_node=False, default=METHOD.CONTINUATION)  # static: see METHOD

  def init(self, problem: Problem, logits: Profile) -> ContinuationState:
    # The branch starts at the reference policy; the given initial logits are not used.
    y0, _ = ravel_pytree(tuple(normalize(tuple(problem.log_reference))))
    dtype = y0.dtype
    z0 = jnp.concatenate([y0, jnp.zeros((1,), dtype)])
    e_last = jnp.zeros_like(z0).at[-1].set(1.0)
    t0 = _unit_tangent(jax.jacfwd(homotopy(problem))(z0), e_last)
    return ContinuationState(
      z0,
      t0,
      jnp.asarray(self.initial_step_length, dtype),
      jnp.bool_(False),
      jnp.zeros((), dtype),
      jnp.int32(0),
    )

  def events(self, state: ContinuationState) -> jax.Array:
    """The bifurcation points passed (sign changes of the orientation determinant)."""
    return state.bifurcations

  def step(self, problem: Problem, state: ContinuationState) -> Step:
    z, tangent, h, done, orientation, bifurcations = state
    dtype = z.dtype
    eps = jnp.finfo(dtype).eps
    corrector_tol = 10 * jnp.sqrt(eps)
    homotopy_ = homotopy(problem)
    e_last = jnp.zeros_like(z).at[-1].set(1.0)

    remaining = 1.0 - z[-1]
    final = done | ((tangent[-1] > 0) & (h * tangent[-1] >= remaining))
    h_eff = jnp.where(
      done, 0.0, jnp.where(final, remaining / jnp.where(tangent[-1] > 0, tangent[-1], 1.0), h)
    )
    z_pred = z + h_eff * tangent
    z_pred = z_pred.at[-1].set(jnp.where(final, 1.0, z_pred[-1]))
    row = jnp.where(final, e_last, tangent)

    # The one Jacobian of the step, at the predicted point: the chord corrector reuses it, and
    # it gives the next tangent (at z_pred, within O(h^2) of the corrected point).
    jp = jax.jacfwd(homotopy_)(z_pred)
    lu = jax.scipy.linalg.lu_factor(jnp.concatenate([jp, row[None]]))

    def newton(i, carry):
      zk, first, last = carry
      f = jnp.concatenate([homotopy_(zk), (row @ (zk - z_pred))[None]])
      delta = jax.scipy.linalg.lu_solve(lu, f)
      norm = jnp.linalg.norm(delta)
      return zk - delta, jnp.where(i == 0, norm, first), norm

    # A loop, not an unrolled Python loop: one copy of the homotopy in the compiled program.
    zero = jnp.zeros((), dtype)
    zk, first_norm, last_norm = jax.lax.fori_loop(
      0, self.newton_iterations, newton, (z_pred, zero, zero)
    )
    zk = zk.at[-1].set(jnp.where(final, 1.0, zk[-1]))
    h_end = jnp.max(jnp.abs(homotopy_(zk)))
    h_start = jnp.max(jnp.abs(homotopy_(z)))
    finite = jnp.all(jnp.isfinite(zk)) & jnp.isfinite(h_end)
    contracted = (
      (last_norm <= 0.5 * first_norm) | (last_norm <= corrector_tol)
      if self.newton_iterations > 1
      else jnp.bool_(True)
    )
    tracing_ok = finite & (h_end <= corrector_tol) & (first_norm <= self.max_distance) & contracted
    polishing_ok = finite & (h_end <= jnp.maximum(h_start, corrector_tol))
    accept = jnp.where(done, polishing_ok, tracing_ok)

    easy = first_norm <= 0.25 * self.max_distance
    h_new = jnp.where(
      accept, jnp.where(easy, jnp.minimum(h * self.acceleration, self.max_step_length), h), h / 2
    )
    z_new = jnp.where(accept, zk, z)
    # The next tangent solves [J; tangent^T] t = e_last: while tracing, row = tangent, so the
    # corrector's factorisation serves (at the last tracing step row = e_last, and the tangent
    # is not used again once the target is reached).
    t_next = jax.scipy.linalg.lu_solve(lu, e_last)
    tracing = accept & ~done & ~final  # an accepted step along the branch, before s = 1
    t_new = jnp.where(tracing, t_next / jnp.linalg.norm(t_next), tangent)
    done_new = done | (final & accept)
    sign = determinant_sign(*lu)
    flipped = tracing & (orientation != 0) & (sign != 0) & (sign != orientation)
    orientation_new = jnp.where(tracing & (sign != 0), sign, orientation)
    ok = jnp.where(done, accept, h_new >= self.min_step_length)

    _, unravel = ravel_pytree(tuple(problem.log_reference))
    logits = normalize(unravel(z_new[:-1]))
    probs = tuple(jnp.exp(l) for l in logits)
    r = problem.residual(probs, problem.response_logits(logits, probs))
    r = jnp.where(finite | accept, r, jnp.nan)  # a NaN/inf Newton step: report NONFINITE
    return Step(
      ContinuationState(
        z_new,
        t_new,
        h_new.astype(dtype),
        done_new,
        orientation_new.astype(dtype),
        bifurcations + flipped.astype(jnp.int32),
      ),
      logits,
      r,
      ok,
      jnp.int32(self.code),
    )
