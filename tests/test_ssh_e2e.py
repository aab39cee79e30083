"""The app over a real SSH session: sshd on 127.0.0.1, ssh -tt inside a private tmux.

The remote command gets what sshd gives a login: no D-Bus session bus, no LLM_* variables, no
PYTHON_KEYRING_BACKEND. So the app must say that no keyring is usable, offer the fallbacks and
stay responsive; an edit saved there must change exactly one line of the file.

Every step waits for what the screen shows (see tests.ssh_env.WAIT), never for a time: the
test passes on a busy machine, only slower. test_edit_and_save_over_ssh types one key at a
time, each once it shows; test_typing_burst_over_ssh types at link speed.

Skipped (with the reason) when sshd, ssh or tmux is missing, except under .ci/run
(LLM_SETTINGS_REQUIRE_KEYRING is set), where that is a failure. About 10 s when idle.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import require_programs
from tests.files import TEMPLATE
from tests.ssh_env import (
    PACKAGES,
    SshEnvError,
    SshServer,
    Tmux,
    missing_programs,
    start_sshd,
)

BIN = Path(sys.executable).parent / "llm-settings"

OLD_LINE = b'\nmodel = "gpt-4o"\n'
NEW_MODEL = "gpt-4.1-mini"
VERDICT = ("No usable keyring", "D-Bus", "LLM_API_KEY", "dbus-run-session", "the box below")


def flat(screen: str) -> str:
    """The screen's words on one line (notes wrap at any width)."""
    return " ".join(screen.split())


@pytest.fixture(scope="module")
def sshd() -> Iterator[SshServer]:
    """One private sshd for the module (a login takes ~0.2 s; keys are made once)."""
    require_programs("SSH END-TO-END TEST", missing_programs(), PACKAGES)
    root = Path(tempfile.mkdtemp(prefix="llm-sshd-"))  # short: tmux socket, title bar
    os.chmod(root, 0o700)
    try:
        server = start_sshd(root)
        try:
            yield server
        finally:
            server.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def session(sshd: SshServer) -> Iterator[tuple[Tmux, Path]]:
    """A private tmux server (80x24) and a short temp dir for the config; both removed."""
    root = Path(tempfile.mkdtemp(prefix="llm-ssh-"))
    os.chmod(root, 0o700)
    tmux = Tmux(root, 80, 24)
    try:
        yield tmux, root
    finally:
        tmux.stop()
        shutil.rmtree(root, ignore_errors=True)


def open_app(sshd: SshServer, tmux: Tmux, root: Path, config: Path) -> None:
    """llm-settings --config CONFIG in an SSH login, shown in the tmux pane."""
    # XDG dirs under the temp dir: a keyringrc.cfg in the account's home cannot change
    # the outcome; HOME itself is the account's, as in any SSH login.
    tmux.start(sshd.ssh_argv("env", "TERM=xterm-256color",
                             f"XDG_CONFIG_HOME={root / 'xdg-config'}",
                             f"XDG_DATA_HOME={root / 'xdg-data'}",
                             str(BIN), "--config", str(config)))


def ready(tmux: Tmux) -> str:
    """Wait until the Settings pane is complete: the keyring verdict and the catalog's line
    under the model are in (both come from workers and move rows); the screen."""
    return tmux.wait_for(lambda s: all(w in flat(s) for w in VERDICT)
                         and "OpenHands sends many requests" in flat(s),
                         "the Settings pane with the keyring verdict and the model's summary")


def focus_row(tmux: Tmux, label: str) -> None:
    """Click into the input on the row labelled ``label``; return once the cursor is in it.

    A click, not Tab presses: under load a Tab shows late, and a second one sent meanwhile
    would move the focus past the row.
    """
    rows = tmux.screen().splitlines()
    y = next((i for i, line in enumerate(rows) if line.strip().startswith(label)), None)
    assert y is not None, f"no {label!r} row on the screen:\n" + "\n".join(rows)
    start = rows[y].index(label) + len(label)
    x = start + len(rows[y][start:]) - len(rows[y][start:].lstrip())  # the field's text
    tmux.click(x, y)
    tmux.wait_for(lambda _: tmux.cursor()[1] == y and tmux.cursor()[0] > start,
                  f"the cursor in the {label} input")


def field_text(screen: str, label: str) -> str | None:
    """The text in the input on the row labelled ``label`` (its placeholder when empty);
    None when no such row is on the screen."""
    line = next((row for row in screen.splitlines() if row.strip().startswith(label)), None)
    return None if line is None else line.strip()[len(label):].strip().split("  ")[0]


def shows(label: str, want: str) -> Callable[[str], bool]:
    """A screen check: the input on the row labelled ``label`` shows ``want`` (empty: its
    placeholder, "not set")."""
    def check(screen: str) -> bool:
        got = field_text(screen, label)
        return got == want or (not want and got == "not set")
    return check


def key_by_key(tmux: Tmux, label: str, start: str, keys: list[str]) -> str:
    """Press ``keys`` ("BSpace" or one character) one at a time, each once the previous one
    has shown in the field; the final text."""
    text = start
    for key in keys:
        text = text[:-1] if key == "BSpace" else text + key
        if key == "BSpace":
            tmux.send("BSpace")
        else:
            tmux.type(key)
        tmux.wait_for(shows(label, text), f"{text!r} in {label}")
    return text


