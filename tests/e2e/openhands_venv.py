"""Cached Python 3.12 virtual environments holding released OpenHands packages, built with uv.

``python_with(["openhands-ai==0.62.0"])`` returns the interpreter of a venv that has exactly
those pinned packages. The venv lives in ``~/.cache/llm-settings/venvs/<first spec>-<hash>``
(hash of the specs and the Python version); it is built in a temporary folder next to it and
renamed into place only when complete, so a killed build never leaves a half venv. Without
Python 3.12 or uv the calling test is skipped loudly, and fails under ``.ci/run``
(``LLM_SETTINGS_REQUIRE_E2E=1``).
"""

from __future__ import annotations

import glob
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.e2e.servers import INSTALL_HINT, REQUIRE_VARS

PYTHON = "3.12"
BUILD_TIMEOUT = 1800  # seconds; uv installs openhands-ai 0.62.0 in about a minute
_STALE_BUILD = 3 * 3600  # a temporary build folder older than this was left by a killed run


def unavailable(reason: str) -> None:
    """Skip loudly, or fail when the e2e run is required (LLM_SETTINGS_REQUIRE_E2E)."""
    reason = f"E2E TESTS SKIPPED: {reason}"
    if any(os.environ.get(v) for v in REQUIRE_VARS):
        pytest.fail(reason, pytrace=False)
    sys.__stderr__.write(f"\n{'!' * 78}\n{reason}\n{'!' * 78}\n")
    pytest.skip(reason)


def find_python(version: str = PYTHON) -> str | None:
    """A Python ``version`` interpreter: pyenv's versions first, then PATH."""
    roots = []
    pyenv = shutil.which("pyenv")
    if pyenv:
        out = subprocess.run([pyenv, "root"], capture_output=True, text=True, check=False)
        roots.append(out.stdout.strip())
    roots.append(os.environ.get("PYENV_ROOT") or str(Path.home() / ".pyenv"))
    for root in filter(None, roots):
        found = sorted(glob.glob(f"{root}/versions/{version}.*/bin/python{version}"))
        if found:
            return found[-1]
    return shutil.which(f"python{version}")


def find_uv() -> str | None:
    """The uv of this venv (the e2e group pins it), else one on PATH."""
    here = Path(sys.executable).with_name("uv")
    return str(here) if here.exists() else shutil.which("uv")


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "llm-settings" / "venvs"


def venv_dir(specs: Sequence[str], python: str) -> Path:
    """Where the venv of these specs for this interpreter is cached."""
    version = subprocess.run([python, "-c", "import sys; print(sys.version)"],
                             capture_output=True, text=True, check=True).stdout.strip()
    digest = hashlib.sha256("\n".join([version, *specs]).encode()).hexdigest()[:12]
    name = specs[0].replace("==", "-").replace("[", "-").replace("]", "")
    return cache_root() / f"{name}-{digest}"


def _run(cmd: list[str], what: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UV_", "VIRTUAL_ENV"))}
    env["UV_PYTHON_DOWNLOADS"] = "never"
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=BUILD_TIMEOUT,
                       check=False)
    if p.returncode:
        pytest.fail(f"{what} failed ({p.returncode}):\n{p.stderr[-3000:]}", pytrace=False)


def _remove_stale_builds(root: Path) -> None:
    for old in root.glob(".build-*"):
        try:
            if time.time() - old.stat().st_mtime > _STALE_BUILD:
                shutil.rmtree(old, ignore_errors=True)
        except FileNotFoundError:
            pass


def build(specs: Sequence[str], python: str, uv: str) -> Path:
    """Build (or reuse) the venv; return its folder."""
    target = venv_dir(specs, python)
    if (target / "bin" / "python").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_builds(target.parent)
    tmp = Path(tempfile.mkdtemp(prefix=".build-", dir=target.parent))
    try:
        _run([uv, "venv", "-q", "--relocatable", "-p", python, str(tmp / "v")],
             f"uv venv with {python}")
        _run([uv, "pip", "install", "-q", "-p", str(tmp / "v" / "bin" / "python"), *specs],
             f"uv pip install {' '.join(specs)}")
        try:
            (tmp / "v").rename(target)
        except OSError:  # built meanwhile by a parallel run: keep that one
            if not (target / "bin" / "python").exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def python_with(specs: Sequence[str]) -> Path:
    """The interpreter of a cached Python 3.12 venv with exactly these pinned packages."""
    python = find_python()
    if python is None:
        unavailable(f"no Python {PYTHON} found (pyenv versions or python{PYTHON} on PATH); "
                    f"install it, e.g. `pyenv install {PYTHON}`")
    uv = find_uv()
    if uv is None:
        unavailable(f"uv is not installed: {INSTALL_HINT}")
    return build(list(specs), str(python), str(uv)) / "bin" / "python"
