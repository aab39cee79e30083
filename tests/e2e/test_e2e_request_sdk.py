"""End to end: `llm-settings test --as 1.x` sends what OpenHands 1.x's own ``LLM`` sends.

For each config of a corpus (OpenAI, Anthropic, Azure, Gemini, DeepSeek, Groq, Mistral,
OpenRouter, LiteLLM proxy, OpenHands' proxy, local ``openai/`` servers, reasoning models,
drop_params, seed, top_k, settings 1.x does not read...), openhands-sdk's
``LLM(**settings).completion(...)`` runs in a Python 3.12 venv of the released package, and
the live test runs ``--as 1.x`` on the same settings read from a config.toml; both talk to one
loopback server that logs every request and answers 400 (never retried by either). Asserted
equal: the requests made (model info lookups included), their paths and queries, the auth and
provider headers, and the JSON bodies apart from the streaming fields (the live test streams,
OpenHands 1.x does not). The SDK venv pins LiteLLM to the version llm-settings runs (what
``pip install openhands-sdk`` and the CLI install today) and both read the same model catalog, so
a difference can only come from how the request is built. The web app 1.11.0 pins an older
LiteLLM (1.84.1) under SDK 1.34: against that venv the live test runs ``--as web``
(tui.live.wire_web), and the requests are equal too. Where OpenHands makes no request (its
LiteLLM refuses a parameter), the live test makes none either.

Retries: for 15 HTTP failures (two attempts allowed, no waits) the SDK's own attempts (its calls
of ``litellm.completion``) equal the live test's requests, for 1.21.0, 1.34.0 and the web app;
and what a failure says about SDK 1.58.0 ("retries it" / "fails at once") matches 1.58.0's own
attempts.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.metadata import version
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from tests.e2e import openhands_venv
from tui.core.catalog import catalog_path
from tui.core.config_file import ConfigFile
from tui.core.settings import load
from tui.live import check as L
from tui.live import events as E
from tui.live import sdk as SDK

pytestmark = [pytest.mark.timeout(openhands_venv.BUILD_TIMEOUT + 900),
              pytest.mark.filterwarnings("ignore:.*ReadOnly.*:UserWarning")]

PROMPT = "Reply with one word: ready?"
HEADERS = ("authorization", "api-key", "x-api-key", "x-goog-api-key", "anthropic-version",
           "anthropic-beta", "http-referer", "x-title", "content-type")
STREAMING = ("stream", "stream_options")
PROXY_MODELS = [  # what the loopback server lists at /v1/model/info, as a LiteLLM proxy does
    {"model_name": "my-alias", "litellm_params": {"model": "openai/gpt-4o"},
     "model_info": {"max_output_tokens": 4096, "max_input_tokens": 32000}},
    {"model_name": "claude-sonnet-4", "litellm_params": {"model": "anthropic/claude-sonnet-4"},
     "model_info": {"max_output_tokens": 8192, "max_input_tokens": 200000}},
]

# (name, settings); "{url}" becomes the server's URL. Keys come from LLM_API_KEY.
CORPUS: list[tuple[str, dict[str, Any]]] = [
    ("openai", {"model": "openai/gpt-4o", "base_url": "{url}/v1"}),
    ("openai-samplers", {"model": "openai/gpt-4o-mini", "base_url": "{url}/v1",
                         "temperature": 0.2, "top_p": 0.9, "seed": 42}),
    ("openai-o3-mini", {"model": "openai/o3-mini", "base_url": "{url}/v1"}),
    ("openai-gpt-5-mini-low", {"model": "openai/gpt-5-mini", "base_url": "{url}/v1",
                               "reasoning_effort": "low"}),
    ("openai-gpt-5", {"model": "openai/gpt-5", "base_url": "{url}/v1", "temperature": 0.5}),
    ("openai-gpt-4.1", {"model": "openai/gpt-4.1", "base_url": "{url}/v1"}),
    ("anthropic-sonnet-4", {"model": "anthropic/claude-sonnet-4-20250514",
                            "base_url": "{url}"}),
    ("anthropic-sonnet-4-5", {"model": "anthropic/claude-sonnet-4-5-20250929",
                              "base_url": "{url}", "max_output_tokens": 20000}),
    ("anthropic-haiku-top-k", {"model": "anthropic/claude-3-5-haiku-20241022",
                               "base_url": "{url}", "temperature": 0.0, "top_k": 40}),
    ("anthropic-no-cache", {"model": "anthropic/claude-opus-4-1-20250805", "base_url": "{url}",
                            "caching_prompt": False}),
    ("azure-default-version", {"model": "azure/gpt-4o", "base_url": "{url}"}),
    ("azure-api-version", {"model": "azure/my-deployment", "base_url": "{url}",
                           "api_version": "2024-10-21", "max_output_tokens": 1000}),
    ("gemini-2.5-pro", {"model": "gemini/gemini-2.5-pro", "base_url": "{url}"}),
    ("gemini-flash-samplers", {"model": "gemini/gemini-2.0-flash", "base_url": "{url}",
                               "temperature": 0.5, "top_k": 20}),
    ("litellm-proxy-info", {"model": "litellm_proxy/my-alias", "base_url": "{url}"}),
    ("litellm-proxy-claude", {"model": "litellm_proxy/claude-sonnet-4", "base_url": "{url}"}),
    ("openhands-provider", {"model": "openhands/claude-sonnet-4-20250514",
                            "base_url": "{url}"}),
    ("local-openai", {"model": "openai/local-llama", "base_url": "{url}/v1",
                      "max_output_tokens": 512, "drop_params": False}),
    ("local-openai-top-k", {"model": "openai/qwen-coder", "base_url": "{url}/v1",
                            "top_k": 50, "seed": 7, "drop_params": True}),
    ("deepseek", {"model": "deepseek/deepseek-chat", "base_url": "{url}"}),
    ("groq", {"model": "groq/llama-3.3-70b-versatile", "base_url": "{url}",
              "temperature": 0.7}),
    ("mistral-ignored-settings", {"model": "mistral/mistral-large-latest", "base_url": "{url}",
                                  "safety_settings": [{"category": "x", "threshold": "y"}],
                                  "completion_kwargs": {"presence_penalty": 0.5}}),
    ("openrouter", {"model": "openrouter/anthropic/claude-3.5-sonnet", "base_url": "{url}"}),
    ("openai-o1", {"model": "openai/o1", "base_url": "{url}/v1", "top_p": 0.5}),
    ("openai-o4-mini-medium", {"model": "openai/o4-mini", "base_url": "{url}/v1",
                               "reasoning_effort": "medium", "max_output_tokens": 3000}),
    ("anthropic-opus-4-5", {"model": "anthropic/claude-opus-4-5-20251101", "base_url": "{url}",
                            "temperature": 0.3, "top_p": 0.8}),
    ("anthropic-haiku-4-5", {"model": "anthropic/claude-haiku-4-5-20251001",
                             "base_url": "{url}", "max_output_tokens": 4096}),
    ("azure-o3-mini", {"model": "azure/o3-mini", "base_url": "{url}",
                       "api_version": "2025-01-01-preview", "reasoning_effort": "low"}),
    ("gemini-2.5-flash-low", {"model": "gemini/gemini-2.5-flash", "base_url": "{url}",
                              "reasoning_effort": "low", "seed": 3}),
    ("litellm-proxy-unlisted", {"model": "litellm_proxy/unlisted-model", "base_url": "{url}"}),
    ("openrouter-own-headers", {"model": "openrouter/openai/gpt-4o", "base_url": "{url}",
                                "openrouter_site_url": "https://example.org/",
                                "openrouter_app_name": "MyApp"}),
    ("deepseek-reasoner", {"model": "deepseek/deepseek-reasoner", "base_url": "{url}"}),
    ("local-no-tools-no-vision", {"model": "openai/local-llama", "base_url": "{url}/v1",
                                  "native_tool_calling": False, "disable_vision": True}),
    ("local-vision-off-tools-on", {"model": "openai/gpt-4o", "base_url": "{url}/v1",
                                   "native_tool_calling": False, "caching_prompt": False}),
    ("hosted-vllm", {"model": "hosted_vllm/qwen3", "base_url": "{url}/v1",
                     "temperature": 0.6, "top_p": 0.95, "top_k": 20}),
    ("openai-custom-provider", {"model": "openai/gpt-4o", "base_url": "{url}/v1",
                                "custom_llm_provider": "openai", "timeout": 30,
                                "num_retries": 2}),
    # where the web app's LiteLLM differs beyond the configs above (tui.live.wire_web)
    ("gemini-seed-no-drop", {"model": "gemini/gemini-2.5-pro", "base_url": "{url}",
                             "seed": 5, "drop_params": False}),
    ("deepseek-effort-none", {"model": "deepseek/deepseek-chat", "base_url": "{url}",
                              "reasoning_effort": "none"}),
    ("openrouter-o3-mini", {"model": "openrouter/openai/o3-mini", "base_url": "{url}",
                            "temperature": 0.4}),
    ("openai-gpt-5-chat", {"model": "openai/gpt-5-chat-latest", "base_url": "{url}/v1",
                           "temperature": 0.2}),
    ("anthropic-opus-4-dated", {"model": "anthropic/claude-opus-4-20250514",
                                "base_url": "{url}"}),
    ("anthropic-opus-4-8", {"model": "anthropic/claude-opus-4-8", "base_url": "{url}",
                            "reasoning_effort": "medium"}),
]

RETRY_STATUSES = ["408", "409", "429", "429q", "429b", "500", "502", "503", "504", "529", "400",
                  "401", "403", "404", "422"]

SDK_SCRIPT = """
import json, sys, urllib.request
from openhands.sdk.llm import LLM, Message, TextContent
configs, server, prompt = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
import litellm
litellm.model_cost.clear()
litellm.model_cost.update(json.load(open(sys.argv[4])))
out = []
for i, cfg in enumerate(configs):
    urllib.request.urlopen(f"{server}/__mark/{i}").read()
    try:
        llm = LLM(usage_id="test", **cfg)
        llm.completion([Message(role="user", content=[TextContent(text=prompt)])])
        out.append("answered")
    except Exception as e:
        out.append(type(e).__name__)
