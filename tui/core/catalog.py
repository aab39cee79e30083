"""Providers and models from LiteLLM's bundled model list, read without importing litellm.

Everything here is UI-free: the catalog (:class:`Model`, :func:`chat_models`,
:func:`providers`), a fuzzy :func:`search` fast enough to run on every keystroke, the
OpenHands provider guides as :class:`Preset`, :func:`fetch_models` for OpenAI-compatible and
Ollama servers, and the spending warning.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

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

# Verified by OpenHands (SWE-bench evaluations), in the order of its documentation.
VERIFIED: tuple[str, ...] = (
    "anthropic/claude-3-7-sonnet-20250219",
    "gemini/gemini-2.5-pro",
    "deepseek/deepseek-chat",
    "openai/o3-mini",
    "openai/o3",
    "openai/o4-mini",
    "openrouter/all-hands/openhands-lm-32b-v0.1",
)
RECOMMENDED = "anthropic/claude-3-7-sonnet-20250219"

# Verified models LiteLLM's catalog may lack: the published facts, so they still show a
# context window (and a price where one is published).
_VERIFIED_FALLBACK: dict[str, dict[str, Any]] = {
    "anthropic/claude-3-7-sonnet-20250219": {
        "litellm_provider": "anthropic", "mode": "chat", "max_input_tokens": 200_000,
        "max_output_tokens": 64_000, "input_cost_per_token": 3e-06,
        "output_cost_per_token": 1.5e-05, "supports_function_calling": True,
        "supports_vision": True, "supports_reasoning": True,
    },
    "openrouter/all-hands/openhands-lm-32b-v0.1": {
        "litellm_provider": "openrouter", "mode": "chat", "max_input_tokens": 128_000,
        "supports_function_calling": True,
    },
}

# Catalog chat keys that are not models one can pick: fine-tune templates, price tiers,
# Bedrock provisioned-throughput prices.
_UNLISTED = re.compile(r"^(ft:|together-ai-)|commitment/|(^|/)\*/")

_SEARCH_SPACES = re.compile(r"\s+")

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


_QUALIFIERS = frozenset({"preview", "exp", "experimental", "latest"})


def family(name: str) -> tuple[frozenset[str], tuple[int, ...]] | None:
    """A model name's family (its words) and version (its first run of numbers; dates and
    qualifiers such as "preview" left out): claude-sonnet-4-5 -> ({claude, sonnet}, (4, 5)).
    None when the name has no version."""
    words: set[str] = set()
    version: list[int] = []
    run_over = False
    for token in re.split(r"[-_.:/ ]+", name.lower()):
        m = re.fullmatch(r"([a-z]+)(\d+)", token)  # o3, v2
        if m:
            words.add(m[1])
            token = m[2]
        if token.isdigit():
            if int(token) >= 1000 or run_over:  # a date, or numbers after the version
                run_over = run_over or bool(version)
                continue
            version.append(int(token))
        elif token and token not in _QUALIFIERS:
            run_over = run_over or bool(version)
            words.add(token)
    return (frozenset(words), tuple(version)) if version else None


def _mark_newer(by_id: dict[str, Model], by_key: dict[str, Model]) -> None:
    """Mark the catalog models newer than a verified model of the same provider and family:
    the verified list dates from OpenHands' evaluations, the catalog moves on."""
    verified = [(v, by_id[v].provider, fam) for v in VERIFIED
                if (fam := family(by_id[v].name)) is not None]
    providers = {p for _v, p, _f in verified}
    for model_id, m in list(by_id.items()):
        if m.verified or m.mode != "chat" or m.provider not in providers:
            continue
        mine = family(m.name)
        same = [(v, fam) for v, p, fam in verified
                if mine and p == m.provider and fam[0] == mine[0]]
        if not mine or not same or any(fam == mine for _v, fam in same):
            continue  # another family, or a verified model's dated alias
        older = [v for v, fam in same if mine[1] > fam[1]]
        if older:
            by_id[model_id] = replace(m, newer_than=older[0])
            if m.key:
                by_key[m.key] = by_id[model_id]


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


def search_providers(query: str, items: Sequence[Provider]) -> list[Provider]:
    """Providers whose name or id holds the typed letters in order: a name or id starting
    with them first, then holding them together, then the rest; within each, the catalog's
    order (verified and guides first)."""
    q = _normalize_query(query)
    if not q:
        return list(items)
    test = _prefilter(q).search

    def rank(p: Provider) -> int:
        names = (p.name.lower().replace(" ", ""), p.id)
        return 0 if any(n.startswith(q) for n in names) else 1 if any(q in n for n in names) \
            else 2

    found = [p for p in items if test(f"{p.name} {p.id}".lower())]
    return sorted(found, key=rank)


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


