"""The Advanced pane's settings of the whole OpenHands config, as on OpenHands' own screen:
Search API Key, Agent, condenser size, memory condensation, confirmation mode, security
analyzer — shown once, stored in [core], [security] and [condenser] whatever the group."""

from __future__ import annotations

import tomllib
from pathlib import Path

import keyring
from textual.pilot import Pilot
from textual.widgets import Label, Static

from tests.app_helpers import (
    SIZE,
    choose,
    field_input,
    field_select,
    make_app,
    note,
    row,
    run,
    screen_text,
    settle,
    type_into,
    wait_until,
)
from tui.core import fields as F
from tui.ui.widgets import FieldRow

WHOLE = [f.name for f in F.FIELDS if f.group == F.WHOLE_CONFIG]
BASE = '[llm]\nmodel = "anthropic/claude-sonnet-4-20250514"\n\n[llm.gpt]\nmodel = "openai/gpt-4o"\n'


async def pick(pilot: Pilot, name: str, value: str) -> None:
    """Choose ``value`` in a field's list with the keyboard: Enter, type to search, Enter
    (a value that is the default may pick the "not set" entry, which the prompt names)."""
    app = pilot.app
    app.action_pane("advanced")  # type: ignore[attr-defined]
    await settle(pilot)
    select = field_select(app, name)
    select.focus()
    select.scroll_visible(animate=False)
    await pilot.pause()
    await pilot.press("enter")
    await wait_until(pilot, lambda: select.expanded, f"{name}'s list to open")
    await pilot.press(*value)
    await pilot.press("enter")
    await wait_until(pilot, lambda: not select.expanded, f"{name}'s list to close")
    await settle(pilot)


def advanced_order(app) -> list[str]:
    return [r.field.name for r in app.query("#advanced FieldRow").results(FieldRow)]


@run
async def test_rows_follow_openhands_screen_once_also_in_a_group(tmp_path: Path,
                                                                 no_keyring: None) -> None:
    path = tmp_path / "config.toml"
    path.write_text(BASE)
    app = make_app(path, group="gpt")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        order = advanced_order(app)
        # OpenHands' Advanced view: Custom Model, Base URL, API Key, then these, in its order
        assert order[:3] == ["model", "base_url", "api_key"]
        first = order.index("search_api_key")
        assert order[first:first + len(WHOLE)] == [
            "search_api_key", "default_agent", "condenser_max_size",
            "enable_default_condenser", "confirmation_mode", "security_analyzer"]
        assert all(order.count(n) == 1 for n in WHOLE)  # once, not per group
        title = str(app.query_one("#whole-config-title", Label).render())
        assert "whole config" in title
        assert field_input(app, "search_api_key").password  # a key, never shown as typed


@run
async def test_condenser_size_is_off_while_condensation_is_off(tmp_path: Path,
                                                               no_keyring: None) -> None:
    path = tmp_path / "config.toml"
    path.write_text(BASE)
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        size = field_input(app, "condenser_max_size")
        assert not size.disabled
        await pick(pilot, "enable_default_condenser", "false")
        assert size.disabled
        assert "Off while memory condensation is off" in note(app, "condenser_max_size")
        await pick(pilot, "enable_default_condenser", "true")
        assert not size.disabled


@run
async def test_another_condenser_type_is_kept_and_said_to_take_precedence(
        tmp_path: Path, no_keyring: None) -> None:
    config = BASE + '\n[condenser]\ntype = "recent"\nkeep_first = 2\nmax_events = 30\n'
    path = tmp_path / "config.toml"
    path.write_text(config)
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert field_input(app, "condenser_max_size").disabled
        assert "'recent': it takes precedence" in note(app, "condenser_max_size")
        await pick(pilot, "default_agent", "BrowsingAgent")
        await pilot.press("ctrl+s")
        await settle(pilot)
        await choose(pilot, "save")
    data = tomllib.loads(path.read_text())
    assert data["condenser"] == {"type": "recent", "keep_first": 2, "max_events": 30}
    assert data["core"]["default_agent"] == "BrowsingAgent"


