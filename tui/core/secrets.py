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

import contextlib
import logging
import os
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from keyring.backend import KeyringBackend

__all__ = [
    "SERVICE",
    "TIMEOUT",
    "KeyConflict",
    "KeyringHealth",
    "KeyringUnavailable",
    "SecretStore",
    "SecretStoreError",
    "account",
    "fallback",
    "for_env",
    "needs_write",
]

SERVICE = "llm-settings"
TIMEOUT = 3.0

log = logging.getLogger(__name__)

_T = TypeVar("_T")

# Account read by health() to prove the keyring answers; never written.
_PROBE_ACCOUNT = "__llm-settings-health-check__"
_ENV_VAR = "PYTHON_KEYRING_BACKEND"
_SECRET_SERVICE = "keyring.backends.SecretService"

_OPT_IN = "with --insecure-storage"  # the CLI's plaintext opt-in; the app has a box instead


def fallback(env: str = "LLM_API_KEY") -> str:
    """What to do without a keyring, for the secret OpenHands reads from the variable ``env``."""
    return f"set {env} in the environment or store the key in config.toml {_OPT_IN}"


def _dbus_fallback(env: str = "LLM_API_KEY") -> str:
    return (f"Set {env} in the environment, run inside `dbus-run-session` with gnome-keyring "
            f"unlocked, or store the key in config.toml {_OPT_IN}.")


_FALLBACK = fallback()
_DBUS_FALLBACK = _dbus_fallback()


def for_env(text: str, env: str) -> str:
    """A keyring problem or error whose advice names ``env`` (e.g. LLM_AWS_SECRET_ACCESS_KEY)
    instead of LLM_API_KEY."""
    return text.replace(_FALLBACK, fallback(env)).replace(_DBUS_FALLBACK, _dbus_fallback(env))


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


# ---------------------------------------------------------------------------- diagnosis


def _clean(text: str, secret: str | None = None, limit: int = 200) -> str:
    """One line, trailing dot dropped, secret masked, at most `limit` characters."""
    if secret:
        text = text.replace(secret, "***").replace(repr(secret)[1:-1], "***")
    text = " ".join(text.split()).rstrip(".")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _err_text(exc: BaseException, secret: str | None = None) -> str:
    return _clean(str(exc), secret) or type(exc).__name__


def _backend_label(obj: Any) -> str:
    """keyring's display name ('SecretService Keyring') of a backend class or instance."""
    cls = obj if isinstance(obj, type) else type(obj)
    try:
        return str(cls.name)
    except Exception:
        return f"{cls.__module__}.{cls.__name__}"


def _timeout_message(timeout: float) -> str:
    return (f"The keyring did not answer within {timeout:g} s (a locked keyring waiting for an "
            "unlock prompt, or a D-Bus session bus that does not respond). Unlock the keyring or "
            f"check DBUS_SESSION_BUS_ADDRESS, or {_FALLBACK}.")


def _dbus_problem(detail: str | None = None) -> str:
    """Why the Secret Service cannot be reached, judged from the environment and `detail`."""
    address = os.environ.get("DBUS_SESSION_BUS_ADDRESS", "").strip()
    low = (detail or "").lower()
    if not address or "dbus_session_bus_address is unset" in low:
        return ("No usable keyring: no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is unset, "
                f"common over SSH). {_DBUS_FALLBACK}")
    if "neither running nor activatable" in low or "not available" in low:
        return ("No usable keyring: no Secret Service (gnome-keyring or KWallet) runs on the "
                "D-Bus session bus. Start one, e.g. `gnome-keyring-daemon --unlock "
                f"--components=secrets`, or {_FALLBACK}.")
    why = f" ({detail})" if detail else ""
    return (f"No usable keyring: the D-Bus session bus in DBUS_SESSION_BUS_ADDRESS cannot be "
            f"reached{why}. {_DBUS_FALLBACK}")


def _locked_problem() -> str:
    return ("No usable keyring: the keyring is locked. Unlock it (log in to the desktop, or "
            f"run `gnome-keyring-daemon --unlock`), or {_FALLBACK}.")


def _secret_service_reason() -> str | None:
    """Why keyring's SecretService backend is not viable here, or None if it is (or n/a)."""
    if sys.platform in ("darwin", "win32"):
        return None
    try:
        from keyring.backends import SecretService

        SecretService.Keyring.priority  # noqa: B018 - raises RuntimeError when not viable
    except Exception as e:
        return _err_text(e)
    return None


def _no_backend_problem(what: str, probe: bool = True) -> str:
    """Explain an empty/fail backend, naming the Secret Service cause on Linux and BSD.

    probe=True asks D-Bus (may block: only call it in the worker thread).
    """
    if sys.platform not in ("darwin", "win32") and not os.environ.get(
            "DBUS_SESSION_BUS_ADDRESS", "").strip():
        return _dbus_problem()
    reason = _secret_service_reason() if probe else None
    if reason is not None:
        return _classify_text(reason)
    return (f"No usable keyring: {what}. Install and unlock a keyring (e.g. gnome-keyring or "
            f"KWallet), or {_FALLBACK}.")


def _classify_text(text: str) -> str:
    """Map a backend error text (SecretService/D-Bus) to a plain problem statement."""
    low = text.lower()
    if "locked" in low or "unlock" in low or "dismissed" in low:
        return _locked_problem()
    if any(w in low for w in ("d-bus", "dbus", "secret service", "secretservice", "connect",
                              "no such file", "socket", "refused", "not available")):
        return _dbus_problem(text)
    return f"No usable keyring: {text}. Fix the keyring, or {_FALLBACK}."


