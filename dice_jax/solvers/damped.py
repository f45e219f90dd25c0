"""The damped logit iteration, the simple baseline: ``x+ = (1 - beta) x + beta b(x)``."""
from __future__ import annotations

from typing import Optional

import jax
import jax.numpy as jnp
from flax import struct

from dice_jax.equilibrium.problem import HQREProblem
from dice_jax.games.base import Profile


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
    return logits, beta

  def step(self, problem: HQREProblem, state):
    logits, beta = state
    r, lb, _ = problem.residual_and_response(logits)
    new = tuple(jnp.logaddexp(jnp.log1p(-beta) + l, jnp.log(beta) + b)
                for l, b in zip(logits, lb))
    # beta == 1 gives log(0) = -inf on the first term; logaddexp(-inf, a) = a is exact.
    new = tuple(jax.nn.log_softmax(n, axis=-1) for n in new)
    return (new, beta), logits, r, jnp.bool_(True)
