"""Result codes: how a solve ended, one per game (never an exception inside ``jit``)."""

from __future__ import annotations

import numpy as np


class Codes:
  """Integer codes with names: ``NAMES`` maps each code to its string."""

  NAMES: dict = {}

  @classmethod
  def name(cls, code) -> str:
    return cls.NAMES[int(code)]

  @classmethod
  def names(cls, codes) -> np.ndarray:
    """Vectorised :meth:`name` over an array of codes."""
    codes = np.asarray(codes)
    return np.vectorize(cls.name, otypes=[object])(codes) if codes.size else codes.astype(object)


class RESULT(Codes):
  """Integer codes stored in :attr:`Solution.result` (``int32``, one per game).

  * ``CONVERGED``: the returned profile has fixed-point residual ``<= tol``.
  * ``MAX_STEPS``: ``max_steps`` ran out first; the returned profile is the last one evaluated.
  * ``NONFINITE``: an update produced NaN or inf (e.g. payoffs / temperatures that overflow);
    the returned profile is the last finite one evaluated.
  * ``BREAKDOWN``: the method could not go on (continuation: the step length fell below its
    minimum, or the Newton system was singular).
  """

  RUNNING = -1
  CONVERGED = 0
  MAX_STEPS = 1
  NONFINITE = 2
  BREAKDOWN = 3

  NAMES = {0: "converged", 1: "max_steps", 2: "nonfinite", 3: "breakdown", -1: "running"}
