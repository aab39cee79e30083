"""The live test: will OpenHands work with these settings? Stream one real completion and see.

UI-free: :func:`run` is an async generator of events that the CLI (``llm-settings test``) and
the app's Test pane render. The request is built the way OpenHands' ``LLM`` builds its
``litellm.completion`` call (plus ``stream=True``); failures are retried the way OpenHands
retries them, every wait shown as a countdown. litellm is imported on first use (in a thread,
with its import-time side effects contained), never at module import.

Usage::

    retry_now = asyncio.Event()          # set() it to end a countdown early
    async with contextlib.aclosing(run(values_of(settings), retry_now=retry_now)) as events:
        async for event in events:
            ...                          # Started, Attempt, Waiting, Token, Done | Failed

Cancel the task that iterates (or ``aclose()`` the generator) to stop at once: a wait ends and
an open HTTP stream is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import difflib
import email.utils
import gc
import io
import json
import logging
import math
import os
import re
import threading
import time
import warnings
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from fnmatch import fnmatch
from http import HTTPStatus
from typing import Any, ClassVar, Protocol

from tui import fields as F
from tui.catalog import entries, provider_of
from tui.settings import Settings, mask

__all__ = [
    "DEFAULT_PROMPT", "Attempt", "Clock", "Done", "Event", "Failed", "RealClock",
    "RequestInfo", "Started", "Stats", "Token", "Waiting", "completion_kwargs",
    "describe_request", "run", "values_of",
]

DEFAULT_PROMPT = "Reply with one short sentence: are you ready to help with code?"
MAX_RETRY_AFTER = 300.0  # a longer Retry-After ends the test instead of waiting for it
AZURE_API_VERSION = "2024-12-01-preview"  # OpenHands' default for azure/ models
_LITELLM_LOGGERS = ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy", "litellm")


# -- events ------------------------------------------------------------------------------
class Event:
    """Base of the events :func:`run` yields; ``to_json()`` is one JSON line."""

    kind: ClassVar[str] = "event"

    def to_dict(self) -> dict[str, Any]:
        return {"event": self.kind, **dataclasses.asdict(self)}  # type: ignore[call-overload]

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, default=str)

    def summary(self) -> str:
        """One line for a status bar or a log."""
        return self.kind


@dataclass(frozen=True)
class RequestInfo:
    """The request that is made, as it may be shown: no secret in it."""

    model: str
    provider: str
    url: str  # the base URL, or "the provider's default endpoint"
    key: str  # masked, e.g. ****8e0c or "(not set)"
    params: dict[str, Any]  # the other arguments sent (None-valued ones left out)
    unsaved: tuple[str, ...] = ()  # fields whose value is an edit not yet saved

    def describe(self) -> str:
        text = f"{self.model} at {self.url}, key {self.key}"
        if self.unsaved:
            text += f" (unsaved: {', '.join(self.unsaved)})"
        return text


@dataclass(frozen=True)
class Stats:
    """What a successful test measured."""

    text: str  # the whole answer
    attempts: int  # attempts made, this one included
    ttft_s: float | None  # time to first token of the successful attempt
    duration_s: float  # the successful attempt, request to last chunk
    tokens_per_s: float | None  # completion tokens after the first, per second
    prompt_tokens: int | None
    completion_tokens: int | None
    usage_reported: bool  # False: LiteLLM estimated the tokens (the server sent no usage)
    cost_usd: float | None
    cost_source: str | None  # "settings" (input/output_cost_per_token) or "catalog"
    finish_reason: str | None
    request: RequestInfo


@dataclass(frozen=True)
class Started(Event):
    """First event: the request about to be made."""

    kind: ClassVar[str] = "started"
    request: RequestInfo

    def summary(self) -> str:
        return f"testing {self.request.describe()}"


@dataclass(frozen=True)
class Attempt(Event):
    """Attempt ``n`` of ``total`` (num_retries) starts."""

    kind: ClassVar[str] = "attempt"
    n: int
    total: int

    def summary(self) -> str:
        return f"attempt {self.n}/{self.total}"


@dataclass(frozen=True)
class Waiting(Event):
    """A countdown tick before the next attempt: emitted once per second."""

    kind: ClassVar[str] = "waiting"
    seconds_left: int
    total_seconds: float
    cause: str  # in plain words, e.g. "rate limited (429)"
    retry_after: bool  # the wait is the provider's Retry-After, longer than the backoff
    cause_kind: str = ""
    attempt: int = 0  # the attempt that failed
    total: int = 0

    def summary(self) -> str:
        why = (f"the provider asks to wait {_secs(self.total_seconds)}" if self.retry_after
               else f"backoff {_secs(self.total_seconds)}")
        return (f"{self.cause}: attempt {self.attempt + 1}/{self.total} in "
                f"{self.seconds_left} s ({why})")


@dataclass(frozen=True)
class Token(Event):
    """A piece of the answer as it streams (``reasoning``: thinking text, not the answer)."""

    kind: ClassVar[str] = "token"
    text: str
    reasoning: bool = False

    def summary(self) -> str:
        return self.text


@dataclass(frozen=True)
class Done(Event):
    """The test passed."""

    kind: ClassVar[str] = "done"
    stats: Stats

    def summary(self) -> str:
        s = self.stats
        parts = [f"OK in {_secs(s.duration_s, 2)}"]
        if s.ttft_s is not None:
            parts.append(f"first token {_secs(s.ttft_s, 2)}")
        if s.tokens_per_s is not None:
            parts.append(f"{s.tokens_per_s:.1f} tokens/s")
        if s.prompt_tokens is not None and s.completion_tokens is not None:
            est = "" if s.usage_reported else " (estimated)"
            parts.append(f"{s.prompt_tokens} prompt + {s.completion_tokens} completion tokens"
                         f"{est}")
        if s.cost_usd is not None:
            parts.append(f"~${s.cost_usd:.6f} ({s.cost_source} price)")
        if s.attempts > 1:
            parts.append(f"after {s.attempts} attempts")
        return ", ".join(parts)


@dataclass(frozen=True)
class Failed(Event):
    """The test failed: why, in plain words, and what to do."""

    kind: ClassVar[str] = "failed"
    cause_kind: str
    message: str
    advice: str
    partial_text: str = ""  # what streamed before a cut
    status: int | None = None  # the HTTP status, when there was one
    attempts: int = 0
    request: RequestInfo | None = None

    def summary(self) -> str:
        return self.message


def _secs(x: float, digits: int = 0) -> str:
    return f"{x:.{digits}f} s" if digits else f"{x:g} s"


# -- the request -------------------------------------------------------------------------
def values_of(settings: Settings) -> dict[str, Any]:
    """Field name -> effective value, as :func:`run` takes them."""
    return {name: v.value for name, v in settings.values.items()}


def _get(values: Mapping[str, Any], name: str) -> Any:
    """A value of the right type, else the field's default (a broken value never crashes)."""
    f = F.BY_NAME[name]
    value = values.get(name, f.default)
    if value is None or f.type_problem(value) is None:
        return value
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


