"""API keys in the OS keyring, with a timeout on every call and plain-words errors.

UI-free. `keyring` is imported lazily (inside functions) so importing this module is cheap.

Backend selection: every `SecretStore` detects its own backend on first use (the first
`health()`, `get()`, `set()` or `delete()`) and keeps it; keyring's process-wide backend
(`keyring.get_keyring()`) is neither used nor changed. Detection follows keyring's own order:
PYTHON_KEYRING_BACKEND (`keyring.core.load_env()`), then keyringrc.cfg
(`keyring.core.load_config()`), then the highest-priority viable backend from
`keyring.backend.get_all_keyring()`, whose once-only cache is reset first so a changed
environment (D-Bus address, ...) is seen. To re-detect, make a new `SecretStore` or call
`health(refresh=True)`.

A keyring call that does not return within `timeout` seconds is abandoned: it keeps running
in a daemon thread (a `set` may still complete later, e.g. once an unlock prompt is answered)
and the caller gets a `SecretStoreError` at once.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from keyring.backend import KeyringBackend

from tui.core.keyring_problems import (
    _ENV_VAR,
    _FALLBACK,
    _OPT_IN,
    _SECRET_SERVICE,
    _backend_label,
    _check_secret_service,
    _classify,
    _detect,
    _err_text,
    _timeout_message,
    _uses_dbus,
    for_env,
)

__all__ = [
    "SERVICE",
    "TIMEOUT",
    "KeyConflict",
    "KeyringHealth",
    "KeyringUnavailable",
    "SecretStore",
    "SecretStoreError",
    "account",
    "needs_write",
]

SERVICE = "llm-settings"
TIMEOUT = 3.0

log = logging.getLogger(__name__)

_T = TypeVar("_T")

# Account read by health() to prove the keyring answers; never written.
_PROBE_ACCOUNT = "__llm-settings-health-check__"
class SecretStoreError(Exception):
    """str(e): one or two plain sentences, what is wrong and what to do. Never a secret."""


class KeyringUnavailable(SecretStoreError):
    """There is no usable keyring (missing, disabled, locked, unreachable or not trusted)."""


class KeyConflict(SecretStoreError):
    """The keyring already holds a different secret for the account: it is never replaced
    unless the user asked for it."""

    def __init__(self, service: str, account: str) -> None:
        super().__init__(f"the keyring already holds a different key for {service}/{account}")
        self.service = service
        self.account = account


@dataclass(frozen=True)
class KeyringHealth:
    """Whether the keyring can be used, which backend it is, and what is wrong if not."""

    usable: bool
    backend: str
    problem: str | None = None

    def problem_in_app(self, opt_in: str, env: str = "LLM_API_KEY") -> str | None:
        """The problem, naming the app's own plaintext opt-in (``opt_in``) for the CLI flag
        and the variable of the secret at hand (``env``)."""
        return for_env(self.problem, env).replace(_OPT_IN, opt_in) if self.problem else None


# ---------------------------------------------------------------------------- account names


def account(provider: str, base_url: str | None = None, field: str = "api_key") -> str:
    """Keyring username for a secret.

    'openai'; with a custom base URL 'openai@127.0.0.1:8000' (host[:port] of the URL,
    lower-cased, default ports omitted); for a field other than api_key
    'aws_secret_access_key:bedrock' (same @host suffix rule). A URL without a scheme is read
    as host[:port][/path]; the scheme is not part of the name, so 80 and 443 are both
    treated as default ports then.
    """
    name = _name_part(provider, "provider")
    field = _name_part(field, "field")
    if field != "api_key":
        name = f"{field}:{name}"
    host = _host_port(base_url)
    return f"{name}@{host}" if host else name


def _name_part(value: str, what: str) -> str:
    """Lower-cased, stripped; rejects empty values and the separators ':' and '@'."""
    text = (value or "").strip().lower()
    if not text or any(c in text for c in ":@") or any(c.isspace() for c in text):
        raise ValueError(f"Invalid {what} name {value!r}: use a non-empty name without "
                         "spaces, ':' or '@'.")
    return text


def _host_port(base_url: str | None) -> str | None:
    """'host[:port]' of a URL, lower-cased, default port dropped; None for no URL."""
    url = (base_url or "").strip()
    if not url:
        return None
    if "://" not in url:
        url = "//" + url.lstrip("/")
    try:
        parts = urlsplit(url)
        host = parts.hostname
        port = parts.port
    except ValueError as e:
        raise ValueError(f"Invalid base URL {base_url!r}: {e}.") from None
    if not host:
        raise ValueError(f"Invalid base URL {base_url!r}: it has no host name.")
    scheme = parts.scheme.lower()
    defaults = {"http": {80}, "https": {443}, "": {80, 443}}.get(scheme, set())
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    return host if port is None or port in defaults else f"{host}:{port}"


# ---------------------------------------------------------------------------- timeout runner


_TIMEOUT = object()  # _run's result when the call did not finish in time


def _run(fn: Callable[[], _T], timeout: float) -> tuple[bool, Any]:
    """Run fn in a daemon thread: (True, result), (False, exception) or (False, _TIMEOUT).

    Returning (not raising) keeps backend exceptions out of our errors' __context__.
    """
    box: list[tuple[bool, Any]] = []
    done = threading.Event()

    def target() -> None:
        try:
            box.append((True, fn()))
        except BaseException as e:  # handed to the caller
            box.append((False, e))
        finally:
            done.set()

    threading.Thread(target=target, name="llm-settings-keyring", daemon=True).start()
    return box[0] if done.wait(timeout) else (False, _TIMEOUT)


def _raise(exc: SecretStoreError) -> NoReturn:
    """Raise exc outside any except block, so it has no __context__."""
    raise exc


# ---------------------------------------------------------------------------- the store


class SecretStore:
    """Get, set and delete secrets under one keyring service, never hanging past `timeout`."""

    def __init__(self, service: str = SERVICE, timeout: float = TIMEOUT) -> None:
        self.service = service
        self.timeout = float(timeout)
        self._backend: KeyringBackend | None = None
        self._health: KeyringHealth | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        backend = self._health.backend if self._health else "not detected yet"
        return f"SecretStore(service={self.service!r}, backend={backend!r})"

    # -- health

    def health(self, refresh: bool = False) -> KeyringHealth:
        """Detect and probe the keyring once (again with refresh=True). Never raises or hangs."""
        with self._lock:
            if self._health is None or refresh:
                self._backend = None
                try:
                    self._health = self._probe()
                except Exception as e:  # health() must never raise
                    self._health = KeyringHealth(False, "unknown",
                                                 f"The keyring check failed: {_err_text(e)}. "
                                                 f"Fix the keyring, or {_FALLBACK}.")
            return self._health

    def _probe(self) -> KeyringHealth:
        found: list[KeyringBackend] = []  # the detected backend, even if the probe fails

        def check() -> str | None:
            backend, problem = _detect()
            if backend is not None:
                found.append(backend)
            if backend is None or problem:
                return problem
            if type(backend).__module__.startswith(_SECRET_SERVICE):
                _check_secret_service(backend)
            backend.get_password(self.service, _PROBE_ACCOUNT)
            return None

        ok, value = _run(check, self.timeout)
        backend = found[0] if found else None
        label = _backend_label(backend) if backend is not None else self._wanted_label()
        if value is _TIMEOUT:
            return KeyringHealth(False, label, _timeout_message(self.timeout))
        if not ok:
            problem = _classify(value, dbus=_uses_dbus(backend or label)) or (
                f"No usable keyring: the keyring failed ({_err_text(value)}). Fix the keyring, "
                f"or {_FALLBACK}.")
            return KeyringHealth(False, label, problem)
        if value:
            return KeyringHealth(False, label, value)
        self._backend = backend
        log.debug("keyring backend for %s: %s", self.service, label)
        return KeyringHealth(True, label, None)

    @staticmethod
    def _wanted_label() -> str:
        """Best display name before detection finished: the forced backend, or 'unknown'."""
        wanted = os.environ.get(_ENV_VAR, "").strip()
        if not wanted:
            return "unknown"
        module, _, cls = wanted.rpartition(".")
        return f"{module.rpartition('.')[2].replace('_', ' ')} {cls}".strip()

    def _usable(self) -> KeyringBackend:
        health = self.health()
        if not health.usable or self._backend is None:
            raise KeyringUnavailable(health.problem or "No usable keyring.")
        return self._backend

    # -- operations

    def _call(self, action: str, fn: Callable[[KeyringBackend], _T],
              secret: str | None = None) -> _T:
        backend = self._usable()
        ok, value = _run(lambda: fn(backend), self.timeout)
        if value is _TIMEOUT:
            return _raise(SecretStoreError(_timeout_message(self.timeout)))
        if ok:
            return value
        return _raise(self._wrap(action, backend, value, secret))

    def _wrap(self, action: str, backend: KeyringBackend, exc: BaseException,
              secret: str | None) -> SecretStoreError:
        """A SecretStoreError for a backend exception; its text cannot carry the secret.

        A 'no usable keyring' cause (locked, bus gone) is also remembered by health().
        """
        problem = _classify(exc, secret, dbus=_uses_dbus(backend))
        label = _backend_label(backend)
        if problem:
            with self._lock:
                self._health = KeyringHealth(False, label, problem)
                self._backend = None
            return KeyringUnavailable(problem)
        return SecretStoreError(f"Could not {action} in the keyring ({label}): "
                                f"{_err_text(exc, secret)}. Check the keyring, or {_FALLBACK}.")

    def get(self, account: str) -> str | None:
        """The secret stored for account, or None. Raises KeyringUnavailable/SecretStoreError."""
        return self._call("read the key",
                          lambda b: b.get_password(self.service, account))

    def set(self, account: str, secret: str) -> None:
        """Store secret for account (replacing any). Raises KeyringUnavailable/SecretStoreError."""
        if not isinstance(secret, str) or not secret:
            raise ValueError("The secret must be a non-empty string.")
        self._call("save the key",
                   lambda b: b.set_password(self.service, account, secret), secret)

    def delete(self, account: str) -> bool:
        """Remove the secret for account; False if there was nothing to remove."""
        def remove(b: KeyringBackend) -> bool:
            from keyring.errors import PasswordDeleteError

            try:
                b.delete_password(self.service, account)
            except PasswordDeleteError:
                return False
            return True

        return self._call("delete the key", remove)


def needs_write(store: SecretStore, account: str, secret: str, replace: bool = False) -> bool:
    """Whether ``secret`` must be written to ``account``: False when the keyring holds it already.

    A key is never destroyed: a different stored secret raises :class:`KeyConflict` unless
    ``replace``. A keyring that cannot be read raises :class:`SecretStoreError` (unknown is not
    absent).
    """
    stored = store.get(account)
    if stored == secret:
        return False
    if stored and not replace:
        raise KeyConflict(store.service, account)
    return True
