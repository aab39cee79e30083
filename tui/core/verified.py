"""OpenHands' verified models, and the catalog models newer than one of them."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tui.core.catalog import Model

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
