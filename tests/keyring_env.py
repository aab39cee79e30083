"""A private, real Secret Service (gnome-keyring on its own D-Bus session bus) for tests.

Needs the Debian/Ubuntu packages `dbus-daemon` (or `dbus`) and `gnome-keyring`. Everything
lives in one temporary directory (mode 0700): HOME, XDG_RUNTIME_DIR, XDG_DATA_HOME (the
keyring files), XDG_CONFIG_HOME and the bus socket. The user's own keyring is never touched.

Both daemons run in the foreground as our child processes (`dbus-daemon --nofork`,
`gnome-keyring-daemon --foreground`), so stop() can end exactly them by pid. The bus has no
service directories: a call that reached org.freedesktop.secrets before our daemon owned it
would otherwise start a second, passwordless gnome-keyring (its collection missing or locked,
ours refused with "another secret service is running").
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jeepney.io.blocking import DBusConnection

CANARY = "sk-canary-7f3a9c2e1b5d4a6f8e0c"
"""A fake API key: tests assert it never shows up in errors, logs or output."""

PASSWORD = "pw"
SECRET_SERVICE_BACKEND = "keyring.backends.SecretService.Keyring"
PROGRAMS = ("dbus-daemon", "gnome-keyring-daemon")
PACKAGES = "dbus-daemon gnome-keyring"  # apt names (dbus-daemon comes with `dbus` too)

# Variables the session sets; real_keyring copies them into os.environ.
SESSION_VARS = ("DBUS_SESSION_BUS_ADDRESS", "HOME", "XDG_RUNTIME_DIR", "XDG_DATA_HOME",
                "XDG_CONFIG_HOME", "PYTHON_KEYRING_BACKEND")
# Variables from the caller's environment that would point at another keyring.
DROPPED_VARS = ("GNOME_KEYRING_CONTROL", "SSH_AUTH_SOCK", "DBUS_STARTER_ADDRESS",
                "DBUS_STARTER_BUS_TYPE")

_SS_NAME = "org.freedesktop.secrets"
_SS_PATH = "/org/freedesktop/secrets"


class KeyringSessionError(RuntimeError):
    """The private keyring session could not be started."""


def missing_programs() -> list[str]:
    """The daemons from PROGRAMS that are not on PATH."""
    return [p for p in PROGRAMS if shutil.which(p) is None]


@dataclass
class KeyringSession:
    """A running private session: env is the full environment for subprocesses."""

    env: dict[str, str]
    root: Path
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def stop(self) -> None:
        """End both daemons (by pid) and remove the directory."""
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
        for proc in reversed(self.procs):
            try:
                proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=3)
        self.procs.clear()
        shutil.rmtree(self.root, ignore_errors=True)

    def clear(self) -> None:
        """Delete every item in every collection of this session's keyring."""
        with _connect(self.env["DBUS_SESSION_BUS_ADDRESS"]) as conn:
            for path in _get_prop(conn, _SS_PATH, "org.freedesktop.Secret.Service",
                                  "Collections"):
                for item in _get_prop(conn, path, "org.freedesktop.Secret.Collection",
                                      "Items"):
                    _call(conn, item, "org.freedesktop.Secret.Item", "Delete")

    def __enter__(self) -> KeyringSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


WAIT = 60.0
"""Seconds a wait for the daemons may take: only a real hang reaches it, never a busy machine."""


def start_keyring_session(password: str = PASSWORD, timeout: float = 30.0,
                          attempts: int = 2) -> KeyringSession:
    """Start dbus-daemon and an unlocked gnome-keyring-daemon; wait until they answer.

    A start that fails anyway is thrown away and made afresh, up to ``attempts`` times.
    """
    for attempt in range(1, attempts + 1):
        try:
            return _start_keyring_session(password, timeout)
        except KeyringSessionError:
            if attempt == attempts or missing_programs():
                raise
    raise AssertionError("unreachable")


