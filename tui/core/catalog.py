"""Providers and models from LiteLLM's bundled model list, read without importing litellm.

UI-free: the catalog (:class:`Model`, :func:`chat_models`, :func:`providers`, :func:`find`).
The fuzzy search is in :mod:`tui.core.search`, the provider guides in :mod:`tui.core.presets`,
listing a server's models in :mod:`tui.core.servers`, the texts shown for a model in
:mod:`tui.core.model_text` and OpenHands' verified models in :mod:`tui.core.verified`.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tui.core.verified import _VERIFIED_FALLBACK, RECOMMENDED, VERIFIED, _mark_newer

CATALOG_FILE = "model_prices_and_context_window_backup.json"

# Model-string prefixes whose provider name differs from the prefix, or that are not in the
# catalog's litellm_provider values.
PREFIX_ALIASES = {"litellm_proxy": "litellm_proxy", "vertex_ai": "vertex_ai"}

# Bare model names (no "provider/" prefix) that LiteLLM routes by their look.
_BARE = (
    ("gpt-", "openai"), ("o1", "openai"), ("o3", "openai"), ("o4", "openai"),
    ("chatgpt", "openai"), ("text-embedding", "openai"), ("claude", "anthropic"),
    ("gemini", "vertex_ai"), ("command", "cohere"), ("mistral", "mistral"),
)


@functools.cache
def catalog_path() -> Path | None:
    """Where litellm's bundled catalog is, found without importing litellm."""
    spec = importlib.util.find_spec("litellm")
    if not spec or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / CATALOG_FILE
    return path if path.is_file() else None


@functools.cache
def entries() -> dict[str, dict[str, Any]]:
    """The raw catalog: model name -> info (provider, mode, prices, context window)."""
    path = catalog_path()
    if path is None:
        return {}
    with path.open("rb") as fh:
        data = json.load(fh)
    data.pop("sample_spec", None)
    return data


def entry(model: str) -> dict[str, Any] | None:
    """One model's catalog info.

    Until the whole catalog is needed (the app's first screen needs one provider), only that
    model's object is decoded: litellm writes one top-level key per line, indented by 4.
    """
    if entries.cache_info().currsize:
        return entries().get(model)
    path = catalog_path()
    if path is None:
        return None
    raw = path.read_bytes()
    if not raw.startswith(b'{\n    "'):  # laid out otherwise: the full parse decides
        return entries().get(model)
    key = b"\n    " + json.dumps(model).encode() + b": {"
    start = raw.find(key)
    if start < 0:  # absent, or written without the indent: the full parse decides
        return entries().get(model)
    start += len(key) - 1
    end = raw.find(b"\n    }", start)
    try:
        info = json.loads(raw[start:end + 6])
    except ValueError:
        return entries().get(model)
    return info if isinstance(info, dict) else None


def provider_of(model: str | None, custom_llm_provider: str | None = None) -> str:
    """The provider a model string goes to, as LiteLLM would route it.

    ``anthropic/claude-3-7-sonnet`` -> ``anthropic``; a bare ``gpt-4o`` -> ``openai`` (looked
    up in the catalog); ``custom_llm_provider`` wins when set.
    """
    if custom_llm_provider:
        return custom_llm_provider.strip().lower()
    model = (model or "").strip()
    if not model:
        return "openai"
    if "/" in model:
        prefix = model.split("/", 1)[0].lower()
        return PREFIX_ALIASES.get(prefix, prefix)
    info = entry(model)
    if info and info.get("litellm_provider"):
        return str(info["litellm_provider"]).removeprefix("text-completion-")
    low = model.lower()
    for start, provider in _BARE:
        if low.startswith(start):
            return provider
    return "openai"


# =========================================================================== models


# Catalog chat keys that are not models one can pick: fine-tune templates, price tiers,
# Bedrock provisioned-throughput prices.
_UNLISTED = re.compile(r"^(ft:|together-ai-)|commitment/|(^|/)\*/")

# Who makes a model family (by the start of its name): the maker's own listing ranks above
# the resellers' (openrouter/anthropic/..., bedrock/..., vertex_ai/...).
_MAKERS: dict[str, tuple[str, ...]] = {
    "anthropic": ("claude",), "openai": ("gpt-", "o1", "o3", "o4", "chatgpt", "codex"),
    "gemini": ("gemini", "gemma"), "deepseek": ("deepseek",), "xai": ("grok",),
    "mistral": ("mistral", "codestral", "devstral", "magistral", "ministral", "pixtral"),
    "cohere_chat": ("command",), "dashscope": ("qwen",), "moonshot": ("kimi",),
    "zai": ("glm",), "meta_llama": ("llama",),
}


