"""Fixtures for the LLM bridge tests: tiny transformers (PyTorch) reference checkpoints."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import pytest

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


