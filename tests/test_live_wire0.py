"""Tested as OpenHands 0.x, the server gets the request OpenHands 0.62's own LiteLLM sends
(tui.live.wire0), not the pinned LiteLLM's; tested as 1.x, the pinned LiteLLM's. Each rule was
found, and is proven, by tests/e2e/test_e2e_request_openhands0.py against OpenHands 0.62."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests import fault_server as fs
from tui.core.config_file import ConfigFile
from tui.core.settings import load
from tui.live import check as L
from tui.live import events as E

KEY = "sk-CANARY-wire0-7c41d"


def run(tmp_path: Path, srv: fs.FaultServer, toml: str, as_: str = "0.x") -> list[E.Event]:
    """The live test's events for this [llm] table (the server's URL as ``{url}``)."""
    cfg = tmp_path / "config.toml"
    cfg.write_text(toml.replace("{url}", f"http://127.0.0.1:{srv.port}")
                   + f'api_key = "{KEY}"\n')
    values = L.values_of(load(ConfigFile.load(cfg), None, environ={}))

    async def go() -> list[E.Event]:
        return [e async for e in L.run(values, as_=as_)]

    events = asyncio.run(go())
    assert not any(KEY in e.to_json() for e in events)
    return events


@pytest.mark.parametrize("as_", ["0.x", "1.x"])
def test_openrouter_gets_no_usage_field_as_openhands_0x(tmp_path: Path, as_: str) -> None:
    """The pinned LiteLLM adds usage: {include: true} to every OpenRouter body; OpenHands
    0.x's does not. Also on a second attempt (the HTTP client is reopened)."""
    with fs.FaultServer() as srv:
        srv.push(fs.unavailable(), fs.ok("Ready."))
        events = run(tmp_path, srv, '[llm]\nmodel = "openrouter/anthropic/claude-3.5-sonnet"\n'
                     'base_url = "{url}/v1"\nnum_retries = 2\nretry_min_wait = 0\n'
                     'retry_max_wait = 0\n', as_)
        assert isinstance(events[-1], E.Done), events[-1]
        assert srv.count == 2
        assert all(("usage" in r.body) == (as_ == "1.x") for r in srv.chat)


def test_openrouter_and_deepseek_get_no_reasoning_effort_as_openhands_0x(tmp_path: Path
                                                                         ) -> None:
    with fs.FaultServer() as srv:
        for model in ("openrouter/deepseek/deepseek-r1-0528", "deepseek/deepseek-r1-0528"):
            events = run(tmp_path, srv, f'[llm]\nmodel = "{model}"\nbase_url = "{{url}}/v1"\n'
                         'reasoning_effort = "low"\nnum_retries = 1\n')
            assert isinstance(events[-1], E.Done), events[-1]
            started = events[0]
            assert isinstance(started, E.Started)
            assert "reasoning_effort left out: OpenHands 0.x's LiteLLM drops it" in started.note
        assert [("reasoning_effort" in r.body, "thinking" in r.body) for r in srv.chat] \
            == [(False, False), (False, False)]


def test_with_drop_params_off_the_live_test_refuses_as_openhands_0x_does(tmp_path: Path
                                                                        ) -> None:
    """OpenHands 0.x's LiteLLM refuses reasoning_effort for DeepSeek when drop_params is off:
    no request, and the reason; the pinned LiteLLM would have sent it."""
    with fs.FaultServer() as srv:
        events = run(tmp_path, srv, '[llm]\nmodel = "deepseek/deepseek-r1-0528"\n'
                     'base_url = "{url}/v1"\nreasoning_effort = "low"\ndrop_params = false\n')
        assert srv.count == 0
        last = events[-1]
        assert isinstance(last, E.Failed) and last.cause_kind == "unsupported_param"
        assert "refuses the request" in last.message and "drop_params" in last.advice


@pytest.mark.parametrize("as_", ["0.x", "1.x"])
def test_azure_gets_the_key_also_as_bearer_as_openhands_0x(tmp_path: Path, as_: str) -> None:
    with fs.FaultServer() as srv:
        events = run(tmp_path, srv, '[llm]\nmodel = "azure/my-deployment"\nbase_url = "{url}"\n'
                     'api_version = "2024-10-21"\nnum_retries = 1\n', as_)
        assert isinstance(events[-1], E.Done), events[-1]
        headers = srv.chat[0].headers
        assert headers["api-key"] == KEY
        assert headers.get("authorization") == (f"Bearer {KEY}" if as_ == "0.x" else None)


@pytest.mark.parametrize("as_", ["0.x", "1.x"])
def test_gemini_with_a_base_url_gets_the_key_as_bearer_as_openhands_0x(tmp_path: Path,
                                                                        as_: str) -> None:
    with fs.FaultServer() as srv:
        run(tmp_path, srv, '[llm]\nmodel = "gemini/gemini-2.0-flash"\nbase_url = "{url}"\n'
            'num_retries = 1\n', as_)
        sent = [r for r in srv.requests if "gemini-2.0-flash" in r.path]
        assert len(sent) == 1
        headers = sent[0].headers
        if as_ == "0.x":
            assert headers.get("authorization") == f"Bearer {KEY}"
            assert "x-goog-api-key" not in headers
        else:
            assert headers.get("x-goog-api-key") == KEY and "authorization" not in headers


def test_claude_opus_4_1_gets_no_disabled_thinking_as_openhands_0x(tmp_path: Path) -> None:
    with fs.FaultServer() as srv:
        run(tmp_path, srv, '[llm]\nmodel = "anthropic/claude-opus-4-1-20250805"\n'
            'base_url = "{url}"\nnum_retries = 1\n')
        sent = [r for r in srv.requests if r.path.endswith("/messages")]
        assert len(sent) == 1 and "thinking" not in sent[0].body
        assert sent[0].body["model"] == "claude-opus-4-1-20250805"


def test_copy_as_curl_writes_the_request_openhands_0x_sends() -> None:
    from tui.live.curl import curl_command
    from tui.live.request import completion_kwargs

    azure = curl_command(completion_kwargs({"model": "azure/dep", "api_key": KEY,
                                            "base_url": "https://res.openai.azure.com"}))
    assert '"api-key: $LLM_API_KEY"' in azure.command
    assert '"Authorization: Bearer $LLM_API_KEY"' in azure.command
    assert KEY not in azure.command and "extra_headers" not in azure.command
    r1 = {"model": "deepseek/deepseek-r1-0528", "reasoning_effort": "low", "api_key": KEY}
    assert "reasoning_effort" not in curl_command(completion_kwargs(r1)).command
    refused = curl_command(completion_kwargs({**r1, "drop_params": False}))
    assert not refused.command and "refuses the request" in refused.problem
