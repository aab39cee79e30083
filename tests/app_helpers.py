"""Helpers for the Pilot and snapshot tests of the Textual app (tests/test_app.py, ...).

Deterministic by construction: a fixed terminal size, no animations, every worker (keyring
check, catalog load, save) waited for before anything is asserted, and for screenshots no
cursor blink (:func:`still_cursors`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import io
import shutil
from collections.abc import Callable, Coroutine, Mapping
from pathlib import Path
from typing import Any, TypeVar

from rich.console import Console
from textual import events
from textual.keys import _character_to_key
from textual.lazy import Lazy
from textual.pilot import Pilot
from textual.widgets import Input, Select, Static
from textual.worker import WorkerCancelled

from tests.files import TEMPLATE
from tui.core.secrets import SecretStore
from tui.ui.app import SettingsApp
from tui.ui.widgets import FieldRow

SIZE = (80, 24)
WAIT = 60.0
"""Seconds a wait for the app may take: only a real hang reaches it, never a busy machine."""

_T = TypeVar("_T")


def run(fn: Callable[..., Coroutine[Any, Any, _T]]) -> Callable[..., _T]:
    """Run an ``async def`` test with asyncio.run (no pytest async plugin needed)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> _T:
        return asyncio.run(fn(*args, **kwargs))

    return wrapper


def template_copy(directory: Path, name: str = "config.toml") -> Path:
    """A copy of OpenHands' config.template.toml in ``directory``."""
    path = directory / name
    shutil.copyfile(TEMPLATE, path)
    return path


def make_app(path: Path, group: str | None = None,
             environ: Mapping[str, str] | None = None, preload: bool = False) -> SettingsApp:
    """The real app on ``path``, with its own SecretStore (waiting up to WAIT s for a busy
    keyring) and environment (HOME: the config's folder: the app looks for OpenHands 1.x's
    files there, never in the real user's); no animations; LiteLLM not preloaded unless
    ``preload`` (tests/test_preload.py covers it, in a process of its own)."""
    app = SettingsApp(path, group=group, store=SecretStore(timeout=WAIT),
                      environ={"HOME": str(path.parent.resolve()), **(environ or {})},
                      preload=preload)
    app.animation_level = "none"
    posted: list[str] = []
    shown = app.notify

    def notify(message: str, *, title: str = "", **kwargs: Any) -> None:
        posted.append(f"{title}: {message}" if title else message)
        shown(message, title=title, **kwargs)

    app.notify = notify  # type: ignore[method-assign]
    app.posted = posted  # type: ignore[attr-defined]
    return app


# -- waiting ----------------------------------------------------------------------------
def still_cursors(app: SettingsApp) -> None:
    """Stop every Input's cursor blink (cursor left drawn): screenshots become stable."""
    for screen in app.screen_stack:
        for widget in screen.query(Input):
            widget.cursor_blink = False


def _busy(app: SettingsApp) -> bool:
    """A worker runs, or a Lazy widget (the Advanced pane) is not mounted yet."""
    return (not all(w.is_finished for w in app.workers)
            or any(screen.query(Lazy) for screen in app.screen_stack))


async def workers_done(app: SettingsApp) -> None:
    """Wait for the running workers. An exclusive worker (keyring check, catalog) replaced
    by a newer one ends cancelled: that is no failure, and the newer one is waited for by
    the caller's next round."""
    with contextlib.suppress(WorkerCancelled):
        await app.workers.wait_for_complete()


async def settle(pilot: Pilot) -> None:
    """Wait until the app is idle: messages handled, the lazily mounted Advanced pane in place,
    workers (keyring check, catalog load, save) finished, and what they scheduled handled too.
    Each pause walks every widget, so no more of them than needed."""
    app = pilot.app
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    await pilot.pause()
    while _busy(app):
        if loop.time() > deadline:
            raise AssertionError(f"workers or lazy widgets still pending after {WAIT:g} s")
        await workers_done(app)
        await pilot.pause()
    await pilot.pause()  # what the last of them scheduled (the Advanced pane's refresh)


async def wait_until(pilot: Pilot, check: Callable[[], bool], what: str,
                     timeout: float = WAIT) -> None:
    """Pause until ``check()`` is true (e.g. a screen was pushed); fail after ``timeout``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.02)
        await workers_done(pilot.app)


# -- reading the screen -----------------------------------------------------------------
def screen_text(app: SettingsApp) -> str:
    """What the terminal shows now, as plain text (the top screen over the ones below)."""
    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), force_terminal=True,
                      color_system=None, record=True, legacy_windows=False, safe_box=False)
    console.print(app.screen._compositor.render_update(
        full=True, screen_stack=app._background_screens))
    return console.export_text()


def notifications(app: SettingsApp) -> list[str]:
    """Title and message of every notification posted so far, in order: also those that
    expired already (a toast lasts seconds; a loaded machine may take longer to get here)."""
    posted = getattr(app, "posted", None)
    if posted is not None:
        return list(posted)
    return [f"{n.title}: {n.message}" if n.title else n.message for n in app._notifications]


def row(app: SettingsApp, name: str, pane: str = "a") -> FieldRow:
    """The FieldRow of field ``name`` on the Settings ("s") or Advanced ("a") pane."""
    return app.query_one(f"#{pane}-{name}", FieldRow)


def note(app: SettingsApp, name: str, pane: str = "a") -> str:
    """The note (or error) line under a field."""
    return str(row(app, name, pane).query_one(".field-note", Static).render())


def field_input(app: SettingsApp, name: str, pane: str = "a") -> Input:
    widget = row(app, name, pane).query_one("#input")
    assert isinstance(widget, Input), f"{name} is not an Input"
    return widget


def field_select(app: SettingsApp, name: str, pane: str = "a") -> Select:
    widget = row(app, name, pane).query_one("#input")
    assert isinstance(widget, Select), f"{name} is not a Select"
    return widget


async def type_into(pilot: Pilot, name: str, text: str, pane: str = "a",
                    clear: bool = True, paste: bool = False) -> None:
    """Focus a field's input (switching to its pane) and type ``text`` as a fast typist
    would: one Key event per character, sent without waiting for the app in between (Pilot's
    press() idles >= 40 ms per key); ``paste``: paste it in one go, as from the clipboard."""
    app = pilot.app
    assert isinstance(app, SettingsApp)
    app.action_pane("settings" if pane == "s" else "advanced")
    await pilot.pause()  # the pane laid out first: scrolling to the field is then exact
    widget = field_input(app, name, pane)
    widget.focus()
    widget.scroll_visible(animate=False)
    await pilot.pause()
    if clear and widget.value:
        await pilot.press("end", "shift+home", "backspace")
    elif widget.value:
        await pilot.press("end")
    want = widget.value + text
    if paste:
        widget.post_message(events.Paste(text))
    else:
        for char in text:  # printable keys only: the app handles them in order
            key = char if char.isalnum() else _character_to_key(char)
            app.post_message(events.Key(key, char))
    await wait_until(pilot, lambda: widget.value == want, f"{text!r} typed")
    await pilot.pause()  # idle: the edit reached the app, the other pane, the notes


async def choose(pilot: Pilot, button: str) -> None:
    """Press a dialog button by its id (as a click would)."""
    await pilot.click(f"#{button}")
    await settle(pilot)


