"""tui.core.secrets against a real gnome-keyring, keyring's fail/null backends, odd backends."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import threading
import time
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from keyring.backend import KeyringBackend
from keyring.errors import KeyringLocked, NoKeyringError, PasswordSetError
from secretstorage.exceptions import LockedException

from tests.keyring_env import (
    CANARY,
    SESSION_VARS,
    _call,
    _connect,
    lock_default_collection,
    start_keyring_session,
)
from tui.core.keyring_problems import for_env
from tui.core.secrets import (
    SERVICE,
    TIMEOUT,
    KeyConflict,
    KeyringHealth,
    KeyringUnavailable,
    SecretStore,
    SecretStoreError,
    account,
    needs_write,
)

# Starting a private keyring may wait long on a busy machine (tests.keyring_env).
pytestmark = pytest.mark.timeout(300)

FAIL = "keyring.backends.fail.Keyring"
NULL = "keyring.backends.null.Keyring"
SECRET_SERVICE = "keyring.backends.SecretService.Keyring"
CHAINER = "keyring.backends.chainer.ChainerBackend"
TEST_MODULE = "llm_settings_test_backends"
ALT_MODULE = "keyrings.alt.llm_settings_fake"
SHORT = 0.5  # timeout for stores whose backend hangs on purpose
LONG = 60.0  # timeout for stores whose answer must not be a timeout, however busy the machine
HANG = 10.0  # a call that returns later than this waited for something that never answers

# ---------------------------------------------------------------------------- test backends
# Negative priority: keyring's auto-detection never picks them; only PYTHON_KEYRING_BACKEND.

RELEASE = threading.Event()  # set at teardown so hanging backend threads end


class MemoryKeyring(KeyringBackend):
    """Stores secrets in a dict."""

    priority = -10  # type: ignore[assignment]
    data: ClassVar[dict[tuple[str, str], str]] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.data.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.data[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.data.pop((service, username))


class AltKeyring(MemoryKeyring):
    """Poses as a keyrings.alt backend (plaintext file storage)."""


class HangingKeyring(MemoryKeyring):
    """Every call blocks, like a D-Bus peer that never answers."""

    def get_password(self, service: str, username: str) -> str | None:
        RELEASE.wait(30)
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        RELEASE.wait(30)


class SlowSetKeyring(MemoryKeyring):
    """Reads answer; writes block (e.g. an unlock prompt nobody answers)."""

    def set_password(self, service: str, username: str, password: str) -> None:
        RELEASE.wait(30)


class LeakyKeyring(MemoryKeyring):
    """Backend errors that quote the secret; get('locked'/'gone') raise 'no keyring' errors."""

    def get_password(self, service: str, username: str) -> str | None:
        if username == "locked":
            raise LockedException("Collection is locked!")
        if username == "gone":
            raise NoKeyringError("No recommended backend was available.")
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        raise PasswordSetError(f"backend refused {password!r} ({password})")

    def delete_password(self, service: str, username: str) -> None:
        raise KeyringLocked(f"locked while deleting {CANARY}")


AltKeyring.__module__ = ALT_MODULE
for _cls in (HangingKeyring, SlowSetKeyring, LeakyKeyring):
    _cls.__module__ = TEST_MODULE


@pytest.fixture
def backend(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], None]]:
    """use(name) selects a test backend class via PYTHON_KEYRING_BACKEND."""
    mod = types.ModuleType(TEST_MODULE)
    for cls in (HangingKeyring, SlowSetKeyring, LeakyKeyring):
        setattr(mod, cls.__name__, cls)
    alt = types.ModuleType(ALT_MODULE)
    alt.AltKeyring = AltKeyring  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, TEST_MODULE, mod)
    for name in ("keyrings", "keyrings.alt"):
        if name not in sys.modules:
            monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    monkeypatch.setitem(sys.modules, ALT_MODULE, alt)
    MemoryKeyring.data.clear()
    RELEASE.clear()

    def use(name: str) -> None:
        module = ALT_MODULE if name == "AltKeyring" else TEST_MODULE
        monkeypatch.setenv("PYTHON_KEYRING_BACKEND", f"{module}.{name}")

    yield use
    RELEASE.set()


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """(seconds, result or raised exception)."""
    start = time.perf_counter()
    try:
        result: Any = fn()
    except Exception as e:
        result = e
    return time.perf_counter() - start, result


def assert_clean(exc: BaseException) -> None:
    """The canary is nowhere in the error, and no backend exception is chained to it."""
    assert CANARY not in str(exc) and CANARY not in repr(exc)
    assert exc.__cause__ is None and exc.__context__ is None


# ---------------------------------------------------------------------------- real keyring


def test_real_round_trip(real_keyring: dict[str, str], capsys: pytest.CaptureFixture[str]
                         ) -> None:
    """set/get/delete in gnome-keyring; providers and hosts are kept apart."""
    store = SecretStore(timeout=LONG)
    local = account("openai", "http://127.0.0.1:8000/v1")
    assert local == "openai@127.0.0.1:8000"
    sets, gets = [], []
    for i in range(5):
        t, _ = timed(lambda i=i: store.set("openai", f"{CANARY}-{i}"))
        sets.append(t)
        t, value = timed(lambda: store.get("openai"))
        gets.append(t)
        assert value == f"{CANARY}-{i}"
    store.set("anthropic", "sk-ant")
    store.set(local, "sk-local")
    assert (store.get("openai"), store.get("anthropic"), store.get(local)) == (
        f"{CANARY}-4", "sk-ant", "sk-local")
    assert store.get("mistral") is None

    # Really in the Secret Service: another process with plain keyring sees it.
    code = "import keyring, sys; print(keyring.get_password(sys.argv[1], sys.argv[2]))"
    out = subprocess.run([sys.executable, "-c", code, SERVICE, local], env=real_keyring,
                         capture_output=True, text=True, timeout=LONG, check=True)
    assert out.stdout.strip() == "sk-local"

    assert store.delete("openai") is True
    assert store.delete("openai") is False
    assert store.get("openai") is None
    assert store.get(local) == "sk-local" and store.get("anthropic") == "sk-ant"
    with capsys.disabled():
        print(f"\nreal keyring: set {min(sets) * 1000:.1f}-{max(sets) * 1000:.1f} ms, "
              f"get {min(gets) * 1000:.1f}-{max(gets) * 1000:.1f} ms")


def test_real_health_usable_and_cached(real_keyring: dict[str, str]) -> None:
    store = SecretStore(timeout=LONG)
    health = store.health()
    assert health == KeyringHealth(True, "SecretService Keyring", None)
    assert store.health() is health
    assert store.health(refresh=True) == health
    assert "SecretService" in repr(store)


def test_needs_write_never_destroys_a_different_key(real_keyring: dict[str, str]) -> None:
    store = SecretStore()
    assert needs_write(store, "openai", CANARY)  # nothing stored
    store.set("openai", "sk-stored-before-0000000001")
    with pytest.raises(KeyConflict, match="llm-settings/openai") as err:
        needs_write(store, "openai", CANARY)
    assert CANARY not in str(err.value) and "sk-stored" not in str(err.value)
    assert needs_write(store, "openai", CANARY, replace=True)
    assert not needs_write(store, "openai", "sk-stored-before-0000000001")  # same: no write
    assert store.get("openai") == "sk-stored-before-0000000001"  # only ever reads


def test_each_store_detects_its_own_backend(real_keyring: dict[str, str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Switching the environment affects new stores; an existing store keeps its backend."""
    before = SecretStore(timeout=LONG)
    assert before.health().usable
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", FAIL)
    after = SecretStore(timeout=LONG)
    assert not after.health().usable
    before.set("openai", CANARY)
    assert before.get("openai") == CANARY
    assert not before.health(refresh=True).usable  # re-detected: now the fail backend


