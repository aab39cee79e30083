"""import and apply as a user runs them: a real process, real OpenHands 1.x files (written
by OpenHands' own code, see tests/fixtures/openhands1), a real Secret Service."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.test_cli import BIN, Run, _clean_env
from tests.test_openhands1 import CLI_KEY, FIX, SDK_KEY, WEB_KEY

APPLIED_KEY = "sk-canary-applied-0010"
CANARIES = (CLI_KEY, SDK_KEY, WEB_KEY, APPLIED_KEY, "sk-canary-sdk-0003",
            "sk-canary-web-0005")


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """OpenHands 1.x's folder with the CLI's, the web app's and two SDK profile files."""
    oh = tmp_path / "oh"
    (oh / "profiles").mkdir(parents=True)
    shutil.copy(FIX / "cli" / "agent_settings.json", oh)
    shutil.copy(FIX / "web" / "settings.json", oh)
    for name in ("fast.json", "nokey.json"):
        shutil.copy(FIX / "profiles121" / name, oh / "profiles")
    for p in [oh / "agent_settings.json", oh / "settings.json"]:
        os.chmod(p, 0o644)  # as OpenHands leaves them
    return oh


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text("# my settings\n[llm]\n")
    return path


@pytest.fixture
def run(keyring_session: dict[str, str], tmp_path: Path, home: Path, config: Path) -> Run:
    """llm-settings --config CONFIG ... with the private keyring and OpenHands 1.x's folder;
    no output ever holds a canary key."""
    base = _clean_env({**os.environ, **keyring_session, "OPENHANDS_PERSISTENCE_DIR": str(home),
                       "OH_PERSISTENCE_DIR": str(home)})

    def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        proc = subprocess.run([str(BIN), "--config", str(config), *args], capture_output=True,
                              text=True, env={**base, **(env or {})}, cwd=tmp_path, timeout=120)
        for canary in CANARIES:
            assert canary not in proc.stdout and canary not in proc.stderr
        assert "Traceback" not in proc.stderr
        return proc

    return _run


@pytest.fixture
def keyring(keyring_session: dict[str, str]) -> Any:
    """Read and write the private keyring from a separate process (as another program)."""

    def call(action: str, account: str, value: str = "") -> str:
        code = ("import keyring,sys; a,acct,v=sys.argv[1:]\n"
                "if a=='set': keyring.set_password('llm-settings',acct,v)\n"
                "else: print(keyring.get_password('llm-settings',acct) or '')")
        out = subprocess.run([sys.executable, "-c", code, action, account, value],
                             capture_output=True, text=True, check=True, timeout=120,
                             env={**os.environ, **keyring_session})
        return out.stdout.strip()

    return call


@pytest.fixture(autouse=True)
def _empty_keyring(real_keyring: dict[str, str]) -> None:
    """Each test starts with an empty keyring (the real_keyring fixture empties it)."""


def snapshot(*paths: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in paths}


def all_files(home: Path, config: Path) -> list[Path]:
    return [config, *sorted(p for p in home.rglob("*.json"))]


# -- import -----------------------------------------------------------------------------
def test_import_turns_every_llm_into_groups_and_keys_into_the_keyring(
        run: Run, home: Path, config: Path, keyring: Any) -> None:
    before = snapshot(*all_files(home, config)[1:])
    p = run("import")
    assert p.returncode == 0, p.stderr
    text = config.read_text()
    assert text.startswith("# my settings\n[llm]\n")
    assert 'model = "anthropic/claude-sonnet-4-5-20250929"' in text  # the CLI's: [llm]
    assert "[llm.web]" in text and "[llm.fast]" in text and "[llm.my_fast]" in text
    assert "num_retries = 7" in text and "timeout = 120" in text
    assert all(c not in text for c in CANARIES)  # keys never in config.toml
    assert keyring("get", "anthropic") == CLI_KEY
    assert keyring("get", "openai@127.0.0.1:8000") == WEB_KEY
    assert keyring("get", "openai") == SDK_KEY
    assert snapshot(*before) == before  # the sources are untouched without --remove-plaintext
    shown = run("--llm", "web", "get", "base_url")
    assert shown.stdout.strip() == "http://127.0.0.1:8000/v1"


def test_import_dry_run_writes_nothing(run: Run, home: Path, config: Path, keyring: Any
                                       ) -> None:
    before = snapshot(*all_files(home, config))
    p = run("import", "--dry-run", "--remove-plaintext")
    assert p.returncode == 0, p.stderr
    assert "-> [llm] of" in p.stdout and "dry run: nothing written" in p.stdout
    assert f"remove api_key from {home / 'agent_settings.json'}" in p.stdout
    assert snapshot(*before) == before
    assert keyring("get", "anthropic") == ""


