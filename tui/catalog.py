"""Providers and models from LiteLLM's bundled model list, read without importing litellm."""

from __future__ import annotations

import functools
import importlib.util
import json
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
    info = entries().get(model)
    if info and info.get("litellm_provider"):
        return str(info["litellm_provider"]).removeprefix("text-completion-")
    low = model.lower()
    for start, provider in _BARE:
        if low.startswith(start):
            return provider
    return "openai"
