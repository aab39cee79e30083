"""LiteLLM loaded ahead of the first live test, in a background thread.

Importing litellm takes seconds. The app starts :func:`start` once its first screen is drawn
and no key has been pressed for a moment, so that F6 later sends its request at once. The
thread imports the engine and litellm with litellm's prints and ``.env`` contained (see
``check._load_litellm``); a test started meanwhile waits for the same import instead of
starting another. UI-free: it never imports Textual itself (the Test pane's module is
imported by name, when the app asks for it).
"""

from __future__ import annotations

import importlib
import threading

_thread: threading.Thread | None = None
_done = threading.Event()


def start(also: tuple[str, ...] = ()) -> bool:
    """Start loading litellm (after the modules named in ``also``); False if already started."""
    global _thread
    if _thread is not None:
        return False
    _thread = threading.Thread(target=_load, args=(also,), name="llm-settings-preload",
                               daemon=True)  # quitting never waits for an import
    _thread.start()
    return True


def started() -> bool:
    return _thread is not None


def done() -> bool:
    """The preload has finished (litellm loaded, or its import failed: a test will say why)."""
    return _done.is_set()


def wait(timeout: float | None = None) -> bool:
    return _done.wait(timeout)


def _load(also: tuple[str, ...]) -> None:
    try:
        for name in also:
            importlib.import_module(name)
        from tui.live import check

        check._load_litellm()
    except Exception:  # a broken install: the live test reports it when it runs
        pass
    finally:
        _done.set()
