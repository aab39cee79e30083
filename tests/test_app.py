"""Pilot tests of the Textual app: every flow a user goes through, checked by what they see.

What is asserted is what a person would notice: the file afterwards, the text on the screen,
the notifications. Each test drives the real SettingsApp (80x24, no animations) on a copy of
OpenHands' config.template.toml or a small config, with its own SecretStore.
"""

from __future__ import annotations

import asyncio
import difflib
import gc
import re
import subprocess
import sys
import threading
import tomllib
from dataclasses import replace
from pathlib import Path

import pytest
from textual.command import CommandPalette
from textual.screen import ModalScreen
from textual.widgets import Button, Static, TabbedContent

from tests.app_helpers import (
    SIZE,
    choose,
    field_input,
    make_app,
    note,
    notifications,
    row,
    run,
    screen_text,
    settle,
    template_copy,
    type_into,
    wait_until,
)
from tests.keyring_env import CANARY
from tui.core import fields as F
from tui.core.secrets import KeyringHealth, SecretStore
from tui.ui.app import SettingsApp
from tui.ui.widgets import ChoiceScreen, HelpScreen, PickerScreen
from tui.ui.wizard import SetupWizard


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    return template_copy(tmp_path)


def read_toml(path: Path) -> dict:
    return tomllib.loads(path.read_text(encoding="utf-8"))


def changed_lines(before: str, after: str) -> tuple[list[str], list[str]]:
    """(removed, added) lines between two versions of a file."""
    removed, added = [], []
    for line in difflib.ndiff(before.splitlines(), after.splitlines()):
        if line.startswith("- "):
            removed.append(line[2:])
        elif line.startswith("+ "):
            added.append(line[2:])
    return removed, added


def dialog_text(app) -> str:
    """Title and body of the ChoiceScreen on top."""
    assert isinstance(app.screen, ChoiceScreen), f"no dialog, {type(app.screen).__name__} on top"
    return "\n".join(str(s.render()) for s in app.screen.query("Label, Static"))


def keyring_get(env: dict[str, str], account: str) -> str | None:
    """keyring.get_password("llm-settings", account), asked by another process."""
    code = "import keyring, sys; v = keyring.get_password(sys.argv[1], sys.argv[2]); " \
        "print('<none>' if v is None else v)"
    out = subprocess.run([sys.executable, "-c", code, "llm-settings", account], env=env,
                         capture_output=True, text=True, timeout=120, check=True).stdout.strip()
    return None if out == "<none>" else out


# -- 1. opening ---------------------------------------------------------------------------
@run
async def test_opens_on_settings_pane_without_keyring(no_keyring: None, cfg: Path) -> None:
    app = make_app(cfg)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert len(app.screen_stack) == 1 and not isinstance(app.screen, ModalScreen)
        assert app.query_one("#panes", TabbedContent).active == "settings"
        title = str(app.query_one("#title-bar", Static).render())
        assert str(cfg) in title and "[llm]" in title
        first_line = screen_text(app).splitlines()[0]
        assert "[llm]" in first_line  # the group is visible even when the path is long
        assert app.screen.max_scroll_y == 0  # the title bar never scrolls away
        await wait_until(pilot, lambda: "checking" not in note(app, "api_key", "s"),
                         "the keyring check")
        key_note = note(app, "api_key", "s")
        assert "no usable keyring" in key_note.lower()
        assert "with the box below" in key_note and "--insecure-storage" not in key_note
        tick = app.query_one("#insecure")
        assert not tick.has_class("hidden") and tick.display
        tick.scroll_visible(animate=False)
        await settle(pilot)
        assert "Store the key in config.toml (plaintext" in screen_text(app)


# -- 2. provider and model ----------------------------------------------------------------
@run
async def test_collector_paused_for_start_up_resumes_at_the_first_screen(no_keyring: None,
                                                                         cfg: Path) -> None:
    # The console script pauses the garbage collector while the UI is imported and built;
    # left off, an app open for hours would never reclaim a cycle.
    gc.disable()
    frozen = gc.get_freeze_count()
    try:
        app = make_app(cfg)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            assert gc.isenabled()
            assert gc.get_freeze_count() > frozen  # start-up objects out of the walks
    finally:
        gc.enable()


