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
            ...                          # Started, Attempt, Awaiting, Waiting, Token, Done | Failed

The test never hangs: the first token, each later chunk and the whole answer have deadlines
(:mod:`tui.live.limits`), each ending the attempt with a named result.

Cancel the task that iterates (or ``aclose()`` the generator) to stop at once: a wait ends and
an open HTTP stream is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import io
import logging
import math
import os
import threading
import time
import warnings
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterable, Iterator, Mapping
from typing import Any, Protocol

from tui.core import fields as F
from tui.live import limits as LIM
from tui.live import sdk as SDK
from tui.live import wire0 as W0
from tui.live import wire_web as WW
from tui.live.classify import _Cause, _classify, _Context, _server_models
from tui.live.events import (
    Attempt,
    Awaiting,
    Done,
    Event,
    Failed,
    Started,
    Stats,
    Token,
    Waiting,
    _secs,
)
from tui.live.request import (
    DEFAULT_PROMPT,
    STREAMED,
    RequestInfo,
    _catalog_info,
    _get,
    _secrets,
    completion_kwargs,
    describe_request,
    proxy_model_info,
    values_of,
)

__all__ = [
    "DEFAULT_PROMPT", "STREAMED", "Clock", "Limits", "RealClock", "RequestInfo",
    "completion_kwargs", "describe_request", "run", "values_of",
]

Limits = LIM.Limits
MAX_RETRY_AFTER = 300.0  # a longer Retry-After ends the test instead of waiting for it
_LITELLM_LOGGERS = ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy", "litellm")



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
        # The import makes ~half a million objects, nearly all kept: collecting while it runs
        # only costs time (and, in the app, holds the GIL for tenths of a second at once).
        collecting = gc.isenabled()
        gc.disable()
        try:
            with _contained():
                import litellm
            litellm = _settle(litellm)
        finally:
            if collecting:
                gc.enable()
        _litellm = litellm
        return litellm


