"""A completion cache for DICE-PC backends: every method of a comparison plays the same tasks.

:func:`dice_jax.pc.harness.loop.run` draws round ``t``'s tasks from ``(seed, t)``, so with one seed
every method sees the same tasks, and :class:`~dice_jax.pc.environments.llm.LLMEnvironment` seeds each
backend call from ``(env seed, round, role, control)``. A request for one prompt is therefore
often repeated -- by another method, or by the same method when a task recurs -- and a greedy
completion is a deterministic function of the request. :class:`CachedBackend` wraps any
:class:`~dice_jax.rollouts.backends.Backend` and memoises completions **per prompt**, keyed by the full
request: the prompt's chat messages, ``max_tokens``, ``temperature``, ``n`` and ``seed``.

* **Greedy requests** (``temperature == 0``) are keyed with ``seed = 0``: greedy decoding does not
  read the seed, so the same prompt recurring in another round (another call seed) is a hit.
* **Sampled requests** (``temperature > 0``) are keyed by their seed: methods that send the same
  prompt with the same call seed get the same samples -- common random numbers across methods,
  which lowers the variance of their comparison without biasing either side (each method still
  sees a valid sample of the model). A different seed is a different key, hence fresh samples.
* **Costs are the model's**: a hit returns the stored :class:`~dice_jax.rollouts.backends.Completion`
  with its token count, so the environment charges the method exactly the tokens the model
  generated for it. The cache saves only our compute (``hits``, ``misses``, ``hit_tokens``).
* **Failures are never cached**: misses go to the wrapped backend in one call; when it raises
  :class:`~dice_jax.rollouts.backends.BackendError`, the prompts whose ``n`` completions all succeeded
  are stored, the others are not (a retry asks the backend again), and the error is re-raised
  with ``failures`` / ``partial`` mapped back to this call's flat indices (hits included in
  ``partial``).

Per-prompt keys assume a prompt's completion does not depend on the other prompts of its batch.
That holds for greedy decoding up to padding round-off; for sampling the batch position changes
which random numbers a row gets, so a hit reproduces *a* valid sample for that (prompt, seed),
the one drawn the first time.

Example::

    backend = CachedBackend(LocalBackend.from_path(fixed_batch=True))
    env = LLMEnvironment(backend, tasks)
    ...                     # run several methods on env
    backend.stats()         # {'hits': ..., 'misses': ..., 'hit_rate': ..., ...}
"""

from __future__ import annotations

import json
import pickle
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

from dice_jax.rollouts.backends.protocol import BackendError, Completion, Prompt, to_messages

__all__ = ["CachedBackend", "request_key"]


def request_key(prompt: Prompt, *, max_tokens: int, temperature: float, n: int, seed: int) -> str:
  """The cache key of one prompt's request (greedy requests ignore ``seed``)."""
  temperature = float(temperature)
  return json.dumps(
    [
      to_messages(prompt),
      int(max_tokens),
      temperature,
      int(n),
      0 if temperature == 0 else int(seed),
    ],
    sort_keys=True,
    ensure_ascii=False,
  )