print(json.dumps(out))
"""


# The SDK's attempts: its calls of litellm.completion (the OpenAI client under it repeats a
# 408/409/429/5xx twice more within each attempt; the live test turns that off and says so).
SDK_ATTEMPTS_SCRIPT = """
import json, sys
import openhands.sdk.llm.llm as module
from openhands.sdk.llm import LLM, Message, TextContent
configs, prompt = json.load(open(sys.argv[1])), sys.argv[2]
calls, real = [], module.litellm_completion
def counted(*args, **kwargs):
    calls[-1] += 1
    return real(*args, **kwargs)
module.litellm_completion = counted
for cfg in configs:
    calls.append(0)
    try:
        LLM(usage_id="test", **cfg).completion(
            [Message(role="user", content=[TextContent(text=prompt)])])
    except Exception:
        pass
print(json.dumps(calls))
"""


class Logged:
    """One request the server saw."""

    def __init__(self, method: str, target: str, headers: Any, body: bytes) -> None:
        parts = urlsplit(target)
        self.method, self.path = method, parts.path
        self.query = dict(parse_qsl(parts.query))
        self.headers = {k.lower(): v for k, v in headers.items() if k.lower() in HEADERS}
        self.body = json.loads(body) if body else None

    def comparable(self) -> dict[str, Any]:
        """The request with the streaming differences taken out."""
        body = {k: v for k, v in (self.body or {}).items() if k not in STREAMING}
        query = {k: v for k, v in self.query.items() if k != "alt"}  # alt=sse: streamed
        path = self.path.replace(":streamGenerateContent", ":generateContent")
        return {"method": self.method, "path": path, "query": query,
                "headers": self.headers, "body": body}


class LoggingServer(ThreadingHTTPServer):
    """Logs every request; answers the proxy's model info, else 400."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.log: list[Logged | int] = []  # an int: the mark of the next config
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def by_config(self) -> dict[int, list[Logged]]:
        out: dict[int, list[Logged]] = {}
        current = -1
        for item in self.log:
            if isinstance(item, int):
                current = item
                out[current] = []
            else:
                out.setdefault(current, []).append(item)
        return out


