"""The typed per-iteration record of the DICE-FT loop (one line of its JSON-lines log)."""

from __future__ import annotations

import dataclasses
from typing import Any, Dict, List, Optional

from dice_jax.rollouts.records import to_json

__all__ = ["AgentRecord", "IterationRecord"]


@dataclasses.dataclass
class AgentRecord:
  """One agent in one iteration.

  Fit (every iteration): ``loss`` (the KL-projection loss after the fit), ``kl_to_reference``
  (mean over states of KL(pi_theta || rho)), ``entropy``, mean ``temperature``,
  ``skipped_steps`` (non-finite optimizer steps skipped), ``train_seconds``, ``target_kl``
  (max over states of KL(pi+ || pi_k): how far the iteration asked the policy to move),
  ``fitted`` (``target_kl > fit_tol``), ``tv_to_target`` (after the fit), ``policy`` (``[P][K]``).

  Rollouts (:meth:`dice_jax.ft.DiceFT.rollout_step` only, else ``None``): ``advantages`` and
  ``mask`` ``[P][K]``, ``value`` (mean over states of <pi_k, v>), ``sample_payoff`` (mean payoff
  of the ``K`` samples), ``mean_tokens`` per sample, ``unique`` candidates per state, ``failed``
  candidates, ``states_without_outcome``.
  """

  loss: float
  kl_to_reference: float
  entropy: float
  temperature: float
  skipped_steps: int
  train_seconds: float
  target_kl: float
  fitted: bool
  tv_to_target: float
  policy: List[List[float]]
  advantages: Optional[List[List[float]]] = None
  mask: Optional[List[List[bool]]] = None
  value: Optional[float] = None
  sample_payoff: Optional[float] = None
  mean_tokens: Optional[float] = None
  unique: Optional[float] = None
  failed: Optional[int] = None
  states_without_outcome: Optional[int] = None


@dataclasses.dataclass
class IterationRecord:
  """One iteration: its index, one :class:`AgentRecord` per agent, wall seconds (in all, and
  for rollouts the sampling, scoring and training parts)."""

  iteration: int
  agents: List[AgentRecord]
  seconds: Optional[float] = None
  sample_seconds: Optional[float] = None
  score_seconds: Optional[float] = None
  train_seconds: Optional[float] = None

  def to_json(self) -> Dict[str, Any]:
    """The JSON object written as one line of the log."""
    return to_json(self)
