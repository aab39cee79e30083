"""OpenHands 1.x in the app: the Settings pane says which 1.x files exist and whether they
agree with config.toml; import and apply run from the command palette, each showing what
changes before anything is written. Real files written by OpenHands' own code
(tests/fixtures/openhands1), a real Secret Service, canary keys."""

from __future__ import annotations

import json
import os
import shutil
import tomllib
from pathlib import Path

import keyring
from textual.pilot import Pilot
from textual.widgets import Static

from tests.app_helpers import SIZE, choose, make_app, run, settle, wait_until
from tests.test_app import dialog_text
from tests.test_openhands1 import CLI_KEY, FIX
from tui.ui.widgets import ChoiceScreen

SERVICE = "llm-settings"


def oh_home(tmp_path: Path) -> Path:
    """OpenHands 1.x's folder holding the CLI's settings, as its own settings form wrote them
    (model anthropic/claude-sonnet-4-5-20250929, its key in plaintext)."""
    home = tmp_path / "oh"
    home.mkdir()
    shutil.copy(FIX / "cli" / "agent_settings.json", home)
    os.chmod(home / "agent_settings.json", 0o644)
    return home


def line(app) -> str:
    widget = app.query_one("#openhands1", Static)
    return str(widget.render()) if widget.display else ""


async def palette(pilot: Pilot, command: str) -> None:
    """Run a command of the command palette by typing its name."""
    app = pilot.app
    await pilot.press("ctrl+p")
    await wait_until(pilot, lambda: type(app.screen).__name__ == "CommandPalette",
                     "the command palette")
    await pilot.press(*command)
    await settle(pilot)
    await pilot.press("enter")
    await wait_until(pilot, lambda: isinstance(app.screen, ChoiceScreen),
                     f"{command}'s dialog (toasts: {app.posted})")
    await settle(pilot)


@run
async def test_status_line_then_apply_to_the_cli_from_the_palette(
        tmp_path: Path, real_keyring: dict[str, str]) -> None:
    home = oh_home(tmp_path)
    path = tmp_path / "config.toml"
    path.write_text('[llm]\nmodel = "anthropic/claude-opus-4-1-20250805"\nnum_retries = 6\n')
    keyring.set_password(SERVICE, "anthropic", CLI_KEY)  # the file's key is safe there
    environ = {"OPENHANDS_PERSISTENCE_DIR": str(home), "OH_PERSISTENCE_DIR": str(home)}
    app = make_app(path, environ=environ)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await wait_until(pilot, lambda: bool(line(app)), "the OpenHands 1.x line")
        assert line(app).startswith("OpenHands 1.x: CLI differs (model")
        await palette(pilot, "apply to the cli")
        shown = dialog_text(app)
        assert "agent_settings.json" in shown and "claude-opus-4-1-20250805" in shown
        assert CLI_KEY not in app.export_screenshot()
        before = (home / "agent_settings.json").read_bytes()
        await choose(pilot, "cancel")
        assert (home / "agent_settings.json").read_bytes() == before  # nothing unasked
        await palette(pilot, "apply to the cli")
        await choose(pilot, "write")
        await wait_until(pilot, lambda: line(app) == "OpenHands 1.x: CLI agrees",
                         "the line to say the CLI agrees")
        assert any("exec -- openhands --override-with-envs" in n for n in app.posted)
    data = json.loads((home / "agent_settings.json").read_text())
    assert data["llm"]["model"] == "anthropic/claude-opus-4-1-20250805"
    assert data["llm"]["num_retries"] == 6
    assert data["llm"]["api_key"] is None and data["condenser"]["llm"]["api_key"] is None
    assert CLI_KEY not in (home / "agent_settings.json").read_text()
    assert (home / "agent_settings.json").stat().st_mode & 0o777 == 0o600


@run
async def test_import_from_the_palette_puts_the_key_in_the_keyring_not_the_file(
        tmp_path: Path, real_keyring: dict[str, str]) -> None:
    home = oh_home(tmp_path)
    path = tmp_path / "config.toml"
    path.write_text("# mine\n[llm]\n")
    environ = {"OPENHANDS_PERSISTENCE_DIR": str(home), "OH_PERSISTENCE_DIR": str(home)}
    app = make_app(path, environ=environ)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await palette(pilot, "OpenHands 1.x: import")
        body = dialog_text(app)
        assert "-> [llm]" in body and "the keyring (llm-settings/anthropic)" in body
        assert CLI_KEY not in app.export_screenshot()
        await choose(pilot, "write")
        await wait_until(pilot, lambda: app.draft is not None and
                         app.draft.settings["model"] == "anthropic/claude-sonnet-4-5-20250929",
                         "the app to show the imported model")
    data = tomllib.loads(path.read_text())
    assert data["llm"]["model"] == "anthropic/claude-sonnet-4-5-20250929"
    assert data["llm"]["num_retries"] == 7
    assert path.read_text().startswith("# mine\n")
    assert CLI_KEY not in path.read_text()
    assert keyring.get_password(SERVICE, "anthropic") == CLI_KEY


@run
async def test_import_never_replaces_a_different_key_from_the_app(
        tmp_path: Path, real_keyring: dict[str, str]) -> None:
    home = oh_home(tmp_path)
    path = tmp_path / "config.toml"
    path.write_text("[llm]\n")
    keyring.set_password(SERVICE, "anthropic", "sk-ant-canary-other-key-0042")
    environ = {"OPENHANDS_PERSISTENCE_DIR": str(home), "OH_PERSISTENCE_DIR": str(home)}
    app = make_app(path, environ=environ)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await palette(pilot, "OpenHands 1.x: import")
        assert "Refused" in dialog_text(app)
        assert not app.screen.query("#write")  # only Close
        await choose(pilot, "cancel")
    assert path.read_text() == "[llm]\n"
    assert keyring.get_password(SERVICE, "anthropic") == "sk-ant-canary-other-key-0042"