# Models OpenHands sends reasoning_effort to (and no temperature / top_p).
_REASONING = ("o1", "o1-2024-12-17", "o3", "o3-2025-04-16", "o3-mini", "o3-mini-2025-01-31",
              "o4-mini", "o4-mini-2025-04-16", "gemini-2.5-flash", "gemini-2.5-pro", "gpt-5*",
              "deepseek-r1-0528*", "claude-sonnet-4-5*", "claude-haiku-4-5*")
_NO_EFFORT = ("claude-sonnet-4-5", "claude-haiku-4-5-20251001", "claude-opus-4-6")
_ONE_SAMPLER = ("claude-opus-4-1", "claude-opus-4-5", "claude-opus-4-6", "claude-sonnet-4")
_LONG_OUTPUT = ("claude-3-7-sonnet", "claude-3.7-sonnet", "claude-sonnet-4",
                "claude-sonnet-4-5-20250929", "claude-haiku-4-5-20251001")
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


def _max_output_tokens(model: str, configured: int | None) -> int | None:
    """What OpenHands sends as the answer limit: the setting, else the model's own limit."""
    if configured is not None:
        return configured
    if any(m in model for m in _LONG_OUTPUT):
        return 64000
    info = _catalog_info(model)
    for key in ("max_output_tokens", "max_tokens"):
        if isinstance(info.get(key), int):
            return info[key]
    return None


