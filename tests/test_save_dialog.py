"""The save dialog (ctrl+s): the summary of fields, then config.toml's real diff, at 80x24."""

from __future__ import annotations

import tomllib
from pathlib import Path

from textual.screen import ModalScreen

from tests.app_helpers import (
    SIZE,
    choose,
    make_app,
    run,
    screen_text,
    settle,
    template_copy,
    type_into,
    wait_until,
)
from tests.keyring_env import CANARY
from tui.core.config_diff import unified
from tui.ui.widgets import SaveScreen


def diff_shown(app) -> str:
    assert isinstance(app.screen, SaveScreen), f"{type(app.screen).__name__} on top"
    return "\n".join(app.screen.diff)


@run
async def test_save_dialog_shows_the_file_diff_scrolls_and_saves_what_it_shows(
        no_keyring: None, tmp_path: Path) -> None:
    cfg = template_copy(tmp_path)
    before = cfg.read_text()
    app = make_app(cfg)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await type_into(pilot, "temperature", "0.5")
        await type_into(pilot, "model", "openai/gpt-4.1", pane="s", paste=True)
        await pilot.press("ctrl+s")
        await settle(pilot)
        shown = diff_shown(app)
        lines = shown.splitlines()
        assert lines[:2] == ["--- config.toml (now)", "+++ config.toml (after saving)"]
        assert '-model = "gpt-4o"' in lines and '+model = "openai/gpt-4.1"' in lines
        assert "+temperature = 0.5" in lines and " #temperature = 0.0" in lines  # in place
        changed = [x for x in lines[2:] if x[:1] in "+-"]
        assert len(changed) == 3  # only the lines that change, not the whole file
        text = screen_text(app)
        assert "model: gpt-4o -> openai/gpt-4.1" in text  # the summary, above the diff
        assert "Save" in text and "Keep editing" in text  # the buttons stay on screen
        body = app.screen.query_one(".dialog-body")
        assert body.max_scroll_y > 0  # longer than 80x24 shows: it scrolls
        await pilot.press("pagedown")
        await wait_until(pilot, lambda: body.scroll_y > 0, "the body to scroll")
        assert "+temperature = 0.5" in screen_text(app)
        await choose(pilot, "save")
        assert not isinstance(app.screen, ModalScreen)
    after = cfg.read_text()
    assert tomllib.loads(after)["llm"]["temperature"] == 0.5
    assert unified(before, after, "config.toml") == lines  # the shown diff is what was done


@run
async def test_a_plaintext_key_is_masked_in_the_diff_never_on_screen(
        no_keyring: None, tmp_path: Path) -> None:
    cfg = template_copy(tmp_path)
    app = make_app(cfg)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await type_into(pilot, "api_key", CANARY, pane="s", paste=True)
        app.query_one("#insecure").scroll_visible(animate=False)
        await settle(pilot)
        await pilot.click("#insecure")  # the plaintext box ticked: the key goes to the file
        await settle(pilot)
        await pilot.press("ctrl+s")
        await settle(pilot)
        shown = diff_shown(app)
        assert "+api_key = ****8e0c (hidden)" in shown.splitlines()
        body = app.screen.query_one(".dialog-body")
        while True:  # every part of the dialog, scrolled through
            assert CANARY not in screen_text(app) and CANARY not in app.export_screenshot()
            if body.scroll_y >= body.max_scroll_y:
                break
            y = body.scroll_y
            await pilot.press("pagedown")
            await wait_until(pilot, lambda y=y: body.scroll_y > y, "the body to scroll")
        assert CANARY not in shown
        await choose(pilot, "save")
    assert tomllib.loads(cfg.read_text())["llm"]["api_key"] == CANARY


@run
async def test_a_key_for_the_keyring_says_the_file_does_not_change(
        no_keyring: None, tmp_path: Path) -> None:
    cfg = template_copy(tmp_path)
    app = make_app(cfg)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await type_into(pilot, "api_key", CANARY, pane="s", paste=True)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert diff_shown(app) == "config.toml does not change."
        assert CANARY not in screen_text(app)


@run
async def test_a_save_that_would_be_refused_says_why_in_place_of_the_diff(
        no_keyring: None, tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text('[core]\nmixed = [1, "a"]\n\n[llm]\nmodel = "openai/o3"\n')
    before = cfg.read_bytes()
    app = make_app(cfg)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await type_into(pilot, "temperature", "0.5")
        await pilot.press("ctrl+s")
        await settle(pilot)
        shown = diff_shown(app)
        assert shown.startswith("✗ ") and "OpenHands cannot read" in shown, shown
        await choose(pilot, "save")
        assert "OpenHands cannot read" in app.posted[-1]  # the save says the same
    assert cfg.read_bytes() == before
