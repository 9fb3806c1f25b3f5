"""A small OpenAI-compatible chat completions server on loopback (vLLM's shape), with known timings.

Answers ``POST /v1/chat/completions`` for ``model`` and, when ``api_key`` is set, only with
``Authorization: Bearer <api_key>`` (else 401, as vLLM's ``--api-key``). Streamed (``"stream": true``):
Server-Sent Events over a chunked body, the headers and a role chunk without content at once, the first
content chunk after ``first_delay`` seconds, ``chunks - 1`` more ``between`` seconds apart, then (with
``stream_options.include_usage`` and ``send_usage``) a chunk with ``usage`` and no choices, then
``data: [DONE]``. Each content chunk stands for ``tokens_per_chunk`` tokens in ``usage.completion_tokens``.
Not streamed: the whole completion, with usage, after the same total time. A malformed request is a 400
and is recorded in ``errors``.
"""

from __future__ import annotations

import json
import threading
import time

from tests.loopback import JsonHandler, LoopbackServer

PROMPT_TOKENS = 12


class FakeOpenAI(LoopbackServer):
    def __init__(self, model: str, api_key: str | None = None, *, chunks: int = 8, tokens_per_chunk: int = 1,
                 first_delay: float = 0.2, between: float = 0.05, send_usage: bool = True):
        self.model, self.api_key = model, api_key
        self.chunks, self.tokens_per_chunk = chunks, tokens_per_chunk
        self.first_delay, self.between, self.send_usage = first_delay, between, send_usage
        self.completions = 0     # answered in full
        self.unauthorized = 0    # 401s
        self.dropped = 0         # streams the client left before their end (users stopped mid-request)
        self.errors: list[str] = []
        self.bodies: list[dict] = []
        self._lock = threading.Lock()
        server = self

        class Handler(JsonHandler):

            def _chunk(self, data: bytes) -> None:
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()

            def _event(self, event: dict | str) -> None:
                self._chunk(b"data: " + (event if isinstance(event, str) else json.dumps(event)).encode() + b"\n\n")

            def do_POST(self) -> None:  # noqa: N802
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path != "/v1/chat/completions":
                    return self._reject(404, f"POST {self.path}: not /v1/chat/completions")
                if server.api_key is not None and self.headers.get("Authorization") != f"Bearer {server.api_key}":
                    with server._lock:
                        server.unauthorized += 1
                    return self._send(401, {"error": "Unauthorized"})
                try:
                    body = json.loads(raw)
                except ValueError:
                    return self._reject(400, "body is not JSON")
                problem = server.problem(body, self.headers.get("Content-Type") or "")
                if problem:
                    return self._reject(400, problem)
                with server._lock:
                    server.bodies.append(body)
                try:
                    if body.get("stream"):
                        self._stream(bool((body.get("stream_options") or {}).get("include_usage")))
                    else:
                        time.sleep(server.first_delay + (server.chunks - 1) * server.between)
                        self._send(200, {"id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()),
                                         "model": server.model,
                                         "choices": [{"index": 0, "message": {"role": "assistant", "content": server.text(server.chunks)},
                                                      "finish_reason": "length"}],
                                         "usage": server.usage()})
                except (BrokenPipeError, ConnectionResetError):
                    with server._lock:
                        server.dropped += 1
                    self.close_connection = True
                    return
                with server._lock:
                    server.completions += 1

            def _reject(self, code: int, problem: str) -> None:
                with server._lock:
                    server.errors.append(problem)
                self._send(code, {"error": {"message": problem}})

            def _stream(self, include_usage: bool) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                base = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": int(time.time()), "model": server.model}
                if include_usage:
                    base["usage"] = None
                self._event({**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]})
                for i in range(server.chunks):
                    time.sleep(server.first_delay if i == 0 else server.between)
                    last = i == server.chunks - 1
                    self._event({**base, "choices": [{"index": 0, "delta": {"content": server.text(1)},
                                                      "finish_reason": "length" if last else None}]})
                if include_usage and server.send_usage:
                    self._event({**base, "choices": [], "usage": server.usage()})
                self._event("[DONE]")
                self._chunk(b"")  # the end of the chunked body

        self.serve(Handler)

    def problem(self, body: object, content_type: str) -> str | None:
        """What is wrong with a chat completions request (None when it is sound)."""
        if "application/json" not in content_type:
            return "Content-Type is not application/json"
        if not isinstance(body, dict):
            return "body is not an object"
        if body.get("model") != self.model:
            return f"model {body.get('model')!r}: not {self.model!r}"
        messages = body.get("messages")
        if not (isinstance(messages, list) and messages and all(isinstance(m, dict) and m.get("role") and "content" in m for m in messages)):
            return "messages: expected a list of {role, content}"
        if not isinstance(body.get("max_tokens"), int) or body["max_tokens"] < 1:
            return "max_tokens: expected a positive integer"
        if not isinstance(body.get("stream", False), bool):
            return "stream: expected a boolean"
        if "stream_options" in body and not body.get("stream"):
            return "stream_options without stream"  # OpenAI's and vLLM's 400
        return None

    def text(self, chunks: int) -> str:
        return "".join(f"tok{i} " for i in range(chunks * self.tokens_per_chunk))

    def usage(self) -> dict:
        completion = self.chunks * self.tokens_per_chunk
        return {"prompt_tokens": PROMPT_TOKENS, "completion_tokens": completion, "total_tokens": PROMPT_TOKENS + completion}