def completion_kwargs(values: Mapping[str, Any], prompt: str = DEFAULT_PROMPT
                      ) -> dict[str, Any]:
    """The arguments of ``litellm.acompletion``: OpenHands' call, streamed, no hidden retries."""
    model = str(_get(values, "model") or "").strip()
    low = model.lower()
    extra: dict[str, Any] = {"temperature": _get(values, "temperature")}
    top_p = _get(values, "top_p")
    if low.startswith("huggingface") and top_p == 1:
        top_p = 0.9  # OpenHands: Hugging Face rejects OpenAI's default top_p
    max_out = _max_output_tokens(model, _get(values, "max_output_tokens"))
    if low.startswith("azure"):
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
        if "gemini-2.5-pro" in low and effort in (None, "low", "none"):
            extra["thinking"] = {"budget_tokens": 128}
            extra["allowed_openai_params"] = ["thinking"]
        elif not any(m in low for m in _NO_EFFORT) and effort is not None:
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
    if low.startswith("azure") and not api_version:
        api_version = AZURE_API_VERSION
    core = {
        "model": model,
        "messages": [{"role": "user", "content": prompt}],
        "stream": True,
        "api_key": _get(values, "api_key") or None,
        "base_url": _get(values, "base_url") or None,
        "api_version": api_version or None,
        "custom_llm_provider": _get(values, "custom_llm_provider") or None,
        "timeout": _get(values, "timeout"),
        "drop_params": _get(values, "drop_params"),
        "seed": _get(values, "seed"),
        "num_retries": 0,  # LiteLLM's own retries: off, every request is one the user sees
        "max_retries": 0,  # the OpenAI SDK's silent retries: off
    }
    return {**{k: v for k, v in extra.items() if k not in _CORE}, **core}


_SECRET_KEY = re.compile(r"(api[-_]?key|secret|password|passwd|authorization|cookie|"
                         r"(^|[-_])token$|credential)", re.I)


def _redact(value: Any) -> Any:
    """A copy of kwargs with values under secret-looking keys masked."""
    if isinstance(value, dict):
        return {k: mask(str(v)) if _SECRET_KEY.search(str(k)) and isinstance(v, str)
                else _redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v) for v in value]
    return value


def describe_request(kwargs: Mapping[str, Any], unsaved: Iterable[str] = ()) -> RequestInfo:
    """The request as it may be shown (key masked, secrets out)."""
    hidden = {"model", "messages", "api_key", "base_url", "aws_access_key_id",
              "aws_secret_access_key", "stream", "num_retries", "max_retries"}
    params = {k: _redact(v) for k, v in kwargs.items() if k not in hidden and v is not None}
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

    def walk(v: Any, secret_key: bool = False) -> None:
        if isinstance(v, dict):
            for k, x in v.items():
                walk(x, bool(_SECRET_KEY.search(str(k))))
        elif isinstance(v, list):
            for x in v:
                walk(x, secret_key)
        elif secret_key and isinstance(v, str) and v:
            found.append(v)
            found.extend(v.split()[1:])  # "Bearer KEY": the key alone too

    walk(_get(values, "completion_kwargs") or {})
    return sorted({s for s in found if len(s) >= 4}, key=len, reverse=True)


