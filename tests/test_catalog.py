"""The model catalog (from the installed litellm's bundled JSON), search, presets and fetch."""

from __future__ import annotations

import json
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tui.core import catalog as C
from tui.core import model_text as T
from tui.core import presets as P
from tui.core import search as Q
from tui.core import servers as SV
from tui.core import verified as V

ROOT = Path(__file__).resolve().parent.parent
KEY = "sk-test-SECRET-9876"


# ------------------------------------------------------------------------------ catalog
def test_counts_and_verified_first() -> None:
    raw_chat = [k for k, v in C.entries().items() if v.get("mode") == "chat"]
    assert len(raw_chat) > 3400
    chat = C.chat_models()
    assert len(chat) > 3400
    assert [m.id for m in chat[: len(V.VERIFIED)]] == list(V.VERIFIED)
    assert all(m.verified for m in chat[: len(V.VERIFIED)])
    assert not any(m.verified for m in chat[len(V.VERIFIED):])
    assert [m.id for m in chat if m.recommended] == ["anthropic/claude-3-7-sonnet-20250219"]
    assert all(m.mode == "chat" for m in chat)
    assert len({m.id for m in chat}) == len(chat)
    assert C.verified_models()[0].recommended
    embeddings = C.embedding_models()
    assert embeddings and all(m.mode == "embedding" for m in embeddings)


def test_verified_models_listed_even_when_absent_from_the_catalog() -> None:
    claude = C.find("anthropic/claude-3-7-sonnet-20250219")
    assert claude is not None and claude.verified and claude.recommended
    assert claude.provider == "anthropic"
    assert claude.context_window == 200_000  # the catalog lacks it: built-in facts
    olm = C.find("openrouter/all-hands/openhands-lm-32b-v0.1")
    assert olm is not None and olm.verified and not olm.in_catalog
    assert olm.name == "all-hands/openhands-lm-32b-v0.1"
    o3 = C.find("openai/o3")
    assert o3 is not None and o3.in_catalog and o3.key == "o3"
    assert o3.supports_function_calling and o3.supports_reasoning
    assert o3.input_price == pytest.approx(2.0)


@pytest.mark.parametrize(("key", "litellm_provider", "expected"), [
    ("claude-haiku-4-5", "anthropic", "anthropic/claude-haiku-4-5"),
    ("gpt-4o", "openai", "openai/gpt-4o"),
    ("gemini/gemini-2.5-pro", "gemini", "gemini/gemini-2.5-pro"),
    ("gemini-2.5-pro", "vertex_ai-language-models", "vertex_ai/gemini-2.5-pro"),
    ("vertex_ai/claude-haiku-4-5", "vertex_ai-anthropic_models", "vertex_ai/claude-haiku-4-5"),
    ("groq/openai/gpt-oss-120b", "groq", "groq/openai/gpt-oss-120b"),
    ("deepseek-chat", "deepseek", "deepseek/deepseek-chat"),
    ("azure/gpt-4o", "azure", "azure/gpt-4o"),
    ("anthropic.claude-3-7-sonnet-20250219-v1:0", "bedrock_converse",
     "bedrock/anthropic.claude-3-7-sonnet-20250219-v1:0"),
    ("bedrock/us-east-1/meta.llama3-70b-instruct-v1:0", "bedrock",
     "bedrock/us-east-1/meta.llama3-70b-instruct-v1:0"),
    ("amazon-nova/nova-pro-v1", "amazon_nova", "amazon-nova/nova-pro-v1"),
    ("meta-llama/Llama-3-70b", "together_ai", "together_ai/meta-llama/Llama-3-70b"),
])
def test_model_id_for(key: str, litellm_provider: str, expected: str) -> None:
    assert C.model_id_for(key, litellm_provider) == expected