# -------------------------------------------------------------------------- display
def plural(n: int, noun: str) -> str:
    """``1 model``, ``2 models``."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def usd(value: float) -> str:
    """A price as people write one: $3, $2.50, $0.15; below ten cents two significant
    digits ($0.075, $0.000002)."""
    if value == 0:
        return "$0"
    if value >= 0.1:
        cents = round(value, 2)
        return f"${cents:,.0f}" if cents == int(cents) else f"${cents:,.2f}"
    digits = 1 - math.floor(math.log10(value))
    return "$" + f"{value:.{digits}f}".rstrip("0")


def price_text(model: Model) -> str:
    """``$3 / $15 per 1M tokens (in/out)``; says so when the price is unknown."""
    if model.input_price is None and model.output_price is None:
        return "price unknown"
    if model.input_price == 0 and model.output_price in (0, None):
        return "free (per the catalog)"
    inp = "?" if model.input_price is None else usd(model.input_price)
    out = "?" if model.output_price is None else usd(model.output_price)
    return f"{inp} / {out} per 1M tokens (in/out)"


def tokens_text(tokens: int) -> str:
    """200000 -> 200K, 131072 -> 128K, 1048576 -> 1M."""
    binary = tokens % 1000 != 0 and tokens % 1024 == 0
    k = tokens / 1024 if binary else tokens / 1000
    if k >= 1000:
        mil = k / 1024 if binary else k / 1000
        return f"{mil:.1f}".removesuffix(".0") + "M"
    if k >= 1:
        return f"{k:.0f}K" if k >= 10 else f"{k:.1f}".removesuffix(".0") + "K"
    return str(tokens)


def context_text(model: Model) -> str:
    """``200K context``; ``context unknown`` when the catalog does not say."""
    if not model.max_input_tokens:
        return "context unknown"
    return f"{tokens_text(model.max_input_tokens)} context"


def mark(model: Model) -> str:
    """A picker row's mark: ✓ verified by OpenHands, ↑ newer than a verified model."""
    return "✓ " if model.verified else "↑ " if model.newer_than else "  "


def newer_note(model: Model) -> str:
    """What a ↑ says, after the model's id in a picker row ("" for the others)."""
    return "  newer than verified" if model.newer_than else ""


def summary(model: Model) -> str:
    """One line: verified mark, context, price, capabilities."""
    parts = []
    if model.recommended:
        parts.append("verified, recommended")
    elif model.verified:
        parts.append("verified")
    elif model.newer_than:
        parts.append(f"newer than verified {model.newer_than.split('/', 1)[1]}")
    parts.append(context_text(model))
    parts.append(price_text(model))
    caps = [name for name, flag in (("tools", model.supports_function_calling),
                                    ("vision", model.supports_vision),
                                    ("reasoning", model.supports_reasoning)) if flag]
    if caps:
        parts.append(", ".join(caps))
    if model.deprecation_date:
        parts.append(f"deprecated {model.deprecation_date}")
    return " · ".join(parts)


SPENDING_WARNING = ("OpenHands sends many requests per task and most LLMs cost money: set a "
                    "spending limit with your provider and watch your usage.")


def cost_warning(model: Model | str | None) -> str:
    """The spending warning, with the model's price when known."""
    m = find(model) if isinstance(model, str) else model
    if m is None:
        name = model if isinstance(model, str) and model else "this model"
        return (f"{SPENDING_WARNING} LiteLLM's catalog has no price for {name}: check your "
                f"provider's pricing.")
    if m.input_price is None and m.output_price is None:
        return (f"{SPENDING_WARNING} LiteLLM's catalog has no price for {m.id}: check your "
                f"provider's pricing.")
    if m.input_price == 0 and m.output_price in (0, None):
        return (f"{SPENDING_WARNING} {m.id} is listed as free, but providers change prices: "
                f"check before long runs.")
    return f"{SPENDING_WARNING} {m.id} costs {price_text(m)}."


# =========================================================================== search
# Scores, in the spirit of fzf: every matched character scores; matches at word starts,
# at the start of the model name or of the provider, and runs of consecutive characters
# score more; gaps cost a little.
_MATCH = 16
_BONUS_NAME_START = 12  # first character of the name, after "provider/"
_BONUS_START = 10  # first character of the id (the provider)
_BONUS_SLASH = 10
_BONUS_BOUNDARY = 8  # after - _ . : @ or a space
_BONUS_TRANSITION = 4  # letter <-> digit
_BONUS_CONSECUTIVE = 5
_BONUS_VERIFIED = 15
_BONUS_RECOMMENDED = 5
_BONUS_OWN = 8  # the maker's own listing (see _MAKERS)
_SEPARATORS = frozenset("-_.:@ ")

