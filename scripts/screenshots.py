"""Render the README's screenshots from the real app: SVG from Textual, PNG via rsvg-convert.

    .venv/bin/python scripts/screenshots.py [--out screenshots]

Every screen is the real SettingsApp at 100x30, driven with Textual's pilot. The config is a
made-up one at a fixed path (/tmp/llm-settings-demo/config.toml, so the title bar is the same
on every machine) with no key anywhere: the app gets an empty environment (no LLM_*), and the
keyring is a private, empty gnome-keyring on its own D-Bus session when gnome-keyring is
installed (else keyring's fail backend). The Test pane streams from a local fake
OpenAI-compatible server (tests/fault_server.py) on 127.0.0.1:8000 (another free port if
8000 is taken, which then shows in the images).

PNGs need `rsvg-convert` (Debian: librsvg2-bin); without it only the SVGs are written and the
script says so (exit status 1).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Awaitable, Callable
from http.server import ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from textual.pilot import Pilot  # noqa: E402
from textual.widgets import Label  # noqa: E402

from tests import fault_server as fs  # noqa: E402
from tests.app_helpers import make_app, settle, type_into, wait_until  # noqa: E402
from tests.keyring_env import missing_programs, start_keyring_session  # noqa: E402
from tui.core.secrets import SecretStore, account  # noqa: E402
from tui.ui.app import SettingsApp  # noqa: E402
from tui.ui.check_pane import LiveTestPanel  # noqa: E402
from tui.ui.widgets import ChoiceScreen, PickerScreen  # noqa: E402

DEMO = Path("/tmp/llm-settings-demo")
CONFIG = DEMO / "config.toml"
SIZE = (100, 30)
PORT = 8000  # vLLM's usual port: the app shows the vLLM guide for it

DEMO_CONFIG = """\
# OpenHands configuration (a made-up demo: no real model, no key)
[core]
workspace_base = "./workspace"

[llm]
# A model served by a local OpenAI-compatible server
model = "openai/demo-coder-7b"
base_url = "http://127.0.0.1:{port}/v1"
temperature = 0.0

[agent]
enable_browsing = false
"""

CATALOG_CONFIG = """\
# OpenHands configuration (a made-up demo: no real model, no key)
[llm]
model = "anthropic/demo-model"
"""

WHOLE_CONFIG = """\
# OpenHands configuration (a made-up demo: no real model, no key)
[core]
default_agent = "CodeActAgent"

[security]
confirmation_mode = true
security_analyzer = "llm"

[condenser]
type = "llm"
max_size = 120
llm_config = "llm"

[llm]
model = "anthropic/demo-model"
"""

FIRST_RUN_CONFIG = """\
# OpenHands configuration: no model and no key yet, so the setup wizard opens
[core]
workspace_base = "./workspace"
"""


class DemoServer(fs.FaultServer):
    """The test suite's fake OpenAI-compatible server, on a fixed port when it is free."""

    def __init__(self, port: int) -> None:
        super().__init__(models=("demo-coder-7b",))
        try:
            httpd = ThreadingHTTPServer(("127.0.0.1", port), fs._Handler)
        except OSError:
            return  # keep the free port the base class bound
        self._httpd.server_close()
        httpd.daemon_threads = True
        httpd.fault = self  # type: ignore[attr-defined]
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)


Shot = Callable[[SettingsApp, Pilot], Awaitable[None]]


