"""``method="auto"``: the canonical default -- a fast first-order method where a cheap rigorous
bound certifies a unique HQRE, continuation along the principal branch otherwise.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
from flax import struct

from dice_jax.solvers.continuation import Continuation
from dice_jax.solvers.engine import iterate, tree_where
from dice_jax.solvers.mirror import Mirror
from dice_jax.solvers.protocol import Problem, Profile
from dice_jax.solvers.result import RESULT


@struct.dataclass
class Auto:
  """Solve with ``first_order`` where uniqueness is certified, else with ``continuation``.

  Per game (jit- and vmap-safe): if the problem's ``uniqueness_certified()`` holds (a cheap
  rigorous bound: for normal-form games the monotonicity margin ``min tau - alpha > 0`` or
  ``1 - alpha_W > 0`` from :func:`dice_jax.certify.alpha_vertex_bound`, DESIGN §4), the HQRE is
  unique, so the fast first-order method's answer is *the* answer; otherwise -- or when the
  first-order method does not converge within ``max_steps`` (it stalls, cycles or overflows)
  -- continuation follows the principal branch from ``tau = infinity`` (the reference policy)
  to the target, as Gambit's ``logit_solve_lambda`` does. Either way the answer is the
  principal-branch HQRE, the one Gambit returns. ``Solution.method`` records which method
  produced each game's profile; ``steps`` counts the steps of both phases. Both phases get the
  budget ``max_steps``.

  In a batch the two phases are two loops over the whole batch, each stopping as soon as the
  games it is active for have stopped (a phase with no active game costs one initialisation).

  Attributes:
    first_order: the solver for certified games (default :class:`Mirror`).
    continuation: the path follower (default :class:`Continuation`).
  """

  first_order: Any = None
  continuation: Any = None
  check_every: int = struct.field(pytree_node=False, default=1)

  @property
  def code(self) -> int:
    return self._continuation().code

  def _first_order(self):
    return Mirror() if self.first_order is None else self.first_order

  def _continuation(self):
    return Continuation() if self.continuation is None else self.continuation

  def solve(self, problem: Problem, logits: Profile, *, tol, max_steps, history_length=None):
    """Both phases through :func:`dice_jax.solvers.engine.iterate`; returns the family's
    :class:`dice_jax.solvers.Solution`."""
    unique = jnp.asarray(problem.uniqueness_certified(), bool)
    fast = iterate(
      self._first_order(),
      problem,
      logits,
      tol=tol,
      max_steps=max_steps,
      history_length=history_length,
      active=unique,
    )
    need = ~(unique & (fast.result == RESULT.CONVERGED))
    path = iterate(
      self._continuation(),
      problem,
      logits,
      tol=tol,
      max_steps=max_steps,
      history_length=history_length,
      active=need,
    )
    sol = tree_where(need, path, fast)
    return sol.replace(steps=fast.steps + path.steps)
