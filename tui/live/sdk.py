"""The live test as OpenHands 1.x: the request and the retries of openhands-sdk's ``LLM``.

OpenHands 1.x (its CLI pins openhands-sdk 1.21.0, its web app 1.34.0) no longer reads
config.toml; its ``LLM`` has other defaults (timeout 300, reasoning_effort "high", 5 attempts
waiting 8 to 64 s) and builds its ``litellm.completion`` call its own way. This module builds
that call from the same settings, a field left unset taking the SDK's default, and says which
failures the SDK retries. Modelled on openhands-sdk 1.34.0 (:data:`SDK_VERSION`); where 1.21.0
differs, ``version="1.21"`` gives its behaviour.

UI-free; litellm is passed in by the caller (the live test has it loaded), never imported here.
Where the SDK asks LiteLLM (``get_supported_openai_params``, ``get_model_info``,
``supports_vision``), ``litellm`` may also be an object answering those as another LiteLLM
version would: :class:`tui.live.wire_web.Answers`, the web app's.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from tui.core import fields as F
from tui.live.request import DEFAULT_PROMPT, _get

SDK_VERSION = "1.34.0"
# Short: the Test pane shows the three side by side in 80 columns.
LABELS = {"0.x": "as OpenHands 0.x", "1.x": "as OpenHands 1.x (SDK)",
          "web": "as the 1.x web app"}  # the web app: SDK 1.34 on LiteLLM 1.84.1 (wire_web)

# The SDK LLM's defaults (openhands/sdk/llm/llm.py) for the fields config.toml shares with it.
SDK_DEFAULTS: dict[str, Any] = {
    "num_retries": 5, "retry_multiplier": 8.0, "retry_min_wait": 8, "retry_max_wait": 64,
    "timeout": 300, "temperature": None, "top_p": None, "top_k": None,
    "max_message_chars": 30_000, "drop_params": True, "modify_params": True,
    "disable_vision": None, "disable_stop_word": False, "caching_prompt": True,
    "log_completions": False, "native_tool_calling": True, "reasoning_effort": "high",
    "openrouter_site_url": "https://docs.all-hands.dev/", "openrouter_app_name": "OpenHands",
}
# Settings the SDK's LLM has no field for: OpenHands 1.x ignores them.
NOT_IN_SDK = ("custom_llm_provider", "completion_kwargs", "safety_settings", "for_routing",
              "correct_num", "embedding_model", "embedding_deployment_name")
EXTENDED_THINKING_BUDGET = 200_000
PROMPT_CACHE_RETENTION = "24h"
AZURE_API_VERSION = "2024-12-01-preview"
OPENHANDS_PROXY = "https://llm-proxy.app.all-hands.dev"
MAX_OUTPUT_CAP = 16384  # DEFAULT_MAX_OUTPUT_TOKENS_CAP
MIN_CONTEXT_WINDOW = 16384  # MIN_CONTEXT_WINDOW_TOKENS: a smaller window is refused

# openhands/sdk/llm/utils/model_features.py (substring matches, case-insensitive)
_EXTENDED_THINKING = ("claude-sonnet-4-5", "claude-sonnet-4-6", "claude-haiku-4-5")
_PROMPT_CACHE = ("claude-3-7-sonnet", "claude-sonnet-3-7-latest", "claude-3-5-sonnet",
                 "claude-3-5-haiku", "claude-3-haiku-20240307", "claude-3-opus-20240229",
                 "claude-sonnet-4", "claude-opus-4", "claude-haiku-4-5", "claude-sonnet-4-5",
                 "claude-sonnet-4-6", "claude-opus-4-5", "claude-opus-4-6", "claude-opus-4-7")
_PROMPT_CACHE_134 = ("claude-opus-4-8", "claude-fable-5")
_PROMPT_CACHE_121 = ("gemini-2.5", "gemini-3")
_REASONING_EFFORT_134 = ("claude-fable-5", "claude-opus-4-8")
_CACHE_RETENTION_RULES = ("gpt-5", "gpt-4.1", "!mini", "gpt-5.1-codex-mini", "!azure/")
_FORCE_STRING = ("deepseek", "glm", "groq/kimi-k2-instruct", "openrouter/minimax")
_DEPLOYMENT_PREFIXES = ("prod/", "dev/", "staging/", "test/")
_LONG_OUTPUT = ("claude-3-7-sonnet", "claude-sonnet-4", "kimi-k2-thinking")


def _matches(model: str, patterns: tuple[str, ...]) -> bool:
    raw = model.strip().lower()
    return any(p in raw for p in patterns)


def _ordered_rules(model: str, rules: tuple[str, ...]) -> bool:
    """The SDK's include/exclude rules: the last matching rule wins."""
    raw, decided = model.strip().lower(), False
    for rule in rules:
        core = rule.removeprefix("!")
        if core in raw:
            decided = not rule.startswith("!")
    return decided


