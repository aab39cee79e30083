"""The request as OpenHands' 1.x web app sends it: SDK 1.34 on its own LiteLLM (1.84.1).

openhands-ai 1.11.0 (the web app) pins litellm 1.84.1 under openhands-sdk 1.34.0; llm-settings
pins a later LiteLLM, the one ``pip install openhands-sdk`` and OpenHands' CLI install. The SDK
is the same, so the two requests differ only where the SDK asks LiteLLM something and 1.84.1
answers otherwise (R0-R2: :class:`Answers`, handed to :mod:`tui.live.sdk` in place of the
litellm module), or where 1.84.1 turns the same arguments into another body (R3-R6:
:func:`arguments`; R7: :func:`client`, on the wire). The live test applies them when it tests
as the web app (``as_="web"``); ``tests/e2e/test_e2e_request_sdk.py`` proves them against the
web app's own SDK and LiteLLM, both reading the same model catalog.

- R0: 1.84.1 reads only the catalog's own entries: it has no reader for the catalog's
  ``fallback_generalizations`` rules (e.g. "any claude-<family>-<n> reasons, writes 64000").
- R1: whether a model takes ``reasoning_effort``: for ``openai/`` only o-series and GPT-5
  models (the pinned LiteLLM also says yes for a name it does not know, e.g. a local model);
  for OpenRouter only where the catalog says the model reasons; elsewhere as the pinned
  LiteLLM says, unless only a generalization says so (then only Claude 3.7 Sonnet, 4.6, 4.7).
- R2: the model info the SDK reads (output limit, context window, vision) is R0's.
- R3: ``prompt_cache_retention`` never reaches the server (1.84.1's ``completion()`` loses it).
- R4: Anthropic's default ``max_tokens`` is 4096 (not 128000) for a model of unknown limit.
- R5: DeepSeek gets ``thinking: enabled`` instead of ``reasoning_effort`` ("none": neither).
- R6: Gemini (AI Studio) takes no ``seed``: dropped, or with drop_params off no request.
- R7: Anthropic ``reasoning_effort`` becomes budget thinking, adaptive only for Claude 4.6/4.7.

UI-free; litellm is passed in by the caller, never imported here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from tui.core import catalog
from tui.live.wire0 import Call, replace_body

LITELLM_WEB = "1.84.1"  # what openhands-ai 1.11.0 pins
WHO = f"the web app's LiteLLM ({LITELLM_WEB})"
ANTHROPIC_DEFAULT_MAX_TOKENS = 4096  # DEFAULT_ANTHROPIC_CHAT_MAX_TOKENS in 1.84.1
DROPPED = ("prompt_cache_retention", "prompt_cache_key", "store")  # not in its completion()
# 1.84.1's reasoning_effort -> Anthropic thinking budget (constants.py)
THINKING_BUDGET = {"minimal": 1024, "low": 1024, "medium": 2048, "high": 4096, "xhigh": 8192}
# Claude names 1.84.1 gives reasoning_effort and adaptive thinking by their look
_CLAUDE_46_47 = re.compile(r"(opus|sonnet)[-_]4[-_.]6|opus[-_]4[-_.]7")
_O_SERIES = re.compile(r"o\d")


class Answers:
    """The LiteLLM helpers the SDK asks (model info, vision, supported parameters), answered
    as LiteLLM 1.84.1 answers them (R0-R2), from the pinned LiteLLM and the catalog's own
    entries: nothing global is changed."""

    def __init__(self, litellm: Any) -> None:
        self._litellm = litellm

    def _entry(self, model: str, provider: str | None = None) -> tuple[dict[str, Any],
                                                                         dict[str, Any] | None]:
        """(the pinned LiteLLM's model info, the catalog entry it came from or None when a
        generalization made it up). Raises when LiteLLM knows nothing of the model."""
        info = dict(self._litellm.get_model_info(model, custom_llm_provider=provider))
        return info, catalog.entry(str(info.get("key") or ""))

    def get_model_info(self, model: str, custom_llm_provider: str | None = None
                       ) -> dict[str, Any]:
        """R0/R2: the model info, limits and capabilities read from the model's own catalog
        entry only. Raises (as LiteLLM does) when there is none."""
        info, own = self._entry(model, custom_llm_provider)
        if own is None:
            raise LookupError(f"{model}: not in the catalog as {WHO} reads it")
        return {k: own.get(k) if k.startswith(("max_", "supports_")) else v
                for k, v in info.items()}

    def _supports(self, model: str, key: str) -> bool:
        """LiteLLM's ``supports_*`` answer, False where only a generalization gave it (R0)."""
        try:
            if not getattr(self._litellm, key)(model=model):
                return False
            _, own = self._entry(model)
        except Exception:
            return False
        return own is not None and own.get(key) is True

    def supports_vision(self, model: str, custom_llm_provider: str | None = None) -> bool:
        return self._supports(model, "supports_vision")

    def get_supported_openai_params(self, model: str, custom_llm_provider: str | None = None
                                    ) -> list[str] | None:
        """The pinned LiteLLM's list, without ``reasoning_effort`` where 1.84.1 lists none."""
        params = self._litellm.get_supported_openai_params(
            model=model, custom_llm_provider=custom_llm_provider)
        if params and "reasoning_effort" in params and not self.lists_reasoning_effort(model):
            params = [p for p in params if p != "reasoning_effort"]
        return params

    def lists_reasoning_effort(self, model: str) -> bool:
        """R1: whether 1.84.1 lists ``reasoning_effort`` for this model (asked with no
        provider, as the SDK asks), given that the pinned LiteLLM does."""
        name = model.strip().lower()
        try:
            provider = self._litellm.get_llm_provider(model=name)[1]
        except Exception:
            return False
        last = name.split("/")[-1]
        if provider == "openai":  # 1.84.1 has no "unknown OpenAI model" config
            o_series = bool(_O_SERIES.match(last)) and \
                last in self._litellm.open_ai_chat_completion_models
            return o_series or ("gpt-5" in name and not last.startswith("gpt-5-chat"))
        if provider == "openrouter":  # 1.84.1 asks the catalog; the pinned one always lists it
            return self._supports(name, "supports_reasoning")
        try:
            reasons = bool(self._litellm.supports_reasoning(model=name))
        except Exception:
            reasons = False
        if not reasons or self._supports(name, "supports_reasoning"):
            return True  # the pinned LiteLLM did not decide from a generalization
        return provider == "anthropic" and ("claude-3-7-sonnet" in name
                                            or bool(_CLAUDE_46_47.search(name)))


