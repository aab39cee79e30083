"""The events of a live check: what :func:`tui.live.check.run` yields, each one JSON line."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any, ClassVar

from tui.live import sdk as SDK
from tui.live.request import STREAMED, RequestInfo


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
    cut: str | None = None  # the test's cap ended the answer: why (the model answered)


@dataclass(frozen=True)
class Started(Event):
    """First event: the request about to be made."""

    kind: ClassVar[str] = "started"
    request: RequestInfo
    limits: str = ""  # the test's own limits, in words
    openhands: str = "0.x"  # the OpenHands generation whose request and retries are tested
    note: str = ""  # e.g. settings that generation does not read

    def summary(self) -> str:
        text = f"testing {self.request.describe()}"
        if self.openhands != "0.x":
            text = (f"testing {SDK.LABELS.get(self.openhands, self.openhands)}: "
                    f"{self.request.describe()}")
        if self.note:
            text += f"\nnote: {self.note}"
        if self.limits:
            text += f"\nlimits: {self.limits}"
        return f"{text}\n{STREAMED}"


@dataclass(frozen=True)
class Attempt(Event):
    """Attempt ``n`` of ``total`` (num_retries) starts."""

    kind: ClassVar[str] = "attempt"
    n: int
    total: int

    def summary(self) -> str:
        return f"attempt {self.n}/{self.total}"


@dataclass(frozen=True)
class Awaiting(Event):
    """No first token yet: a countdown tick, once per second, to the attempt's deadline."""

    kind: ClassVar[str] = "awaiting"
    seconds_left: int
    limit_s: float
    attempt: int
    total: int
    own_limit: bool  # the test's limit (timeout unset), not the timeout setting

    def summary(self) -> str:
        return (f"attempt {self.attempt}/{self.total}: no first token yet, giving up in "
                f"{self.seconds_left} s")


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
    asked_s: float | None = None  # what the server's Retry-After asked for
    openhands_s: float | None = None  # what OpenHands waits: its backoff, whatever was asked
    status: int | None = None  # the failed attempt's HTTP status, when there was one
    message: str = ""  # why it failed, the server's message included (secrets masked)

    def why(self) -> str:
        """Where the wait comes from, both numbers when the server asked for one."""
        oh = self.total_seconds if self.openhands_s is None else self.openhands_s
        if self.asked_s is None:
            return f"backoff {_secs(self.total_seconds)}"
        asked = f"the provider asks to wait {_secs(round(self.asked_s, 1))}"
        if self.asked_s > oh:
            return (f"{asked}; OpenHands ignores Retry-After and would retry after "
                    f"{_secs(oh)}")
        return f"{asked}; OpenHands waits {_secs(oh)}"

    def summary(self) -> str:
        return (f"{self.cause}: attempt {self.attempt + 1}/{self.total} in "
                f"{self.seconds_left} s ({self.why()})")


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
        if s.cut:
            parts.append(s.cut)
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