def test_chainer_uses_best_real_backend(real_keyring: dict[str, str],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", CHAINER)
    store = SecretStore(timeout=LONG)
    assert store.health() == KeyringHealth(True, "SecretService Keyring", None)
    store.set("openai", "sk-x")
    assert store.get("openai") == "sk-x"


def test_locked_collection(keyring_session: dict[str, str],
                           monkeypatch: pytest.MonkeyPatch) -> None:
    """A locked keyring is 'not usable', found without waiting for an unlock prompt.

    Uses a session of its own (unlocking needs a prompt); keyring_session only for the skip.
    The stores wait up to LONG s: an answer that waited for the prompt would be a timeout
    (after LONG s), not "locked", however busy the machine.
    """
    with start_keyring_session() as session:
        for name in SESSION_VARS:
            monkeypatch.setenv(name, session.env[name])
        early = SecretStore(timeout=LONG)
        assert early.health().usable
        lock_default_collection(session.env)

        t, health = timed(SecretStore(timeout=LONG).health)
        assert not health.usable and t < HANG
        assert "locked" in health.problem and "LLM_API_KEY" in health.problem

        t, err = timed(lambda: early.set("openai", CANARY))
        assert isinstance(err, KeyringUnavailable) and t < HANG
        assert "locked" in str(err)
        assert_clean(err)
        assert not early.health().usable  # the store remembers what it found


def test_the_test_bus_starts_no_second_keyring(keyring_session: dict[str, str]) -> None:
    """Nothing on the private bus starts on demand.

    Otherwise a call that reached org.freedesktop.secrets before our daemon owned the name
    started a second, passwordless gnome-keyring: its collection missing or locked, ours
    refused ("another secret service is running"), and the daemon left running after the test.
    """
    with _connect(keyring_session["DBUS_SESSION_BUS_ADDRESS"]) as conn:
        (names,) = _call(conn, "/org/freedesktop/DBus", "org.freedesktop.DBus",
                         "ListActivatableNames", bus_name="org.freedesktop.DBus")
    assert "org.freedesktop.secrets" not in names


# ---------------------------------------------------------------------------- no keyring


def test_advice_names_the_fields_own_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", SECRET_SERVICE)
    for problem in (SecretStore().health().problem, _fail_problem(monkeypatch)):
        aws = for_env(problem, "LLM_AWS_SECRET_ACCESS_KEY")
        assert "LLM_API_KEY" in problem
        assert "LLM_API_KEY" not in aws and "LLM_AWS_SECRET_ACCESS_KEY" in aws


def _fail_problem(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", FAIL)
    return SecretStore().health().problem or ""


def test_fail_backend(no_keyring: None) -> None:
    store = SecretStore()
    t, health = timed(store.health)
    assert t < HANG
    assert not health.usable and health.backend == "fail Keyring"
    assert "PYTHON_KEYRING_BACKEND" in health.problem and "LLM_API_KEY" in health.problem
    for op in (lambda: store.get("openai"), lambda: store.set("openai", CANARY),
               lambda: store.delete("openai")):
        t, err = timed(op)
        assert isinstance(err, KeyringUnavailable) and t < HANG
        assert str(err) == health.problem
        assert_clean(err)


def test_null_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", NULL)
    health = SecretStore().health()
    assert not health.usable and "disabled" in health.problem
    assert "PYTHON_KEYRING_BACKEND" in health.problem


def test_unloadable_backend_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "no_such_module.Keyring")
    health = SecretStore().health()
    assert not health.usable and "PYTHON_KEYRING_BACKEND" in health.problem


def no_dbus_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, address: str | None,
                backend: str | None = SECRET_SERVICE) -> None:
    """No keyringrc.cfg; the given bus address (None: unset) and backend (None: auto)."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    if address is None:
        monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    else:
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", address)
    if backend is None:
        monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    else:
        monkeypatch.setenv("PYTHON_KEYRING_BACKEND", backend)


@pytest.mark.parametrize("backend", [SECRET_SERVICE, None, CHAINER])
def test_no_dbus_session(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                         backend: str | None) -> None:
    """Over SSH: DBUS_SESSION_BUS_ADDRESS unset -> a plain explanation, quickly."""
    no_dbus_env(monkeypatch, tmp_path, None, backend)
    store = SecretStore(timeout=LONG)
    t, health = timed(store.health)
    assert t < HANG and not health.usable
    assert "no D-Bus session bus" in health.problem and "SSH" in health.problem
    assert "dbus-run-session" in health.problem and "LLM_API_KEY" in health.problem
    assert isinstance(timed(lambda: store.get("openai"))[1], KeyringUnavailable)


def test_dead_dbus_socket(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    no_dbus_env(monkeypatch, tmp_path, f"unix:path={tmp_path / 'gone'}")
    t, health = timed(SecretStore(timeout=LONG).health)
    assert t < HANG and not health.usable
    assert "D-Bus session bus" in health.problem and "cannot be reached" in health.problem


def test_silent_dbus_socket(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A bus socket that accepts but never answers: not usable within the default 3 s.

    (jeepney gives up authenticating after 1 s; our own 3 s limit is the backstop.)
    """
    path = tmp_path / "bus"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(str(path))
        server.listen(8)
        no_dbus_env(monkeypatch, tmp_path, f"unix:path={path}")
        store = SecretStore()
        t, health = timed(store.health)
        assert t < TIMEOUT + HANG
        assert not health.usable and health.backend == "SecretService Keyring"
        assert "D-Bus session bus" in health.problem
        t, err = timed(lambda: store.get("openai"))
        assert isinstance(err, KeyringUnavailable) and t < TIMEOUT  # cached: no second wait


