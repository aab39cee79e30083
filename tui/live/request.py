"""The live test's request: OpenHands' ``litellm`` call built from the settings, and shown safely.

UI-free and litellm-free: :func:`completion_kwargs` builds the arguments, :func:`describe_request`
what may be shown of them (every secret masked), :func:`_scrub` any text before it is shown.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatch
from typing import Any

from tui.core import fields as F
from tui.core.catalog import entries, provider_of
from tui.core.settings import Settings, mask

DEFAULT_PROMPT = "Reply with one short sentence: are you ready to help with code?"
AZURE_API_VERSION = "2024-12-01-preview"  # OpenHands' default for azure/ models
OPENHANDS_PROXY = "https://llm-proxy.app.all-hands.dev/"  # where openhands/ models go
# The one deliberate difference from OpenHands' request (its stream and stream_options).
STREAMED = "streamed here; OpenHands asks without streaming"
# What OpenHands 0.x's litellm (< 1.78) asks Anthropic for when no limit is known.
ANTHROPIC_0X_MAX_TOKENS = 4096

@dataclass(frozen=True)
class RequestInfo:
    """The request that is made, as it may be shown: no secret in it."""

    model: str
    provider: str
    url: str  # the base URL, or "the provider's default endpoint"
    key: str  # masked, e.g. ****8e0c or "(not set)"
    params: dict[str, Any]  # the other arguments sent (None-valued ones left out)
    unsaved: tuple[str, ...] = ()  # fields whose value is an edit not yet saved

    def describe_params(self) -> str:
        """The other arguments, one line (secrets already masked)."""
        return ", ".join(f"{k} {json.dumps(v, ensure_ascii=False, default=str)}"
                         for k, v in self.params.items())

    def describe(self) -> str:
        text = f"{self.model} at {self.url}, key {self.key}"
        if self.unsaved:
            text += f" (unsaved: {', '.join(self.unsaved)})"
        return text


# -- the request -------------------------------------------------------------------------
def values_of(settings: Settings) -> dict[str, Any]:
    """Field name -> effective value, as :func:`run` takes them."""
    return {name: v.value for name, v in settings.values.items()}


def _get(values: Mapping[str, Any], name: str) -> Any:
    """A value of the right type, else the field's default (a broken value never crashes)."""
    f = F.BY_NAME[name]
    value = values.get(name, f.default)
    if value is None or f.type_problem(value) is None:
        return f.as_openhands(value)
    if f.type is int and isinstance(value, float) and math.isfinite(value):
        return value  # e.g. a sub-second timeout: litellm takes it
    if isinstance(value, str):
        with contextlib.suppress(F.FieldError):
            return f.from_env(value)
    return f.default


def _basename(model: str) -> str:
    """A model name compared the way OpenHands matches its feature patterns."""
    name = model.strip().lower()
    if "/" in name:
        name = name.rsplit("/", 1)[1].split(":", 1)[0]
    return name.removesuffix("-gguf")


# Models OpenHands 0.62 sends reasoning_effort to (and no temperature / top_p).
_REASONING = ("o1", "o1-2024-12-17", "o3", "o3-2025-04-16", "o3-mini", "o3-mini-2025-01-31",
              "o4-mini", "o4-mini-2025-04-16", "gemini-2.5-flash", "gemini-2.5-pro", "gpt-5*",
              "deepseek-r1-0528*", "claude-sonnet-4-5*", "claude-haiku-4-5*")
_NO_EFFORT = ("claude-sonnet-4-5", "claude-haiku-4-5-20251001")
_ONE_SAMPLER = ("claude-opus-4-1",)  # temperature kept, top_p dropped (only Opus 4.1 in 0.62)
_LONG_OUTPUT = ("claude-3-7-sonnet", "claude-3.7-sonnet", "claude-sonnet-4",
                "claude-sonnet-4-5-20250929", "claude-haiku-4-5-20251001")
# Providers litellm reaches through the OpenAI SDK, which retries silently unless
# max_retries (or num_retries) is 0; Hugging Face would get either in the request body.
_OPENAI_SDK = ("openai", "azure", "litellm_proxy")
_CORE = ("model", "messages", "stream", "api_key", "base_url", "api_version",
         "custom_llm_provider", "timeout", "drop_params", "seed", "num_retries", "max_retries")


