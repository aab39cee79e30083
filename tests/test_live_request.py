"""The live test's request equals OpenHands 0.62's: one test per difference found by the
differential e2e test (tests/e2e/test_e2e_request_openhands0.py), runnable without OpenHands."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tui.core import fields as F
from tui.core.config_file import ConfigFile
from tui.core.settings import load
from tui.live import request as R

KEY = "sk-CANARY-request-5d1e"


def kwargs_of(tmp_path: Path, toml: str, group: str | None = None) -> dict[str, Any]:
    """The request built from a config.toml, as `llm-settings test` builds it."""
    cfg = tmp_path / "config.toml"
    cfg.write_text(toml)
    values = {n: v.value for n, v in load(ConfigFile.load(cfg), group, environ={}).values.items()}
    return R.completion_kwargs(values)


def body(kw: dict[str, Any], *names: str) -> str:
    """The JSON these arguments become (what the server reads: 40 and 40.0 differ)."""
    return json.dumps({n: kw.get(n) for n in names})


def test_number_fields_are_sent_as_openhands_types_them(tmp_path: Path) -> None:
    """OpenHands' top_k, temperature and top_p are floats: `top_k = 40` is sent as 40.0."""
    kw = kwargs_of(tmp_path, '[llm]\nmodel = "openai/gpt-4o"\ntemperature = 1\ntop_p = 1\n'
                   'top_k = 40\nseed = 3\nmax_output_tokens = 100\n')
    assert body(kw, "temperature", "top_p", "top_k", "seed", "max_completion_tokens") == (
        '{"temperature": 1.0, "top_p": 1.0, "top_k": 40.0, "seed": 3, '
        '"max_completion_tokens": 100}')
    floats = {f.name for f in F.FIELDS if f.type is float}
    assert {"temperature", "top_p", "top_k"} <= floats


def test_claude_sonnet_4_keeps_top_p(tmp_path: Path) -> None:
    """OpenHands 0.62 drops top_p only for Opus 4.1; Sonnet 4 gets both samplers."""
    for model in ("litellm_proxy/claude-sonnet-4", "anthropic/claude-sonnet-4-20250514"):
        kw = kwargs_of(tmp_path, f'[llm]\nmodel = "{model}"\n')
        assert body(kw, "temperature", "top_p") == '{"temperature": 0.0, "top_p": 1.0}'
    kw = kwargs_of(tmp_path, '[llm]\nmodel = "anthropic/claude-opus-4-1-20250805"\n'
                   'top_p = 0.9\n')
    assert "top_p" not in kw and kw["thinking"] == {"type": "disabled"}


def test_anthropic_without_a_known_limit_asks_for_4096_tokens(tmp_path: Path) -> None:
    """OpenHands 0.x runs litellm < 1.78, which asks Anthropic for 4096 tokens when neither
    the settings nor the catalog give a limit (later litellm asks for 128000, which
    Anthropic refuses for most models): the live test asks what OpenHands asks."""
    kw = kwargs_of(tmp_path, '[llm]\nmodel = "anthropic/claude-3-5-haiku-20241022"\n')
    assert kw["max_completion_tokens"] == R.ANTHROPIC_0X_MAX_TOKENS == 4096
    kw = kwargs_of(tmp_path, '[llm]\nmodel = "anthropic/claude-3-5-haiku-20241022"\n'
                   "max_output_tokens = 300\n")
    assert kw["max_completion_tokens"] == 300
    kw = kwargs_of(tmp_path, '[llm]\nmodel = "anthropic/claude-sonnet-4-20250514"\n')
    assert kw["max_completion_tokens"] == 64000  # OpenHands' own Sonnet limit
    kw = kwargs_of(tmp_path, '[llm]\nmodel = "openai/local-model"\n')
    assert kw["max_completion_tokens"] is None  # other providers: none is sent


def test_a_litellm_proxy_model_takes_its_limit_from_the_proxy(tmp_path: Path) -> None:
    """OpenHands 0.x asks the proxy (GET /v1/model/info) for a litellm_proxy/ model's limits
    before its first request, and sends that max_output_tokens (else max_tokens)."""
    toml = '[llm]\nmodel = "litellm_proxy/team-coder"\nbase_url = "http://proxy:4000"\n'
    assert kwargs_of(tmp_path, toml)["max_completion_tokens"] is None  # nothing known
    assert R.completion_kwargs(values_of_toml(tmp_path, toml), model_info={
        "max_output_tokens": 12345, "max_tokens": 99})["max_completion_tokens"] == 12345
    assert R.completion_kwargs(values_of_toml(tmp_path, toml), model_info={
        "max_tokens": 2222})["max_completion_tokens"] == 2222


def values_of_toml(tmp_path: Path, toml: str) -> dict[str, Any]:
    cfg = tmp_path / "config.toml"
    cfg.write_text(toml)
    return {n: v.value for n, v in load(ConfigFile.load(cfg), environ={}).values.items()}


