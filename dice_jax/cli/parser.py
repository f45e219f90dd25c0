"""Argument parsing shared by the command groups: a parser whose usage errors take one line, and
argument types that check numbers before any work starts (finite, in range, fitting the solver's
int32 step counter)."""

from __future__ import annotations

import argparse
import math
import sys
from typing import List, NoReturn

#: The largest step budget the solvers' int32 counters hold.
MAX_STEPS = 2**31 - 1


class OneLineErrorParser(argparse.ArgumentParser):
  """An ``ArgumentParser`` that reports a usage error in one line and exits with status 2."""

  def error(self, message: str) -> NoReturn:
    print(f"{self.prog}: error: {message} (see {self.prog} --help)", file=sys.stderr)
    raise SystemExit(2)


def _number(text: str) -> float:
  try:
    value = float(text)
  except ValueError:
    raise argparse.ArgumentTypeError(f"must be a number; got {text!r}") from None
  if not math.isfinite(value):
    raise argparse.ArgumentTypeError(f"must be finite; got {text!r}")
  return value


def positive_number(text: str) -> float:
  """A finite number > 0 (tolerances, temperatures)."""
  value = _number(text)
  if value <= 0:
    raise argparse.ArgumentTypeError(f"must be > 0; got {text!r}")
  return value


def step_count(text: str) -> int:
  """An integer in ``[1, 2**31 - 1]`` (step budgets: the solvers count steps in int32)."""
  try:
    value = int(text)
  except ValueError:
    raise argparse.ArgumentTypeError(f"must be an integer; got {text!r}") from None
  if not 1 <= value <= MAX_STEPS:
    raise argparse.ArgumentTypeError(f"must be an integer in [1, {MAX_STEPS}]; got {text!r}")
  return value


def count(text: str) -> int:
  """An integer >= 1 below 2**31 (sample counts, token counts)."""
  return step_count(text)


def seed(text: str) -> int:
  """An integer in ``[0, 2**32 - 1]`` (a PRNG seed)."""
  try:
    value = int(text)
  except ValueError:
    raise argparse.ArgumentTypeError(f"must be an integer; got {text!r}") from None
  if not 0 <= value < 2**32:
    raise argparse.ArgumentTypeError(f"must be an integer in [0, 2**32 - 1]; got {text!r}")
  return value


def temperatures(text: str) -> List[float]:
  """One temperature ``tau > 0`` or a comma-separated list, one per player."""
  parts = [t for t in text.split(",") if t.strip()]
  if not parts:
    raise argparse.ArgumentTypeError("must not be empty")
  values = []
  for t in parts:
    try:
      values.append(float(t))
    except ValueError:
      raise argparse.ArgumentTypeError(
        f"must be a number or a comma-separated list of numbers; got {text!r}"
      ) from None
  for v in values:
    if not math.isfinite(v) or v <= 0:
      raise argparse.ArgumentTypeError(f"temperature must be > 0 and finite; got {text!r}")
  return values


def probability(text: str) -> float:
  """A number in ``(0, 1]`` (top-p)."""
  value = _number(text)
  if not 0 < value <= 1:
    raise argparse.ArgumentTypeError(f"must lie in (0, 1]; got {text!r}")
  return value


def check_player_count(temps: List[float], num_players: int) -> None:
  """Raise ``ValueError`` unless ``temps`` gives 1 or ``num_players`` temperatures."""
  if len(temps) not in (1, num_players):
    raise ValueError(
      f"--temperature must give 1 or {num_players} values (one per player); got {len(temps)}."
    )
