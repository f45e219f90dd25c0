"""Text-generation backends for DICE-PC: a local Flax model and OpenAI-compatible HTTP servers.

Every backend implements :class:`Backend`::

    complete(prompts, *, max_tokens, temperature=0.0, n=1, seed=0) -> list[Completion]

``prompts`` is a list of strings (each sent as one user turn) or of chat message lists
(``[{"role": "system"|"user"|"assistant", "content": str}, ...]``). The result is flat and
prompt-major: ``n`` completions per prompt, entry ``i * n + j`` is sample ``j`` of prompt ``i``.
A :class:`Completion` is ``(text, tokens)`` with ``tokens`` the number of generated tokens
(the cost DICE-PC charges). ``temperature == 0`` is greedy decoding.

When some completions cannot be produced, ``complete`` raises :class:`BackendError`; its
``failures`` maps flat indices to messages and ``partial`` holds the completions that did succeed
(``None`` elsewhere), so a caller can record exactly the failed tasks.

* :class:`LocalBackend` -- any checkpoint the Flax bridge loads (SmolLM2-135M-Instruct GGUF by
  default). Prompts go through the tokenizer's chat template, rows are sorted by length and cut
  into chunks of at most ``max_batch``; each chunk is padded to a power-of-two batch and a
  multiple of ``prompt_bucket`` tokens, so one compiled program serves every chunk of that
  shape (:func:`dice_jax.llm.generate` compiles per shape and ``max_tokens``).
* :class:`OpenAIBackend` -- ``POST {base_url}/chat/completions`` (the OpenAI chat-completions
  API that vLLM, llama.cpp's server and Ollama serve), one request per sample (``n=1``: llama.cpp
  and Ollama ignore ``n``, and ``usage.completion_tokens`` then counts exactly one sample), with
  a bounded thread pool, a timeout per request, and retries with exponential backoff on
  timeouts, connection errors, HTTP 408/429/5xx and malformed bodies. Uses ``httpx``.
"""
from __future__ import annotations

import concurrent.futures
import os
import time
from typing import Any, Dict, List, NamedTuple, Optional, Protocol, Sequence, Union, runtime_checkable

import numpy as np

__all__ = ["Backend", "BackendError", "Completion", "LocalBackend", "OpenAIBackend",
           "parse_chat_completion", "to_messages"]

Messages = List[Dict[str, str]]
Prompt = Union[str, Messages]
_ROLES = ("system", "user", "assistant")


class Completion(NamedTuple):
  """One generated answer: its text and the number of tokens generated for it."""

  text: str
  tokens: int


class BackendError(RuntimeError):
  """Completions that could not be produced.

  Attributes:
    failures: flat completion index -> error message, for each failed completion.
    partial: the flat result list with the completions that succeeded (``None`` where failed).
  """

  def __init__(self, message: str, *, failures: Optional[Dict[int, str]] = None,
               partial: Optional[List[Optional[Completion]]] = None):
    super().__init__(message)
    self.failures = dict(failures or {})
    self.partial = list(partial or [])


@runtime_checkable
class Backend(Protocol):
  """What DICE-PC roles call to generate text (see the module docstring)."""

  name: str

  def complete(self, prompts: Sequence[Prompt], *, max_tokens: int, temperature: float = 0.0,
               n: int = 1, seed: int = 0) -> List[Completion]: ...


def to_messages(prompt: Prompt, *, index: int = 0) -> Messages:
  """A prompt as chat messages: a string becomes one user turn; a message list is validated.

  Raises:
    ValueError: naming ``prompts[index]`` and the bad message or field.
  """
  if isinstance(prompt, str):
    return [{"role": "user", "content": prompt}]
  if not isinstance(prompt, (list, tuple)) or not prompt:
    raise ValueError(f"prompts[{index}] must be a string or a non-empty list of messages; got "
                     f"{type(prompt).__name__}.")
  out = []
  for k, m in enumerate(prompt):
    if not isinstance(m, dict) or set(m) - {"role", "content"} or "role" not in m or "content" not in m:
      raise ValueError(f"prompts[{index}][{k}] must be a dict with 'role' and 'content'; got {m!r}.")
    if m["role"] not in _ROLES:
      raise ValueError(f"prompts[{index}][{k}]['role'] must be one of {list(_ROLES)}; got {m['role']!r}.")
    if not isinstance(m["content"], str):
      raise ValueError(f"prompts[{index}][{k}]['content'] must be a string; got {type(m['content']).__name__}.")
    out.append({"role": m["role"], "content": m["content"]})
  return out


