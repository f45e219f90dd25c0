"""Typed records written as JSON lines: the one conversion both algorithms' logs use."""

from __future__ import annotations

import dataclasses
import math

import numpy as np

__all__ = ["to_json"]


def to_json(x):
  """JSON-ready: dataclasses and NumPy to Python, non-finite floats to ``None``."""
  if dataclasses.is_dataclass(x) and not isinstance(x, type):
    return {f.name: to_json(getattr(x, f.name)) for f in dataclasses.fields(x)}
  if isinstance(x, dict):
    return {str(k): to_json(v) for k, v in x.items()}
  if isinstance(x, (list, tuple)):
    return [to_json(v) for v in x]
  if isinstance(x, np.ndarray):
    return to_json(x.tolist())
  if isinstance(x, (np.bool_, bool)):
    return bool(x)
  if isinstance(x, (np.integer,)):
    return int(x)
  if isinstance(x, (float, np.floating)):
    return float(x) if math.isfinite(float(x)) else None
  return x