def _catalog_info(model: str) -> dict[str, Any]:
    """The catalog entry of a model string (with or without its provider prefix)."""
    catalog = entries()
    names = [model, model.split(":", 1)[0]]
    if "/" in model:
        names += [model.split("/", 1)[1], model.rsplit("/", 1)[1]]
    for name in names:
        info = catalog.get(name)
        if isinstance(info, dict):
            return info
    return {}


def _max_output_tokens(model: str, configured: int | None,
                       proxy_info: Mapping[str, Any] | None = None) -> int | None:
    """What OpenHands sends as the answer limit: the setting, else the model's own limit
    (from the LiteLLM proxy's model info, else the catalog)."""
    if configured is not None:
        return configured
    if any(m in model for m in _LONG_OUTPUT):
        return 64000
    info = proxy_info or _catalog_info(model)
    for key in ("max_output_tokens", "max_tokens"):
        if isinstance(info.get(key), int):
            return info[key]
    return None


async def proxy_model_info(values: Mapping[str, Any]) -> dict[str, Any] | None:
    """A ``litellm_proxy/`` model's info from the proxy (``GET {base_url}/v1/model/info``),
    read the way OpenHands 0.x reads it before its first request; None when there is none."""
    model = str(_get(values, "model") or "").strip()
    if not model.startswith("litellm_proxy/"):
        return None
    base = str(_get(values, "base_url") or "").strip()
    if not base.startswith(("http://", "https://")):
        base = "http://" + base
    key = _get(values, "api_key") or None
    try:
        import httpx

        async with httpx.AsyncClient(timeout=5.0) as client:
            r = await client.get(f"{base}/v1/model/info",
                                 headers={"Authorization": f"Bearer {key}"})
        data = r.json().get("data", [])
    except Exception:
        return None
    name = model.removeprefix("litellm_proxy/")
    for item in data if isinstance(data, list) else []:
        if isinstance(item, dict) and item.get("model_name") == name:
            info = item.get("model_info")
            return info if isinstance(info, dict) else None
    return None