def _scrub(text: str, secrets: Iterable[str], limit: int = 300) -> str:
    """Text safe to show: secrets replaced, whitespace collapsed, length bounded."""
    for s in secrets:
        text = text.replace(s, mask(s))
    text = " ".join(re.sub(r" ?ssl:<[^>]*>", "", text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- litellm, imported on first use ------------------------------------------------------
_litellm: Any = None
_import_lock = threading.Lock()


@contextlib.contextmanager
def _contained() -> Iterator[io.StringIO]:
    """Run an import that may print and load a .env: output captured, LLM_* kept as they were.

    litellm loads a .env at import (python-dotenv); its LLM_* lines must not become settings.
    """
    saved = {k: v for k, v in os.environ.items() if k.startswith("LLM_")}
    sink = io.StringIO()
    try:
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            yield sink
    finally:
        for k in [k for k in os.environ if k.startswith("LLM_") and k not in saved]:
            del os.environ[k]
        os.environ.update(saved)


def _load_litellm() -> Any:
    """Import litellm without letting it touch the settings or the terminal."""
    global _litellm
    with _import_lock:
        if _litellm is not None:
            return _litellm
        os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"  # no network fetch at import
        with _contained():
            import litellm
        litellm.suppress_debug_info = True
        # Warnings litellm's dependencies raise on first use would print over a terminal UI.
        for module in ("litellm", "pydantic", "httpx", "aiohttp", "openai"):
            warnings.filterwarnings("ignore", module=module)
        for name in _LITELLM_LOGGERS:
            logger = logging.getLogger(name)
            logger.handlers.clear()
            logger.propagate = False
            logger.disabled = True
        # The first completion of a process spends ~0.3 s in lazy imports: spend it here, on a
        # mock answer (nothing is sent), so the time to first token measured is the server's.
        with _contained(), contextlib.suppress(Exception):
            for _ in litellm.completion(model="openai/warm-up", api_key="warm-up", stream=True,
                                        messages=[{"role": "user", "content": "hi"}],
                                        mock_response="ok"):
                pass
        # litellm leaves about a million objects behind; a full garbage collection then takes
        # ~0.3 s with the GIL held, a visible freeze of the UI. Move them out of its reach.
        gc.collect()
        gc.freeze()
        _litellm = litellm
        return litellm


async def _litellm_module() -> Any:
    if _litellm is not None:
        return _litellm
    return await asyncio.to_thread(_load_litellm)


# -- the clock ---------------------------------------------------------------------------
class Clock(Protocol):
    """Time for the countdowns; tests inject one that needs no real waiting."""

    def now(self) -> float: ...

    async def sleep_until(self, deadline: float) -> None: ...


class RealClock:
    """Monotonic time; sleeps to absolute deadlines, so ticks never drift."""

    def now(self) -> float:
        return time.monotonic()

    async def sleep_until(self, deadline: float) -> None:
        while (left := deadline - time.monotonic()) > 0:
            await asyncio.sleep(left)


# -- classifying failures ----------------------------------------------------------------
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
    cut = _has(chain, "ReadError", "RemoteProtocolError", "ClientPayloadError",
               "IncompleteRead", "ServerDisconnectedError", "ConnectionResetError",
               "BrokenPipeError")
    if got_text and (cut or _has(chain, "APIConnectionError", "MidStreamFallbackError")):
        return _Cause("stream_cut", f"the answer from {where} was cut off midway (the "
                      "connection closed before the end of the stream)",
                      "A proxy or the server dropped the connection; OpenHands retries such "
                      "errors. If it recurs, check the server's or proxy's logs and timeouts.")
    if _has(chain, "Timeout", "TimeoutException", "TimeoutError", "APITimeoutError",
            "ServerTimeoutError", "SocketTimeoutError"):
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
    if cut:
        return _Cause("connection", f"the connection to {where} closed before an answer",
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


# -- the run -----------------------------------------------------------------------------
def _price(values: Mapping[str, Any], model: str) -> tuple[float | None, float | None,
                                                           str | None]:
    """USD per input and output token, and where the price comes from."""
    cin, cout = _get(values, "input_cost_per_token"), _get(values, "output_cost_per_token")
    if cin is not None or cout is not None:
        return cin or 0.0, cout or 0.0, "settings"
    info = _catalog_info(model)
    pin, pout = info.get("input_cost_per_token"), info.get("output_cost_per_token")
    if isinstance(pin, int | float) or isinstance(pout, int | float):
        return float(pin or 0), float(pout or 0), "catalog"
    return None, None, None


def _usage(stream: Any, last: Any) -> tuple[int | None, int | None, bool]:
    """(prompt, completion, reported): the server's usage, else LiteLLM's estimate."""
    for chunk in reversed(getattr(stream, "chunks", None) or []):
        u = getattr(chunk, "usage", None)
        if u is not None and (getattr(u, "prompt_tokens", 0) or
                              getattr(u, "completion_tokens", 0)):
            return u.prompt_tokens, u.completion_tokens, True
    hidden = getattr(last, "_hidden_params", None) or {}
    u = hidden.get("usage") if isinstance(hidden, dict) else None
    if u is not None and (getattr(u, "prompt_tokens", 0) or getattr(u, "completion_tokens", 0)):
        return u.prompt_tokens, u.completion_tokens, False
    return None, None, False


async def _close(stream: Any) -> None:
    """Close a litellm stream (and its HTTP response), whatever state it is in."""
    aclose = getattr(stream, "aclose", None)
    with contextlib.suppress(Exception):
        if aclose is not None:
            await aclose()


async def _sleep_until(clock: Clock, deadline: float, retry_now: asyncio.Event | None
                       ) -> bool:
    """Sleep to ``deadline``; True if ``retry_now`` ended it early."""
    if retry_now is None:
        await clock.sleep_until(deadline)
        return False
    if retry_now.is_set():
        return True
    sleeper = asyncio.ensure_future(clock.sleep_until(deadline))
    waker = asyncio.ensure_future(retry_now.wait())
    try:
        await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in (sleeper, waker):
            t.cancel()
    return retry_now.is_set()


async def _countdown(clock: Clock, seconds: float, retry_now: asyncio.Event | None,
                     make: Callable[[int], Waiting]) -> AsyncIterator[Waiting]:
    """Waiting events once per second until ``seconds`` have passed (deadline-based)."""
    if retry_now is not None:
        retry_now.clear()  # a key pressed before the wait does not skip it
    start = clock.now()
    deadline = start + seconds
    for left in range(math.ceil(seconds - 1e-9), 0, -1):
        tick = deadline - left
        if tick > start and await _sleep_until(clock, tick, retry_now):
            return
        yield make(left)
    await _sleep_until(clock, deadline, retry_now)


async def run(settings_values: Mapping[str, Any], prompt: str = DEFAULT_PROMPT, *,
              clock: Clock | None = None, unsaved: Iterable[str] = (),
              retry_now: asyncio.Event | None = None) -> AsyncGenerator[Event, None]:
    """Stream one completion with these settings, retrying like OpenHands; yield events.

    ``settings_values``: field name -> effective value (:func:`values_of`). ``unsaved``: names
    of fields holding unsaved edits (shown in the request). ``retry_now``: set it during a
    countdown to retry at once. Ends with exactly one :class:`Done` or :class:`Failed`.
    """
    clock = clock or RealClock()
    values = dict(settings_values)
    kwargs = completion_kwargs(values, prompt)
    info = describe_request(kwargs, unsaved)
    secrets = _secrets(values, kwargs)
    ctx = _Context(values, kwargs, secrets)
    yield Started(info)
    if not kwargs["model"]:
        yield Failed("no_model", "no model is set",
                     "Set one: llm-settings set model PROVIDER/NAME "
                     "(e.g. anthropic/claude-sonnet-4-20250514).", request=info)
        return
    try:
        litellm = await _litellm_module()
    except Exception as e:  # a broken install: say so, never a traceback
        yield Failed("error", f"cannot load LiteLLM ({type(e).__name__})",
                     "Reinstall llm-settings (pip install -e .).", request=info)
        return
    total = max(1, int(_get(values, "num_retries") or 1))
    waits = F.retry_schedule(total, _get(values, "retry_min_wait") or 0,
                             _get(values, "retry_max_wait") or 0,
                             _get(values, "retry_multiplier") or 1)
    call = dict(kwargs)
    for n in range(1, total + 1):
        yield Attempt(n, total)
        litellm.modify_params = bool(_get(values, "modify_params"))
        parts: list[str] = []
        got_any = False
        finish: str | None = None
        first: float | None = None
        last: Any = None
        stream: Any = None
        cause: _Cause | None = None
        started = ended = time.perf_counter()
        try:
            stream = await litellm.acompletion(**call)
            async for chunk in stream:
                last = chunk
                for choice in getattr(chunk, "choices", None) or []:
                    delta = getattr(choice, "delta", None)
                    finish = getattr(choice, "finish_reason", None) or finish
                    thought = getattr(delta, "reasoning_content", None)
                    content = getattr(delta, "content", None)
                    if thought or content or getattr(delta, "tool_calls", None):
                        got_any = True
                        if first is None:
                            first = time.perf_counter()
                    if thought:
                        yield Token(thought, reasoning=True)
                    if content:
                        parts.append(content)
                        yield Token(content)
            ended = time.perf_counter()
        except Exception as e:  # every failure is named, never raised
            cause = _classify(e, ctx, bool(parts))
            if cause.kind == "model_not_found" and ctx.url:
                ctx.server_models = await _server_models(kwargs)
                cause = _classify(e, ctx, bool(parts))
        finally:
            if stream is not None:
                await _close(stream)
        if cause is None and not got_any:
            cause = _Cause("empty", f"{ctx.where} sent an empty answer",
                           "The model returned nothing: check the model name and the server's "
                           "logs; OpenHands retries with temperature 1.", retry=True,
                           short="empty answer")
            if call.get("temperature", 0) == 0:
                call["temperature"] = 1.0  # what OpenHands does after an empty answer
        if cause is None:
            yield Done(_stats(values, kwargs, info, n, "".join(parts), started, first, ended,
                              finish, stream, last))
            return
        if not cause.retry or n == total:
            yield _failed(cause, n, total, parts, info)
            return
        wait, honoured = waits[n - 1], False
        if cause.retry_after is not None and cause.retry_after > wait:
            if cause.retry_after > MAX_RETRY_AFTER:
                yield Failed(cause.kind, f"{cause.message} (the provider asks to wait "
                             f"{cause.retry_after / 60:.0f} min)", cause.advice, "".join(parts),
                             cause.status, n, info)
                return
            wait, honoured = cause.retry_after, True

        def make(left: int, c: _Cause = cause, w: float = wait, h: bool = honoured,
                 a: int = n) -> Waiting:
            return Waiting(left, w, c.short or c.kind, h, c.kind, a, total)

        async for tick in _countdown(clock, wait, retry_now, make):
            yield tick


def _failed(cause: _Cause, n: int, total: int, parts: list[str], info: RequestInfo) -> Failed:
    message = cause.message
    if cause.retry and total > 1:
        message += f" (all {total} attempts failed)"
    return Failed(cause.kind, message, cause.advice, "".join(parts), cause.status, n, info)


def _stats(values: Mapping[str, Any], kwargs: Mapping[str, Any], info: RequestInfo, n: int,
           text: str, started: float, first: float | None, ended: float, finish: str | None,
           stream: Any, last: Any) -> Stats:
    prompt_t, completion_t, reported = _usage(stream, last)
    rate = None
    if first is not None and completion_t and completion_t > 1 and ended - first > 0:
        rate = (completion_t - 1) / (ended - first)
    pin, pout, source = _price(values, str(kwargs["model"]))
    cost = None
    if source is not None and prompt_t is not None and completion_t is not None:
        cost = prompt_t * (pin or 0) + completion_t * (pout or 0)
    return Stats(text=text, attempts=n, ttft_s=None if first is None else first - started,
                 duration_s=ended - started, tokens_per_s=rate, prompt_tokens=prompt_t,
                 completion_tokens=completion_t, usage_reported=reported, cost_usd=cost,
                 cost_source=source if cost is not None else None, finish_reason=finish,
                 request=info)