def _uses_dbus(obj: Any) -> bool:
    """Whether a backend (class, instance or display name) talks to D-Bus."""
    if isinstance(obj, str):
        name = obj.lower()
    else:
        cls = obj if isinstance(obj, type) else type(obj)
        name = f"{cls.__module__}.{cls.__name__}".lower()
    return any(w in name for w in ("secretservice", "kwallet", "libsecret", "dbus"))


def _classify(exc: BaseException, secret: str | None = None, dbus: bool = False) -> str | None:
    """A 'no usable keyring' problem for exc, or None if exc is some other failure.

    dbus: the backend talks D-Bus, so OS errors (socket, timeout) mean the bus is unreachable.
    """
    from keyring import errors

    text = _err_text(exc, secret)
    names = {c.__name__ for c in type(exc).__mro__}
    if isinstance(exc, _NoCollection):
        return ("No usable keyring: the Secret Service has no default keyring. Create one "
                f"(e.g. in Seahorse, \"Passwords and Keys\"), or {_FALLBACK}.")
    if isinstance(exc, errors.KeyringLocked) or names & {"LockedException",
                                                         "PromptDismissedException"}:
        return _locked_problem()
    if isinstance(exc, errors.NoKeyringError):
        return _no_backend_problem("keyring found no backend", probe=False)
    if "SecretServiceNotAvailableException" in names or isinstance(exc, ConnectionError):
        return _dbus_problem(text)
    if dbus and isinstance(exc, OSError):
        return _dbus_problem("it did not answer" if isinstance(exc, TimeoutError) else text)
    if isinstance(exc, errors.InitError):
        return _classify_text(text)
    if "DBusErrorResponse" in names:
        return _dbus_problem(text)
    return None


def _is_alt(obj: Any) -> bool:
    cls = obj if isinstance(obj, type) else type(obj)
    return (cls.__module__ or "").startswith("keyrings.alt")


def _alt_problem(obj: Any) -> str:
    return (f"No usable keyring: the backend {_backend_label(obj)} comes from keyrings.alt, which "
            "keeps keys in a file as plain or base64 text. Select a real keyring (unset "
            f"PYTHON_KEYRING_BACKEND or fix keyringrc.cfg), or {_FALLBACK}.")


def _selected_by() -> str:
    """Where the current backend choice came from, for messages."""
    if _ENV_VAR in os.environ:
        return _ENV_VAR
    try:
        from keyring.util import platform_

        return str(platform_.config_root() / "keyringrc.cfg")
    except Exception:
        return "keyringrc.cfg"


# ---------------------------------------------------------------------------- detection


def _detect() -> tuple[KeyringBackend | None, str | None]:
    """(backend, None) when usable, else (backend or None, problem). Runs in the worker."""
    from keyring import backend as kb
    from keyring import core
    from keyring.backends import chainer, fail, null

    # Forget keyring's once-only list of viable backends: the environment may differ now.
    with contextlib.suppress(AttributeError, KeyError):
        kb.get_all_keyring.reset()

    wanted = os.environ.get(_ENV_VAR, "").strip()
    try:
        found = core.load_env() or core.load_config()
    except Exception as e:
        text = _err_text(e)
        if _uses_dbus(wanted) and isinstance(e, RuntimeError | OSError):
            return None, _classify(e, dbus=True) or _classify_text(text)
        return None, (f"No usable keyring: the backend chosen by {_selected_by()} cannot be "
                      f"loaded ({text}). Fix or remove that setting, or {_FALLBACK}.")
    if found is None:
        found = max(kb.get_all_keyring(), default=fail.Keyring(), key=kb.by_priority)

    if isinstance(found, chainer.ChainerBackend):
        chained = list(found.backends)
        real = [b for b in chained if not _is_alt(b)]
        if not real:
            if chained:
                return found, _alt_problem(chained[0])
            return found, _no_backend_problem("keyring's chainer backend has no backends")
        # Use the best chained backend directly: the chainer would silently fall back to
        # lower-priority (possibly plaintext) backends.
        found = real[0]

    if _is_alt(found):
        return found, _alt_problem(found)
    if isinstance(found, fail.Keyring):
        if wanted:
            return found, (f"No usable keyring: {_ENV_VAR} selects keyring's fail backend. "
                           f"Unset {_ENV_VAR}, or {_FALLBACK}.")
        return found, _no_backend_problem("keyring found no backend")
    if isinstance(found, null.Keyring):
        return found, (f"No usable keyring: the keyring is disabled (null backend chosen by "
                       f"{_selected_by()}). Remove that setting, or {_FALLBACK}.")
    return found, None


class _NoCollection(Exception):
    """The Secret Service runs but has no default collection."""


def _check_secret_service(backend: KeyringBackend) -> None:
    """Raise KeyringLocked if the collection keyring would use is locked (without prompting)."""
    from contextlib import closing

    import secretstorage
    from keyring.errors import KeyringLocked

    with closing(secretstorage.dbus_init()) as conn:
        path = getattr(backend, "preferred_collection", None)
        try:
            collection = (secretstorage.Collection(conn, path) if path
                          else secretstorage.Collection(conn))
        except secretstorage.exceptions.ItemNotFoundException:
            raise _NoCollection("no default collection") from None
        if collection.is_locked():
            raise KeyringLocked("Collection is locked")


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