def arguments(kwargs: Mapping[str, Any], answers: Answers) -> Call:
    """R3-R6: the SDK's arguments (built with :class:`Answers`) as the web app's LiteLLM
    treats them, or why it makes no request."""
    call = dict(kwargs)
    provider = catalog.provider_of(str(call.get("model") or ""))
    changes: list[str] = []
    for name in DROPPED:
        if call.pop(name, None) is not None:
            changes.append(f"{name} left out: {WHO} loses it")
    if provider == "anthropic" and not (call.get("max_tokens") or
                                        call.get("max_completion_tokens")):
        try:
            info = answers.get_model_info(str(call["model"]))
        except Exception:
            info = {}
        if not isinstance(info.get("max_output_tokens") or info.get("max_tokens"), int):
            call["max_tokens"] = ANTHROPIC_DEFAULT_MAX_TOKENS
            changes.append(f"max_tokens {ANTHROPIC_DEFAULT_MAX_TOKENS}: {WHO}'s default for "
                           "a model of unknown limit")
    if provider == "deepseek" and call.get("reasoning_effort") is not None:
        effort = call.pop("reasoning_effort")
        if effort != "none" and "thinking" not in call:
            call["thinking"] = {"type": "enabled"}
        changes.append(f"reasoning_effort {effort} sent as "
                       f"{'no thinking' if effort == 'none' else 'thinking: enabled'}, "
                       f"as {WHO} sends it to DeepSeek")
    if provider == "gemini" and call.get("seed") is not None:
        if not call.get("drop_params"):
            return Call(call, f"{WHO} does not support seed for gemini and, with drop_params "
                        "off, refuses the request (UnsupportedParamsError)", param="seed")
        call["seed"] = None
        changes.append(f"seed left out: {WHO} drops it for gemini")
    return Call(call, changes=tuple(changes))


def _budget_thinking(kwargs: Mapping[str, Any], provider: str) -> bool:
    """R7 applies: 1.84.1 maps reasoning_effort to budget thinking (adaptive only for Claude
    4.6/4.7 names), where the pinned LiteLLM may send adaptive thinking."""
    return (provider == "anthropic" and kwargs.get("reasoning_effort") in THINKING_BUDGET
            and "thinking" not in kwargs
            and not _CLAUDE_46_47.search(str(kwargs.get("model") or "").lower()))


def _to_budget(effort: str) -> Any:
    """The wire rule of R7: adaptive thinking in the body becomes budget thinking."""
    def rewrite(request: Any) -> None:
        body = json.loads(request.read() or b"{}")
        if (body.get("thinking") or {}).get("type") != "adaptive":
            return
        body["thinking"] = {"type": "enabled", "budget_tokens": THINKING_BUDGET[effort]}
        config = body.pop("output_config", None)
        if isinstance(config, dict) and (rest := {k: v for k, v in config.items()
                                                  if k != "effort"}):
            body["output_config"] = rest
        replace_body(request, body)
    return rewrite


def client(kwargs: Mapping[str, Any]) -> Any | None:
    """An HTTP client for LiteLLM applying R7, or None when it does not apply. Close it
    after the request (``await client.close()``)."""
    if not _budget_thinking(kwargs, catalog.provider_of(str(kwargs.get("model") or ""))):
        return None
    from litellm.llms.custom_httpx.http_handler import AsyncHTTPHandler

    rewrite = _to_budget(str(kwargs["reasoning_effort"]))

    async def hook(request: Any) -> None:
        rewrite(request)

    return AsyncHTTPHandler(event_hooks={"request": [hook]})