def finish(tmux: Tmux, sshd: SshServer) -> str:
    """Wait for the app (and so ssh) to exit with status 0; the last screen."""
    try:
        status = tmux.wait_exit()
    except SshEnvError as e:
        raise AssertionError(f"{e}\nunder sshd:\n{sshd.processes()}") from None
    last = tmux.screen()
    assert status == 0, f"ssh exited with {status}; the screen:\n{last}"
    assert "Traceback" not in last and "llm-settings:" not in last, last
    return last


def test_edit_and_save_over_ssh(sshd: SshServer, session: tuple[Tmux, Path]) -> None:
    tmux, root = session
    config = root / "config.toml"
    shutil.copyfile(TEMPLATE, config)
    config.chmod(0o640)
    before = config.read_bytes()
    assert before.count(OLD_LINE) == 2  # [llm] first, then [llm.gpt4o-mini]
    expected = before.replace(OLD_LINE, f'\nmodel = "{NEW_MODEL}"\n'.encode(), 1)

    open_app(sshd, tmux, root, config)
    tmux.wait_for(lambda s: str(config) in s.splitlines()[0] and "LLM Model" in s
                  and "API Key" in s, "the Settings pane and the path in the title bar")
    # The keyring check runs in a worker: over SSH it must end, with the fallbacks offered.
    screen = ready(tmux)
    assert "checking the keyring" not in flat(screen), screen
    assert "overridden by" not in flat(screen), screen  # no LLM_* variable crossed over

    focus_row(tmux, "LLM Model")
    tmux.send("End")
    key_by_key(tmux, "LLM Model", "gpt-4o", ["BSpace", "BSpace", *"4.1-mini"])
    tmux.wait_for(lambda s: "unsaved" in s.splitlines()[0], "the unsaved mark")
    tmux.send("F3")  # the same field on the Advanced pane agrees
    tmux.wait_for(lambda s: "Custom Model" in s and field_text(s, "Custom Model") == NEW_MODEL,
                  "the new model on the Advanced pane")

    tmux.send("C-s")
    tmux.wait_for(lambda s: "Save to config.toml?" in s and f"gpt-4o -> {NEW_MODEL}" in s,
                  "the save dialog with the change")
    tmux.send("Enter")  # the dialog's first button, focused: Save
    tmux.wait_for(lambda s: "Saved" in s and "unsaved" not in s.splitlines()[0],
                  "the Saved notification")
    assert config.read_bytes() == expected

    tmux.send("C-q")  # nothing unsaved: quits at once, no question
    finish(tmux, sshd)
    assert config.read_bytes() == expected  # byte for byte: one line changed
    assert (config.stat().st_mode & 0o777) == 0o640


def test_wizard_over_ssh_leaves_with_ctrl_q(sshd: SshServer,
                                            session: tuple[Tmux, Path]) -> None:
    tmux, root = session
    config = root / "config.toml"
    config.write_bytes(b"# no model, no key: a first run\n[core]\nmax_iterations = 50\n")
    before = config.read_bytes()

    open_app(sshd, tmux, root, config)
    tmux.wait_for(lambda s: "Setup — step 1 of 6: Provider" in s
                  and "Which provider serves your model?" in s, "the setup wizard")
    tmux.send("C-q")  # leaves the wizard, back to the Settings pane
    tmux.wait_for(lambda s: "LLM Model" in s and "No usable keyring" in s
                  and "Setup — step" not in s, "the Settings pane after leaving the wizard")
    tmux.send("C-q")  # nothing edited: quits
    finish(tmux, sshd)
    assert config.read_bytes() == before


def test_typing_burst_over_ssh(sshd: SshServer, session: tuple[Tmux, Path]) -> None:
    """Keys a few ms apart, as from a fast typist or a slow link, all land and stay put."""
    tmux, root = session
    config = root / "config.toml"
    shutil.copyfile(TEMPLATE, config)
    open_app(sshd, tmux, root, config)
    ready(tmux)
    focus_row(tmux, "LLM Model")
    shown = "gpt-4o"
    for want in ("openai/gpt-4o-mini", "anthropic/claude-3-7-sonnet-20250219", "gpt-4.1"):
        # Clear first, one BSpace per character: once the field is empty every one of them has
        # been handled (Textual can reorder bound keys, such as backspace, against typed
        # characters that arrive in the same read: upstream issue #6605).
        tmux.send("End", *["BSpace"] * len(shown))
        tmux.wait_for(shows("LLM Model", ""), "the field cleared")
        for ch in want:  # one tmux command per key: the characters arrive ~5 ms apart
            tmux.type(ch)
        tmux.wait_for(shows("LLM Model", want), f"{want!r} typed")
        # Stays put: the Advanced pane shows it too, and back on Settings it is unchanged.
        tmux.send("F3")
        tmux.wait_for(lambda s, w=want: field_text(s, "Custom Model") == w,
                      f"{want!r} on the Advanced pane")
        tmux.send("F2")
        screen = tmux.wait_for(lambda s: field_text(s, "LLM Model") is not None,
                               "the Settings pane again")
        assert field_text(screen, "LLM Model") == want, screen
        focus_row(tmux, "LLM Model")
        shown = want