Match = tuple[Model, float, tuple[int, ...]]


def _normalize_query(query: str) -> str:
    return _SEARCH_SPACES.sub("", query.lower())


def _bonus(s: str, p: int, name_start: int) -> int:
    if p == name_start and p:
        return _BONUS_NAME_START
    if p == 0:
        return _BONUS_START
    prev = s[p - 1]
    if prev == "/":
        return _BONUS_SLASH
    if prev in _SEPARATORS:
        return _BONUS_BOUNDARY
    if prev.isdigit() != s[p].isdigit() and prev.isalnum() and s[p].isalnum():
        return _BONUS_TRANSITION
    return 0


def _score1(s: str, c: str, name_start: int) -> tuple[int, tuple[int, ...]] | None:
    """:func:`_score` for a one-character query: the occurrence with the best bonus."""
    if name_start and s.startswith(c, name_start):
        return _MATCH + _BONUS_NAME_START, (name_start,)
    find = s.find
    p = find(c)
    if p < 0:
        return None
    best, where = -1, p
    while p >= 0:
        b = _bonus(s, p, name_start)
        if b > best:
            best, where = b, p
            if b >= _BONUS_SLASH:
                break
        p = find(c, p + 1)
    return _MATCH + best, (where,)


def _score(s: str, q: str, name_start: int) -> tuple[int, tuple[int, ...]] | None:
    """Best alignment of ``q`` as a subsequence of ``s``: (score, positions) or None."""
    find = s.find
    m = len(q)
    if m == 1:
        return _score1(s, q, name_start)
    # Window of each query character: its leftmost and rightmost feasible positions.
    early = []
    p = -1
    for c in q:
        p = find(c, p + 1)
        if p < 0:
            return None
        early.append(p)
    late = [0] * m
    p = len(s)
    for i in range(m - 1, -1, -1):
        p = s.rfind(q[i], 0, p)
        late[i] = p
    # Sparse dynamic programming over the occurrences inside each window.
    c = q[0]
    pos: list[int] = []
    sc: list[int] = []
    p, hi = early[0], late[0]
    while 0 <= p <= hi:
        pos.append(p)
        sc.append(_MATCH + _bonus(s, p, name_start))
        p = find(c, p + 1)
    steps = [pos]
    backs: list[list[int]] = []
    for i in range(1, m):
        c = q[i]
        p, hi = early[i], late[i]
        npos: list[int] = []
        nsc: list[int] = []
        nback: list[int] = []
        j = 0
        n_prev = len(pos)
        best_gap = best_j = -1  # best of score + position over occurrences before p - 1
        while 0 <= p <= hi:
            while j < n_prev and pos[j] < p - 1:
                v = sc[j] + pos[j]
                if best_j < 0 or v > best_gap:
                    best_gap, best_j = v, j
                j += 1
            score, from_j = (best_gap - p - 1, best_j) if best_j >= 0 else (0, -1)
            if j < n_prev and pos[j] == p - 1:
                cons = sc[j] + _BONUS_CONSECUTIVE
                if from_j < 0 or cons >= score:
                    score, from_j = cons, j
            if from_j >= 0:
                npos.append(p)
                nsc.append(score + _MATCH + _bonus(s, p, name_start))
                nback.append(from_j)
            p = find(c, p + 1)
        pos, sc = npos, nsc
        steps.append(pos)
        backs.append(nback)
    k = max(range(len(sc)), key=sc.__getitem__)
    total = sc[k]
    out = [0] * m
    for i in range(m - 1, 0, -1):
        out[i] = steps[i][k]
        k = backs[i - 1][k]
    out[0] = steps[0][k]
    return total, tuple(out)


# The previous search: (models object, its length, normalised query, candidate indices).
_last: tuple[Sequence[Model], int, str, list[int]] | None = None


@functools.lru_cache(maxsize=64)
def _prefilter(q: str) -> re.Pattern[str]:
    """A compiled subsequence test, ``a[^b]*b[^c]*c``: linear, no backtracking."""
    return re.compile(re.escape(q[0]) + "".join(f"[^{re.escape(c)}]*{re.escape(c)}"
                                                for c in q[1:]))


