"""A loopback server that logs every request and answers it in the provider's own protocol.

It speaks each protocol only as far as one short completion needs: OpenAI chat completions
(also under Azure's ``/openai/deployments/NAME/...`` path), Anthropic ``/v1/messages``, Gemini
``:generateContent`` / ``:streamGenerateContent``, each streamed (SSE) or not, plus the
LiteLLM proxy's ``GET /v1/model/info`` and ``GET /models``. The first path segment names the
case (``/c07/...``), so many clients can share one server; :meth:`RequestLog.of` returns a
case's requests with that segment removed.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

ANSWER = "Yes, I am ready."
# What GET /v1/model/info reports, as a LiteLLM proxy does for the models it serves.
PROXY_MODELS = [
    {"model_name": "team-coder", "model_info": {"max_output_tokens": 12345,
                                                "max_input_tokens": 100000}},
    {"model_name": "team-legacy", "model_info": {"max_tokens": 2222}},
]


@dataclass(frozen=True)
class Logged:
    """One request as it reached the server (case segment removed from ``path``)."""

    case: str
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # names lower-cased
    body: Any  # parsed JSON, or None


class RequestLog:
    """Every request the server received, in order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[Logged] = []

    def add(self, item: Logged) -> None:
        with self._lock:
            self._items.append(item)

    def of(self, case: str, method: str = "POST") -> list[Logged]:
        with self._lock:
            return [r for r in self._items if r.case == case and r.method == method]


def _openai(stream: bool, model: str) -> tuple[str, list[bytes]]:
    if not stream:
        body = {"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": model,
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": ANSWER}}],
                "usage": {"prompt_tokens": 9, "completion_tokens": 5, "total_tokens": 14}}
        return "application/json", [json.dumps(body).encode()]
    base = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": model}
    chunks = [{**base, "choices": [{"index": 0, "delta": {"role": "assistant",
                                                         "content": ANSWER}}]},
              {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
              {**base, "choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 5,
                                                "total_tokens": 14}}]
    return "text/event-stream", [f"data: {json.dumps(c)}\n\n".encode() for c in chunks] + [
        b"data: [DONE]\n\n"]


def _anthropic(stream: bool, model: str) -> tuple[str, list[bytes]]:
    message = {"id": "msg_1", "type": "message", "role": "assistant", "model": model,
               "content": [{"type": "text", "text": ANSWER}], "stop_reason": "end_turn",
               "stop_sequence": None, "usage": {"input_tokens": 9, "output_tokens": 5}}
    if not stream:
        return "application/json", [json.dumps(message).encode()]
    events = [("message_start", {"type": "message_start", "message": {
                  **message, "content": [], "stop_reason": None,
                  "usage": {"input_tokens": 9, "output_tokens": 1}}}),
              ("content_block_start", {"type": "content_block_start", "index": 0,
                                       "content_block": {"type": "text", "text": ""}}),
              ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                       "delta": {"type": "text_delta", "text": ANSWER}}),
              ("content_block_stop", {"type": "content_block_stop", "index": 0}),
              ("message_delta", {"type": "message_delta", "delta": {
                  "stop_reason": "end_turn", "stop_sequence": None},
                  "usage": {"output_tokens": 5}}),
              ("message_stop", {"type": "message_stop"})]
    return "text/event-stream", [f"event: {n}\ndata: {json.dumps(d)}\n\n".encode()
                                 for n, d in events]


def _gemini(stream: bool) -> tuple[str, list[bytes]]:
    body = {"candidates": [{"content": {"parts": [{"text": ANSWER}], "role": "model"},
                            "finishReason": "STOP", "index": 0}],
            "usageMetadata": {"promptTokenCount": 9, "candidatesTokenCount": 5,
                              "totalTokenCount": 14}, "modelVersion": "gemini"}
    if not stream:
        return "application/json", [json.dumps(body).encode()]
    return "text/event-stream", [f"data: {json.dumps(body)}\n\n".encode()]


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _record(self) -> tuple[Logged, Any]:
        parts = urlsplit(self.path)
        segments = parts.path.split("/")
        case = segments[1] if len(segments) > 1 else ""
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        item = Logged(case, self.command, "/" + "/".join(segments[2:]),
                      dict(parse_qsl(parts.query)),
                      {k.lower(): v for k, v in self.headers.items()}, body)
        self.server.log.add(item)
        return item, body

    def _send(self, status: int, ctype: str, chunks: list[bytes]) -> None:
        data = b"".join(chunks)
        self.send_response(status)
        self.send_header("content-type", ctype)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def do_GET(self) -> None:
        item, _ = self._record()
        if item.path.endswith("/model/info"):
            self._send(200, "application/json", [json.dumps({"data": PROXY_MODELS}).encode()])
        elif item.path.endswith("/models"):
            self._send(200, "application/json", [b'{"data": [], "object": "list"}'])
        else:
            self._send(404, "application/json", [b'{"error": {"message": "not found"}}'])

    def do_POST(self) -> None:
        item, body = self._record()
        body = body if isinstance(body, dict) else {}
        stream = bool(body.get("stream"))
        model = str(body.get("model", "m"))
        path = item.path
        if path.endswith("/chat/completions"):
            ctype, chunks = _openai(stream, model)
        elif path.endswith("/messages"):
            ctype, chunks = _anthropic(stream, model)
        elif ":streamGenerateContent" in path:
            ctype, chunks = _gemini(True)
        elif ":generateContent" in path:
            ctype, chunks = _gemini(False)
        else:
            self._send(404, "application/json",
                       [json.dumps({"error": {"message": f"no route {path}"}}).encode()])
            return
        self._send(200, ctype, chunks)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    log: RequestLog


@contextmanager
def serve() -> Iterator[tuple[str, RequestLog]]:
    """(root URL, log) of a running logging server on 127.0.0.1; stopped on exit."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.log = RequestLog()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", server.log
    finally:
        server.shutdown()
        server.server_close()
