"""The live test's failures named in plain words, with what to do and whether OpenHands retries.

UI-free and litellm-free: :func:`_classify` reads the exception chain litellm raises (class names
and HTTP details, never imports).
"""

from __future__ import annotations

import contextlib
import difflib
import email.utils
import json
import re
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from tui.core.catalog import entries, provider_of
from tui.live.request import _get, _scrub

# What OpenHands 0.x waits with `timeout` unset: LiteLLM's chat completion default
# (`CompletionTimeout.resolve` maps its 6000 s sentinel to 600 s for `completion`).
LITELLM_DEFAULT_TIMEOUT = 600.0


@dataclass(frozen=True)
class _Cause:
    kind: str
    message: str
    advice: str
    retry: bool = False
    status: int | None = None
    retry_after: float | None = None
    short: str = ""  # for countdowns: "rate limited (429)"


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception and everything it wraps (cause, context, original_exception)."""
    out: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop(0)
        if e is None or any(e is x for x in out):
            continue
        out.append(e)
        todo += [e.__cause__, e.__context__, getattr(e, "original_exception", None)]
    return [e for e in out if isinstance(e, BaseException)]


def _has(chain: list[BaseException], *names: str) -> BaseException | None:
    """The first exception in the chain whose class (or a base) has one of these names."""
    for e in chain:
        if any(c.__name__ in names for c in type(e).__mro__):
            return e
    return None


def _http_status(chain: list[BaseException]) -> int | None:
    """The status the server answered, from the HTTP layer of the chain.

    litellm's own ``status_code`` can be made up: a refused connection is its
    InternalServerError, 500.
    """
    for e in chain:
        response = getattr(e, "response", None)
        mod = type(e).__module__
        if type(e).__name__ == "HTTPStatusError" or (
                mod.startswith("openai") and hasattr(e, "status_code") and response is not None):
            status = getattr(response, "status_code", None)
            if isinstance(status, int):
                return status
    return None


def _provider_message(chain: list[BaseException]) -> str:
    """The server's own error message, without the wrapper prefixes."""
    for e in chain:
        if type(e).__module__.startswith("openai") and hasattr(e, "status_code"):
            body = getattr(e, "body", None)
            if isinstance(body, dict):
                err = body.get("error")
                msg = (body.get("message") or (err.get("message") if isinstance(err, dict)
                                               else err) or body.get("detail"))  # FastAPI
                if isinstance(msg, str) and msg:
                    return msg
            return re.sub(r"^Error code: \d+ - ", "", str(e))
    text = str(chain[0])
    prev = None
    while prev != text:
        prev = text
        text = re.sub(r"^\s*(litellm\.)?\w+(Error|Exception)(:| -)\s*", "", text)
    start = text.find("{")
    if start >= 0:
        with contextlib.suppress(ValueError):
            data = json.loads(text[start:])
            err = data.get("error", data) if isinstance(data, dict) else {}
            if isinstance(err, dict) and isinstance(err.get("message"), str):
                return err["message"]
            if isinstance(err, str):
                return err
    return text


def _retry_after(chain: list[BaseException]) -> float | None:
    """Seconds a Retry-After (or retry-after-ms) header asks for."""
    for e in chain:
        headers = getattr(getattr(e, "response", None), "headers", None)
        if not headers:
            continue
        with contextlib.suppress(TypeError, ValueError):
            ms = headers.get("retry-after-ms")
            if ms:
                return float(ms) / 1000
        value = headers.get("retry-after")
        if not value:
            continue
        try:
            return max(0.0, float(value))
        except ValueError:
            with contextlib.suppress(TypeError, ValueError):
                when = email.utils.parsedate_to_datetime(value)
                return max(0.0, when.timestamp() - time.time())
    return None


def _body_param(chain: list[BaseException]) -> str | None:
    for e in chain:
        body = getattr(e, "body", None)
        if isinstance(body, dict) and isinstance(body.get("param"), str):
            return body["param"]
    return None


_QUOTA = re.compile(r"insufficient_quota|exceeded your current quota|quota (has been )?"
                    r"exceeded|billing|credit balance|out of credits|payment required", re.I)
_CONTEXT = re.compile(r"context (length|window)|maximum context|context_length_exceeded|"
                      r"too many tokens|prompt is too long|max_model_len|reduce the length",
                      re.I)
_UNSUPPORTED = re.compile(r"unsupported (parameter|param|value)|not supported|unrecognized "
                          r"(request )?argument|unknown (parameter|field|argument)|extra "
                          r"(inputs|fields) (are )?not permitted|unexpected keyword|"
                          r"additional properties|UnsupportedParamsError", re.I)
