"""The live test as a widget: streams the answer, counts every retry down, names failures.

A thin view over :func:`tui.live.check.run` (imported when a test starts, never before: it
loads litellm). Used by the app's Test pane and by the setup wizard.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Button, Markdown, ProgressBar, RadioButton, RadioSet, Static
from textual.widgets.markdown import MarkdownStream

from tui.live.attempts import AttemptLog, RateMeter
from tui.live.sdk import LABELS

FLUSH_S = 0.15  # the answer is redrawn at most this often while it streams
_streaming = 0  # answers streaming now (a restarted test overlaps the cancelled one)
_FULL_THRESHOLD = gc.get_threshold()[2]
IDLE_COLLECT_S = 0.3  # the held-back full collection runs this long after a stream


@contextlib.contextmanager
def no_full_collection() -> Iterator[None]:
    """Hold back full garbage collections while an answer streams in.

    A full collection walks every tracked object with the GIL held (the app, its widgets,
    and every chunk litellm keeps until the end): 15-40 ms here, a visible stall when it
    lands on a redraw. During the stream only the young generations are collected; the
    held-back full collection runs once the screen is idle (:func:`collect_if_idle`).
    """
    global _streaming
    gc.set_threshold(*gc.get_threshold()[:2], 1_000_000)
    _streaming += 1
    try:
        yield
    finally:
        _streaming -= 1


def collect_if_idle() -> None:
    """The held-back full collection, then the usual thresholds (restored earlier, the full
    collection owed would start at once, amid the last redraws)."""
    if _streaming == 0 and gc.get_threshold()[2] != _FULL_THRESHOLD:
        gc.collect()
        gc.set_threshold(*gc.get_threshold()[:2], _FULL_THRESHOLD)


@dataclass
class _RunState:
    """One test run: its answer stream, its retry-now signal, the text not drawn yet."""

    stream: MarkdownStream
    retry_now: asyncio.Event = field(default_factory=asyncio.Event)
    done: asyncio.Event = field(default_factory=asyncio.Event)  # its stream is stopped
    pending: str = ""
    flushed: float = 0.0  # when the answer was last drawn (loop time)
    meter: RateMeter = field(default_factory=RateMeter)  # tokens/s while it streams

    async def flush(self) -> None:
        if self.pending:
            await self.stream.write(self.pending)
            self.pending, self.flushed = "", asyncio.get_running_loop().time()


class AttemptHistory(VerticalScroll):
    """Every attempt of the last run, one row each: result, wait used, Retry-After, message."""

    def __init__(self) -> None:
        super().__init__(id="test-history", classes="hidden")
        self.attempts = AttemptLog()
        self._rows: list[tuple[Vertical, Static, Static]] = []  # (row, its line, its message)
        self.wait_began = 0.0  # when the current wait started (loop time)

    def reset(self) -> None:
        self.attempts = AttemptLog()
        self.redraw()

    def redraw(self) -> None:
        """One line per attempt, its message indented under it (wrapped, still indented)."""
        lines = self.attempts.lines()
        for row, _, _ in self._rows[len(lines):]:
            row.remove()
        del self._rows[len(lines):]
        for i, (label, head, message) in enumerate(lines):
            if i == len(self._rows):
                parts = (Static(markup=False, classes="attempt-head"),
                         Static(markup=False, classes="attempt-message"))
                self._rows.append((Vertical(*parts, classes="attempt"), *parts))
                self.mount(self._rows[i][0])
            _, head_line, text = self._rows[i]
            head_line.update(f"{label} {head}")
            text.update(message)
            text.set_class(not message, "hidden")
        self.set_class(not lines, "hidden")
        self.call_after_refresh(self.scroll_end, animate=False)  # the latest attempt in view

    def text(self) -> str:
        """What the rows show, as plain text."""
        return self.attempts.text()


class LiveTestPanel(Vertical, can_focus=True):
    """Run a live test on demand; Esc cancels at once, R retries now during a wait, C copies
    the request as a curl command."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel test", id="cancel-test"),
        Binding("r", "retry_now", "Retry now", id="retry-now"),
        Binding("c", "copy_curl", "Copy as curl", id="copy-curl", show=False),  # on its button
    ]

    limits: Any = None  # the test's own limits (a tui.live.limits.Limits); None: its defaults

    @property
    def as_(self) -> str:
        """The OpenHands tested: "0.x" (config.toml), "1.x" (the SDK) or "web" (its web app)."""
        for as_, ident in (("1.x", "#as-1x"), ("web", "#as-web")):
            if self.query_one(ident, RadioButton).value:
                return as_
        return "0.x"

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
        self._run_state: _RunState | None = None  # the test running now
        self.answer = ""
        self.running = False

    def compose(self) -> ComposeResult:
        with Horizontal(classes="test-actions"):
            yield Button("Run test (F6)", id="run-test", variant="primary", compact=True)
            yield Button("Cancel (Esc)", id="cancel-test", compact=True, disabled=True)
            yield Button("Retry now (R)", id="retry-test", compact=True, disabled=True)
            yield Button("Copy as curl (C)", id="curl-test", compact=True)
        with RadioSet(id="test-as", compact=True):
            yield RadioButton(LABELS["0.x"], value=True, id="as-0x")
            yield RadioButton(LABELS["1.x"], id="as-1x")
            yield RadioButton(LABELS["web"], id="as-web")
        yield Static("Streams a short completion with these settings, unsaved edits included.",
                     id="test-status", markup=False)
        yield ProgressBar(total=1, show_eta=False, id="test-wait", classes="hidden")
        yield Static("", id="test-request", classes="field-note", markup=False)
        yield AttemptHistory()
        with VerticalScroll(id="test-answer-box"):
            yield Markdown("", id="test-answer")
        yield Static("", id="test-stats", markup=False)

    def on_unmount(self) -> None:
        collect_if_idle()  # closed before its idle timer fired: do not leave the GC held

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

    @on(Button.Pressed, "#curl-test")
    def _curl_pressed(self) -> None:
        self.action_copy_curl()

    def action_copy_curl(self) -> None:
        """The request these settings make, as curl (key as $LLM_API_KEY): copied, and shown
        in a dialog (the terminal may not pass the clipboard on, e.g. over SSH)."""
        from tui.live.curl import KEY_VAR, curl_command
        from tui.live.request import _secrets, completion_kwargs
        from tui.ui.widgets import ChoiceScreen

        values = dict(self._values()[0])
        kwargs = completion_kwargs(values)
        curl = curl_command(kwargs, _secrets(values, kwargs))
        if not curl.command:
            self.notify(curl.problem, title="Copy as curl", severity="warning")
            return
        self.app.copy_to_clipboard(curl.command)
        note = "Copied to the clipboard, if the terminal allows it. "
        if self.as_ != "0.x":
            note += ("This is the request as OpenHands 0.x sends it; as 1.x the SDK adds its "
                     "own defaults (see the request line). ")
        note += (f"The key is {KEY_VAR}: set it first (export LLM_API_KEY=...)."
                 if kwargs.get("api_key") else "No key is set: the command sends none.")
        self.app.push_screen(ChoiceScreen("Copy as curl", f"{note}\n\n{curl.command}",
                                          [("close", "Close", "primary")]))

    def action_cancel(self) -> None:
        if self.running:
            self.query_one(AttemptHistory).attempts.cancelled()
            self.query_one(AttemptHistory).redraw()
            self.workers.cancel_group(self, "live-test")
            self._ended(False, "Cancelled.")

    def action_retry_now(self) -> None:
        if self._run_state is not None:
            if not self.query_one("#retry-test", Button).disabled:  # a wait is running
                history = self.query_one(AttemptHistory)
                history.attempts.retried_now(self._loop_time() - history.wait_began)
                history.redraw()
            self._run_state.retry_now.set()

    def start(self) -> None:
        """Start (or restart) the test with the current values."""
        values, unsaved = self._values()
        self.answer = ""
        self.query_one("#test-answer", Markdown).update("")
        self.query_one("#test-stats", Static).update("")
        self.query_one(AttemptHistory).reset()
        self._set_status("Loading LiteLLM…")
        self._buttons(running=True)
        self.running = True
        self.focus()  # Esc and R reach the panel while it runs
        self._run(dict(values), tuple(unsaved), self.as_)

    # -- the worker ----------------------------------------------------------------------
    @work(exclusive=True, group="live-test", exit_on_error=False)
    async def _run(self, values: dict[str, Any], unsaved: tuple[str, ...], as_: str) -> None:
        from tui.live import check as L  # loads litellm: never on the way to the first screen

        previous = self._run_state
        if previous is not None:  # a restart: the cancelled run puts its answer away first
            await previous.done.wait()
        md = self.query_one("#test-answer", Markdown)
        await md.update("")
        run = self._run_state = _RunState(Markdown.get_stream(md))
        with no_full_collection():
            try:
                async for ev in L.run(values, unsaved=unsaved, retry_now=run.retry_now,
                                      limits=self.limits, as_=as_):
                    await self._show(run, ev)
            finally:
                await run.flush()  # cancelled mid-stream: show what had arrived
                await run.stream.stop()
                run.done.set()
                if self._run_state is run:
                    self._run_state = None
                self.set_timer(IDLE_COLLECT_S, collect_if_idle)  # after the last redraw

    async def _show(self, run: _RunState, ev: Any) -> None:
        """One engine event on screen."""
        from tui.live import check as L
        from tui.live import events as E

        bar = self.query_one("#test-wait", ProgressBar)
        history = self.query_one(AttemptHistory)
        if history.attempts.add(ev):
            history.redraw()
            if isinstance(ev, E.Waiting):
                history.wait_began = self._loop_time()
        if isinstance(ev, E.Started):
            note = f"\nNote: {ev.note}" if ev.note else ""
            self.query_one("#test-request", Static).update(
                f"Request {LABELS[ev.openhands]}: {ev.request.describe()}\n"
                f"Sent: {ev.request.describe_params()}{note}\nLimits: {ev.limits}\n"
                f"{L.STREAMED[0].upper()}{L.STREAMED[1:]}.")
        elif isinstance(ev, E.Attempt):
            bar.add_class("hidden")
            self._set_status(f"Attempt {ev.n} of {ev.total}…")
            self._buttons(running=True, waiting=False)
        elif isinstance(ev, E.Waiting):
            run.retry_now.clear()
            bar.remove_class("hidden")
            bar.update(total=max(ev.total_seconds, 1), progress=ev.total_seconds - ev.seconds_left)
            asked = f" — {ev.why()}" if ev.asked_s is not None else ""
            self._set_status(f"Attempt {ev.attempt} of {ev.total} — {ev.cause}{asked}. "
                             f"Retrying in {ev.seconds_left} s")
            self._buttons(running=True, waiting=True)
        elif isinstance(ev, E.Awaiting):
            bar.remove_class("hidden")
            bar.update(total=max(ev.limit_s, 1), progress=max(ev.limit_s - ev.seconds_left, 0))
            self._set_status(f"Attempt {ev.attempt} of {ev.total} — no first token yet: giving "
                             f"up in {ev.seconds_left} s")
        elif isinstance(ev, E.Token):
            bar.add_class("hidden")  # the first token ends the first-token countdown
            if not ev.reasoning:
                self.answer += ev.text
                run.pending += ev.text
            run.meter.add(asyncio.get_running_loop().time())
            # Redraw at most every FLUSH_S: a fast stream would otherwise re-layout the screen
            # for every token and stall the UI.
            if asyncio.get_running_loop().time() - run.flushed >= FLUSH_S:
                await run.flush()
                self.query_one("#test-stats", Static).update(run.meter.describe())
                run.flushed = asyncio.get_running_loop().time()  # thinking text is not drawn
            await asyncio.sleep(0)  # buffered chunks arrive without a pause
        elif isinstance(ev, E.Done | E.Failed):
            await run.flush()
            await run.stream.stop()
            bar.add_class("hidden")
            if isinstance(ev, E.Done):
                self._ended(True, "✓ " + ev.summary())
            else:
                text = f"✗ {ev.message}\n{ev.advice}".rstrip()
                if ev.partial_text:
                    text += "\n(the partial answer above was kept)"
                self._ended(False, text)

    # -- display -------------------------------------------------------------------------
    @staticmethod
    def _loop_time() -> float:
        return asyncio.get_running_loop().time()

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
