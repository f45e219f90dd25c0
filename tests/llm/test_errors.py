"""Bad input gives errors that name the file or the key (one test per failure mode)."""

from __future__ import annotations

import json
import os
import shutil

import jax.numpy as jnp
import numpy as np
import pytest

from dice_jax.llm import (
  CheckpointError,
  UnsupportedModelError,
  load_hf_model,
  load_model,
  load_tokenizer,
)
from dice_jax.llm.loaders_gguf import load_gguf_model, unpermute_qk
from tests.llm.reference import (
  build_reference,
  llama_cpp_permute,
  padded_batch,
  torch_logits,
  write_tiny_gguf,
)


@pytest.fixture
def ckpt(tiny_checkpoints, tmp_path):
  """A private copy of the tiny untied Llama checkpoint that a test may damage."""
  d = tmp_path / "ckpt"
  shutil.copytree(tiny_checkpoints["llama_gqa_untied"][0], d)
  return d


def _edit_config(d, **changes):
  p = d / "config.json"
  conf = json.loads(p.read_text())
  conf.update(changes)
  p.write_text(json.dumps(conf))


def test_missing_config(ckpt):
  os.remove(ckpt / "config.json")
  with pytest.raises(CheckpointError, match=r"config\.json: missing config\.json"):
    load_hf_model(ckpt)


def test_missing_weights_file(ckpt):
  os.remove(ckpt / "model.safetensors")
  with pytest.raises(CheckpointError, match=r"model\.safetensors: missing weights file"):
    load_hf_model(ckpt)


