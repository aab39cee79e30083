"""The request as OpenHands 0.x's own LiteLLM sends it.

OpenHands 0.62 requires ``litellm < 1.78`` (1.77.7 installs); llm-settings pins a later LiteLLM,
the one OpenHands 1.x's SDK needs. Given the same arguments (:func:`tui.live.request.
completion_kwargs`, OpenHands' own), the two LiteLLMs send the same request except where the
rules below say. The live test applies them when it tests as OpenHands 0.x, so that the server
sees OpenHands' request: same auth headers, same body. Each rule is proven against OpenHands
0.62's own ``LLM`` by ``tests/e2e/test_e2e_request_openhands0.py``.

Argument rules (:func:`arguments`) change what the pinned LiteLLM is asked; wire rules
(:func:`client`) change what it puts on the wire where no argument can, through the httpx event
hook of an HTTP client handed to LiteLLM.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tui.core.catalog import provider_of

LITELLM_0X = "1.77.7"  # what `pip install openhands-ai==0.62.0` installs (< 1.78)
# OpenHands 0.x's LiteLLM lists no reasoning_effort for these providers: with drop_params on
# (OpenHands' default) it drops it, with drop_params off it refuses the request.
NO_EFFORT = ("deepseek", "openrouter")


@dataclass(frozen=True)
class Call:
    """What the pinned LiteLLM is asked (``kwargs``), or why OpenHands 0.x makes no request
    (``refused``, because of ``param``); ``changes``: what differs from the arguments, for a
    reader."""

    kwargs: dict[str, Any]
    refused: str = ""
    changes: tuple[str, ...] = ()
    param: str = "reasoning_effort"


def _provider(kwargs: Mapping[str, Any]) -> str:
    return provider_of(str(kwargs.get("model") or ""), kwargs.get("custom_llm_provider"))


def arguments(kwargs: Mapping[str, Any]) -> Call:
    """OpenHands' arguments as OpenHands 0.x's LiteLLM treats them."""
    call = dict(kwargs)
    provider = _provider(kwargs)
    changes: list[str] = []
    if provider in NO_EFFORT and call.get("reasoning_effort") is not None:
        if not call.get("drop_params"):
            return Call(call, f"OpenHands 0.x's LiteLLM ({LITELLM_0X}) does not support "
                        f"reasoning_effort for {provider} and, with drop_params off, refuses "
                        "the request (UnsupportedParamsError)")
        call.pop("reasoning_effort")
        changes.append(f"reasoning_effort left out: OpenHands 0.x's LiteLLM drops it for "
                       f"{provider}")
    if provider == "anthropic" and call.get("thinking") == {"type": "disabled"}:
        call.pop("thinking")
        changes.append("thinking: disabled left out: OpenHands 0.x's LiteLLM drops it")
    if provider == "azure" and call.get("api_key"):
        # OpenHands 0.x's LiteLLM sends Azure the key twice: api-key and a Bearer token.
        call["extra_headers"] = {"Authorization": f"Bearer {call['api_key']}",
                                 **(call.get("extra_headers") or {})}
        changes.append("the key also as Authorization: Bearer, as OpenHands 0.x's LiteLLM "
                       "sends it to Azure")
    return Call(call, changes=tuple(changes))


Hook = Callable[[Any], Any]


def _hooks(kwargs: Mapping[str, Any]) -> list[Hook]:
    """The wire rules for this request: functions rewriting an ``httpx.Request`` in place."""
    provider = _provider(kwargs)
    hooks: list[Hook] = []
    if provider == "gemini" and kwargs.get("base_url"):
        hooks.append(_gemini_key_as_bearer)
    asked_usage = "usage" in kwargs or "usage" in (kwargs.get("extra_body") or {})
    if provider == "openrouter" and not asked_usage:
        hooks.append(_without_usage)
    return hooks


def _gemini_key_as_bearer(request: Any) -> None:
    """With a base URL, OpenHands 0.x's LiteLLM sends the Gemini key as a Bearer token."""
    key = request.headers.pop("x-goog-api-key", None)
    if key is not None:
        request.headers["Authorization"] = f"Bearer {key}"


def _without_usage(request: Any) -> None:
    """The pinned LiteLLM adds ``usage: {include: true}`` to every OpenRouter body;
    OpenHands 0.x's does not."""
    body = json.loads(request.read() or b"{}")
    if body.pop("usage", None) is not None:
        replace_body(request, body)


def replace_body(request: Any, body: Mapping[str, Any]) -> None:
    """Give an ``httpx.Request`` (in an event hook) a new JSON body, and its length."""
    import httpx

    content = json.dumps(body).encode()
    request.stream = httpx.ByteStream(content)
    request._content = content  # no public setter: LiteLLM's transport sends .content
    request.headers["Content-Length"] = str(len(content))


def client(kwargs: Mapping[str, Any]) -> Any | None:
    """An HTTP client for LiteLLM applying the wire rules, or None when there are none.

    Only for providers LiteLLM reaches through its own httpx handler (Gemini, OpenRouter),
    which take such a client. Close it after the request (``await client.close()``).
    """
    hooks = _hooks(kwargs)
    if not hooks:
        return None
    from litellm.llms.custom_httpx.http_handler import AsyncHTTPHandler

    async def rewrite(request: Any) -> None:
        for hook in hooks:
            hook(request)

    return AsyncHTTPHandler(event_hooks={"request": [rewrite]})
