"""dice_jax.llm — a small, exact Flax NNX bridge to Hugging Face causal language models.

Checkpoints in (Hugging Face directories with ``config.json`` + safetensors, GGUF files),
Flax NNX models out (Llama family: Llama 2/3, SmolLM2, Qwen2; GPT-2), generation with a static
KV cache under ``jit``, batched scoring of candidate responses, and LoRA adapters that PyTorch
PEFT can load. transformers (≥ 5, PyTorch) is the reference implementation, the config and the
tokenizer source; torch is never imported here.

Install with ``pip install 'dice_jax[llm]'``.
"""

import os as _os

_os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach a hub: checkpoints are local files

from dice_jax.llm.attention import KVCache  # noqa: E402
from dice_jax.llm.config import LMConfig, RopeConfig, config_from_hf, load_hf_config
from dice_jax.llm.errors import CheckpointError, UnsupportedModelError
from dice_jax.llm.gpt2 import GPT2LMHeadModel
from dice_jax.llm.llama import LlamaForCausalLM
from dice_jax.llm.load import load_model
from dice_jax.llm.loaders_hf import load_hf_model
from dice_jax.llm.generate import GenerationResult, generate, generate_text
from dice_jax.llm.loaders_gguf import load_gguf_model
from dice_jax.llm.lora import (
  ADAPTER,
  BASE,
  ScaledLoRA,
  apply_lora,
  load_lora_adapter,
  lora_modules,
  lora_optimizer,
  merge_lora,
  save_lora_adapter,
)
from dice_jax.llm.model import build_model, new_cache
from dice_jax.llm.score import ScoreResult, score_candidates, score_texts, sequence_logprobs
from dice_jax.llm.tokenizer import encode_prompts, load_tokenizer

__all__ = [
  "ADAPTER",
  "BASE",
  "CheckpointError",
  "GenerationResult",
  "ScaledLoRA",
  "ScoreResult",
  "apply_lora",
  "encode_prompts",
  "generate",
  "generate_text",
  "load_gguf_model",
  "load_lora_adapter",
  "load_tokenizer",
  "lora_modules",
  "lora_optimizer",
  "merge_lora",
  "save_lora_adapter",
  "score_candidates",
  "score_texts",
  "sequence_logprobs",
  "GPT2LMHeadModel",
  "KVCache",
  "LMConfig",
  "LlamaForCausalLM",
  "RopeConfig",
  "UnsupportedModelError",
  "build_model",
  "config_from_hf",
  "load_hf_config",
  "load_hf_model",
  "load_model",
  "new_cache",
]
