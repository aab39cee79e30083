"""Where the app sends, shows and writes keys: only to the endpoint whose keyring account
holds them, never in plaintext without the box ticked, and the API Key field tells the truth.

Each keyring account gets its own canary key; a loopback server records every Authorization
header it receives.
"""

from __future__ import annotations

from pathlib import Path

import keyring
import pytest
from textual.pilot import Pilot
from textual.widgets import Button, OptionList, Static

from tests.app_helpers import (
    SIZE,
    choose,
    field_input,
    make_app,
    note,
    notifications,
    run,
    screen_text,
    settle,
    type_into,
    wait_until,
)
from tests.fault_server import FaultServer
from tui.core.secrets import SecretStore, SecretStoreError
from tui.ui.app import SettingsApp
from tui.ui.check_pane import LiveTestPanel
from tui.ui.widgets import PickerScreen

ANTHROPIC = "sk-ant-canary-anthropic-0a1b2c3d4e5f"
LOCAL = "sk-local-canary-server-9z8y7x6w5v4u"
SERVICE = "llm-settings"


def sent_keys(srv: FaultServer) -> list[str | None]:
    """The key of every request the server received (GET /models and completions)."""
    return [r.key for r in srv.requests]


def live_status(app: SettingsApp) -> str:
    """The Test pane's status line."""
    return str(app.query_one("#test-panel", LiveTestPanel).query_one("#test-status", Static)
               .render())


async def run_test_and_wait(pilot: Pilot) -> str:
    """F6, then the test's final status line."""
    app = pilot.app
    await pilot.press("f6")
    await wait_until(pilot, lambda: bool(app.query("#test-panel"))
                     and not app.query_one("#test-panel", LiveTestPanel).running
                     and live_status(app)[:1] in "✓✗", "the live test to end", timeout=180)
    return live_status(app)


async def key_note(pilot: Pilot, pane: str = "s") -> str:
    """The API Key field's status once the keyring was read for the current account."""
    await wait_until(pilot, lambda: "checking the keyring" not in note(pilot.app, "api_key",
                                                                       pane), "the keyring")
    return note(pilot.app, "api_key", pane)


async def pick_provider(pilot: Pilot, query: str) -> None:
    app = pilot.app
    app.action_pane("settings")
    await settle(pilot)
    app.query_one("#provider", Button).focus()
    await pilot.press("enter")
    await wait_until(pilot, lambda: isinstance(app.screen, PickerScreen), "provider picker")
    await pilot.press(*query)
    await settle(pilot)
    await pilot.press("enter")
    await wait_until(pilot, lambda: not isinstance(app.screen, PickerScreen), "a pick")
    await settle(pilot)


# -- 1. a key goes only to its own endpoint ---------------------------------------------
@pytest.mark.parametrize("local_key", [None, LOCAL], ids=["no-local-key", "local-key"])
@run
async def test_switch_to_local_server_never_sends_the_other_providers_key(
        real_keyring: dict[str, str], tmp_path: Path, local_key: str | None) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text('[llm]\nmodel = "anthropic/claude-sonnet-4-20250514"\n')
    keyring.set_password(SERVICE, "anthropic", ANTHROPIC)
    with FaultServer(models=("served-a", "served-b")) as srv:
        local_account = f"openai@127.0.0.1:{srv.port}"
        if local_key:
            keyring.set_password(SERVICE, local_account, local_key)
        app = make_app(cfg)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            assert "stored in the keyring (llm-settings/anthropic)" in await key_note(pilot)
            await pick_provider(pilot, "vllm")
            assert app.provider == "vllm"
            await type_into(pilot, "base_url", srv.url, pane="a")
            await settle(pilot)
            status = await key_note(pilot, "a")
            assert "anthropic" not in status
            if local_key:
                assert f"stored in the keyring (llm-settings/{local_account})" in status
            else:
                assert "not set" in status
            await pilot.press("f4")
            await wait_until(pilot, lambda: isinstance(app.screen, PickerScreen)
                             and app.screen.query_one("#results", OptionList).option_count == 2,
                             "the served models")
            await pilot.press("enter")
            await wait_until(pilot, lambda: not isinstance(app.screen, PickerScreen), "a pick")
            assert app.draft is not None and app.draft.texts["model"] == "openai/served-a"
            before_save = await run_test_and_wait(pilot)
            await pilot.press("ctrl+s")
            await settle(pilot)
            await choose(pilot, "save")
            assert 'model = "openai/served-a"' in cfg.read_text()
            after_save = await run_test_and_wait(pilot)
            for text in (app.export_screenshot(), screen_text(app), *notifications(app)):
                assert ANTHROPIC not in text and LOCAL not in text
        keys = sent_keys(srv)
        assert ANTHROPIC not in keys, "the Anthropic key reached the local server"
        assert keys, "F4 asked the server for its models"
        assert set(keys) == {local_key}, "only the local server's own key, or none"
    if local_key:
        assert before_save.startswith("✓") and after_save.startswith("✓")
    else:
        assert "no API key" in before_save and "no API key" in after_save
    assert before_save.split(" in ")[0] == after_save.split(" in ")[0]
    assert ANTHROPIC not in cfg.read_text()
    assert keyring.get_password(SERVICE, "anthropic") == ANTHROPIC