def test_remove_plaintext_removes_only_the_key_and_keeps_the_web_apps(
        run: Run, home: Path, keyring: Any) -> None:
    cli_before = (home / "agent_settings.json").read_bytes()
    sdk_before = (home / "profiles" / "fast.json").read_bytes()
    web_before = (home / "settings.json").read_bytes()
    p = run("import", "--remove-plaintext")
    assert p.returncode == 0, p.stderr
    assert (home / "agent_settings.json").read_bytes() == \
        cli_before.replace(f'"{CLI_KEY}"'.encode(), b"null")  # llm and condenser.llm
    assert (home / "profiles" / "fast.json").read_bytes() == \
        sdk_before.replace(f'"{SDK_KEY}"'.encode(), b"null")
    assert (home / "agent_settings.json").stat().st_mode & 0o777 == 0o600
    assert (home / "settings.json").read_bytes() == web_before
    assert "the web app reads its key only from that file" in p.stderr
    assert keyring("get", "anthropic") == CLI_KEY


def test_import_never_replaces_a_different_key_in_the_keyring(
        run: Run, home: Path, config: Path, keyring: Any) -> None:
    keyring("set", "anthropic", "sk-canary-other-key-0009")
    before = snapshot(*all_files(home, config))
    p = run("import", "--remove-plaintext", str(home / "agent_settings.json"))
    assert p.returncode == 1
    assert "already holds a different key for llm-settings/anthropic" in p.stderr
    assert snapshot(*before) == before
    assert keyring("get", "anthropic") == "sk-canary-other-key-0009"
    p = run("import", "--replace", str(home / "agent_settings.json"))
    assert p.returncode == 0, p.stderr
    assert keyring("get", "anthropic") == CLI_KEY


def test_import_refuses_to_overwrite_a_groups_value_without_replace(
        run: Run, home: Path, config: Path) -> None:
    config.write_text('[llm]\nmodel = "x/y"\n[llm.fast]\nmodel = "mine/model"\n')
    before = config.read_bytes()
    p = run("import", str(home / "profiles" / "fast.json"))
    assert p.returncode == 1
    assert "[llm.fast] model is 'mine/model' in config.toml" in p.stderr
    assert config.read_bytes() == before


# -- apply ------------------------------------------------------------------------------
def _json(path: Path) -> Any:
    return json.loads(path.read_text())


def test_apply_cli_writes_llm_and_condenser_without_the_key(
        run: Run, home: Path, config: Path) -> None:
    assert run("import", "--remove-plaintext").returncode == 0
    run("set", "num_retries", "9")
    run("set", "model", "openai/gpt-4o")
    before = _json(home / "agent_settings.json")
    p = run("apply", "--to", "cli")
    assert p.returncode == 0, p.stderr
    assert "llm.num_retries: 7 -> 9" in p.stdout
    assert "llm-settings exec -- openhands --override-with-envs" in p.stdout
    after = _json(home / "agent_settings.json")
    for llm, usage in ((after["llm"], "agent"), (after["condenser"]["llm"], "condenser")):
        assert llm["model"] == "openai/gpt-4o" and llm["num_retries"] == 9
        assert llm["api_key"] is None and llm["usage_id"] == usage
    assert list(after) == list(before)  # every other key, in its order
    assert after["tools"] == before["tools"] and after["condenser"]["max_size"] == 80
    assert (home / "agent_settings.json").stat().st_mode & 0o777 == 0o600
    raw = (home / "agent_settings.json").read_text()
    assert raw.startswith('{"llm":{"model":"openai/gpt-4o"')  # pydantic's compact layout


def test_apply_never_drops_a_plaintext_key_the_keyring_lacks(run: Run, home: Path,
                                                             config: Path) -> None:
    config.write_text('[llm]\nmodel = "anthropic/claude-sonnet-4-5-20250929"\n')
    before = (home / "agent_settings.json").read_bytes()
    p = run("apply", "--to", "cli")
    assert p.returncode == 1
    assert "holds a plaintext api_key that the keyring does not have" in p.stderr
    assert (home / "agent_settings.json").read_bytes() == before


def test_apply_dry_run_shows_the_diff_and_writes_nothing(run: Run, home: Path,
                                                         config: Path) -> None:
    config.write_text('[llm]\nmodel = "openai/gpt-4o"\n[llm.cheap]\nmodel = "groq/x"\n')
    cli = home / "agent_settings.json"
    cli.write_bytes(cli.read_bytes().replace(f'"{CLI_KEY}"'.encode(), b"null"))
    before = snapshot(*all_files(home, config))
    for target in ("cli", "sdk"):
        p = run("apply", "--to", target, "--dry-run")
        assert "dry run: nothing written" in p.stdout, p.stderr
        if target == "cli":
            assert 'llm.model: "anthropic/claude-sonnet-4-5-20250929" -> "openai/gpt-4o"' \
                in p.stdout
    assert "profiles/llm.json (new file):" in p.stdout
    assert snapshot(*all_files(home, config)) == before


