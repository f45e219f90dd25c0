"""The OpenAI-compatible HTTP backend against real servers on 127.0.0.1.

(a) a loopback ``http.server`` we control (tests/pc/conftest.py): request format, 500s,
malformed bodies, hangs past the timeout, retries, partial failures, and the environment
recording failed tasks; (b) the real llama.cpp server (``-m server``), skipped unless
``llama_cpp`` is importable.
"""

from __future__ import annotations

import socket
import time

import numpy as np
import pytest

httpx = pytest.importorskip("httpx")

from dice_jax.rollouts.backends import (  # noqa: E402
  BackendError,
  Completion,
  OpenAIBackend,
  parse_chat_completion,
)
from dice_jax.pc.environments.llm import LLMEnvironment  # noqa: E402
from dice_jax.rollouts.tasks import make_tasks  # noqa: E402


def _backend(server, **kw):
  kw.setdefault("timeout", 2.0)
  kw.setdefault("retries", 2)
  kw.setdefault("backoff", 0.01)
  return OpenAIBackend(server.base_url, "test-model", **kw)


def test_request_conforms_to_chat_completions(chat_server):
  chat_server.respond = lambda body: (200, chat_server.ok(f"Answer: {body['seed']}", tokens=7))
  with _backend(chat_server, api_key="sk-test", top_p=0.9) as b:
    out = b.complete(
      [
        "What is 2+2?",
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "3+3?"}],
      ],
      max_tokens=16,
      temperature=0.5,
      n=2,
      seed=100,
    )
  assert out == [
    Completion("Answer: 100", 7),
    Completion("Answer: 101", 7),
    Completion("Answer: 100", 7),
    Completion("Answer: 101", 7),
  ]  # prompt-major, seed + j
  assert len(chat_server.requests) == 4
  for path, headers, body in chat_server.requests:
    assert path == "/v1/chat/completions"
    assert headers["content-type"] == "application/json"
    assert headers["authorization"] == "Bearer sk-test"
    assert set(body) == {
      "model",
      "messages",
      "max_tokens",
      "temperature",
      "n",
      "seed",
      "stream",
      "top_p",
    }
    assert body["model"] == "test-model" and body["n"] == 1 and body["stream"] is False
    assert body["max_tokens"] == 16 and body["temperature"] == 0.5 and body["top_p"] == 0.9
    assert isinstance(body["messages"], list)
    for m in body["messages"]:
      assert set(m) == {"role", "content"} and m["role"] in ("system", "user", "assistant")
      assert isinstance(m["content"], str)
  messages = sorted(
    (tuple(m["role"] for m in body["messages"]) for _, _, body in chat_server.requests)
  )
  assert messages == [("system", "user"), ("system", "user"), ("user",), ("user",)]


def test_no_api_key_no_authorization_header(chat_server):
  with _backend(chat_server) as b:
    b.complete(["hi"], max_tokens=4)
  assert "authorization" not in chat_server.requests[0][1]


def test_http_500_retried_then_error_names_url(chat_server):
  chat_server.respond = lambda body: (500, {"error": "boom"})
  with _backend(chat_server, retries=2) as b:
    t = time.monotonic()
    with pytest.raises(BackendError) as e:
      b.complete(["q"], max_tokens=4)
    assert time.monotonic() - t < 5
  msg = str(e.value)
  assert (
    f"{chat_server.base_url}/chat/completions" in msg and "HTTP 500" in msg and "3 attempt" in msg
  )
  assert len(chat_server.requests) == 3  # 1 + 2 retries
  assert e.value.failures.keys() == {0} and e.value.partial == [None]


def test_client_error_not_retried(chat_server):
  chat_server.respond = lambda body: (400, {"error": "bad request"})
  with _backend(chat_server, retries=3) as b:
    with pytest.raises(BackendError, match="HTTP 400.*bad request"):
      b.complete(["q"], max_tokens=4)
  assert len(chat_server.requests) == 1


def test_transient_failure_recovers_on_retry(chat_server):
  calls = []

  def respond(body):
    calls.append(1)
    return (
      (503, {"error": "busy"}) if len(calls) < 3 else (200, chat_server.ok("Answer: 5", tokens=3))
    )

  chat_server.respond = respond
  with _backend(chat_server, retries=2) as b:
    assert b.complete(["q"], max_tokens=4) == [Completion("Answer: 5", 3)]
  assert len(chat_server.requests) == 3


@pytest.mark.parametrize(
  "payload,what",
  [
    (b"this is not json", "not JSON"),
    ({"choices": []}, "'choices'"),
    (
      {"choices": [{"message": {"role": "assistant"}}], "usage": {"completion_tokens": 1}},
      "content",
    ),
    ({"choices": [{"message": {"content": "hi"}}]}, "usage.completion_tokens"),
    (
      {"choices": [{"message": {"content": "hi"}}], "usage": {"completion_tokens": -1}},
      "usage.completion_tokens",
    ),
    ([1, 2], "JSON object"),
  ],
)
def test_malformed_response(chat_server, payload, what):
  chat_server.respond = lambda body: (200, payload)
  with _backend(chat_server, retries=1) as b:
    with pytest.raises(BackendError) as e:
      b.complete(["q"], max_tokens=4)
  assert (
    "malformed" in str(e.value) and what in str(e.value) and chat_server.base_url in str(e.value)
  )
  assert len(chat_server.requests) == 2


def test_hang_past_timeout(chat_server):
  chat_server.respond = lambda body: (200, "hang")
  with _backend(chat_server, timeout=0.3, retries=1) as b:
    t = time.monotonic()
    with pytest.raises(BackendError, match="timed out after 0.3 s"):
      b.complete(["q"], max_tokens=4)
    elapsed = time.monotonic() - t
  assert 0.6 <= elapsed < 3.0  # two attempts of 0.3 s each, bounded
  assert len(chat_server.requests) == 2


