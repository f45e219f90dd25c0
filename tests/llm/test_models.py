"""Logits of the NNX models loaded from tiny transformers checkpoints equal PyTorch's."""

from __future__ import annotations

import dataclasses
import json

import jax.numpy as jnp
import numpy as np
import pytest

from dice_jax.llm import config_from_hf, load_hf_config, load_hf_model
from dice_jax.llm.errors import UnsupportedModelError
from tests.llm.reference import MODEL_NAMES, padded_batch, torch_logits

TOL = 1e-4


def _nnx_logits(model, ids, mask, positions):
  logits, cache = model(jnp.asarray(ids), jnp.asarray(positions), jnp.asarray(mask))
  assert cache is None
  return np.asarray(logits)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_logits_match_pytorch_on_padded_batch(tiny_checkpoints, name):
  directory, ref = tiny_checkpoints[name]
  model, cfg = load_hf_model(directory)
  ids, mask, positions = padded_batch(seed=1)
  want = torch_logits(ref, ids, mask, positions)
  got = _nnx_logits(model, ids, mask, positions)
  assert got.shape == want.shape == (*ids.shape, cfg.vocab_size)
  diff = np.abs(got - want)[mask].max()
  assert diff < TOL, f"{name}: max |Δlogit| = {diff}"
  assert np.abs(want).max() > 1.0  # the comparison is not between near-zero logits


def test_wrong_rope_theta_is_detected(tiny_checkpoints):
  """Negative control: the same weights with θ = 10,000 instead of 500,000 must not match."""
  directory, ref = tiny_checkpoints["llama_gqa_untied"]
  cfg = load_hf_config(directory)
  assert cfg.rope.theta == 500000.0
  wrong = dataclasses.replace(cfg, rope=dataclasses.replace(cfg.rope, theta=10000.0))
  model, _ = load_hf_model(directory, config=wrong)
  ids, mask, positions = padded_batch(seed=1)
  diff = np.abs(_nnx_logits(model, ids, mask, positions) - torch_logits(ref, ids, mask, positions))[
    mask
  ].max()
  assert diff > 100 * TOL, f"a wrong rope_theta went unnoticed (max |Δlogit| = {diff})"


def test_transformers_v4_config_keys_read_like_v5():
  v5 = {
    "model_type": "llama",
    "vocab_size": 10,
    "hidden_size": 8,
    "intermediate_size": 16,
    "num_hidden_layers": 1,
    "num_attention_heads": 2,
    "rope_parameters": {
      "rope_type": "llama3",
      "rope_theta": 500000.0,
      "factor": 8.0,
      "low_freq_factor": 1.0,
      "high_freq_factor": 4.0,
      "original_max_position_embeddings": 8192,
    },
  }
  v4 = {k: v for k, v in v5.items() if k != "rope_parameters"}
  v4.update(
    rope_theta=500000.0,
    torch_dtype="bfloat16",
    rope_scaling={
      "rope_type": "llama3",
      "factor": 8.0,
      "low_freq_factor": 1.0,
      "high_freq_factor": 4.0,
      "original_max_position_embeddings": 8192,
    },
  )
  assert config_from_hf(v4) == config_from_hf(v5)
  assert config_from_hf(v4).rope.theta == 500000.0
  old = dict(v4, rope_scaling={"type": "linear", "factor": 2.0})
  assert config_from_hf(old).rope.rope_type == "linear"


@pytest.mark.parametrize(
  "change, key",
  [
    ({"rope_parameters": {"rope_type": "yarn", "rope_theta": 1e4, "factor": 4.0}}, "rope_type"),
    ({"model_type": "qwen2", "use_sliding_window": True, "sliding_window": 8}, "sliding"),
    ({"partial_rotary_factor": 0.5}, "partial_rotary_factor"),
    ({"hidden_act": "gelu"}, "hidden_act"),
  ],
)
def test_unsupported_options_raise(change, key):
  d = {
    "model_type": "llama",
    "vocab_size": 10,
    "hidden_size": 8,
    "intermediate_size": 16,
    "num_hidden_layers": 1,
    "num_attention_heads": 2,
  }
  d.update(change)
  with pytest.raises(UnsupportedModelError, match=key):
    config_from_hf(d, source="x/config.json")


def test_bfloat16_checkpoint_reads_exactly(tmp_path):
  """A bf16 safetensors file (read via safetensors.flax) loads to the same float32 values as PyTorch's upcast."""
  import torch

  from tests.llm.reference import build_reference

  half_ref = build_reference("qwen2").to(torch.bfloat16)
  half_ref.save_pretrained(tmp_path)
  # A float32 reference holding the bf16 weights (not half_ref.float(): .to(bfloat16) also
  # rounded the RoPE inv_freq buffer, which is not part of the checkpoint).
  ref = build_reference("qwen2")
  ref.load_state_dict({k: v.float() for k, v in half_ref.state_dict().items()})
  model, _ = load_hf_model(tmp_path)
  ids, mask, positions = padded_batch(seed=1)
  diff = np.abs(_nnx_logits(model, ids, mask, positions) - torch_logits(ref, ids, mask, positions))[
    mask
  ].max()
  assert diff < TOL
  half, _ = load_hf_model(tmp_path, dtype=jnp.bfloat16)
  assert half.model.embed_tokens.embedding[...].dtype == jnp.bfloat16
  logits = _nnx_logits(half, ids, mask, positions)
  assert (
    logits.dtype == np.float32
    and np.abs(logits - torch_logits(ref, ids, mask, positions))[mask].max() < 0.5
  )


def test_mistral_with_explicit_head_dim_matches_pytorch(tmp_path):
  """Mistral (no sliding window) with head_dim ≠ hidden/heads: q/k/v widths follow head_dim."""
  import torch
  from transformers import MistralConfig, MistralForCausalLM

  from tests.llm.reference import randomise_norms_and_biases

  torch.manual_seed(0)
  cfg = MistralConfig(
    vocab_size=97,
    hidden_size=64,
    intermediate_size=96,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    head_dim=24,
    sliding_window=None,
    initializer_range=0.2,
    rope_theta=20000.0,
  )
  ref = MistralForCausalLM(cfg).eval()
  randomise_norms_and_biases(ref)
  ref.save_pretrained(tmp_path)
  model, mcfg = load_hf_model(tmp_path)
  assert (mcfg.model_type, mcfg.head_dim) == ("mistral", 24)
  ids, mask, positions = padded_batch(seed=1)
  diff = np.abs(_nnx_logits(model, ids, mask, positions) - torch_logits(ref, ids, mask, positions))[
    mask
  ].max()
  assert diff < TOL
  conf = json.loads((tmp_path / "config.json").read_text())
  conf["sliding_window"] = 4096
  (tmp_path / "config.json").write_text(json.dumps(conf))
  with pytest.raises(UnsupportedModelError, match="sliding_window"):
    load_hf_model(tmp_path)