def _settle(litellm: Any) -> Any:
    """Quiet litellm, pay its first-call imports, and keep what it built out of the collector."""
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
    # A full garbage collection over what the import built would take ~0.3 s with the GIL
    # held, a visible freeze of the UI: move it out of the collector's reach (uncollected,
    # the import's own garbage is about 1 MB).
    gc.freeze()
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
              retry_now: asyncio.Event | None = None, limits: LIM.Limits | None = None,
              as_: str = "0.x") -> AsyncGenerator[Event, None]:
    """Stream one completion with these settings, retrying like OpenHands; yield events.

    ``settings_values``: field name -> effective value (:func:`values_of`). ``unsaved``: names
    of fields holding unsaved edits (shown in the request). ``retry_now``: set it during a
    countdown to retry at once. ``limits``: the test's own (:mod:`tui.live.limits`). ``as_``:
    "0.x" (config.toml's OpenHands), "1.x" (the SDK's request and retries, :mod:`tui.live.sdk`;
    then a field missing from ``settings_values`` takes the SDK's default) or "web" (as 1.x, on
    the web app's LiteLLM: :mod:`tui.live.wire_web`). Ends with exactly one :class:`Done` or
    :class:`Failed`.
    """
    clock = clock or RealClock()
    sdk, web = as_ in ("1.x", "web"), as_ == "web"
    values = SDK.effective(settings_values) if sdk else dict(settings_values)
    kwargs = completion_kwargs(values, prompt,
                               None if sdk else await proxy_model_info(values))
    litellm, refused, answers = None, None, None
    if sdk and kwargs["model"]:
        with contextlib.suppress(Exception):  # a broken install is named below
            litellm = await _litellm_module()
        if litellm is not None:
            answers = WW.Answers(litellm) if web else None  # the web app's LiteLLM's
            kwargs, refused = await _sdk_request(values, prompt, answers or litellm)
    info = describe_request({k: v for k, v in kwargs.items() if k != "stream_options"},
                            unsaved)  # streaming, like stream, is the test's own
    secrets = _secrets(values, kwargs)
    ctx = _Context(values, kwargs, secrets)
    lim = LIM.effective(limits or LIM.Limits(), _get(values, "timeout"))
    if not sdk:
        wire = W0.arguments(kwargs)
    else:
        wire = WW.arguments(kwargs, answers) if answers else W0.Call(dict(kwargs))
    ignored = SDK.ignored(values) if sdk else []
    notes = [f"OpenHands 1.x does not read {', '.join(ignored)}"] if ignored else []
    note = "; ".join([*notes, *wire.changes])
    yield Started(info, lim.describe(), as_, note)
    if not kwargs["model"]:
        yield Failed("no_model", "no model is set",
                     "Set one: llm-settings set model PROVIDER/NAME "
                     "(e.g. anthropic/claude-sonnet-4-20250514).", request=info)
        return
    if refused:
        yield Failed("context_too_small", refused, "Use a model with a larger context window, "
                     "or set ALLOW_SHORT_CONTEXT_WINDOWS=1 where OpenHands runs.", request=info)
        return
    try:
        litellm = litellm or await _litellm_module()
    except Exception as e:  # a broken install: say so, never a traceback
        yield Failed("error", f"cannot load LiteLLM ({type(e).__name__})",
                     "Reinstall llm-settings (pip install -e .).", request=info)
        return
    total = max(1, int(_get(values, "num_retries") or 1))
    waits = F.retry_schedule(total, _get(values, "retry_min_wait") or 0,
                             _get(values, "retry_max_wait") or 0,
                             _get(values, "retry_multiplier") or 1)
    if wire.refused:
        yield Failed("unsupported_param", wire.refused, "Set drop_params = true (OpenHands' "
                     f"default) or leave out {wire.param}.", request=info)
        return
    call = wire.kwargs
    if not sdk or web:  # closed after each attempt, reopened by the next
        call["client"] = WW.client(call) if web else W0.client(call)
    plans = SDK.plans(settings_values)  # when both retry: each generation's attempts
    for n in range(1, total + 1):
        yield Attempt(n, total)
        litellm.modify_params = bool(_get(values, "modify_params"))
        parts: list[str] = []
        got_any = False
        finish: str | None = None
        first: float | None = None
        last: Any = None
        cause: _Cause | None = None
        other = ""  # what the other OpenHands generation would do instead
        started = ended = time.perf_counter()
        box: list[Any] = []  # the litellm stream, once opened
        pieces = 0  # answer and reasoning chunks: the answer cap counts them
        cut: str | None = None

        def open_stream(c: dict[str, Any] = call) -> Any:
            return litellm.acompletion(**c)

        try:
            async with contextlib.aclosing(LIM.read(open_stream, lim, box)) as chunks:
                async for chunk in chunks:
                    if isinstance(chunk, LIM.Tick):
                        yield Awaiting(chunk.seconds_left, chunk.limit_s, n, total,
                                       not lim.timeout_set)
                        continue
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
                            pieces += 1
                            yield Token(thought, reasoning=True)
                        if content:
                            pieces += 1
                            parts.append(content)
                            yield Token(content)
                    if pieces >= lim.max_tokens:
                        cut = LIM.capped("tokens", lim)
                        break
            ended = time.perf_counter()
        except LIM.LimitHit as hit:
            ended = time.perf_counter()
            if hit.what == "answer":
                cut = LIM.capped("answer", lim)
            else:
                cause = LIM.limit_cause(hit, lim, ctx.where)
                other = plans if cause.retry else ""
        except Exception as e:  # every failure is named, never raised
            cause = _classify(e, ctx, bool(parts))
            if cause.kind == "model_not_found" and ctx.url:
                ctx.server_models = await _server_models(kwargs)
                cause = _classify(e, ctx, bool(parts))
            cause, other = _as_generation(cause, e, sdk, plans)
        finally:
            stream = box[0] if box else None
            if stream is not None:
                await _close(stream)
            if call.get("client") is not None:
                await call["client"].close()
        if cause is None and not got_any:
            cause = _Cause("empty", f"{ctx.where} sent an empty answer",
                           "The model returned nothing: check the model name and the server's "
                           "logs; OpenHands retries with temperature 1.", retry=True,
                           short="empty answer")
            other = plans
            if sdk:  # the SDK's LLMNoResponseError
                temperature = SDK.empty_answer_temperature(_get(values, "temperature"))
                if temperature is not None:
                    call["temperature"] = temperature
            elif call.get("temperature", 0) == 0:
                call["temperature"] = 1.0  # what OpenHands does after an empty answer
        if cause is None:
            yield Done(_stats(values, kwargs, info, n, "".join(parts), started, first, ended,
                              finish, stream, last, cut))
            return
        if not cause.retry or n == total:
            yield _failed(cause, n, total, parts, info, other)
            return
        wait, honoured = waits[n - 1], False
        if cause.retry_after is not None and cause.retry_after > wait:
            if cause.retry_after > MAX_RETRY_AFTER:
                yield Failed(cause.kind, f"{cause.message} (the provider asks to wait "
                             f"{cause.retry_after / 60:.0f} min; OpenHands ignores Retry-After "
                             f"and would retry after {_secs(wait)})", cause.advice,
                             "".join(parts), cause.status, n, info)
                return
            wait, honoured = cause.retry_after, True

        def make(left: int, c: _Cause = cause, w: float = wait, h: bool = honoured,
                 a: int = n) -> Waiting:
            return Waiting(left, w, c.short or c.kind, h, c.kind, a, total, c.retry_after,
                           waits[a - 1], c.status, c.message)

        async for tick in _countdown(clock, wait, retry_now, make):
            yield tick


