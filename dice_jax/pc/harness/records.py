"""The typed per-round record of DICE-PC's harness.

* :class:`~dice_jax.pc.policies.decision.HQREInfo` (what a policy reports with its
  :class:`~dice_jax.pc.policies.decision.Decision`) is copied into the round's record.
* :class:`StateMonotonicity` -- the rollout monotonicity diagnostic of one round, per state.
* :class:`RoundRecord` -- one round of :func:`dice_jax.pc.harness.run`: its fields are the keys of
  one line of ``records.jsonl`` (:meth:`RoundRecord.to_json`; the meaning of each key is in
  :mod:`dice_jax.pc.harness.loop`). ``None`` is written where a value does not apply or is not
  finite.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from dice_jax.pc.policies.decision import CertificateInfo, HQREInfo, SolverInfo
from dice_jax.rollouts.records import to_json

__all__ = ["RoundRecord", "StateMonotonicity", "to_json"]


@dataclasses.dataclass(frozen=True)
class StateMonotonicity:
  """Per state (``None`` where undefined): the rollout monotonicity ``estimate`` with its
  bootstrap interval ``lower``/``upper``, ``ratio`` to min tau, ``min_temperature`` and whether
  monotonicity at the played temperature is ``refuted``."""

  estimate: Sequence[Optional[float]]
  lower: Sequence[Optional[float]]
  upper: Sequence[Optional[float]]
  ratio: Sequence[Optional[float]]
  min_temperature: Sequence[Optional[float]]
  refuted: Sequence[Optional[bool]]


@dataclasses.dataclass
class RoundRecord:
  """One round's record (keys of ``records.jsonl``; see :mod:`dice_jax.pc.harness.loop`)."""

  round: int
  method: str
  num_tasks: int
  num_scored: int
  num_failed: int
  accuracy: Optional[float] = None
  tokens_per_role: Optional[np.ndarray] = None
  tokens_per_task: Optional[float] = None
  best_of_n: Optional[int] = None
  equilibrium_regret: Optional[float] = None
  equilibrium_regret_per_state: Optional[np.ndarray] = None
  cumulative_equilibrium_regret: float = 0.0
  hindsight_regret: Optional[float] = None
  hindsight_regret_per_state: Optional[np.ndarray] = None
  distance_to_hqre: Optional[float] = None
  distance_per_state: Optional[np.ndarray] = None
  oscillation: Optional[float] = None
  oscillation_index: Optional[float] = None
  drift: Optional[float] = None
  policy: Optional[List[List[np.ndarray]]] = None
  monotonicity: Optional[StateMonotonicity] = None
  temperature: Optional[np.ndarray] = None
  temperature_floor: Optional[np.ndarray] = None
  solver: Optional[SolverInfo] = None
  certificate: Optional[CertificateInfo] = None
  reference: Optional[List[List[List[float]]]] = None
  seconds: Optional[float] = None

  def add_info(self, info: Optional[HQREInfo]) -> None:
    """Copy a policy's :class:`HQREInfo` into this record."""
    if info is None:
      return
    for f in dataclasses.fields(info):
      setattr(self, f.name, getattr(info, f.name))

  def to_json(self) -> Dict[str, Any]:
    """The JSON object written as one line of ``records.jsonl``."""
    return to_json(self)
