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


# -- CPU time to read a file, measured in a fresh process ---------------------------------------

_READ_SCRIPT = """
import importlib, json, sys, time
module, name = sys.argv[1].split(":")
reader = getattr(importlib.import_module(module), name)
print(json.dumps(["ready"]), flush=True)
for path in sys.argv[2:]:
  t = time.process_time()  # CPU seconds of this one-threaded reader
  try:
    reader(path)
    error, message = None, ""
  except Exception as e:
    error, message = type(e).__name__, str(e)
  print(json.dumps([path, error, message, time.process_time() - t]), flush=True)
"""


def read_in_fresh_process(reader: str, paths: list[str], hang_after: float = 10.0) -> dict:
  """``{path: (error type name or None, message, CPU seconds)}`` for ``reader`` (``"module:fn"``,
  e.g. ``"dice_jax:read_nfg"``) applied to each file in a fresh Python process that imports
  the dice_jax under test. A clean process measures the reader, not the state of a test worker
  that has loaded models and compiled hundreds of programs (the same read took 0.17 s alone and
  4 s inside the full suite). A file that gives no answer within ``hang_after`` seconds is
  recorded as ``("hung", "", None)`` (``"crashed"`` if the process died) and the process is
  restarted on the files after it."""
  import json  # noqa: PLC0415
  import pathlib  # noqa: PLC0415
  import queue  # noqa: PLC0415
  import subprocess  # noqa: PLC0415
  import sys  # noqa: PLC0415
  import threading  # noqa: PLC0415

  import dice_jax  # noqa: PLC0415

  here = str(pathlib.Path(dice_jax.__file__).parents[1])
  env = dict(os.environ, PYTHONPATH=os.pathsep.join([here, os.environ.get("PYTHONPATH", "")]))
  results, todo = {}, list(paths)
  while todo:
    proc = subprocess.Popen(
      [sys.executable, "-c", _READ_SCRIPT, reader, *todo],
      stdout=subprocess.PIPE,
      stderr=subprocess.DEVNULL,
      text=True,
      env=env,
    )
    lines: queue.Queue = queue.Queue()
    threading.Thread(
      target=lambda: [*map(lines.put, proc.stdout), lines.put("")], daemon=True
    ).start()
    wait, line = 300.0, ""  # the first answer waits for the imports
    while True:
      try:
        line = lines.get(timeout=wait)
      except queue.Empty:
        line = "hung"
      if line in ("", "hung"):
        break
      row = json.loads(line)
      if row[0] != "ready":
        results[row[0]] = tuple(row[1:])
        todo.remove(row[0])
      wait = hang_after
    proc.kill()
    proc.wait()
    if todo:
      results[todo.pop(0)] = ("hung" if line == "hung" else "crashed", "", None)
  return results
