"""The live test as a widget: streams the answer, counts every retry down, names failures.

A thin view over :func:`tui.live_test.run` (imported when a test starts, never before: it
loads litellm). Used by the app's Test pane and by the setup wizard.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Button, Markdown, ProgressBar, Static

FLUSH_S = 0.08  # the answer is redrawn at most this often while it streams


class LiveTestPanel(Vertical, can_focus=True):
    """Run a live test on demand; Esc cancels at once, R retries now during a wait."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel test", id="cancel-test"),
        Binding("r", "retry_now", "Retry now", id="retry-now"),
    ]

    class Finished(Message):
        """The test ended: ``ok`` True when the model answered."""

        def __init__(self, ok: bool, summary: str) -> None:
            super().__init__()
            self.ok = ok
            self.summary = summary

    def __init__(self, values: Callable[[], tuple[Mapping[str, Any], Iterable[str]]],
                 id: str | None = None) -> None:
        """``values()`` gives the settings to test and the names of unsaved fields."""
        super().__init__(id=id, classes="test-panel")
        self._values = values
        self._retry_now: asyncio.Event | None = None
        self.answer = ""
        self.running = False

    def compose(self) -> ComposeResult:
        with Horizontal(classes="test-actions"):
            yield Button("Run test (F6)", id="run-test", variant="primary", compact=True)
            yield Button("Cancel (Esc)", id="cancel-test", compact=True, disabled=True)
            yield Button("Retry now (R)", id="retry-test", compact=True, disabled=True)
        yield Static("Streams a short completion with these settings, unsaved edits included.",
                     id="test-status", markup=False)
        yield ProgressBar(total=1, show_eta=False, id="test-wait", classes="hidden")
        yield Static("", id="test-request", classes="field-note", markup=False)
        with VerticalScroll(id="test-answer-box"):
            yield Markdown("", id="test-answer")
        yield Static("", id="test-stats", markup=False)

    # -- actions -------------------------------------------------------------------------
    @on(Button.Pressed, "#run-test")
    def _run_pressed(self) -> None:
        self.start()

    @on(Button.Pressed, "#cancel-test")
    def _cancel_pressed(self) -> None:
        self.action_cancel()

    @on(Button.Pressed, "#retry-test")
    def _retry_pressed(self) -> None:
        self.action_retry_now()

    def action_cancel(self) -> None:
        if self.running:
            self.workers.cancel_group(self, "live-test")
            self._ended(False, "Cancelled.")

    def action_retry_now(self) -> None:
        if self._retry_now is not None:
            self._retry_now.set()

    def start(self) -> None:
        """Start (or restart) the test with the current values."""
        values, unsaved = self._values()
        self.answer = ""
        self.query_one("#test-answer", Markdown).update("")
        self.query_one("#test-stats", Static).update("")
        self._set_status("Loading LiteLLM…")
        self._buttons(running=True)
        self.running = True
        self.focus()  # Esc and R reach the panel while it runs
        self._run(dict(values), tuple(unsaved))

    # -- the worker ----------------------------------------------------------------------
    @work(exclusive=True, group="live-test", exit_on_error=False)
    async def _run(self, values: dict[str, Any], unsaved: tuple[str, ...]) -> None:
        from tui import live_test as L  # loads litellm: never on the way to the first screen

        self._retry_now = asyncio.Event()
        md = self.query_one("#test-answer", Markdown)
        stream = Markdown.get_stream(md)
        bar = self.query_one("#test-wait", ProgressBar)
        loop = asyncio.get_running_loop()
        pending, flushed = "", 0.0
        try:
            async for ev in L.run(values, unsaved=unsaved, retry_now=self._retry_now):
                if isinstance(ev, L.Started):
                    self.query_one("#test-request", Static).update(
                        "Request: " + ev.request.describe())
                elif isinstance(ev, L.Attempt):
                    bar.add_class("hidden")
                    self._set_status(f"Attempt {ev.n} of {ev.total}…")
                    self._buttons(running=True, waiting=False)
                elif isinstance(ev, L.Waiting):
                    self._retry_now.clear()
                    bar.remove_class("hidden")
                    bar.update(total=max(ev.total_seconds, 1),
                               progress=ev.total_seconds - ev.seconds_left)
                    asked = (f" — the provider asks to wait {ev.total_seconds:g} s"
                             if ev.retry_after else "")
                    self._set_status(f"Attempt {ev.attempt} of {ev.total} — {ev.cause}{asked}. "
                                     f"Retrying in {ev.seconds_left} s")
                    self._buttons(running=True, waiting=True)
                elif isinstance(ev, L.Token):
                    if not ev.reasoning:
                        self.answer += ev.text
                        pending += ev.text
                    # Redraw at most every FLUSH_S: a fast stream would otherwise re-layout
                    # the screen for every token and stall the UI.
                    now = loop.time()
                    if pending and now - flushed >= FLUSH_S:
                        await stream.write(pending)
                        pending, flushed = "", now
                    await asyncio.sleep(0)  # buffered chunks arrive without a pause
                elif isinstance(ev, L.Done | L.Failed) and pending:
                    await stream.write(pending)
                    pending = ""
                if isinstance(ev, L.Done):
                    await stream.stop()
                    bar.add_class("hidden")
                    self._ended(True, "✓ " + ev.summary())
                elif isinstance(ev, L.Failed):
                    await stream.stop()
                    bar.add_class("hidden")
                    text = f"✗ {ev.message}\n{ev.advice}".rstrip()
                    if ev.partial_text:
                        text += "\n(the partial answer above was kept)"
                    self._ended(False, text)
        finally:
            if pending:  # cancelled mid-stream: show what had arrived
                await stream.write(pending)
            await stream.stop()
            self._retry_now = None

    # -- display -------------------------------------------------------------------------
    def _set_status(self, text: str) -> None:
        self.query_one("#test-status", Static).update(text)

    def _buttons(self, running: bool, waiting: bool = False) -> None:
        self.query_one("#run-test", Button).disabled = running
        self.query_one("#cancel-test", Button).disabled = not running
        self.query_one("#retry-test", Button).disabled = not waiting

    def _ended(self, ok: bool, text: str) -> None:
        self.running = False
        self.query_one("#test-wait", ProgressBar).add_class("hidden")
        self._buttons(running=False)
        status, _, stats = text.partition("\n")
        self._set_status(status)
        self.query_one("#test-stats", Static).update(stats)
        self.post_message(self.Finished(ok, status))