_PARAM_FIELD = {"temperature": "temperature", "top_p": "top_p", "top_k": "top_k",
                "seed": "seed", "max_tokens": "max_output_tokens",
                "max_completion_tokens": "max_output_tokens",
                "reasoning_effort": "reasoning_effort", "safety_settings": "safety_settings"}


class _Context:
    """What the classifier needs to know about the request."""

    def __init__(self, values: Mapping[str, Any], kwargs: Mapping[str, Any],
                 secrets: list[str]) -> None:
        self.values = values
        self.kwargs = kwargs
        self.secrets = secrets
        self.model = str(kwargs.get("model") or "")
        self.url = kwargs.get("base_url") or ""
        self.where = self.url or (
            f"the {provider_of(self.model, kwargs.get('custom_llm_provider'))} API")
        self.server_models: list[str] = []  # GET {base_url}/models, fetched after a 404


def _classify(exc: BaseException, ctx: _Context, got_text: bool) -> _Cause:
    """Name a failure in plain words, with what to do; decide whether OpenHands retries it."""
    chain = _chain(exc)
    raw = _scrub(_provider_message(chain), ctx.secrets)
    where = ctx.where
    # -- no HTTP answer ------------------------------------------------------------------
    if _has(chain, "JSONDecodeError"):
        return _Cause("malformed_stream", f"{where} sent a malformed stream chunk (not JSON)",
                      "The server is not speaking OpenAI's streaming format correctly: check "
                      "base_url points at an OpenAI-compatible /v1 endpoint, or update the "
                      "server.")
    timed_out = _has(chain, "Timeout", "TimeoutException", "TimeoutError", "APITimeoutError",
                     "ServerTimeoutError", "SocketTimeoutError")
    if got_text and timed_out:  # the socket is open, the server just stopped sending
        limit = ctx.kwargs.get("timeout")
        return stalled(limit if isinstance(limit, int | float) else LITELLM_DEFAULT_TIMEOUT,
                       True, where)
    if any(_REPEATING.search(str(e)) for e in chain):
        times = getattr(sys.modules.get("litellm"), "REPEATED_STREAMING_CHUNK_LIMIT", 100)
        return _Cause("repeating", "LiteLLM stopped the stream: the model repeated the same "
                      f"chunk {times} times",
                      "The model is stuck in a loop: check the model and its chat template "
                      "(or quantization) on the server; a repetition penalty or another "
                      "temperature may help.")
    closed = _has(chain, "RemoteProtocolError", "ClientPayloadError", "IncompleteRead",
                  "ServerDisconnectedError")
    reset = _has(chain, "ReadError", "ConnectionResetError", "BrokenPipeError")
    how = ("the server closed the connection" if closed else
           "the connection was reset" if reset else "the connection failed")
    if got_text and (closed or reset or _has(chain, "APIConnectionError",
                                             "MidStreamFallbackError")):
        return _Cause("stream_cut", f"the answer from {where} was cut off midway: {how} "
                      "before the end of the stream",
                      "A proxy or the server dropped the connection; OpenHands retries such "
                      "errors. If it recurs, check the server's or proxy's logs and timeouts.")
    if timed_out:
        limit = ctx.kwargs.get("timeout")
        within = f" within {limit:g} s" if isinstance(limit, int | float) else ""
        return _Cause("timeout", f"no answer from {where}{within} (timed out)",
                      "The server is slow or overloaded: raise the timeout (llm-settings set "
                      "timeout 120) or try a smaller or faster model.", retry=True,
                      short="timed out")
    if _has(chain, "gaierror", "ClientConnectorDNSError"):
        return _Cause("unreachable", f"cannot reach {where}: the host name does not resolve",
                      "Check the host in base_url (llm-settings set base_url URL) and your "
                      "network or DNS.", retry=True, short="host not found")
    if _has(chain, "ConnectionRefusedError"):
        return _Cause("unreachable", f"cannot reach {where}: is the server running?",
                      "Connection refused: start the server, or fix the port in base_url "
                      "(llm-settings set base_url URL).", retry=True, short="connection refused")
    if _has(chain, "ConnectError", "ClientConnectorError"):
        return _Cause("unreachable", f"cannot reach {where}: {raw}",
                      "Check base_url, the network, proxies and firewalls.", retry=True,
                      short="cannot connect")
    if closed or reset:
        return _Cause("connection", f"no answer from {where}: {how} before an answer",
                      "The server or a proxy dropped the connection; check its logs.",
                      retry=True, short="connection dropped")
    low = raw.lower()
    if re.search(r"missing credentials|api[_ ]key (client option )?must be set|missing .*api "
                 r"key|no api key|api_key is required", low):
        return _Cause("missing_key", f"no API key for {ctx.model}",
                      "Set one: llm-settings set api_key (stored in the keyring), or export "
                      "LLM_API_KEY.")
    if "llm provider not provided" in low:
        return _Cause("bad_model", f"LiteLLM does not know which provider serves "
                      f"{ctx.model!r}",
                      "Prefix the model with its provider, e.g. openai/NAME for an "
                      "OpenAI-compatible server (llm-settings set model PROVIDER/NAME), or set "
                      "custom_llm_provider.")
    if _has(chain, "UnsupportedParamsError"):  # refused by LiteLLM itself: nothing was sent
        said = raw.split(". To drop", 1)[0].removeprefix("litellm.UnsupportedParamsError: ")
        return _Cause("unsupported_param", f"LiteLLM will not send a parameter {ctx.model} "
                      f"does not support: {said}", _param_advice(chain, raw, ctx), status=400)
    status = _http_status(chain)
    if status is None and _has(chain, "APIConnectionError"):
        return _Cause("connection", f"connection to {where} failed: {raw}",
                      "Check base_url, the network and proxies.", retry=True,
                      short="connection error")
    if status is None:
        top = getattr(chain[0], "status_code", None)  # litellm's own mapping, no HTTP trace
        status = top if isinstance(top, int) and top >= 400 else None
    if status is None:
        return _Cause("error", f"the request failed: {raw}",
                      "Check the settings (llm-settings doctor).")
    return _classify_status(status, chain, raw, ctx)


