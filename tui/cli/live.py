"""`llm-settings test` on a terminal or in a pipe: the live test's events as lines.

The answer streams to stdout; attempts, countdowns and the final stats go to stderr (one status
line rewritten in place on a terminal); ``--json`` prints every event as a JSON line.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import sys

from tui.core import settings as S
from tui.live import check as L
from tui.live import events as E
from tui.live.sdk import set_values


def stream(s: S.Settings, prompt: str | None, as_json: bool, as_: str = "0.x") -> int:
    """Run the live test with ``s`` and print it; the exit code (0 answered, 1 not, 130 Ctrl-C).
    ``as_``: "0.x", "1.x" or "web" (then the fields ``s`` does not set take the SDK's
    defaults)."""
    values = set_values(s)  # the rest: the defaults of the OpenHands tested
    unread = s.unread_needed()
    err = sys.stderr
    tty = err.isatty()
    shown = {"status": False, "answer": ""}

    def line(text: str, keep: bool = False) -> None:
        """A status line: rewritten in place on a terminal, one line per event otherwise."""
        if tty:
            err.write("\r\x1b[K" + text + ("\n" if keep else ""))
            shown["status"] = not keep
        else:
            err.write(text + "\n")
        err.flush()

    def clear_status() -> None:
        if shown["status"]:
            err.write("\r\x1b[K")
            err.flush()
            shown["status"] = False

    def end_answer() -> None:
        clear_status()
        if shown["answer"] and not shown["answer"].endswith("\n"):
            sys.stdout.write("\n")
            sys.stdout.flush()
            shown["answer"] += "\n"

    if not as_json:
        for v in s.values.values():
            if v.problem or v.env_problem:
                line(f"warning: {v.problem or v.env_problem}", keep=True)
        for v in unread:
            line(f"warning: testing without {v.field.name}, {v.unread}", keep=True)

    def unknown_key(ev: E.Failed) -> E.Failed:
        """A missing or rejected key when the keyring could not be read: say that instead."""
        if not unread or ev.cause_kind not in ("missing_key", "auth"):
            return ev
        v = unread[0]
        return dataclasses.replace(ev, advice=f"The {v.field.name} is unknown, {v.unread}")

    async def drive() -> E.Event | None:
        final = None
        events = L.run(values, prompt or L.DEFAULT_PROMPT, as_=as_)
        async with contextlib.aclosing(events):
            async for ev in events:
                if isinstance(ev, E.Failed):
                    ev = unknown_key(ev)
                if isinstance(ev, E.Done | E.Failed):
                    final = ev
                if as_json:
                    sys.stdout.write(ev.to_json() + "\n")
                    sys.stdout.flush()
                elif isinstance(ev, E.Token):
                    if not ev.reasoning:
                        clear_status()
                        sys.stdout.write(ev.text)
                        sys.stdout.flush()
                        shown["answer"] += ev.text
                elif isinstance(ev, E.Started):
                    line(ev.summary(), keep=True)
                elif isinstance(ev, E.Done):
                    end_answer()
                    line(f"done: {ev.summary()}", keep=True)
                elif not isinstance(ev, E.Failed):
                    line(ev.summary())
        return final

    try:
        final = asyncio.run(drive())
    except KeyboardInterrupt:
        end_answer()
        err.write("llm-settings: test cancelled\n")
        return 130
    if isinstance(final, E.Failed):
        end_answer()
        err.write(f"llm-settings: {final.message}\n  {final.advice}\n")
        return 1
    return 0
