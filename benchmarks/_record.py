"""What every benchmark record carries: the machine, the versions, the settings."""
from __future__ import annotations

import json
import os
import platform
import time
from typing import Any, Dict

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


def write_json(path: str, record: Dict[str, Any]) -> None:
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  with open(path, "w") as f:
    json.dump(record, f, indent=2)