def test_connection_refused():
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]  # closed when the block ends: nothing listens there
  with OpenAIBackend(f"http://127.0.0.1:{port}/v1", "m", timeout=1.0, retries=1, backoff=0.01) as b:
    with pytest.raises(BackendError, match="connection error"):
      b.complete(["q"], max_tokens=4)


def test_partial_failure_reports_indices(chat_server):
  def respond(body):
    text = body["messages"][-1]["content"]
    return (500, {"error": "x"}) if "FAIL" in text else (200, chat_server.ok("Answer: 1", tokens=2))

  chat_server.respond = respond
  with _backend(chat_server, retries=0) as b:
    with pytest.raises(BackendError) as e:
      b.complete(["ok", "FAIL", "ok"], max_tokens=4, n=2)
  assert sorted(e.value.failures) == [2, 3]
  assert e.value.partial[0] == Completion("Answer: 1", 2) and e.value.partial[2] is None
  assert "2 of 6 completions failed" in str(e.value)


def test_parse_chat_completion_and_argument_errors(chat_server):
  assert parse_chat_completion(chat_server.ok("x", tokens=3)) == Completion("x", 3)
  with pytest.raises(ValueError, match="base_url"):
    OpenAIBackend("127.0.0.1:8000", "m")
  with pytest.raises(ValueError, match="timeout"):
    OpenAIBackend(chat_server.base_url, "m", timeout=0)
  with _backend(chat_server) as b:
    with pytest.raises(ValueError, match="max_tokens"):
      b.complete(["q"], max_tokens=0)
    with pytest.raises(ValueError, match="temperature"):
      b.complete(["q"], max_tokens=1, temperature=-1)
    with pytest.raises(ValueError, match=r"prompts\[0\]\[0\]\['role'\]"):
      b.complete([[{"role": "robot", "content": "x"}]], max_tokens=1)
    with pytest.raises(ValueError, match="single string"):
      b.complete("q", max_tokens=1)
  assert chat_server.requests == []


def test_environment_records_failed_tasks(chat_server):
  """Tasks whose requests fail after the retries are failed (with the error), never scored;
  the other tasks of the same batched round are scored normally."""
  pool = make_tasks("arithmetic", 3, difficulties=[1], split="test", seed=5)
  doomed = pool[1].question

  def respond(body):
    text = body["messages"][-1]["content"]
    if doomed in text:
      return 500, {"error": "overloaded"}
    answer = next(t.answer for t in pool if t.question in text)
    return 200, chat_server.ok(f"Answer: {answer}", tokens=4)

  chat_server.respond = respond
  with _backend(chat_server, retries=1) as b:
    env = LLMEnvironment(b, pool, roles={"solver": ("direct",)})
    out = env.play(pool, np.zeros((3, 1), int), round=0)
  assert out.failed.tolist() == [False, True, False]
  assert out.correct.tolist() == [1.0, 0.0, 1.0]
  assert out.tokens[:, 0].tolist() == [4.0, 0.0, 4.0]
  assert out.errors[0] is None and out.errors[2] is None
  assert (
    "HTTP 500" in out.errors[1]
    and chat_server.base_url in out.errors[1]
    and "solver/direct" in out.errors[1]
  )
  assert out.answers[1] is None and out.answers[0] == str(pool[0].answer)


def test_environment_records_timeouts_and_malformed(chat_server):
  pool = make_tasks("arithmetic", 3, difficulties=[2], split="test", seed=6)

  def respond(body):
    text = body["messages"][-1]["content"]
    if pool[0].question in text:
      return 200, "hang"
    if pool[1].question in text:
      return 200, {"choices": "nope"}
    return 200, chat_server.ok("Answer: 0", tokens=2)

  chat_server.respond = respond
  with _backend(chat_server, timeout=0.3, retries=1) as b:
    env = LLMEnvironment(b, pool, roles={"solver": ("step_by_step",)})
    out = env.best_of_n(pool, 2, round=0)
  assert out.failed.tolist() == [True, True, False]
  assert "timed out" in out.errors[0] and "malformed" in out.errors[1]
  assert out.tokens[2, 0] == 4.0


# --- the real llama.cpp server --------------------------------------------------------------------


@pytest.mark.server
def test_llama_cpp_server(llama_server):
  with OpenAIBackend(
    llama_server, "smollm2", timeout=120, retries=1, backoff=0.5, max_concurrency=2
  ) as b:
    out = b.complete(
      ["What is 2 + 3?", "Name a colour."], max_tokens=16, temperature=0.0, n=1, seed=1
    )
    assert len(out) == 2
    for text, tokens in out:
      assert isinstance(text, str) and text.strip()
      assert 1 <= tokens <= 16
    again = b.complete(["What is 2 + 3?"], max_tokens=16, temperature=0.0, seed=1)
    assert again[0] == out[0]  # greedy decoding is deterministic
    pool = make_tasks("arithmetic", 2, difficulties=[1], split="test", seed=1)
    env = LLMEnvironment(
      b, pool, roles={"solver": ("direct",), "verifier": ("none", "judge")}, max_tokens_cap=24
    )
    res = env.play(pool, np.array([[0, 1], [0, 0]]), round=0)
  assert not res.failed.any(), res.errors
  assert (res.tokens[:, 0] > 0).all() and res.tokens[0, 1] > 0 and res.tokens[1, 1] == 0
  from dice_jax.rollouts.checkers import check

  for t, a, c in zip(pool, res.answers, res.correct):
    assert c == float(a is not None and check(t, f"Answer: {a}").correct)