def _check_args(prompts, max_tokens, temperature, n):
  if isinstance(prompts, str):
    raise ValueError("prompts must be a list of prompts; got a single string.")
  if int(max_tokens) < 1:
    raise ValueError(f"max_tokens must be >= 1; got {max_tokens}.")
  if not (np.isfinite(temperature) and temperature >= 0):
    raise ValueError(f"temperature must be a finite number >= 0; got {temperature}.")
  if int(n) < 1:
    raise ValueError(f"n must be >= 1; got {n}.")
  return [to_messages(p, index=i) for i, p in enumerate(prompts)]


# --- local --------------------------------------------------------------------------------------


def _pow2_at_least(k: int, cap: int) -> int:
  """The least power of two >= ``k``, but at most ``cap`` (``k <= cap``)."""
  b = 1
  while b < k:
    b *= 2
  return min(b, cap)


class LocalBackend:
  """Batched generation with a Flax NNX model through :mod:`dice_jax.llm`.

  Args:
    model, tokenizer: a loaded model and its tokenizer (see :meth:`from_path`).
    max_batch: most rows per generation call (a power of two keeps the shapes few).
    prompt_bucket: prompt lengths are padded to a multiple of this many tokens.
    top_p: nucleus mass when sampling (``temperature > 0``).
    fixed_batch: pad every chunk to ``max_batch`` rows (one batch shape: fewer compilations,
      more padded rows) instead of the next power of two.
    name: the backend's name (reported in errors and statistics).

  Attributes:
    generated_tokens, generate_seconds, calls: running totals (generated tokens counted with the
      stop token, wall time spent in generation including compilation, generation calls), for
      throughput measurements; ``log`` has one entry per generation call and ``shapes`` the
      compiled shapes ``(batch, prompt_len, max_tokens, greedy)``.

  Example::

      backend = LocalBackend.from_path(dice_jax.llm.bundled.smollm2_gguf_path())
      [(text, tokens)] = backend.complete(["What is 2 + 3?"], max_tokens=16)
  """

  def __init__(self, model, tokenizer, *, max_batch: int = 16, prompt_bucket: int = 64,
               top_p: float = 1.0, fixed_batch: bool = False, name: str = "local"):
    if int(max_batch) < 1:
      raise ValueError(f"max_batch must be >= 1; got {max_batch}.")
    if int(prompt_bucket) < 1:
      raise ValueError(f"prompt_bucket must be >= 1; got {prompt_bucket}.")
    if not 0 < top_p <= 1:
      raise ValueError(f"top_p must lie in (0, 1]; got {top_p}.")
    if not getattr(tokenizer, "chat_template", None):
      raise ValueError("tokenizer has no chat_template: LocalBackend needs a chat (instruct) model.")
    self.model, self.tokenizer = model, tokenizer
    self.max_batch, self.prompt_bucket, self.top_p, self.name = int(max_batch), int(prompt_bucket), float(top_p), name
    self.fixed_batch = bool(fixed_batch)
    stops = set(int(s) for s in model.config.eos_token_ids)
    if tokenizer.eos_token_id is not None:
      stops.add(int(tokenizer.eos_token_id))
    self.stop_ids = tuple(sorted(stops))
    self.generated_tokens, self.generate_seconds, self.calls = 0, 0.0, 0
    self.shapes = set()  # (batch, prompt_len, max_tokens, greedy) compiled so far
    # per generation call: (shape, tokens of real rows, tokens of all rows, seconds, first of its shape)
    self.log: List[tuple] = []

  @classmethod
  def from_path(cls, path: Optional[Union[str, os.PathLike]] = None, **kwargs) -> "LocalBackend":
    """Load ``path`` (checkpoint directory or ``.gguf``; default the bundled SmolLM2-135M-Instruct)."""
    from dice_jax.llm import load_model
    from dice_jax.llm.bundled import smollm2_gguf_path

    path = smollm2_gguf_path() if path is None else os.fspath(path)
    model, _, tokenizer = load_model(path, with_tokenizer=True)
    kwargs.setdefault("name", os.path.basename(path))
    return cls(model, tokenizer, **kwargs)

  def encode(self, messages: Messages) -> List[int]:
    """Token ids of ``messages`` in the chat template, ready for the assistant's reply."""
    text = self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

  def complete(self, prompts: Sequence[Prompt], *, max_tokens: int, temperature: float = 0.0,
               n: int = 1, seed: int = 0) -> List[Completion]:
    """``n`` completions per prompt (prompt-major), generated in padded, bucketed batches."""
    import jax

    from dice_jax.llm.generate import generate
    from dice_jax.llm.tokenizer import left_pad, pad_id

    msgs = _check_args(prompts, max_tokens, temperature, n)
    encoded = [self.encode(m) for m in msgs]
    rows = [(i * n + j, encoded[i]) for i in range(len(msgs)) for j in range(int(n))]
    rows.sort(key=lambda r: len(r[1]))
    out: List[Optional[Completion]] = [None] * len(rows)
    greedy = temperature == 0
    key = jax.random.key(int(seed))
    pid = pad_id(self.tokenizer)
    for c, start in enumerate(range(0, len(rows), self.max_batch)):
      chunk = rows[start:start + self.max_batch]
      b = self.max_batch if self.fixed_batch else _pow2_at_least(len(chunk), self.max_batch)
      seqs = [r[1] for r in chunk] + [chunk[0][1]] * (b - len(chunk))  # filler rows are discarded
      ids, mask = left_pad(seqs, pid, multiple=self.prompt_bucket)
      t0 = time.perf_counter()
      res = generate(self.model, ids, mask, max_new_tokens=int(max_tokens), greedy=greedy,
                     key=jax.random.fold_in(key, c), temperature=float(temperature) if not greedy else 1.0,
                     top_p=self.top_p, stop_ids=self.stop_ids, pad_id=pid)
      seconds = time.perf_counter() - t0
      shape = (b, ids.shape[1], int(max_tokens), greedy)
      self.generate_seconds += seconds
      self.calls += 1
      self.log.append((shape, int(res.num_generated[:len(chunk)].sum()), int(res.num_generated.sum()), seconds,
                       shape not in self.shapes))
      self.shapes.add(shape)
      for k, (flat, _) in enumerate(chunk):
        count = int(res.num_generated[k])
        kept = res.tokens[k, : count - (1 if res.stopped[k] else 0)].tolist()
        text = self.tokenizer.decode(kept, skip_special_tokens=True)
        out[flat] = Completion(text, count)
        self.generated_tokens += count
    return out  # type: ignore[return-value]


