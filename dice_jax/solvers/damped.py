"""The damped logit iteration, the simple baseline: ``x+ = (1 - beta) x + beta b(x)``."""
from __future__ import annotations

from typing import Optional

import jax
import jax.numpy as jnp
from flax import struct

from dice_jax.equilibrium.problem import HQREProblem
from dice_jax.equilibrium.response import log_softmax_and_softmax
from dice_jax.games.base import Profile
from dice_jax.solvers.mirror import init_state


@struct.dataclass
class Damped:
  """Damped (arithmetic) logit iteration, computed in log space:

      log x+ = logaddexp(log(1 - beta) + log x, log beta + log b(x)).

  Its fixed points are the HQRE; it converges when the damped map contracts, with no
  guarantee in general. **Automatic damping** (``damping=None``): ``beta = 1 / (1 + L / min tau)``
  where ``L / min tau`` bounds how fast the response ``b`` moves with ``x``
  (:meth:`HQREProblem.lipschitz`); ``beta -> 1`` (plain logit iteration) for smooth games.

  Attributes:
    damping: ``beta`` in (0, 1], or ``None``.
    check_every: steps between convergence checks (static).
  """

  damping: Optional[jax.Array] = None
  check_every: int = struct.field(pytree_node=False, default=1)

  def init(self, problem: HQREProblem, logits: Profile):
    if self.damping is not None:
      beta = jnp.asarray(self.damping, problem.temperature.dtype)
    else:
      beta = 1.0 / (1.0 + problem.lipschitz() / jnp.min(problem.temperature, axis=-1))
    return init_state(logits), beta

  def step(self, problem: HQREProblem, state):
    (logits, probs), beta = state
    z = problem.response_logits(problem.game.utilities(probs))
    lb, b = zip(*(log_softmax_and_softmax(zi) for zi in z))
    r = jnp.max(jnp.stack([jnp.sum(jnp.abs(x - bi), axis=-1) for x, bi in zip(probs, b)]))
    # log-space form: beta == 1 gives log(0) = -inf in the first term, and logaddexp is exact.
    new = tuple(jnp.logaddexp(jnp.log1p(-beta) + l, jnp.log(beta) + lbi)
                for l, lbi in zip(logits, lb))
    new_probs = tuple((1 - beta) * x + beta * bi for x, bi in zip(probs, b))
    return ((new, new_probs), beta), logits, r, jnp.bool_(True)