def set_values(settings: Any) -> dict[str, Any]:
    """Field name -> value, only for the fields the settings set (the rest: SDK defaults)."""
    return {name: v.value for name, v in settings.values.items() if v.is_set}


def effective(values: Mapping[str, Any]) -> dict[str, Any]:
    """Every field: the value set, else the SDK's default (None where the SDK has none)."""
    return {**{f.name: SDK_DEFAULTS.get(f.name) for f in F.FIELDS}, **values}


def ignored(values: Mapping[str, Any]) -> list[str]:
    """The settings given that OpenHands 1.x does not read."""
    return [n for n in NOT_IN_SDK if values.get(n) not in (None, "", {}, [])]


def supports_reasoning_effort(model: str, litellm: Any, version: str = "1.34") -> bool:
    """LiteLLM lists reasoning_effort among the model's parameters (or the SDK says so)."""
    if version != "1.21" and _matches(model, _REASONING_EFFORT_134):
        return True
    name = model.strip().lower()
    for prefix in ("litellm_proxy/", "openhands/"):
        if name.startswith(prefix):
            name = name.removeprefix(prefix)
            break
    for prefix in _DEPLOYMENT_PREFIXES:
        if name.startswith(prefix):
            name = name.removeprefix(prefix)
            break
    try:
        params = litellm.get_supported_openai_params(model=name, custom_llm_provider=None)
    except Exception:
        return False
    return "reasoning_effort" in (params or ())


def call_target(model: str, base_url: str | None) -> tuple[str, str | None]:
    """The model and base URL sent: ``openhands/NAME`` goes to the OpenHands proxy."""
    if model.startswith("openhands/"):
        return "litellm_proxy/" + model.removeprefix("openhands/"), base_url or OPENHANDS_PROXY
    if model.startswith("openai/") and base_url in ("https://api.openai.com",
                                                     "https://api.openai.com/"):
        return model, None
    return model, base_url


def _litellm_info(model: str, litellm: Any) -> dict[str, Any] | None:
    try:
        info = litellm.get_model_info(model)
    except Exception:
        return None
    return dict(info) if info else None


def model_info(model: str, base_url: str | None, api_key: str | None, litellm: Any,
               version: str = "1.34") -> dict[str, Any] | None:
    """What the SDK knows of the model (``get_litellm_model_info``): a LiteLLM proxy's
    ``/v1/model/info``, else LiteLLM's catalog. Blocking (the proxy is asked over HTTP)."""
    openhands = model.startswith("openhands/")
    model, base_url = call_target(model, base_url)
    if version == "1.21" and openhands and base_url == OPENHANDS_PROXY:
        base_url += "/"  # 1.21 writes the proxy's URL with a slash
    if model.startswith("openrouter") and (info := _litellm_info(model, litellm)):
        return info
    if model.startswith("litellm_proxy/") and base_url:
        info = _proxy_model_info(model.removeprefix("litellm_proxy/"), base_url, api_key,
                                 version)
        if info:
            return info
    return _litellm_info(model.split(":")[0], litellm) or \
        _litellm_info(model.split("/")[-1], litellm)


