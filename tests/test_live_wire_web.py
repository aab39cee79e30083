"""Tested as OpenHands' 1.x web app, the server gets the request the web app sends (SDK 1.34 on
its own LiteLLM, 1.84.1: tui.live.wire_web), not the one SDK 1.34 sends on the pinned LiteLLM
(tested as 1.x). Each rule is proven by tests/e2e/test_e2e_request_sdk.py against the web app's
own SDK and LiteLLM; here each shows as the difference a server sees."""

# ruff: noqa: F811  (the shared fixture is an argument of a test)
from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from tests import fault_server as fs
from tests.test_live_test import cli, cli_env  # noqa: F401  (a fixture)
from tui.core.config_file import ConfigFile
from tui.core.settings import load
from tui.live import check as L
from tui.live import events as E
from tui.live import sdk as SDK

KEYS = {"web": "sk-CANARY-wire-web-5e02a", "1.x": "sk-CANARY-wire-1x-91b7c"}


def run(tmp_path: Path, srv: fs.FaultServer, toml: str, as_: str) -> list[E.Event]:
    """The live test's events for this [llm] table (the server's URL as ``{url}``)."""
    cfg = tmp_path / "config.toml"
    cfg.write_text(toml.replace("{url}", f"http://127.0.0.1:{srv.port}")
                   + f'api_key = "{KEYS[as_]}"\nnum_retries = 1\n')
    values = SDK.set_values(load(ConfigFile.load(cfg), None, environ={}))

    async def go() -> list[E.Event]:
        return [e async for e in L.run(values, as_=as_)]

    events = asyncio.run(go())
    assert not any(key in e.to_json() + e.summary() for e in events for key in KEYS.values())
    return events


def bodies(tmp_path: Path, toml: str, path: str = "/chat/completions"
           ) -> dict[str, dict[str, Any]]:
    """The body the server got, as the web app and as 1.x (one request each)."""
    out = {}
    for as_ in ("web", "1.x"):
        with fs.FaultServer() as srv:
            run(tmp_path, srv, toml, as_)
            sent = [r for r in srv.requests if path in r.path]
            assert len(sent) == 1, (as_, [r.path for r in srv.requests])
            assert sent[0].key == KEYS[as_] or KEYS[as_] in str(sent[0].headers)
            out[as_] = sent[0].body
    return out


def test_a_local_openai_model_gets_no_reasoning_effort_and_keeps_its_samplers(
        tmp_path: Path) -> None:
    """R1: the pinned LiteLLM says an unknown openai/ model takes reasoning_effort (the SDK
    then drops temperature and top_p); the web app's LiteLLM does not."""
    got = bodies(tmp_path, '[llm]\nmodel = "openai/local-llama"\nbase_url = "{url}/v1"\n'
                 'temperature = 0.2\ntop_p = 0.9\n')
    assert got["1.x"].get("reasoning_effort") == "high" and "temperature" not in got["1.x"]
    assert "reasoning_effort" not in got["web"]
    assert (got["web"]["temperature"], got["web"]["top_p"]) == (0.2, 0.9)


def test_an_openrouter_model_not_known_to_reason_gets_no_reasoning_effort(tmp_path: Path
                                                                          ) -> None:
    """R1: the pinned LiteLLM gives every OpenRouter model reasoning_effort; the web app's
    only those the catalog says reason (it has no openrouter/anthropic/claude-3.5-sonnet)."""
    got = bodies(tmp_path, '[llm]\nmodel = "openrouter/anthropic/claude-3.5-sonnet"\n'
                 'base_url = "{url}/v1"\n')
    assert got["1.x"]["reasoning_effort"] == "high" and "reasoning_effort" not in got["web"]


def test_gpt_4_1_gets_no_prompt_cache_retention(tmp_path: Path) -> None:
    """R3: the web app's LiteLLM loses prompt_cache_retention on the way."""
    got = bodies(tmp_path, '[llm]\nmodel = "openai/gpt-4.1"\nbase_url = "{url}/v1"\n')
    assert got["1.x"]["prompt_cache_retention"] == "24h"
    assert "prompt_cache_retention" not in got["web"]


def test_an_unlisted_anthropic_model_gets_max_tokens_4096(tmp_path: Path) -> None:
    """R4: a Claude model of unknown output limit: 4096 tokens from the web app's LiteLLM
    (the pinned one sends 128000)."""
    got = bodies(tmp_path, '[llm]\nmodel = "anthropic/claude-3-5-haiku-20241022"\n'
                 'base_url = "{url}"\n', "/messages")
    assert (got["web"]["max_tokens"], got["1.x"]["max_tokens"]) == (4096, 128000)


