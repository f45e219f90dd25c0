"""What every benchmark record carries: the machine, the versions, the settings."""

from __future__ import annotations

import json
import os
import platform
import time
from typing import Any, Callable, Dict, List, Optional

import jax
import numpy as np


def environment() -> Dict[str, Any]:
  """Device, library versions and host facts for a benchmark record."""
  dev = jax.devices()[0]
  env = {
    "device": f"{dev.platform}:{getattr(dev, 'device_kind', '?')}",
    "device_count": jax.device_count(),
    "jax": jax.__version__,
    "numpy": np.__version__,
    "python": platform.python_version(),
    "cpu_count": os.cpu_count(),
    "machine": platform.machine(),
    "x64": bool(jax.config.jax_enable_x64),
    "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    "load_average": load_average(),
  }
  try:
    import pygambit

    env["pygambit"] = pygambit.__version__
  except ImportError:
    env["pygambit"] = None
  return env


def best_time(fn, repeats: int) -> float:
  """Minimum wall time over ``repeats`` calls of ``fn`` (which must block until done)."""
  times = []
  for _ in range(repeats):
    t = time.perf_counter()
    fn()
    times.append(time.perf_counter() - t)
  return min(times)


def interleaved_times(
  fns: Dict[str, Callable[[], Any]], repeats: int
) -> Dict[str, Dict[str, float]]:
  """Time several blocking callables A, B, C, A, B, C, ... ``repeats`` times in this process
  and return ``{name: {"median_s", "min_s", "max_s"}}``.

  Interleaving keeps a ratio of two medians meaningful on a shared machine whose speed drifts
  while it runs (other jobs on the same cores); quote the medians, the spread shows the noise.
  """
  times = {k: [] for k in fns}
  for _ in range(repeats):
    for k, fn in fns.items():
      t = time.perf_counter()
      fn()
      times[k].append(time.perf_counter() - t)
  return {
    k: {
      "median_s": float(np.median(v)),
      "min_s": float(np.min(v)),
      "max_s": float(np.max(v)),
      "repeats": repeats,
    }
    for k, v in times.items()
  }


def load_average() -> Optional[List[float]]:
  """The 1, 5 and 15 minute load averages (a record's noise caveat), or None where unknown."""
  try:
    return [round(x, 2) for x in os.getloadavg()]
  except OSError:
    return None


def write_json(path: str, record: Dict[str, Any]) -> None:
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  with open(path, "w") as f:
    json.dump(record, f, indent=2)
