"""Real LLM servers on loopback for the end-to-end tests: started, polled until ready, stopped.

Each server is a subprocess in its own session (so stopping it ends its children too), with a
temporary working directory, a scrubbed environment and its output in a log file whose tail is
shown when it fails to start. Nothing here talks to anything but 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Coroutine, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tui.core.config_file import ConfigFile
from tui.core.settings import load
from tui.live import check as L
from tui.live import events as E

# Set by .ci/run: there, a missing package is a failure, not a skip.
REQUIRE_VARS = ("LLM_SETTINGS_REQUIRE_KEYRING", "LLM_SETTINGS_REQUIRE_E2E")
INSTALL_HINT = "run `make e2e` (installs the e2e group of pyproject.toml into .venv)"

# Variables a server must not inherit: a database or cache it would try to reach, settings
# that would override the test's own, proxies that loopback traffic must not go through.
_DROPPED_PREFIXES = ("LLM_", "LITELLM_", "DATABASE_URL", "DIRECT_URL", "REDIS_", "OPENAI_",
                     "ANTHROPIC_", "AZURE_", "PRISMA_", "HTTP_PROXY", "HTTPS_PROXY",
                     "ALL_PROXY")


def require(what: str, modules: Iterable[str]) -> None:
    """Skip (fail under CI) unless every top-level module is installed."""
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if not missing:
        return
    reason = (f"E2E TESTS SKIPPED: {what} needs {', '.join(missing)}, not installed: "
              f"{INSTALL_HINT}")
    if any(os.environ.get(v) for v in REQUIRE_VARS):
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a server: the test's, scrubbed, with a private HOME."""
    env = {k: v for k, v in os.environ.items()
           if not k.upper().startswith(_DROPPED_PREFIXES)}
    env.update(HOME=str(home), NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost",
               PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


@dataclass
class Server:
    """A running server: its root URL (``http://127.0.0.1:PORT``), process and log."""

    name: str
    url: str
    proc: subprocess.Popen[bytes]
    log: Path

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        """SIGTERM to the server's process group, SIGKILL if it lingers."""
        if self.proc.poll() is not None:
            return
        for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, sig)
            try:
                self.proc.wait(wait)
                return
            except subprocess.TimeoutExpired:
                continue


def http_get(url: str, headers: Mapping[str, str] | None = None,
             timeout: float = 3.0) -> tuple[int, bytes]:
    """(status, body) of a GET, never through a proxy; raises OSError when nothing answers."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(url, headers=dict(headers or {}))
    try:
        with opener.open(request, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


@contextlib.contextmanager
def serve(name: str, argv: list[str], *, port: int, ready_path: str, cwd: Path,
          env: Mapping[str, str], headers: Mapping[str, str] | None = None,
          timeout: float = 180.0) -> Iterator[Server]:
    """Start ``argv``, wait until ``GET ready_path`` answers 200, yield it, stop it."""
    log = cwd / f"{name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    server = Server(name, f"http://127.0.0.1:{port}", proc, log)
    try:
        _wait_ready(server, ready_path, headers, timeout)
        yield server
    finally:
        server.stop()


def _wait_ready(server: Server, path: str, headers: Mapping[str, str] | None,
                timeout: float) -> None:
    started = time.monotonic()
    last = "no answer yet"
    while time.monotonic() - started < timeout:
        code = server.proc.poll()
        if code is not None:
            pytest.fail(f"{server.name} exited with status {code} before it was ready; "
                        f"its log ends with:\n{server.log_tail()}", pytrace=False)
        try:
            status, body = http_get(server.url + path, headers, timeout=2.0)
        except OSError as e:
            last = f"{type(e).__name__}: {e}"
        else:
            if status == 200:
                return
            last = f"HTTP {status}: {body[:200]!r}"
        time.sleep(0.2)
    server.stop()
    pytest.fail(f"{server.name} not ready after {timeout:g} s at {server.url}{path} ({last}); "
                f"its log ends with:\n{server.log_tail()}", pytrace=False)


# -- the settings, the engine and the CLI, as a user drives them ----------------------------
BIN = Path(sys.executable).parent / "llm-settings"


def write_config(path: Path, settings: Mapping[str, object]) -> Path:
    """A config.toml with these ``[llm]`` settings (None: left out)."""
    lines = ["[llm]"]
    for name, value in settings.items():
        if value is None:
            continue
        if isinstance(value, bool):
            lines.append(f"{name} = {'true' if value else 'false'}")
        elif isinstance(value, int | float):
            lines.append(f"{name} = {value!r}")
        else:
            lines.append(f"{name} = {json.dumps(str(value))}")
    path.write_text("\n".join(lines) + "\n")
    return path


def values_from(config: Path, api_key: str) -> dict[str, Any]:
    """The engine's input, exactly as `llm-settings test` builds it (key from LLM_API_KEY)."""
    return L.values_of(load(ConfigFile.load(config), environ={"LLM_API_KEY": api_key}))


def run_engine(loop: Callable[[Coroutine[Any, Any, Any]], Any], values: Mapping[str, Any],
               secret: str, **kw: Any) -> list[E.Event]:
    """All events of one live test; checks the event protocol and that ``secret`` never shows."""

    async def go() -> list[E.Event]:
        return [e async for e in L.run(values, **kw)]

    events = loop(go())
    for e in events:
        assert secret not in e.to_json() and secret not in e.summary()
        json.loads(e.to_json())
    assert isinstance(events[0], E.Started)
    assert isinstance(events[-1], E.Done | E.Failed)
    assert sum(isinstance(e, E.Done | E.Failed) for e in events) == 1
    return events


def cli_env(home: Path, api_key: str) -> dict[str, str]:
    """The environment of `llm-settings`: the key in LLM_API_KEY, no keyring, private HOME."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLM_")}
    env.update(LLM_API_KEY=api_key, PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
               HOME=str(home), NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
    return env


def cli(args: list[str], env: Mapping[str, str], cwd: Path, secret: str,
        timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
    """Run the real `llm-settings` command; the key never shows, never a traceback."""
    p = subprocess.run([str(BIN), *args], capture_output=True, text=True, env=dict(env),
                       cwd=cwd, timeout=timeout, stdin=subprocess.DEVNULL)
    assert secret not in p.stdout and secret not in p.stderr
    assert "Traceback" not in p.stderr, p.stderr
    return p