def test_truncated_weights_file(ckpt):
  p = ckpt / "model.safetensors"
  data = p.read_bytes()
  p.write_bytes(data[: len(data) // 2])
  with pytest.raises(CheckpointError, match=r"model\.safetensors: cannot read safetensors file"):
    load_hf_model(ckpt)


def test_unknown_architecture(ckpt):
  _edit_config(ckpt, model_type="bert", architectures=["BertModel"])
  with pytest.raises(
    UnsupportedModelError, match=r"config\.json: unknown architecture model_type='bert'"
  ):
    load_hf_model(ckpt)


def test_shape_mismatch_names_the_tensor(ckpt):
  _edit_config(ckpt, intermediate_size=80)
  with pytest.raises(
    CheckpointError, match=r"shape mismatch for tensor 'model\.layers\.0\.mlp\.down_proj\.weight'"
  ):
    load_hf_model(ckpt)


def test_missing_and_unused_tensors_are_named(ckpt):
  from safetensors.numpy import load_file, save_file

  p = str(ckpt / "model.safetensors")
  tensors = load_file(p)
  del tensors["model.layers.1.self_attn.k_proj.weight"]
  save_file(tensors, p, metadata={"format": "pt"})
  with pytest.raises(
    CheckpointError, match=r"missing tensor 'model\.layers\.1\.self_attn\.k_proj\.weight'"
  ):
    load_hf_model(ckpt)
  tensors["model.layers.1.self_attn.k_proj.weight"] = np.zeros((32, 64), np.float32)
  tensors["model.layers.0.self_attn.extra.weight"] = np.zeros((2, 2), np.float32)
  save_file(tensors, p, metadata={"format": "pt"})
  with pytest.raises(
    CheckpointError, match=r"unused tensor 'model\.layers\.0\.self_attn\.extra\.weight'"
  ):
    load_hf_model(ckpt)


def test_missing_tokenizer(ckpt):
  with pytest.raises(CheckpointError, match="missing tokenizer"):
    load_tokenizer(ckpt)


def test_sharded_checkpoint_loads_and_missing_shard_is_named(tmp_path):
  ref = build_reference("llama_gqa_untied")
  d = tmp_path / "sharded"
  ref.save_pretrained(d, max_shard_size="40KB")
  assert (d / "model.safetensors.index.json").exists()
  shards = sorted(n for n in os.listdir(d) if n.startswith("model-") and n.endswith(".safetensors"))
  assert len(shards) > 1
  model, _ = load_hf_model(d)
  ids, mask, positions = padded_batch(seed=1)
  got = np.asarray(model(jnp.asarray(ids), jnp.asarray(positions), jnp.asarray(mask))[0])
  assert np.abs(got - torch_logits(ref, ids, mask, positions))[mask].max() < 1e-4
  os.remove(d / shards[-1])
  with pytest.raises(CheckpointError, match=f"{shards[-1]}: missing shard file"):
    load_hf_model(d)


def test_unpermute_inverts_llama_cpp_permutation():
  w = np.arange(8 * 6 * 3, dtype=np.float32).reshape(48, 3)
  for heads in (1, 2, 3):
    np.testing.assert_array_equal(unpermute_qk(llama_cpp_permute(w, heads), heads), w)
  assert not np.array_equal(llama_cpp_permute(w, 2), w)


@pytest.mark.parametrize(
  "name, arch, theta", [("llama_gqa_untied", "llama", 500000.0), ("qwen2", "qwen2", 1000000.0)]
)
def test_gguf_written_in_llama_cpp_layout_matches_pytorch(tmp_path, name, arch, theta):
  ref = build_reference(name)
  path = str(tmp_path / "tiny.gguf")
  write_tiny_gguf(path, ref, arch=arch)
  model, cfg = load_model(path)
  assert cfg.rope.theta == theta and not cfg.tie_word_embeddings
  assert cfg.attention_bias == (arch == "qwen2")
  ids, mask, positions = padded_batch(seed=1)
  got = np.asarray(model(jnp.asarray(ids), jnp.asarray(positions), jnp.asarray(mask))[0])
  assert np.abs(got - torch_logits(ref, ids, mask, positions))[mask].max() < 1e-4


def test_gguf_truncated_unknown_architecture_and_missing_tensor(tmp_path):
  ref = build_reference("llama_gqa_untied")
  path = str(tmp_path / "tiny.gguf")
  write_tiny_gguf(path, ref)
  data = open(path, "rb").read()
  bad = tmp_path / "truncated.gguf"
  bad.write_bytes(data[: len(data) // 3])
  with pytest.raises(CheckpointError, match=r"truncated\.gguf: cannot read GGUF file"):
    load_gguf_model(bad)
  other = str(tmp_path / "mamba.gguf")
  write_tiny_gguf(other, ref, arch="mamba")
  with pytest.raises(
    UnsupportedModelError, match=r"mamba\.gguf: unknown architecture general\.architecture='mamba'"
  ):
    load_gguf_model(other)
  holed = str(tmp_path / "holed.gguf")
  write_tiny_gguf(holed, ref, drop="blk.1.ffn_up.weight")
  with pytest.raises(
    CheckpointError, match=r"holed\.gguf: missing tensor 'model\.layers\.1\.mlp\.up_proj\.weight'"
  ):
    load_gguf_model(holed)
  with pytest.raises(CheckpointError, match="no such checkpoint"):
    load_model(tmp_path / "nowhere")


def test_gpt2_checkpoint_without_transformer_prefix_and_with_mask_buffers(
  tiny_checkpoints, tmp_path
):
  """The original GPT-2 files name tensors "h.0.attn.c_attn.weight" and carry causal-mask buffers."""
  from safetensors.numpy import load_file, save_file

  directory, ref = tiny_checkpoints["gpt2"]
  shutil.copy(os.path.join(directory, "config.json"), tmp_path / "config.json")
  tensors = {
    k[len("transformer.") :]: v
    for k, v in load_file(os.path.join(directory, "model.safetensors")).items()
  }
  tensors["h.0.attn.bias"] = np.tril(np.ones((1, 1, 128, 128), np.float32))
  save_file(tensors, str(tmp_path / "model.safetensors"), metadata={"format": "pt"})
  model, _ = load_hf_model(tmp_path)
  ids, mask, positions = padded_batch(seed=1)
  got = np.asarray(model(jnp.asarray(ids), jnp.asarray(positions), jnp.asarray(mask))[0])
  assert np.abs(got - torch_logits(ref, ids, mask, positions))[mask].max() < 1e-4


# --- Issue #12: config.json values of the wrong kind or range name the file and the key. -------


@pytest.mark.parametrize(
  "change, message",
  [
    ({"num_attention_heads": 0}, r"'num_attention_heads' must be an integer >= 1; got 0"),
    ({"head_dim": 0}, r"'head_dim' must be an integer >= 1; got 0"),
    ({"rope_parameters": None, "rope_theta": None}, r"'rope_theta' must be a number; got null"),
    ({"rope_parameters": None, "rope_theta": "1e4"}, r"'rope_theta' must be a number; got '1e4'"),
    (
      {"rope_parameters": {"rope_type": "default", "rope_theta": -1.0}},
      r"'rope_theta' must be a finite number > 0",
    ),
    ({"rope_scaling": 5}, r"'rope_scaling' must be a mapping or null, got int"),
    ({"model_type": ["llama"]}, r"'model_type' must be text; got \['llama'\]"),
    ({"hidden_size": -16}, r"'hidden_size' must be an integer >= 1; got -16"),
    ({"hidden_size": 16.7}, r"'hidden_size' must be an integer; got 16.7"),
    ({"vocab_size": True}, r"'vocab_size' must be an integer; got True"),
    ({"rms_norm_eps": -1e-6}, r"'rms_norm_eps' must be a finite number > 0"),
    ({"attention_bias": "yes"}, r"'attention_bias' must be true or false; got 'yes'"),
    ({"eos_token_id": [2, "x"]}, r"'eos_token_id\[1\]' must be an integer; got 'x'"),
    ({"num_key_value_heads": 3}, r"not a multiple of num_key_value_heads=3"),
  ],
)
def test_bad_config_values_name_file_and_key(ckpt, change, message):
  _edit_config(ckpt, **change)
  with pytest.raises(CheckpointError, match=r"config\.json: .*" + message):
    load_model(str(ckpt))


def test_integral_float_is_read_as_an_integer(ckpt):
  from dice_jax.llm import load_hf_config

  before = load_hf_config(ckpt)
  _edit_config(ckpt, hidden_size=float(before.hidden_size))
  assert load_hf_config(ckpt) == before


def test_config_not_utf8_or_with_duplicate_keys(ckpt):
  p = ckpt / "config.json"
  text = p.read_text().rstrip()
  p.write_bytes(text[:-1].encode() + b', "x": "\xff"}')
  with pytest.raises(
    CheckpointError, match=r"config\.json: line \d+: the config file is not UTF-8"
  ):
    load_model(str(ckpt))
  p.write_text(text[:-1] + ', "hidden_size": 32}')
  with pytest.raises(CheckpointError, match=r"config\.json: duplicate key 'hidden_size'"):
    load_model(str(ckpt))


def test_cli_reports_a_bad_config_in_one_line(ckpt, capsys):
  from dice_jax.cli import main

  _edit_config(ckpt, num_attention_heads=0)
  assert main(["llm", "logits", "--model", str(ckpt), "--prompt", "x"]) == 2
  err = capsys.readouterr().err
  assert len(err.strip().splitlines()) == 1 and "'num_attention_heads'" in err and str(ckpt) in err


def test_integer_beyond_float64_is_a_checkpoint_error():
  """json reads a 400-digit integer exactly; float() of it would raise OverflowError."""
  from dice_jax.llm import config_from_hf

  d = {
    "model_type": "llama",
    "vocab_size": 10,
    "hidden_size": 8,
    "intermediate_size": 16,
    "num_hidden_layers": 1,
    "num_attention_heads": 2,
    "rope_theta": 10**400,
  }
  with pytest.raises(CheckpointError, match=r"x/config\.json: 'rope_theta' must be a number"):
    config_from_hf(d, source="x/config.json")