def test_the_live_test_asks_the_proxy_like_openhands(tmp_path: Path) -> None:
    """The live test makes OpenHands' GET /v1/model/info (same URL, same key) and sends the
    limit the proxy reports."""
    import asyncio

    from tests import fault_server as fs
    from tui.live import check as L
    from tui.live import events as E

    with fs.FaultServer() as srv:
        srv.model_info = [{"model_name": "other", "model_info": {"max_output_tokens": 1}},
                          {"model_name": "team-coder", "model_info": {"max_output_tokens": 777}}]
        root = f"http://127.0.0.1:{srv.port}"
        values = values_of_toml(tmp_path, f'[llm]\nmodel = "litellm_proxy/team-coder"\n'
                                f'base_url = "{root}"\napi_key = "{KEY}"\nnum_retries = 1\n')

        async def go() -> list[E.Event]:
            return [e async for e in L.run(values)]

        events = asyncio.run(go())
        assert isinstance(events[-1], E.Done), events[-1]
        info = [r for r in srv.requests if r.path.endswith("/model/info")]
        assert [r.path for r in info] == ["/v1/model/info"] and info[0].key == KEY
        assert srv.chat[0].body["max_completion_tokens"] == 777
        assert not any(KEY in e.to_json() for e in events)


def test_the_openhands_provider_goes_to_the_openhands_proxy(tmp_path: Path) -> None:
    """OpenHands 0.62 sends an openhands/ model as litellm_proxy/ to its own LLM proxy,
    whatever base_url says; the live test sends it there too."""
    kw = kwargs_of(tmp_path, '[llm]\nmodel = "openhands/claude-sonnet-4-20250514"\n'
                   'base_url = "http://127.0.0.1:9/v1"\n')
    assert kw["model"] == "litellm_proxy/claude-sonnet-4-20250514"
    assert kw["base_url"] == R.OPENHANDS_PROXY == "https://llm-proxy.app.all-hands.dev/"
    assert (kw["max_completion_tokens"], kw["top_p"]) == (64000, 1.0)
    kw = kwargs_of(tmp_path, '[llm]\nmodel = "openhands/gpt-5-2025-08-07"\n'
                   'reasoning_effort = "low"\n')
    assert kw["reasoning_effort"] == "low" and "temperature" not in kw


def test_max_retries_goes_only_where_litellm_uses_the_openai_sdk(tmp_path: Path) -> None:
    """max_retries = 0 turns off the OpenAI SDK's silent retries; litellm would put it (or
    num_retries) into the body of a Hugging Face request, which OpenHands never sends."""
    kw = kwargs_of(tmp_path, '[llm]\nmodel = "huggingface/Qwen/Qwen2.5-Coder-32B-Instruct"\n')
    assert "max_retries" not in kw and "num_retries" not in kw
    for model in ("openai/gpt-4o", "azure/prod", "litellm_proxy/gpt-4o"):
        kw = kwargs_of(tmp_path, f'[llm]\nmodel = "{model}"\n')
        assert (kw["max_retries"], kw["num_retries"]) == (0, 0)


def test_no_hidden_retries_without_max_retries(tmp_path: Path) -> None:
    """A provider sent no num_retries / max_retries still gets exactly one request per
    attempt: a 429 and a 500 reach the server once each."""
    import asyncio

    from tests import fault_server as fs
    from tui.live import check as L
    from tui.live import events as E

    with fs.FaultServer() as srv:
        for reply in (fs.rate_limited(), fs.error(500, "boom", "server_error")):
            srv.reset()
            srv.push(reply)
            values = values_of_toml(tmp_path, f'[llm]\nmodel = "groq/test-model"\n'
                                    f'base_url = "{srv.url}"\napi_key = "{KEY}"\n'
                                    "num_retries = 1\n")
            assert "max_retries" not in R.completion_kwargs(values)

            async def go(v: dict[str, Any] = values) -> list[E.Event]:
                return [e async for e in L.run(v)]

            events = asyncio.run(go())
            assert isinstance(events[-1], E.Failed) and srv.count == 1, events[-1]


def test_model_names_are_matched_with_openhands_case_rules(tmp_path: Path) -> None:
    """OpenHands matches "gemini-2.5-pro", the Claude 4.5 names, "azure" and "huggingface"
    case-sensitively (its reasoning-model list case-insensitively)."""
    kw = kwargs_of(tmp_path, '[llm]\nmodel = "gemini/Gemini-2.5-Pro"\n')
    assert "thinking" not in kw and "temperature" not in kw  # a reasoning model, no budget
    kw = kwargs_of(tmp_path, '[llm]\nmodel = "anthropic/Claude-Sonnet-4-5"\n'
                   'reasoning_effort = "low"\n')
    assert kw["reasoning_effort"] == "low"
    kw = kwargs_of(tmp_path, '[llm]\nmodel = "HuggingFace/some-model"\n')
    assert kw["top_p"] == 1.0
