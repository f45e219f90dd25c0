"""CachedBackend: hits return the stored completions and charge the same tokens; other requests
miss; failures are not cached."""

import pytest

from dice_jax.rollouts.backends import BackendError, Completion
from dice_jax.rollouts.backends.cache import CachedBackend


class Counting:
  """A fake backend: a completion names its prompt, sample, seed and call; tokens = len(prompt)."""

  name = "fake"

  def __init__(self, fail=()):
    self.calls, self.prompts, self.fail = 0, [], set(fail)

  def complete(self, prompts, *, max_tokens, temperature=0.0, n=1, seed=0):
    self.calls += 1
    self.prompts.append(list(prompts))
    out, failures = [], {}
    for i, p in enumerate(prompts):
      for j in range(n):
        if isinstance(p, str) and p in self.fail:
          out.append(None)
          failures[i * n + j] = "boom"
        else:
          out.append(Completion(f"{p}|{j}|{seed}|{self.calls}", len(p)))
    if failures:
      raise BackendError("boom", failures=failures, partial=out)
    return out


def test_hits_return_identical_completions_and_charge_the_same_tokens():
  fake = Counting()
  b = CachedBackend(fake)
  first = b.complete(["aa", "bbb"], max_tokens=8)
  again = b.complete(["bbb", "aa"], max_tokens=8, seed=123)  # greedy: the seed is not read
  assert fake.calls == 1
  assert again == [first[1], first[0]]
  assert [c.tokens for c in again] == [3, 2]
  assert b.stats()["hits"] == 2 and b.stats()["misses"] == 2 and b.stats()["hit_rate"] == 0.5
  # a mix of hits and misses: only the misses reach the backend, the order is kept
  mixed = b.complete(["aa", "cccc"], max_tokens=8)
  assert fake.prompts[-1] == ["cccc"] and mixed[0] == first[0] and mixed[1].tokens == 4


def test_different_requests_miss():
  fake = Counting()
  b = CachedBackend(fake)
  base = b.complete(["q"], max_tokens=8, temperature=0.7, n=2, seed=1)
  assert b.complete(["q"], max_tokens=8, temperature=0.7, n=2, seed=1) == base  # same seed: CRN
  for kw in (
    dict(max_tokens=9, temperature=0.7, n=2, seed=1),
    dict(max_tokens=8, temperature=0.5, n=2, seed=1),
    dict(max_tokens=8, temperature=0.7, n=3, seed=1),
    dict(max_tokens=8, temperature=0.7, n=2, seed=2),
  ):
    calls = fake.calls
    b.complete(["q"], **kw)
    assert fake.calls == calls + 1, kw
  b.complete(
    [[{"role": "system", "content": "s"}, {"role": "user", "content": "q"}]],
    max_tokens=8,
    temperature=0.7,
    n=2,
    seed=1,
  )
  assert fake.calls == 6


def test_failures_are_not_cached():
  fake = Counting(fail={"bad"})
  b = CachedBackend(fake)
  b.complete(["ok"], max_tokens=4)
  with pytest.raises(BackendError) as e:
    b.complete(["ok", "bad", "new"], max_tokens=4, n=2)
  assert sorted(e.value.failures) == [2, 3]
  assert e.value.partial[2] is None and e.value.partial[4] is not None
  assert fake.prompts[-1] == ["ok", "bad", "new"]  # n=2: a new request for "ok"
  fake.fail.clear()
  got = b.complete(["bad", "new"], max_tokens=4, n=2)  # asked again, then stored
  assert fake.prompts[-1] == ["bad"] and got[0].text.startswith("bad|0")
  assert b.complete(["bad"], max_tokens=4, n=2) == got[:2]