@run
async def test_pick_provider_then_model_by_keyboard(no_keyring: None, cfg: Path) -> None:
    from tui.core import catalog as C
    from tui.core import model_text as T
    from tui.core import presets as P

    app = make_app(cfg)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        provider = app.query_one("#provider", Button)
        assert str(provider.label) == "OpenAI ▾"
        provider.focus()
        await pilot.press("enter")  # open the searchable list
        await settle(pilot)
        assert isinstance(app.screen, PickerScreen)
        await pilot.press(*"anthro")  # type to search
        await settle(pilot)
        results = app.screen.query_one("#results")
        shown = [str(results.get_option_at_index(i).id) for i in range(results.option_count)]
        assert shown[0] == "anthropic" and "openai" not in shown
        await pilot.press("enter")  # pick
        await settle(pilot)
        assert app.provider == "anthropic"
        assert str(provider.label) == "Anthropic ▾"
        # gpt-4o is not an Anthropic model: only the prefix stays, and the user is told
        assert field_input(app, "model", "s").value == "anthropic/"
        assert any("pick or type the Anthropic model" in n for n in notifications(app))
        assert field_input(app, "model", "s").value.startswith("anthropic/")
        assert field_input(app, "model", "a").value.startswith("anthropic/")
        assert "Anthropic" in screen_text(app)

        await pilot.press("f4")
        await settle(pilot)
        assert isinstance(app.screen, PickerScreen)
        results = app.screen.query_one("#results")
        assert results.option_count > 0  # before typing: the provider's models
        await pilot.press(*"o4mini")
        await settle(pilot)
        assert 0 < results.option_count < len(C.chat_models())
        for i in range(results.option_count):  # a fuzzy match: the letters in order
            assert re.search("o.*4.*m.*i.*n.*i", str(results.get_option_at_index(i).id))
        first = results.get_option_at_index(0).id
        assert first is not None and "o4-mini" in first
        assert "o4-mini" in screen_text(app)
        await pilot.press("down", "enter")  # down into the list, Enter picks that row
        await settle(pilot)
        assert not isinstance(app.screen, ModalScreen)
        assert field_input(app, "model", "s").value == first
        assert field_input(app, "model", "a").value == first
        assert app.provider == P.provider_choice(first)
        assert str(provider.label) == f"{C.display_name(app.provider)} ▾"
        info = str(app.query_one("#model-info", Static).render())
        model = C.find(first)
        assert model is not None
        assert T.context_text(model) in info and "$" in info and "per 1M tokens" in info


