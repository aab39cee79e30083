"""The live test as OpenHands 1.x: the SDK's request, defaults and retries (tui/live/sdk.py).

Against the fault-injecting loopback server, like tests/test_live_test.py (whose fixtures are
shared); waits use a fake clock.
"""

# ruff: noqa: F811  (the shared fixtures are arguments of the tests)
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import fault_server as fs
from tests.keyring_env import CANARY
from tests.test_live_test import (  # noqa: F401  (fixtures)
    FakeClock,
    _server,
    cli,
    cli_env,
    collect,
    config,
    countdowns,
    engine,
    loop,
    of,
    settings,
    srv,
)
from tui.core.config_file import ConfigFile
from tui.core.settings import load
from tui.live import check as L
from tui.live import events as E
from tui.live import sdk as SDK

pytestmark = pytest.mark.filterwarnings("ignore:.*ReadOnly.*:UserWarning")


def only(srv: fs.FaultServer, **over: Any) -> dict[str, Any]:
    """Settings that set only these fields (model, URL and key included)."""
    return {"model": "openai/test-model", "api_key": CANARY, "base_url": srv.url, **over}


# -- the request -------------------------------------------------------------------------
def test_unset_fields_take_the_sdk_defaults(loop: Any, srv: fs.FaultServer) -> None:
    events = collect(loop, only(srv), as_="1.x")
    started = events[0]
    assert started.openhands == "1.x"
    assert started.summary().startswith("testing as OpenHands 1.x (SDK): openai/test-model")
    assert started.request.params["timeout"] == 300 and started.request.params["drop_params"]
    assert "stream_options" not in started.request.params  # the test's own, like stream
    assert "first token and each chunk within 300 s (timeout)" in started.limits
    assert [(a.n, a.total) for a in of(events, E.Attempt)] == [(1, 5)]
    body = srv.chat[0].body
    assert "temperature" not in body and "top_p" not in body  # the SDK sends none by default
    assert body["reasoning_effort"] == "high"
    assert body["messages"] == [{"role": "user", "content": [
        {"type": "text", "text": L.DEFAULT_PROMPT}]}]
    assert srv.chat[0].key == CANARY
    srv.reset()
    collect(loop, settings(srv))  # as 0.x: config.toml's defaults
    assert srv.chat[0].body["temperature"] == 0.0 and srv.chat[0].body["top_p"] == 1.0
    assert "reasoning_effort" not in srv.chat[0].body


def test_set_fields_win_over_the_sdk_defaults(loop: Any, srv: fs.FaultServer) -> None:
    events = collect(loop, only(srv, temperature=0.3, top_k=40, num_retries=2, timeout=45,
                                reasoning_effort="low", seed=9), as_="1.x")
    assert [(a.n, a.total) for a in of(events, E.Attempt)] == [(1, 2)]
    assert events[0].request.params["timeout"] == 45
    body = srv.chat[0].body
    assert body["seed"] == 9 and body["reasoning_effort"] == "low"
    assert body["top_k"] == 40.0 and isinstance(body["top_k"], float)  # the SDK's field: float
    # LiteLLM lists reasoning_effort for every openai/ model: the SDK then drops temperature
    assert "temperature" not in body
    srv.reset()
    collect(loop, only(srv, model="mistral/test-model", temperature=0.3), as_="1.x")
    assert srv.chat[0].body["temperature"] == 0.3


def test_settings_1x_does_not_read_are_named(loop: Any, srv: fs.FaultServer) -> None:
    events = collect(loop, only(srv, completion_kwargs={"presence_penalty": 0.5},
                                custom_llm_provider="openai"), as_="1.x")
    assert events[0].note == "OpenHands 1.x does not read custom_llm_provider, completion_kwargs"
    assert "presence_penalty" not in srv.chat[0].body


def test_request_shaping_like_the_sdk(engine: Any) -> None:
    def kw(**values: Any) -> dict[str, Any]:
        full = SDK.effective(values)
        info = SDK.model_info(full["model"], full["base_url"], None, engine)
        return SDK.completion_kwargs(full, engine, "hi", info)

    azure = kw(model="azure/gpt-4o")
    assert azure["api_version"] == "2024-12-01-preview" and azure["max_tokens"] == 16384
    assert "max_completion_tokens" not in azure
    thinking = kw(model="anthropic/claude-sonnet-4-5-20250929", max_output_tokens=20000,
                  temperature=0.5)
    assert thinking["thinking"] == {"type": "enabled", "budget_tokens": 19999}
    assert thinking["extra_headers"]["anthropic-beta"] == "interleaved-thinking-2025-05-14"
    assert thinking["max_tokens"] == 20000 and "temperature" not in thinking
    assert thinking["messages"][0]["content"][0]["cache_control"] == {"type": "ephemeral"}
    uncached = kw(model="anthropic/claude-sonnet-4-20250514", caching_prompt=False)
    assert "cache_control" not in uncached["messages"][0]["content"][0]
    assert uncached["max_completion_tokens"] == 64000
    assert kw(model="openai/gpt-5")["prompt_cache_retention"] == "24h"
    assert "prompt_cache_retention" not in kw(model="openai/gpt-5-mini")
    gemini = kw(model="gemini/gemini-2.5-pro", temperature=0.4)
    assert gemini["reasoning_effort"] == "high" and gemini["temperature"] == 0.4
    proxy = kw(model="openhands/claude-sonnet-4-20250514")
    assert proxy["model"] == "litellm_proxy/claude-sonnet-4-20250514"
    assert proxy["base_url"] == SDK.OPENHANDS_PROXY
    assert kw(model="openai/gpt-4o", base_url="https://api.openai.com/")["base_url"] is None
    assert kw(model="deepseek/deepseek-chat")["messages"][0]["content"] == "hi"
    plain = kw(model="openai/local-llama", native_tool_calling=False, disable_vision=True)
    assert plain["messages"][0]["content"] == "hi"  # no tools, vision or caching: a string
    seeing = kw(model="openai/gpt-4o", native_tool_calling=False)
    assert seeing["messages"][0]["content"] == [{"type": "text", "text": "hi"}]
    assert kw(model="openai/gpt-4o")["extra_headers"] == {
        "HTTP-Referer": "https://docs.all-hands.dev/", "X-Title": "OpenHands"}