@pytest.mark.parametrize(("provider", "example"), [
    ("anthropic", "anthropic/claude-haiku-4-5"),
    ("openai", "openai/gpt-4o"),
    ("gemini", "gemini/gemini-2.5-pro"),
    ("vertex_ai", "vertex_ai/gemini-2.5-pro"),
    ("groq", "groq/openai/gpt-oss-120b"),
    ("openrouter", "openrouter/all-hands/openhands-lm-32b-v0.1"),
    ("deepseek", "deepseek/deepseek-chat"),
    ("azure", "azure/gpt-4o"),
    ("bedrock", "bedrock/anthropic.claude-3-7-sonnet-20250219-v1:0"),
])
def test_prefixes_in_the_real_catalog(provider: str, example: str) -> None:
    models = C.chat_models(provider)
    assert models, provider
    ids = {m.id for m in models}
    assert example in ids
    for m in models:
        assert m.provider == provider
        assert m.id.startswith(provider + "/")
        assert not m.id.startswith(f"{provider}/{provider}/")


def test_every_chat_model_routes_to_its_provider() -> None:
    # provider_of() names keyring accounts: it must agree with the catalog's provider.
    for m in C.chat_models():
        assert C.provider_of(m.id) == m.provider, m.id
    assert C.provider_of("gpt-4o") == "openai"  # existing behaviour kept
    assert C.provider_of("claude-3-7-sonnet", "Bedrock") == "bedrock"


def test_one_entry_is_read_without_the_whole_catalog() -> None:
    # The first screen needs the provider of a bare model: that lookup must not parse the
    # whole file, and must give what the full parse gives (one key in litellm's file is not
    # indented like the others: claude-haiku-5-5).
    C.entries.cache_clear()
    quick = {name: C.entry(name) for name in ("gpt-4o", "deepseek-chat", "o3-mini")}
    assert C.provider_of("deepseek-chat") == "deepseek"
    assert C.entries.cache_info().currsize == 0  # not parsed
    quick |= {name: C.entry(name) for name in ("claude-haiku-5-5", "no-such-model")}
    assert quick["gpt-4o"] is not None and quick["no-such-model"] is None
    full = C.entries()
    for name, info in quick.items():
        assert info == full.get(name), name


def test_dedup_prefers_the_prefixed_entry() -> None:
    ids = [m.id for m in C.chat_models("deepseek")]
    assert ids.count("deepseek/deepseek-chat") == 1
    assert C.find("deepseek-chat") is C.find("deepseek/deepseek-chat")


def test_unlisted_keys_hidden() -> None:
    ids = [m.id for m in C.chat_models()]
    assert not [i for i in ids if "commitment/" in i or "/ft:" in i]


# ---------------------------------------------------------------------------- providers
def test_provider_order_and_names() -> None:
    provs = C.providers()
    ids = [p.id for p in provs]
    assert ids[:5] == ["anthropic", "gemini", "deepseek", "openai", "openrouter"]
    assert ids[5:14] == ["azure", "vertex_ai", "groq", "litellm_proxy", "sglang", "vllm",
                         "ollama", "lm_studio", "openai_compatible"]
    rest = provs[14:]
    assert [p.name.lower() for p in rest] == sorted(p.name.lower() for p in rest)
    assert not any(p.guide for p in rest)
    names = {p.id: p.name for p in provs}
    assert names["openai"] == "OpenAI"
    assert names["vertex_ai"] == "VertexAI"
    assert names["bedrock"] == "AWS Bedrock"
    assert names["litellm_proxy"] == "LiteLLM Proxy"
    assert names["openrouter"] == "OpenRouter"
    assert names["lm_studio"] == "LM Studio"
    assert names["openai_compatible"] == "OpenAI-compatible server (any URL)"
    assert C.display_name("some_new-cloud") == "Some New Cloud"
    by_id = {p.id: p for p in provs}
    assert by_id["anthropic"].verified and by_id["anthropic"].guide
    assert by_id["vllm"].local and by_id["vllm"].prefix == "openai/"
    assert by_id["vllm"].model_count == 0
    assert sum(p.model_count for p in provs) == len(C.chat_models())
    assert {m.provider for m in C.chat_models()} <= set(ids)


def test_chat_models_filter_by_display_name() -> None:
    assert C.chat_models("VertexAI") == C.chat_models("vertex_ai")
    assert C.chat_models("AWS Bedrock") == C.chat_models("bedrock")
    assert C.chat_models("vertex_ai-language-models") == C.chat_models("vertex_ai")
    anthropic = C.chat_models("anthropic")
    assert anthropic[0].id == "anthropic/claude-3-7-sonnet-20250219"