class CachedBackend:
  """Memoise ``backend.complete`` per prompt (see the module docstring).

  Args:
    backend: any object with ``complete(prompts, *, max_tokens, temperature, n, seed)``.
    name: reported name (default the wrapped backend's).

  Attributes:
    hits, misses: prompts answered from the cache / by the wrapped backend.
    hit_tokens, miss_tokens: generated tokens of those completions (what the hits would have
      cost to generate again).
    miss_seconds: wall time spent in the wrapped backend.
    store: ``{request_key: [Completion] * n}``.
  """

  def __init__(self, backend, *, name: Optional[str] = None):
    self.backend = backend
    self.name = name or getattr(backend, "name", "cached")
    self.store: Dict[str, List[Completion]] = {}
    self.hits = self.misses = 0
    self.hit_tokens = self.miss_tokens = 0
    self.miss_seconds = 0.0

  def complete(
    self,
    prompts: Sequence[Prompt],
    *,
    max_tokens: int,
    temperature: float = 0.0,
    n: int = 1,
    seed: int = 0,
  ) -> List[Completion]:
    """``n`` completions per prompt, prompt-major, as the wrapped backend returns them."""
    if isinstance(prompts, str):
      raise ValueError("prompts must be a list of prompts; got a single string.")
    n = int(n)
    keys = [
      request_key(p, max_tokens=max_tokens, temperature=temperature, n=n, seed=seed)
      for p in prompts
    ]
    out: List[Optional[Completion]] = [None] * (len(prompts) * n)
    todo: List[int] = []  # prompt indices to generate (first occurrence of each key)
    first: Dict[str, int] = {}
    for i, k in enumerate(keys):
      got = self.store.get(k)
      if got is not None:
        out[i * n : (i + 1) * n] = got
        self.hits += 1
        self.hit_tokens += sum(c.tokens for c in got)
      elif k in first:
        pass  # a duplicate of a miss in this call: filled in below
      else:
        first[k] = i
        todo.append(i)
    error: Optional[BackendError] = None
    if todo:
      t0 = time.perf_counter()
      try:
        flat = list(
          self.backend.complete(
            [prompts[i] for i in todo],
            max_tokens=max_tokens,
            temperature=temperature,
            n=n,
            seed=seed,
          )
        )
        if len(flat) != len(todo) * n:
          raise BackendError(
            f"the backend returned {len(flat)} completions, expected {len(todo) * n}",
            failures={j: "missing" for j in range(len(todo) * n)},
            partial=[None] * (len(todo) * n),
          )
      except BackendError as e:
        error = e
        flat = e.partial if len(e.partial) == len(todo) * n else [None] * (len(todo) * n)
      finally:
        self.miss_seconds += time.perf_counter() - t0
      for pos, i in enumerate(todo):
        got = flat[pos * n : (pos + 1) * n]
        out[i * n : (i + 1) * n] = got
        if all(c is not None for c in got):
          self.store[keys[i]] = list(got)
          self.misses += 1
          self.miss_tokens += sum(c.tokens for c in got)
    # duplicates of a key missed in this call copy the first occurrence's result
    for i, k in enumerate(keys):
      if out[i * n] is None and k in first and first[k] != i:
        out[i * n : (i + 1) * n] = out[first[k] * n : (first[k] + 1) * n]
        if out[i * n] is not None:
          self.hits += 1
          self.hit_tokens += sum(c.tokens for c in out[i * n : (i + 1) * n])
    if error is not None:
      failures = {j: str(error) for j, c in enumerate(out) if c is None}
      for pos, i in enumerate(todo):
        for j in range(n):
          if (pos * n + j) in error.failures:
            failures[i * n + j] = error.failures[pos * n + j]
      raise BackendError(str(error), failures=failures, partial=out)
    return out  # type: ignore[return-value]

  def stats(self) -> Dict[str, Any]:
    """Counts for a benchmark record: hits, misses, hit rate, tokens, seconds, entries."""
    total = self.hits + self.misses
    return {
      "hits": self.hits,
      "misses": self.misses,
      "hit_rate": self.hits / total if total else None,
      "hit_tokens": self.hit_tokens,
      "miss_tokens": self.miss_tokens,
      "miss_seconds": self.miss_seconds,
      "entries": len(self.store),
    }

  def save(self, path: str) -> None:
    """Pickle the stored completions to ``path`` (resume a long run)."""
    with open(path, "wb") as f:
      pickle.dump({k: [tuple(c) for c in v] for k, v in self.store.items()}, f)

  def load(self, path: str) -> int:
    """Add the completions pickled at ``path``; returns how many entries were read."""
    with open(path, "rb") as f:
      data: Dict[str, List[Tuple[str, int]]] = pickle.load(f)
    for k, v in data.items():
      self.store[k] = [Completion(str(t), int(c)) for t, c in v]
    return len(data)
