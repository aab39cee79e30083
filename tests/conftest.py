"""Shared pytest fixtures."""

from __future__ import annotations

import gc
import os
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

# Make `tests.keyring_env` importable however pytest is started (`pytest`, `python -m pytest`).
_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from tests.keyring_env import (  # noqa: E402
    DROPPED_VARS,
    PACKAGES,
    SESSION_VARS,
    KeyringSession,
    missing_programs,
    start_keyring_session,
)

# ---------------------------------------------------------------------------- keyring


def require_programs(what: str, missing: list[str], packages: str) -> None:
    """Skip loudly when system programs are missing; fail instead under .ci/run."""
    if not missing:
        return
    reason = f"{what} SKIPPED: {', '.join(missing)} not installed (apt-get install {packages})"
    if os.environ.get("LLM_SETTINGS_REQUIRE_KEYRING"):  # set by .ci/run
        pytest.fail(reason)
    sys.__stderr__.write(f"\n{'!' * 78}\n{reason}\n{'!' * 78}\n")
    warnings.warn(reason, pytest.PytestWarning, stacklevel=1)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def _keyring_daemons() -> Iterator[KeyringSession]:
    """One private dbus-daemon + unlocked gnome-keyring-daemon for the whole test run."""
    require_programs("REAL KEYRING TESTS", missing_programs(), PACKAGES)
    session = start_keyring_session()
    try:
        yield session
    finally:
        session.stop()


@pytest.fixture(scope="session")
def keyring_session(_keyring_daemons: KeyringSession) -> dict[str, str]:
    """Full environment for subprocesses that should use the private real keyring."""
    return _keyring_daemons.env


@pytest.fixture
def real_keyring(_keyring_daemons: KeyringSession,
                 monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """Point this process at the private keyring (HOME too); emptied before and after."""
    env = _keyring_daemons.env
    for name in SESSION_VARS:
        monkeypatch.setenv(name, env[name])
    for name in DROPPED_VARS:
        monkeypatch.delenv(name, raising=False)
    for name in [n for n in os.environ if n.startswith("KEYRING_PROPERTY_")]:
        monkeypatch.delenv(name)
    _keyring_daemons.clear()
    yield env
    _keyring_daemons.clear()


@pytest.fixture
def no_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    """Force keyring's fail backend: no usable keyring."""
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")


# ---------------------------------------------------------------------------- garbage collection


def pytest_collection_finish(session: pytest.Session) -> None:
    """Collect garbage less often: a test process starts hundreds of apps one after another, and
    with CPython's default thresholds a fifth of its time went to full collections scanning
    every module imported (frozen here, never garbage) and what the last apps left behind."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(100_000, 20, 20)
