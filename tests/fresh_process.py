"""Run a Python script in a fresh interpreter that imports the dice_jax under test, with a
time limit: a hang fails the calling test instead of stalling the suite."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
from typing import Optional


def run_script(
  script: str, timeout: float, env: Optional[dict] = None
) -> Optional[subprocess.CompletedProcess]:
  """The finished process (``stdout``, ``stderr``, ``returncode``), or ``None`` if it ran past
  ``timeout`` seconds (it is killed). ``env`` adds to this process's environment."""
  import dice_jax  # noqa: PLC0415

  here = str(pathlib.Path(dice_jax.__file__).parents[1])
  full = dict(os.environ, PYTHONPATH=os.pathsep.join([here, os.environ.get("PYTHONPATH", "")]))
  full.update(env or {})
  try:
    return subprocess.run(
      [sys.executable, "-c", script], env=full, capture_output=True, text=True, timeout=timeout
    )
  except subprocess.TimeoutExpired:
    return None


def output_within(script: str, timeout: float, what: str) -> str:
  """The standard output of ``script`` run by :func:`run_script`; the calling test fails if it
  ran past ``timeout`` seconds (saying ``what`` hung) or exited with an error."""
  import pytest  # noqa: PLC0415

  out = run_script(script, timeout)
  if out is None:
    pytest.fail(f"{what} did not finish within {timeout} s (the XLA:CPU hang)")
  assert out.returncode == 0, out.stderr[-2000:]
  return out.stdout
