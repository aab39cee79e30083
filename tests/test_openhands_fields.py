"""Settings of the whole OpenHands config ([core], [security], [condenser]) through the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

from tests.test_cli import Run, run, template  # noqa: F401 - fixtures

SEARCH_CANARY = "tvly-CANARY-search-7d1e0b9c4f2a"


def _cfg(path: Path) -> dict:
    return tomllib.loads(path.read_text())


def _keyring_has(env: dict[str, str], account: str) -> str:
    code = ("import keyring,sys; v=keyring.get_password('llm-settings', sys.argv[1]);"
            "print('none' if v is None else ('canary' if v == sys.argv[2] else 'other'))")
    out = subprocess.run([sys.executable, "-c", code, account, SEARCH_CANARY],
                         capture_output=True, text=True, env={**os.environ, **env},
                         timeout=120, check=True)
    return out.stdout.strip()


def _no_canary(*procs: subprocess.CompletedProcess) -> None:
    for p in procs:
        assert SEARCH_CANARY not in p.stdout and SEARCH_CANARY not in p.stderr


def test_core_and_security_fields_set_get_show_export_unset(run: Run,  # noqa: F811
                                                            template: Path) -> None:  # noqa: F811
    c = ("--config", str(template))
    for name, value in [("default_agent", "LocAgent"), ("enable_default_condenser", "false"),
                        ("confirmation_mode", "true"), ("security_analyzer", "invariant")]:
        p = run(*c, "set", name, value)
        assert p.returncode == 0, p.stderr
        assert run(*c, "get", name).stdout.strip() == value
    data = _cfg(template)
    assert data["core"]["default_agent"] == "LocAgent"
    assert data["core"]["enable_default_condenser"] is False
    assert data["security"] == {"confirmation_mode": True, "security_analyzer": "invariant"}
    exported = run(*c, "export").stdout.splitlines()
    for line in ("DEFAULT_AGENT=LocAgent", "ENABLE_DEFAULT_CONDENSER=false",
                 "SECURITY_CONFIRMATION_MODE=true", "SECURITY_SECURITY_ANALYZER=invariant"):
        assert line in exported
    rows = {r["field"]: r for r in json.loads(run(*c, "show", "--json").stdout)["fields"]}
    assert rows["default_agent"]["scope"] == "whole config"
    assert rows["model"]["scope"] == "[llm]"
    show = run(*c, "show").stdout
    assert any(line.startswith("security_analyzer") and "whole config: [security]" in line
               for line in show.splitlines())
    env = run(*c, "exec", "--", sys.executable, "-c",
              "import os; print(os.environ['SECURITY_CONFIRMATION_MODE'], "
              "os.environ['DEFAULT_AGENT'])")
    assert env.stdout.split() == ["true", "LocAgent"]
    bad = run(*c, "set", "default_agent", "Foo")
    assert bad.returncode != 0 and "must be one of CodeActAgent" in bad.stderr
    bad = run(*c, "set", "security_analyzer", "none")
    assert bad.returncode != 0 and "must be one of llm, invariant" in bad.stderr
    assert run(*c, "doctor").returncode == 0
    p = run(*c, "unset", "security_analyzer")
    assert p.returncode == 0 and "security_analyzer" not in _cfg(template)["security"]
    assert run(*c, "get", "security_analyzer").stdout.strip() == ""


def test_group_set_of_a_whole_config_field_writes_core_and_says_so(
        run: Run, template: Path) -> None:  # noqa: F811
    c = ("--config", str(template))
    assert run(*c, "--llm", "fast", "set", "model", "openai/gpt-4o-mini").returncode == 0
    p = run(*c, "--llm", "fast", "set", "default_agent", "ReadOnlyAgent")
    assert p.returncode == 0, p.stderr
    assert "applies to the whole OpenHands config, not only [llm.fast]" in p.stderr
    data = _cfg(template)
    assert data["core"]["default_agent"] == "ReadOnlyAgent"
    assert "default_agent" not in data["llm"]["fast"]
    assert run(*c, "get", "default_agent").stdout.strip() == "ReadOnlyAgent"


def test_condenser_max_size_writes_an_llm_condenser_of_the_group(
        run: Run, template: Path) -> None:  # noqa: F811
    c = ("--config", str(template))
    assert run(*c, "--llm", "cheap", "set", "model", "openai/gpt-4o-mini").returncode == 0
    missing = run(*c, "--llm", "nope", "set", "condenser_max_size", "40")
    assert missing.returncode != 0 and "no group [llm.nope]" in missing.stderr
    assert _cfg(template)["condenser"] == {"type": "noop"}  # as in OpenHands' template
    low = run(*c, "set", "condenser_max_size", "5")
    assert low.returncode != 0 and "must be at least 20" in low.stderr
    p = run(*c, "--llm", "cheap", "set", "condenser_max_size", "40")
    assert p.returncode == 0, p.stderr
    assert _cfg(template)["condenser"] == {"type": "llm", "max_size": 40, "llm_config": "cheap"}
    assert run(*c, "get", "condenser_max_size").stdout.strip() == "40"
    assert "CONDENSER" not in run(*c, "export").stdout.replace("ENABLE_DEFAULT_CONDENSER", "")
    assert run(*c, "doctor").returncode == 0
    p = run(*c, "set", "condenser_max_size", "25")  # without a group: summarizes with [llm]
    assert _cfg(template)["condenser"]["llm_config"] == "llm"
    p = run(*c, "set", "enable_default_condenser", "false")
    assert "does not switch off the llm [condenser]" in p.stderr  # OpenHands 0.62 still condenses
    p = run(*c, "unset", "condenser_max_size")
    assert p.returncode == 0 and "back to type noop" in p.stderr
    assert _cfg(template)["condenser"] == {"type": "noop"}
    assert run(*c, "get", "condenser_max_size").stdout.strip() == ""


def test_condenser_of_another_type_is_kept_and_takes_precedence(run: Run,  # noqa: F811
                                                                tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    text = '[llm]\nmodel = "openai/gpt-4o"\n\n[condenser]\ntype = "recent"\nmax_events = 50\n'
    path.write_text(text)
    p = run("--config", str(path), "set", "condenser_max_size", "30")
    assert p.returncode != 0
    assert "[condenser] of type 'recent', which takes precedence" in p.stderr
    p = run("--config", str(path), "unset", "condenser_max_size")
    assert p.returncode != 0
    assert path.read_text() == text


def test_search_key_lives_in_the_keyring_and_reaches_exec(
        run: Run, template: Path, keyring_session: dict[str, str],  # noqa: F811
        real_keyring: dict[str, str]) -> None:  # starts empty, whatever ran before
    c = ("--config", str(template))
    before = template.read_text()
    p = run(*c, "set", "search_api_key", "-", input=SEARCH_CANARY + "\n")
    assert p.returncode == 0, p.stderr
    assert template.read_text() == before
    assert _keyring_has(keyring_session, "search_api_key") == "canary"
    assert _keyring_has(keyring_session, "openai") == "none"  # not the LLM key's entry
    got = run(*c, "get", "search_api_key")
    shown = run(*c, "show")
    exported = run(*c, "export")
    _no_canary(p, got, shown, exported)
    assert got.stdout.startswith("****") and "keyring" in got.stdout
    assert "# SEARCH_API_KEY is a secret" in exported.stdout
    ex = run(*c, "exec", "--", sys.executable, "-c",
             f"import os; print(os.environ['SEARCH_API_KEY'] == {SEARCH_CANARY!r})")
    assert ex.stdout.strip() == "True"
    with_secrets = run(*c, "export", "--with-secrets", check_canary=False)
    assert f"SEARCH_API_KEY={SEARCH_CANARY}" in with_secrets.stdout.splitlines()
    p = run(*c, "unset", "search_api_key")
    assert p.returncode == 0 and _keyring_has(keyring_session, "search_api_key") == "none"


def test_migrate_keys_moves_a_plaintext_core_search_key(
        run: Run, tmp_path: Path, keyring_session: dict[str, str],  # noqa: F811
        real_keyring: dict[str, str]) -> None:  # starts empty, whatever ran before
    path = tmp_path / "config.toml"
    path.write_text(f'[core]\nsearch_api_key = "{SEARCH_CANARY}"\n\n'
                    '[llm]\nmodel = "openai/gpt-4o"\n')
    p = run("--config", str(path), "migrate-keys")
    _no_canary(p)
    assert p.returncode == 0, p.stderr
    assert "moved search_api_key of [core] to the keyring" in p.stderr
    assert SEARCH_CANARY not in path.read_text()
    assert _keyring_has(keyring_session, "search_api_key") == "canary"
    assert "keyring" in run("--config", str(path), "get", "search_api_key").stdout


def test_insecure_search_key_goes_to_core(run: Run, template: Path) -> None:  # noqa: F811
    c = ("--config", str(template))
    p = run(*c, "set", "search_api_key", "-", "--insecure-storage", input=SEARCH_CANARY)
    _no_canary(p)
    assert p.returncode == 0 and "([core])" in p.stderr
    assert _cfg(template)["core"]["search_api_key"] == SEARCH_CANARY
    assert run(*c, "doctor").returncode == 0


def test_doctor_warns_of_an_unknown_agent_or_analyzer_and_a_plaintext_search_key(
        run: Run, tmp_path: Path) -> None:  # noqa: F811
    path = tmp_path / "config.toml"
    path.write_text(f'[core]\ndefault_agent = "CodeAgent"\nsearch_api_key = "{SEARCH_CANARY}"\n'
                    '[llm]\nmodel = "openai/gpt-4o"\n[security]\nsecurity_analyzer = "none"\n')
    p = run("--config", str(path), "doctor")
    _no_canary(p)
    assert "warning: [core]: Agent (default_agent): must be one of CodeActAgent" in p.stdout
    assert "warning: [security]: security_analyzer: must be one of llm, invariant" in p.stdout
    assert "[core]: search_api_key is stored in plaintext" in p.stdout