# LiteLLM's repeat guard (CustomStreamWrapper.safety_checker) raises InternalServerError so.
_REPEATING = re.compile(r"repeating the same chunk", re.I)
# A LiteLLM proxy with no database answers any key but its master key with this 400.
_PROXY_AUTH = re.compile(r"no connected db|no_db_connection|authentication error", re.I)
# ... and an unknown model name with this one.
_BAD_MODEL_NAME = re.compile(r"invalid model name passed", re.I)


def _classify_status(status: int, chain: list[BaseException], raw: str, ctx: _Context
                     ) -> _Cause:
    """A failure the server answered with an HTTP status."""
    phrase = _phrase(status)
    where = ctx.where
    said = f": {raw}" if raw else ""
    if status == 401:
        return _Cause("auth", f"the API key was rejected by {where} (401 Unauthorized){said}",
                      "Check the key for this provider: llm-settings set api_key (and that "
                      "LLM_API_KEY is not overriding it).", status=status)
    if status == 403:
        return _Cause("forbidden", f"{where} refused access (403 Forbidden){said}",
                      "The key is valid but may not use this model or endpoint: check the "
                      "key's permissions, project or region.", status=status)
    if status == 404:
        if re.search(r"model|deployment", raw, re.I):
            return _Cause("model_not_found", f"model {ctx.model!r} was not found at {where}"
                          f"{said}", _model_advice(ctx), status=status)
        return _Cause("not_found", f"{where} answered 404 Not Found{said}",
                      "The URL is probably wrong: OpenAI-compatible servers usually need "
                      "base_url to end in /v1 (llm-settings set base_url URL).", status=status)
    if status == 402 or (status == 429 and _QUOTA.search(raw)):
        return _Cause("quota", f"the account's quota or credit is used up ({status} "
                      f"{phrase}){said}",
                      "Add credit or raise the limit in the provider's billing page; waiting "
                      "or retrying will not help.", status=status)
    if status == 429:
        return _Cause("rate_limit", f"rate limited by {where} (429 Too Many Requests){said}",
                      "Wait and test again; if it persists raise num_retries or "
                      "retry_max_wait, or check the plan's rate limits.", retry=True,
                      status=status, retry_after=_retry_after(chain),
                      short="rate limited (429)")
    if status == 400 and _PROXY_AUTH.search(raw):
        return _Cause("auth", f"the API key was rejected by {where} (400: {raw})",
                      "A LiteLLM proxy without a database accepts only its master key: use "
                      "it (llm-settings set api_key) or connect the proxy to its database.",
                      status=status)
    if status == 400 and _BAD_MODEL_NAME.search(raw):
        return _Cause("model_not_found", f"model {ctx.model!r} was not found at {where}"
                      f"{said}", _model_advice(ctx), status=status)
    if status in (400, 413, 422):
        if _has(chain, "ContextWindowExceededError") or _CONTEXT.search(raw):
            sent = ctx.kwargs.get("max_tokens") or ctx.kwargs.get("max_completion_tokens")
            extra = (f" ({sent} tokens requested)" if sent else "")
            return _Cause("context_too_long", f"the request does not fit the model's context "
                          f"window{said}",
                          "The test prompt is tiny, so the answer limit is probably larger than "
                          f"the server's context{extra}: lower max_output_tokens "
                          "(llm-settings set max_output_tokens 4096) or raise the server's "
                          "context length.", status=status)
        if _has(chain, "UnsupportedParamsError") or _UNSUPPORTED.search(raw):
            return _Cause("unsupported_param", f"{where} rejected a parameter ({status} "
                          f"{phrase}){said}", _param_advice(chain, raw, ctx), status=status)
        return _Cause("bad_request", f"{where} rejected the request ({status} {phrase}){said}",
                      "Check model, api_version and completion_kwargs (llm-settings show).",
                      status=status)
    if status in (500, 502, 503, 504, 529):
        return _Cause("server_error", f"{where} failed ({status} {phrase}){said}",
                      "The provider or server is having trouble: try again later, or check "
                      "the server's logs.", retry=True, status=status,
                      retry_after=_retry_after(chain), short=f"server error ({status})")
    return _Cause("http_error", f"{where} answered {status} {phrase}{said}",
                  "Check the settings (llm-settings doctor) and the server's logs.",
                  status=status)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "error"


