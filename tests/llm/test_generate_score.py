"""Generation (KV cache, greedy/sampling, stop tokens) and candidate scoring on tiny models."""

from __future__ import annotations

import jax
import numpy as np
import pytest
import torch

from dice_jax.llm import load_hf_model
from dice_jax.llm.generate import generate, sample_logits
from dice_jax.llm.score import score_candidates
from tests.llm.reference import MODEL_NAMES, padded_batch

pytestmark = pytest.mark.slow  # the slow tier (pyproject.toml): run with -m slow

NEW = 20


@pytest.fixture(scope="module")
def loaded(tiny_checkpoints):
  return {name: load_hf_model(d)[0] for name, (d, _) in tiny_checkpoints.items()}


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_greedy_generation_equals_transformers(tiny_checkpoints, loaded, name):
  _, ref = tiny_checkpoints[name]
  ids, mask, _ = padded_batch(seed=2)
  res = generate(loaded[name], ids, mask, max_new_tokens=NEW, stop_ids=(2,), pad_id=0)
  with torch.no_grad():
    out = ref.generate(
      input_ids=torch.tensor(ids),
      attention_mask=torch.tensor(mask.astype(np.int64)),
      max_new_tokens=NEW,
      do_sample=False,
      pad_token_id=0,
      eos_token_id=2,
    )
  want = out[:, ids.shape[1] :].numpy()
  got = res.tokens[:, : want.shape[1]]
  np.testing.assert_array_equal(got, want)
  assert (res.tokens[:, want.shape[1] :] == 0).all()
  assert len(set(want.ravel().tolist())) > 3  # not a degenerate constant continuation


def test_generated_logprobs_equal_teacher_forced_scores(loaded):
  """The cached decoding path and the uncached scoring path agree token by token."""
  model = loaded["llama_gqa_untied"]
  ids, mask, _ = padded_batch(seed=3)
  res = generate(model, ids, mask, max_new_tokens=8)
  prompts = [row[m].tolist() for row, m in zip(ids, mask)]
  sc = score_candidates(model, prompts, res.token_lists())
  np.testing.assert_allclose(sc.total, res.logprobs.sum(axis=1), atol=1e-4)
  for got, want in zip(sc.token_logprobs, res.logprobs):
    np.testing.assert_allclose(got, want, atol=1e-4)
  assert (res.logprobs <= 0).all() and (res.logprobs < -1e-3).any()


@pytest.mark.parametrize("name", ["qwen2", "gpt2"])
def test_scores_equal_pytorch_log_softmax(tiny_checkpoints, loaded, name):
  _, ref = tiny_checkpoints[name]
  rs = np.random.RandomState(4)
  prompts = [rs.randint(3, 97, size=n).tolist() for n in (5, 9, 3)]
  cands = [rs.randint(3, 97, size=n).tolist() for n in (4, 1, 7)]
  sc = score_candidates(loaded[name], prompts, cands)
  for i, (p, c) in enumerate(zip(prompts, cands)):
    with torch.no_grad():
      logits = ref(torch.tensor([p + c])).logits[0].float()
    lp = torch.log_softmax(logits, -1)[len(p) - 1 : len(p) + len(c) - 1].gather(
      -1, torch.tensor(c)[:, None]
    )
    np.testing.assert_allclose(sc.token_logprobs[i], lp[:, 0].numpy(), atol=1e-4)
    assert abs(sc.total[i] - float(lp.sum())) < 1e-4
  assert sc.num_tokens.tolist() == [4, 1, 7]


def test_stop_tokens_end_rows_and_count_cost(loaded):
  model = loaded["llama_gqa_untied"]
  ids, mask, _ = padded_batch(seed=2)
  free = generate(model, ids, mask, max_new_tokens=6)
  stop = int(free.tokens[0, 2])  # row 0 stops at its third token
  res = generate(model, ids, mask, max_new_tokens=6, stop_ids=(stop,), pad_id=-7 % 97)
  first = [int(np.argmax(r == stop)) if (r == stop).any() else None for r in free.tokens]
  for b in range(ids.shape[0]):
    if first[b] is None:
      assert res.num_generated[b] == 6 and not res.stopped[b]
    else:
      n = first[b] + 1
      assert res.num_generated[b] == n and res.stopped[b]
      np.testing.assert_array_equal(res.tokens[b, :n], free.tokens[b, :n])
      assert (res.tokens[b, n:] == 90).all() and (res.logprobs[b, n:] == 0).all()