# ---------------------------------------------------------------------------- odd backends


def test_hanging_backend_health(backend: Callable[[str], None]) -> None:
    backend("HangingKeyring")
    t, health = timed(SecretStore(timeout=SHORT).health)
    assert SHORT <= t < HANG  # the backend hangs for 30 s
    assert not health.usable and "did not answer within 0.5 s" in health.problem


def test_hanging_call_times_out(backend: Callable[[str], None]) -> None:
    backend("SlowSetKeyring")
    store = SecretStore(timeout=1.0)
    assert store.health().usable
    t, err = timed(lambda: store.set("openai", CANARY))
    assert type(err) is SecretStoreError and 1.0 <= t < HANG  # the backend hangs for 30 s
    assert "did not answer within 1 s" in str(err)
    assert_clean(err)
    assert store.health().usable  # a slow call does not condemn the keyring


def test_keyrings_alt_is_not_used(backend: Callable[[str], None]) -> None:
    backend("AltKeyring")
    store = SecretStore()
    health = store.health()
    assert not health.usable
    assert "keyrings.alt" in health.problem and "plain" in health.problem
    err = timed(lambda: store.set("openai", CANARY))[1]
    assert isinstance(err, KeyringUnavailable)
    assert MemoryKeyring.data == {}


def test_backend_errors_never_carry_the_secret(backend: Callable[[str], None],
                                               caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    backend("LeakyKeyring")
    store = SecretStore()
    assert store.health().usable
    err = timed(lambda: store.set("openai", CANARY))[1]
    assert type(err) is SecretStoreError and "backend refused" in str(err)
    assert_clean(err)
    err = timed(lambda: store.delete("openai"))[1]
    assert isinstance(err, KeyringUnavailable) and "locked" in str(err)
    assert_clean(err)
    assert CANARY not in repr(store) and CANARY not in repr(store.health())
    assert CANARY not in caplog.text


def test_no_keyring_errors_during_a_call(backend: Callable[[str], None],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """secretstorage LockedException and NoKeyringError from a call -> KeyringUnavailable."""
    backend("LeakyKeyring")
    store = SecretStore()
    err = timed(lambda: store.get("locked"))[1]
    assert isinstance(err, KeyringUnavailable) and "locked" in str(err)
    assert not store.health().usable and store.health(refresh=True).usable
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    err = timed(lambda: store.get("gone"))[1]
    assert isinstance(err, KeyringUnavailable) and "no D-Bus session bus" in str(err)


@pytest.mark.parametrize("name", ["AltKeyring", "HangingKeyring", "LeakyKeyring"])
def test_canary_absent_from_every_error(backend: Callable[[str], None], name: str) -> None:
    backend(name)
    store = SecretStore(timeout=0.3)
    for op in (lambda: store.set("openai", CANARY), lambda: store.set(CANARY[:8], CANARY)):
        err = timed(op)[1]
        assert isinstance(err, SecretStoreError)
        assert_clean(err)


def test_empty_secret_refused(no_keyring: None) -> None:
    with pytest.raises(ValueError):
        SecretStore().set("openai", "")


# ---------------------------------------------------------------------------- account names


@pytest.mark.parametrize(("args", "expected"), [
    (("openai",), "openai"),
    ((" OpenAI ",), "openai"),
    (("openai", None), "openai"),
    (("openai", ""), "openai"),
    (("openai", "http://127.0.0.1:8000/v1"), "openai@127.0.0.1:8000"),
    (("openai", "HTTPS://API.Example.COM:443/v1"), "openai@api.example.com"),
    (("openai", "http://localhost:80"), "openai@localhost"),
    (("openai", "https://localhost:80"), "openai@localhost:80"),
    (("openai", "http://host:443/"), "openai@host:443"),
    (("openai", "127.0.0.1:8000"), "openai@127.0.0.1:8000"),
    (("openai", "LocalHost:8000/v1"), "openai@localhost:8000"),
    (("openai", "example.com:443"), "openai@example.com"),
    (("openai", "example.com"), "openai@example.com"),
    (("openai", "https://user:pw@Host.example:8443/x"), "openai@host.example:8443"),
    (("openai", "http://[::1]:8000"), "openai@[::1]:8000"),
    (("ollama", "http://localhost:11434"), "ollama@localhost:11434"),
    (("bedrock", None, "aws_secret_access_key"), "aws_secret_access_key:bedrock"),
    (("bedrock", "https://bedrock.us-east-1.amazonaws.com", "AWS_SECRET_ACCESS_KEY"),
     "aws_secret_access_key:bedrock@bedrock.us-east-1.amazonaws.com"),
    (("openai", None, "api_key"), "openai"),
])
def test_account(args: tuple[Any, ...], expected: str) -> None:
    assert account(*args) == expected


@pytest.mark.parametrize("args", [
    ("",), ("open ai",), ("a:b",), ("a@b",), ("openai", "http://"), ("openai", "http://h:99999"),
    ("openai", None, "key:x"),
])
def test_account_rejects(args: tuple[Any, ...]) -> None:
    with pytest.raises(ValueError):
        account(*args)


# ---------------------------------------------------------------------------- start-up cost


def test_import_does_not_load_keyring() -> None:
    code = "import sys, tui.core.secrets; sys.exit('keyring' in sys.modules)"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run([sys.executable, "-c", code], env=env, timeout=LONG)
    assert proc.returncode == 0
