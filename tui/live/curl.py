"""The live test's request as a curl command, the key written as ``$LLM_API_KEY``.

UI-free and litellm-free: :func:`curl_command` turns :func:`tui.live.request.completion_kwargs`
into the HTTP request an OpenAI-compatible server, Anthropic or Azure receives. No secret ever
appears in the text: the key is the shell variable, header values are left out, and any other
secret that could remain is masked.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tui.core.catalog import provider_of
from tui.core.settings import mask
from tui.live import wire0 as W0

KEY_VAR = "$LLM_API_KEY"
ANTHROPIC_VERSION = "2023-06-01"
# Providers whose default endpoint speaks OpenAI's chat completions API.
OPENAI_COMPATIBLE = {
    "openai": "https://api.openai.com/v1",
    "openrouter": "https://openrouter.ai/api/v1",
    "deepseek": "https://api.deepseek.com/v1",
    "groq": "https://api.groq.com/openai/v1",
    "mistral": "https://api.mistral.ai/v1",
    "xai": "https://api.x.ai/v1",
    "together_ai": "https://api.together.xyz/v1",
    "fireworks_ai": "https://api.fireworks.ai/inference/v1",
    "litellm_proxy": "",
    "hosted_vllm": "",
    "lm_studio": "",
    "llamafile": "",
}
# Arguments that steer LiteLLM itself and are not sent to the server.
_LITELLM_ONLY = {"api_key", "base_url", "api_version", "custom_llm_provider", "timeout",
                 "drop_params", "num_retries", "max_retries", "aws_region_name",
                 "aws_access_key_id", "aws_secret_access_key", "allowed_openai_params",
                 "safety_settings", "extra_headers", "headers", "model"}


@dataclass(frozen=True)
class Curl:
    """The command, or why there is none (``command`` empty, ``problem`` says why)."""

    command: str = ""
    problem: str = ""


def curl_command(kwargs: Mapping[str, Any], secrets: Iterable[str] = ()) -> Curl:
    """A curl command sending the request ``kwargs`` describes (``completion_kwargs``' output).

    ``secrets``: texts that must not appear (masked if a setting carries one elsewhere).
    """
    model = str(kwargs.get("model") or "")
    if not model:
        return Curl(problem="No model is set, so there is no request to copy.")
    wire = W0.arguments(kwargs)  # what OpenHands 0.x's LiteLLM sends of these arguments
    if wire.refused:
        return Curl(problem=f"{wire.refused}, so there is no request to copy.")
    kwargs = {**wire.kwargs, "extra_headers": kwargs.get("extra_headers")}  # its key: below
    provider = provider_of(model, kwargs.get("custom_llm_provider"))
    base = str(kwargs.get("base_url") or "").rstrip("/")
    name = model.split("/", 1)[1] if "/" in model and provider_of(model) == provider \
        else model  # LiteLLM strips the provider's prefix
    body = {k: kwargs[k] for k in ("messages", "stream") if k in kwargs}
    body.update((k, v) for k, v in kwargs.items() if k not in _LITELLM_ONLY and v is not None)
    headers = ["Content-Type: application/json"]
    has_key = bool(kwargs.get("api_key"))
    if provider == "anthropic":
        url = f"{base or 'https://api.anthropic.com'}/v1/messages"
        body["max_tokens"] = body.pop("max_completion_tokens", None) or 4096
        body = {"model": name, **body}
        headers.append(f"anthropic-version: {ANTHROPIC_VERSION}")
        auth = [f"x-api-key: {KEY_VAR}"]
    elif provider == "azure":
        if not base:
            return Curl(problem="Azure needs base_url (the resource's endpoint) to build the "
                        "request.")
        url = (f"{base}/openai/deployments/{name}/chat/completions"
               f"?api-version={kwargs.get('api_version') or ''}")
        auth = [f"api-key: {KEY_VAR}", f"Authorization: Bearer {KEY_VAR}"]  # both, as 0.x
    elif provider in OPENAI_COMPATIBLE:
        base = base or OPENAI_COMPATIBLE.get(provider, "")
        if not base:
            return Curl(problem=f"{provider} needs base_url to build the request.")
        url = f"{base}/chat/completions"
        body = {"model": name, **body}
        auth = [f"Authorization: Bearer {KEY_VAR}"]
    else:
        return Curl(problem=f"Copy as curl knows OpenAI-compatible servers, Anthropic and "
                    f"Azure; {provider} speaks its own API (LiteLLM translates it).")
    lines = [f"curl -sN {shlex.quote(url)}"]
    lines += [f"-H {shlex.quote(h)}" for h in headers]
    if has_key:
        lines += [f'-H "{a}"' for a in auth]
    timeout = kwargs.get("timeout")
    if isinstance(timeout, int | float) and not isinstance(timeout, bool) and timeout > 0:
        lines.append(f"--max-time {timeout:g}")
    lines.append("-d " + shlex.quote(json.dumps(body, ensure_ascii=False, default=str)))
    text = " \\\n  ".join(lines)
    if any(kwargs.get(k) for k in ("extra_headers", "headers")):
        text += "\n# extra_headers are left out: their values may be secrets."
    for s in sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True):
        text = text.replace(s, mask(s))
    return Curl(command=text)