# --- OpenAI-compatible HTTP ---------------------------------------------------------------------


class _Retryable(Exception):
  pass


def parse_chat_completion(data: Any, url: str = "<response>") -> Completion:
  """The first choice's text and ``usage.completion_tokens`` of a chat-completions response.

  Raises:
    ValueError: ``"<url>: malformed chat-completions response: ..."`` naming the missing or
      mistyped field.
  """
  def bad(what):
    return ValueError(f"{url}: malformed chat-completions response: {what}")

  if not isinstance(data, dict):
    raise bad(f"expected a JSON object, got {type(data).__name__}")
  choices = data.get("choices")
  if not isinstance(choices, list) or not choices:
    raise bad("'choices' must be a non-empty list")
  first = choices[0]
  msg = first.get("message") if isinstance(first, dict) else None
  if not isinstance(msg, dict):
    raise bad("'choices[0].message' must be an object")
  content = msg.get("content")
  if not isinstance(content, str):
    raise bad(f"'choices[0].message.content' must be a string, got {type(content).__name__}")
  usage = data.get("usage")
  tokens = usage.get("completion_tokens") if isinstance(usage, dict) else None
  if isinstance(tokens, bool) or not isinstance(tokens, int) or tokens < 0:
    raise bad(f"'usage.completion_tokens' must be an integer >= 0, got {tokens!r}")
  return Completion(content, tokens)


