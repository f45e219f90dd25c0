"""JSON output of the commands: standard JSON only (a NaN or infinite number is written as
``null``, never as the non-standard ``NaN`` / ``Infinity`` that Python's json module emits)."""

from __future__ import annotations

import json
import math
from typing import Any


def finite_or_none(x: Any) -> Any:
  """``x`` with every non-finite float inside lists, tuples and dicts replaced by ``None``."""
  if isinstance(x, float):
    return x if math.isfinite(x) else None
  if isinstance(x, dict):
    return {k: finite_or_none(v) for k, v in x.items()}
  if isinstance(x, (list, tuple)):
    return [finite_or_none(v) for v in x]
  return x


def dumps(obj: Any) -> str:
  """One line of standard JSON for ``obj`` (non-finite numbers as ``null``)."""
  return json.dumps(finite_or_none(obj), allow_nan=False)