def _proxy_model_info(name: str, base_url: str, api_key: str | None, version: str
                      ) -> dict[str, Any] | None:
    try:
        import httpx

        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        data = httpx.get(f"{base_url}/v1/model/info", headers=headers,
                         timeout=10.0).json().get("data", [])
        for item in data:
            params = item.get("litellm_params") or {}
            if item.get("model_name") == name or (version != "1.21" and
                                                 params.get("model") == name):
                info = item.get("model_info")
                return dict(info) if isinstance(info, dict) else None
    except Exception:
        return None
    return None


def max_tokens(model: str, base_url: str | None, configured: int | None,
               configured_input: int | None, info: Mapping[str, Any] | None,
               version: str = "1.34") -> tuple[int | None, int | None]:
    """(output, input) token limits the SDK uses: the settings, else the model's."""
    max_in = configured_input
    if max_in is None and info and isinstance(info.get("max_input_tokens"), int):
        max_in = info["max_input_tokens"]
    out = configured
    if out is None:
        if any(m in model for m in _LONG_OUTPUT):
            out = 64000
        elif info and isinstance(info.get("max_output_tokens"), int):
            out = info["max_output_tokens"]
            window = max_in or info.get("max_tokens")
            if isinstance(window, int) and out >= window:
                out //= 2
            if (version != "1.21" and base_url is not None
                    and not model.startswith("litellm_proxy/") and out > MAX_OUTPUT_CAP):
                out = MAX_OUTPUT_CAP
        elif info and isinstance(info.get("max_tokens"), int):
            out = min(info["max_tokens"], MAX_OUTPUT_CAP)
    if "o3" in model and (out is None or out > 100_000):
        out = 100_000
    return out, max_in


def too_small(max_input: int | None) -> str | None:
    """Why the SDK refuses to build this LLM, if its context window is too small."""
    if os.environ.get("ALLOW_SHORT_CONTEXT_WINDOWS", "").lower() in ("true", "1", "yes"):
        return None
    if max_input is not None and max_input < MIN_CONTEXT_WINDOW:
        return (f"OpenHands 1.x refuses this model: its context window ({max_input} tokens) "
                f"is below {MIN_CONTEXT_WINDOW}")
    return None


def _vision(model: str, values: Mapping[str, Any], litellm: Any,
            info: Mapping[str, Any] | None) -> bool:
    """The SDK's ``vision_is_active``: not disabled, and LiteLLM says the model sees images."""
    if _get(values, "disable_vision"):
        return False
    for name in (model, model.split("/")[-1]):
        try:
            if litellm.supports_vision(name):
                return True
        except Exception:
            continue
    return bool(info and info.get("supports_vision"))


def messages(model: str, values: Mapping[str, Any], prompt: str, litellm: Any,
             info: Mapping[str, Any] | None = None, version: str = "1.34"
             ) -> list[dict[str, Any]]:
    """The prompt as the SDK serializes one user message: a list of parts when prompt caching,
    vision or native tool calling is on (unless the model needs a string), else a string."""
    cache = _PROMPT_CACHE + (_PROMPT_CACHE_121 if version == "1.21" else _PROMPT_CACHE_134)
    caching = bool(_get(values, "caching_prompt")) and _matches(model, cache)
    as_list = caching or bool(_get(values, "native_tool_calling")) or \
        _vision(model, values, litellm, info)
    if _matches(model, _FORCE_STRING) or not as_list:
        return [{"role": "user", "content": prompt}]
    part: dict[str, Any] = {"type": "text", "text": prompt}
    if caching:
        part["cache_control"] = {"type": "ephemeral"}
    return [{"role": "user", "content": [part]}]