def search(query: str, models: Sequence[Model], limit: int = 200) -> list[Match]:
    """Fuzzy-find ``query`` in model ids: [(model, score, matched positions in model.id)].

    The typed characters must appear in order (case-insensitive; spaces are ignored). Word
    starts, the start of the name or of the provider, and consecutive runs score higher;
    verified models and the maker's own listing get a boost; ties go to the shorter rest,
    then to the order of ``models``. An empty query returns ``models`` in their order
    (verified first for :func:`chat_models`). Typing on (a query extending the previous one
    over the same ``models`` object) only re-checks the previous candidates.
    """
    q = _normalize_query(query)
    if not q:
        return [(m, 0.0, ()) for m in models[:limit]]
    global _last
    last = _last
    pool: Iterable[int] = range(len(models))
    if last is not None and last[0] is models and last[1] == len(models) and \
            q.startswith(last[2]):
        pool = last[3]  # typing on: only the previous candidates can still match
    test = _prefilter(q).search
    candidates = [i for i in pool if test(models[i].search_key)]
    _last = (models, len(models), q, candidates)

    scored = []
    score = _score
    for i in candidates:
        m = models[i]
        key = m.search_key
        found = score(key, q, m.name_start)
        if found is None:
            continue
        total, positions = found
        if m.verified:
            total += _BONUS_VERIFIED + (_BONUS_RECOMMENDED if m.recommended else 0)
        if m.own:
            total += _BONUS_OWN
        scored.append((-total, len(key) - positions[-1], i, positions))
    scored.sort()
    return [(models[i], float(-neg), positions) for neg, _tail, i, positions in scored[:limit]]


# =========================================================================== presets
LOCAL_WARNING = ("Local and open models are often too weak for OpenHands: expect long waits, "
                 "poor answers and malformed tool calls.")


class PresetError(ValueError):
    """An answer a preset cannot use; str() is one sentence."""


@dataclass(frozen=True)
class PresetField:
    """An extra value a provider guide asks for."""

    name: str  # an [llm] field (base_url, api_version) or, when env is True, an env variable
    label: str
    help: str
    default: str | None = None
    required: bool = True
    env: bool = False  # an environment variable read by the provider's SDK, not a setting
    placeholder: str = ""


@dataclass(frozen=True)
class Preset:
    """One OpenHands provider guide: how to fill in the settings for that provider."""

    id: str  # azure, gemini, vertex_ai, ..., sglang, vllm, ollama, lm_studio
    name: str  # display name
    prefix: str  # model prefix, e.g. "azure/"
    guide: str  # one line
    model_label: str = "Model"
    model_help: str = ""
    model_example: str = ""
    fields: tuple[PresetField, ...] = ()
    needs_key: bool = True  # some key value must be sent
    key_env: str | None = None  # the variable the provider's own tools read, e.g. GROQ_API_KEY
    key_help: str = ""
    key_default: str | None = None  # used when the user leaves the key empty (local servers)
    local: bool = False
    models_from: str = "catalog"  # "catalog" (chat_models(catalog_provider)) or "server"
    catalog_provider: str | None = None
    custom_llm_provider: str | None = None
    warning: str = ""

    @property
    def base_url_default(self) -> str | None:
        return next((f.default for f in self.fields if f.name == "base_url"), None)

    def model_id(self, name: str) -> str:
        """The model string for a model name (``deployment`` -> ``azure/deployment``).

        Cloud presets leave an already prefixed id alone; local servers always prefix, as
        their names may themselves start with ``openai/``.
        """
        name = name.strip()
        if not self.local and name.startswith(self.prefix):
            return name
        return self.prefix + name


def _local(pid: str, name: str, port: int, serve: str) -> Preset:
    url = f"http://localhost:{port}/v1"
    return Preset(
        id=pid, name=name, prefix="openai/", local=True, models_from="server",
        guide=(f"{serve}; the model is openai/<name the server lists>, base URL {url} "
               f"(OpenAI-compatible)."),
        model_help="The model name as the server lists it (Fetch models asks the server).",
        model_example="Qwen/Qwen2.5-Coder-32B-Instruct",
        fields=(PresetField("base_url", "Base URL", f"The server's OpenAI-compatible URL; "
                            f"{name} listens on port {port} by default.", default=url),),
        key_env=None, key_default="local",
        key_help=("The server's own key (--api-key) if it was started with one; otherwise any "
                  "value works, e.g. local (LiteLLM just needs something to send)."),
        warning=LOCAL_WARNING,
    )


