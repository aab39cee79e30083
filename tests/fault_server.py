"""A fault-injecting OpenAI-compatible server on loopback, for live-test tests and benchmarks.

``POST /v1/chat/completions`` (streamed as SSE, or not) and ``GET /v1/models``. Each chat
request takes the next :class:`Reply` of the script (:meth:`FaultServer.push`), else the
default one (a short successful answer). Every request is recorded (headers, JSON body), so
tests can assert exactly how many requests reached the server.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import select
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

TOKENS = ("Hello", ",", " I", " am", " ready", ".")


@dataclass(frozen=True)
class Reply:
    """How the server answers one chat request."""

    status: int = 200
    error: dict[str, Any] | None = None  # OpenAI error object, sent as {"error": ...}
    headers: tuple[tuple[str, str], ...] = ()
    tokens: tuple[str, ...] = TOKENS
    first_token_delay: float = 0.0  # after the headers, before the first token
    token_delay: float = 0.0  # between tokens
    cut_after: int | None = None  # close the connection after this many tokens
    malformed_after: int | None = None  # send a broken chunk after this many tokens
    usage: bool = True  # a final chunk with usage (as with stream_options.include_usage)
    echo_key: bool = False  # put the bearer key into the error message (a careless proxy)
    hang: bool = False  # accept the request and never answer (until the client leaves)
    stall_after: int | None = None  # after this many tokens, send nothing more (socket open)
    endless: bool = False  # repeat the tokens forever (until the client leaves)
    numbered: bool = False  # endless: append a counter to each token (no two chunks alike)


def ok(*tokens: str, **kw: Any) -> Reply:
    """A successful answer made of ``tokens`` (default: a short sentence)."""
    return Reply(tokens=tokens or TOKENS, **kw)


def error(status: int, message: str, type_: str = "invalid_request_error",
          code: str | None = None, param: str | None = None,
          headers: dict[str, str] | None = None, **kw: Any) -> Reply:
    """An error response in OpenAI's format."""
    return Reply(status=status, error={"message": message, "type": type_, "param": param,
                                       "code": code},
                 headers=tuple((headers or {}).items()), **kw)


def rate_limited(retry_after: float | None = None) -> Reply:
    headers = {"retry-after": f"{retry_after:g}"} if retry_after is not None else {}
    return error(429, "Rate limit reached for requests per min (RPM): Limit 3, Used 3.",
                 "requests", "rate_limit_exceeded", headers=headers)


def quota() -> Reply:
    return error(429, "You exceeded your current quota, please check your plan and billing "
                 "details.", "insufficient_quota", "insufficient_quota")


def unauthorized(echo_key: bool = True) -> Reply:
    return error(401, "Incorrect API key provided: {key}.", "invalid_request_error",
                 "invalid_api_key", echo_key=echo_key)


def forbidden() -> Reply:
    return error(403, "You are not allowed to use this model.", "invalid_request_error",
                 "permission_denied")


def model_not_found(model: str) -> Reply:
    return error(404, f"The model `{model}` does not exist or you do not have access to it.",
                 "invalid_request_error", "model_not_found")


def unsupported_param(param: str = "temperature") -> Reply:
    return error(400, f"Unsupported parameter: '{param}' is not supported with this model.",
                 "invalid_request_error", "unsupported_parameter", param)


def context_too_long() -> Reply:
    return error(400, "This model's maximum context length is 8192 tokens. However, your "
                 "messages resulted in 9000 tokens. Please reduce the length of the messages.",
                 "invalid_request_error", "context_length_exceeded", "messages")


def server_error() -> Reply:
    return error(500, "The server had an error while processing your request.", "server_error")


def unavailable() -> Reply:
    return error(503, "The engine is currently overloaded, please try again later.",
                 "server_error")


def slow(first_token_delay: float, **kw: Any) -> Reply:
    return Reply(first_token_delay=first_token_delay, **kw)


def cut(after: int = 3, **kw: Any) -> Reply:
    return Reply(cut_after=after, **kw)


