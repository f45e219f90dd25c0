"""Scanned decoder layers equal the unrolled loop; prompts shared by K candidates score like full rows.

Tiny randomly initialised models built from a config (the logits-vs-transformers tests in
test_models.py / test_generate_score.py / test_lora.py run the scanned path against PyTorch).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from dice_jax.llm import LMConfig, RopeConfig, apply_lora, build_model
from dice_jax.llm.generate import generate
from dice_jax.llm.layer_stack import stacked_layers
from dice_jax.llm.lora import ADAPTER
from dice_jax.llm.score import candidate_logprobs, grouped_candidate_logprobs

pytestmark = pytest.mark.slow  # the slow tier (pyproject.toml): run with -m slow

VOCAB = 61


def _config(family: str, **kw) -> LMConfig:
  common = dict(
    vocab_size=VOCAB,
    hidden_size=32,
    intermediate_size=48,
    num_layers=3,
    num_heads=4,
    max_position_embeddings=64,
    norm_eps=1e-5,
  )
  if family == "gpt2":
    return LMConfig(
      family="gpt2",
      model_type="gpt2",
      num_kv_heads=4,
      head_dim=8,
      activation="gelu_new",
      attention_bias=True,
      o_bias=True,
      mlp_bias=True,
      tie_word_embeddings=True,
      **common,
      **kw,
    )
  return LMConfig(
    family="llama",
    model_type="llama",
    num_kv_heads=2,
    head_dim=8,
    rope=RopeConfig(theta=5e4),
    **common,
    **kw,
  )


def _randomise(model, seed=0):
  """Every parameter ~ 0.3 N(0, 1) (norm scales and biases included), in place."""
  state = nnx.state(model, nnx.Param)
  leaves, treedef = jax.tree_util.tree_flatten(state)
  keys = jax.random.split(jax.random.key(seed), len(leaves))
  nnx.update(
    model,
    jax.tree_util.tree_unflatten(
      treedef, [0.3 * jax.random.normal(k, x.shape, x.dtype) for k, x in zip(keys, leaves)]
    ),
  )
  return model


def _batch(seed=0, b=3, t=10):
  rs = np.random.RandomState(seed)
  ids = rs.randint(3, VOCAB, size=(b, t)).astype(np.int32)
  mask = np.ones((b, t), bool)
  mask[1, :4] = False
  positions = np.maximum(np.cumsum(mask, axis=1) - 1, 0).astype(np.int32)
  return jnp.asarray(ids), jnp.asarray(mask), jnp.asarray(positions)


def _logits(model, scan):
  model.scan_layers = scan
  ids, mask, positions = _batch()
  return np.asarray(nnx.jit(lambda m: m(ids, positions, mask)[0])(model))


@pytest.mark.parametrize("family", ["llama", "gpt2"])
def test_scanned_layers_equal_unrolled(family):
  model = _randomise(build_model(_config(family)))
  assert (
    stacked_layers(model.model.layers if family == "llama" else model.transformer.h) is not None
  )
  scanned, unrolled = _logits(model, True), _logits(model, False)
  np.testing.assert_allclose(scanned, unrolled, rtol=0, atol=2e-5)
  assert np.abs(scanned).max() > 1.0


def test_structurally_different_layers_fall_back_to_the_loop():
  """GPT-2 with per-layer attention scales, and LoRA on one layer only, cannot share one scan body."""
  gpt = _randomise(build_model(_config("gpt2", scale_attn_by_inverse_layer_idx=True)))
  assert stacked_layers(gpt.transformer.h) is None
  np.testing.assert_array_equal(_logits(gpt, True), _logits(gpt, False))
  llama = _randomise(build_model(_config("llama")))
  apply_lora(
    llama, rank=2, alpha=4.0, targets=r"model\.layers\.1\.self_attn\.q_proj", rngs=nnx.Rngs(1)
  )
  nnx.update(llama, jax.tree_util.tree_map(lambda x: x + 0.5, nnx.state(llama, ADAPTER)))
  assert stacked_layers(llama.model.layers) is None
  np.testing.assert_array_equal(_logits(llama, True), _logits(llama, False))


def test_generation_with_scanned_cache_equals_unrolled():
  model = _randomise(build_model(_config("llama")), seed=3)
  ids, mask, _ = _batch(seed=4)
  model.scan_layers = True
  a = generate(model, ids, mask, max_new_tokens=6)
  model.scan_layers = False
  b = generate(model, ids, mask, max_new_tokens=6)
  np.testing.assert_array_equal(a.tokens, b.tokens)
  np.testing.assert_allclose(a.logprobs, b.logprobs, rtol=0, atol=2e-5)


def _rows(seed, p, k, length, window):
  """``p`` prompts of different lengths with ``k`` candidates each, as right-padded rows."""
  rs = np.random.RandomState(seed)
  ids = np.zeros((p * k, length), np.int32)
  starts, lengths = np.zeros(p * k, np.int32), np.zeros(p * k, np.int32)
  for i in range(p):
    prompt = rs.randint(3, VOCAB, size=rs.randint(2, length - window + 1)).tolist()
    for j in range(k):
      cand = rs.randint(3, VOCAB, size=rs.randint(1, window + 1)).tolist()
      r = i * k + j
      ids[r, : len(prompt) + len(cand)] = prompt + cand
      starts[r], lengths[r] = len(prompt) - 1, len(cand)
  mask = np.arange(length)[None, :] < (starts + 1 + lengths)[:, None]
  return tuple(jnp.asarray(a) for a in (ids, mask, starts, lengths))


@pytest.mark.slow
@pytest.mark.parametrize("family", ["llama", "gpt2"])
def test_shared_prompt_scores_and_gradients_equal_full_rows(family):
  """Each prompt run once for its K candidates gives the log-probabilities (and LoRA gradients)
  of scoring every prompt ⊕ candidate row in full."""
  model = _randomise(build_model(_config(family)), seed=5)
  apply_lora(
    model,
    rank=2,
    alpha=4.0,
    targets=("q_proj", "v_proj") if family == "llama" else ("c_attn",),
    rngs=nnx.Rngs(2),
  )
  nnx.update(model, jax.tree_util.tree_map(lambda x: x + 0.1, nnx.state(model, ADAPTER)))
  p, k, length, window = 3, 4, 16, 6
  ids, mask, starts, lengths = _rows(7, p, k, length, window)

  def full(m):
    return candidate_logprobs(m, ids, mask, starts, lengths, window)

  def shared(m):
    return grouped_candidate_logprobs(
      m, ids, mask, starts, lengths, window, group=k, prompt_len=length - window
    )

  want, got = nnx.jit(full)(model), nnx.jit(shared)(model)
  np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=0, atol=3e-5)
  assert np.all(np.asarray(want)[np.arange(window)[None, :] >= np.asarray(lengths)[:, None]] == 0)
  assert np.asarray(want).min() < -1.0

  def grads(fn):
    loss = lambda m: jnp.sum(fn(m) * jnp.linspace(0.5, 1.5, window))  # noqa: E731
    return nnx.jit(lambda m: nnx.grad(loss, argnums=nnx.DiffState(0, ADAPTER))(m))(model)

  jax.tree_util.tree_map(
    lambda a, b: np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=2e-4, atol=2e-5),
    grads(shared),
    grads(full),
  )