PRESETS: tuple[Preset, ...] = (
    Preset(
        id="azure", name="Azure", prefix="azure/", catalog_provider="azure",
        guide=("Deploy a model in Azure AI Foundry; the model is azure/<deployment name>, with "
               "your resource's endpoint as base URL and an API version."),
        model_label="Deployment name",
        model_help="The name you gave the deployment in Azure (not the model's name).",
        model_example="my-gpt-4o",
        fields=(
            PresetField("base_url", "Endpoint (base URL)",
                        "Your resource's endpoint, from the Azure portal.",
                        placeholder="https://<resource>.openai.azure.com/"),
            PresetField("api_version", "API version",
                        "Azure OpenAI API version.", default="2024-12-01-preview"),
        ),
        key_env="AZURE_API_KEY", key_help="A key of the Azure OpenAI resource.",
    ),
    Preset(
        id="gemini", name="Gemini", prefix="gemini/", catalog_provider="gemini",
        guide="Use a Google AI Studio key; models are gemini/<model>, e.g. gemini/gemini-2.5-pro.",
        model_example="gemini-2.5-pro", key_env="GEMINI_API_KEY",
        key_help="A Google AI Studio (Gemini API) key.",
    ),
    Preset(
        id="vertex_ai", name="VertexAI", prefix="vertex_ai/", catalog_provider="vertex_ai",
        guide=("Use a Google Cloud project with Vertex AI enabled; models are vertex_ai/<model>; "
               "credentials come from environment variables, not an API key."),
        model_example="gemini-2.5-pro",
        fields=(
            PresetField("VERTEXAI_PROJECT", "Project", "Your Google Cloud project ID.",
                        env=True),
            PresetField("VERTEXAI_LOCATION", "Location",
                        "The Vertex AI region, e.g. us-central1.", default="us-central1",
                        env=True),
            PresetField("GOOGLE_APPLICATION_CREDENTIALS", "Credentials file",
                        "Path to a service-account JSON key file (leave empty to use gcloud's "
                        "application-default credentials).", required=False, env=True),
        ),
        needs_key=False,
        key_help="Not used: Vertex AI authenticates with Google Cloud credentials.",
    ),
    Preset(
        id="groq", name="Groq", prefix="groq/", catalog_provider="groq",
        guide="Use a GroqCloud key; models are groq/<model>.",
        model_example="llama-3.3-70b-versatile", key_env="GROQ_API_KEY",
        key_help="A GroqCloud API key.",
    ),
    Preset(
        id="openai", name="OpenAI", prefix="openai/", catalog_provider="openai",
        guide="Use an OpenAI platform key; models are openai/<model>, e.g. openai/o3.",
        model_example="o3", key_env="OPENAI_API_KEY", key_help="An OpenAI platform API key.",
    ),
    Preset(
        id="openrouter", name="OpenRouter", prefix="openrouter/", catalog_provider="openrouter",
        guide=("One key for many providers' models; models are openrouter/<vendor>/<model>, "
               "e.g. openrouter/all-hands/openhands-lm-32b-v0.1."),
        model_example="all-hands/openhands-lm-32b-v0.1", key_env="OPENROUTER_API_KEY",
        key_help="An OpenRouter API key.",
    ),
    Preset(
        id="anthropic", name="Anthropic", prefix="anthropic/", catalog_provider="anthropic",
        guide=("Use an Anthropic console key; models are anthropic/<model>; verified by "
               "OpenHands (early 2025): anthropic/claude-3-7-sonnet-20250219, newer ones are "
               "marked ↑ in the model list (F4)."),
        model_example="claude-3-7-sonnet-20250219", key_env="ANTHROPIC_API_KEY",
        key_help="An Anthropic console API key.",
    ),
    Preset(
        id="deepseek", name="DeepSeek", prefix="deepseek/", catalog_provider="deepseek",
        guide="Use a DeepSeek platform key; models are deepseek/<model>, e.g. deepseek-chat.",
        model_example="deepseek-chat", key_env="DEEPSEEK_API_KEY",
        key_help="A DeepSeek platform API key.",
    ),
    Preset(
        id="litellm_proxy", name="LiteLLM Proxy", prefix="litellm_proxy/", models_from="server",
        guide=("Go through your LiteLLM proxy; the model is litellm_proxy/<model name in the "
               "proxy>, with the proxy's URL and key."),
        model_help="The model_name configured in the proxy (Fetch models asks the proxy).",
        model_example="claude-3-7-sonnet",
        fields=(PresetField("base_url", "Proxy URL", "The LiteLLM proxy's address.",
                            placeholder="http://localhost:4000"),),
        key_env="LITELLM_PROXY_API_KEY", key_help="A virtual key or the master key of the proxy.",
    ),
    _local("sglang", "SGLang", 8000,
           "Serve a model with SGLang (python -m sglang.launch_server --model-path <model> "
           "--port 8000)"),
    _local("vllm", "vLLM", 8000, "Serve a model with vLLM (vllm serve <model> --port 8000)"),
    _local("ollama", "Ollama", 11434, "Run ollama serve and ollama pull <model>"),
    _local("lm_studio", "LM Studio", 1234,
           "Load a model in LM Studio and start its local server"),
    Preset(
        id="openai_compatible", name="OpenAI-compatible server (any URL)", prefix="openai/",
        local=True, models_from="server",
        guide=("Any server with an OpenAI-compatible API (llama.cpp, TGI, LocalAI, a gateway); "
               "the model is openai/<name the server lists>, with the server's base URL."),
        model_help="The model name as the server lists it (Fetch models asks the server).",
        model_example="Qwen/Qwen2.5-Coder-32B-Instruct",
        fields=(PresetField("base_url", "Base URL", "The server's OpenAI-compatible URL.",
                            placeholder="http://localhost:8080/v1"),),
        key_env=None, key_default="local",
        key_help=("The server's key if it needs one; otherwise any value works, e.g. local "
                  "(LiteLLM just needs something to send)."),
    ),
)