@run
async def test_switching_to_a_local_server_drops_a_hosted_model_name(no_keyring: None,
                                                                     tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[llm]\nmodel = "anthropic/claude-3-7-sonnet-20250219"\n')
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.query_one("#provider", Button).focus()
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press(*"vllm")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert app.provider == "vllm"
        # vLLM serves its own models: the Anthropic name means nothing to it
        assert field_input(app, "model", "s").value == "openai/"
        assert field_input(app, "base_url").value == "http://localhost:8000/v1"
        assert any("pick or type the vLLM model" in n for n in notifications(app))
        field_input(app, "model", "s").value = "openai/Qwen/Qwen2.5-Coder"  # as typed
        await settle(pilot)
        app.choose_provider("sglang")  # another local server: the name is kept
        await settle(pilot)
        assert field_input(app, "model", "s").value == "openai/Qwen/Qwen2.5-Coder"
        assert app.provider == "sglang"


@run
async def test_model_picker_enter_uses_the_typed_name_down_picks_a_row(no_keyring: None,
                                                                       cfg: Path) -> None:
    app = make_app(cfg)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f4")
        await settle(pilot)
        await pilot.press(*"openai/gpt-4o-my-finetune")
        await settle(pilot)
        assert "Enter uses what you typed" in screen_text(app)
        await pilot.press("enter")  # as the hint says: what was typed, not the first match
        await settle(pilot)
        assert not isinstance(app.screen, ModalScreen)
        assert field_input(app, "model", "s").value == "openai/gpt-4o-my-finetune"

        await pilot.press("f4")
        await settle(pilot)
        await pilot.press(*"sonnet 4")
        await settle(pilot)
        results = app.screen.query_one("#results")
        await pilot.press("down", "down")  # into the list, then its second row
        await settle(pilot)
        assert results.has_focus
        second = results.get_option_at_index(1).id
        await pilot.press("up", "up")  # back up to the search box, to type on
        await settle(pilot)
        assert app.screen.query_one("#query").has_focus
        await pilot.press("down", "5")  # typing in the list goes on in the search box
        await settle(pilot)
        query = app.screen.query_one("#query")
        assert query.has_focus and query.value == "sonnet 45"
        await pilot.press("backspace")
        await settle(pilot)
        await pilot.press("down", "down", "enter")
        await settle(pilot)
        assert field_input(app, "model", "s").value == second
        assert second.startswith("anthropic/claude-sonnet-4")  # the maker's own first


@run
async def test_provider_button_and_picker_rows_show_the_whole_text(no_keyring: None,
                                                                   tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[llm]\nmodel = "gpt-4o"\n[llm."[red]x"]\nmodel = "a"\n')
    app = make_app(path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await wait_until(pilot, lambda: bool(app.query("#a-model")), "the Advanced pane")
        for provider, name in (("anthropic", "Anthropic"), ("databricks", "Databricks"),
                               ("openai", "OpenAI")):
            app.choose_provider(provider)
            await settle(pilot)
            line = next(ln for ln in screen_text(app).splitlines() if "LLM Provider" in ln)
            assert f"{name} ▾" in line, line  # the button grows and shrinks with its label
        await pilot.press("ctrl+g")
        await settle(pilot)
        shown = "\n".join(screen_text(app).splitlines()[1:])  # below the title bar
        assert "[llm]" in shown and "[llm.[red]x]" in shown  # group names are not markup
        await pilot.press(*"red", "enter")
        await settle(pilot)
        await choose(pilot, "discard")  # the provider edits
        await wait_until(pilot, lambda: app.group == "[red]x", "the group switch")
        await settle(pilot)
        assert "[llm.[red]x]" in screen_text(app).splitlines()[0]
        assert "Now editing [llm.[red]x]" in notifications(app)
        assert not any(n.markup for n in app._notifications)  # toasts are plain text too


class SlowStore(SecretStore):
    """A keyring whose health check waits until the test lets it answer."""

    def __init__(self) -> None:
        super().__init__()
        self.answer = threading.Event()

    def health(self, refresh: bool = False) -> KeyringHealth:
        assert self.answer.wait(30)
        return super().health(refresh)


@run
async def test_keys_typed_before_the_keyring_check_stay_where_they_were_typed(
        no_keyring: None, tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[llm]\n")  # a first run: no model, no key
    store = SlowStore()
    app = SettingsApp(path, store=store, environ={}, preload=False)
    app.animation_level = "none"
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert "checking the keyring" in screen_text(app)
        budget = field_input(app, "max_budget_per_task", "s")
        budget.focus()
        await pilot.press(*"2.5")  # typed at once, before the keyring has answered
        store.answer.set()
        await wait_until(pilot, lambda: app.health is not None, "the keyring check")
        await settle(pilot)
        # no wizard pulled over the field being typed in; it is offered instead
        assert not isinstance(app.screen, SetupWizard)
        assert budget.has_focus and budget.value == "2.5"
        assert any("Setup wizard" in n for n in notifications(app))
        # the key's note grew: the field being typed in is still on the screen
        assert "Budget per task" in screen_text(app)


@run
async def test_first_run_without_typing_opens_the_wizard(no_keyring: None,
                                                         tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[llm]\n")
    store = SlowStore()
    app = SettingsApp(path, store=store, environ={}, preload=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        store.answer.set()
        await wait_until(pilot, lambda: isinstance(app.screen, SetupWizard), "the wizard")


def test_picker_rows_count_and_price_like_people_write() -> None:
    from tui.core import catalog as C
    from tui.ui.pickers import model_line
    from tui.ui.wizard import provider_label

    one = C.Provider("x", "X", "x/", 1, False, False)
    assert provider_label(one).endswith(" 1 model")
    assert provider_label(replace(one, model_count=2)).endswith(" 2 models")
    m = C.Model("x/y", "x", max_input_tokens=128_000, input_price=2.99999, output_price=0.075)
    assert model_line(m).endswith("$3/$0.075")


@run
async def test_footer_fits_80_columns_on_every_pane(no_keyring: None, cfg: Path) -> None:
    app = make_app(cfg)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for pane in ("f2", "f3", "f5"):
            await pilot.press(pane)
            await settle(pilot)
            if pane == "f5":  # the Test pane adds its own keys (Esc, R)
                app.query_one("#test-panel").focus()
                await settle(pilot)
            footer = screen_text(app).splitlines()[-1]
            for key in ("^s Save", "f1 Help", "f6 Test", "^q Quit", "^p palette"):
                assert key in footer, footer


# -- 3. the API key -----------------------------------------------------------------------
@run
async def test_key_goes_to_keyring_never_to_file_or_screen(real_keyring: dict[str, str],
                                                         cfg: Path) -> None:
    before = cfg.read_text()
    app = make_app(cfg)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: "checking" not in note(app, "api_key", "s"),
                         "the keyring check")
        assert "no usable keyring" not in note(app, "api_key", "s").lower()
        assert app.query_one("#insecure").has_class("hidden")  # a keyring: no opt-out shown
        await type_into(pilot, "api_key", CANARY, pane="s")
        assert field_input(app, "api_key", "s").password
        assert CANARY not in app.export_screenshot() and CANARY not in screen_text(app)
        await pilot.press("ctrl+s")
        await settle(pilot)
        body = dialog_text(app)
        assert "api_key: new key (****" in body and "OS keyring" in body
        assert CANARY not in body and CANARY not in app.export_screenshot()
        await choose(pilot, "save")
        assert any("stored in the keyring (llm-settings/openai)" in n
                   for n in notifications(app))
        assert field_input(app, "api_key", "s").value == ""
        assert field_input(app, "api_key", "a").value == ""
        await wait_until(pilot, lambda: "stored in the keyring" in note(app, "api_key", "s"),
                         "the keyring read")
        await pilot.click("#reveal")  # Show: reveals the stored key, read from the keyring
        await settle(pilot)
        assert not field_input(app, "api_key", "s").password
        assert field_input(app, "api_key", "s").value == CANARY
        await pilot.click("#reveal")  # Hide: hidden again, and the field is empty again
        await settle(pilot)
        assert field_input(app, "api_key", "s").password
        assert field_input(app, "api_key", "s").value == ""
        for text in (app.export_screenshot(), screen_text(app)):
            assert CANARY not in text
        assert app.draft is not None and not app.draft.dirty  # revealed, not edited
    assert keyring_get(real_keyring, "openai") == CANARY
    assert cfg.read_text() == before  # nothing else changed: the file is untouched

    app = make_app(cfg)  # reopen
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert field_input(app, "api_key", "s").value == ""
        await wait_until(pilot, lambda: "stored in the keyring" in note(app, "api_key", "s"),
                         "the keyring read")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert not isinstance(app.screen, ModalScreen)
        assert "No changes to save." in notifications(app)
        assert CANARY not in app.export_screenshot()
    assert keyring_get(real_keyring, "openai") == CANARY
    assert CANARY not in cfg.read_text()


@run
async def test_without_keyring_the_key_needs_the_plaintext_opt_in(no_keyring: None,
                                                                 cfg: Path) -> None:
    key = "sk-plaintext-opt-in-0123456789"  # not the canary: this one is meant for the file
    before = cfg.read_bytes()
    app = make_app(cfg)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await type_into(pilot, "api_key", key, pane="s", paste=True)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "OS keyring" in dialog_text(app)
        await choose(pilot, "save")
        assert notifications(app)[-1].startswith("Not saved")
        assert "keyring" in notifications(app)[-1].lower()
        assert cfg.read_bytes() == before  # nothing written, not even half of it

        tick = app.query_one("#insecure")
        tick.scroll_visible(animate=False)
        await settle(pilot)
        await pilot.click("#insecure")
        await settle(pilot)
        assert app.draft is not None and app.draft.insecure_storage
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "PLAINTEXT (mode 0600)" in dialog_text(app)
        await choose(pilot, "save")
        assert any("PLAINTEXT" in n for n in notifications(app))
        assert field_input(app, "api_key", "s").value == ""
        assert "in config.toml, plaintext" in note(app, "api_key", "s")
        assert app.query_one("#insecure").value  # ticked: the key is in the file
    assert read_toml(cfg)["llm"]["api_key"] == key
    assert cfg.stat().st_mode & 0o777 == 0o600


# -- 4. Advanced pane, environment overrides, the retry schedule -----------------------
@run
async def test_advanced_edit_with_env_override(no_keyring: None, cfg: Path) -> None:
    before = cfg.read_text()
    app = make_app(cfg, environ={"LLM_NUM_RETRIES": "6"})
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "overridden by LLM_NUM_RETRIES=6" in note(app, "num_retries")
        await type_into(pilot, "temperature", "0.5")
        assert "(edited)" in note(app, "temperature")
        assert "● unsaved" in screen_text(app).splitlines()[0]
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "temperature: (not set) -> 0.5" in dialog_text(app)
        await choose(pilot, "save")
        assert any(n.startswith("Saved") for n in notifications(app))
        assert "● unsaved" not in screen_text(app).splitlines()[0]
    after = cfg.read_text()
    removed, added = changed_lines(before, after)
    assert added == ["temperature = 0.5"]
    assert all("temperature" in line for line in removed)
    saved, original = read_toml(cfg), tomllib.loads(before)
    assert saved["llm"].pop("temperature") == 0.5
    assert saved == original  # exactly one value more; LLM_NUM_RETRIES stays in the env


@run
async def test_retry_schedule_follows_the_edits(no_keyring: None, cfg: Path) -> None:
    app = make_app(cfg)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)

        def schedule() -> str:
            return str(app.query_one("#schedule", Static).render())

        assert schedule() == "4 attempts: waits 5 s, 5 s, 8 s (total 18 s)"  # 4/5/30/2
        await type_into(pilot, "num_retries", "2")
        assert schedule() == "2 attempts: waits 5 s (total 5 s)"
        await type_into(pilot, "num_retries", "5")
        await type_into(pilot, "retry_min_wait", "1")
        assert schedule() == "5 attempts: waits 2 s, 4 s, 8 s, 16 s (total 30 s)"
        await type_into(pilot, "retry_max_wait", "6")
        assert schedule() == "5 attempts: waits 2 s, 4 s, 6 s, 6 s (total 18 s)"
        await type_into(pilot, "retry_multiplier", "3")
        assert schedule() == "5 attempts: waits 3 s, 6 s, 6 s, 6 s (total 21 s)"
        await type_into(pilot, "num_retries", "1")
        assert schedule() == "1 attempt: no retry"
        assert "1 attempt: no retry" in screen_text(app)


# -- 5. validation, inline --------------------------------------------------------------
VALIDATION = [  # (field typed in, text, field that shows the error, the reason)
    ("num_retries", "abc", "num_retries", "not a whole number"),
    ("retry_min_wait", "60", "retry_min_wait", "longer than retry_max_wait"),
    ("base_url", "localhost:8000", "base_url", "must start with http:// or https://"),
    ("model", "azure/gpt-4o", "api_version", "Azure models need an API version"),
]


@run
async def test_validation_inline_and_save_refused(no_keyring: None, cfg: Path) -> None:
    before = cfg.read_bytes()
    app = make_app(cfg)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for name, text, where, reason in VALIDATION:
            original = field_input(app, name).value
            await type_into(pilot, name, text, paste=len(text) > 4)
            shown = note(app, where)
            assert shown.startswith("✗ ") and reason in shown, (name, shown)
            assert row(app, where).has_class("-invalid")
            row(app, where).scroll_visible(animate=False)
            await settle(pilot)
            assert shown.splitlines()[0][:30] in screen_text(app)  # on screen, under the field
            await pilot.press("ctrl+s")
            await settle(pilot)
            assert not isinstance(app.screen, ModalScreen)  # no diff dialog: nothing to confirm
            assert notifications(app)[-1].startswith("Not saved") and \
                reason in notifications(app)[-1]
            assert app.focused is row(app, where).query_one("#input")  # taken to the error
            await type_into(pilot, name, original)  # fixing it clears the error
            assert not note(app, where).startswith("✗")
            assert not row(app, where).has_class("-invalid")
    assert cfg.read_bytes() == before


@run
async def test_a_refused_save_names_the_label_and_is_replaced_by_saved(no_keyring: None,
                                                                       cfg: Path) -> None:
    app = make_app(cfg)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await type_into(pilot, "num_retries", "abc")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert notifications(app)[-1].startswith("Not saved: Attempts (num_retries): ")
        await type_into(pilot, "num_retries", "6")
        await pilot.press("ctrl+s")
        await settle(pilot)
        await choose(pilot, "save")
        await wait_until(pilot, lambda: notifications(app)[-1].startswith("Saved"),
                         "the save")
        shown = [n.title for n in app._notifications]  # the toasts on screen now
        assert "Not saved" not in shown  # replaced, not left beside "Saved"


# -- 6. the save dialog -------------------------------------------------------------------
@run
async def test_save_shows_diff_and_keep_editing_cancels(no_keyring: None, cfg: Path) -> None:
    before = cfg.read_bytes()
    app = make_app(cfg)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await type_into(pilot, "temperature", "0.5")
        await type_into(pilot, "top_p", "0.9")
        await type_into(pilot, "model", "openai/gpt-4.1", pane="s", paste=True)
        await pilot.press("ctrl+s")
        await settle(pilot)
        body = dialog_text(app)
        assert "Save to config.toml?" in body
        for line in ("model: gpt-4o -> openai/gpt-4.1", "temperature: (not set) -> 0.5",
                     "top_p: (not set) -> 0.9"):
            assert line in body
            assert line in screen_text(app)
        await choose(pilot, "cancel")  # Keep editing
        assert not isinstance(app.screen, ModalScreen)
        assert field_input(app, "temperature").value == "0.5"
        assert app.draft is not None and app.draft.dirty
        await pilot.press("ctrl+s")
        await settle(pilot)
        await pilot.press("escape")  # Esc is Keep editing too
        await settle(pilot)
        assert not isinstance(app.screen, ModalScreen)
    assert cfg.read_bytes() == before


# -- 7. the quit guard --------------------------------------------------------------------
async def _edit_and_quit(pilot, key: str) -> None:
    app = pilot.app
    await settle(pilot)
    await type_into(pilot, "temperature", "0.5")
    await pilot.press(key)
    await settle(pilot)
    body = dialog_text(app)
    assert "Quit with unsaved changes?" in body and "temperature: (not set) -> 0.5" in body
    assert [b.id for b in app.screen.query("Button")] == ["save", "discard", "keep"]


@run
async def test_quit_guard_save_writes_then_exits(no_keyring: None, cfg: Path) -> None:
    app = make_app(cfg)
    async with app.run_test(size=SIZE) as pilot:
        await _edit_and_quit(pilot, "ctrl+q")
        await pilot.click("#save")
        await wait_until(pilot, lambda: not app.is_running, "the app to exit")
    assert read_toml(cfg)["llm"]["temperature"] == 0.5


@run
async def test_quit_guard_discard_exits_without_writing(no_keyring: None, cfg: Path) -> None:
    before = cfg.read_text()
    app = make_app(cfg)
    async with app.run_test(size=SIZE) as pilot:
        await _edit_and_quit(pilot, "f10")  # F10 is the second quit key
        await pilot.click("#discard")
        await wait_until(pilot, lambda: not app.is_running, "the app to exit")
    assert cfg.read_text() == before


@run
async def test_quit_guard_keep_editing_stays(no_keyring: None, cfg: Path) -> None:
    before = cfg.read_text()
    app = make_app(cfg)
    async with app.run_test(size=SIZE) as pilot:
        await _edit_and_quit(pilot, "ctrl+q")
        await pilot.click("#keep")
        await settle(pilot)
        assert app.is_running and not isinstance(app.screen, ModalScreen)
        assert field_input(app, "temperature").value == "0.5"
        await pilot.press("f10")
        await settle(pilot)
        assert "Quit with unsaved changes?" in dialog_text(app)
        await pilot.press("escape")  # Esc: keep editing too
        await settle(pilot)
        assert app.is_running and not isinstance(app.screen, ModalScreen)
        await type_into(pilot, "temperature", "")  # back to the file's value
        assert app.draft is not None and not app.draft.dirty
        await pilot.press("ctrl+q")  # nothing unsaved: quits without asking
        await wait_until(pilot, lambda: not app.is_running, "the app to exit")
    assert cfg.read_text() == before


# -- 8. a file changed by someone else ------------------------------------------------
@run
async def test_file_changed_on_disk_is_never_overwritten(no_keyring: None, cfg: Path) -> None:
    app = make_app(cfg)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await type_into(pilot, "temperature", "0.5")
        # Another key changed meanwhile would be kept; the key being edited refuses the save.
        external = cfg.read_text().replace("[core]\n", "[core]\ndebug = true\n", 1).replace(
            "\n[llm]\n", "\n[llm]\ntemperature = 0.9\n", 1)
        assert external.count("temperature = 0.9") == 1
        cfg.write_text(external)
        await pilot.press("ctrl+s")
        await settle(pilot)
        await choose(pilot, "save")
        errors = [n for n in app._notifications if n.severity == "error"]
        assert errors and "changed by another program" in errors[-1].message
        assert "ctrl+r" in errors[-1].message
        assert cfg.read_text() == external
        assert field_input(app, "temperature").value == "0.5"  # the edit is not lost

        await pilot.press("ctrl+r")
        await settle(pilot)
        assert any("Reloaded" in n and "1 edit(s) kept" in n for n in notifications(app))
        assert field_input(app, "temperature").value == "0.5"
        await pilot.press("ctrl+s")
        await settle(pilot)
        await choose(pilot, "save")
    data = read_toml(cfg)
    assert data["core"]["debug"] is True and data["llm"]["temperature"] == 0.5


# -- 9. groups -------------------------------------------------------------------------
@run
async def test_switch_group_and_create_one(no_keyring: None, cfg: Path) -> None:
    app = make_app(cfg)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+g")
        await settle(pilot)
        assert isinstance(app.screen, PickerScreen)
        shown = screen_text(app)
        assert "[llm.draft_editor]" in shown and "[llm.gpt4o-mini]" in shown
        await pilot.press(*"draft", "enter")
        await settle(pilot)
        assert "[llm.draft_editor]" in screen_text(app).splitlines()[0]
        model = field_input(app, "model", "s")
        assert model.value == "" and model.placeholder == "gpt-4o (inherited)"
        assert field_input(app, "correct_num").value == "5"  # its own value
        assert "gpt-4o (inherited)" in screen_text(app)

        await pilot.press("ctrl+g")
        await settle(pilot)
        await pilot.press(*"fast")
        await settle(pilot)
        assert "Create [llm.fast]" in screen_text(app)
        await pilot.press("enter")
        await settle(pilot)
        assert "[llm.fast]" in screen_text(app).splitlines()[0]
        assert any("[llm.fast] (new" in n for n in notifications(app))
        await type_into(pilot, "model", "anthropic/claude-3-7-sonnet-20250219", pane="s",
                        paste=True)
        await pilot.press("ctrl+s")
        await settle(pilot)
        await choose(pilot, "save")
    text = cfg.read_text()
    data = tomllib.loads(text)
    assert data["llm"]["fast"] == {"model": "anthropic/claude-3-7-sonnet-20250219"}
    assert data["llm"]["model"] == "gpt-4o"  # [llm] itself untouched
    headers = re.findall(r"^\[([^\]]+)\]", text, flags=re.M)
    llm = [i for i, h in enumerate(headers) if h == "llm" or h.startswith("llm.")]
    assert headers[llm[-1]] == "llm.fast" and llm[-2] == llm[-1] - 1
    assert headers[llm[-1] + 1] == "agent"


@pytest.mark.parametrize("choice", ["save", "discard"])
@run
async def test_switching_group_with_unsaved_edits_asks_first(no_keyring: None, cfg: Path,
                                                             choice: str) -> None:
    app = make_app(cfg)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await type_into(pilot, "temperature", "0.5")
        await pilot.press("ctrl+g")
        await settle(pilot)
        await pilot.press(*"draft", "enter")
        await settle(pilot)
        assert "Unsaved changes" in dialog_text(app)
        await choose(pilot, choice)
        await wait_until(pilot, lambda: app.group == "draft_editor", "the group switch")
        await settle(pilot)
        assert "[llm.draft_editor]" in screen_text(app).splitlines()[0]
        assert field_input(app, "temperature").placeholder == (
            "0.5 (inherited)" if choice == "save" else "0.0 (default)")
    assert read_toml(cfg)["llm"].get("temperature") == (0.5 if choice == "save" else None)


# -- 10. a broken file --------------------------------------------------------------------
@run
async def test_broken_toml_is_shown_and_never_written(no_keyring: None, tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text('[llm]\nmodel = "gpt-4o"\ntemperature = \n')
    before = cfg.read_bytes()
    app = make_app(cfg)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        shown = screen_text(app)
        assert "✗" in shown and "line 3, column" in shown
        assert "Nothing will be written" in shown
        footer = shown.splitlines()[-1]  # only the keys that do something here
        assert "^r Reload" in footer and "f1 Help" in footer and "^q Quit" in footer
        assert "Save" not in footer and "Test" not in footer
        for key in ("ctrl+s", "f4", "ctrl+g", "f6"):
            await pilot.press(key)
            await settle(pilot)
            assert not isinstance(app.screen, ModalScreen)
        assert cfg.read_bytes() == before

        cfg.write_text('[llm]\nmodel = "gpt-4o"\ntemperature = 0.3\n')  # fixed in an editor
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert app.draft is not None
        assert field_input(app, "temperature").value == "0.3"
        assert "Nothing will be written" not in screen_text(app)


# -- 11. help and the command palette -----------------------------------------------------
@run
async def test_help_and_command_palette(no_keyring: None, cfg: Path) -> None:
    app = make_app(cfg)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f1")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        shown = screen_text(app)
        assert "llm-settings help" in shown
        assert "ctrl+s          save (shows what changes first)" in shown  # no wrapped rows
        close = app.screen.query_one("#close")
        assert app.screen.region.contains_region(close.region)  # Close is on screen
        await pilot.press("escape")
        await settle(pilot)
        assert len(app.screen_stack) == 1

        await pilot.press("ctrl+p")
        await settle(pilot)
        assert isinstance(app.screen, CommandPalette)
        for query, command in (("save", "Save"), ("switch", "Switch group"),
                               ("pick", "Pick model")):
            await pilot.press(*query)
            await wait_until(pilot, lambda c=command: c in screen_text(app), command)
            if query != "pick":
                await pilot.press("ctrl+a", "ctrl+k")  # clear the query
                await settle(pilot)
        assert "Search the model catalog" in screen_text(app)
        await pilot.press("enter")  # runs the highlighted command: Pick model
        await wait_until(pilot, lambda: isinstance(app.screen, PickerScreen), "the picker")


# -- 12. the registry on the panes --------------------------------------------------------
@run
async def test_every_field_has_a_row_and_shared_fields_stay_in_sync(no_keyring: None,
                                                                    cfg: Path) -> None:
    app = make_app(cfg)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for f in F.FIELDS:
            assert row(app, f.name).field is f
        for name in ("model", "api_key"):
            assert row(app, name, "s").field is F.BY_NAME[name]
        await type_into(pilot, "model", "openai/gpt-4.1", pane="s", paste=True)
        assert field_input(app, "model", "a").value == "openai/gpt-4.1"
        await type_into(pilot, "model", "openai/o3", pane="a")
        assert field_input(app, "model", "s").value == "openai/o3"
        await type_into(pilot, "api_key", "sk-typed-on-advanced", pane="a", paste=True)
        assert field_input(app, "api_key", "s").value == "sk-typed-on-advanced"
        await type_into(pilot, "api_key", "", pane="s")
        assert field_input(app, "api_key", "a").value == ""


async def _burst(pilot, text: str, delay: float) -> None:
    """Keys arriving ``delay`` s apart without waiting for the app (a fast typist, SSH)."""
    from textual import events
    from textual.keys import _character_to_key

    for c in text:
        pilot.app.post_message(events.Key(c if c.isalnum() else _character_to_key(c), c))
        await asyncio.sleep(delay)
    await settle(pilot)


@run
async def test_typing_burst_on_a_field_shown_on_both_panes(no_keyring: None,
                                                           cfg: Path) -> None:
    """The mirrored copy's Changed event must not come back and undo keys typed meanwhile."""
    app = make_app(cfg)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for name, text in (("model", "openai/gpt-4o-mini"), ("max_budget_per_task", "12.5")):
            for delay in (0.001, 0.004):
                await type_into(pilot, name, "", pane="s")
                await _burst(pilot, text, delay)
                assert field_input(app, name, "s").value == text, (name, delay)
                assert field_input(app, name, "a").value == text, (name, delay)
                assert app.draft is not None and app.draft.texts[name] == text


# -- 13. no colour --------------------------------------------------------------------------
@run
async def test_no_color_errors_still_marked(no_keyring: None, cfg: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app(cfg)
    assert app.no_color
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await type_into(pilot, "num_retries", "abc")
        row(app, "num_retries").scroll_visible(animate=False)
        await settle(pilot)
        assert "✗ 'abc' is not a whole number" in screen_text(app)
        svg = app.export_screenshot()
        colours = set(re.findall(r'fill(?:="|: )#([0-9a-f]{6})', svg))
        colours -= {"c5c8c6", "292929", "ff5f57", "febc2e", "28c840"}  # Rich's window frame
        assert colours
        for c in colours:  # monochrome: every colour is a grey
            r, g, b = (int(c[i:i + 2], 16) for i in (0, 2, 4))
            assert max(r, g, b) - min(r, g, b) <= 2, c
