"""LiteLLM is loaded in the background after the first screen, so that F6 sends at once.

Each case runs the app in a process of its own: whether litellm is imported is a fact about
the whole process, and the other tests import it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests import fault_server as fs

ROOT = Path(__file__).resolve().parents[1]

# The real app under Pilot: at its first refresh it records what was imported, then waits
# (for conditions only) until the preload is done and, with a server, presses F6.
SCRIPT = r'''
import asyncio, json, sys, time
from pathlib import Path
from tests.app_helpers import settle, wait_until
from tui.ui import app as A
from tui.live import preload
from tui.core.secrets import SecretStore

path, setup, url = Path(sys.argv[1]), sys.argv[2] == "setup", sys.argv[3]
seen = {}


mount = A.SettingsApp.on_mount


def on_mount(self) -> None:
    mount(self)
    self.call_after_refresh(first_frame, self)


def first_frame(app) -> None:
    seen.update(litellm="litellm" in sys.modules, started=preload.started(),
                screen=type(app.screen).__name__)
    app.last_input = time.monotonic()  # a key just pressed: the preload waits for a pause
    app.preload_when_idle()
    seen["started_while_typing"] = preload.started()


A.SettingsApp.on_mount = on_mount


async def main() -> None:
    app = A.SettingsApp(path, store=SecretStore(), environ={"LLM_API_KEY": "sk-preload-canary-1"},
                setup=True if setup else None)
    app.animation_level = "none"
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: bool(seen), "the first screen")
        if setup:
            await wait_until(pilot, lambda: type(app.screen).__name__ == "SetupWizard",
                             "the wizard")
        await wait_until(pilot, preload.done, "the preload", timeout=300)
        seen.update(loaded="litellm" in sys.modules, screen_after=type(app.screen).__name__)
        if url != "-":
            await wait_until(pilot, lambda: bool(app.query("#test-panel")), "the Test pane")
            await settle(pilot)
            await pilot.press("f6")
            panel = app.query_one("#test-panel")
            await wait_until(pilot, lambda: not panel.running, "the test", timeout=120)
            seen["answer"] = panel.answer
    print(json.dumps(seen))


asyncio.run(main())
'''


def run_app(tmp_path: Path, setup: bool, url: str = "-") -> dict:
    cfg = tmp_path / "config.toml"
    model = "" if setup else f'model = "openai/test-model"\nbase_url = "{url}"\n'
    cfg.write_text(f"[llm]\n{model}", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLM_")}
    env.update(PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring", HOME=str(tmp_path),
               TEXTUAL_ANIMATIONS="none")
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(cfg),
                          "setup" if setup else "app", url],
                         capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_litellm_loads_after_the_first_screen_and_f6_then_sends(tmp_path: Path) -> None:
    with fs.FaultServer() as server:
        seen = run_app(tmp_path, setup=False, url=server.url)
        assert server.count == 1  # the preload itself sent nothing
    assert seen["screen"] == "Screen"  # the Settings pane, no dialog
    assert seen["litellm"] is False and seen["started"] is False  # not on the way there
    assert seen["started_while_typing"] is False  # nor while keys are pressed
    assert seen["loaded"] is True  # ... but loaded afterwards, with no key pressed
    assert seen["answer"] == "".join(fs.TOKENS)


def test_litellm_loads_behind_the_setup_wizard(tmp_path: Path) -> None:
    seen = run_app(tmp_path, setup=True)
    assert seen["screen_after"] == "SetupWizard"  # it stays open: nothing pushed over it
    assert seen["litellm"] is False and seen["started"] is False
    assert seen["loaded"] is True