_PRESETS_BY_ID = {p.id: p for p in PRESETS}
_PRESET_ALIASES = {
    "google": "gemini", "vertex": "vertex_ai", "vertexai": "vertex_ai", "azure_openai": "azure",
    "litellm": "litellm_proxy", "hosted_vllm": "vllm", "lmstudio": "lm_studio",
    "lm-studio": "lm_studio", "litellm-proxy": "litellm_proxy",
}

# Settings a preset owns: apply_preset() clears those its provider does not use.
PRESET_OWNED = ("base_url", "api_version", "custom_llm_provider")


def preset_for(provider_id: str | None) -> Preset | None:
    """The guide preset of a provider (id, display name or common alias), or None."""
    if not provider_id:
        return None
    key = provider_id.strip().lower()
    key = _PRESET_ALIASES.get(key, key).replace(" ", "_")
    if key in _PRESETS_BY_ID:
        return _PRESETS_BY_ID[key]
    return next((p for p in PRESETS if p.name.lower() == provider_id.strip().lower()), None)


def provider_choice(model: str | None, base_url: str | None = None,
                    custom_llm_provider: str | None = None) -> str:
    """The provider (or local-server guide) that settings belong to, for a provider picker.

    ``openai/...`` with a base URL on a local server's usual port is that server's guide;
    with another URL than OpenAI's own, an OpenAI-compatible server.
    """
    provider = provider_of(model, custom_llm_provider)
    if provider == "openai" and base_url:
        from urllib.parse import urlsplit

        try:
            parts = urlsplit(base_url.strip())
            port, host = parts.port, (parts.hostname or "").lower()
        except ValueError:
            port, host = None, ""
        if host == "api.openai.com":
            return provider
        local = {p.base_url_default and urlsplit(p.base_url_default).port: p.id
                 for p in PRESETS if p.local and p.base_url_default}
        return local.get(port, "openai_compatible")
    return provider


def billed_by(provider_id: str, base_url: str | None = None) -> str | None:
    """Who bills a test request with these settings (a display name), None for a server of
    one's own: a local-server guide, or an OpenAI-compatible server on this machine or the
    local network."""
    preset = preset_for(provider_id)
    if preset is not None and preset.local and preset.base_url_default:
        return None  # vLLM, SGLang, Ollama, LM Studio
    if preset is not None and preset.local:
        import ipaddress
        from urllib.parse import urlsplit

        host = ""
        with contextlib.suppress(ValueError):
            host = (urlsplit((base_url or "").strip()).hostname or "").lower()
        try:
            own = ipaddress.ip_address(host).is_private
        except ValueError:
            own = host == "localhost" or (bool(host) and "." not in host) \
                or host.endswith((".local", ".lan", ".internal"))
        return None if own else f"the server at {host or 'that URL'}"
    return display_name(provider_id)


def server_kind(provider_id: str | None, base_url: str | None = None) -> str | None:
    """The kind of server a provider is (its model prefix: ``openai/`` for local servers and
    ``openai`` with a base URL, ``litellm_proxy/``), None for a hosted provider."""
    preset = preset_for(provider_id)
    if preset is not None and preset.models_from == "server":
        return preset.prefix
    return "openai/" if provider_id == "openai" and base_url else None