@dataclass(frozen=True)
class Model:
    """One model, named as a user writes it in OpenHands (``provider/name``)."""

    id: str  # e.g. anthropic/claude-3-7-sonnet-20250219
    provider: str  # first part of the id: what provider_of() gives
    mode: str = "chat"  # chat, embedding, completion, image_generation, ...
    max_input_tokens: int | None = None  # the context window
    max_output_tokens: int | None = None
    input_price: float | None = None  # USD per 1M input tokens
    output_price: float | None = None  # USD per 1M output tokens
    verified: bool = False  # verified by OpenHands
    recommended: bool = False
    supports_function_calling: bool | None = None  # None: the catalog does not say
    supports_vision: bool | None = None
    supports_reasoning: bool | None = None
    key: str | None = None  # the catalog's key; None when the model is not in the catalog
    deprecation_date: str | None = None
    newer_than: str | None = None  # the verified model of the same family this one succeeds
    # Precomputed for search: the lower-cased id, where the name starts in it, and whether
    # the provider is the model's maker.
    search_key: str = field(init=False, repr=False, compare=False)
    name_start: int = field(init=False, repr=False, compare=False)
    own: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        low = self.id.lower()
        if len(low) != len(self.id):  # keep positions aligned with the id
            low = "".join(c if len(c.lower()) != 1 else c.lower() for c in self.id)
        object.__setattr__(self, "search_key", low)
        object.__setattr__(self, "name_start", self.id.find("/") + 1)
        starts = _MAKERS.get(self.provider)
        object.__setattr__(self, "own", bool(starts) and low.startswith(  # type: ignore[arg-type]
            starts, self.name_start))

    @property
    def name(self) -> str:
        """The model name without the provider prefix."""
        return self.id[self.name_start:]

    @property
    def context_window(self) -> int | None:
        return self.max_input_tokens

    @property
    def in_catalog(self) -> bool:
        return self.key is not None


@dataclass(frozen=True)
class Provider:
    """A provider as offered to the user.

    ``prefix`` is the route its guide uses: ``openai/`` for local servers, so Ollama's own
    catalog models (LiteLLM's native ``ollama/`` route) differ from its guide's.
    """

    id: str  # anthropic, vertex_ai, litellm_proxy, vllm, ...
    name: str  # display name
    prefix: str  # model prefix when set up following its guide, e.g. "anthropic/"
    model_count: int  # chat models in the catalog
    verified: bool  # has a model verified by OpenHands
    guide: bool  # has a Preset (an OpenHands provider guide)
    local: bool = False  # a server the user runs (vLLM, Ollama, ...)


DISPLAY_NAMES: dict[str, str] = {
    "openai": "OpenAI", "openai_compatible": "OpenAI-compatible server",
    "anthropic": "Anthropic", "gemini": "Gemini", "vertex_ai": "VertexAI",
    "azure": "Azure", "azure_ai": "Azure AI Foundry", "groq": "Groq",
    "openrouter": "OpenRouter", "deepseek": "DeepSeek", "mistral": "Mistral",
    "codestral": "Mistral Codestral", "bedrock": "AWS Bedrock", "sagemaker": "AWS SageMaker",
    "ollama": "Ollama", "litellm_proxy": "LiteLLM Proxy", "sglang": "SGLang", "vllm": "vLLM",
    "lm_studio": "LM Studio", "xai": "xAI", "together_ai": "Together AI",
    "fireworks_ai": "Fireworks AI", "deepinfra": "DeepInfra", "cohere_chat": "Cohere",
    "cohere": "Cohere", "perplexity": "Perplexity", "cerebras": "Cerebras",
    "sambanova": "SambaNova", "databricks": "Databricks", "watsonx": "IBM watsonx",
    "cloudflare": "Cloudflare Workers AI", "replicate": "Replicate", "nebius": "Nebius",
    "novita": "Novita AI", "hyperbolic": "Hyperbolic", "moonshot": "Moonshot AI",
    "dashscope": "DashScope (Qwen)", "zai": "Z.AI", "github_copilot": "GitHub Copilot",
    "huggingface": "Hugging Face", "ai21": "AI21", "amazon-nova": "Amazon Nova",
    "meta_llama": "Meta Llama", "vercel_ai_gateway": "Vercel AI Gateway",
    "oci": "Oracle Cloud (OCI)", "snowflake": "Snowflake", "lambda_ai": "Lambda",
    "minimax": "MiniMax", "friendliai": "FriendliAI", "featherless_ai": "Featherless AI",
    "wandb": "Weights & Biases", "nscale": "Nscale", "baseten": "Baseten",
    "anyscale": "Anyscale", "volcengine": "Volcengine", "gradient_ai": "DigitalOcean Gradient",
    "ovhcloud": "OVHcloud", "scaleway": "Scaleway", "nlp_cloud": "NLP Cloud",
    "text-completion-openai": "OpenAI (text completion)",
}


