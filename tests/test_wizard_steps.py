"""The setup wizard's provider search, the provider the app then shows, and the question
before a test request that a hosted provider bills."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Button, OptionList, Static

from tests.fault_server import FaultServer
from tests.test_wizard_and_test_pane import FAIL, drive, pick, status, until
from tui.core.secrets import SecretStore
from tui.ui.app import SettingsApp
from tui.ui.wizard import SetupWizard


async def open_wizard(pilot: Any, app: SettingsApp) -> SetupWizard:
    await until(pilot, lambda: isinstance(app.screen, SetupWizard)
                and bool(app.screen.query("#providers")))
    wiz = app.screen
    assert isinstance(wiz, SetupWizard)
    ol = wiz.query_one("#providers", OptionList)
    await until(pilot, lambda: wiz.step == "provider" and ol.highlighted is not None
                and ol.has_focus)
    return wiz


def test_wizard_finds_an_openai_compatible_server_by_name_and_the_app_then_names_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", FAIL)
    cfg = tmp_path / "config.toml"
    cfg.write_text("[llm]\n")
    with FaultServer(models=("qwen-coder",)) as srv:
        app = SettingsApp(cfg, store=SecretStore(), environ={}, preload=False)

        async def steps(pilot: Any) -> None:
            wiz = await open_wizard(pilot, app)
            ol = wiz.query_one("#providers", OptionList)
            await pilot.press(*"compatible")  # typed on the list: it goes to the search box
            await until(pilot, lambda: ol.option_count == 1)
            assert "OpenAI-compatible server (any URL)" in str(
                ol.get_option_at_index(0).prompt)
            await pilot.press("enter")
            await until(pilot, lambda: wiz.step == "model")
            assert wiz.provider == "openai_compatible"
            wiz.query_one("#server-url").value = srv.url
            wiz.query_one("#fetch", Button).press()
            await until(pilot, lambda: wiz.query_one("#models", OptionList).option_count == 1)
            await pilot.press("enter")
            await until(pilot, lambda: wiz.step == "key")
            wiz.query_one("#key").value = "local"
            wiz.query_one("#wizard-insecure").value = True  # no keyring here
            await pilot.press("ctrl+n")
            await until(pilot, lambda: wiz.step == "test")  # a server of one's own: it runs
            await until(pilot, lambda: status(app, "#wizard-test").startswith("✓"))
            await pilot.press("ctrl+n")
            await until(pilot, lambda: wiz.step == "save")
            await pilot.press("ctrl+n")
            await until(pilot, lambda: "qwen-coder" in cfg.read_text()
                        and not isinstance(app.screen, SetupWizard))
            await until(pilot, lambda: not app.draft.dirty)
            button = str(app.query_one("#provider", Button).label)
            guide = str(app.query_one("#provider-guide", Static).render())
            assert button == "OpenAI-compatible server ▾"
            assert "OpenAI platform key" not in guide and "OpenAI-compatible" in guide

        drive(app, steps)
        assert srv.count == 1


def test_wizard_asks_before_a_test_request_a_hosted_provider_bills(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", FAIL)
    cfg = tmp_path / "config.toml"
    cfg.write_text("[llm]\n")
    with FaultServer() as srv:
        app = SettingsApp(cfg, store=SecretStore(), environ={"LLM_API_KEY": "sk-bill-canary-7"},
                          setup=True, preload=False)

        async def steps(pilot: Any) -> None:
            wiz = await open_wizard(pilot, app)
            await pick(pilot, wiz.query_one("#providers", OptionList), "openai")
            await pilot.press("enter")
            await until(pilot, lambda: wiz.step == "model")
            await pilot.press(*"o4-mini", "enter")
            await until(pilot, lambda: wiz.step == "key")
            wiz.answers["base_url"] = srv.url  # where "OpenAI" answers in this test
            await pilot.press("ctrl+n")
            await until(pilot, lambda: wiz.step == "test")
            text = status(app, "#wizard-test")
            assert "bills" in text and "OpenAI" in text and "Enter runs" in text
            assert not srv.requests and not wiz.query_one("#wizard-test").running
            await pilot.press("enter")  # yes: the focused Run test button
            await until(pilot, lambda: srv.count == 1)
            await until(pilot, lambda: not wiz.query_one("#wizard-test").running)
            await pilot.press("ctrl+q")

        drive(app, steps)
