"""The setup wizard end to end, and the Test pane, driven with Pilot against a loopback server."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import keyring
import pytest
from textual.widgets import Button, Markdown, OptionList, Static

from tests.fault_server import FaultServer, cut, ok, rate_limited
from tests.keyring_env import CANARY
from tui.core.secrets import SecretStore
from tui.ui.app import SettingsApp
from tui.ui.check_pane import LiveTestPanel
from tui.ui.wizard import SetupWizard

FAIL = "keyring.backends.fail.Keyring"


def drive(app: SettingsApp, steps: Callable[[Any], Awaitable[None]],
          size: tuple[int, int] = (80, 24)) -> None:
    async def main() -> None:
        async with app.run_test(size=size) as pilot:
            await until(pilot, lambda: app.health is not None)  # first checks done
            await steps(pilot)
    asyncio.run(main())


async def until(pilot: Any, check: Callable[[], bool], timeout: float = 180.0) -> None:
    """Pause until ``check()``; the limit is reached only by a real hang, not a busy machine
    (the Test pane's first run imports LiteLLM: ~2 s idle, over a minute on a loaded 2 cores)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        if loop.time() > deadline:
            raise AssertionError("timed out waiting for the screen")
        await pilot.pause(0.05)


async def pick(pilot: Any, ol: OptionList, ident: str) -> None:
    """Highlight an option, again if the list's own start-up moves the highlight back."""
    index = ol.get_option_index(ident)
    for _ in range(40):
        ol.highlighted = index
        await pilot.pause(0.05)
        if ol.highlighted == index:
            return
    raise AssertionError(f"could not highlight {ident}")


def status(app: SettingsApp, panel_id: str = "#test-panel") -> str:
    return str(app.screen.query_one(panel_id, LiveTestPanel).query_one("#test-status", Static)
               .render())


# -- wizard ------------------------------------------------------------------------------
def test_wizard_local_server_without_key_writes_no_key_and_keeps_the_rest_of_the_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", FAIL)
    cfg = tmp_path / "config.toml"
    cfg.write_text("# mine\n[core]\nmax_iterations = 3  # keep\n")
    with FaultServer(models=("qwen-coder", "llama3")) as srv:
        srv.push(ok("Hi", "!"))
        app = SettingsApp(cfg, store=SecretStore(), environ={})

        async def steps(pilot: Any) -> None:
            await until(pilot, lambda: isinstance(app.screen, SetupWizard)
                        and bool(app.screen.query("#providers")))  # first run
            wiz = app.screen
            ol = wiz.query_one("#providers", OptionList)
            await until(pilot, lambda: wiz.step == "provider" and ol.highlighted is not None
                        and ol.has_focus)  # the wizard's own pick is applied
            await pick(pilot, ol, "vllm")
            await pilot.press("enter")
            await until(pilot, lambda: wiz.step == "model")
            assert wiz.provider == "vllm"
            wiz.query_one("#server-url").value = srv.url
            wiz.query_one("#fetch", Button).press()  # the keyboard-free path: a click
            await until(pilot, lambda: wiz.query_one("#models", OptionList).option_count == 2)
            await pilot.press("down", "enter")  # qwen-coder (sorted second)
            await until(pilot, lambda: wiz.step == "key")
            await pilot.press("ctrl+n")  # empty: no key at all
            await until(pilot, lambda: wiz.step == "test")
            tick = wiz.query_one("#wizard-insecure")
            assert not tick.value  # never ticked behind the user's back
            # LiteLLM sends no request without some key: the test says so, as OpenHands would
            try:
                await until(pilot, lambda: status(app, "#wizard-test").startswith("✗"),
                            timeout=180)
            except AssertionError:
                raise AssertionError(status(app, "#wizard-test")) from None
            assert "no API key" in status(app, "#wizard-test")
            await pilot.press("ctrl+n")
            await until(pilot, lambda: wiz.step == "save")
            summary = str(wiz.query_one("#summary", Static).render())
            assert "openai/qwen-coder" in summary
            assert "PLAINTEXT" not in summary and "api_key" not in summary
            await pilot.press("ctrl+n")
            await until(pilot, lambda: "qwen-coder" in cfg.read_text())
            assert not app.query_one("#insecure").value

        drive(app, steps)
        assert srv.count == 0
        assert {r.key for r in srv.requests} == {None}  # Fetch models: no key sent
    text = cfg.read_text()
    assert text.startswith("# mine\n[core]\nmax_iterations = 3  # keep\n")
    assert 'model = "openai/qwen-coder"' in text and f'base_url = "{srv.url}"' in text
    assert "api_key" not in text


def test_wizard_catalog_provider_key_to_keyring(tmp_path: Path,
                                                real_keyring: dict[str, str]) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text("[llm]\ntemperature = 0.3\n")
    app = SettingsApp(cfg, store=SecretStore(), environ={})

    async def steps(pilot: Any) -> None:
        await until(pilot, lambda: isinstance(app.screen, SetupWizard)
                    and bool(app.screen.query("#providers")))
        wiz = app.screen
        ol = wiz.query_one("#providers", OptionList)
        await until(pilot, lambda: wiz.step == "provider" and ol.highlighted is not None
                        and ol.has_focus)  # the wizard's own pick is applied
        await pick(pilot, ol, "openai")
        await pilot.press("enter")
        await until(pilot, lambda: wiz.step == "model")
        await pilot.press(*"o4mini")
        models = wiz.query_one("#models", OptionList)
        await until(pilot, lambda: models.option_count > 0
                    and models.get_option_at_index(0).id == "openai/o4-mini")
        await pilot.press("enter")
        await until(pilot, lambda: wiz.step == "key")
        wiz.query_one("#key").value = CANARY
        await pilot.press("ctrl+n")
        await until(pilot, lambda: wiz.step == "test")
        await pilot.press("ctrl+n")  # skip the test (no hosted provider here)
        await until(pilot, lambda: wiz.step == "save")
        assert CANARY not in str(wiz.query_one("#summary", Static).render())
        assert CANARY not in app.export_screenshot()
        await pilot.press("ctrl+n")
        await until(pilot, lambda: "o4-mini" in cfg.read_text())
        await until(pilot, lambda: keyring.get_password("llm-settings", "openai") is not None)

    drive(app, steps)
    assert cfg.read_text() == '[llm]\ntemperature = 0.3\nmodel = "openai/o4-mini"\n'
    assert keyring.get_password("llm-settings", "openai") == CANARY


def test_setup_on_an_existing_config_starts_from_its_values(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", FAIL)
    cfg = tmp_path / "config.toml"
    cfg.write_text('[llm]\nmodel = "openai/qwen-coder"\nbase_url = "http://gpu-box:30000/v1"\n')
    app = SettingsApp(cfg, store=SecretStore(), environ={}, setup=True)

    async def steps(pilot: Any) -> None:
        await until(pilot, lambda: isinstance(app.screen, SetupWizard)
                    and bool(app.screen.query("#providers")))
        wiz = app.screen
        ol = wiz.query_one("#providers", OptionList)
        await until(pilot, lambda: wiz.step == "provider" and ol.highlighted is not None
                    and ol.has_focus)
        await pick(pilot, ol, "sglang")  # the server it really is
        await pilot.press("enter")
        await until(pilot, lambda: wiz.step == "model")
        # the server's own URL and model stay; the guide's localhost:8000 is not forced in
        assert wiz.query_one("#server-url").value == "http://gpu-box:30000/v1"
        assert wiz.query_one("#model-q").value == "qwen-coder"
        await pilot.press("ctrl+b")
        await until(pilot, lambda: wiz.step == "provider")
        await pick(pilot, ol, "azure")  # another provider's guide: its own fields apply
        await pilot.press("enter")
        await until(pilot, lambda: wiz.step == "model")
        assert wiz.answers["base_url"] == "" and wiz.answers["api_version"]
        await pilot.press("ctrl+b")
        await until(pilot, lambda: wiz.step == "provider")
        await pick(pilot, ol, "openai_compatible")  # where it started: every value is back
        await pilot.press("enter")
        await until(pilot, lambda: wiz.step == "model")
        assert wiz.answers["base_url"] == "http://gpu-box:30000/v1"
        assert wiz.answers["model"] == "openai/qwen-coder" and not wiz.answers["api_version"]
        await pilot.press("ctrl+q")
        await until(pilot, lambda: not isinstance(app.screen, SetupWizard))

    drive(app, steps)


def test_wizard_can_be_left_without_writing(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", FAIL)
    cfg = tmp_path / "config.toml"
    cfg.write_text("[llm]\n")
    app = SettingsApp(cfg, store=SecretStore(), environ={"LLM_API_KEY": CANARY})

    async def steps(pilot: Any) -> None:
        await pilot.pause(0.5)
        assert not isinstance(app.screen, SetupWizard)  # a key in the env: not a first run
        await app.run_action("setup")
        await until(pilot, lambda: isinstance(app.screen, SetupWizard))
        await pilot.press("enter")  # provider
        await until(pilot, lambda: app.screen.step == "model")
        await pilot.press("ctrl+b")
        await pilot.press("ctrl+q")
        await until(pilot, lambda: not isinstance(app.screen, SetupWizard))

    drive(app, steps)
    assert cfg.read_text() == "[llm]\n"


# -- Test pane ---------------------------------------------------------------------------
def _server_config(tmp_path: Path, url: str, attempts: int = 3, wait: int = 1) -> Path:
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[llm]\nmodel = "openai/test-model"\nbase_url = "{url}"\n'
                   f"num_retries = {attempts}\nretry_min_wait = {wait}\n"
                   f"retry_max_wait = {wait}\nretry_multiplier = 1\n")
    return cfg


def _server_app(tmp_path: Path, url: str, attempts: int = 3) -> SettingsApp:
    """The app on a config for the server at ``url``, the canary key from the environment."""
    return SettingsApp(_server_config(tmp_path, url, attempts), store=SecretStore(),
                       environ={"LLM_API_KEY": CANARY})


def test_test_pane_streams_and_shows_stats(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", FAIL)
    with FaultServer() as srv:
        srv.push(ok("Hello", " from", " the", " server"))
        app = _server_app(tmp_path, srv.url)

        async def steps(pilot: Any) -> None:
            await pilot.press("f6")
            await until(pilot, lambda: "OK in" in status(app))
            panel = app.query_one(LiveTestPanel)
            assert panel.answer == "Hello from the server"
            shown = str(panel.query_one("#test-request", Static).render())
            assert "openai/test-model" in shown and CANARY[-4:] in shown
            assert "Streamed here; OpenHands asks without streaming." in shown
            assert CANARY not in app.export_screenshot()
            assert "first token" in status(app) and "tokens/s" in status(app)

        drive(app, steps)
        assert srv.count == 1
        assert srv.chat[0].key == CANARY


def test_test_pane_counts_down_then_retry_now(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", FAIL)
    with FaultServer() as srv:
        srv.push(rate_limited(30), ok("fine"))
        app = _server_app(tmp_path, srv.url)

        async def steps(pilot: Any) -> None:
            await pilot.press("f6")
            await until(pilot, lambda: "Retrying in" in status(app))
            text = status(app)
            assert "Attempt 1 of 3" in text and "rate limited (429)" in text
            assert "the provider asks to wait 30 s" in text
            first = text
            await until(pilot, lambda: status(app) != first)  # it counts down every second
            assert "Retrying in 2" in status(app) or "Retrying in 28" in status(app)
            await pilot.press("r")  # retry now
            await until(pilot, lambda: "OK in" in status(app), timeout=5)

        drive(app, steps)
        assert srv.count == 2


def test_test_pane_cancel_during_wait_and_during_stream(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", FAIL)
    with FaultServer() as srv:
        srv.push(rate_limited(30))
        app = _server_app(tmp_path, srv.url)

        full = gc.get_threshold()[2]

        async def steps(pilot: Any) -> None:
            await pilot.press("f6")
            await until(pilot, lambda: "Retrying in" in status(app))
            await pilot.press("escape")
            await until(pilot, lambda: status(app) == "Cancelled.")
            await pilot.pause(0.3)
            assert srv.count == 1  # no retry after a cancel
            srv.push(ok(*(["a"] * 400), token_delay=0.02))
            await pilot.press("f6")
            await until(pilot, lambda: len(app.query_one(LiveTestPanel).answer) >= 5)
            assert gc.get_threshold()[2] > full  # no full collection amid the stream
            await pilot.press("escape")
            await until(pilot, lambda: status(app) == "Cancelled.")
            kept = app.query_one(LiveTestPanel).answer
            await pilot.pause(0.3)
            assert app.query_one(LiveTestPanel).answer == kept  # the stream stopped
            assert 5 <= len(kept) < 400
            await until(pilot, lambda: gc.get_threshold()[2] == full)  # and the GC is back

        drive(app, steps)


def test_test_pane_restarted_mid_stream_shows_only_the_new_answer(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", FAIL)
    with FaultServer() as srv:
        srv.push(ok(*(["old "] * 400), token_delay=0.02), ok("new", " answer"))
        app = _server_app(tmp_path, srv.url)

        async def steps(pilot: Any) -> None:
            await pilot.press("f6")
            panel = app.query_one(LiveTestPanel)
            await until(pilot, lambda: len(panel.answer) >= 20)
            await pilot.press("f6")  # run it again while the first answer streams
            await until(pilot, lambda: "OK in" in status(app))
            await pilot.pause(0.3)
            assert panel.answer == "new answer"
            assert app.query_one("#test-answer", Markdown).source == "new answer"
            await pilot.press("f6")  # and the panel still runs a third time
            await until(pilot, lambda: srv.count == 3 and "OK in" in status(app))

        drive(app, steps)
        assert srv.count == 3


def test_test_pane_names_a_cut_stream_and_keeps_the_partial_answer(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", FAIL)
    with FaultServer() as srv:
        srv.push(cut(after=2, tokens=("one ", "two ", "three ", "four ")))
        app = _server_app(tmp_path, srv.url, attempts=1)

        async def steps(pilot: Any) -> None:
            await pilot.press("f6")
            await until(pilot, lambda: status(app).startswith("✗"))
            assert app.query_one(LiveTestPanel).answer.startswith("one two")
            md = app.query_one("#test-answer", Markdown)
            assert md.source.startswith("one two")

        drive(app, steps)


# -- fetch models ------------------------------------------------------------------------
def test_f4_lists_what_an_openai_compatible_server_serves(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", FAIL)
    from tui.ui.widgets import PickerScreen

    with FaultServer(models=("qwen2.5-coder", "llama3.1")) as srv:
        app = _server_app(tmp_path, srv.url)

        async def steps(pilot: Any) -> None:
            await pilot.press("f4")
            await until(pilot, lambda: isinstance(app.screen, PickerScreen))
            results = app.screen.query_one("#results", OptionList)
            await until(pilot, lambda: results.option_count == 2)
            await pilot.press(*"coder")
            await until(pilot, lambda: results.option_count == 1)
            await pilot.press("down", "enter")  # Enter alone would use the typed "coder"
            await until(pilot, lambda: not isinstance(app.screen, PickerScreen))
            assert app.draft.texts["model"] == "openai/qwen2.5-coder"

        drive(app, steps)


def test_f4_says_when_the_server_cannot_be_reached(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", FAIL)
    from tui.ui.widgets import PickerScreen

    with FaultServer() as srv:
        url = srv.url
    app = SettingsApp(_server_config(tmp_path, url), store=SecretStore(), environ={})
    seen: list[str] = []

    async def steps(pilot: Any) -> None:
        app.notify = lambda message, **kw: seen.append(message)  # type: ignore[method-assign]
        await pilot.press("f4")
        await until(pilot, lambda: isinstance(app.screen, PickerScreen))
        assert any("cannot reach" in m and "is the server running" in m for m in seen), seen

    drive(app, steps)
