"""The Test pane tests as OpenHands 0.x or 1.x, chosen with the keyboard; the draft says which
fields it leaves to each program's defaults."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.widgets import RadioButton, Static

from tests.fault_server import FaultServer
from tests.keyring_env import CANARY
from tests.test_wizard_and_test_pane import FAIL, _server_app, drive, status, until
from tui.core.config_file import ConfigFile
from tui.core.draft import Draft
from tui.live.sdk import LABELS


@pytest.mark.parametrize(("as_", "ident", "moves"), [("1.x", "#as-1x", 1),
                                                    ("web", "#as-web", 2)])
def test_test_pane_runs_as_1x_chosen_with_the_keyboard(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       as_: str, ident: str, moves: int) -> None:
    """As OpenHands 1.x (the SDK) or its web app; a local model gets reasoning_effort from
    the SDK on the pinned LiteLLM, none from the web app's."""
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", FAIL)
    with FaultServer() as srv:
        app = _server_app(tmp_path, srv.url)

        async def steps(pilot: Any) -> None:
            app.action_pane("test")
            panel = await app.test_panel()
            await until(pilot, lambda: panel.query("#test-as"))
            await pilot.pause()
            for button, label in (("#as-0x", LABELS["0.x"]), ("#as-1x", LABELS["1.x"]),
                                  ("#as-web", LABELS["web"])):
                region = panel.query_one(button).region  # all on screen, whole, in 80 columns
                assert region.width > len(label) and region.right <= 80
                assert region.height == 1 and 0 < region.y < 24
            app.save_screenshot("test-pane-as.svg", str(tmp_path))
            assert panel.as_ == "0.x"  # today's test by default
            panel.query_one("#test-as").focus()
            await pilot.press(*["right"] * moves, "enter")
            await until(pilot, lambda: panel.query_one(ident, RadioButton).value)
            assert panel.as_ == as_
            await pilot.press("f6")
            await until(pilot, lambda: "OK in" in status(app))
            shown = str(panel.query_one("#test-request", Static).render())
            assert shown.startswith(f"Request {LABELS[as_]}: openai/test-model")
            assert "timeout 300" in shown and CANARY not in app.export_screenshot()

        drive(app, steps)
        assert srv.count == 1 and srv.chat[0].key == CANARY
        assert "temperature" not in srv.chat[0].body  # the SDK's default, not config.toml's 0.0
        assert ("reasoning_effort" in srv.chat[0].body) == (as_ == "1.x")


def test_draft_unset_lists_what_neither_the_file_nor_the_environment_sets(
        tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text('[llm]\nmodel = "openai/gpt-4o"\nnum_retries = 4\n\n'
                   '[llm.fast]\nmodel = "openai/gpt-4o-mini"\ntimeout = 30\n')
    draft = Draft(ConfigFile.load(cfg), "fast", environ={"LLM_TEMPERATURE": "0.5"})
    unset = draft.unset()
    for name in ("model", "timeout", "num_retries", "temperature", "api_key"):
        assert name not in unset  # own, inherited, environment, secret
    assert {"top_p", "retry_min_wait", "drop_params", "reasoning_effort"} <= set(unset)
    draft.set_text("top_p", "0.9")
    assert "top_p" not in draft.unset()
