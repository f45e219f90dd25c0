"""A loopback chat-completions server for tests of OpenAI-compatible backends (no mocks).

:class:`ChatServer` is a real HTTP server (``http.server`` on 127.0.0.1, a thread) speaking the
chat-completions format; a test sets how it answers (a responder function of the request body,
or a failure mode) and reads back the requests it received. Used by the tests of
:mod:`dice_jax.rollouts.backends` and of DICE-PC's LLM protocol; users can test their own
backends with it::

    server = ChatServer()
    server.respond = lambda body: (200, completion_body("Answer: 7"))
    ...                              # OpenAIBackend(server.base_url, "m").complete([...])
    server.close()
"""

from __future__ import annotations

import http.server
import json
import threading

__all__ = ["ChatServer", "completion_body"]


def completion_body(content: str, tokens: int | None = None) -> dict:
  """A well-formed chat-completions response."""
  tokens = len(content.split()) if tokens is None else tokens
  return {
    "id": "chatcmpl-test",
    "object": "chat.completion",
    "created": 0,
    "model": "m",
    "choices": [
      {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
    ],
    "usage": {"prompt_tokens": 1, "completion_tokens": tokens, "total_tokens": tokens + 1},
  }


class ChatServer:
  """A loopback chat-completions server. ``respond(body) -> (status, payload)`` decides each
  answer (``payload``: dict -> JSON, bytes -> raw body, ``"hang"`` -> no answer until released)."""

  def __init__(self):
    self.ok = completion_body
    self.requests = []  # (path, headers dict, parsed body or raw bytes)
    self.respond = lambda body: (200, completion_body("Answer: 42"))
    self.release = threading.Event()
    server = self

    class Handler(http.server.BaseHTTPRequestHandler):
      def log_message(self, *args):  # keep test output quiet
        pass

      def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        try:
          body = json.loads(raw)
        except ValueError:
          body = raw
        server.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
        status, payload = server.respond(body)
        if isinstance(payload, str) and payload == "hang":
          server.release.wait(10.0)
          return
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        try:
          self.send_response(status)
          self.send_header("Content-Type", "application/json")
          self.send_header("Content-Length", str(len(data)))
          self.end_headers()
          self.wfile.write(data)
        except OSError:  # the client gave up (timeout)
          pass

    self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    self.httpd.daemon_threads = True
    self.thread = threading.Thread(
      target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    self.thread.start()
    self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

  def close(self):
    self.release.set()
    self.httpd.shutdown()
    self.httpd.server_close()
    self.thread.join(timeout=5)
