"""config.json under mutation: an LMConfig whose fields are in range, or a CheckpointError (a
ValueError) naming the source and the key -- never ZeroDivisionError, TypeError from inside the
reader, or a silently truncated value."""

from __future__ import annotations

import copy
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from dice_jax.llm.config import LMConfig, config_from_hf
from dice_jax.llm.errors import CheckpointError
from tests.fuzz.budget import STATS, examples, time_limit
from tests.fuzz.values import json_values

BASES = {
  "llama": {
    "model_type": "llama",
    "vocab_size": 32,
    "hidden_size": 16,
    "intermediate_size": 24,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "head_dim": 4,
    "max_position_embeddings": 64,
    "rms_norm_eps": 1e-5,
    "rope_theta": 10000.0,
    "rope_scaling": {
      "rope_type": "llama3",
      "factor": 8.0,
      "low_freq_factor": 1.0,
      "high_freq_factor": 4.0,
      "original_max_position_embeddings": 32,
    },
    "tie_word_embeddings": False,
    "attention_bias": False,
    "eos_token_id": [2, 3],
    "bos_token_id": 1,
  },
  "qwen2": {
    "model_type": "qwen2",
    "vocab_size": 32,
    "hidden_size": 16,
    "intermediate_size": 24,
    "num_hidden_layers": 1,
    "num_attention_heads": 2,
    "num_key_value_heads": 1,
    "rope_parameters": {"rope_type": "default", "rope_theta": 1e6},
    "use_sliding_window": False,
  },
  "gpt2": {
    "model_type": "gpt2",
    "vocab_size": 32,
    "n_embd": 16,
    "n_head": 4,
    "n_layer": 2,
    "n_positions": 64,
    "layer_norm_epsilon": 1e-5,
    "activation_function": "gelu_new",
  },
}
KEYS = sorted({k for base in BASES.values() for k in base} | {"head_dim", "n_inner", "factor"})
INTEGER_FIELDS = (
  "vocab_size",
  "hidden_size",
  "intermediate_size",
  "num_layers",
  "num_heads",
  "num_kv_heads",
  "head_dim",
  "max_position_embeddings",
)


@st.composite
def configs(draw):
  family = draw(st.sampled_from(sorted(BASES)))
  d = copy.deepcopy(BASES[family])
  for _ in range(draw(st.integers(1, 3))):
    key = draw(st.sampled_from(KEYS))
    op = draw(st.sampled_from(["value", "number", "delete", "nested"]))
    if op == "value":
      d[key] = draw(json_values)
    elif op == "number":
      d[key] = draw(
        st.one_of(
          st.integers(-3, 3), st.floats(-3, 100), st.sampled_from([float("nan"), float("inf")])
        )
      )
    elif op == "delete":
      d.pop(key, None)
    elif isinstance(d.get("rope_scaling"), dict):
      d["rope_scaling"][
        draw(
          st.sampled_from(
            [
              "factor",
              "low_freq_factor",
              "high_freq_factor",
              "original_max_position_embeddings",
              "rope_type",
            ]
          )
        )
      ] = draw(json_values | st.sampled_from([float("nan"), float("inf"), -1.0, 0.0]))
  return d


@settings(max_examples=examples(150, 3000))
@given(d=configs())
def test_mutated_configs(d):
  with time_limit(5, "config_from_hf"):
    try:
      cfg = config_from_hf(d, source="fuzz/config.json")
    except CheckpointError as e:
      STATS["LLM configs rejected with CheckpointError"] += 1
      assert str(e).startswith("fuzz/config.json: "), str(e)
      return
    except Exception:
      STATS["escapes of undocumented exception types"] += 1
      raise
  STATS["LLM configs accepted"] += 1
  assert isinstance(cfg, LMConfig)
  for name in INTEGER_FIELDS:
    value = getattr(cfg, name)
    assert isinstance(value, int) and not isinstance(value, bool) and value >= 1, (name, value)
  assert cfg.num_heads % cfg.num_kv_heads == 0
  assert math.isfinite(cfg.attention_scale) and cfg.norm_eps > 0
  for key, field in (("hidden_size", "hidden_size"), ("num_attention_heads", "num_heads")):
    if key in d and cfg.family == "llama":  # what the file said is what the model got
      assert getattr(cfg, field) == d[key], (key, d[key])