def completion_kwargs(values: Mapping[str, Any], litellm: Any, prompt: str = DEFAULT_PROMPT,
                      info: Mapping[str, Any] | None = None, version: str = "1.34"
                      ) -> dict[str, Any]:
    """The arguments of ``litellm.acompletion`` the SDK's ``LLM.completion`` makes (plus
    streaming, no hidden retries). ``values``: :func:`effective` ones; ``info``:
    :func:`model_info` of the model."""
    model = str(_get(values, "model") or "").strip()
    configured_url = _get(values, "base_url") or None
    sent_model, base_url = call_target(model, configured_url)
    if version == "1.21" and model.startswith("openhands/"):
        base_url = configured_url or OPENHANDS_PROXY + "/"
    max_out, _ = max_tokens(model, configured_url, _get(values, "max_output_tokens"),
                            _get(values, "max_input_tokens"), info, version)
    out: dict[str, Any] = {}
    top_k = _get(values, "top_k")
    for key, value in (("top_k", None if top_k is None else float(top_k)),
                       ("top_p", _get(values, "top_p")),
                       ("temperature", _get(values, "temperature")),
                       ("max_completion_tokens", max_out)):
        if value is not None:
            out[key] = value
    if model.startswith("azure") and "max_completion_tokens" in out:
        out["max_tokens"] = out.pop("max_completion_tokens")
    site, app = _get(values, "openrouter_site_url"), _get(values, "openrouter_app_name")
    headers = {**({"HTTP-Referer": site} if site else {}), **({"X-Title": app} if app else {})}
    if headers and (version != "1.21" or model.startswith("openrouter")):
        out["extra_headers"] = headers  # 1.21 sets OR_SITE_URL/OR_APP_NAME: same headers
    if supports_reasoning_effort(model, litellm, version):
        if _get(values, "reasoning_effort") is not None:
            out["reasoning_effort"] = _get(values, "reasoning_effort")
        if "gemini" not in model.lower():
            out.pop("temperature", None)
            out.pop("top_p", None)
    if _matches(model, _EXTENDED_THINKING):
        if max_out:
            out["thinking"] = {"type": "enabled",
                               "budget_tokens": min(EXTENDED_THINKING_BUDGET, max_out - 1)}
            out["extra_headers"] = {"anthropic-beta": "interleaved-thinking-2025-05-14",
                                    **(out.get("extra_headers") or {})}
            out["max_tokens"] = max_out
        out.pop("temperature", None)
        out.pop("top_p", None)
    if _ordered_rules(model, _CACHE_RETENTION_RULES):
        out["prompt_cache_retention"] = PROMPT_CACHE_RETENTION
    api_key = _get(values, "api_key") or None
    if str(api_key or "") == "**********":
        api_key = None  # the SDK reads its mask as no key
    aws = {n: _get(values, n) for n in ("aws_access_key_id", "aws_secret_access_key",
                                        "aws_region_name") if _get(values, n)}
    if api_key and sent_model.startswith("bedrock/"):
        api_key = None  # the SDK keeps a non-Bedrock key away from Bedrock
    return {
        **out, **aws,
        "model": sent_model,
        "messages": messages(model, values, prompt, litellm, info, version),
        "stream": True,
        "stream_options": {"include_usage": True},
        "api_key": api_key,
        "base_url": base_url,
        "api_version": _get(values, "api_version") or (
            AZURE_API_VERSION if model.startswith("azure") else None),
        "timeout": _get(values, "timeout"),
        "drop_params": _get(values, "drop_params"),
        "seed": _get(values, "seed"),
        "num_retries": 0,  # LiteLLM's own retries: off, every request is one the user sees
        "max_retries": 0,  # the OpenAI SDK's silent retries: off
    }