def _failed(cause: _Cause, n: int, total: int, parts: list[str], info: RequestInfo,
            other: str = "") -> Failed:
    message = cause.message
    if cause.retry and total > 1:
        message += f" (all {total} attempts failed)"
    advice = f"{cause.advice} {other}".strip()
    return Failed(cause.kind, message, advice, "".join(parts), cause.status, n, info)


def _as_generation(cause: _Cause, exc: BaseException, sdk: bool, plans: str
                   ) -> tuple[_Cause, str]:
    """The failure retried as OpenHands retries it, and what OpenHands versions do with it
    where they differ (``plans``: their attempts, for one they retry). OpenHands 0.62 and the
    SDK up to 1.34 retry the same six exception classes: as 1.x exactly those; as 0.x only
    those too (a 502 fails at once, so a later attempt cannot pass where OpenHands fails),
    but not a failure no retry can fix (an exhausted quota: the verdict is the same, and the
    advice says OpenHands would retry it)."""
    retry = SDK.retried(exc) if sdk else cause.retry and SDK.retried(exc)
    cause = dataclasses.replace(cause, retry=retry)
    return cause, " ".join(filter(None, [SDK.contrast(exc), plans if SDK.retried(exc) else ""]))


async def _sdk_request(values: Mapping[str, Any], prompt: str, litellm: Any
                       ) -> tuple[dict[str, Any], str | None]:
    """OpenHands 1.x's request (:mod:`tui.live.sdk`), and why it would refuse the model.
    ``litellm``: the module, or the web app's answers (:class:`tui.live.wire_web.Answers`)."""
    model = str(_get(values, "model") or "").strip()
    info = await asyncio.to_thread(SDK.model_info, model, _get(values, "base_url") or None,
                                   _get(values, "api_key") or None, litellm)
    _, max_in = SDK.max_tokens(model, _get(values, "base_url") or None,
                               _get(values, "max_output_tokens"),
                               _get(values, "max_input_tokens"), info)
    return SDK.completion_kwargs(values, litellm, prompt, info), SDK.too_small(max_in)


def _stats(values: Mapping[str, Any], kwargs: Mapping[str, Any], info: RequestInfo, n: int,
           text: str, started: float, first: float | None, ended: float, finish: str | None,
           stream: Any, last: Any, cut: str | None = None) -> Stats:
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
                 request=info, cut=cut)
