"""End to end: OpenHands 0.62's own loader reads every whole-config field llm-settings writes.

On OpenHands' template, ``llm-settings set`` writes the search key (into a real private
keyring), the agent, memory condensation, the condenser size, confirmation mode and the
security analyzer. Then ``llm-settings exec`` runs OpenHands' ``load_from_toml`` +
``load_from_env`` in a Python 3.12 venv of openhands-ai 0.62.0, so that the search key
arrives from the keyring as SEARCH_API_KEY, and every value is checked.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e import openhands_venv
from tests.files import TEMPLATE

pytestmark = pytest.mark.timeout(openhands_venv.BUILD_TIMEOUT + 300)

BIN = Path(sys.executable).parent / "llm-settings"
SEARCH_CANARY = "tvly-CANARY-e2e-5b8f0c1d9e3a"

LOAD = """
import json, logging, os, sys
from openhands.core.config import OpenHandsConfig
from openhands.core.config.utils import load_from_env, load_from_toml

warnings = []
class Capture(logging.Handler):
    def emit(self, record):
        warnings.append(record.getMessage())
log = logging.getLogger("openhands")
log.addHandler(Capture(logging.WARNING))
cfg = OpenHandsConfig()
load_from_toml(cfg, sys.argv[1])
load_from_env(cfg, os.environ)
c = cfg.get_agent_config(cfg.default_agent).condenser
key = cfg.search_api_key.get_secret_value() if cfg.search_api_key else None
print(json.dumps({
    "search_key_matches": key == sys.argv[2],
    "default_agent": cfg.default_agent,
    "enable_default_condenser": cfg.enable_default_condenser,
    "condenser_type": c.type, "condenser_max_size": getattr(c, "max_size", None),
    "condenser_model": getattr(getattr(c, "llm_config", None), "model", None),
    "confirmation_mode": cfg.security.confirmation_mode,
    "security_analyzer": cfg.security.security_analyzer,
    "warnings": warnings,
}))
"""


@pytest.fixture(scope="module")
def openhands_python() -> Path:
    return openhands_venv.python_with(["openhands-ai==0.62.0"])


def test_openhands_loader_reads_every_whole_config_field(
        openhands_python: Path, keyring_session: dict[str, str], tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    shutil.copyfile(TEMPLATE, config)
    env = {k: v for k, v in {**os.environ, **keyring_session}.items()
           if not k.startswith(("LLM_", "VIRTUAL_ENV", "SEARCH_", "SECURITY_"))
           and k not in ("DEFAULT_AGENT", "ENABLE_DEFAULT_CONDENSER")}

    def cli(*args: str, input: str | None = None) -> subprocess.CompletedProcess:
        p = subprocess.run([str(BIN), "--config", str(config), *args], input=input,
                           capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)
        assert SEARCH_CANARY not in p.stderr
        return p

    steps = [("--llm", "summarizer", "set", "model", "openai/gpt-4o-mini"),
             ("set", "default_agent", "LocAgent"),
             ("set", "enable_default_condenser", "false"),
             ("--llm", "summarizer", "set", "condenser_max_size", "64"),
             ("set", "confirmation_mode", "true"),
             ("set", "security_analyzer", "invariant")]
    for step in steps:
        p = cli(*step)
        assert p.returncode == 0, (step, p.stderr)
    p = cli("set", "search_api_key", "-", input=SEARCH_CANARY + "\n")
    assert p.returncode == 0, p.stderr
    assert SEARCH_CANARY not in config.read_text()

    p = cli("exec", "--", str(openhands_python), "-c", LOAD, str(config), SEARCH_CANARY)
    assert p.returncode == 0, p.stderr[-3000:]
    assert SEARCH_CANARY not in p.stdout
    loaded = json.loads(p.stdout.strip().splitlines()[-1])
    ignored = [w for w in loaded.pop("warnings") if "nvalid" in w or "Cannot parse" in w]
    assert ignored == []
    assert loaded == {
        "search_key_matches": True, "default_agent": "LocAgent",
        "enable_default_condenser": False, "condenser_type": "llm",
        "condenser_max_size": 64, "condenser_model": "openai/gpt-4o-mini",
        "confirmation_mode": True, "security_analyzer": "invariant"}
    doctor = cli("doctor")
    assert doctor.returncode == 0, doctor.stdout