def test_apply_sdk_writes_one_keyless_profile_per_group(run: Run, home: Path,
                                                        config: Path) -> None:
    config.write_text('[llm]\nmodel = "openai/gpt-4o"\nnum_retries = 3\n'
                      '[llm.cheap]\nmodel = "groq/llama-3.3-70b-versatile"\n')
    p = run("apply", "--to", "sdk")
    assert p.returncode == 0, p.stderr
    llm, cheap = _json(home / "profiles" / "llm.json"), _json(home / "profiles" / "cheap.json")
    assert llm["model"] == "openai/gpt-4o" and llm["num_retries"] == 3
    assert cheap["model"] == "groq/llama-3.3-70b-versatile" and cheap["num_retries"] == 3
    assert "api_key" not in llm and "api_key" not in cheap
    assert (home / "profiles" / "cheap.json").stat().st_mode & 0o777 == 0o600


def test_apply_web_needs_insecure_storage_for_its_key(run: Run, home: Path, config: Path,
                                                      keyring: Any) -> None:
    assert run("import").returncode == 0
    before = (home / "settings.json").read_bytes()
    p = run("apply", "--to", "web")
    assert p.returncode == 1
    assert "enter the key in the web UI" in p.stderr
    assert (home / "settings.json").read_bytes() == before
    keyring("set", "anthropic", APPLIED_KEY)
    p = run("apply", "--to", "web", "--insecure-storage", "--llm", "fast")
    assert p.returncode == 0, p.stderr
    assert "PLAINTEXT" in p.stderr
    data = _json(home / "settings.json")
    assert data["llm_profiles"]["active"] == "fast"
    assert data["agent_settings"]["llm"]["model"] == "openai/gpt-4o-mini"
    assert data["agent_settings"]["llm"]["api_key"] == SDK_KEY
    assert data["llm_profiles"]["profiles"]["llm"]["api_key"] == APPLIED_KEY
    assert "my fast" in data["llm_profiles"]["profiles"]  # the web app's own, kept
    assert data["search_api_key"] == "tvly-canary-0006"
    assert (home / "settings.json").stat().st_mode & 0o777 == 0o600


def test_exec_hands_the_cli_its_model_base_url_and_key(run: Run, config: Path,
                                                       keyring: Any) -> None:
    config.write_text('[llm]\nmodel = "openai/gpt-4o"\nbase_url = "http://127.0.0.1:8000/v1"\n')
    keyring("set", "openai@127.0.0.1:8000", WEB_KEY)
    code = ("import os; k=os.environ.get('LLM_API_KEY'); print(os.environ['LLM_MODEL'], "
            f"os.environ['LLM_BASE_URL'], k == {WEB_KEY!r})")
    p = run("exec", "--", sys.executable, "-c", code)
    assert p.stdout.split() == ["openai/gpt-4o", "http://127.0.0.1:8000/v1", "True"], p.stderr


def test_doctor_reads_the_1x_files_without_changing_its_verdict(run: Run, config: Path
                                                                ) -> None:
    config.write_text('[llm]\nmodel = "openai/gpt-4o"\n')
    p = run("doctor")
    assert p.returncode == 0, p.stdout
    assert "holds a plaintext API key (mode 0644: other users can read it)" in p.stdout
    assert "OpenHands 1.x's cli uses model" in p.stdout
    assert "the web app refuses the profile name 'my fast'" in p.stdout


def test_a_stored_key_never_lands_in_a_file_apply_writes_without_insecure_storage(
        run: Run, home: Path, config: Path, keyring: Any) -> None:
    config.write_text('[llm]\nmodel = "openai/gpt-4o"\n[llm.b]\nmodel = "openai/gpt-4o-mini"\n')
    keyring("set", "openai", APPLIED_KEY)
    cli = home / "agent_settings.json"
    cli.write_bytes(cli.read_bytes().replace(f'"{CLI_KEY}"'.encode(), b"null"))
    for target in ("cli", "sdk", "web"):
        run("apply", "--to", target)
    written = [cli, home / "profiles" / "llm.json", home / "profiles" / "b.json"]
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in written)
    for path in [*home.rglob("*"), config]:
        if path.is_file():
            assert APPLIED_KEY.encode() not in path.read_bytes(), path