class _Handler(BaseHTTPRequestHandler):
    server: LoggingServer

    def log_message(self, *args: Any) -> None:
        pass

    def _answer(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path.startswith("/__mark/"):
            with self.server.lock:
                self.server.log.append(int(self.path.rsplit("/", 1)[1]))
            return self._answer(200, {})
        with self.server.lock:
            self.server.log.append(Logged("GET", self.path, self.headers, b""))
        if urlsplit(self.path).path.endswith("/model/info"):
            return self._answer(200, {"data": PROXY_MODELS})
        return self._answer(404, {"error": {"message": "not found"}})

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with self.server.lock:
            self.server.log.append(Logged("POST", self.path, self.headers, body))
        status, message = 400, "request logged"
        if m := re.match(r"/s(\d{3})([qb]?)/", self.path):  # /s503/v1/...: answer 503
            status = int(m.group(1))
            message = {"q": "insufficient_quota: You exceeded your current quota.",
                       "b": "budget_exceeded: Budget has been exceeded."}.get(
                m.group(2), f"failure {status}")
        kind = "invalid_request_error" if status in (400, 404, 422) else "api_error"
        self._answer(status, {"type": "error", "error": {
            "message": message, "type": kind, "code": status}})


def _canary(i: int) -> str:
    return f"sk-CANARY-sdk-e2e-{i:02d}-7f3a9c"


def _settings(url: str) -> list[dict[str, Any]]:
    return [{k: v.replace("{url}", url) if isinstance(v, str) else v for k, v in cfg.items()}
            for _, cfg in CORPUS]


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return json.dumps(value)


@pytest.fixture(scope="module")
def server() -> Iterator[LoggingServer]:
    srv = LoggingServer()
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv
    srv.shutdown()


def _run_sdk(python: Path, server: LoggingServer, tmp_path: Path) -> list[str]:
    configs = [{**cfg, "api_key": _canary(i)} for i, cfg in enumerate(_settings(server.url))]
    path = tmp_path / "configs.json"
    path.write_text(json.dumps(configs))
    p = subprocess.run([str(python), "-c", SDK_SCRIPT, str(path), server.url, PROMPT,
                        str(catalog_path())],
                       capture_output=True, text=True, timeout=900, cwd=tmp_path,
                       env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
                            "LITELLM_LOCAL_MODEL_COST_MAP": "True"})
    assert p.returncode == 0, p.stderr[-3000:]
    return json.loads(p.stdout.strip().splitlines()[-1])


