"""The one batched sampler (dice_jax.rollouts.sampler) on a tiny random model: the same draws as
the bridge's generate, the same greedy answers however rows are batched."""

import jax
import pytest
from flax import nnx

from dice_jax.llm import build_model, generate
from dice_jax.llm.tokenizer import left_pad
from dice_jax.rollouts.sampler import Batching, generate_rows, stop_ids_of
from tests.llm.tiny import TINY_LLAMA

CFG = TINY_LLAMA
ROWS = [[1, 2, 3], [4], [5, 6], [7, 8, 9, 10, 11], [12, 13]]


@pytest.fixture(scope="module")
def model():
  return build_model(CFG, rngs=nnx.Rngs(0))


@pytest.mark.slow
def test_one_call_is_the_bridges_draw_and_chunks_keep_greedy_answers(model):
  key = jax.random.key(3)
  got = generate_rows(
    model,
    ROWS,
    max_new_tokens=3,
    temperature=0.8,
    stop_ids=(0,),
    key=key,
    batching=Batching(prompt_bucket=4),
  )
  ids, mask = left_pad(ROWS, 0, multiple=4)
  want = generate(
    model, ids, mask, max_new_tokens=3, greedy=False, key=key, temperature=0.8, stop_ids=(0,)
  )
  assert got.tokens == want.token_lists() and got.stopped == want.stopped.tolist()
  assert [c.shape for c in got.calls] == [(5, 8, 3, False)]
  one = generate_rows(model, ROWS, max_new_tokens=4, temperature=0.0)
  chunked = generate_rows(
    model, ROWS, max_new_tokens=4, temperature=0.0, batching=Batching(max_batch=2, prompt_bucket=4)
  )
  assert chunked.tokens == one.tokens  # rows back in the order given
  assert [c.shape[0] for c in chunked.calls] == [2, 2, 1]  # sorted by length, 5 rows in 3 calls
  fixed = generate_rows(
    model,
    ROWS,
    max_new_tokens=4,
    temperature=0.0,
    batching=Batching(max_batch=2, prompt_bucket=4, fixed_batch=True),
  )
  assert fixed.tokens == one.tokens and {c.shape[0] for c in fixed.calls} == {2}
  assert sum(c.real_tokens for c in fixed.calls) == sum(len(t) for t in one.tokens)


def test_bad_input_names_the_argument(model):
  for kwargs, match in [
    (dict(rows=[]), "rows must hold"),
    (dict(rows=[[1], []]), r"rows\[1\]"),
    (dict(max_new_tokens=0), "max_new_tokens"),
    (dict(temperature=-1.0), "^temperature must be >= 0"),
    (dict(temperature=float("nan")), "^temperature must be finite"),
    (dict(temperature="0"), "^temperature must be a number"),
    (dict(temperature=0.5), "key must be"),
    (dict(top_p=1.5), "^top_p must be <= 1"),
    (dict(top_p=0.0), "^top_p must be > 0"),
    (dict(batching=4), "batching"),
  ]:
    args = {"rows": ROWS, "max_new_tokens": 2, **kwargs}
    with pytest.raises(ValueError, match=match):
      generate_rows(model, args.pop("rows"), **args)
  for kwargs, match in [
    (dict(max_batch=0), "max_batch"),
    (dict(prompt_bucket=2.5), "prompt_bucket"),
    (dict(fixed_batch=True), "fixed_batch needs max_batch"),
  ]:
    with pytest.raises(ValueError, match=match):
      Batching(**kwargs)
  assert stop_ids_of(model) == tuple(sorted(set(CFG.eos_token_ids)))
