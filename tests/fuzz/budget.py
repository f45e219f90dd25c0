"""Shared pieces of the fuzz suite: example budgets per hypothesis profile, a per-case time
limit (a hang fails the case instead of stalling the suite), the documented error types, and
counters that the thorough run prints at the end (tests/fuzz/conftest.py).

Profiles (registered in tests/conftest.py): ``ci`` (default) keeps the whole fuzz suite within
about a minute; ``HYPOTHESIS_PROFILE=thorough`` runs >= 10,000 cases in all.
"""

from __future__ import annotations

import collections
import contextlib
import os
import signal
import time

THOROUGH = os.environ.get("HYPOTHESIS_PROFILE") == "thorough"

#: Counters reported at the end of a session (cases, converged re-checks, rejections...).
STATS: collections.Counter = collections.Counter()

#: The exception types the public API documents for bad input.
DOCUMENTED = (ValueError, TypeError)


def examples(ci: int, thorough: int) -> int:
  """The number of hypothesis examples for a test under the active profile."""
  return thorough if THOROUGH else ci


class Hang(Exception):
  """A case ran past its time limit."""


@contextlib.contextmanager
def time_limit(seconds: float, what: str = "case"):
  """Raise :class:`Hang` if the body runs longer than ``seconds`` (SIGALRM; main thread)."""

  def alarm(signum, frame):
    raise Hang(f"{what} ran longer than {seconds} s")

  old = signal.signal(signal.SIGALRM, alarm)
  signal.setitimer(signal.ITIMER_REAL, seconds)
  start = time.perf_counter()
  try:
    yield
  finally:
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, old)
    STATS["max seconds per case"] = max(
      STATS["max seconds per case"], round(time.perf_counter() - start, 3)
    )


def call(fn, *args, **kwargs):
  """``(result, None)`` or ``(None, error)`` for a documented error; any other exception type
  (an escape) is counted and re-raised so the case fails."""
  try:
    return fn(*args, **kwargs), None
  except DOCUMENTED as e:
    STATS["rejected with ValueError/TypeError"] += 1
    assert str(e).strip(), f"{type(e).__name__} with an empty message"
    return None, e
  except Exception:
    STATS["escapes of undocumented exception types"] += 1
    raise


@contextlib.contextmanager
def temp_file(raw: bytes, suffix: str = ".json"):
  """A temporary file holding ``raw``, removed afterwards (hypothesis runs many cases per test,
  so pytest's per-test ``tmp_path`` does not fit)."""
  import tempfile  # noqa: PLC0415

  fd, path = tempfile.mkstemp(suffix=suffix)
  with os.fdopen(fd, "wb") as f:
    f.write(raw)
  try:
    yield path
  finally:
    os.remove(path)