@pytest.mark.slow
def test_sampling_is_reproducible_and_top_p_limit_is_greedy(loaded):
  model = loaded["qwen2"]
  ids, mask, _ = padded_batch(seed=5)
  kw = dict(max_new_tokens=12, greedy=False, temperature=1.5)
  a = generate(model, ids, mask, key=jax.random.key(1), **kw)
  b = generate(model, ids, mask, key=jax.random.key(1), **kw)
  c = generate(model, ids, mask, key=jax.random.key(2), **kw)
  np.testing.assert_array_equal(a.tokens, b.tokens)
  assert (a.tokens != c.tokens).any()
  greedy = generate(model, ids, mask, max_new_tokens=12)
  nucleus = generate(
    model, ids, mask, key=jax.random.key(3), max_new_tokens=12, greedy=False, top_p=1e-6
  )
  np.testing.assert_array_equal(nucleus.tokens, greedy.tokens)


def test_top_p_keeps_exactly_the_nucleus():
  logits = np.log(np.array([[0.5, 0.3, 0.15, 0.05]], np.float32))
  keys = jax.random.split(jax.random.key(0), 400)
  draws = jax.jit(jax.vmap(lambda k: sample_logits(logits, k, temperature=1.0, top_p=0.75)[0]))(
    keys
  )
  draws = set(np.asarray(draws).tolist())
  assert draws == {0, 1}  # 0.5 < 0.75 needs the second token; 0.8 >= 0.75 stops there


def test_top_p_one_skips_the_filter_and_draws_the_same_tokens():
  probs = np.array([[0.5, 0.3, 0.15, 0.05]], np.float32)
  keys = jax.random.split(jax.random.key(1), 4000)
  draw = lambda top_p: jax.jit(
    jax.vmap(lambda k: sample_logits(np.log(probs), k, temperature=1.0, top_p=top_p)[0])
  )(keys)
  free, filtered = np.asarray(draw(None)), np.asarray(draw(1.0))
  np.testing.assert_array_equal(free, filtered)  # same key, same logits: the same token
  freq = np.bincount(free, minlength=4) / free.size
  np.testing.assert_allclose(freq, probs[0], atol=0.03)


def test_generate_rejects_bad_arguments(loaded):
  model = loaded["gpt2"]
  ids, mask, _ = padded_batch()
  with pytest.raises(ValueError, match="PRNG key"):
    generate(model, ids, mask, max_new_tokens=2, greedy=False)
  with pytest.raises(ValueError, match="left-padded"):
    generate(model, ids, mask[:, ::-1], max_new_tokens=2)
  with pytest.raises(ValueError, match="temperature"):
    generate(
      model, ids, mask, max_new_tokens=2, greedy=False, key=jax.random.key(0), temperature=0.0
    )


def test_no_recompilation_for_repeated_shapes(loaded):
  """A second call with the same shapes, and scoring with lengths inside the same buckets, reuse
  the compiled programs."""
  import importlib

  gen_mod = importlib.import_module(
    "dice_jax.llm.generate"
  )  # the package re-exports a function of that name
  score_mod = importlib.import_module("dice_jax.llm.score")

  model = loaded["llama_tied_llama3"]
  ids, mask, _ = padded_batch(seed=8)
  generate(model, ids, mask, max_new_tokens=5)
  n = gen_mod._generate._cache_size()
  generate(model, ids, mask, max_new_tokens=5)
  generate(model, (ids // 2) * mask, mask, max_new_tokens=5)
  assert gen_mod._generate._cache_size() == n
  score_candidates(model, [[5, 6, 7]] * 2, [[8, 9], [10]])
  m = score_mod._score._cache_size()
  score_candidates(model, [[5, 6], [7, 8, 9, 10]], [[11, 12, 13], [14, 15]])
  assert score_mod._score._cache_size() == m