# ------------------------------------------------------------------------ find, display
def test_find_with_or_without_prefix() -> None:
    assert C.find("claude-3-7-sonnet-20250219").id == "anthropic/claude-3-7-sonnet-20250219"
    assert C.find("gpt-4o").id == "openai/gpt-4o"
    assert C.find("GPT-4O").id == "openai/gpt-4o"
    assert C.find("openai/gpt-4o").id == "openai/gpt-4o"
    assert C.find("gemini/gemini-2.5-pro").provider == "gemini"
    assert C.find("o3").id == "openai/o3"
    assert C.find("openai/no-such-model") is None
    assert C.find("") is None and C.find(None) is None


def test_close_matches() -> None:
    near = C.close_matches("anthropic/claude-3-7-sonet")
    assert "anthropic/claude-3-7-sonnet-20250219" in near
    assert all(m.startswith("anthropic/") for m in near)
    assert "openai/gpt-4o" in C.close_matches("gpt4o")
    assert C.close_matches("") == []
    assert len(C.close_matches("gpt-4o", n=3)) <= 3


def test_price_and_context_text() -> None:
    claude = C.find("anthropic/claude-3-7-sonnet-20250219")
    assert T.price_text(claude) == "$3 / $15 per 1M tokens (in/out)"
    assert T.context_text(claude) == "200K context"
    unknown = C.Model("openai/local-thing", "openai")
    assert T.price_text(unknown) == "price unknown"
    assert T.context_text(unknown) == "context unknown"
    assert T.price_text(C.Model("x/y", "x", input_price=0.075, output_price=0.3)) == (
        "$0.075 / $0.30 per 1M tokens (in/out)")
    assert T.price_text(C.Model("x/y", "x", input_price=2.99999, output_price=2.5)) == (
        "$3 / $2.50 per 1M tokens (in/out)")
    assert [T.tokens_text(n) for n in (131_072, 128_000, 1_048_576, 8192, 2_000_000)] == [
        "128K", "128K", "1M", "8K", "2M"]
    line = T.summary(claude)
    assert "recommended" in line and "200K context" in line and "tools" in line


def test_cost_warning() -> None:
    text = T.cost_warning(C.find("openai/o3"))
    assert "many requests" in text and "spending limit" in text and "usage" in text
    assert "$2 / $8 per 1M tokens (in/out)" in text
    unknown = T.cost_warning("openai/my-local-model")
    assert "spending limit" in unknown and "no price" in unknown
    assert "openai/my-local-model" in unknown


# ------------------------------------------------------------------------------- search
def _ids(results: list[Q.Match]) -> list[str]:
    return [m.id for m, _score, _pos in results]


@pytest.fixture
def chat() -> list[C.Model]:
    Q._last = None
    return C.chat_models()


def test_search_empty_query_keeps_verified_first(chat: list[C.Model]) -> None:
    results = Q.search("", chat)
    assert _ids(results)[: len(V.VERIFIED)] == list(V.VERIFIED)
    assert len(results) == 200
    assert len(Q.search("  ", chat, limit=10)) == 10


@pytest.mark.parametrize(("query", "expected", "top"), [
    ("cl37son", "anthropic/claude-3-7-sonnet-20250219", 1),
    ("o4mini", "openai/o4-mini", 1),
    ("gpt4o", "openai/gpt-4o", 1),
    ("GPT-4o", "openai/gpt-4o", 1),
    ("claude sonnet", "anthropic/claude-3-7-sonnet-20250219", 1),
    ("gemini 2.5 pro", "gemini/gemini-2.5-pro", 1),
    ("o3", "openai/o3", 1),
    ("openhands", "openrouter/all-hands/openhands-lm-32b-v0.1", 1),
    ("deepseek chat", "deepseek/deepseek-chat", 1),
    ("vertex gemini 2.5 pro", "vertex_ai/gemini-2.5-pro", 3),
    ("groq gpt oss 120", "groq/openai/gpt-oss-120b", 3),
])
def test_search_ranking(chat: list[C.Model], query: str, expected: str, top: int) -> None:
    ids = _ids(Q.search(query, chat))
    assert expected in ids[:top], ids[:5]


