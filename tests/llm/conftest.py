"""Fixtures for the LLM bridge tests: tiny transformers (PyTorch) reference checkpoints."""

from __future__ import annotations

import os
import sys
from pathlib import Path

# The helpers live in tests/llm/reference.py and are imported as `tests.llm.reference`; make the
# repository root importable also under a bare `pytest` (which does not put the cwd on sys.path).
_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
  sys.path.insert(0, _ROOT)

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import pytest  # noqa: E402

pytest.importorskip("torch")
pytest.importorskip("transformers")

from tests.llm.reference import MODEL_NAMES, build_reference  # noqa: E402


@pytest.fixture(scope="session")
def tiny_checkpoints(tmp_path_factory):
  """``{name: (directory, torch model)}`` for every tiny architecture, saved once per session."""
  out = {}
  for name in MODEL_NAMES:
    model = build_reference(name)
    d = tmp_path_factory.mktemp(name)
    model.save_pretrained(d)
    out[name] = (str(d), model)
  return out


def smollm2_gguf_path() -> str:
  """Path of ``SmolLM2-135M-Instruct.Q4_1.gguf`` (fails under CI, skips elsewhere, when absent)."""
  from dice_jax.testing.models import smollm2_path_or_skip

  return smollm2_path_or_skip()


@pytest.fixture(scope="session")
def smollm2():
  """The real SmolLM2-135M-Instruct GGUF, loaded once per session by the bridge and by transformers.

  Returns a dict with ``path``, ``model`` and ``config`` (NNX), ``tokenizer`` and ``reference``
  (transformers PyTorch, float32, loaded from the same file with ``gguf_file=``).
  """
  import torch
  from transformers import AutoModelForCausalLM

  from dice_jax.llm.loaders_gguf import load_gguf_model
  from dice_jax.llm.tokenizer import load_tokenizer

  path = smollm2_gguf_path()
  model, cfg = load_gguf_model(path)
  folder, name = os.path.split(path)
  reference = AutoModelForCausalLM.from_pretrained(
    folder, gguf_file=name, dtype=torch.float32, local_files_only=True
  ).eval()
  return {
    "path": path,
    "model": model,
    "config": cfg,
    "tokenizer": load_tokenizer(path),
    "reference": reference,
  }