def _run_ours(server: LoggingServer, tmp_path: Path, sdk_version: str, as_: str) -> list[str]:
    """The live test's request (as 1.x or the web app) for each config, read from a
    config.toml."""
    with asyncio.Runner() as runner:  # one loop: LiteLLM keeps its HTTP clients per loop
        return _each(server, tmp_path, sdk_version, as_, runner)


def _each(server: LoggingServer, tmp_path: Path, sdk_version: str, as_: str,
          runner: asyncio.Runner) -> list[str]:
    ends = []
    for i, cfg in enumerate(_settings(server.url)):
        path = tmp_path / f"config{i}.toml"
        path.write_text("[llm]\n" + "".join(f"{k} = {_toml(v)}\n" for k, v in cfg.items()))
        settings = load(ConfigFile.load(path), environ={"LLM_API_KEY": _canary(i)})
        values = SDK.set_values(settings)
        urllib.request.urlopen(f"{server.url}/__mark/{i}").read()
        if sdk_version == "1.34":
            events = runner.run(_engine(values, as_))
            for e in events:
                assert _canary(i) not in e.to_json() and _canary(i) not in e.summary()
            ends.append(events[-1].cause_kind if isinstance(events[-1], E.Failed) else "done")
        else:
            ends.append(runner.run(_direct(values, sdk_version)))
    return ends