def malformed(after: int = 2) -> Reply:
    return Reply(malformed_after=after)


def hang() -> Reply:
    """Accept the request, then never send a byte."""
    return Reply(hang=True)


def stall(after: int = 2, **kw: Any) -> Reply:
    """Stream ``after`` tokens, then keep the connection open without sending anything."""
    return Reply(stall_after=after, **kw)


def endless(*tokens: str, numbered: bool = True) -> Reply:
    """Stream forever: ``tokens`` over and over, each numbered (distinct chunks) unless not."""
    return Reply(tokens=tokens or (" word",), endless=True, numbered=numbered, usage=False)


def empty() -> Reply:
    return Reply(tokens=(), usage=False)


@dataclass
class Request:
    """One request the server received."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    arrived: float = field(default_factory=time.monotonic)  # time.monotonic() on arrival
    reply: Reply | None = None
    disconnected: threading.Event = field(default_factory=threading.Event)

    @property
    def key(self) -> str | None:
        """The bearer token (or api-key header) the client sent."""
        auth = self.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            return auth[7:]
        return self.headers.get("api-key")


class FaultServer:
    """The server, running in a thread on 127.0.0.1 on a free port."""

    def __init__(self, models: tuple[str, ...] = ("test-model",)) -> None:
        self.models = self._models = models  # GET /v1/models lists these
        self.model_info: list[dict[str, Any]] = []  # GET /v1/model/info lists these (a proxy)
        self.default = ok()
        self.requests: list[Request] = []
        self._script: deque[Reply] = deque()
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.fault = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> FaultServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FaultServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- script and records ------------------------------------------------------------
    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        """The base URL clients use (ends in /v1)."""
        return f"http://127.0.0.1:{self.port}/v1"

    def push(self, *replies: Reply) -> None:
        """Queue replies for the next chat requests, in order."""
        with self._lock:
            self._script.extend(replies)

    def reset(self) -> None:
        """Forget the script and the recorded requests."""
        with self._lock:
            self._script.clear()
            self.requests.clear()
            self.default = ok()
            self.models = self._models

    @property
    def chat(self) -> list[Request]:
        """The chat-completion requests received."""
        return [r for r in self.requests if _route(r.path) == "chat"]

    @property
    def count(self) -> int:
        """How many chat-completion requests were received."""
        return len(self.chat)

    def _next(self, request: Request) -> Reply:
        with self._lock:
            self.requests.append(request)
            reply = self._script.popleft() if self._script else self.default
        request.reply = reply
        return reply


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fault-server/1"

    def setup(self) -> None:
        super().setup()
        # Each SSE chunk is its own small write: without this, Nagle's algorithm and delayed
        # ACKs hold the first token back ~40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    @property
    def fault(self) -> FaultServer:
        return self.server.fault  # type: ignore[attr-defined]

    def _record(self, body: Any) -> Request:
        return Request(self.command, self.path, {k.lower(): v for k, v in self.headers.items()},
                       body)

    def do_GET(self) -> None:
        if _route(self.path) == "models":
            with self.fault._lock:
                self.fault.requests.append(self._record(None))
            data = [{"id": m, "object": "model", "created": 0, "owned_by": "fault-server"}
                    for m in self.fault.models]
            self._json(200, {"object": "list", "data": data})
        elif _route(self.path) == "model_info":
            with self.fault._lock:
                self.fault.requests.append(self._record(None))
            self._json(200, {"data": self.fault.model_info})
        else:
            self._json(404, {"error": {"message": "not found", "type": "invalid_request_error"}})

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            body = raw.decode("utf-8", "replace")
        if _route(self.path) != "chat":  # recorded (what was sent), answered 404
            with self.fault._lock:
                self.fault.requests.append(self._record(body))
            self._json(404, {"error": {"message": "not found", "type": "invalid_request_error"}})
            return
        request = self._record(body)
        reply = self.fault._next(request)
        try:
            if reply.error is not None:
                err = dict(reply.error)
                if reply.echo_key:
                    err["message"] = err["message"].replace("{key}", request.key or "")
                self._json(reply.status, {"error": err}, dict(reply.headers))
            elif reply.hang:
                self._hold(request)
            elif isinstance(body, dict) and body.get("stream"):
                self._stream(reply, body, request)
            else:
                self._complete(reply, body)
        except (BrokenPipeError, ConnectionResetError):
            request.disconnected.set()
            self.close_connection = True

    # -- responses ---------------------------------------------------------------------
    def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _complete(self, reply: Reply, body: Any) -> None:
        time.sleep(reply.first_token_delay)
        text = "".join(reply.tokens)
        model = body.get("model", "test-model") if isinstance(body, dict) else "test-model"
        self._json(200, {
            "id": "chatcmpl-fault", "object": "chat.completion", "created": int(time.time()),
            "model": model,
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": text}}],
            "usage": _usage(reply),
        })

    def _stream(self, reply: Reply, body: dict[str, Any], request: Request) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        self.wfile.flush()
        model = body.get("model", "test-model")

        def chunk(delta: dict[str, Any] | None, finish: str | None = None,
                  usage: dict[str, int] | None = None) -> bytes:
            payload: dict[str, Any] = {
                "id": "chatcmpl-fault", "object": "chat.completion.chunk",
                "created": int(time.time()), "model": model,
                "choices": [] if delta is None else [
                    {"index": 0, "delta": delta, "finish_reason": finish}],
            }
            if usage is not None:
                payload["usage"] = usage
            return b"data: " + json.dumps(payload).encode() + b"\n\n"

        time.sleep(reply.first_token_delay)
        self._send(chunk({"role": "assistant", "content": ""}))
        if reply.endless:
            for i in itertools.count():
                token = reply.tokens[i % len(reply.tokens)]
                self._send(chunk({"content": f"{token}{i}" if reply.numbered else token}))
        for i, token in enumerate(reply.tokens):
            if reply.stall_after is not None and i == reply.stall_after:
                self._hold(request)
                return
            if reply.cut_after is not None and i == reply.cut_after:
                self._cut(request)
                return
            if reply.malformed_after is not None and i == reply.malformed_after:
                self._send(b'data: {"id": "chatcmpl-fault", "choices": [{"delta": {"content\n\n')
                self._end()
                return
            if i and reply.token_delay:
                time.sleep(reply.token_delay)
            self._send(chunk({"content": token}))
        self._send(chunk({}, "stop"))
        if reply.usage:
            self._send(chunk(None, usage=_usage(reply)))
        self._send(b"data: [DONE]\n\n")
        self._end()

    def _hold(self, request: Request) -> None:
        """Send nothing until the client closes the connection (or the server stops)."""
        self.close_connection = True
        while not self.fault.stopping.is_set():
            ready, _, _ = select.select([self.connection], [], [], 0.05)
            if ready:
                with contextlib.suppress(OSError):
                    if self.connection.recv(1, socket.MSG_PEEK):
                        time.sleep(0.05)  # bytes from the client: not a close
                        continue
                request.disconnected.set()
                return

    def _send(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _end(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _cut(self, request: Request) -> None:
        """Close the connection mid-body (no terminating chunk): a dropped stream."""
        self.wfile.flush()
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


def _route(path: str) -> str:
    """Which endpoint a request path is: "chat", "models", "model_info" or ""."""
    clean = urlsplit(path).path.rstrip("/")
    if clean.endswith("/chat/completions"):
        return "chat"
    if clean.endswith("/model/info"):
        return "model_info"
    return "models" if clean.endswith("/models") else ""


def _usage(reply: Reply) -> dict[str, int]:
    return {"prompt_tokens": 12, "completion_tokens": len(reply.tokens),
            "total_tokens": 12 + len(reply.tokens)}


def serve_forever(reply: Reply | None = None) -> None:
    """Run a server in the foreground (for trying the CLI by hand)."""
    server = FaultServer().start()
    if reply is not None:
        server.default = reply
    print(server.url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    serve_forever()