def test_search_exact_name_before_longer_variants(chat: list[C.Model]) -> None:
    ids = _ids(Q.search("gpt4o", chat))
    assert ids.index("openai/gpt-4o") < ids.index("openai/gpt-4o-mini")
    assert ids.index("openai/gpt-4o") < ids.index("openai/gpt-4o-2024-08-06")


@pytest.mark.parametrize(("query", "maker"), [
    ("sonnet 4", "anthropic/claude-sonnet-4"),
    ("gpt 4.1", "openai/gpt-4.1"),
    ("gemini 2.5 flash", "gemini/gemini-2.5-flash"),
])
def test_search_puts_the_makers_own_models_before_resellers(chat: list[C.Model], query: str,
                                                            maker: str) -> None:
    ids = _ids(Q.search(query, chat))
    assert ids[0].startswith(maker), ids[:5]
    provider = maker.split("/")[0]
    own = [i for i, m in enumerate(ids) if m.startswith(maker)]
    resold = [i for i, m in enumerate(ids) if not m.startswith(provider + "/")
              and maker.split("/")[1] in m]  # e.g. openrouter/anthropic/claude-sonnet-4
    assert own and resold and max(own) < min(resold), ids[:12]


def test_search_positions_and_subsequence(chat: list[C.Model]) -> None:
    results = Q.search("cl37son", chat)
    assert results
    for m, score, positions in results:
        assert score > 0
        assert list(positions) == sorted(set(positions))
        assert "".join(m.id[p].lower() for p in positions) == "cl37son"
    best, _score, positions = results[0]
    assert [best.id[p] for p in positions[:2]] == ["c", "l"]  # in "claude", not "anthropic"
    assert positions[0] == best.name_start
    assert Q.search("zzzqqq", chat) == []
    assert len(Q.search("a", chat, limit=7)) == 7


def test_incremental_narrowing_matches_a_fresh_search(chat: list[C.Model]) -> None:
    for phrase in ("claude sonnet", "gpt-4o-mini", "llama 3.3 70b", "o4-mini"):
        Q._last = None
        for n in range(1, len(phrase) + 1):
            typed = Q.search(phrase[:n], chat)
            Q._last = None
            fresh = Q.search(phrase[:n], chat)
            assert _ids(typed) == _ids(fresh), phrase[:n]
        # Backspace (a query that does not extend the previous one) starts over.
        assert _ids(Q.search(phrase[:2], chat)) == _ids(Q.search(phrase[:2], list(chat)))


def test_search_per_keystroke_is_fast(chat: list[C.Model]) -> None:
    times = []
    for phrase in ("claude sonnet", "gemini 2.5 pro", "openai o4-mini"):
        Q._last = None
        for n in range(1, len(phrase) + 1):
            start = time.process_time()  # CPU time: other processes do not count
            Q.search(phrase[:n], chat)
            times.append(time.process_time() - start)
    assert statistics.median(times) < 0.016  # the goal is one 60 Hz frame; typical ~2 ms


# ------------------------------------------------------------------------------ presets
def test_presets_cover_the_guides() -> None:
    ids = [p.id for p in P.PRESETS]
    assert ids == ["azure", "gemini", "vertex_ai", "groq", "openai", "openrouter", "anthropic",
                   "deepseek", "litellm_proxy", "sglang", "vllm", "ollama", "lm_studio",
                   "openai_compatible"]
    prefixes = {p.id: p.prefix for p in P.PRESETS}
    assert prefixes["azure"] == "azure/" and prefixes["vertex_ai"] == "vertex_ai/"
    assert prefixes["litellm_proxy"] == "litellm_proxy/"
    assert {prefixes[i] for i in ("sglang", "vllm", "ollama", "lm_studio")} == {"openai/"}
    envs = {p.id: p.key_env for p in P.PRESETS}
    assert envs["openai"] == "OPENAI_API_KEY" and envs["anthropic"] == "ANTHROPIC_API_KEY"
    assert envs["gemini"] == "GEMINI_API_KEY" and envs["groq"] == "GROQ_API_KEY"
    assert envs["litellm_proxy"] == "LITELLM_PROXY_API_KEY"
    assert all(p.guide and p.guide.endswith(".") for p in P.PRESETS)
    assert P.preset_for("google").id == "gemini"
    assert P.preset_for("VertexAI").id == "vertex_ai"
    assert P.preset_for("LM Studio").id == "lm_studio"
    assert P.preset_for("bedrock") is None and P.preset_for(None) is None