@run
async def test_analyzer_is_shown_only_with_confirmation_mode(tmp_path: Path,
                                                             no_keyring: None) -> None:
    path = tmp_path / "config.toml"
    path.write_text(BASE)
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        analyzer = row(app, "security_analyzer")
        assert not analyzer.display
        await pick(pilot, "confirmation_mode", "true")
        assert analyzer.display
        await pick(pilot, "security_analyzer", "invariant")
        await pilot.press("ctrl+s")
        await settle(pilot)
        await choose(pilot, "save")
    data = tomllib.loads(path.read_text())
    assert data["security"] == {"confirmation_mode": True, "security_analyzer": "invariant"}


@run
async def test_a_group_edit_saves_them_for_the_whole_config_and_the_dialog_says_so(
        tmp_path: Path, no_keyring: None) -> None:
    path = tmp_path / "config.toml"
    path.write_text(BASE)
    app = make_app(path, group="gpt")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pick(pilot, "default_agent", "LocAgent")
        await type_into(pilot, "condenser_max_size", "40")
        await pilot.press("ctrl+s")
        await settle(pilot)
        dialog = screen_text(app)
        assert "default_agent: (not set) -> LocAgent" in dialog
        assert "[condenser] type: also written = 'llm'" in dialog
        assert "not per group" in dialog
        await choose(pilot, "save")
    data = tomllib.loads(path.read_text())
    assert data["core"] == {"default_agent": "LocAgent"}
    assert data["condenser"] == {"type": "llm", "max_size": 40, "llm_config": "gpt"}
    assert data["llm"]["gpt"] == {"model": "openai/gpt-4o"}  # nothing of it per group


@run
async def test_an_existing_condenser_size_is_shown_and_edited(tmp_path: Path,
                                                              no_keyring: None) -> None:
    path = tmp_path / "config.toml"
    path.write_text(BASE + '\n[condenser]\ntype = "llm"\nmax_size = 120\nllm_config = "llm"\n')
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert field_input(app, "condenser_max_size").value == "120"
        await type_into(pilot, "condenser_max_size", "12")
        assert "at least 20" in note(app, "condenser_max_size")  # OpenHands' own minimum
        await type_into(pilot, "condenser_max_size", "60")
        await pilot.press("ctrl+s")
        await settle(pilot)
        await choose(pilot, "save")
    assert tomllib.loads(path.read_text())["condenser"]["max_size"] == 60


@run
async def test_settings_pane_says_what_advanced_holds(tmp_path: Path, no_keyring: None) -> None:
    path = tmp_path / "config.toml"
    path.write_text(BASE)
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        summary = app.query_one("#advanced-summary", Static)
        assert str(summary.render()).strip() == ""  # nothing but defaults there
        await type_into(pilot, "base_url", "http://127.0.0.1:8000/v1", paste=True)
        await pick(pilot, "default_agent", "BrowsingAgent")
        app.action_pane("settings")
        await settle(pilot)
        assert "Advanced (F3): base URL, agent" in screen_text(app)


@run
async def test_search_key_goes_to_its_own_keyring_entry_never_the_file(
        tmp_path: Path, real_keyring: dict[str, str]) -> None:
    canary = "tvly-canary-search-5f4e3d2c1b0a"
    path = tmp_path / "config.toml"
    path.write_text(BASE)
    app = make_app(path, group="gpt")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await type_into(pilot, "search_api_key", canary, paste=True)
        assert "llm-settings/search_api_key" in note(app, "search_api_key")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert canary not in screen_text(app)
        await choose(pilot, "save")
        await wait_until(pilot, lambda: "stored in the keyring" in note(app, "search_api_key"),
                         "the search key's status after the save")
    assert keyring.get_password("llm-settings", "search_api_key") == canary
    assert canary not in path.read_text()
    assert keyring.get_password("llm-settings", "search_api_key:openai") is None
