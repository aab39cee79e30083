"""End to end with the released OpenHands 1.x packages (Python 3.12 venvs, cached).

- ``import``: a file written by OpenHands' own code (the CLI's settings form and AgentStore,
  the web app server's settings and profile routes over its FileSettingsStore) turns into
  config.toml groups with every value kept and its key in the real (private) keyring.
- ``apply``: the files it writes load with the SDK's ``Agent`` model and the CLI's AgentStore,
  the SDK's LLMProfileStore (1.21 and 1.34) and the server's Settings store; the CLI's
  ``AgentStore.load_or_create`` with env overrides, started through ``llm-settings exec``,
  gets model, base URL, retries and the key.
- A canary key never lands in a file apply writes without ``--insecure-storage``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e import openhands_venv
from tests.e2e.openhands1 import (
    CLI_SPECS,
    KEYS,
    WEB_SPECS,
    Place,
    assert_imported,
    config_groups,
    configure,
    exec_script,
    files_holding,
    key_hash,
    llm_settings,
    ok,
    run_script,
    sha,
    without_keys,
)
from tests.keyring_env import KeyringSession

pytestmark = pytest.mark.timeout(2 * openhands_venv.BUILD_TIMEOUT + 900)

MAIN = {"model": "openai/gpt-4o-mini", "base_url": "http://127.0.0.1:9104/v1",
        "num_retries": 3, "retry_min_wait": 2, "retry_max_wait": 20, "retry_multiplier": 1.5,
        "timeout": 77}
FAST = {"model": "anthropic/claude-3-5-haiku-20241022", "num_retries": 6}
RETRIES = ("num_retries", "retry_min_wait", "retry_max_wait", "retry_multiplier")


@pytest.fixture(scope="module")
def cli_python() -> Path:
    return openhands_venv.python_with(CLI_SPECS)


@pytest.fixture(scope="module")
def web_python() -> Path:
    return openhands_venv.python_with(WEB_SPECS)


@pytest.fixture
def world(_keyring_daemons: KeyringSession, tmp_path: Path
          ) -> Iterator[tuple[Place, dict[str, str]]]:
    """Fresh folders and an emptied private keyring."""
    _keyring_daemons.clear()
    place = Place(tmp_path).make()
    yield place, place.environment(_keyring_daemons.env)
    _keyring_daemons.clear()


def warns_plaintext(place: Place, env: dict[str, str], path: Path) -> bool:
    """Whether ``doctor`` warns of a plaintext key in path."""
    p = llm_settings(place, env, "doctor")
    return any(str(path) in line and "plaintext" in line
               for line in (p.stdout + p.stderr).splitlines())


def configure_two_groups(place: Place, env: dict[str, str]) -> None:
    """[llm] = MAIN with the "main" key, [llm.fast] = FAST with the "fast" key."""
    configure(place, env, None, MAIN, KEYS["main"])
    configure(place, env, "fast", FAST, KEYS["fast"])


def test_cli_file_saved_by_openhands_imports_with_key_moved_to_keyring(
        cli_python: Path, world: tuple[Place, dict[str, str]]) -> None:
    place, env = world
    run_script(cli_python, "cli_write.py", env, {
        "model": "openai/gpt-4o-mini", "base_url": "http://127.0.0.1:9101/v1",
        "api_key": KEYS["cli"], "timeout": 120, "max_size": 80,
        "llm": {"num_retries": 3, "retry_min_wait": 2, "retry_max_wait": 20,
                "retry_multiplier": 1.5, "temperature": 0.3}}, place.root)
    source_path = place.cli / "agent_settings.json"
    before = json.loads(source_path.read_text())
    assert before["llm"]["api_key"] == KEYS["cli"]  # OpenHands keeps it in plaintext
    assert warns_plaintext(place, env, source_path)

    ok(llm_settings(place, env, "import", "--remove-plaintext"))  # found in the CLI's folder

    assert KEYS["cli"] not in place.config.read_text()
    assert_imported(config_groups(place)["llm"], before["llm"], {
        "model": "openai/gpt-4o-mini", "base_url": "http://127.0.0.1:9101/v1", "timeout": 120,
        "num_retries": 3, "retry_min_wait": 2, "retry_max_wait": 20, "retry_multiplier": 1.5,
        "temperature": 0.3})
    assert key_hash(place, env) == sha(KEYS["cli"])
    # --remove-plaintext: the key left the CLI's file, everything else stayed
    after = json.loads(source_path.read_text())
    assert files_holding(place.root, KEYS["cli"]) == []
    assert without_keys(after) == without_keys(before)
    assert oct(source_path.stat().st_mode & 0o777) == "0o600"
    assert not warns_plaintext(place, env, source_path)

    # the CLI still reads the file, and with --override-with-envs gets the key from exec
    read = exec_script(place, env, cli_python, "cli_read.py",
                       {"keys": KEYS, "runtime": True})
    assert read["disk"] is not None, "the CLI calls the file corrupted"
    for llm, usage in ((read["runtime"]["llm"], "agent"),
                       (read["runtime"]["condenser"], "condenser")):
        assert llm["api_key"] == "cli"
        assert llm["usage_id"] == usage
        assert (llm["model"], llm["base_url"], llm["num_retries"]) == (
            "openai/gpt-4o-mini", "http://127.0.0.1:9101/v1", 3)
    assert read["runtime"]["condenser_max_size"] == 80


def test_web_settings_saved_by_server_import_with_profiles_and_keys_in_keyring(
        web_python: Path, world: tuple[Place, dict[str, str]]) -> None:
    place, env = world
    written = run_script(web_python, "web_write.py", env, {
        "llm": {"model": "openai/gpt-4o-mini", "base_url": "http://127.0.0.1:9102/v1",
                "api_key": KEYS["web"], "num_retries": 4, "retry_max_wait": 25, "timeout": 90},
        "profiles": {"fast.v2": {"model": FAST["model"], "api_key": KEYS["fast"],
                                 "num_retries": 7, "retry_min_wait": 3},
                     "main": None},  # the server snapshots the current LLM
        "active": "main"}, place.root)
    settings = Path(written["path"])
    assert settings == place.server / "settings.json"
    source = settings.read_bytes()
    data = json.loads(source)

    ok(llm_settings(place, env, "import", str(settings)))

    assert settings.read_bytes() == source  # without --remove-plaintext the file is not touched
    text = place.config.read_text()
    assert KEYS["web"] not in text and KEYS["fast"] not in text
    groups = config_groups(place)
    assert_imported(groups["llm"], data["agent_settings"]["llm"], {
        "model": "openai/gpt-4o-mini", "base_url": "http://127.0.0.1:9102/v1",
        "num_retries": 4, "retry_max_wait": 25, "timeout": 90})
    profiles = data["llm_profiles"]["profiles"]
    # OpenHands 0.x's [llm.NAME] takes no dot
    assert_imported(groups["fast_v2"], profiles["fast.v2"], {
        "model": FAST["model"], "num_retries": 7, "retry_min_wait": 3})
    assert_imported(groups["main"], profiles["main"], {
        "model": "openai/gpt-4o-mini", "base_url": "http://127.0.0.1:9102/v1"})
    assert key_hash(place, env) == sha(KEYS["web"])
    assert key_hash(place, env, "fast_v2") == sha(KEYS["fast"])
    assert key_hash(place, env, "main") == sha(KEYS["web"])

    # the web app reads its key only from this file: --remove-plaintext leaves it there
    place.config.unlink()
    p = ok(llm_settings(place, env, "import", "--remove-plaintext", str(settings)))
    assert settings.read_bytes() == source
    assert f"kept the key in {settings}" in p.stderr
    assert warns_plaintext(place, env, settings)  # doctor still says where it is


def test_apply_cli_keeps_the_cli_file_and_the_cli_gets_the_key_through_exec(
        cli_python: Path, world: tuple[Place, dict[str, str]]) -> None:
    place, env = world
    written = run_script(cli_python, "cli_write.py", env, {
        "model": "openai/gpt-4o", "base_url": "http://127.0.0.1:9103/v1",
        "api_key": KEYS["old"], "max_size": 80}, place.root)
    path = place.cli / "agent_settings.json"
    source = path.read_bytes()
    before = json.loads(source)
    configure(place, env, None, MAIN, KEYS["main"])

    # the file's own plaintext key is never destroyed: apply says to import it first
    refused = llm_settings(place, env, "apply", "--to", "cli")
    assert refused.returncode == 1
    assert "import --remove-plaintext" in refused.stderr
    assert path.read_bytes() == source
    ok(llm_settings(place, env, "import", "--remove-plaintext"))
    assert key_hash(place, env, "cli") == sha(KEYS["old"])  # [llm] was taken: [llm.cli]

    p = ok(llm_settings(place, env, "apply", "--to", "cli"))
    assert "--override-with-envs" in p.stdout + p.stderr

    after = json.loads(path.read_text())
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert files_holding(place.root, KEYS["main"]) == []
    assert files_holding(place.root, KEYS["old"]) == []  # the old plaintext key is gone too
    assert {k: v for k, v in after.items() if k not in ("llm", "condenser")} == {
        k: v for k, v in before.items() if k not in ("llm", "condenser")}
    assert {k: v for k, v in after["condenser"].items() if k != "llm"} == {
        k: v for k, v in before["condenser"].items() if k != "llm"}
    assert list(after) == list(before)  # key order kept
    for llm, usage in ((after["llm"], "agent"), (after["condenser"]["llm"], "condenser")):
        assert llm.get("api_key") is None
        assert llm["usage_id"] == usage

    read = exec_script(place, env, cli_python, "cli_read.py", {"keys": KEYS, "runtime": True})
    assert read["disk"] is not None, "the CLI calls the file corrupted"
    assert read["disk"]["tools"] == written["tools"]
    assert read["disk"]["llm"]["api_key"] is None
    expected = {**MAIN, "api_key": "main"}
    for llm, usage in ((read["runtime"]["llm"], "agent"),
                       (read["runtime"]["condenser"], "condenser")):
        assert {k: llm[k] for k in expected} == expected
        assert llm["usage_id"] == usage
    assert read["runtime"]["condenser_max_size"] == 80


def test_sdk_profiles_saved_by_the_sdk_import_and_lose_their_plaintext_keys(
        web_python: Path, world: tuple[Place, dict[str, str]]) -> None:
    place, env = world
    configure(place, env, None, {"model": "openai/gpt-4o"})  # [llm] taken: profiles are groups
    written = run_script(web_python, "sdk_write.py", env, {"profiles": {
        "main": {"model": MAIN["model"], "base_url": "http://127.0.0.1:9105/v1",
                 "api_key": KEYS["main"], "num_retries": 2, "timeout": 45},
        "fast": {"model": FAST["model"], "api_key": KEYS["fast"], "retry_max_wait": 12}}},
        place.root)
    folder = Path(written["dir"])
    assert folder == place.server / "profiles"
    before = {p.stem: json.loads(p.read_text()) for p in folder.glob("*.json")}
    assert before["main"]["api_key"] == KEYS["main"]

    ok(llm_settings(place, env, "import", "--remove-plaintext"))

    groups = config_groups(place)
    assert groups["llm"] == {"model": "openai/gpt-4o"}
    assert_imported(groups["main"], before["main"], {
        "model": MAIN["model"], "base_url": "http://127.0.0.1:9105/v1", "num_retries": 2,
        "timeout": 45})
    assert_imported(groups["fast"], before["fast"], {"model": FAST["model"],
                                                     "retry_max_wait": 12})
    assert key_hash(place, env, "main") == sha(KEYS["main"])
    assert key_hash(place, env, "fast") == sha(KEYS["fast"])
    for key in ("main", "fast"):
        assert files_holding(place.root, KEYS[key]) == [], f"the {key} key stayed in a file"
    after = {p.stem: json.loads(p.read_text()) for p in folder.glob("*.json")}
    for name, data in before.items():
        assert {k: v for k, v in after[name].items() if k != "api_key"} == {
            k: v for k, v in data.items() if k != "api_key"}
    read = run_script(web_python, "sdk_read.py", env, {"dir": str(folder), "keys": KEYS},
                      place.root)
    assert {n: (llm["model"], llm["api_key"]) for n, llm in read["profiles"].items()} == {
        "main": (MAIN["model"], None), "fast": (FAST["model"], None)}


def test_apply_sdk_profiles_load_with_both_sdk_releases(
        cli_python: Path, web_python: Path, world: tuple[Place, dict[str, str]]) -> None:
    place, env = world
    configure_two_groups(place, env)

    ok(llm_settings(place, env, "apply", "--to", "sdk"))

    folder = place.server / "profiles"
    assert files_holding(place.root, KEYS["main"]) == []
    assert files_holding(place.root, KEYS["fast"]) == []
    for python, server in ((web_python, True), (cli_python, False)):  # SDK 1.34, then 1.21
        read = run_script(python, "sdk_read.py", env, {"dir": str(folder), "keys": KEYS},
                          place.root)
        profiles = read["profiles"]
        assert set(read["modes"].values()) == {"0o600"}
        assert profiles["fast"]["model"] == FAST["model"]
        assert profiles["fast"]["num_retries"] == FAST["num_retries"]
        # [llm.fast] inherits the rest of [llm]
        assert {k: profiles["fast"][k] for k in RETRIES[1:]} == {k: MAIN[k] for k in RETRIES[1:]}
        assert profiles["fast"]["timeout"] == MAIN["timeout"]
        mains = [name for name, llm in profiles.items() if llm["model"] == MAIN["model"]]
        assert len(mains) == 1, profiles
        assert {k: profiles[mains[0]][k] for k in MAIN} == MAIN
        assert {llm["api_key"] for llm in profiles.values()} == {None}
        if server:  # the agent server finds them in OH_PERSISTENCE_DIR/profiles
            assert read["agent_server"] == sorted(profiles)


def test_apply_web_with_insecure_storage_loads_in_the_server_settings_store(
        web_python: Path, world: tuple[Place, dict[str, str]]) -> None:
    place, env = world
    run_script(web_python, "web_write.py", env, {
        "llm": {"model": "openai/gpt-4o", "api_key": KEYS["old"]},
        "top": {"language": "de"}, "conversation": {"max_iterations": 77},
        "profiles": {"old": None}}, place.root)
    configure_two_groups(place, env)

    ok(llm_settings(place, env, "apply", "--to", "web", "--insecure-storage"))

    read = run_script(web_python, "web_read.py", env, {"keys": KEYS}, place.root)
    assert read["mode"] == "0o600"
    for llm in (read["llm"], read["agent_llm"]):
        assert {k: llm[k] for k in MAIN} == MAIN
        assert llm["api_key"] == "main"
    fast = read["profiles"]["fast"]
    assert (fast["model"], fast["num_retries"], fast["timeout"], fast["api_key"]) == (
        FAST["model"], FAST["num_retries"], MAIN["timeout"], "fast")
    assert read["raw_profiles"] == list(read["profiles"]), "the server dropped a profile"
    assert (read["language"], read["max_iterations"]) == ("de", 77)  # other settings kept


def test_canary_never_lands_in_a_file_apply_writes_without_insecure_storage(
        cli_python: Path, world: tuple[Place, dict[str, str]]) -> None:
    place, env = world
    configure_two_groups(place, env)

    for target in ("cli", "sdk", "web"):
        llm_settings(place, env, "apply", "--to", target, "--dry-run")
    assert [p for p in place.root.rglob("*") if p.is_file() and p != place.config
            and not p.name.startswith(".config.toml")] == [], "--dry-run wrote a file"

    ok(llm_settings(place, env, "apply", "--to", "cli"))
    ok(llm_settings(place, env, "apply", "--to", "sdk"))
    web = llm_settings(place, env, "apply", "--to", "web")
    assert web.returncode != 0, "the web app's file needs the key: apply must refuse"
    assert not (place.server / "settings.json").exists()

    for key in ("main", "fast"):
        assert files_holding(place.root, KEYS[key]) == [], f"the {key} key was written"
    assert (place.cli / "agent_settings.json").exists()
    assert list((place.server / "profiles").glob("*.json"))

    # a fresh agent_settings.json is one the CLI runs with, its key from the keyring
    read = exec_script(place, env, cli_python, "cli_read.py", {"keys": KEYS, "runtime": True})
    assert read["disk"] is not None, "the CLI calls the file corrupted"
    runtime = read["runtime"]["llm"]
    assert {k: runtime[k] for k in MAIN} == MAIN
    assert runtime["api_key"] == "main"