def test_azure_preset() -> None:
    azure = P.preset_for("azure")
    assert azure.model_label == "Deployment name"
    values = P.apply_preset(azure, {"model": "my-gpt4o",
                                    "base_url": "https://res.openai.azure.com/"})
    assert values == {"model": "azure/my-gpt4o", "base_url": "https://res.openai.azure.com/",
                      "api_version": "2024-12-01-preview", "custom_llm_provider": None}
    values = P.apply_preset(azure, {"model": "azure/dep", "base_url": "https://r.example",
                                    "api_version": "2025-01-01-preview"})
    assert values["model"] == "azure/dep" and values["api_version"] == "2025-01-01-preview"
    with pytest.raises(P.PresetError, match="Endpoint"):
        P.apply_preset(azure, {"model": "dep"})
    with pytest.raises(P.PresetError, match="not a URL"):
        P.apply_preset(azure, {"model": "dep", "base_url": "res.openai.azure.com"})
    with pytest.raises(P.PresetError, match="required"):
        P.apply_preset(azure, {"model": " "})


@pytest.mark.parametrize(("pid", "port"), [("sglang", 8000), ("vllm", 8000), ("ollama", 11434),
                                           ("lm_studio", 1234)])
def test_local_presets(pid: str, port: int) -> None:
    preset = P.preset_for(pid)
    assert preset.local and preset.models_from == "server"
    assert preset.base_url_default == f"http://localhost:{port}/v1"
    assert preset.key_default == "local" and "any value" in preset.key_help
    assert preset.key_env is None and preset.warning
    values = P.apply_preset(preset, {"model": "Qwen/Qwen2.5-Coder-32B-Instruct"})
    assert values["model"] == "openai/Qwen/Qwen2.5-Coder-32B-Instruct"
    assert values["base_url"] == f"http://localhost:{port}/v1"
    # A served name that itself starts with openai/ still gets the route prefix.
    assert P.apply_preset(preset, {"model": "openai/gpt-oss-20b"})["model"] == (
        "openai/openai/gpt-oss-20b")


def test_vllm_preset_with_a_custom_url() -> None:
    values = P.apply_preset(P.preset_for("vllm"), {"model": "my-model",
                                                    "base_url": "http://gpu-box:8000/v1"})
    assert values == {"model": "openai/my-model", "base_url": "http://gpu-box:8000/v1",
                      "api_version": None, "custom_llm_provider": None}


def test_vertex_preset_uses_env_vars() -> None:
    vertex = P.preset_for("vertex_ai")
    assert not vertex.needs_key
    env_fields = {f.name for f in vertex.fields if f.env}
    assert env_fields == {"VERTEXAI_PROJECT", "VERTEXAI_LOCATION",
                          "GOOGLE_APPLICATION_CREDENTIALS"}
    values = P.apply_preset(vertex, {"model": "gemini-2.5-pro", "VERTEXAI_PROJECT": "p"})
    assert values["model"] == "vertex_ai/gemini-2.5-pro"
    assert "VERTEXAI_PROJECT" not in values
    env = P.preset_env(vertex, {"VERTEXAI_PROJECT": "my-proj",
                                "GOOGLE_APPLICATION_CREDENTIALS": "/k.json"})
    assert env == {"VERTEXAI_PROJECT": "my-proj", "VERTEXAI_LOCATION": "us-central1",
                   "GOOGLE_APPLICATION_CREDENTIALS": "/k.json"}
    with pytest.raises(P.PresetError, match="VERTEXAI_PROJECT"):
        P.preset_env(vertex, {})


