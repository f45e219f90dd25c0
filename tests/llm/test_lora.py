"""LoRA: identity at creation, adapter-only training, PEFT export/load round trip, merging."""

from __future__ import annotations

import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import torch
from flax import nnx

from dice_jax.llm import load_hf_model
from dice_jax.llm.errors import CheckpointError
from dice_jax.llm.lora import (
  ADAPTER,
  BASE,
  apply_lora,
  load_lora_adapter,
  lora_modules,
  lora_optimizer,
  merge_lora,
  save_lora_adapter,
)
from dice_jax.llm.score import sequence_logprobs
from tests.llm.reference import padded_batch, torch_logits

TARGETS = {"llama_gqa_untied": ("q_proj", "v_proj", "down_proj"), "gpt2": ("c_attn", "c_fc")}


def _logits(model, ids, mask, positions):
  return np.asarray(model(jnp.asarray(ids), jnp.asarray(positions), jnp.asarray(mask))[0])


def _train(model, steps=10, seed=0):
  """``steps`` jitted Adam steps on the adapters: maximise the likelihood of a fixed sequence."""
  rs = np.random.RandomState(seed)
  ids = jnp.asarray(rs.randint(3, 97, size=(2, 10)), jnp.int32)
  mask = jnp.ones(ids.shape, bool)
  opt = lora_optimizer(model, optax.adam(3e-2))

  def loss_fn(m):
    return -jnp.mean(sequence_logprobs(m, ids, mask))

  @nnx.jit
  def step(m, o):
    loss, grads = nnx.value_and_grad(loss_fn, argnums=nnx.DiffState(0, ADAPTER))(m)
    o.update(m, grads)
    return loss

  losses = [float(step(model, opt)) for _ in range(steps)]
  return losses, float(loss_fn(model))


@pytest.fixture(scope="module", params=sorted(TARGETS))
def trained(request, tiny_checkpoints):
  name = request.param
  directory, _ = tiny_checkpoints[name]
  model, _ = load_hf_model(directory)
  ids, mask, positions = padded_batch(seed=7)
  base_logits = _logits(model, ids, mask, positions)
  apply_lora(model, rank=4, alpha=8.0, targets=TARGETS[name], rngs=nnx.Rngs(1))
  at_creation = _logits(model, ids, mask, positions)
  base_before = jax.tree_util.tree_map(np.asarray, nnx.to_pure_dict(nnx.state(model, BASE)))
  adapters_before = jax.tree_util.tree_map(np.asarray, nnx.to_pure_dict(nnx.state(model, ADAPTER)))
  losses, final = _train(model)
  return dict(
    name=name,
    directory=directory,
    model=model,
    batch=(ids, mask, positions),
    base_logits=base_logits,
    at_creation=at_creation,
    base_before=base_before,
    adapters_before=adapters_before,
    losses=losses,
    final=final,
  )


@pytest.mark.slow
def test_identity_at_creation(trained):
  np.testing.assert_array_equal(trained["at_creation"], trained["base_logits"])
  n = {"llama_gqa_untied": 2 * 3, "gpt2": 2 * 2}[trained["name"]]
  assert len(lora_modules(trained["model"])) == n
  for m in lora_modules(trained["model"]).values():
    assert m.scaling == 2.0


def test_training_changes_only_adapters_and_lowers_loss(trained):
  model = trained["model"]
  base_after = nnx.to_pure_dict(nnx.state(model, BASE))
  jax.tree_util.tree_map(
    lambda a, b: np.testing.assert_array_equal(np.asarray(b), a), trained["base_before"], base_after
  )
  changed = jax.tree_util.tree_leaves(
    jax.tree_util.tree_map(
      lambda a, b: bool(np.any(np.asarray(b) != a)),
      trained["adapters_before"],
      nnx.to_pure_dict(nnx.state(model, ADAPTER)),
    )
  )
  assert all(changed), "every adapter matrix should move"
  assert trained["final"] < trained["losses"][0] - 0.5, trained["losses"]


def test_peft_loads_exported_adapter_with_same_logits(trained, tmp_path):
  from peft import PeftModel
  from transformers import AutoModelForCausalLM

  save_lora_adapter(trained["model"], tmp_path)
  ref = AutoModelForCausalLM.from_pretrained(trained["directory"], dtype=torch.float32).eval()
  peft_model = PeftModel.from_pretrained(ref, str(tmp_path)).eval()
  ids, mask, positions = trained["batch"]
  want = torch_logits(peft_model, ids, mask, positions)
  got = _logits(trained["model"], ids, mask, positions)
  assert np.abs(got - want)[mask].max() < 1e-4
  # The adapter matters: without it the logits are measurably different.
  assert np.abs(trained["base_logits"] - want)[mask].max() > 1e-2


def test_wrong_alpha_in_exported_config_is_detected(trained, tmp_path):
  """Negative control: halving lora_alpha in adapter_config.json must break the PEFT match."""
  from peft import PeftModel
  from transformers import AutoModelForCausalLM

  save_lora_adapter(trained["model"], tmp_path)
  cpath = os.path.join(tmp_path, "adapter_config.json")
  conf = json.load(open(cpath))
  conf["lora_alpha"] = conf["lora_alpha"] / 2
  json.dump(conf, open(cpath, "w"))
  ref = AutoModelForCausalLM.from_pretrained(trained["directory"], dtype=torch.float32).eval()
  peft_model = PeftModel.from_pretrained(ref, str(tmp_path)).eval()
  ids, mask, positions = trained["batch"]
  diff = np.abs(
    _logits(trained["model"], ids, mask, positions) - torch_logits(peft_model, ids, mask, positions)
  )
  assert diff[mask].max() > 1e-3


def test_save_load_round_trip_and_merge(trained, tmp_path):
  save_lora_adapter(trained["model"], tmp_path)
  ids, mask, positions = trained["batch"]
  want = _logits(trained["model"], ids, mask, positions)
  fresh, _ = load_hf_model(trained["directory"])
  load_lora_adapter(fresh, tmp_path)
  np.testing.assert_allclose(_logits(fresh, ids, mask, positions), want, atol=1e-6)
  merge_lora(fresh)
  assert not lora_modules(fresh) and not nnx.state(fresh, ADAPTER)
  np.testing.assert_allclose(_logits(fresh, ids, mask, positions), want, atol=1e-4)


def test_adapter_file_errors_name_the_key(trained, tmp_path):
  from safetensors.numpy import load_file, save_file

  save_lora_adapter(trained["model"], tmp_path)
  wpath = os.path.join(tmp_path, "adapter_model.safetensors")
  tensors = load_file(wpath)
  key = sorted(tensors)[0]
  tensors[key] = tensors[key][:, :-1]
  save_file(tensors, wpath)
  fresh, _ = load_hf_model(trained["directory"])
  with pytest.raises(CheckpointError, match="shape mismatch.*" + key.replace(".", r"\.")):
    load_lora_adapter(fresh, tmp_path)
  os.remove(wpath)
  fresh, _ = load_hf_model(trained["directory"])
  with pytest.raises(CheckpointError, match="adapter_model.safetensors: missing adapter file"):
    load_lora_adapter(fresh, tmp_path)