def display_name(provider_id: str) -> str:
    """A provider's display name; title case of the id when unknown."""
    if provider_id in DISPLAY_NAMES:
        return DISPLAY_NAMES[provider_id]
    return re.sub(r"[_\-]+", " ", provider_id).title()


def _prefix_for(litellm_provider: str) -> str:
    """The model-string prefix of a catalog ``litellm_provider``."""
    if litellm_provider.startswith("vertex_ai"):
        return "vertex_ai"  # vertex_ai-language-models, vertex_ai-anthropic_models, ...
    if litellm_provider == "bedrock_converse":
        return "bedrock"
    return litellm_provider


def _same_prefix(a: str, b: str) -> bool:
    return a.replace("-", "_").lower() == b.replace("-", "_").lower()


def model_id_for(key: str, litellm_provider: str) -> str:
    """The id a user writes for a catalog key: prefixed with its provider, never twice."""
    prefix = _prefix_for(litellm_provider)
    if "/" in key and _same_prefix(key.split("/", 1)[0], prefix):
        return key
    return f"{prefix}/{key}"


def _per_million(value: Any) -> float | None:
    if value.__class__ is float or value.__class__ is int:
        return round(value * 1_000_000, 6)
    return None


def _int(value: Any) -> int | None:
    if value.__class__ is int:
        return value
    return int(value) if value.__class__ is float else None


def _flag(value: Any) -> bool | None:
    return value if value is True or value is False else None


def _model(model_id: str, info: Mapping[str, Any], key: str | None) -> Model:
    get = info.get
    dep = get("deprecation_date")
    return Model(
        model_id,
        model_id.split("/", 1)[0].lower(),
        str(get("mode") or ""),
        _int(get("max_input_tokens")),
        _int(get("max_output_tokens")),
        _per_million(get("input_cost_per_token")),
        _per_million(get("output_cost_per_token")),
        False,
        False,
        _flag(get("supports_function_calling")),
        _flag(get("supports_vision")),
        _flag(get("supports_reasoning")),
        key,
        dep if dep.__class__ is str else None,
    )



@dataclass(frozen=True)
class _Catalog:
    by_id: dict[str, Model]
    by_key: dict[str, Model]
    by_lower: dict[str, Model]
    by_name: dict[str, list[Model]]
    chat: tuple[Model, ...]
    embedding: tuple[Model, ...]
    providers: tuple[Provider, ...]


@functools.cache
def _catalog() -> _Catalog:
    """Every catalog entry as a Model, plus the verified models, sorted and indexed."""
    by_id: dict[str, Model] = {}
    by_key: dict[str, Model] = {}
    for key, info in entries().items():
        if not isinstance(info, dict) or not info.get("litellm_provider"):
            continue
        model_id = model_id_for(key, str(info["litellm_provider"]))
        old = by_id.get(model_id)
        if old is not None and old.key == model_id:
            by_key[key] = old  # the explicitly prefixed entry wins over a bare duplicate
            continue
        m = _model(model_id, info, key)
        by_id[model_id] = m
        by_key[key] = m
    for model_id in VERIFIED:
        m = by_id.get(model_id) or _model(model_id, _VERIFIED_FALLBACK.get(model_id, {
            "litellm_provider": model_id.split("/", 1)[0], "mode": "chat"}), None)
        m = replace(m, verified=True, recommended=model_id == RECOMMENDED,
                    mode=m.mode or "chat")
        by_id[model_id] = m
        if m.key:
            by_key[m.key] = m
    _mark_newer(by_id, by_key)
    for key, m in list(by_key.items()):  # bare duplicates point at the verified copy too
        by_key[key] = by_id.get(m.id, m)

    chat_ids = [i for i, m in by_id.items() if m.mode == "chat"
                and (m.key is None or not _UNLISTED.search(m.key))]
    provs = _build_providers(by_id[i] for i in chat_ids)
    rank_of = {p.id: n for n, p in enumerate(provs)}

    def order(m: Model) -> tuple[Any, ...]:
        return (rank_of.get(m.provider, len(rank_of)), _natural(m.name), m.id)

    verified = [by_id[i] for i in VERIFIED]
    chat = verified + sorted((by_id[i] for i in chat_ids if not by_id[i].verified), key=order)
    embedding = sorted((m for m in by_id.values() if m.mode == "embedding"), key=order)
    by_name: dict[str, list[Model]] = {}
    for m in chat + embedding + [m for m in by_id.values() if m.mode not in
                                 ("chat", "embedding")]:
        by_name.setdefault(m.name.lower(), []).append(m)
    by_lower = {i.lower(): m for i, m in by_id.items()}
    return _Catalog(by_id, by_key, by_lower, by_name, tuple(chat), tuple(embedding),
                    tuple(provs))