def test_proxy_and_cloud_presets() -> None:
    proxy = P.preset_for("litellm_proxy")
    values = P.apply_preset(proxy, {"model": "claude-3-7", "base_url": "http://localhost:4000"})
    assert values["model"] == "litellm_proxy/claude-3-7"
    assert values["base_url"] == "http://localhost:4000"
    openai = P.apply_preset(P.preset_for("openai"), {"model": "o3"})
    assert openai == {"model": "openai/o3", "base_url": None, "api_version": None,
                      "custom_llm_provider": None}
    router = P.apply_preset(P.preset_for("openrouter"),
                            {"model": "all-hands/openhands-lm-32b-v0.1"})
    assert router["model"] == "openrouter/all-hands/openhands-lm-32b-v0.1"
    assert P.apply_preset(P.preset_for("gemini"), {"model": "gemini/gemini-2.5-pro"})[
        "model"] == "gemini/gemini-2.5-pro"


# -------------------------------------------------------------------------------- fetch
class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def _send(self, code: int, body: bytes, ctype: str = "application/json") -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        auth = self.headers.get("Authorization", "")
        path = self.path
        if path == "/v1/models":
            self._send(200, json.dumps({"object": "list", "data": [
                {"id": "qwen-coder", "object": "model"}, {"id": "Llama-3.3"}]}).encode())
        elif path == "/api/tags" or path == "/fallback/api/tags":
            self._send(200, json.dumps({"models": [{"name": "llama3.1:8b"},
                                                   {"name": "qwen2.5-coder:32b"}]}).encode())
        elif path == "/auth/v1/models":
            if auth == f"Bearer {KEY}-good":
                self._send(200, b'{"data": [{"id": "secret-model"}]}')
            else:
                self._send(401, json.dumps({"error": f"bad key {auth}"}).encode())
        elif path == "/garbage/v1/models":
            self._send(200, f"<html>hello {auth}</html>".encode(), "text/html")
        elif path == "/shape/v1/models":
            self._send(200, b'{"object": "list", "items": 3}')
        elif path == "/slow/v1/models":
            time.sleep(1.0)
            self._send(200, b'{"data": []}')
        else:
            self._send(404, b'{"error": "not found"}')


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # the timeout test's client hangs up before the slow answer


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = _QuietServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def _error(base: str, key: str | None = KEY, timeout: float = 5.0) -> str:
    with pytest.raises(SV.FetchError) as info:
        SV.fetch_models(base, key, timeout=timeout)
    text = str(info.value)
    assert KEY not in text and "SECRET" not in text
    return text


def test_fetch_openai_models(server: str) -> None:
    assert SV.fetch_models(server + "/v1", None) == ["Llama-3.3", "qwen-coder"]
    assert SV.fetch_models(server + "/v1/", KEY) == ["Llama-3.3", "qwen-coder"]


def test_fetch_ollama_tags(server: str) -> None:
    # No /v1: Ollama's native API first.
    assert SV.fetch_models(server, None) == ["llama3.1:8b", "qwen2.5-coder:32b"]
    # /v1/models missing: fall back to <root>/api/tags.
    assert SV.fetch_models(server + "/fallback/v1", None) == ["llama3.1:8b", "qwen2.5-coder:32b"]


def test_fetch_key_rejected(server: str) -> None:
    assert SV.fetch_models(server + "/auth/v1", KEY + "-good") == ["secret-model"]
    text = _error(server + "/auth/v1")
    assert "rejected the API key (HTTP 401)" in text
    assert "needs an API key" in _error(server + "/auth/v1", key=None)


def test_fetch_not_json_and_bad_shape(server: str) -> None:
    text = _error(server + "/garbage/v1")
    assert "did not answer JSON" in text and "text/html" in text and "****" in text
    text = _error(server + "/shape/v1")
    assert "not a model list" in text and '"data"' in text


def test_fetch_not_found(server: str) -> None:
    text = _error(server + "/nothing/v1")
    assert "HTTP 404" in text and "base URL" in text


def test_fetch_connection_refused() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    base = f"http://127.0.0.1:{port}/v1"
    assert _error(base) == (f"cannot reach {base}: connection refused — is the server "
                            f"running?")


def test_fetch_timeout(server: str) -> None:
    start = time.perf_counter()
    text = _error(server + "/slow/v1", timeout=0.3)
    assert "timeout" in text and "0.3 s" in text
    assert time.perf_counter() - start < 5  # far: a busy machine is slow