async def _engine(values: dict[str, Any], as_: str = "1.x") -> list[E.Event]:
    return [e async for e in L.run(values, PROMPT, as_=as_)]


async def _direct(values: dict[str, Any], sdk_version: str) -> str:
    """The request built for another SDK version, sent once with the live test's LiteLLM."""
    litellm = L._load_litellm()
    full = SDK.effective(values)
    info = SDK.model_info(full["model"], full.get("base_url"), full.get("api_key"), litellm,
                          sdk_version)
    kwargs = SDK.completion_kwargs(full, litellm, PROMPT, info, sdk_version)
    try:
        stream = await litellm.acompletion(**kwargs)
        async for _ in stream:
            pass
    except Exception as e:
        return type(e).__name__
    return "done"


# OpenHands' web app 1.11.0 pins litellm==1.84.1 under SDK 1.34.0: the live test as "web".
WEB_APP_LITELLM = "1.84.1"
VARIANTS = [("1.34", version("litellm"), "1.x"), ("1.21", version("litellm"), "1.x"),
            ("1.34", WEB_APP_LITELLM, "web")]
VARIANT_IDS = ["sdk-1.34", "sdk-1.21", "web-app-1.11"]


@pytest.mark.parametrize(("sdk_version", "litellm", "as_"), VARIANTS, ids=VARIANT_IDS)
def test_live_test_as_1x_sends_what_the_sdk_sends(server: LoggingServer, tmp_path: Path,
                                                  sdk_version: str, litellm: str, as_: str
                                                  ) -> None:
    python = openhands_venv.python_with([f"openhands-sdk=={sdk_version}.0",
                                         f"litellm=={litellm}"])
    server.log.clear()
    theirs = _run_sdk(python, server, tmp_path)
    sdk_log = server.by_config()
    server.log.clear()
    ours = _run_ours(server, tmp_path, sdk_version, as_)
    our_log = server.by_config()
    assert len(CORPUS) >= 15
    differences = []
    for i, (name, _) in enumerate(CORPUS):
        a = [r.comparable() for r in sdk_log.get(i, [])]
        b = [r.comparable() for r in our_log.get(i, [])]
        if a != b:
            differences.append(f"{name}:\n  OpenHands {sdk_version} on LiteLLM {litellm}: {a}"
                               f"\n  llm-settings as {as_}: {b}")
        if not a:  # OpenHands' LiteLLM refused a parameter: no request, no answer
            assert theirs[i] != "answered" and ours[i] not in ("done", "error"), name
            continue
        key = _canary(i)
        assert any(key in json.dumps(r["headers"]) + json.dumps(r["query"]) for r in b), name
        assert all(_canary(j) not in json.dumps(r) for r in b for j in range(len(CORPUS))
                   if j != i), name
    assert not differences, "\n".join(differences)
    assert "answered" not in theirs and "done" not in ours  # every request reached the server