# -- 3. the API Key field says where the key is, and Show reveals it --------------------
FILE_KEY = "sk-file-canary-plaintext-5m4n3b2v1c"


async def show_key(pilot: Pilot) -> None:
    pilot.app.action_pane("settings")
    await settle(pilot)
    await pilot.click("#reveal")
    await settle(pilot)


@run
async def test_keyring_key_is_named_revealed_and_not_written_again(
        real_keyring: dict[str, str], tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text('[llm]\nmodel = "anthropic/claude-sonnet-4-20250514"\n')
    keyring.set_password(SERVICE, "anthropic", ANTHROPIC)
    app = make_app(cfg)
    async with app.run_test(size=SIZE) as pilot:
        status = await key_note(pilot)
        assert status.startswith("stored in the keyring (llm-settings/anthropic)")
        assert app.query_one("#insecure").has_class("hidden")  # nothing in the file
        await show_key(pilot)
        widget = field_input(app, "api_key", "s")
        assert not widget.password and widget.value == ANTHROPIC
        assert app.draft is not None and not app.draft.dirty  # revealed is not edited
        await type_into(pilot, "temperature", "0.5")
        await pilot.press("ctrl+s")
        await settle(pilot)
        body = "\n".join(str(s.render()) for s in app.screen.query("Static"))
        assert "temperature" in body and "api_key" not in body
        await choose(pilot, "save")
        assert field_input(app, "api_key", "s").password  # hidden again after the save
        for text in (app.export_screenshot(), *notifications(app)):
            assert ANTHROPIC not in text
    assert ANTHROPIC not in cfg.read_text()
    assert keyring.get_password(SERVICE, "anthropic") == ANTHROPIC


@run
async def test_plaintext_key_is_named_ticked_and_revealed(real_keyring: dict[str, str],
                                                         tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[llm]\nmodel = "openai/gpt-4o"\napi_key = "{FILE_KEY}"\n')
    before = cfg.read_text()
    app = make_app(cfg)
    async with app.run_test(size=SIZE) as pilot:
        status = await key_note(pilot)
        assert status.startswith("in config.toml, plaintext ([llm])")
        tick = app.query_one("#insecure")
        assert not tick.has_class("hidden") and tick.value  # the box says where it is
        assert "not set" not in status
        await show_key(pilot)
        assert field_input(app, "api_key", "s").value == FILE_KEY
        await pilot.click("#reveal")  # Hide
        await settle(pilot)
        widget = field_input(app, "api_key", "s")
        assert widget.password and widget.value == ""
        assert app.draft is not None and not app.draft.dirty
        assert FILE_KEY not in app.export_screenshot()
    assert cfg.read_text() == before


@run
async def test_env_key_is_named_and_revealed(real_keyring: dict[str, str],
                                            tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text('[llm]\nmodel = "anthropic/claude-sonnet-4-20250514"\n')
    keyring.set_password(SERVICE, "anthropic", ANTHROPIC)
    app = make_app(cfg, environ={"LLM_API_KEY": LOCAL})
    async with app.run_test(size=SIZE) as pilot:
        assert (await key_note(pilot)).startswith("from LLM_API_KEY")
        await show_key(pilot)
        assert field_input(app, "api_key", "s").value == LOCAL  # what is used: the env's


class UnreadableStore(SecretStore):
    """A keyring that answers the health check but fails to read an entry."""

    def get(self, account: str) -> str | None:
        raise SecretStoreError("The keyring did not answer within 3 s.")


@run
async def test_unreadable_keyring_is_said_never_not_set(real_keyring: dict[str, str],
                                                        tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text('[llm]\nmodel = "anthropic/claude-sonnet-4-20250514"\n')
    app = make_app(cfg)
    app.store = UnreadableStore()
    async with app.run_test(size=SIZE) as pilot:
        status = await key_note(pilot)
        assert status.startswith("could not read the keyring: The keyring did not answer")
        assert "not set" not in status


# -- the setup wizard: the same rules ---------------------------------------------------
@pytest.mark.parametrize("local_key", [None, LOCAL], ids=["no-local-key", "local-key"])
@run
async def test_wizard_switch_to_local_server_never_sends_the_other_providers_key(
        real_keyring: dict[str, str], tmp_path: Path, local_key: str | None) -> None:
    from tui.ui.wizard import SetupWizard

    cfg = tmp_path / "config.toml"
    cfg.write_text('[llm]\nmodel = "anthropic/claude-sonnet-4-20250514"\n')
    keyring.set_password(SERVICE, "anthropic", ANTHROPIC)
    with FaultServer(models=("served-a", "served-b")) as srv:
        local_account = f"openai@127.0.0.1:{srv.port}"
        if local_key:
            keyring.set_password(SERVICE, local_account, local_key)
        app = make_app(cfg)
        async with app.run_test(size=SIZE) as pilot:
            await key_note(pilot)
            await app.run_action("setup")
            await wait_until(pilot, lambda: isinstance(app.screen, SetupWizard)
                             and bool(app.screen.query("#providers")), "the wizard")
            wiz = app.screen
            assert isinstance(wiz, SetupWizard)
            providers = wiz.query_one("#providers", OptionList)
            await wait_until(pilot, lambda: providers.has_focus
                             and providers.highlighted is not None, "the provider list")
            vllm = providers.get_option_index("vllm")

            def highlight() -> bool:
                providers.highlighted = vllm  # again if the list's start-up moved it back
                return wiz.provider == "vllm" or providers.highlighted == vllm

            await wait_until(pilot, highlight, "vLLM highlighted")
            await pilot.press("enter")
            await wait_until(pilot, lambda: wiz.step == "model", "the model step")
            assert wiz.provider == "vllm"
            wiz.query_one("#server-url").value = srv.url
            wiz.query_one("#model-q").value = ""  # the old model's name would filter the list
            wiz.query_one("#fetch", Button).press()
            try:
                await wait_until(pilot, lambda: wiz.query_one("#models", OptionList)
                                 .option_count == 2, "the served models")
            except AssertionError:
                raise AssertionError(str(wiz.query_one("#model-note", Static).render())) \
                    from None
            await pilot.press("enter")
            await wait_until(pilot, lambda: wiz.step == "key", "the key step")

            def guide() -> str:
                return str(wiz.query_one("#key-guide", Static).render())

            await wait_until(pilot, lambda: "Checking the keyring" not in guide(), "a read")
            assert "anthropic" not in guide()
            if local_key:
                assert f"stored in the keyring (llm-settings/{local_account})" in guide()
            await pilot.press("ctrl+n")  # empty: keep what that server's account has
            await wait_until(pilot, lambda: wiz.step == "test", "the test step")
            panel = wiz.query_one("#wizard-test", LiveTestPanel)
            await wait_until(pilot, lambda: not panel.running and str(
                panel.query_one("#test-status", Static).render())[:1] in "✓✗", "the test",
                timeout=180)
            in_wizard = str(panel.query_one("#test-status", Static).render())
            await pilot.press("ctrl+n")
            await wait_until(pilot, lambda: wiz.step == "save", "the save step")
            summary = str(wiz.query_one("#summary", Static).render())
            assert "api_key" not in summary and "anthropic/" in summary
            await pilot.press("ctrl+n")
            await wait_until(pilot, lambda: "served-a" in cfg.read_text(), "the save")
            await settle(pilot)
            after_save = await run_test_and_wait(pilot)
            for text in (app.export_screenshot(), *notifications(app)):
                assert ANTHROPIC not in text and LOCAL not in text
        keys = sent_keys(srv)
        assert ANTHROPIC not in keys, "the Anthropic key reached the local server"
        assert set(keys) == {local_key}, "only the local server's own key, or none"
    if local_key:
        assert in_wizard.startswith("✓") and after_save.startswith("✓")
    else:
        assert "no API key" in in_wizard and "no API key" in after_save
    assert "api_key" not in cfg.read_text()


# -- the save dialog names the entry the typed key goes to ------------------------------
@run
async def test_typed_key_is_saved_under_the_current_endpoint_and_the_dialog_says_so(
        real_keyring: dict[str, str], tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text('[llm]\nmodel = "anthropic/claude-sonnet-4-20250514"\n')
    keyring.set_password(SERVICE, "anthropic", ANTHROPIC)
    entry = "openai@127.0.0.1:8123"
    app = make_app(cfg)
    async with app.run_test(size=SIZE) as pilot:
        await key_note(pilot)
        await pick_provider(pilot, "vllm")
        await type_into(pilot, "model", "openai/served-a", pane="a", paste=True)
        await type_into(pilot, "base_url", "http://127.0.0.1:8123/v1", pane="a")
        await type_into(pilot, "api_key", LOCAL, pane="s", paste=True)
        assert note(app, "api_key", "s") == \
            f"new key: saving puts it in the OS keyring (llm-settings/{entry})"
        await pilot.press("ctrl+s")
        await settle(pilot)
        body = "\n".join(str(s.render()) for s in app.screen.query("Static"))
        assert f"The key goes to the OS keyring (llm-settings/{entry})." in body
        assert "anthropic)" not in body and LOCAL not in body
        await choose(pilot, "save")
        assert f"stored in the keyring (llm-settings/{entry})" in await key_note(pilot)
        for text in (app.export_screenshot(), *notifications(app)):
            assert ANTHROPIC not in text and LOCAL not in text
    assert keyring.get_password(SERVICE, entry) == LOCAL
    assert keyring.get_password(SERVICE, "anthropic") == ANTHROPIC
    assert LOCAL not in cfg.read_text()


@run
async def test_revealed_key_is_hidden_when_the_endpoint_changes(real_keyring: dict[str, str],
                                                                 tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text('[llm]\nmodel = "anthropic/claude-sonnet-4-20250514"\n')
    keyring.set_password(SERVICE, "anthropic", ANTHROPIC)
    app = make_app(cfg)
    async with app.run_test(size=SIZE) as pilot:
        await key_note(pilot)
        await show_key(pilot)
        assert field_input(app, "api_key", "s").value == ANTHROPIC
        await type_into(pilot, "base_url", "http://127.0.0.1:8123/v1", pane="a")
        for pane in ("s", "a"):  # not shown as the key of the new entry
            widget = field_input(app, "api_key", pane)
            assert widget.value == "" and widget.password
        status = await key_note(pilot, "a")
        assert status == "not set" and app.draft is not None
        assert "api_key" not in {c.name for c in app.draft.changes()}
        assert ANTHROPIC not in app.export_screenshot()