def completion_kwargs(values: Mapping[str, Any], prompt: str = DEFAULT_PROMPT,
                      model_info: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The arguments of ``litellm.acompletion``: OpenHands' call, streamed, no hidden retries.

    ``model_info``: what a LiteLLM proxy reports about the model (:func:`proxy_model_info`).
    """
    model = str(_get(values, "model") or "").strip()
    low = model.lower()
    extra: dict[str, Any] = {"temperature": _get(values, "temperature")}
    top_p = _get(values, "top_p")
    if model.startswith("huggingface") and top_p == 1:
        top_p = 0.9  # OpenHands: Hugging Face rejects OpenAI's default top_p
    max_out = _max_output_tokens(model, _get(values, "max_output_tokens"), model_info)
    if max_out is None and provider_of(model, _get(values, "custom_llm_provider")) == "anthropic":
        max_out = ANTHROPIC_0X_MAX_TOKENS  # later litellm would ask for 128000
    base_url = _get(values, "base_url") or None
    if model.startswith("openhands/"):  # OpenHands' own provider: its LiteLLM proxy
        model, base_url = "litellm_proxy/" + model.removeprefix("openhands/"), OPENHANDS_PROXY
        low = model.lower()
    if model.startswith("azure"):
        extra["max_tokens"] = max_out  # OpenHands issue 6777
    else:
        extra["max_completion_tokens"] = max_out
    if _get(values, "top_k") is not None:
        extra["top_k"] = _get(values, "top_k")
    if top_p is not None:
        extra["top_p"] = top_p
    name = _basename(model)
    if any(fnmatch(name, p) for p in _REASONING):
        effort = _get(values, "reasoning_effort")
        if "gemini-2.5-pro" in model and effort in (None, "low", "none"):
            extra["thinking"] = {"budget_tokens": 128}
            extra["allowed_openai_params"] = ["thinking"]
        elif not any(m in model for m in _NO_EFFORT) and effort is not None:
            extra["reasoning_effort"] = effort
        extra.pop("temperature", None)
        extra.pop("top_p", None)
    safety = _get(values, "safety_settings")
    if safety and ("mistral" in low or "gemini" in low):
        extra["safety_settings"] = safety
    extra["aws_region_name"] = _get(values, "aws_region_name")
    for secret in ("aws_access_key_id", "aws_secret_access_key"):
        if _get(values, secret):
            extra[secret] = _get(values, secret)
    if "claude-opus-4-1" in low:
        extra["thinking"] = {"type": "disabled"}
    if any(m in low for m in _ONE_SAMPLER) and "temperature" in extra and "top_p" in extra:
        extra.pop("top_p")
    extra.update(_get(values, "completion_kwargs") or {})
    api_version = _get(values, "api_version")
    if model.startswith("azure") and not api_version:
        api_version = AZURE_API_VERSION
    core = {
        "model": model,
        "messages": [{"role": "user", "content": prompt}],
        "stream": True,
        "api_key": _get(values, "api_key") or None,
        "base_url": base_url,
        "api_version": api_version or None,
        "custom_llm_provider": _get(values, "custom_llm_provider") or None,
        "timeout": _get(values, "timeout"),
        "drop_params": _get(values, "drop_params"),
        "seed": _get(values, "seed"),
    }
    if provider_of(model, core["custom_llm_provider"]) in _OPENAI_SDK:
        # Silent retries off (LiteLLM's and the OpenAI SDK's): every request is one the user
        # sees. Other providers retry only when asked to, and would get these in the body.
        core.update(num_retries=0, max_retries=0)
    return {**{k: v for k, v in extra.items() if k not in _CORE}, **core}


_SECRET_KEY = re.compile(r"key|secret|token|password|passwd|authorization|cookie|credential",
                         re.I)
_HEADERS = {"extra_headers", "headers"}  # every value in these is masked, whatever its name


def _redact(value: Any, hide: str = "") -> Any:
    """A copy of kwargs, masked: every header value ("all"), and every text under a
    secret-looking key ("text": numbers such as max_tokens are no secret)."""
    if isinstance(value, dict):
        return {k: _redact(v, _hiding(k, hide)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact(v, hide) for v in value]
    if value is None or not hide or (hide == "text" and isinstance(value, int | float)):
        return value
    return mask(str(value))


def _hiding(key: Any, inherited: str) -> str:
    """How the values under ``key`` are masked (see :func:`_redact`)."""
    if inherited == "all" or str(key).lower() in _HEADERS:
        return "all"
    return "text" if inherited or _SECRET_KEY.search(str(key)) else ""


def describe_request(kwargs: Mapping[str, Any], unsaved: Iterable[str] = ()) -> RequestInfo:
    """The request as it may be shown (key masked, secrets out)."""
    hidden = {"model", "messages", "api_key", "base_url", "aws_access_key_id",
              "aws_secret_access_key", "stream", "num_retries", "max_retries"}
    params = {k: _redact(v, _hiding(k, "")) for k, v in kwargs.items()
              if k not in hidden and v is not None}
    order = [f.name for f in F.FIELDS]
    pending = tuple(sorted({n for n in unsaved if n in F.BY_NAME}, key=order.index))
    provider = provider_of(kwargs.get("model"), kwargs.get("custom_llm_provider"))
    url = kwargs.get("base_url") or f"the {provider} default endpoint"
    return RequestInfo(model=str(kwargs.get("model") or ""), provider=provider, url=url,
                       key=mask(kwargs.get("api_key")), params=params, unsaved=pending)


def _secrets(values: Mapping[str, Any], kwargs: Mapping[str, Any]) -> list[str]:
    """Every secret a message could leak, longest first."""
    found = [str(values.get(n)) for n in F.SECRET_FIELDS if values.get(n)]
    found += [str(kwargs[n]) for n in ("api_key", "aws_access_key_id",
                                        "aws_secret_access_key") if kwargs.get(n)]

    def walk(v: Any, hide: str = "") -> None:
        if isinstance(v, dict):
            for k, x in v.items():
                walk(x, _hiding(k, hide))
        elif isinstance(v, list | tuple):
            for x in v:
                walk(x, hide)
        elif v is not None and (isinstance(v, str) or hide == "all") and hide:
            found.append(str(v))
            found.extend(str(v).split()[1:])  # "Bearer KEY": the key alone too

    walk(_get(values, "completion_kwargs") or {})
    walk({k: v for k, v in kwargs.items() if k in _HEADERS})
    return sorted({s for s in found if len(s) >= 4}, key=len, reverse=True)


def _scrub(text: str, secrets: Iterable[str], limit: int = 300) -> str:
    """Text safe to show: secrets replaced, whitespace collapsed, length bounded."""
    for s in secrets:
        text = text.replace(s, mask(s))
    text = " ".join(re.sub(r" ?ssl:<[^>]*>", "", text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
