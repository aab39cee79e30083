"""Finding a field among the Advanced pane's ~60: the filter, jumps between groups, PageDown
without a focused field, and the registry name under each label."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from textual.containers import VerticalScroll
from textual.pilot import Pilot
from textual.widgets import Input, Static

from tests.app_helpers import SIZE, make_app, row, run, screen_text, settle, wait_until
from tui.core import fields as F
from tui.ui.app import SettingsApp
from tui.ui.widgets import FieldRow

CONFIG = '[llm]\nmodel = "openai/gpt-4o"\n'


@contextlib.asynccontextmanager
async def on_advanced(tmp_path: Path, press_f3: bool = True
                      ) -> AsyncIterator[tuple[SettingsApp, Pilot]]:
    """The app on a small config, at 80x24, settled (on the Advanced pane: F3)."""
    path = tmp_path / "config.toml"
    path.write_text(CONFIG)
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        if press_f3:
            await pilot.press("f3")
            await settle(pilot)
        yield app, pilot


def shown_rows(app) -> list[str]:
    return [r.field.name for r in app.query("#advanced FieldRow").results(FieldRow)
            if r.display and all(a.display for a in r.ancestors if a is not app)]


def focused_field(app) -> str | None:
    rows = [a for a in (app.focused.ancestors if app.focused else []) if isinstance(a, FieldRow)]
    return rows[0].field.name if rows else None


@run
async def test_f3_then_pagedown_scrolls_and_typing_filters(tmp_path: Path,
                                                           no_keyring: None) -> None:
    async with on_advanced(tmp_path) as (app, pilot):
        scroll = app.query_one("#advanced-scroll", VerticalScroll)
        assert app.focused is app.query_one("#field-filter", Input)
        await pilot.press("pagedown")
        await wait_until(pilot, lambda: scroll.scroll_y > 0, "PageDown to scroll the fields")
        await pilot.press(*"retr")
        await settle(pilot)
        assert shown_rows(app) == list(F.RETRY_FIELDS)
        assert "Attempts" in screen_text(app) and "num_retries" in screen_text(app)
        await pilot.press("ctrl+a", "ctrl+k", *"LLM_TOP_K")  # a variable name works too
        await settle(pilot)
        assert shown_rows(app) == ["top_k"]
        await pilot.press("enter")  # Enter goes to the first field kept
        await settle(pilot)
        assert focused_field(app) == "top_k"


@run
async def test_a_filter_that_matches_nothing_says_so(tmp_path: Path, no_keyring: None) -> None:
    async with on_advanced(tmp_path) as (app, pilot):
        await pilot.press(*"zzzq")
        await settle(pilot)
        assert shown_rows(app) == []
        assert "No field matches 'zzzq'." in screen_text(app)


@run
async def test_ctrl_down_and_up_jump_between_groups(tmp_path: Path, no_keyring: None) -> None:
    async with on_advanced(tmp_path) as (app, pilot):
        await pilot.press("ctrl+down")
        await settle(pilot)
        assert focused_field(app) == "model"  # Custom Model, first as on OpenHands' screen
        await pilot.press("ctrl+down")
        await settle(pilot)
        assert focused_field(app) == "search_api_key"
        await pilot.press("ctrl+down")
        await settle(pilot)
        assert focused_field(app) == "num_retries"
        assert "Retries" in screen_text(app)  # its group title scrolled into view
        await pilot.press("ctrl+up")
        await settle(pilot)
        assert focused_field(app) == "search_api_key"


@run
async def test_the_command_palette_goes_to_a_group_even_when_filtered_out(
        tmp_path: Path, no_keyring: None) -> None:
    async with on_advanced(tmp_path) as (app, pilot):
        await pilot.press(*"timeout")
        await settle(pilot)
        await pilot.press("ctrl+p")
        await wait_until(pilot, lambda: app.screen.id == "--command-palette" or
                         type(app.screen).__name__ == "CommandPalette", "the command palette")
        await pilot.press(*"Advanced: Logging")
        await settle(pilot)
        await pilot.press("enter")
        await wait_until(pilot, lambda: focused_field(app) == "log_completions",
                         "the Logging group's first field to have focus")
        assert app.query_one("#field-filter", Input).value == ""
        assert "log_completions" in shown_rows(app)


@run
async def test_every_advanced_row_names_its_field_the_settings_pane_does_not(
        tmp_path: Path, no_keyring: None) -> None:
    async with on_advanced(tmp_path, press_f3=False) as (app, _pilot):
        for f in F.FIELDS:
            names = row(app, f.name).query(".field-name").results(Static)
            assert [str(n.render()) for n in names] == [f.name]
        assert not row(app, "model", "s").query(".field-name")


@run
async def test_f2_leaves_the_filter_and_the_focus_returns_where_it_was(
        tmp_path: Path, no_keyring: None) -> None:
    async with on_advanced(tmp_path, press_f3=False) as (app, pilot):
        await pilot.click("#s-model #input")
        await settle(pilot)
        await pilot.press("f3", "f2")  # at once, as a quick typist or a slow link sends them
        await settle(pilot)
        assert app.query_one("#panes").active == "settings"
        assert focused_field(app) == "model" and row(app, "model", "s") in app.focused.ancestors
        await pilot.press("f3")
        await settle(pilot)
        assert app.focused is app.query_one("#field-filter", Input)