@pytest.mark.parametrize(("sdk_version", "litellm", "as_"), VARIANTS, ids=VARIANT_IDS)
def test_live_test_as_1x_retries_what_the_sdk_retries(server: LoggingServer, tmp_path: Path,
                                                      sdk_version: str, litellm: str, as_: str
                                                      ) -> None:
    """Each HTTP failure, two attempts allowed, no waits: the requests the SDK's own retry
    makes, and the live test's, are as many (1: not retried, 2: retried)."""
    python = openhands_venv.python_with([f"openhands-sdk=={sdk_version}.0",
                                         f"litellm=={litellm}"])
    configs = _retry_configs(server)
    path = tmp_path / "retries.json"
    path.write_text(json.dumps(configs))
    server.log.clear()
    p = subprocess.run([str(python), "-c", SDK_ATTEMPTS_SCRIPT, str(path), PROMPT],
                       capture_output=True, text=True, timeout=900, cwd=tmp_path,
                       env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
                            "LITELLM_LOCAL_MODEL_COST_MAP": "True"})
    assert p.returncode == 0, p.stderr[-3000:]
    theirs = json.loads(p.stdout.strip().splitlines()[-1])
    server.log.clear()
    with asyncio.Runner() as runner:
        for i, cfg in enumerate(configs):
            urllib.request.urlopen(f"{server.url}/__mark/{i}").read()
            events = runner.run(_engine(cfg, as_))
            assert _canary(i) not in "".join(e.to_json() for e in events)
            assert sum(isinstance(e, E.Attempt) for e in events) == \
                len(server.by_config()[i])  # every attempt is one request
    ours = {i: len(r) for i, r in server.by_config().items()}
    named = {s: (theirs[i], ours[i]) for i, s in enumerate(RETRY_STATUSES)}
    differ = {s: v for s, v in named.items() if v[0] != v[1]}
    assert not differ, f"(OpenHands {sdk_version}, llm-settings {as_}) attempts differ: {differ}"
    assert named["502"] == (1, 1) and named["503"] == (2, 2) and named["401"] == (1, 1)
    assert named["429q"] == (2, 2)  # an exhausted quota too, up to SDK 1.34


def _retry_configs(server: LoggingServer) -> list[dict[str, Any]]:
    return [{"model": "openai/gpt-4o", "base_url": f"{server.url}/s{s}/v1", "num_retries": 2,
             "retry_min_wait": 0, "retry_max_wait": 0, "retry_multiplier": 0,
             "api_key": _canary(i)} for i, s in enumerate(RETRY_STATUSES)]


async def _failure(cfg: dict[str, Any]) -> BaseException:
    """The exception LiteLLM raises for this config's answer (one request, no retries)."""
    litellm = L._load_litellm()
    try:
        await litellm.acompletion(model=cfg["model"], base_url=cfg["base_url"],
                                  api_key=cfg["api_key"], max_retries=0,
                                  messages=[{"role": "user", "content": PROMPT}])
    except Exception as e:
        return e
    raise AssertionError("the server answered")


def test_what_the_test_says_sdk_1_58_retries_is_what_it_retries(server: LoggingServer,
                                                                 tmp_path: Path) -> None:
    """The sentence on a failure ("from SDK 1.58 on OpenHands retries it / fails at once")
    against openhands-sdk 1.58.0's own retry (it needs an older LiteLLM: its own pin)."""
    python = openhands_venv.python_with(["openhands-sdk==1.58.0"])
    configs = _retry_configs(server)
    path = tmp_path / "retries.json"
    path.write_text(json.dumps(configs))
    p = subprocess.run([str(python), "-c", SDK_ATTEMPTS_SCRIPT, str(path), PROMPT],
                       capture_output=True, text=True, timeout=900, cwd=tmp_path,
                       env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
                            "LITELLM_LOCAL_MODEL_COST_MAP": "True"})
    assert p.returncode == 0, p.stderr[-3000:]
    theirs = json.loads(p.stdout.strip().splitlines()[-1])
    with asyncio.Runner() as runner:
        failures = [runner.run(_failure(cfg)) for cfg in configs]
    said = {s: (theirs[i], 2 if SDK.retried(failures[i], "1.58") else 1)
            for i, s in enumerate(RETRY_STATUSES)}
    differ = {s: v for s, v in said.items() if v[0] != v[1]}
    assert not differ, f"(SDK 1.58 attempts, what the live test says) differ: {differ}"
    changed = {s for i, s in enumerate(RETRY_STATUSES) if SDK.contrast(failures[i])}
    assert {"409", "502", "429q", "429b"} <= changed  # said on the failure
