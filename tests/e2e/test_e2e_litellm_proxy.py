"""End to end: the live test through a real LiteLLM Proxy on loopback (the litellm_proxy/ guide).

The proxy is litellm's own (``litellm --config proxy.yaml``), started once for the module with a
master key and no database; its models answer with ``mock_response``, so nothing leaves the
machine. The settings are what the LiteLLM Proxy guide of the catalog writes.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import sys
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e import servers as S
from tui.core.presets import apply_preset, preset_for
from tui.core.servers import FetchError, fetch_models
from tui.live import events as E

pytestmark = [pytest.mark.timeout(300),
              pytest.mark.filterwarnings("ignore:.*ReadOnly.*:UserWarning")]

# Everything `litellm --config` imports on the way to serving (litellm[proxy] minus the pins
# this registry cannot satisfy; see the e2e group of pyproject.toml).
PROXY_MODULES = ("fastapi", "uvicorn", "gunicorn", "orjson", "apscheduler", "backoff", "yaml",
                 "multipart", "jwt", "cryptography", "rq", "websockets", "fastapi_sso", "nacl",
                 "litellm_proxy_extras", "litellm_enterprise", "semver", "expression", "mcp",
                 "soundfile", "uvloop")
ANSWER = "Hello from the mock proxy, ready to help."
MODELS = ("mock-gpt", "mock-sonnet")
MASTER_KEY = f"sk-e2e-master-{secrets.token_hex(12)}"
WRONG_KEY = f"sk-e2e-wrong-{secrets.token_hex(12)}"

PROXY_CONFIG = """\
model_list:
{models}
general_settings:
  master_key: {key}
litellm_settings:
  telemetry: false
"""
MODEL_ENTRY = """\
  - model_name: {name}
    litellm_params:
      model: openai/{name}
      api_key: not-used
      mock_response: {answer}
