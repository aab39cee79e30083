"""What the screen shows beyond text: the focus, marked so that it reads without colour."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.segment import Segment

from tests.app_helpers import SIZE, make_app, row, run, settle, template_copy


def reversed_text(app) -> str:
    """The text drawn in reverse video, after the app's own filters (NO_COLOR's included),
    one screen line per line."""
    lines = []
    for strip in app.screen._compositor.render_strips():
        segments = list(strip)
        for f in app.get_line_filters():
            segments = f.apply(segments, app.screen.styles.background)
        lines.append("".join(s.text for s in segments
                             if isinstance(s, Segment) and s.style and s.style.reverse))
    return "\n".join(lines)


@pytest.mark.parametrize(("name", "pane", "label"), [
    ("model", "s", "LLM Model"),  # an input
    ("drop_params", "a", "Drop unsupported"),  # a select
])
@run
async def test_focused_field_is_marked_without_colour(no_keyring: None, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      name: str, pane: str, label: str) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app(template_copy(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.no_color
        app.action_pane("settings" if pane == "s" else "advanced")
        await settle(pilot)
        widget = row(app, name, pane).query_one("#input")
        widget.focus()
        widget.scroll_visible(animate=False)
        await settle(pilot)
        assert label in reversed_text(app)
        app.query_one("#pick" if pane == "s" else "#a-model #input").focus()  # elsewhere
        await settle(pilot)
        assert label not in reversed_text(app)  # the mark follows the focus


@run
async def test_model_picker_marks_newer_than_verified(no_keyring: None, tmp_path: Path) -> None:
    from tests.app_helpers import screen_text
    from tui.ui.widgets import PickerScreen

    app = make_app(template_copy(tmp_path))
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await pilot.press("f4")
        await settle(pilot)
        assert isinstance(app.screen, PickerScreen)
        await pilot.press(*"claude sonnet")
        await settle(pilot)
        lines = screen_text(app).splitlines()
        verified = [x for x in lines if "claude-3-7-sonnet-20250219" in x]
        newer = [x for x in lines if "anthropic/claude-sonnet-4-5 " in x]
        assert verified and "✓ anthropic/claude-3-7-sonnet" in verified[0]
        assert newer and "↑ anthropic/claude-sonnet-4-5" in newer[0]
        assert "newer than verified" in newer[0]
