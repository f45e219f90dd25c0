"""The one loop every solver runs in (init / step / terminate / postprocess).

A solver is an immutable pytree of settings (a ``flax.struct`` dataclass) implementing

* ``init(problem, logits) -> state`` -- a pytree of fixed shapes and dtypes;
* ``step(problem, state) -> (state, evaluated_logits, residual, ok)`` -- one update. It also
  reports a profile whose fixed-point residual it computed on the way (usually the iterate the
  update started from, whose utilities the update needs anyway, so checking costs nothing),
  and ``ok = False`` when it cannot go on (:data:`RESULT.BREAKDOWN`).

:func:`iterate` runs ``step`` inside one ``lax.while_loop`` bounded by ``max_steps``, checking
after every ``check_every`` steps whether the evaluated residual is ``<= tol`` (terminate),
non-finite, or the budget is spent; it keeps the last finite evaluated profile, so a game that
overflows returns its last good iterate with code ``NONFINITE``. :func:`iterate` handles one
game; ``jax.vmap`` of it gives per-game step counts and result codes, and one game's
NaN never touches another's carry (finished games are frozen by the batched loop's select).
"""
from __future__ import annotations

from typing import Any, Optional

import jax
import jax.numpy as jnp
from jax import lax

from dice_jax.equilibrium.problem import HQREProblem
from dice_jax.games.base import Profile
from dice_jax.solvers.result import RESULT
from dice_jax.solvers.solution import Solution


def _tree_where(pred, a, b):
  return jax.tree_util.tree_map(lambda x, y: jnp.where(pred, x, y), a, b)


def iterate(solver: Any, problem: HQREProblem, logits: Profile, *, tol, max_steps,
            history_length: Optional[int] = None) -> Solution:
  """Run ``solver`` on one game from normalised ``logits``; jit- and vmap-safe.

  Args:
    solver: a solver settings pytree (see the module docstring); ``solver.check_every`` is
      the number of steps between convergence checks (static).
    problem: the (unbatched) :class:`HQREProblem`.
    logits: initial normalised log-probabilities per player.
    tol: stop when the fixed-point residual of an evaluated profile is ``<= tol``.
    max_steps: step budget (an array: changing it does not recompile).
    history_length: if given, record the residual at each check in an array of this length.

  Returns:
    A :class:`Solution` for the returned profile, with per-game ``steps`` and ``result``.
  """
  k = int(solver.check_every)
  dtype = logits[0].dtype
  state0 = solver.init(problem, logits)
  inf = jnp.asarray(jnp.inf, dtype)
  hist0 = None if history_length is None else jnp.full((history_length,), jnp.nan, dtype)
  carry0 = (state0, logits, inf, jnp.int32(0), jnp.int32(RESULT.RUNNING), hist0, jnp.int32(0))
  max_steps = jnp.asarray(max_steps, jnp.int32)

  def cond(carry):
    return carry[4] == RESULT.RUNNING

  def body(carry):
    state, best, best_r, steps, _, hist, checks = carry
    if k > 1:
      state = lax.fori_loop(0, k - 1, lambda _, s: solver.step(problem, s)[0], state)
    state, lx, r, ok = solver.step(problem, state)
    steps = steps + k
    finite = jnp.isfinite(r)  # r is NaN/inf exactly when the evaluated profile overflowed
    converged = finite & (r <= tol)
    best = _tree_where(finite, lx, best)
    best_r = jnp.where(finite, r, best_r)
    result = jnp.where(
        converged, RESULT.CONVERGED,
        jnp.where(~finite, RESULT.NONFINITE,
                  jnp.where(~ok, RESULT.BREAKDOWN,
                            jnp.where(steps >= max_steps, RESULT.MAX_STEPS, RESULT.RUNNING))))
    if hist is not None:
      hist = hist.at[jnp.minimum(checks, hist.shape[0] - 1)].set(r)
    return state, best, best_r, steps, result.astype(jnp.int32), hist, checks + 1

  _, best, best_r, steps, result, hist, _ = lax.while_loop(cond, body, carry0)
  gaps = problem.gaps(best)
  return Solution(logits=best, residual=best_r, gap=jnp.sum(gaps, axis=-1), agent_gaps=gaps,
                  steps=steps, result=result, history=hist)