"""


# -- fixtures ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S.Server]:
    """One real LiteLLM Proxy for the module: master key, no database, mocked models."""
    S.require("the LiteLLM Proxy", PROXY_MODULES)
    litellm_bin = Path(sys.executable).parent / "litellm"
    if not litellm_bin.exists():
        pytest.fail(f"{litellm_bin} is missing: litellm is not installed in this venv")
    home = tmp_path_factory.mktemp("proxy")
    entries = "".join(MODEL_ENTRY.format(name=n, answer=json.dumps(ANSWER)) for n in MODELS)
    config = home / "proxy.yaml"
    config.write_text(PROXY_CONFIG.format(models=entries.rstrip("\n"), key=MASTER_KEY))
    port = S.free_port()
    env = S.server_env(home, LITELLM_LOCAL_MODEL_COST_MAP="True",  # no catalog download
                       LITELLM_LOG="ERROR", DISABLE_ADMIN_UI="True")
    argv = [str(litellm_bin), "--config", str(config), "--host", "127.0.0.1", "--port",
            str(port)]
    with S.serve("litellm-proxy", argv, port=port, ready_path="/health/liveliness", cwd=home,
                 env=env, timeout=180) as server:
        yield server
        assert server.alive(), f"the proxy died during the tests:\n{server.log_tail()}"


@pytest.fixture(scope="module")
def loop() -> Iterator[Callable[[Coroutine[Any, Any, Any]], Any]]:
    """One event loop for the module (litellm keeps its HTTP clients per loop)."""
    with asyncio.Runner() as runner:
        yield runner.run


def guide_settings(proxy: S.Server, model: str = MODELS[0], **over: Any) -> dict[str, Any]:
    """What the LiteLLM Proxy guide writes for this proxy, plus ``over``."""
    settings = apply_preset(preset_for("litellm_proxy"), {"model": model,
                                                          "base_url": proxy.url})
    assert settings["model"] == f"litellm_proxy/{model}"
    assert settings["base_url"] == proxy.url
    return {**settings, "num_retries": 3, "retry_min_wait": 1, "retry_max_wait": 2, **over}


@pytest.fixture
def config(proxy: S.Server, tmp_path: Path) -> Path:
    return S.write_config(tmp_path / "config.toml", guide_settings(proxy))


# -- the engine ------------------------------------------------------------------------
def test_master_key_streams_the_mocked_answer(proxy: S.Server, config: Path,
                                              loop: Any) -> None:
    events = S.run_engine(loop, S.values_from(config, MASTER_KEY), MASTER_KEY)
    done = events[-1]
    assert isinstance(done, E.Done), done.to_json()
    tokens = [e.text for e in events if isinstance(e, E.Token)]
    assert len(tokens) > 1  # streamed in pieces, not one block
    assert "".join(tokens) == done.stats.text == ANSWER
    stats = done.stats
    assert stats.attempts == 1 and stats.finish_reason == "stop"
    assert stats.ttft_s is not None and 0 < stats.ttft_s <= stats.duration_s
    assert stats.completion_tokens and stats.prompt_tokens
    assert stats.request.provider == "litellm_proxy" and stats.request.url == proxy.url
    assert stats.request.key == "****" + MASTER_KEY[-4:]


def test_each_model_of_the_proxy_answers(proxy: S.Server, tmp_path: Path, loop: Any) -> None:
    config = S.write_config(tmp_path / "config.toml", guide_settings(proxy, MODELS[1]))
    done = S.run_engine(loop, S.values_from(config, MASTER_KEY), MASTER_KEY)[-1]
    assert isinstance(done, E.Done), done.to_json()
    assert done.stats.text == ANSWER


def test_wrong_key_fails_at_once_without_retries(proxy: S.Server, config: Path,
                                                 loop: Any) -> None:
    """A wrong key is not worth retrying: one request, a named failure, the key masked."""
    events = S.run_engine(loop, S.values_from(config, WRONG_KEY), WRONG_KEY)
    failed = events[-1]
    assert isinstance(failed, E.Failed), failed.to_json()
    assert [e.n for e in events if isinstance(e, E.Attempt)] == [1]
    assert not any(isinstance(e, E.Waiting | E.Token) for e in events)
    assert failed.status in (400, 401)  # 400 from a proxy without a database, else 401
    assert failed.request is not None and failed.request.key == "****" + WRONG_KEY[-4:]


def test_wrong_key_reads_as_key_rejected(proxy: S.Server, config: Path, loop: Any) -> None:
    failed = S.run_engine(loop, S.values_from(config, WRONG_KEY), WRONG_KEY)[-1]
    assert isinstance(failed, E.Failed)
    assert failed.cause_kind == "auth", failed.to_json()
    assert "key" in failed.message.lower() and "api_key" in failed.advice


def test_no_key_is_named_before_anything_is_sent(proxy: S.Server, config: Path,
                                                  loop: Any) -> None:
    failed = S.run_engine(loop, S.values_from(config, ""), MASTER_KEY)[-1]
    assert isinstance(failed, E.Failed) and failed.cause_kind == "missing_key"


def test_unknown_model_name_suggests_the_proxy_models(proxy: S.Server, tmp_path: Path,
                                                      loop: Any) -> None:
    config = S.write_config(tmp_path / "config.toml", guide_settings(proxy, "mock-gtp"))
    failed = S.run_engine(loop, S.values_from(config, MASTER_KEY), MASTER_KEY)[-1]
    assert isinstance(failed, E.Failed)
    assert failed.cause_kind == "model_not_found", failed.to_json()
    assert "litellm_proxy/mock-gpt" in failed.advice


# -- listing the proxy's models ----------------------------------------------------------
@pytest.mark.parametrize("suffix", ["", "/v1"])
def test_fetch_models_lists_the_proxy_models(proxy: S.Server, suffix: str) -> None:
    assert fetch_models(proxy.url + suffix, MASTER_KEY) == sorted(MODELS)


def test_fetch_models_without_a_key_says_so(proxy: S.Server) -> None:
    with pytest.raises(FetchError, match=r"needs an API key \(HTTP 401\)"):
        fetch_models(proxy.url + "/v1", None)


def test_fetch_models_with_a_wrong_key_says_the_key_was_rejected(proxy: S.Server) -> None:
    with pytest.raises(FetchError) as info:
        fetch_models(proxy.url + "/v1", WRONG_KEY)
    assert WRONG_KEY not in str(info.value)
    assert "rejected the API key" in str(info.value)


# -- the CLI, as a user runs it ----------------------------------------------------------
def test_cli_test_with_the_master_key_exits_0(proxy: S.Server, config: Path,
                                              tmp_path: Path) -> None:
    p = S.cli(["--config", str(config), "test"], S.cli_env(tmp_path, MASTER_KEY), tmp_path,
              MASTER_KEY)
    assert p.returncode == 0, p.stderr
    assert p.stdout == ANSWER + "\n"
    lines = p.stderr.splitlines()
    assert lines[0] == (f"testing litellm_proxy/{MODELS[0]} at {proxy.url}, key "
                        f"****{MASTER_KEY[-4:]}")
    assert lines[-1].startswith("done: OK in ")


def test_cli_test_with_a_wrong_key_exits_1(proxy: S.Server, config: Path,
                                           tmp_path: Path) -> None:
    p = S.cli(["--config", str(config), "test", "--json"], S.cli_env(tmp_path, WRONG_KEY),
              tmp_path, WRONG_KEY)
    assert p.returncode == 1, p.stdout + p.stderr
    events = [json.loads(line) for line in p.stdout.splitlines()]
    assert [e["event"] for e in events] == ["started", "attempt", "failed"]
    assert p.stderr.splitlines() == [f"llm-settings: {events[-1]['message']}",
                                     f"  {events[-1]['advice']}"]