class OpenAIBackend:
  """A model behind an OpenAI-compatible ``/v1/chat/completions`` endpoint.

  Args:
    base_url: the API root including its version, e.g. ``http://127.0.0.1:8000/v1`` (requests
      go to ``{base_url}/chat/completions``).
    model: the ``model`` field of each request.
    api_key: sent as ``Authorization: Bearer <api_key>`` when given.
    timeout: seconds per request (connect, read and write each).
    retries: further attempts after a failed one (timeouts, connection errors, HTTP 408, 429,
      5xx, malformed bodies; other 4xx are not retried).
    backoff: seconds before the first retry, doubling per retry up to ``max_backoff``.
    max_concurrency: requests in flight at once.
    top_p: sent when given.
    extra_body: further request fields (e.g. ``{"stop": ["\\n\\n"]}``).
    name: the backend's name (default ``model``).

  A request never takes longer than about ``(retries + 1) * timeout`` plus the backoffs.

  Example::

      backend = OpenAIBackend("http://127.0.0.1:8000/v1", "smollm2", timeout=30)
      [(text, tokens)] = backend.complete(["What is 2 + 3?"], max_tokens=16)
  """

  def __init__(self, base_url: str, model: str, *, api_key: Optional[str] = None, timeout: float = 60.0,
               retries: int = 2, backoff: float = 0.5, max_backoff: float = 8.0, max_concurrency: int = 4,
               top_p: Optional[float] = None, extra_body: Optional[Dict[str, Any]] = None,
               name: Optional[str] = None):
    import httpx

    if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
      raise ValueError(f"base_url must be an http(s) URL such as 'http://127.0.0.1:8000/v1'; got {base_url!r}.")
    if not isinstance(model, str) or not model:
      raise ValueError(f"model must be a non-empty string; got {model!r}.")
    if not timeout > 0:
      raise ValueError(f"timeout must be > 0 seconds; got {timeout}.")
    if int(retries) < 0:
      raise ValueError(f"retries must be >= 0; got {retries}.")
    if backoff < 0 or max_backoff < 0:
      raise ValueError(f"backoff and max_backoff must be >= 0; got {backoff}, {max_backoff}.")
    if int(max_concurrency) < 1:
      raise ValueError(f"max_concurrency must be >= 1; got {max_concurrency}.")
    self.base_url = base_url.rstrip("/")
    self.url = self.base_url + "/chat/completions"
    self.model, self.timeout, self.retries = model, float(timeout), int(retries)
    self.backoff, self.max_backoff, self.max_concurrency = float(backoff), float(max_backoff), int(max_concurrency)
    self.top_p, self.extra_body = top_p, dict(extra_body or {})
    self.name = name or model
    headers = {"Content-Type": "application/json"}
    if api_key:
      headers["Authorization"] = f"Bearer {api_key}"
    self._client = httpx.Client(timeout=httpx.Timeout(self.timeout), headers=headers,
                                limits=httpx.Limits(max_connections=self.max_concurrency))
    self.requests = 0  # HTTP attempts made, retries included

  def close(self):
    self._client.close()

  def __enter__(self):
    return self

  def __exit__(self, *exc):
    self.close()

  def request_body(self, messages: Messages, *, max_tokens: int, temperature: float, seed: int) -> Dict[str, Any]:
    """The JSON body of one chat-completions request."""
    body = {"model": self.model, "messages": messages, "max_tokens": int(max_tokens),
            "temperature": float(temperature), "n": 1, "seed": int(seed), "stream": False}
    if self.top_p is not None:
      body["top_p"] = float(self.top_p)
    body.update(self.extra_body)
    return body

  def _attempt(self, body) -> Completion:
    import httpx

    self.requests += 1
    try:
      r = self._client.post(self.url, json=body)
    except httpx.TimeoutException as e:
      raise _Retryable(f"timed out after {self.timeout:g} s ({type(e).__name__})") from None
    except httpx.TransportError as e:
      raise _Retryable(f"connection error: {type(e).__name__}: {e}") from None
    if r.status_code != 200:
      msg = f"HTTP {r.status_code}: {r.text[:200]!r}"
      if r.status_code in (408, 429) or r.status_code >= 500:
        raise _Retryable(msg)
      raise BackendError(f"POST {self.url} failed (not retried): {msg}")
    try:
      data = r.json()
    except ValueError:
      raise _Retryable(f"malformed chat-completions response: body is not JSON: {r.text[:200]!r}") from None
    try:
      return parse_chat_completion(data, self.url)
    except ValueError as e:
      raise _Retryable(str(e).replace(f"{self.url}: ", "")) from None

  def _post(self, body) -> Completion:
    attempts = self.retries + 1
    last = ""
    for a in range(attempts):
      if a:
        time.sleep(min(self.backoff * 2 ** (a - 1), self.max_backoff))
      try:
        return self._attempt(body)
      except _Retryable as e:
        last = str(e)
    raise BackendError(f"POST {self.url} failed after {attempts} attempt(s): {last}")

  def complete(self, prompts: Sequence[Prompt], *, max_tokens: int, temperature: float = 0.0,
               n: int = 1, seed: int = 0) -> List[Completion]:
    """``n`` completions per prompt (prompt-major), one request each; sample ``j`` uses ``seed + j``.

    Raises:
      BackendError: some requests failed after their retries (``failures`` / ``partial`` say
        which); the message names the URL and the first error.
    """
    msgs = _check_args(prompts, max_tokens, temperature, n)
    bodies = [self.request_body(m, max_tokens=max_tokens, temperature=temperature, seed=int(seed) + j)
              for m in msgs for j in range(int(n))]
    out: List[Optional[Completion]] = [None] * len(bodies)
    failures: Dict[int, str] = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=min(self.max_concurrency, max(len(bodies), 1))) as ex:
      futures = {ex.submit(self._post, b): k for k, b in enumerate(bodies)}
      for f in concurrent.futures.as_completed(futures):
        k = futures[f]
        try:
          out[k] = f.result()
        except BackendError as e:
          failures[k] = str(e)
    if failures:
      first = failures[min(failures)]
      raise BackendError(f"{len(failures)} of {len(bodies)} completions failed; first: {first}",
                         failures=failures, partial=out)
    return out  # type: ignore[return-value]
