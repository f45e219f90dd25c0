"""Field checks for frozen settings types: each raises ``ValueError`` starting with the field's name.

A settings type calls these in its ``__post_init__`` so that it checks itself wherever it is built
(in Python or from a config file); :func:`dice_jax.rollouts.config_files.build` maps a file's
mapping onto the type and prefixes the message with the path of the mapping in the file. Types
are checked before values: a string, a bool or a complex number is never read as a number.
"""

from __future__ import annotations

import math
from typing import Any, Optional, Sequence, Tuple

import numpy as np

__all__ = [
  "choice",
  "flag",
  "instance",
  "integer",
  "names",
  "numeric_array",
  "real",
  "run_labels",
  "sequence",
  "text",
]


def _show(v: Any) -> str:
  text = repr(v)
  return text if len(text) <= 80 else text[:77] + "..."


def real(
  name: str,
  value: Any,
  *,
  low: Optional[float] = None,
  low_open: bool = False,
  high: Optional[float] = None,
  high_open: bool = False,
) -> float:
  """``value`` as a finite float in the given range."""
  if isinstance(value, (bool, np.bool_)) or not isinstance(
    value, (int, float, np.integer, np.floating)
  ):
    raise ValueError(f"{name} must be a number; got {_show(value)}.")
  v = float(value)
  if not math.isfinite(v):
    raise ValueError(f"{name} must be finite; got {_show(value)}.")
  if low is not None and (v <= low if low_open else v < low):
    raise ValueError(f"{name} must be {'>' if low_open else '>='} {low:g}; got {_show(value)}.")
  if high is not None and (v >= high if high_open else v > high):
    raise ValueError(f"{name} must be {'<' if high_open else '<='} {high:g}; got {_show(value)}.")
  return v


def numeric_array(name: str, value: Any, what: str) -> np.ndarray:
  """``value`` as a float64 array, refusing text, ``None``, booleans (``true`` is not a
  temperature or a cost) and complex numbers (``what`` says what was expected, e.g. ``"a number >= 0 or one per agent"``)."""
  if isinstance(value, (str, bytes)) or value is None:
    raise ValueError(f"{name} must be {what}; got {_show(value)}.")
  try:
    a = np.asarray(value)
  except (TypeError, ValueError):
    raise ValueError(f"{name} must be {what}; got {_show(value)}.") from None
  mixed = isinstance(value, (list, tuple)) and a.dtype.kind == "f"  # [0.1, True] reads as floats
  if a.dtype.kind not in "iuf" or (
    mixed and any(isinstance(x, (bool, np.bool_)) for x in np.asarray(value, object).ravel())
  ):  # object, bool, complex or text
    raise ValueError(f"{name} must be {what}; got {_show(value)}.")
  return a.astype(np.float64)


def integer(name: str, value: Any, *, low: int = 0, high: int = 2**31 - 1) -> int:
  """``value`` as an int in ``[low, high]`` (a float, even ``3.0``, is refused)."""
  if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
    raise ValueError(f"{name} must be an integer; got {_show(value)}.")
  if value < low:
    raise ValueError(f"{name} must be an integer >= {low}; got {_show(value)}.")
  if value > high:
    raise ValueError(f"{name} must be an integer <= {high:,}; got {_show(value)}.")
  return int(value)


def flag(name: str, value: Any) -> bool:
  if not isinstance(value, (bool, np.bool_)):
    raise ValueError(f"{name} must be true or false; got {_show(value)}.")
  return bool(value)


def choice(name: str, value: Any, options: Sequence[str]) -> str:
  if not isinstance(value, str) or value not in options:
    raise ValueError(f"{name}: unknown value {_show(value)}; choose one of {', '.join(options)}.")
  return value


def text(name: str, value: Any, what: str = "non-empty text", *, blank: bool = False) -> str:
  """``value`` as a string, not blank unless ``blank`` (``what`` says what it names in the
  message: ``"a folder name"``)."""
  if not isinstance(value, str) or (not blank and not value.strip()):
    raise ValueError(f"{name} must be {what}; got {_show(value)}.")
  return value


def run_labels(name: Any, description: Any, output: Any) -> None:
  """The labels of a run's settings (a DICE-PC and a DICE-FT run alike): ``name`` (non-empty
  text), ``description`` (text, may be empty) and ``output`` (a folder name, or ``None``)."""
  text("name", name)
  text("description", description, "text", blank=True)
  if output is not None:
    text("output", output, "a folder name")


def instance(name: str, value: Any, cls) -> Any:
  """``value``, an instance of ``cls`` (a type or a tuple of types): a settings object or record
  that checked itself when it was built."""
  if not isinstance(value, cls):
    kinds = " or ".join(c.__name__ for c in (cls if isinstance(cls, tuple) else (cls,)))
    raise ValueError(f"{name} must be a {kinds}; got {type(value).__name__}.")
  return value


def sequence(name: str, value: Any, *, of: str, one: str) -> Tuple[Any, ...]:
  """``value`` (a list or tuple; a string is refused: it is not a list) as a non-empty tuple;
  ``of`` names what it lists, ``one`` one of them (``"difficulties"``, ``"difficulty"``)."""
  if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
    raise ValueError(f"{name} must be a list of {of}; got {_show(value)}.")
  if not value:
    raise ValueError(f"{name} must name at least one {one}; got none.")
  return tuple(value)


def names(name: str, value: Any, *, allow_empty: bool = False) -> Tuple[str, ...]:
  """A list of distinct non-empty strings (a single string is refused: it is not a list)."""
  if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
    raise ValueError(f"{name} must be a list of names; got {_show(value)}.")
  out = []
  for i, v in enumerate(value):
    if not isinstance(v, str) or not v.strip():
      raise ValueError(f"{name}[{i}] must be a non-empty name; got {_show(v)}.")
    out.append(v)
  if not out and not allow_empty:
    raise ValueError(f"{name} must name at least one; got none.")
  if len(set(out)) != len(out):
    raise ValueError(f"{name} must be distinct; got {out}.")
  return tuple(out)
