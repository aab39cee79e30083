"""Shared by the scripts that run inside the OpenHands 1.x venvs (Python 3.12).

Each script takes one JSON argument and prints one JSON line last. Keys are never printed:
an API key is reported by the label of the test key it equals (``keys`` argument).
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

FIELDS = ("model", "base_url", "api_version", "num_retries", "retry_min_wait", "retry_max_wait",
          "retry_multiplier", "timeout", "temperature", "top_p", "max_input_tokens",
          "max_output_tokens", "reasoning_effort", "usage_id")


def args() -> dict[str, Any]:
    return json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}


def key_label(value: Any, keys: dict[str, str]) -> str | None:
    """The label of the test key ``value`` equals; None when no key is set."""
    if value is None:
        return None
    secret = value.get_secret_value() if hasattr(value, "get_secret_value") else str(value)
    if not secret:
        return None
    return next((label for label, key in keys.items() if key == secret), "another key")


def describe(llm: Any, keys: dict[str, str]) -> dict[str, Any] | None:
    """The values of an SDK LLM the tests compare, its key by label."""
    if llm is None:
        return None
    out = {name: getattr(llm, name, None) for name in FIELDS}
    out["api_key"] = key_label(llm.api_key, keys)
    return out


def mode(path: str | os.PathLike[str]) -> str:
    return oct(os.stat(path).st_mode & 0o777)


def emit(result: dict[str, Any]) -> None:
    print("\n" + json.dumps(result, default=str), flush=True)
