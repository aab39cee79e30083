"""The story of a live test: one row per attempt, and the speed of the answer as it streams.

UI-free: :class:`AttemptLog` folds the events of :func:`tui.live.check.run` into rows (status,
the server's message, the wait used and the server's Retry-After beside it), written in plain
text that reads without colour; :class:`RateMeter` measures tokens per second while the answer
streams.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


def _secs(x: float) -> str:
    return f"{round(x, 1):g} s"


@dataclass
class AttemptRow:
    """One attempt: how it ended and the wait that followed it."""

    n: int
    total: int
    ok: bool | None = None  # None: still running
    status: int | None = None  # the HTTP status, when the server answered one
    what: str = ""  # in a few words, e.g. "rate limited (429)" or "answered"
    message: str = ""  # the server's message, as classified (secrets already masked)
    wait_s: float | None = None  # the wait chosen before the next attempt
    waited_s: float | None = None  # how long it lasted when Retry now cut it short
    retry_after_s: float | None = None  # what the server's Retry-After asked for
    openhands_s: float | None = None  # what OpenHands would wait

    def head(self) -> str:
        """The attempt in one line: result, status, the wait used and the Retry-After."""
        mark = "…" if self.ok is None else "✓" if self.ok else "✗"
        parts = [f"{mark} {self.what or 'running'}"]
        if self.status is not None and str(self.status) not in self.what:
            parts[0] += f" ({self.status})"
        if self.wait_s is not None:
            if self.waited_s is not None:
                wait = f"waited {_secs(self.waited_s)} of {_secs(self.wait_s)} (retried now)"
            else:
                wait = f"waited {_secs(self.wait_s)}"
            parts.append(wait)
            if self.retry_after_s is None:
                parts.append("no Retry-After")
            else:
                parts.append(f"Retry-After {_secs(self.retry_after_s)}")
            if self.openhands_s is not None and self.openhands_s != self.wait_s:
                parts.append(f"OpenHands: {_secs(self.openhands_s)}")
        return " · ".join(parts)


@dataclass
class AttemptLog:
    """Every attempt of one run, in order."""

    rows: list[AttemptRow] = field(default_factory=list)
    _left: int | None = None  # seconds left at the last countdown tick

    def add(self, ev: Any) -> bool:
        """Fold one event in; True when a row changed."""
        from tui.live import events as E

        if isinstance(ev, E.Attempt):
            self.rows.append(AttemptRow(ev.n, ev.total))
            return True
        if not self.rows:
            return False
        row = self.rows[-1]
        if isinstance(ev, E.Waiting):
            self._left = ev.seconds_left
            if row.wait_s is not None:
                return False
            row.ok, row.status, row.what = False, ev.status, ev.cause
            row.message, row.wait_s = ev.message, ev.total_seconds
            row.retry_after_s, row.openhands_s = ev.asked_s, ev.openhands_s
            return True
        if isinstance(ev, E.Done):
            row.ok, row.what = True, "answered"
            return True
        if isinstance(ev, E.Failed):
            row.ok, row.status, row.what, row.message = False, ev.status, ev.cause_kind, \
                ev.message
            row.what = row.what.replace("_", " ")
            return True
        return False

    def retried_now(self, waited_s: float | None = None) -> None:
        """Retry now ended the current wait after ``waited_s`` (else as the countdown last
        said): note how long it lasted."""
        if self.rows and self.rows[-1].wait_s is not None and self._left is not None:
            row = self.rows[-1]
            waited = row.wait_s - self._left if waited_s is None else waited_s
            row.waited_s = min(max(0.0, waited), row.wait_s)

    def cancelled(self) -> None:
        if self.rows and self.rows[-1].ok is None:
            self.rows[-1].ok, self.rows[-1].what = False, "cancelled"

    def lines(self) -> list[tuple[str, str, str]]:
        """(attempt, head, message) for each attempt; the message may be empty."""
        return [(f"{r.n}/{r.total}", r.head(), r.message) for r in self.rows]

    def text(self) -> str:
        """The whole history as plain text (for logs and tests)."""
        out = []
        for label, head, message in self.lines():
            out.append(f"{label} {head}")
            if message:
                out.append(f"    {message}")
        return "\n".join(out)


@dataclass
class RateMeter:
    """Tokens per second of the answer so far (each streamed piece counted as a token)."""

    first: float | None = None
    last: float = 0.0
    count: int = 0

    def add(self, now: float) -> None:
        if self.first is None:
            self.first = now
        self.last = now
        self.count += 1

    def rate(self) -> float | None:
        """Pieces after the first, per second since the first; None until there is one."""
        if self.first is None or self.count < 2 or self.last <= self.first:
            return None
        return (self.count - 1) / (self.last - self.first)

    def describe(self) -> str:
        rate = self.rate()
        speed = f", ~{rate:.1f} tokens/s" if rate is not None else ""
        return f"Streaming: {self.count} tokens{speed}"