def _model_advice(ctx: _Context) -> str:
    names = ctx.server_models
    bare = ctx.model.split("/", 1)[1] if "/" in ctx.model else ctx.model
    provider = provider_of(ctx.model, ctx.kwargs.get("custom_llm_provider"))
    if names:
        close = difflib.get_close_matches(bare, names, n=3, cutoff=0.5)
        listed = close or list(names)[:5]
        prefix = ctx.model.split("/", 1)[0] + "/" if "/" in ctx.model else ""
        label = "closest names" if close else "models"
        return (f"The server's {label}: {', '.join(prefix + n for n in listed)} "
                "(llm-settings set model NAME).")
    catalog = list(entries())
    close = difflib.get_close_matches(ctx.model, catalog, n=3, cutoff=0.6) or \
        difflib.get_close_matches(bare, catalog, n=3, cutoff=0.6)
    shown = [c if "/" in c else f"{provider}/{c}" for c in close]
    if shown:
        return f"Did you mean {', '.join(shown)}? (llm-settings set model NAME)"
    return ("Check the model name with the provider (llm-settings set model PROVIDER/NAME); "
            "for Azure, the model part is the deployment name.")


def _param_advice(chain: list[BaseException], raw: str, ctx: _Context) -> str:
    param = _body_param(chain)
    if not param:
        m = re.search(r"['`\"](\w+)['`\"]", raw)
        param = m.group(1) if m else None
    tips = []
    if not _get(ctx.values, "drop_params"):
        tips.append("set drop_params = true so LiteLLM drops parameters the model does not "
                    "support (llm-settings set drop_params true)")
    if param and param in (_get(ctx.values, "completion_kwargs") or {}):
        tips.append(f"remove {param} from completion_kwargs")
    elif param in _PARAM_FIELD:
        tips.append(f"unset {_PARAM_FIELD[param]} (llm-settings unset {_PARAM_FIELD[param]})")
    if not tips:
        tips.append("remove the parameter from the settings or completion_kwargs")
    text = "; or ".join(tips) + "."
    return f"{param!r} is not supported here: {text}" if param else text[0].upper() + text[1:]


async def _server_models(kwargs: Mapping[str, Any]) -> list[str]:
    """The model names an OpenAI-compatible server lists at GET {base_url}/models."""
    base = kwargs.get("base_url")
    if not base:
        return []
    try:
        import httpx

        headers = {"Authorization": f"Bearer {kwargs['api_key']}"} if kwargs.get(
            "api_key") else {}
        async with httpx.AsyncClient(timeout=3.0) as client:
            r = await client.get(base.rstrip("/") + "/models", headers=headers)
        data = r.json().get("data", [])
        return [str(m["id"]) for m in data if isinstance(m, dict) and "id" in m]
    except Exception:
        return []


def stalled(seconds: float, timeout_set: bool, where: str) -> _Cause:
    """The stream stopped sending with the connection still open."""
    if timeout_set:
        return _Cause("stalled", f"the stream stalled: no data for {seconds:g} s",
                      f"{where} stopped sending mid-answer, the connection still open; "
                      "OpenHands retries this. Check the server's load and logs.", retry=True,
                      short="stream stalled")
    return _Cause("stalled", f"the stream stalled: no data for {seconds:g} s (timeout is "
                  f"unset; OpenHands would wait up to {LITELLM_DEFAULT_TIMEOUT:g} s)",
                  f"{where} stopped sending mid-answer, the connection still open: check the "
                  "server's load and logs; set a timeout so OpenHands gives up and retries "
                  "(llm-settings set timeout 120).")
