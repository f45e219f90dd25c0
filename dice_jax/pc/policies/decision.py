"""What a DICE-PC policy hands the harness each round: a :class:`Decision`, typed.

A policy that solves an HQRE each round (DICE-PC) reports its temperatures, reference, solver and
certificate figures as an :class:`HQREInfo`; the harness copies it into the round's
:class:`~dice_jax.pc.harness.records.RoundRecord`.
"""

from __future__ import annotations

import dataclasses
from typing import List, Optional, Sequence, Tuple

import numpy as np

__all__ = ["CertificateInfo", "Decision", "HQREInfo", "Profile", "SolverInfo"]

Profile = Tuple[np.ndarray, ...]


@dataclasses.dataclass(frozen=True)
class SolverInfo:
  """Per state: the solver's final fixed-point ``residual``, ``result`` name and ``steps``."""

  residual: Sequence[float]
  result: Sequence[str]
  steps: Sequence[int]


@dataclasses.dataclass(frozen=True)
class CertificateInfo:
  """Per state: ``certified`` (rigorous uniqueness and error bound), the monotonicity
  ``margin``, ``alpha_upper`` and the a-posteriori ``error_bound`` (DESIGN §5)."""

  certified: Sequence[bool]
  margin: Sequence[Optional[float]]
  alpha_upper: Sequence[Optional[float]]
  error_bound: Sequence[Optional[float]]


@dataclasses.dataclass(frozen=True)
class HQREInfo:
  """What an HQRE-solving policy reports for one round.

  Attributes:
    temperature: ``[S, N]`` the temperatures solved at.
    solver: :class:`SolverInfo`.
    temperature_floor: ``[S]`` certified floor of an annealed schedule, or ``None``.
    certificate: :class:`CertificateInfo`, or ``None`` when not certified.
    reference: per state, per role the reference solved with, when it moves between rounds
      (DICE-PC's ``magnet``), else ``None``.
  """

  temperature: np.ndarray
  solver: SolverInfo
  temperature_floor: Optional[np.ndarray] = None
  certificate: Optional[CertificateInfo] = None
  reference: Optional[List[List[List[float]]]] = None


@dataclasses.dataclass
class Decision:
  """What a policy plays in one round.

  Attributes:
    actions: ``[B, N]`` joint action per task, or ``None`` for a best-of-``n`` round.
    profile: per role ``[S, n_i]``: the mixed policy played in every state (``None`` when the
      round plays no joint action).
    best_of_n: the number of single-model samples per task, for :class:`BestOfN`.
    info: what an HQRE-solving policy reports (:class:`~dice_jax.pc.harness.records.HQREInfo`:
      temperatures, reference, solver and certificate figures), else ``None``.
  """

  actions: Optional[np.ndarray]
  profile: Optional[Profile]
  best_of_n: Optional[int] = None
  info: Optional[HQREInfo] = None
