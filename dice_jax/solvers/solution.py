"""The result type every solver returns."""

from __future__ import annotations

from typing import Optional, Tuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from dice_jax.solvers.method_code import METHOD
from dice_jax.solvers.result import RESULT


@struct.dataclass
class Solution:
  """An approximate HQRE with its diagnostics; leading axes are the game's batch axes.

  Attributes:
    logits: per player, normalised log-probabilities ``log x_i``, shape ``(*batch, n_i)``.
    residual: fixed-point residual ``max_i ||x_i - b_i(x)||_1`` of the returned profile.
    gap: regularised gap ``sum_i tau_i KL(x_i || b_i(x))`` (exploitability of the regularised
      game), shape ``(*batch,)``; ``agent_gaps`` holds the per-player terms ``(*batch, N)``.
    steps: solver steps taken (utility evaluations differ by method), ``int32``.
    result: a :class:`RESULT` code per game; ``result_names()`` gives the strings.
    history: when requested, the residual at every convergence check, ``(*batch, H)``,
      NaN after the game stopped.
    method: a :class:`METHOD` code per game: the method that produced the returned profile
      (with ``method="auto"``, the first-order method or continuation); ``method_names()``
      gives the strings.
    bifurcations: how many bifurcation points of the HQRE correspondence the principal-branch
      path passed on the way to the returned profile (continuation, also within ``"auto"``;
      0 for the first-order methods): a sign change of ``det [dH/dz; t^T]``
      (:class:`dice_jax.solvers.Continuation`). Non-zero means the game is degenerate there
      and other branches meet the principal one.
  """

  logits: Tuple[jax.Array, ...]
  residual: jax.Array
  gap: jax.Array
  agent_gaps: jax.Array
  steps: jax.Array
  result: jax.Array
  history: Optional[jax.Array] = None
  method: Optional[jax.Array] = None
  bifurcations: Optional[jax.Array] = None

  @classmethod
  def from_outcome(cls, logits, agent_gaps: jax.Array, outcome, **extra) -> "Solution":
    """The solution for ``logits`` from the engine's ``outcome``
    (:class:`dice_jax.solvers.protocol.Outcome`), per-agent gaps and a family's extra fields."""
    return cls(
      logits=tuple(logits),
      residual=outcome.residual,
      gap=jnp.sum(agent_gaps, axis=-1),
      agent_gaps=agent_gaps,
      steps=outcome.steps,
      result=outcome.result,
      history=outcome.history,
      method=outcome.method,
      bifurcations=outcome.bifurcations,
      **extra,
    )

  @property
  def probabilities(self) -> Tuple[jax.Array, ...]:
    return tuple(jnp.exp(l) for l in self.logits)

  @property
  def converged(self) -> jax.Array:
    return self.result == RESULT.CONVERGED

  def result_names(self) -> np.ndarray:
    """The result codes as strings (``"converged"``, ``"max_steps"``, ...)."""
    return RESULT.names(self.result)

  def method_names(self) -> np.ndarray:
    """The method codes as strings (``"mirror"``, ``"continuation"``, ...)."""
    return METHOD.names(self.method)