# -- retries -----------------------------------------------------------------------------
# LLM_RETRY_EXCEPTIONS (litellm's classes) of openhands-ai 0.62.0 and openhands-sdk 1.21.0
# and 1.34.0, all the same six (the sixth, LLMNoResponseError, is an empty answer).
RETRIED = ("APIConnectionError", "RateLimitError", "ServiceUnavailableError", "Timeout",
           "InternalServerError")
# openhands-sdk 1.58.0 adds BadGatewayError and any 408/409/429/5xx status, and never retries
# an exhausted quota or budget (exceptions/classifier.py).
_QUOTA = ("usage_limit_reached", "insufficient_quota")


def _is(exc: BaseException, names: tuple[str, ...]) -> bool:
    """``exc`` is an instance of one of litellm's exception classes of these names."""
    return any(c.__name__ in names and c.__module__.startswith("litellm")
               for c in type(exc).__mro__)


def retried(exc: BaseException | None, version: str = "1.34") -> bool:
    """Whether OpenHands retries this failure (None: an empty answer, always retried).

    ``version`` "1.34" (also 1.21 and OpenHands 0.62): the six exception classes only.
    "1.58": those, BadGatewayError and any HTTP 408/409/429/5xx, never quota or budget
    exhaustion."""
    if exc is None:
        return True
    if version != "1.58":
        return _is(exc, RETRIED)
    text = str(exc).lower()
    budget = _is(exc, ("BudgetExceededError",)) or (
        _is(exc, ("RateLimitError",)) and ("budget_exceeded" in text
                                           or "budget has been exceeded" in text))
    if budget or any(p in text for p in _QUOTA):
        return False
    status = getattr(exc, "status_code", None)
    transient = _is(exc, ("APIError",)) and isinstance(status, int) and (
        status in (408, 409, 429) or 500 <= status < 600)
    return _is(exc, (*RETRIED, "BadGatewayError")) or transient


def contrast(exc: BaseException | None) -> str:
    """One sentence when OpenHands versions act differently on this failure, else ""."""
    before, after = retried(exc), retried(exc, "1.58")
    if before == after:
        return ""
    status = getattr(exc, "status_code", None)
    what = f"HTTP {status}" if isinstance(status, int) else type(exc).__name__
    if before:
        return ("OpenHands 0.x and 1.x up to SDK 1.34 (the CLI's 1.21, the web app's 1.34) "
                f"retry this ({what}); from SDK 1.58 on OpenHands fails at once, "
                "an exhausted quota or budget is never retried.")
    return ("OpenHands 0.x and 1.x up to SDK 1.34 (the CLI's 1.21, the web app's 1.34) fail at "
            f"once on this ({what}); from SDK 1.58 on OpenHands retries it.")


def plans(values: Mapping[str, Any]) -> str:
    """The attempts and waits of each generation for a failure both retry, when they differ.
    ``values``: the fields set (the rest: each generation's own defaults)."""
    def plan(v: Mapping[str, Any]) -> tuple[int, list[float]]:
        n = max(1, int(_get(v, "num_retries") or 1))
        return n, F.retry_schedule(n, _get(v, "retry_min_wait") or 0,
                                   _get(v, "retry_max_wait") or 0,
                                   _get(v, "retry_multiplier") or 1)

    def text(n: int, waits: list[float]) -> str:
        shown = f" (waits {', '.join(f'{w:g}' for w in waits)} s)" if waits else ""
        return f"{n} attempt{'s' if n > 1 else ''}{shown}"

    old, new = plan(values), plan(effective(values))
    if old == new:
        return ""
    return f"OpenHands 0.x makes {text(*old)}, OpenHands 1.x {text(*new)}."


def empty_answer_temperature(temperature: float | None, version: str = "1.34"
                             ) -> float | None:
    """The temperature of the attempt after an empty answer."""
    if version == "1.21":
        return 1.0  # 1.21 reads the retry's own kwargs: always 1.0
    return 1.0 if temperature == 0 else temperature