def test_claude_sonnet_4_gets_no_thinking_known_only_from_a_catalog_rule(tmp_path: Path
                                                                          ) -> None:
    """R0/R1: the catalog knows claude-sonnet-4-20250514 only through a generalization rule,
    which the web app's LiteLLM does not read: no reasoning, so no thinking."""
    got = bodies(tmp_path, '[llm]\nmodel = "anthropic/claude-sonnet-4-20250514"\n'
                 'base_url = "{url}"\n', "/messages")
    assert got["1.x"]["thinking"]["type"] == "enabled"
    assert "thinking" not in got["web"] and got["web"]["max_tokens"] == 64000


def test_claude_opus_4_1_gets_the_max_tokens_of_an_unknown_model(tmp_path: Path) -> None:
    """R2: no model info from a generalization, so the SDK sets no output limit (R4: 4096)."""
    got = bodies(tmp_path, '[llm]\nmodel = "anthropic/claude-opus-4-1-20250805"\n'
                 'base_url = "{url}"\ncaching_prompt = false\n', "/messages")
    assert got["1.x"]["max_tokens"] == 16384 and got["web"]["max_tokens"] == 4096


@pytest.mark.parametrize(("effort", "thinking"), [("high", {"type": "enabled"}),
                                                  ("none", None)])
def test_deepseek_gets_thinking_instead_of_reasoning_effort(tmp_path: Path, effort: str,
                                                            thinking: Any) -> None:
    """R5: the web app's LiteLLM turns reasoning_effort into thinking for DeepSeek and does
    not send reasoning_effort; "none" sends neither."""
    got = bodies(tmp_path, '[llm]\nmodel = "deepseek/deepseek-chat"\nbase_url = "{url}/v1"\n'
                 f'reasoning_effort = "{effort}"\n')
    assert "reasoning_effort" not in got["web"] and got["web"].get("thinking") == thinking
    assert got["1.x"].get("thinking") != thinking or "reasoning_effort" in got["1.x"]


def test_gemini_seed_is_dropped_or_the_request_refused(tmp_path: Path) -> None:
    """R6: the web app's LiteLLM has no seed for Gemini: dropped with drop_params on, and
    with it off no request at all (the pinned LiteLLM sends generationConfig.seed)."""
    toml = '[llm]\nmodel = "gemini/gemini-2.0-flash"\nbase_url = "{url}"\nseed = 5\n'
    got = bodies(tmp_path, toml, ":streamGenerateContent")
    assert got["1.x"]["generationConfig"]["seed"] == 5
    assert "seed" not in got["web"].get("generationConfig", {})
    with fs.FaultServer() as srv:
        events = run(tmp_path, srv, toml + "drop_params = false\n", "web")
        assert srv.count == 0 and not srv.requests
    last = events[-1]
    assert isinstance(last, E.Failed) and last.cause_kind == "unsupported_param"
    assert "refuses the request" in last.message and "leave out seed" in last.advice
    started = events[0]
    assert isinstance(started, E.Started) and started.openhands == "web"
    assert started.summary().startswith(f"testing {SDK.LABELS['web']}: ")


def test_a_newer_claude_gets_budget_thinking_not_adaptive(tmp_path: Path) -> None:
    """R7: for a Claude name newer than it knows, the web app's LiteLLM maps reasoning_effort
    to thinking with a budget, not the pinned LiteLLM's adaptive thinking."""
    got = bodies(tmp_path, '[llm]\nmodel = "anthropic/claude-opus-4-8"\nbase_url = "{url}"\n'
                 'reasoning_effort = "medium"\n', "/messages")
    assert got["1.x"]["thinking"]["type"] == "adaptive" and "output_config" in got["1.x"]
    assert got["web"]["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    assert "output_config" not in got["web"]


def test_the_note_says_what_the_web_app_does_otherwise(tmp_path: Path) -> None:
    with fs.FaultServer() as srv:
        events = run(tmp_path, srv, '[llm]\nmodel = "openai/gpt-5"\nbase_url = "{url}/v1"\n'
                     'custom_llm_provider = "openai"\n', "web")
        assert isinstance(events[-1], E.Done), events[-1]
    started = events[0]
    assert isinstance(started, E.Started)
    assert started.note == ("OpenHands 1.x does not read custom_llm_provider; "
                            "prompt_cache_retention left out: the web app's LiteLLM (1.84.1) "
                            "loses it")


def test_cli_test_as_web(tmp_path: Path, cli_env: dict[str, str]) -> None:
    """``llm-settings test --as web``: the web app's request (a local model: no
    reasoning_effort, which --as 1.x sends), and the events say which OpenHands it is."""
    with fs.FaultServer() as srv:
        path = tmp_path / "config.toml"
        path.write_text(f'[llm]\nmodel = "openai/test-model"\nbase_url = "{srv.url}"\n'
                        "num_retries = 1\n")
        for as_ in ("web", "1.x"):
            p = cli(["--config", str(path), "test", "--as", as_, "--json"], cli_env, tmp_path)
            assert p.returncode == 0, p.stderr
            assert json.loads(p.stdout.splitlines()[0])["openhands"] == as_
        assert ["reasoning_effort" in r.body for r in srv.chat] == [False, True]