async def shoot(content: str, name: str, out: Path, drive: Shot,
                environ: dict[str, str] | None = None) -> Path:
    """Open the app on ``content``, let ``drive`` bring up a screen, save it as name.svg."""
    CONFIG.write_text(content)
    CONFIG.chmod(0o644)
    app = make_app(CONFIG, environ=environ)  # by default no LLM_* variable, so no key
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await drive(app, pilot)
        await settle(pilot)
        path = Path(app.save_screenshot(filename=f"{name}.svg", path=str(out)))
    print(f"  {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return path


async def settings_pane(app: SettingsApp, pilot: Pilot) -> None:
    app.set_focus(None)


async def advanced_pane(app: SettingsApp, pilot: Pilot) -> None:
    await pilot.press("f3")
    await settle(pilot)
    title = next(w for w in app.query(".group-title").results(Label)
                 if str(w.render()) == "Retries")
    title.scroll_visible(top=True, animate=False)
    app.set_focus(None)


async def whole_config(app: SettingsApp, pilot: Pilot) -> None:
    await pilot.press("f3")
    await settle(pilot)
    app.query_one("#whole-config-title").scroll_visible(top=True, animate=False)
    app.set_focus(None)


async def model_picker(app: SettingsApp, pilot: Pilot) -> None:
    await pilot.press("f4")
    await wait_until(pilot, lambda: isinstance(app.screen, PickerScreen), "the model picker")
    await pilot.press(*"claude sonnet")


async def provider_picker(app: SettingsApp, pilot: Pilot) -> None:
    app.query_one("#provider").focus()
    await pilot.press("enter")
    await wait_until(pilot, lambda: isinstance(app.screen, PickerScreen), "the provider picker")
    await pilot.press(*"open")


async def save_dialog(app: SettingsApp, pilot: Pilot) -> None:
    await type_into(pilot, "num_retries", "6")
    await type_into(pilot, "temperature", "0.2")
    await pilot.press("ctrl+s")
    await wait_until(pilot, lambda: isinstance(app.screen, ChoiceScreen), "the save dialog")


async def live_test_pane(app: SettingsApp, pilot: Pilot) -> None:
    await pilot.press("f6")
    panel = app.query_one(LiveTestPanel)
    await wait_until(pilot, lambda: not panel.running, "the live test", timeout=60)
    status = str(panel.query_one("#test-status").render())
    if not status.startswith("✓"):
        raise RuntimeError(f"the live test did not succeed: {status}")


async def wizard(app: SettingsApp, pilot: Pilot) -> None:
    await wait_until(pilot, lambda: type(app.screen).__name__ == "SetupWizard",
                     "the setup wizard (it opens by itself on a first run)")


async def render_all(out: Path) -> list[Path]:
    with DemoServer(PORT) as server:
        if server.port != PORT:
            print(f"note: port {PORT} is taken; the demo server is on {server.port}")
        server.default = fs.ok("Hello", "!", " I", " am", " ready", " to", " help", ".",
                               token_delay=0.02)
        demo = DEMO_CONFIG.format(port=server.port)
        shots = [
            await shoot(demo, "settings", out, settings_pane),
            await shoot(demo, "advanced", out, advanced_pane),
            await shoot(WHOLE_CONFIG, "whole-config", out, whole_config),
            await shoot(CATALOG_CONFIG, "provider-picker", out, provider_picker),
            await shoot(CATALOG_CONFIG, "model-picker", out, model_picker),  # LiteLLM's list
            await shoot(demo, "save-dialog", out, save_dialog),
        ]
        # LiteLLM sends no request without a key, and local servers take any: the test uses
        # the placeholder "local" (the local-server guides suggest it), from the private
        # keyring when there is one.
        environ = placeholder_key(f"http://127.0.0.1:{server.port}/v1")
        shots.append(await shoot(demo, "test-pane", out, live_test_pane, environ))
        shots.append(await shoot(FIRST_RUN_CONFIG, "setup-wizard", out, wizard))
        return shots


def placeholder_key(base_url: str) -> dict[str, str] | None:
    """Store "local" for the demo server; an environment with LLM_API_KEY=local if no keyring."""
    store = SecretStore()
    if not store.health().usable:
        return {"LLM_API_KEY": "local"}
    store.set(account("openai", base_url), "local")
    return None


def rasterizable(svg: str) -> str:
    """The SVG as rsvg-convert draws it right.

    Textual's SVG places each run of text at its cell and relies on `textLength` and on Fira
    Code (fetched from a CDN) for the widths; rsvg-convert ignores both and drops leading
    non-breaking spaces. So: whitespace preserved, and DejaVu Sans Mono (Debian's default
    monospace, 1233/2048 em wide) sized so that one character is one 12.2 px cell.
    """
    svg = svg.replace("<svg ", '<svg xml:space="preserve" ', 1)
    size = 12.2 / (1233 / 2048)
    fixed, n = re.subn(r"font-family: Fira Code, monospace;(\s*)font-size: 20px;",
                       rf"font-family: DejaVu Sans Mono, monospace;\g<1>font-size: {size:.3f}px;",
                       svg, count=1)
    if not n:
        print("warning: unexpected SVG style; the PNG may be misaligned")
    return fixed


def to_png(svgs: list[Path]) -> bool:
    tool = shutil.which("rsvg-convert")
    if tool is None:
        print("NO PNG: rsvg-convert not found (apt-get install librsvg2-bin); SVGs only.")
        return False
    with tempfile.TemporaryDirectory() as tmp:
        for svg in svgs:
            fixed = Path(tmp) / svg.name
            fixed.write_text(rasterizable(svg.read_text()))
            png = svg.with_suffix(".png")
            subprocess.run([tool, "--format", "png", "--output", str(png), str(fixed)],
                           check=True)
            print(f"  {png.relative_to(ROOT) if png.is_relative_to(ROOT) else png}")
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "screenshots")
    args = parser.parse_args()
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    DEMO.mkdir(mode=0o700, exist_ok=True)
    session = None
    saved_env = dict(os.environ)
    for name in [n for n in os.environ if n.startswith("LLM_")]:
        del os.environ[name]
    if missing_programs():
        print("note: gnome-keyring not installed: keyring's fail backend (the API Key note "
              "then says there is no usable keyring)")
        os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    else:
        session = start_keyring_session()  # private and empty: never the user's keyring
        os.environ.update(session.env)
    try:
        print("SVG:")
        svgs = asyncio.run(render_all(out))
    finally:
        if session is not None:
            session.stop()
        os.environ.clear()
        os.environ.update(saved_env)
        CONFIG.unlink(missing_ok=True)
    print("PNG:")
    return 0 if to_png(svgs) else 1


if __name__ == "__main__":
    sys.exit(main())
