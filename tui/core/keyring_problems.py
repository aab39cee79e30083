"""Why the keyring cannot be used, in plain words, and which backend keyring would use.

UI-free; `keyring` is imported lazily. The store itself (:class:`tui.core.secrets.SecretStore`)
asks this module to detect its backend and to turn keyring's errors into one-sentence problems.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from keyring.backend import KeyringBackend

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