def switch_provider(model: str | None, provider_id: str, old_provider: str | None = None,
                    base_url: str | None = None) -> str:
    """The model string after picking another provider: the same model name with the new
    prefix when that provider has it in the catalog, else the prefix alone, for the user to
    pick a model of that provider. A server that serves any name (a local server, the proxy)
    keeps the name only when it came from the same kind of server (``old_provider``, as
    :func:`provider_choice` gives it, by default the model's own provider; ``base_url``, the
    current one: ``openai`` with a base URL is an OpenAI-compatible server)."""
    preset = preset_for(provider_id)
    name = (model or "").strip()
    old = provider_of(name) if name else ""
    if name.startswith(old + "/"):
        name = name[len(old) + 1:]
    prefix = preset.prefix if preset is not None else f"{_prefix_for(provider_id)}/"
    new = preset.model_id(name) if preset is not None else prefix + name
    if not name:
        return new
    kind = server_kind(provider_id)
    if kind is not None:
        return new if server_kind(old_provider or old, base_url) == kind else prefix
    if find(new) is None and chat_models(
            (preset.catalog_provider if preset else None) or provider_id):
        return prefix
    return new


def apply_preset(preset: Preset, answers: Mapping[str, Any]) -> dict[str, Any]:
    """Settings to write for a preset and the user's answers.

    ``answers`` holds ``model`` (the name as the provider or server calls it; for Azure the
    deployment) and the preset's non-env fields (``base_url``, ``api_version``). Returns
    ``model`` plus every field in :data:`PRESET_OWNED`, None meaning "unset" (switching from
    Azure to OpenAI must not keep Azure's base URL). Keys and env fields are not included:
    see :func:`preset_env` and :attr:`Preset.key_default`. Raises :class:`PresetError`.
    """
    from tui.core import fields as F

    name = str(answers.get("model") or "").strip()
    if not name:
        raise PresetError(f"{preset.name}: {preset.model_label.lower()} is required")
    out: dict[str, Any] = {"model": preset.model_id(name)}
    for f in preset.fields:
        if f.env:
            continue
        value = str(answers.get(f.name) or "").strip() or f.default
        if not value:
            if f.required:
                raise PresetError(f"{preset.name}: {f.label} is required")
            continue
        out[f.name] = value
    if preset.custom_llm_provider:
        out["custom_llm_provider"] = preset.custom_llm_provider
    for name_ in ("model", *PRESET_OWNED):
        out.setdefault(name_, None)
        if out[name_] is not None:
            try:
                F.BY_NAME[name_].validate(out[name_])
            except F.FieldError as e:
                raise PresetError(f"{preset.name}: {e}") from None
    return out


def preset_env(preset: Preset, answers: Mapping[str, Any]) -> dict[str, str]:
    """Environment variables a preset needs (VertexAI's project, location, credentials)."""
    out: dict[str, str] = {}
    for f in preset.fields:
        if not f.env:
            continue
        value = str(answers.get(f.name) or "").strip() or f.default
        if value:
            out[f.name] = value
        elif f.required:
            raise PresetError(f"{preset.name}: {f.label} ({f.name}) is required")
    return out


# =========================================================================== fetch
class FetchError(Exception):
    """Listing a server's models failed; str() says why, never with the key."""


_OLLAMA_PORT = 11434
_LOOPBACK = ("localhost", "127.0.0.1", "::1")
_MAX_BODY = 16 * 1024 * 1024


_PROXY_AUTH = "no_db_connection"  # a LiteLLM proxy without a database: not its master key


class _Fatal(FetchError):
    """A failure that another path on the same server would repeat."""


def _scrub(text: str, secret: str | None) -> str:
    """``text`` (from the server or the network stack) without the key in it."""
    return text.replace(secret, "****") if secret and secret in text else text


def fetch_models(base_url: str, api_key: str | None = None, timeout: float = 5.0) -> list[str]:
    """Model names an OpenAI-compatible server (``GET <base>/models``) or Ollama lists.

    Ollama (port 11434 or a base URL not ending in /v1) is asked ``GET <root>/api/tags``
    first; otherwise that is the fallback when ``/models`` gives no list. Raises
    :class:`FetchError` with a sentence a user can act on.
    """
    from urllib.parse import urlsplit

    from tui.core.fields import check_url

    base = (base_url or "").strip().rstrip("/")
    problem = check_url(base) if base else "the base URL is empty"
    if problem:
        raise FetchError(f"cannot list models: {problem}")
    parts = urlsplit(base)
    path = parts.path.rstrip("/")
    root = base[: -len("/v1")] if path.endswith("/v1") else base
    openai_url, ollama_url = base + "/models", root + "/api/tags"
    ollama_first = parts.port == _OLLAMA_PORT or not path.endswith("/v1")
    attempts = [(ollama_url, "ollama"), (openai_url, "openai")]
    if not ollama_first:
        attempts.reverse()
    errors: list[FetchError] = []
    for url, kind in attempts:
        try:
            data = _get_json(url, base, api_key, timeout, (parts.hostname or "") in _LOOPBACK)
            return _model_names(data, url, kind)
        except _Fatal as e:
            raise FetchError(str(e)) from None
        except FetchError as e:
            errors.append(e)
    primary = errors[0] if not ollama_first or parts.port == _OLLAMA_PORT else errors[-1]
    if all(" 404" in str(e) for e in errors):
        msg = (f"no model list at {openai_url} or {ollama_url} (HTTP 404): is the base URL "
               f"right? OpenAI-compatible servers usually end in /v1")
    else:
        msg = str(primary)
    raise FetchError(msg)