_DIGITS = re.compile(r"\d+")


def _natural(text: str) -> str:
    """Sort key where numbers compare as numbers (gpt-4 before gpt-35)."""
    return _DIGITS.sub(_zfill, text.lower())


def _zfill(match: re.Match[str]) -> str:
    return match.group().zfill(12)


def _build_providers(chat: Iterable[Model]) -> list[Provider]:
    from tui.core.presets import _PRESETS_BY_ID, PRESETS  # the guides build on the catalog

    counts: dict[str, int] = {}
    verified: set[str] = set()
    for m in chat:
        counts[m.provider] = counts.get(m.provider, 0) + 1
        if m.verified:
            verified.add(m.provider)
    first: list[str] = []
    for pid in [v.split("/", 1)[0] for v in VERIFIED] + [p.id for p in PRESETS]:
        if pid not in first:
            first.append(pid)
    rest = sorted((p for p in counts if p not in first), key=lambda p: display_name(p).lower())
    out = []
    for pid in first + rest:
        preset = _PRESETS_BY_ID.get(pid)
        out.append(Provider(
            id=pid,
            name=preset.name if preset else display_name(pid),
            prefix=preset.prefix if preset else pid + "/",
            model_count=counts.get(pid, 0),
            verified=pid in verified,
            guide=preset is not None,
            local=bool(preset and preset.local),
        ))
    return out


def _provider_id(provider: str) -> str:
    """Normalise a provider id or display name (vertex_ai-..., bedrock_converse, "AWS Bedrock")."""
    low = provider.strip()
    if low.lower() in {p.lower() for p in DISPLAY_NAMES.values()}:
        for pid, name in DISPLAY_NAMES.items():
            if name.lower() == low.lower():
                return pid
    return _prefix_for(low.lower())


def chat_models(provider: str | None = None) -> list[Model]:
    """Chat models: OpenHands' verified ones first (in its order), then by provider and name.

    ``provider`` filters by provider id (``vertex_ai``) or display name (``VertexAI``).
    """
    models = _catalog().chat
    if provider is None:
        return list(models)
    pid = _provider_id(provider)
    return [m for m in models if m.provider == pid]


def embedding_models(provider: str | None = None) -> list[Model]:
    """Embedding models, by provider and name."""
    models = _catalog().embedding
    if provider is None:
        return list(models)
    pid = _provider_id(provider)
    return [m for m in models if m.provider == pid]


def providers() -> list[Provider]:
    """Providers of chat models and of the guides: verified and guide providers first."""
    return list(_catalog().providers)


def verified_models() -> list[Model]:
    """OpenHands' verified models, recommended first."""
    by_id = _catalog().by_id
    return [by_id[i] for i in VERIFIED]


def find(model_id: str | None) -> Model | None:
    """The model a model string names, with or without its provider prefix."""
    text = (model_id or "").strip()
    if not text:
        return None
    cat = _catalog()
    m = cat.by_id.get(text) or cat.by_key.get(text) or cat.by_lower.get(text.lower())
    if m is not None:
        return m
    if "/" in text:
        prefix, rest = text.split("/", 1)
        m = cat.by_key.get(rest) or cat.by_key.get(rest.lower())
        if m is not None and m.provider == _provider_id(prefix):
            return m
        return None
    found = cat.by_name.get(text.lower())
    if not found:
        return None
    routed = provider_of(text)
    return next((m for m in found if m.provider == routed), found[0])


def close_matches(model_id: str, n: int = 5) -> list[str]:
    """Model ids close to a mistyped one (for "model not found" advice)."""
    import difflib

    text = (model_id or "").strip().lower()
    if not text:
        return []
    cat = _catalog()
    chat = cat.chat
    if "/" in text:
        prefix = _provider_id(text.split("/", 1)[0])
        same = [m.search_key for m in chat if m.provider == prefix]
        found = difflib.get_close_matches(text, same, n=n, cutoff=0.6)
        if len(found) < n:
            others = [m.search_key for m in chat if m.provider != prefix]
            found += difflib.get_close_matches(text, others, n=n - len(found), cutoff=0.6)
        return [cat.by_lower[f].id for f in found]
    names: dict[str, Model] = {}
    for m in chat:
        names.setdefault(m.name.lower(), m)
    found = difflib.get_close_matches(text, list(names), n=n, cutoff=0.6)
    return [names[f].id for f in found]
