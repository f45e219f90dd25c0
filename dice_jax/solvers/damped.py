"""The damped logit iteration, the simple baseline: ``x+ = (1 - beta) x + beta b(x)``, on any
problem of :mod:`dice_jax.solvers.protocol`."""

from __future__ import annotations

from typing import NamedTuple, Optional

import jax
import jax.numpy as jnp
from flax import struct

from dice_jax.equilibrium.response import log_softmax_and_softmax
from dice_jax.solvers.engine import Step
from dice_jax.solvers.method_code import METHOD
from dice_jax.solvers.protocol import Problem, Profile


class DampedState(NamedTuple):
  """:class:`Damped`'s state: the iterate (log-probabilities and probabilities) and ``beta``."""

  logits: Profile
  probs: Profile
  beta: jax.Array


@struct.dataclass
class Damped:
  """Damped (arithmetic) logit iteration, computed in log space, row by row:

      log x+ = logaddexp(log(1 - beta) + log x, log beta + log b(x)).

  Its fixed points are the HQRE; it converges when the damped map contracts, with no
  guarantee in general. **Automatic damping** (``damping=None``): ``beta = 1 / (1 + L / min tau)``
  where ``L / min tau`` bounds how fast the response ``b`` moves with ``x`` (the problem's
  ``lipschitz()``); ``beta -> 1`` (plain logit iteration) for smooth games.

  Attributes:
    damping: ``beta`` in (0, 1], or ``None``.
    check_every: steps between convergence checks (static).
  """

  damping: Optional[jax.Array] = None
  check_every: int = struct.field(pytree_node=False, default=1)
  code: int = struct.field(pytree_node=False, default=METHOD.DAMPED)  # static: see METHOD

  def init(self, problem: Problem, logits: Profile) -> DampedState:
    dtype = logits[0].dtype
    if self.damping is not None:
      beta = jnp.asarray(self.damping, dtype)
    else:
      beta = 1.0 / (1.0 + problem.lipschitz() / problem.min_temperature())
    return DampedState(tuple(logits), tuple(jnp.exp(l) for l in logits), beta.astype(dtype))

  def step(self, problem: Problem, s: DampedState) -> Step:
    z = problem.response_logits(s.logits, s.probs)
    lb, b = zip(*(log_softmax_and_softmax(zi) for zi in z))
    r = jnp.max(
      jnp.stack([jnp.max(jnp.sum(jnp.abs(x - bi), axis=-1)) for x, bi in zip(s.probs, b)])
    )
    beta = s.beta
    # log-space form: beta == 1 gives log(0) = -inf in the first term, and logaddexp is exact.
    new = tuple(
      jnp.logaddexp(jnp.log1p(-beta) + l, jnp.log(beta) + lbi) for l, lbi in zip(s.logits, lb)
    )
    new_probs = tuple((1 - beta) * x + beta * bi for x, bi in zip(s.probs, b))
    return Step(
      DampedState(new, new_probs, beta), s.logits, r, jnp.bool_(True), jnp.int32(self.code)
    )
