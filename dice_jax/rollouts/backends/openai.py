"""A text-generation backend behind an OpenAI-compatible chat-completions server.

:class:`OpenAIBackend` posts to ``{base_url}/chat/completions`` (the API that vLLM, llama.cpp's
server and Ollama serve), one request per sample (``n=1``: llama.cpp and Ollama ignore ``n``,
and ``usage.completion_tokens`` then counts exactly one sample), with a bounded thread pool, a
timeout per request, and retries with exponential backoff on timeouts, connection errors, HTTP
408/429/5xx and malformed bodies. Uses ``httpx``.
"""

from __future__ import annotations

import concurrent.futures
import time
from typing import Any, Dict, List, Optional, Sequence

from dice_jax.rollouts.backends.protocol import (
  BackendError,
  Completion,
  Messages,
  Prompt,
  check_request,
)
from dice_jax.rollouts.backends.settings import OpenAISettings

__all__ = ["OpenAIBackend", "parse_chat_completion"]


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

  def __init__(
    self,
    base_url: str,
    model: str,
    *,
    api_key: Optional[str] = None,
    timeout: float = 60.0,
    retries: int = 2,
    backoff: float = 0.5,
    max_backoff: float = 8.0,
    max_concurrency: int = 4,
    top_p: Optional[float] = None,
    extra_body: Optional[Dict[str, Any]] = None,
    name: Optional[str] = None,
  ):
    import httpx

    checked = OpenAISettings(
      base_url,
      model,
      timeout=timeout,
      retries=retries,
      backoff=backoff,
      max_backoff=max_backoff,
      max_concurrency=max_concurrency,
      top_p=top_p,
    )
    self.base_url = checked.base_url.rstrip("/")
    self.url = self.base_url + "/chat/completions"
    self.model, self.timeout, self.retries = checked.model, checked.timeout, checked.retries
    self.backoff, self.max_backoff = checked.backoff, checked.max_backoff
    self.max_concurrency, self.top_p = checked.max_concurrency, checked.top_p
    self.extra_body = dict(extra_body or {})
    self.name = name or model
    headers = {"Content-Type": "application/json"}
    if api_key:
      headers["Authorization"] = f"Bearer {api_key}"
    self._client = httpx.Client(
      timeout=httpx.Timeout(self.timeout),
      headers=headers,
      limits=httpx.Limits(max_connections=self.max_concurrency),
    )
    self.requests = 0  # HTTP attempts made, retries included

  def close(self):
    self._client.close()

  def __enter__(self):
    return self

  def __exit__(self, *exc):
    self.close()

  def request_body(
    self, messages: Messages, *, max_tokens: int, temperature: float, seed: int
  ) -> Dict[str, Any]:
    """The JSON body of one chat-completions request."""
    body = {
      "model": self.model,
      "messages": messages,
      "max_tokens": int(max_tokens),
      "temperature": float(temperature),
      "n": 1,
      "seed": int(seed),
      "stream": False,
    }
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
      raise _Retryable(
        f"malformed chat-completions response: body is not JSON: {r.text[:200]!r}"
      ) from None
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

  def complete(
    self,
    prompts: Sequence[Prompt],
    *,
    max_tokens: int,
    temperature: float = 0.0,
    n: int = 1,
    seed: int = 0,
  ) -> List[Completion]:
    """``n`` completions per prompt (prompt-major), one request each; sample ``j`` uses ``seed + j``.

    Raises:
      BackendError: some requests failed after their retries (``failures`` / ``partial`` say
        which); the message names the URL and the first error.
    """
    msgs = check_request(prompts, max_tokens, temperature, n)
    bodies = [
      self.request_body(m, max_tokens=max_tokens, temperature=temperature, seed=int(seed) + j)
      for m in msgs
      for j in range(int(n))
    ]
    out: List[Optional[Completion]] = [None] * len(bodies)
    failures: Dict[int, str] = {}
    with concurrent.futures.ThreadPoolExecutor(
      max_workers=min(self.max_concurrency, max(len(bodies), 1))
    ) as ex:
      futures = {ex.submit(self._post, b): k for k, b in enumerate(bodies)}
      for f in concurrent.futures.as_completed(futures):
        k = futures[f]
        try:
          out[k] = f.result()
        except BackendError as e:
          failures[k] = str(e)
    if failures:
      first = failures[min(failures)]
      raise BackendError(
        f"{len(failures)} of {len(bodies)} completions failed; first: {first}",
        failures=failures,
        partial=out,
      )
    return out  # type: ignore[return-value]