def _get_json(url: str, base: str, api_key: str | None, timeout: float, loopback: bool) -> Any:
    import ssl
    import urllib.error
    import urllib.request
    from http.client import HTTPException

    headers = {"Accept": "application/json", "User-Agent": "llm-settings"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    request = urllib.request.Request(url, headers=headers)
    handlers = [urllib.request.ProxyHandler({})] if loopback else []
    opener = urllib.request.build_opener(*handlers)
    try:
        with opener.open(request, timeout=timeout) as resp:
            body = resp.read(_MAX_BODY)
            ctype = resp.headers.get("Content-Type", "")
    except urllib.error.HTTPError as e:
        detail = e.read(4096).decode("utf-8", "replace") if e.fp else ""
        if e.code in (401, 403) or (e.code == 400 and _PROXY_AUTH in detail):
            if api_key:
                raise _Fatal(f"{url} rejected the API key (HTTP {e.code}): check the key") from None
            raise _Fatal(f"{url} needs an API key (HTTP {e.code})") from None
        reason = _scrub(str(e.reason or ""), api_key)
        raise FetchError(f"{url} answered HTTP {e.code} {reason}".rstrip()) from None
    except urllib.error.URLError as e:
        raise _Fatal(_scrub(_reach_message(base, e.reason, timeout), api_key)) from None
    except TimeoutError:
        raise _Fatal(_reach_message(base, TimeoutError(), timeout)) from None
    except (OSError, HTTPException, ssl.SSLError) as e:
        raise _Fatal(_scrub(_reach_message(base, e, timeout), api_key)) from None
    try:
        return json.loads(body)
    except ValueError:
        snippet = _scrub(body.decode("utf-8", "replace"), api_key)[:60].strip()
        kind = ctype.split(";")[0] or "no content type"
        raise FetchError(f"{url} did not answer JSON (got {kind}: {snippet!r})") from None


def _reach_message(base: str, reason: Any, timeout: float) -> str:
    import socket
    import ssl
    from urllib.parse import urlsplit

    if isinstance(reason, ConnectionRefusedError):
        return f"cannot reach {base}: connection refused — is the server running?"
    if isinstance(reason, socket.gaierror):
        host = urlsplit(base).hostname
        return f"cannot reach {base}: host {host!r} not found (DNS lookup failed) — check the URL"
    if isinstance(reason, TimeoutError):
        return (f"cannot reach {base}: no answer within {timeout:g} s (timeout) — is the "
                f"server running and reachable?")
    if isinstance(reason, ssl.SSLError):
        return f"cannot reach {base}: TLS error ({reason}) — http:// and https:// mixed up?"
    if isinstance(reason, ConnectionResetError):
        return f"cannot reach {base}: the connection was reset — is this the right port?"
    text = str(reason) or type(reason).__name__
    return f"cannot reach {base}: {text}"


def _model_names(data: Any, url: str, kind: str) -> list[str]:
    """Names from ``{"data": [{"id"}]}`` (OpenAI) or ``{"models": [{"name"}]}`` (Ollama)."""
    items = None
    if isinstance(data, dict):
        if isinstance(data.get("data"), list):
            items = data["data"]
        elif isinstance(data.get("models"), list):
            items = data["models"]
    elif isinstance(data, list):
        items = data
    names: list[str] = []
    if items is not None:
        for item in items:
            name = None
            if isinstance(item, dict):
                name = item.get("id") or item.get("name") or item.get("model")
            elif isinstance(item, str):
                name = item
            if not isinstance(name, str) or not name:
                items = None
                break
            if name not in names:
                names.append(name)
    if items is None:
        shape = '{"models": [{"name": ...}]}' if kind == "ollama" else '{"data": [{"id": ...}]}'
        raise FetchError(f"{url} answered JSON that is not a model list (expected {shape})")
    return sorted(names, key=str.lower)
