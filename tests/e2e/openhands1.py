"""Helpers for the end-to-end tests against released OpenHands 1.x packages.

The OpenHands CLI (``openhands`` 1.16.0, which pins openhands-sdk 1.21.0) and the web app's
server (``openhands-ai`` 1.11.0, which pins openhands-sdk 1.34.0 and the agent server) each get
a cached Python 3.12 venv (tests/e2e/openhands_venv.py). The scripts in openhands1_scripts/ run
there and use OpenHands' own code to write and read its files; each prints one JSON line.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# openhands-workspace 1.11.1 (a dependency of the CLI) leaves openhands-agent-server unpinned,
# and the CLI imports it: pin what it resolves to, so that the venv stays the same.
CLI_SPECS = ("openhands==1.16.0", "openhands-agent-server==1.58.2")
WEB_SPECS = ("openhands-ai==1.11.0",)
BIN = Path(sys.executable).parent / "llm-settings"
SCRIPTS = Path(__file__).with_name("openhands1_scripts")
SCRIPT_TIMEOUT = 600

# Canary keys, one per account: they must never show up in a file apply writes.
KEYS = {
    "cli": "sk-CANARY-oh1-cli-3b9d7e1f5a2c",
    "old": "sk-CANARY-oh1-old-8c4e2a6d0f1b",
    "web": "sk-CANARY-oh1-web-5d1f9b3e7a0c",
    "fast": "sk-ant-CANARY-oh1-fast-2e8a4c6f1d3b",
    "main": "sk-CANARY-oh1-main-7f0b3d5a9e2c",
}


@dataclass
class Place:
    """One test's world: HOME, both persistence folders, a work folder and config.toml."""

    root: Path

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def cli(self) -> Path:
        """OPENHANDS_PERSISTENCE_DIR: the CLI's agent_settings.json."""
        return self.root / "cli-persistence"

    @property
    def server(self) -> Path:
        """OH_PERSISTENCE_DIR: the web app's settings.json and the SDK's profiles/."""
        return self.root / "server-persistence"

    @property
    def config(self) -> Path:
        return self.root / "llm-settings" / "config.toml"

    def make(self) -> Place:
        for folder in (self.home, self.cli, self.server, self.config.parent, self.root / "work"):
            folder.mkdir(parents=True, exist_ok=True)
        return self

    def environment(self, keyring_env: dict[str, str]) -> dict[str, str]:
        """The environment of every command: the private keyring, these folders, no LLM_*."""
        env = {k: v for k, v in {**os.environ, **keyring_env}.items()
               if not k.startswith(("LLM_", "VIRTUAL_ENV", "OPENHANDS_", "OH_"))
               and k != "FILE_STORE_PATH"}
        env.update(HOME=str(self.home), OPENHANDS_PERSISTENCE_DIR=str(self.cli),
                   OH_PERSISTENCE_DIR=str(self.server), OPENHANDS_WORK_DIR=str(self.root / "work"),
                   LITELLM_LOCAL_MODEL_COST_MAP="True", OPENHANDS_SUPPRESS_BANNER="1")
        return env


def _last_json(p: subprocess.CompletedProcess[str], what: str) -> dict[str, Any]:
    assert p.returncode == 0, (
        f"{what} failed ({p.returncode}):\n{p.stdout[-2000:]}\n{p.stderr[-4000:]}")
    for key in KEYS.values():
        assert key not in p.stdout, f"{what} printed a key"
    return json.loads(p.stdout.strip().splitlines()[-1])


def run_script(python: Path, script: str, env: dict[str, str], arg: dict[str, Any],
               cwd: Path) -> dict[str, Any]:
    """Run openhands1_scripts/SCRIPT with the venv's Python; its JSON answer."""
    p = subprocess.run([str(python), str(SCRIPTS / script), json.dumps(arg)], env=env, cwd=cwd,
                       capture_output=True, text=True, timeout=SCRIPT_TIMEOUT, check=False)
    return _last_json(p, script)


def llm_settings(place: Place, env: dict[str, str], *args: str,
                 input: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``llm-settings --config CONFIG ARGS``; it never prints a key."""
    p = subprocess.run([str(BIN), "--config", str(place.config), *args], input=input,
                       capture_output=True, text=True, env=env, cwd=place.root / "work",
                       timeout=SCRIPT_TIMEOUT, check=False)
    for key in KEYS.values():
        assert key not in p.stdout + p.stderr, f"llm-settings {' '.join(args)} printed a key"
    return p


def ok(p: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert p.returncode == 0, f"{p.args[3:]} exit {p.returncode}:\n{p.stdout}\n{p.stderr}"
    return p


def exec_script(place: Place, env: dict[str, str], python: Path, script: str,
                arg: dict[str, Any], group: str | None = None) -> dict[str, Any]:
    """Run a venv script through ``llm-settings [--llm GROUP] exec --``."""
    prefix = ["--llm", group] if group else []
    p = llm_settings(place, env, *prefix, "exec", "--", str(python), str(SCRIPTS / script),
                     json.dumps(arg))
    return _last_json(p, f"exec {script}")


def key_hash(place: Place, env: dict[str, str], group: str | None = None) -> str | None:
    """SHA-256 of the LLM_API_KEY that ``llm-settings exec`` hands to a program."""
    prefix = ["--llm", group] if group else []
    code = ("import hashlib, os; k = os.environ.get('LLM_API_KEY');"
            "print(hashlib.sha256(k.encode()).hexdigest() if k else None)")
    p = ok(llm_settings(place, env, *prefix, "exec", "--", sys.executable, "-c", code))
    out = p.stdout.strip().splitlines()[-1]
    return None if out == "None" else out


def sha(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def configure(place: Place, env: dict[str, str], group: str | None, fields: dict[str, Any],
              key: str | None = None) -> None:
    """Set fields (and the key, into the keyring) with ``llm-settings set``."""
    prefix = ["--llm", group] if group else []
    for name, value in fields.items():
        ok(llm_settings(place, env, *prefix, "set", name, str(value)))
    if key is not None:
        ok(llm_settings(place, env, *prefix, "set", "api_key", "-", input=key + "\n"))


def config_groups(place: Place) -> dict[str, dict[str, Any]]:
    """config.toml's LLM groups: "llm" for [llm], NAME for [llm.NAME]."""
    llm = tomllib.loads(place.config.read_text()).get("llm", {})
    groups = {"llm": {k: v for k, v in llm.items() if not isinstance(v, dict)}}
    groups.update({k: v for k, v in llm.items() if isinstance(v, dict)})
    return groups


def files_holding(folder: Path, secret: str) -> list[str]:
    """Every file under folder whose bytes contain secret."""
    return [str(p) for p in folder.rglob("*")
            if p.is_file() and not p.is_symlink() and secret.encode() in p.read_bytes()]


def assert_imported(group: dict[str, Any], source: dict[str, Any],
                    expected: dict[str, Any]) -> None:
    """The group holds every expected value, and nothing the source LLM does not hold."""
    assert "api_key" not in group
    assert {k: group.get(k) for k in expected} == expected
    invented = {k: v for k, v in group.items() if source.get(k) != v}
    assert invented == {}, f"values not in the OpenHands file: {invented}"


def without_keys(agent: dict[str, Any]) -> dict[str, Any]:
    """An agent_settings.json document with the API key fields of its LLMs dropped."""
    copy = json.loads(json.dumps(agent))
    for llm in (copy.get("llm"), (copy.get("condenser") or {}).get("llm")):
        if isinstance(llm, dict):
            llm.pop("api_key", None)
    return copy
