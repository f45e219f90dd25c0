"""The one loop every solver runs in (init / step / terminate / postprocess).

A solver is an immutable pytree of settings (a ``flax.struct`` dataclass) implementing

* ``code`` -- its :class:`dice_jax.solvers.METHOD` code (a class attribute);
* ``init(problem, logits) -> state`` -- a named pytree (a ``NamedTuple``) of fixed shapes and
  dtypes;
* ``step(problem, state) -> Step`` -- one update: the new state, a profile whose fixed-point
  residual it computed on the way (usually the iterate the update started from, whose
  responses the update needs anyway, so checking costs nothing), that residual, ``ok = False``
  when the method cannot go on (:data:`RESULT.BREAKDOWN`), and the method that produced the
  profile;
* optionally ``events(state)`` -- the bifurcation points passed so far (continuation).

``problem`` is anything implementing :class:`dice_jax.solvers.protocol.Problem` (normal-form,
Markov, Bayesian, observation). :func:`iterate` runs ``step`` inside one ``lax.while_loop``
bounded by ``max_steps`` (*terminate*: after every ``check_every`` steps it stops when the
evaluated residual is ``<= tol``, is non-finite, the step failed or the budget is spent); it
keeps the last finite evaluated profile, so a game that overflows returns its last good
iterate with code ``NONFINITE``; *postprocess* is the problem's ``postprocess``, which builds
the family's :class:`Solution`. :func:`iterate` handles one game; ``jax.vmap`` of it gives
per-game step counts and result codes, and one game's NaN never touches another's carry
(finished games are frozen by the batched loop's select).
"""

from __future__ import annotations

from typing import Any, NamedTuple, Optional

import jax
import jax.numpy as jnp
from jax import lax

from dice_jax.solvers.protocol import Outcome, Problem, Profile
from dice_jax.solvers.result import RESULT


class Step(NamedTuple):
  """What one solver step returns.

  Attributes:
    state: the solver's new state.
    evaluated: the profile whose residual was computed (normalised log-probabilities).
    residual: its fixed-point residual.
    ok: ``False`` when the method cannot go on.
    method: the :class:`METHOD` code of the method that produced ``evaluated``.
  """

  state: Any
  evaluated: Profile
  residual: jax.Array
  ok: jax.Array
  method: jax.Array


class Carry(NamedTuple):
  """The engine's loop state (one game).

  Attributes:
    state: the solver's state.
    best: the last evaluated profile whose residual was finite.
    best_residual: its residual.
    best_method: the method code that produced it.
    steps: steps taken.
    result: the :class:`RESULT` code (``RUNNING`` until the loop stops).
    history: residual at each check (or ``None``).
    checks: checks done.
  """

  state: Any
  best: Profile
  best_residual: jax.Array
  best_method: jax.Array
  steps: jax.Array
  result: jax.Array
  history: Optional[jax.Array]
  checks: jax.Array


def tree_where(pred, a, b):
  """``jnp.where(pred, a, b)`` leaf by leaf over two pytrees of one structure."""
  return jax.tree_util.tree_map(lambda x, y: jnp.where(pred, x, y), a, b)


def iterate(
  solver: Any,
  problem: Problem,
  logits: Profile,
  *,
  tol,
  max_steps,
  history_length: Optional[int] = None,
  active=True,
):
  """Run ``solver`` on one problem from normalised ``logits``; jit- and vmap-safe.

  Args:
    solver: a solver settings pytree (see the module docstring); ``solver.check_every`` is
      the number of steps between convergence checks (static).
    problem: one unbatched problem (:class:`dice_jax.solvers.protocol.Problem`).
    logits: initial normalised log-probabilities per agent.
    tol: stop when the fixed-point residual of an evaluated profile is ``<= tol``.
    max_steps: step budget (an array: changing it does not recompile).
    history_length: if given, record the residual at each check in an array of this length.
    active: a (traced) flag; ``False`` skips the loop (0 steps, code ``MAX_STEPS``, the
      initial profile): a composite solver's way to run a phase only for some games of a
      batch, whose loop then stops as soon as its active games have.

  A solver with a ``solve(problem, logits, *, tol, max_steps, history_length)`` method is a
  composite of solvers (:class:`dice_jax.solvers.Auto`) and runs itself through this function.

  Returns:
    ``problem.postprocess(profile, outcome)``: the family's :class:`Solution`, with per-game
    ``steps``, ``result`` and ``method``.
  """
  if hasattr(solver, "solve"):
    return solver.solve(
      problem, logits, tol=tol, max_steps=max_steps, history_length=history_length
    )
  k = int(solver.check_every)
  dtype = logits[0].dtype
  state0 = solver.init(problem, logits)
  hist0 = None if history_length is None else jnp.full((history_length,), jnp.nan, dtype)
  carry0 = Carry(
    state=state0,
    best=tuple(logits),
    best_residual=jnp.asarray(jnp.inf, dtype),
    best_method=jnp.int32(solver.code),
    steps=jnp.int32(0),
    result=jnp.where(active, RESULT.RUNNING, RESULT.MAX_STEPS).astype(jnp.int32),
    history=hist0,
    checks=jnp.int32(0),
  )
  max_steps = jnp.asarray(max_steps, jnp.int32)

  def cond(c: Carry):
    return c.result == RESULT.RUNNING

  def body(c: Carry) -> Carry:
    state = c.state
    if k > 1:
      state = lax.fori_loop(0, k - 1, lambda _, s: solver.step(problem, s).state, state)
    out = solver.step(problem, state)
    steps = c.steps + k
    r = out.residual
    finite = jnp.isfinite(r)  # r is NaN/inf exactly when the evaluated profile overflowed
    converged = finite & (r <= tol)
    result = jnp.where(
      converged,
      RESULT.CONVERGED,
      jnp.where(
        ~finite,
        RESULT.NONFINITE,
        jnp.where(
          ~out.ok, RESULT.BREAKDOWN, jnp.where(steps >= max_steps, RESULT.MAX_STEPS, RESULT.RUNNING)
        ),
      ),
    )
    hist = c.history
    if hist is not None:
      hist = hist.at[jnp.minimum(c.checks, hist.shape[0] - 1)].set(r)
    return Carry(
      state=out.state,
      best=tree_where(finite, tuple(out.evaluated), c.best),
      best_residual=jnp.where(finite, r, c.best_residual),
      best_method=jnp.where(finite, jnp.asarray(out.method, jnp.int32), c.best_method),
      steps=steps,
      result=result.astype(jnp.int32),
      history=hist,
      checks=c.checks + 1,
    )

  c = lax.while_loop(cond, body, carry0)
  outcome = Outcome(
    residual=c.best_residual,
    steps=c.steps,
    result=c.result,
    history=c.history,
    method=c.best_method,
    bifurcations=solver.events(c.state) if hasattr(solver, "events") else jnp.int32(0),
  )
  return problem.postprocess(c.best, outcome)
