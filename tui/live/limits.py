"""The live test's own limits: it never hangs, and its answer never grows without end.

A server that accepts and never answers, a stream that stalls, a model that never stops: each
ends the attempt with a named result instead of a wait the user cannot see the end of. With
``timeout`` set, the first token and each later chunk get that long (what OpenHands would
wait); with it unset the test waits :attr:`Limits.first_token_s` / :attr:`Limits.idle_s`,
where OpenHands would wait LiteLLM's default. The answer is capped (it is only a test).
UI-free and litellm-free.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from tui.live.classify import LITELLM_DEFAULT_TIMEOUT, _Cause, stalled


@dataclass(frozen=True)
class Limits:
    """The test's own limits (tests pass small ones)."""

    first_token_s: float = 30.0  # the first token, when timeout is unset
    idle_s: float = 30.0  # between chunks, when timeout is unset
    max_tokens: int = 2000  # the answer is cut here: the model answered
    max_answer_s: float = 60.0  # ... or after this long from its first token


@dataclass(frozen=True)
class Effective:
    """The limits one run applies: the timeout setting where there is one."""

    first_token_s: float
    idle_s: float
    max_tokens: int
    max_answer_s: float
    timeout_set: bool

    def describe(self) -> str:
        if self.timeout_set:
            wait = f"first token and each chunk within {self.first_token_s:g} s (timeout)"
        else:
            wait = (f"first token within {self.first_token_s:g} s, then data every "
                    f"{self.idle_s:g} s (timeout is unset; OpenHands would wait up to "
                    f"{LITELLM_DEFAULT_TIMEOUT:g} s)")
        return (f"{wait}; the answer is cut at {self.max_tokens:,} tokens or "
                f"{self.max_answer_s:g} s")


def effective(limits: Limits, timeout: Any) -> Effective:
    """The limits for a run with this ``timeout`` setting."""
    if isinstance(timeout, int | float) and not isinstance(timeout, bool) and timeout > 0:
        return Effective(float(timeout), float(timeout), limits.max_tokens,
                         limits.max_answer_s, True)
    return Effective(limits.first_token_s, limits.idle_s, limits.max_tokens,
                     limits.max_answer_s, False)


class LimitHit(Exception):
    """A deadline passed: ``what`` is "first_token", "idle" or "answer"."""

    def __init__(self, what: str, seconds: float) -> None:
        super().__init__(f"{what} limit of {seconds:g} s")
        self.what = what
        self.seconds = seconds


@dataclass(frozen=True)
class Tick:
    """Still no first token: ``seconds_left`` before the attempt gives up."""

    seconds_left: int
    limit_s: float


def has_text(chunk: Any) -> bool:
    """Whether a chunk carries answer, reasoning or tool-call text."""
    for choice in getattr(chunk, "choices", None) or []:
        delta = getattr(choice, "delta", None)
        if (getattr(delta, "reasoning_content", None) or getattr(delta, "content", None)
                or getattr(delta, "tool_calls", None)):
            return True
    return False


async def read(open_stream: Callable[[], Any], lim: Effective, box: list[Any]
               ) -> AsyncIterator[Any]:
    """The chunks of ``await open_stream()`` (put into ``box``), each within its deadline.

    Yields a :class:`Tick` every whole second while no text has come; raises
    :class:`LimitHit` when a deadline passes (the pending read is cancelled first).
    """
    loop = asyncio.get_running_loop()

    async def chunks() -> AsyncIterator[Any]:
        box.append(await open_stream())
        async for chunk in box[0]:
            yield chunk

    source = chunks()
    start = last = loop.time()
    answered: float | None = None  # when the first text came
    ticked = 0  # the seconds_left last ticked
    try:
        while True:
            if answered is None:
                what, limit, deadline = "first_token", lim.first_token_s, start + lim.first_token_s
            else:
                what, limit, deadline = "idle", lim.idle_s, last + lim.idle_s
                if answered + lim.max_answer_s < deadline:
                    what, limit = "answer", lim.max_answer_s
                    deadline = answered + limit
            pending = asyncio.ensure_future(source.__anext__())
            try:
                while True:
                    now = loop.time()
                    wake = deadline
                    if answered is None:
                        wake = min(deadline, start + math.floor(now - start) + 1)
                    done, _ = await asyncio.wait({pending}, timeout=max(0.0, wake - now))
                    if done:
                        break
                    if loop.time() >= deadline:
                        raise LimitHit(what, limit)
                    left = math.ceil(deadline - loop.time())
                    if left != ticked:  # one tick per second, even if a timer fires early
                        ticked = left
                        yield Tick(left, limit)
            finally:
                if not pending.done():
                    pending.cancel()
                    await asyncio.wait({pending})
            try:
                chunk = pending.result()
            except StopAsyncIteration:
                return
            last = loop.time()
            if answered is None and has_text(chunk):
                answered = last
            yield chunk
    finally:
        await source.aclose()


def limit_cause(hit: LimitHit, lim: Effective, where: str) -> _Cause:
    """A passed deadline named: with timeout set, what OpenHands retries; else the test ends."""
    unset = f" (timeout is unset; OpenHands would wait up to {LITELLM_DEFAULT_TIMEOUT:g} s)"
    if hit.what == "first_token" and lim.timeout_set:
        return _Cause("timeout", f"no answer from {where} within {hit.seconds:g} s (timed out)",
                      "The server is slow or overloaded: raise the timeout (llm-settings set "
                      "timeout 120) or try a smaller or faster model.", retry=True,
                      short="timed out")
    if hit.what == "first_token":
        return _Cause("no_first_token", f"no first token within {hit.seconds:g} s{unset}",
                      f"{where} accepted the request but sent nothing: is it loading the model "
                      "or overloaded? Set a timeout so OpenHands gives up and retries "
                      "(llm-settings set timeout 120).")
    return stalled(hit.seconds, lim.timeout_set, where)


def capped(what: str, lim: Effective) -> str:
    """Why a (successful) answer was cut short, in words."""
    if what == "answer":
        return f"answer cut at {lim.max_answer_s:g} s: the model answered"
    return f"answer cut at {lim.max_tokens:,} tokens: the model answered"