def test_max_tokens_like_the_sdk() -> None:
    info = {"max_output_tokens": 32000, "max_input_tokens": 32000}
    assert SDK.max_tokens("openai/m", None, None, None, info) == (16000, 32000)  # halved
    assert SDK.max_tokens("openai/m", "http://x", None, None,
                          {"max_output_tokens": 65536})[0] == 16384  # 1.34's cap
    assert SDK.max_tokens("openai/m", "http://x", None, None, {"max_output_tokens": 65536},
                          "1.21")[0] == 65536
    assert SDK.max_tokens("openai/m", None, None, None, {"max_tokens": 100000})[0] == 16384
    assert SDK.max_tokens("openai/o3", None, None, None, {"max_output_tokens": 200000}
                          )[0] == 100000
    assert SDK.max_tokens("openai/m", None, 777, None, info)[0] == 777


def test_a_small_context_window_is_refused_as_the_sdk_does(loop: Any,
                                                          srv: fs.FaultServer) -> None:
    failed = collect(loop, only(srv, max_input_tokens=8192), as_="1.x")[-1]
    assert failed.cause_kind == "context_too_small" and srv.count == 0
    assert "8192" in failed.message and "ALLOW_SHORT_CONTEXT_WINDOWS" in failed.advice


def test_a_litellm_proxy_is_asked_for_its_model_info(loop: Any, srv: fs.FaultServer,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[tuple[str, dict[str, str]]] = []

    def get(url: str, headers: dict[str, str], timeout: float) -> httpx.Response:
        asked.append((url, headers))
        data = [{"model_name": "test-model", "model_info": {"max_output_tokens": 1234}}]
        return httpx.Response(200, json={"data": data})

    monkeypatch.setattr(httpx, "get", get)
    collect(loop, only(srv, model="litellm_proxy/test-model", base_url=srv.url), as_="1.x")
    assert asked == [(f"{srv.url}/v1/model/info", {"Authorization": f"Bearer {CANARY}"})]
    assert srv.chat[0].body["max_completion_tokens"] == 1234


def test_set_values_keeps_only_what_the_file_sets(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text('[llm]\nmodel = "openai/o3"\nnum_retries = 4\n')
    values = SDK.set_values(load(ConfigFile.load(cfg), environ={"LLM_API_KEY": CANARY}))
    assert values == {"model": "openai/o3", "num_retries": 4, "api_key": CANARY}
    full = SDK.effective(values)
    assert (full["num_retries"], full["retry_min_wait"], full["timeout"]) == (4, 8, 300)


# -- retries -----------------------------------------------------------------------------
def test_waits_are_the_sdks(loop: Any, srv: fs.FaultServer) -> None:
    srv.push(fs.server_error(), fs.unavailable())
    events = collect(loop, only(srv), as_="1.x")
    assert srv.count == 3 and isinstance(events[-1], E.Done)
    assert [len(c) for c in countdowns(events)] == [8, 16]  # 8·2^(n-1) within 8..64 s
    assert [w.total_seconds for w in of(events, E.Waiting)][::8][:1] == [8]


def _error(engine: Any, name: str, message: str, status: int | None = None) -> Exception:
    cls = getattr(engine, name)
    if name == "APIError":
        return cls(status, message, "openai", "m")
    if name == "BudgetExceededError":
        return cls(current_cost=2.0, max_budget=1.0)
    return cls(message, "openai", "m")


@pytest.mark.parametrize(("name", "message", "status", "sdk_134", "sdk_158"), [
    ("RateLimitError", "Rate limit reached", None, True, True),
    ("RateLimitError", "You exceeded your current quota: insufficient_quota", None, True,
     False),
    ("RateLimitError", "budget_exceeded for this key", None, True, False),
    ("BudgetExceededError", "", None, False, False),
    ("BadGatewayError", "bad gateway", None, False, True),
    ("APIError", "conflict", 409, False, True),
    ("APIError", "request timeout", 408, False, True),
    ("InternalServerError", "boom", None, True, True),
    ("ServiceUnavailableError", "overloaded", None, True, True),
    ("Timeout", "timed out", None, True, True),
    ("APIConnectionError", "refused", None, True, True),
    ("AuthenticationError", "invalid api key", None, False, False),
    ("BadRequestError", "bad", None, False, False),
])
def test_which_failures_the_sdk_retries(engine: Any, name: str, message: str,
                                        status: int | None, sdk_134: bool,
                                        sdk_158: bool) -> None:
    exc = _error(engine, name, message, status)
    assert (SDK.retried(exc), SDK.retried(exc, "1.58")) == (sdk_134, sdk_158)
    assert bool(SDK.contrast(exc)) == (sdk_134 != sdk_158)
    assert SDK.retried(None) is True  # an empty answer (LLMNoResponseError)


def test_quota_is_retried_as_1x_and_the_difference_said(loop: Any, srv: fs.FaultServer) -> None:
    quota = fs.error(429, "insufficient_quota: You exceeded your current quota.",
                     "insufficient_quota", "insufficient_quota")
    srv.push(quota, quota)
    events = collect(loop, only(srv, num_retries=2), as_="1.x")
    assert srv.count == 2 and len(countdowns(events)) == 1  # SDK 1.34 retries RateLimitError
    failed = events[-1]
    assert failed.cause_kind == "quota"
    assert ("OpenHands 0.x and 1.x up to SDK 1.34 (the CLI's 1.21, the web app's 1.34) retry "
            "this (HTTP 429); from SDK 1.58 on OpenHands fails at once") in failed.advice


def test_bad_gateway_fails_at_once_as_1x(loop: Any, srv: fs.FaultServer) -> None:
    srv.push(fs.error(502, "upstream trouble", "server_error"))
    failed = collect(loop, only(srv), as_="1.x")[-1]
    assert srv.count == 1 and failed.status == 502
    assert "from SDK 1.58 on OpenHands retries it" in failed.advice


def test_empty_answer_keeps_an_unset_temperature_unset(loop: Any, srv: fs.FaultServer) -> None:
    srv.push(fs.empty())
    events = collect(loop, only(srv), as_="1.x")
    assert srv.count == 2 and isinstance(events[-1], E.Done)
    assert ["temperature" in r.body for r in srv.chat] == [False, False]
    srv.reset()
    srv.push(fs.empty())
    collect(loop, only(srv, model="mistral/test-model", temperature=0.0), as_="1.x")
    assert [r.body["temperature"] for r in srv.chat] == [0.0, 1.0]
    assert SDK.empty_answer_temperature(None, "1.21") == 1.0


# -- the CLI -----------------------------------------------------------------------------
def test_cli_as_1x(srv: fs.FaultServer, tmp_path: Path, cli_env: dict[str, str]) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f'[llm]\nmodel = "openai/test-model"\nbase_url = "{srv.url}"\n')
    p = cli(["--config", str(path), "test", "--as", "1.x", "--json"], cli_env, tmp_path)
    assert p.returncode == 0, p.stderr
    events = [json.loads(x) for x in p.stdout.splitlines()]
    assert events[0]["openhands"] == "1.x" and events[0]["request"]["params"]["timeout"] == 300
    assert events[1] == {"event": "attempt", "n": 1, "total": 5}
    assert "temperature" not in srv.chat[0].body
    bad = cli(["--config", str(path), "test", "--as", "2.x"], cli_env, tmp_path)
    assert bad.returncode == 2 and "'2.x' is not one of '0.x', '1.x'" in bad.stderr


def test_cli_default_is_0x(srv: fs.FaultServer, tmp_path: Path,
                           cli_env: dict[str, str]) -> None:
    p = cli(["--config", str(config(tmp_path, srv)), "test", "--json"], cli_env, tmp_path)
    assert json.loads(p.stdout.splitlines()[0])["openhands"] == "0.x"
    assert srv.chat[0].body["temperature"] == 0.0


def test_no_textual_or_litellm_import(tmp_path: Path) -> None:
    code = ("import sys, tui.live.sdk; "
            "print(sorted(m for m in ('litellm', 'textual') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parent.parent, timeout=120, check=True)
    assert out.stdout.strip() == "[]"


def test_a_failure_both_retry_says_each_generations_attempts(loop: Any,
                                                             srv: fs.FaultServer) -> None:
    srv.default = fs.server_error()
    failed = collect(loop, only(srv))[-1]  # as 0.x: config.toml's 4 attempts
    assert srv.count == 4 and failed.cause_kind == "server_error"
    assert failed.advice.endswith("OpenHands 0.x makes 4 attempts (waits 5, 5, 8 s), "
                                  "OpenHands 1.x 5 attempts (waits 8, 16, 32, 64 s).")
    srv.reset()
    srv.default = fs.error(401, "bad key", "invalid_request_error")
    assert "attempts" not in collect(loop, only(srv), as_="1.x")[-1].advice  # not retried
    assert SDK.plans({"num_retries": 3, "retry_min_wait": 1, "retry_max_wait": 1,
                      "retry_multiplier": 1}) == ""  # the file sets all four: no difference
