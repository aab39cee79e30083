"""The models an OpenAI-compatible or Ollama server lists (:func:`fetch_models`)."""

from __future__ import annotations

import json
from typing import Any


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

    from tui.core.values import check_url

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