def test_fetch_dns_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", fail)
    text = _error("http://no-such-host.example/v1")
    assert "'no-such-host.example' not found (DNS" in text


def test_fetch_bad_url() -> None:
    assert "not a URL" in _error("localhost:8000/v1")
    assert "empty" in _error("")


def test_fetch_loopback_ignores_proxy_env(server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    assert SV.fetch_models(server + "/v1", None) == ["Llama-3.3", "qwen-coder"]


# ------------------------------------------------------------------------------ imports
def test_no_litellm_or_textual_imported() -> None:
    code = (
        "import json, sys\n"
        "import tui.core.catalog as c, tui.core.presets as p, tui.core.search as q\n"
        "import tui.core.model_text, tui.core.servers, tui.core.verified\n"
        "lazy = sorted(m for m in ('urllib.request', 'difflib') if m in sys.modules)\n"
        "models = c.chat_models()\n"
        "q.search('cl37son', models); q.search('gpt4o', models)\n"
        "p.apply_preset(p.preset_for('azure'), {'model': 'd', 'base_url': 'https://x.y'})\n"
        "c.providers(); c.find('gpt-4o'); c.close_matches('gpt4o')\n"
        "heavy = sorted(m for m in sys.modules\n"
        "               if m.split('.')[0] in ('litellm', 'textual', 'httpx'))\n"
        "print(json.dumps({'lazy': lazy, 'heavy': heavy}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True, timeout=120)
    result = json.loads(out.stdout)
    assert result == {"lazy": [], "heavy": []}


@pytest.mark.parametrize(("model", "provider", "expected"), [
    ("openai/gpt-4o", "azure", "azure/gpt-4o"),  # Azure serves gpt-4o: the name is kept
    ("gpt-4o", "anthropic", "anthropic/"),  # not an Anthropic model: pick one
    ("anthropic/claude-3-7-sonnet-20250219", "openai", "openai/"),
    ("mistral-large-latest", "mistral", "mistral/mistral-large-latest"),  # no guide
    ("gpt-4o", "mistral", "mistral/"),
    # a server serves any name, but a hosted model's name means nothing to it
    ("gpt-4o", "litellm_proxy", "litellm_proxy/"),
    ("gpt-4o", "vllm", "openai/"),
    ("anthropic/claude-3-7-sonnet-20250219", "vllm", "openai/"),
    ("", "anthropic", "anthropic/"),
])
def test_switching_provider_keeps_only_a_model_it_has(model: str, provider: str,
                                                      expected: str) -> None:
    assert P.switch_provider(model, provider) == expected


@pytest.mark.parametrize(("model", "old", "provider", "expected"), [
    ("openai/Qwen/Qwen2.5-Coder", "vllm", "sglang", "openai/Qwen/Qwen2.5-Coder"),
    ("openai/llama3", "ollama", "lm_studio", "openai/llama3"),  # local server to local server
    ("openai/llama3", "ollama", "litellm_proxy", "litellm_proxy/"),  # another kind of server
    ("litellm_proxy/claude", "litellm_proxy", "vllm", "openai/"),
    ("openai/gpt-4o", "openai", "vllm", "openai/"),  # a hosted name, same prefix
])
def test_switching_to_a_server_keeps_a_name_from_the_same_kind_of_server(
        model: str, old: str, provider: str, expected: str) -> None:
    assert P.switch_provider(model, provider, old) == expected


def test_provider_search_puts_names_that_start_with_the_query_first() -> None:
    providers = C.providers()
    assert Q.search_providers("", providers) == providers  # guides and verified first
    found = [p.id for p in Q.search_providers("open", providers)]
    assert found[:2] == ["openai", "openrouter"]
    assert found.index("openai") < found.index("dashscope")  # letters apart come last
    assert [p.id for p in Q.search_providers("lm studio", providers)] == ["lm_studio"]
    assert Q.search_providers("VertexAI", providers)[0].id == "vertex_ai"
    assert Q.search_providers("zzzz", providers) == []


@pytest.mark.parametrize(("value", "text"), [
    (3.0, "$3"), (0.15, "$0.15"), (2.5, "$2.50"), (0.075, "$0.075"), (2.99999, "$3"),
    (1.1, "$1.10"), (0.0384, "$0.038"), (0.000002, "$0.000002"), (1250.0, "$1,250"),
    (0.1, "$0.10"), (0, "$0"),
])
def test_prices_read_like_prices(value: float, text: str) -> None:
    assert T.usd(value) == text


# -- newer than verified -------------------------------------------------------------------
@pytest.mark.parametrize(("name", "expected"), [
    ("claude-3-7-sonnet-20250219", ({"claude", "sonnet"}, (3, 7))),
    ("claude-sonnet-4-5-20250929", ({"claude", "sonnet"}, (4, 5))),
    ("gemini-2.5-pro-preview-05-06", ({"gemini", "pro"}, (2, 5))),
    ("o3-2025-04-16", ({"o"}, (3,))),
    ("deepseek-chat", None),
])
def test_family_and_version_of_a_name(name: str, expected: tuple | None) -> None:
    got = V.family(name)
    assert (got if got is None else (set(got[0]), got[1])) == expected


def test_newer_models_of_a_verified_family_are_marked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(V, "VERIFIED", ("anthropic/claude-3-7-sonnet-20250219", "openai/o3-mini",
                                        "openai/o4-mini"))
    ids = ["anthropic/claude-3-7-sonnet-20250219", "anthropic/claude-sonnet-4-5",
           "anthropic/claude-3-5-sonnet-20241022", "anthropic/claude-opus-4-1",
           "bedrock/anthropic.claude-sonnet-4-5", "openai/o3-mini", "openai/o4-mini",
           "openai/o4-mini-2025-04-16", "openai/o5-mini"]
    by_id = {i: C.Model(i, i.split("/")[0], key=i, verified=i in V.VERIFIED) for i in ids}
    V._mark_newer(by_id, dict(by_id))
    newer = {i: m.newer_than for i, m in by_id.items() if m.newer_than}
    assert newer == {"anthropic/claude-sonnet-4-5": "anthropic/claude-3-7-sonnet-20250219",
                     "openai/o5-mini": "openai/o3-mini"}  # not older, other families,
    # resellers' names or a verified model's dated alias; the verified list is unchanged
    assert [m.id for m in by_id.values() if m.verified] == list(V.VERIFIED)


def test_catalog_keeps_the_verified_list_and_says_what_is_newer() -> None:
    assert C.find(V.RECOMMENDED).recommended
    newer = [m for m in C.chat_models() if m.newer_than]
    sonnets = [m for m in newer if m.id.startswith("anthropic/claude-sonnet-")]
    assert sonnets, "the installed LiteLLM lists a newer Claude Sonnet"
    assert all(m.newer_than == V.RECOMMENDED and not m.verified for m in newer if m in sonnets)
    line = T.summary(sonnets[0])
    assert line.startswith("newer than verified claude-3-7-sonnet") and "recommended" not in line
    assert T.mark(sonnets[0]) == "↑ " and T.mark(C.find(V.RECOMMENDED)) == "✓ "
    assert "newer ones are marked" in P.preset_for("anthropic").guide


@pytest.mark.parametrize(("base_url", "provider"), [
    ("http://localhost:8000/v1", "vllm"),  # a guide's usual port
    ("http://gpu-box:9999/v1", "openai_compatible"),  # any other server: not "OpenAI"
    ("https://api.openai.com/v1", "openai"),
    (None, "openai"),
])
def test_provider_is_inferred_from_model_and_base_url(base_url: str | None,
                                                      provider: str) -> None:
    assert P.provider_choice("openai/qwen-coder", base_url) == provider


@pytest.mark.parametrize(("provider", "base_url", "billed"), [
    ("anthropic", None, "Anthropic"),
    ("litellm_proxy", "http://localhost:4000", "LiteLLM Proxy"),  # it forwards to a provider
    ("vllm", "http://gpu-box:8000/v1", None),
    ("openai_compatible", "http://127.0.0.1:8080/v1", None),
    ("openai_compatible", "https://api.together.xyz/v1", "the server at api.together.xyz"),
])
def test_who_bills_a_test_request(provider: str, base_url: str | None,
                                  billed: str | None) -> None:
    assert P.billed_by(provider, base_url) == billed