def _start_keyring_session(password: str, timeout: float) -> KeyringSession:
    missing = missing_programs()
    if missing:
        raise KeyringSessionError(
            f"{', '.join(missing)} not installed (apt-get install {PACKAGES})")
    root = Path(tempfile.mkdtemp(prefix="llm-settings-keyring-"))
    os.chmod(root, 0o700)
    dirs = {name: root / sub for name, sub in (("HOME", "home"), ("XDG_RUNTIME_DIR", "run"),
                                                ("XDG_DATA_HOME", "data"),
                                                ("XDG_CONFIG_HOME", "config"))}
    for d in dirs.values():
        d.mkdir(mode=0o700)
    env = {k: v for k, v in os.environ.items()
           if k not in DROPPED_VARS and not k.startswith("KEYRING_PROPERTY_")}
    env.update({k: str(v) for k, v in dirs.items()})
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    session = KeyringSession(env=env, root=root)
    try:
        config = root / "bus.conf"
        config.write_text(_BUS_CONFIG.format(socket=dirs["XDG_RUNTIME_DIR"] / "bus"))
        dbus = subprocess.Popen(
            ["dbus-daemon", f"--config-file={config}", "--nofork", "--print-address=1"],
            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL)
        session.procs.append(dbus)
        assert dbus.stdout is not None
        address = dbus.stdout.readline().decode().strip()
        if not address:
            raise KeyringSessionError(f"dbus-daemon exited ({dbus.wait(timeout=3)})")
        env["DBUS_SESSION_BUS_ADDRESS"] = address
        keyring = subprocess.Popen(
            ["gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets"],
            env=env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        session.procs.append(keyring)
        assert keyring.stdin is not None
        keyring.stdin.write(password.encode())
        keyring.stdin.close()
        _wait_for_secret_service(address, keyring, timeout)
        env["PYTHON_KEYRING_BACKEND"] = SECRET_SERVICE_BACKEND
    except BaseException:
        session.stop()
        raise
    return session


# ---------------------------------------------------------------------------- D-Bus bits

# A session bus that starts nothing on demand (no <servicedir>, no standard_session_servicedirs).
_BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


@contextlib.contextmanager
def _connect(address: str) -> Iterator[DBusConnection]:
    """A jeepney connection to the bus at address (not the process's session bus)."""
    from jeepney.io.blocking import open_dbus_connection

    conn = open_dbus_connection(bus=address)
    try:
        yield conn
    finally:
        conn.close()


def _call(conn: DBusConnection, path: str, iface: str, method: str, sig: str = "",
          args: tuple[Any, ...] = (), bus_name: str = _SS_NAME,
          timeout: float = WAIT) -> tuple[Any, ...]:
    """Call a D-Bus method and return its reply body (raises on an error reply)."""
    from jeepney import DBusAddress, new_method_call
    from jeepney.wrappers import unwrap_msg

    msg = new_method_call(DBusAddress(path, bus_name=bus_name, interface=iface), method, sig,
                          args)
    return unwrap_msg(conn.send_and_get_reply(msg, timeout=timeout))


def _get_prop(conn: DBusConnection, path: str, iface: str, name: str) -> Any:
    """A D-Bus property value."""
    (_sig, value), = _call(conn, path, "org.freedesktop.DBus.Properties", "Get", "ss",
                           (iface, name))
    return value


def _wait_for_secret_service(address: str, daemon: subprocess.Popen[bytes],
                             timeout: float) -> None:
    """Poll until the Secret Service has an unlocked default collection."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        if daemon.poll() is not None:
            raise KeyringSessionError(f"gnome-keyring-daemon exited ({daemon.returncode})")
        try:
            with _connect(address) as conn:
                (path,) = _call(conn, _SS_PATH, "org.freedesktop.Secret.Service", "ReadAlias",
                                "s", ("default",), timeout=5)
                if path != "/" and not _get_prop(conn, path, "org.freedesktop.Secret.Collection",
                                                 "Locked"):
                    return
                last = f"default collection {path!r} missing or locked"
        except Exception as e:  # not up yet
            last = e
        time.sleep(0.02)
    raise KeyringSessionError(f"the Secret Service did not answer within {timeout:g} s ({last})")


def lock_default_collection(env: dict[str, str]) -> None:
    """Lock the session's default collection (unlocking it again needs a prompt).

    Returns once the collection the "default" alias names reads as locked: under load the
    daemon can answer Lock before that, or move the alias to a collection it creates late.
    """
    deadline = time.monotonic() + WAIT
    with _connect(env["DBUS_SESSION_BUS_ADDRESS"]) as conn:
        while True:
            (path,) = _call(conn, _SS_PATH, "org.freedesktop.Secret.Service", "ReadAlias", "s",
                            ("default",))
            if path != "/" and _get_prop(conn, path, "org.freedesktop.Secret.Collection",
                                         "Locked"):
                return
            if time.monotonic() > deadline:
                raise KeyringSessionError(f"the default collection {path!r} did not lock")
            if path != "/":
                _call(conn, _SS_PATH, "org.freedesktop.Secret.Service", "Lock", "ao", ([path],))
            time.sleep(0.02)
