"""The Test pane tells the whole story: every attempt kept, tokens/s while the answer streams,
and the request copied as curl with the key as $LLM_API_KEY (never the key itself)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Static

from tests.fault_server import FaultServer, ok, rate_limited, server_error
from tests.keyring_env import CANARY
from tests.test_wizard_and_test_pane import FAIL, _server_app, drive, status, until
from tui.ui.check_pane import AttemptHistory, LiveTestPanel
from tui.ui.widgets import ChoiceScreen


def history(app: Any) -> list[tuple[str, str]]:
    """Each attempt as shown: its line, and its message (empty when there is none)."""
    rows = []
    for row in app.query("#test-history .attempt"):
        head, message = row.query_one(".attempt-head"), row.query_one(".attempt-message")
        rows.append((str(head.content), str(message.content) if message.display else ""))
        if message.display:  # the message sits indented under its line, wrapped there too
            assert message.content_region.x >= head.content_region.x + 4
    return rows


def test_test_pane_keeps_every_attempt_with_wait_and_retry_after(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", FAIL)
    with FaultServer() as srv:
        srv.push(rate_limited(30), server_error(), ok("fine"))
        app = _server_app(tmp_path, srv.url)

        async def steps(pilot: Any) -> None:
            await pilot.press("f6")
            await until(pilot, lambda: "Retrying in" in status(app))
            await until(pilot, lambda: "Retrying in 28 s" in status(app))  # 2 s passed
            await pilot.press("r")  # retry now: the first wait is cut short
            await until(pilot, lambda: "OK in" in status(app))
            box = app.query_one(AttemptHistory)
            assert box.display and box.region.height > 0
            rows = history(app)
            assert len(rows) == 3
            assert rows[0][0].startswith("1/3 ✗ rate limited (429) · waited ")
            assert "of 30 s (retried now) · Retry-After 30 s · OpenHands: 1 s" in rows[0][0]
            waited = float(rows[0][0].split("waited ")[1].split(" s of")[0])
            assert 2 <= waited < 30  # the time it really waited
            assert "Rate limit reached for requests per min" in rows[0][1]  # the server's words
            assert rows[1][0] == "2/3 ✗ server error (500) · waited 1 s · no Retry-After"
            assert "The server had an error" in rows[1][1]
            assert rows[2] == ("3/3 ✓ answered", "")
            text = str(rows)
            assert CANARY not in text and CANARY not in app.export_screenshot()

        drive(app, steps)
        assert srv.count == 3


def test_test_pane_shows_tokens_per_second_while_streaming(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", FAIL)
    with FaultServer() as srv:
        srv.push(ok(*([" word"] * 400), token_delay=0.05))  # 20 s: cancelled long before
        app = _server_app(tmp_path, srv.url)

        async def steps(pilot: Any) -> None:
            await pilot.press("f6")
            panel = app.query_one(LiveTestPanel)
            stats = panel.query_one("#test-stats", Static)
            await until(pilot, lambda: "tokens/s" in str(stats.render()))
            assert panel.running  # live, before the answer ended
            assert str(stats.render()).startswith("Streaming: ")
            await pilot.press("escape")
            await until(pilot, lambda: status(app) == "Cancelled.")

        drive(app, steps)


def test_copy_as_curl_copies_and_shows_the_request_with_the_key_as_a_variable(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", FAIL)
    with FaultServer() as srv:
        app = _server_app(tmp_path, srv.url)

        async def steps(pilot: Any) -> None:
            await pilot.press("f5")
            await until(pilot, lambda: bool(app.query("#curl-test")))
            await pilot.click("#curl-test")
            await until(pilot, lambda: isinstance(app.screen, ChoiceScreen))
            copied = app.clipboard
            assert copied.startswith(f"curl -sN {srv.url}/chat/completions")
            assert '"Authorization: Bearer $LLM_API_KEY"' in copied
            assert '"model": "test-model"' in copied
            screen = app.export_screenshot()
            assert "LLM_API_KEY" in screen and "chat/completions" in screen
            assert CANARY not in copied and CANARY not in screen
            await pilot.press("escape")
            await until(pilot, lambda: not isinstance(app.screen, ChoiceScreen))
            app.copy_to_clipboard("")
            await pilot.press("f6")  # the panel has focus: C copies too
            await until(pilot, lambda: "OK in" in status(app))
            await pilot.press("c")
            await until(pilot, lambda: isinstance(app.screen, ChoiceScreen))
            assert "$LLM_API_KEY" in app.clipboard and CANARY not in app.clipboard
            assert CANARY not in app.export_screenshot()

        drive(app, steps)
        assert srv.count == 1  # copying sends nothing
