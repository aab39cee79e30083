"""Values as messages quote them and the rules beyond a field's type: URLs, model names.

Builtin values only (:func:`plain` strips tomlkit's wrappers); used by the field registry
(:mod:`tui.core.fields`) and wherever a message quotes what a user typed.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit


def plain(value: Any) -> Any:
    """Strip tomlkit wrappers so values compare, print and serialise as builtins."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    return value


SHOWN_MAX = 20  # longer values are cut to their first SHOWN_CUT characters in messages
SHOWN_CUT = 8


URL_MAX = 80  # URLs are quoted whole up to this length


def shown(value: Any, limit: int = SHOWN_MAX) -> str:
    """A non-secret value as a message quotes it: repr, cut short when long (it may be a key
    pasted into the wrong variable)."""
    text = value if isinstance(value, str) else str(value)
    if len(text) <= limit:
        return repr(value) if isinstance(value, str) else text
    return f"{text[:SHOWN_CUT]!r}… ({len(text)} characters)"


def _huge_int(value: Any) -> int | None:
    """The first integer in ``value`` (nested too) that TOML's 64 bits cannot hold."""
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, dict):
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(reversed(v))
        elif isinstance(v, int) and not -(2**63) <= v < 2**63:
            return v
    return None


def _describe(value: Any, quote: bool = True) -> str:
    kind = {bool: "true/false", int: "whole number", float: "number", str: "text",
            list: "list", dict: "table"}.get(type(value), type(value).__name__)
    text = shown(value) if quote and not isinstance(value, dict | list) else ""
    return f"{kind} {text}".strip()


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


# -- extra rules ------------------------------------------------------------------------
def check_url(value: str) -> str | None:
    """An http(s) URL with a host."""
    if value == "":
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https"):
        return f"{shown(value, URL_MAX)} is not a URL: it must start with http:// or https://"
    if not parts.hostname:
        return f"{shown(value, URL_MAX)} has no host name"
    if any(c.isspace() for c in value):
        return f"{shown(value, URL_MAX)} contains spaces"
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        return f"{shown(value, URL_MAX)} has an invalid port"
    return None


_MODEL = re.compile(r"^[^\s/][^\s]*$")


_URL_LIKE = re.compile(
    r"^[a-z][a-z0-9+.-]*://"  # a scheme
    r"|^(localhost|\d{1,3}(\.\d{1,3}){3}|\[[0-9a-f:]+\])(:\d+)?(/|$)"  # a local host
    r"|^[\w-]+(\.[\w-]+)+:\d{2,5}/",  # host:port/path
    re.I)


def check_model(value: str) -> str | None:
    """A LiteLLM model string: provider/name or a bare name, no spaces, not a URL."""
    if not value:
        return "the model cannot be empty"
    if _URL_LIKE.match(value):
        url = value if "://" in value else f"http://{value}"
        return (f"{shown(value, URL_MAX)} looks like a URL, not a model; did you mean "
                f"`set base_url {url if len(url) <= URL_MAX else 'URL'}`?")
    if not _MODEL.match(value) or value.endswith("/"):
        return f"{shown(value)} is not a model name like provider/model (no spaces, no empty part)"
    return None


def check_safety_settings(value: list) -> str | None:
    if not all(isinstance(x, dict) and all(isinstance(v, str) for v in x.values()) for x in value):
        return 'each entry must be a table of text, e.g. {category = "hate", threshold = "low"}'
    return None


def check_api_version(value: str) -> str | None:
    if value and not re.match(r"^\d{4}-\d{2}-\d{2}(-preview)?$|^v\d|^latest$|^preview$", value):
        return f"{shown(value)} does not look like an API version such as 2024-12-01-preview"
    return None
