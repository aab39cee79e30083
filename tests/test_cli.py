"""The CLI as a user runs it: a real process, a real config.toml, a real Secret Service."""

from __future__ import annotations

import difflib
import json
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.files import TEMPLATE
from tests.keyring_env import CANARY

BIN = Path(sys.executable).parent / "llm-settings"
FAIL_BACKEND = "keyring.backends.fail.Keyring"

Run = Callable[..., subprocess.CompletedProcess]


def _clean_env(base: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in base.items() if not k.startswith("LLM_")}


@pytest.fixture
def run(keyring_session: dict[str, str], tmp_path: Path) -> Run:
    """Run llm-settings with the private keyring session; every output is checked for the canary."""
    base = _clean_env({**os.environ, **keyring_session})

    def _run(*args: str, input: str | None = None, env: dict[str, str] | None = None,
             check_canary: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
        proc = subprocess.run([str(BIN), *args], input=input, capture_output=True, text=True,
                              env={**base, **(env or {})}, cwd=tmp_path, timeout=timeout)
        if check_canary:
            assert CANARY not in proc.stdout and CANARY not in proc.stderr
        assert "Traceback" not in proc.stderr
        return proc

    return _run


@pytest.fixture
def template(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    shutil.copyfile(TEMPLATE, path)
    return path


def changed_lines(before: str, after: str) -> list[str]:
    return [line for line in difflib.unified_diff(before.splitlines(), after.splitlines(),
                                                  lineterm="", n=0)
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]


def keyring_get(env: dict[str, str], account: str) -> str | None:
    code = ("import keyring,sys; v=keyring.get_password('llm-settings', sys.argv[1]);"
            "print('none' if v is None else ('canary' if v == sys.argv[2] else 'other'))")
    out = subprocess.run([sys.executable, "-c", code, account, CANARY], capture_output=True,
                         text=True, env={**os.environ, **env}, timeout=120, check=True)
    return out.stdout.strip()


# -- config.toml edits -----------------------------------------------------------------
def test_set_model_on_openhands_template_changes_one_line(run: Run, template: Path) -> None:
    before = template.read_text()
    p = run("--config", str(template), "set", "model", "anthropic/claude-3-7-sonnet-20250219")
    assert p.returncode == 0, p.stderr
    assert changed_lines(before, template.read_text()) == [
        '-model = "gpt-4o"', '+model = "anthropic/claude-3-7-sonnet-20250219"']


def test_set_one_retry_setting_pins_all_four_next_to_their_twins(run: Run, template: Path
                                                                   ) -> None:
    p = run("--config", str(template), "set", "num_retries", "6")
    assert p.returncode == 0, p.stderr
    lines = template.read_text().splitlines()
    for key, value in [("num_retries", "6"), ("retry_min_wait", "5"), ("retry_max_wait", "30"),
                       ("retry_multiplier", "2")]:
        i = lines.index(f"{key} = {value}")
        assert lines[i - 1].startswith(f"#{key} = "), key  # right after the commented twin
    assert "also pinned retry_min_wait = 5" in p.stderr


@pytest.mark.parametrize(("args", "code", "message"), [
    (("set", "num_retries", "four"), 1, "not a whole number"),
    (("set", "temperature", "9"), 1, "at most 2"),
    (("set", "base_url", "127.0.0.1:8000"), 1, "http://"),
    (("set", "model", "127.0.0.1:8765/v1"), 1, "did you mean `set base_url http://127.0.0.1"),
    (("set", "num_retrys", "3"), 2, "did you mean num_retries"),
    (("set", "num_retries", "-1"), 1, "Attempts (num_retries): must be at least 1 (got -1)"),
    (("set", "temperature", "-0.5"), 1, "must be at least 0 (got -0.5)"),
    (("set", "retry_min_wait", "60"), 1, "longer than retry_max_wait"),
    (("set", "completion_kwargs", "{}"), 1, "inside [llm] as a named group"),
])
def test_invalid_values_are_refused_with_the_reason_and_nothing_written(
        run: Run, template: Path, args: tuple[str, ...], code: int, message: str) -> None:
    before = template.read_bytes()
    p = run("--config", str(template), *args)
    assert p.returncode == code
    assert message in p.stderr
    assert len(p.stderr.strip().splitlines()) <= 2
    assert template.read_bytes() == before


def test_broken_toml_is_never_overwritten(run: Run, tmp_path: Path) -> None:
    cfg = tmp_path / "broken.toml"
    cfg.write_text('[llm]\nmodel = "gpt-4o"\nnum_retries = = 3\n')
    before = cfg.read_bytes()
    p = run("--config", str(cfg), "set", "model", "openai/o3")
    assert p.returncode == 1
    assert "line 3" in p.stderr and "column" in p.stderr
    assert cfg.read_bytes() == before
    d = run("--config", str(cfg), "doctor")
    assert d.returncode == 1 and "line 3" in d.stdout


def test_named_group_inherits_and_is_created(run: Run, template: Path) -> None:
    p = run("--config", str(template), "--llm", "groq", "set", "model",
            "groq/llama-3.3-70b-versatile")
    assert p.returncode == 0, p.stderr
    text = template.read_text()
    assert '[llm.groq]\nmodel = "groq/llama-3.3-70b-versatile"' in text
    # the new group goes after the last [llm...] table, before [agent]
    assert text.index("[llm.groq]") < text.index("[agent]")
    shown = json.loads(run("--config", str(template), "--llm", "groq", "show", "--json").stdout)
    rows = {r["field"]: r for r in shown["fields"]}
    assert rows["model"]["source"] == "file [llm.groq]"
    assert shown["group"] == "[llm.groq]" and shown["provider"] == "groq"
    run("--config", str(template), "set", "temperature", "0.5")
    shown = json.loads(run("--config", str(template), "--llm", "groq", "show", "--json").stdout)
    rows = {r["field"]: r for r in shown["fields"]}
    assert rows["temperature"] == {**rows["temperature"], "value": 0.5,
                                   "source": "inherited from [llm]"}
    g = run("--config", str(template), "--llm", "groq", "get", "temperature")
    assert g.stdout.strip() == "0.5"


def test_unset(run: Run, template: Path) -> None:
    run("--config", str(template), "--llm", "draft_editor", "set", "num_retries", "9")
    p = run("--config", str(template), "--llm", "draft_editor", "unset", "num_retries")
    assert "inherits from [llm]" in p.stderr
    assert "num_retries = 9" not in template.read_text()
    run("--config", str(template), "set", "num_retries", "7")
    p = run("--config", str(template), "unset", "num_retries")
    assert "documented default 4" in p.stderr
    assert "\nnum_retries = 4\n" in template.read_text()


def test_env_overrides_are_shown(run: Run, template: Path) -> None:
    run("--config", str(template), "set", "num_retries", "6")
    p = run("--config", str(template), "show", env={"LLM_NUM_RETRIES": "9"})
    line = next(x for x in p.stdout.splitlines() if x.startswith("num_retries"))
    assert "9" in line and "env LLM_NUM_RETRIES" in line and "overrides file [llm]" in line
    s = run("--config", str(template), "set", "num_retries", "3", env={"LLM_NUM_RETRIES": "9"})
    assert "LLM_NUM_RETRIES in the environment overrides" in s.stderr


def test_default_config_location(run: Run, keyring_session: dict[str, str], tmp_path: Path
                                 ) -> None:
    home = Path(keyring_session["HOME"])
    p = run("set", "model", "openai/o3")
    assert p.returncode == 0, p.stderr
    target = home / ".openhands" / "config.toml"
    assert 'model = "openai/o3"' in target.read_text()
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    (tmp_path / "config.toml").write_text('[llm]\nmodel = "openai/o4-mini"\n')
    assert run("get", "model").stdout.strip() == "openai/o4-mini"  # ./config.toml wins


# -- keys ------------------------------------------------------------------------------
def test_key_goes_to_keyring_never_to_file_or_output(run: Run, template: Path,
                                                     keyring_session: dict[str, str]) -> None:
    run("--config", str(template), "set", "model", "anthropic/claude-3-7-sonnet-20250219")
    before = template.read_bytes()
    p = run("--config", str(template), "set", "api_key", "-", input=CANARY + "\n")
    assert p.returncode == 0, p.stderr
    assert "llm-settings/anthropic" in p.stderr
    assert template.read_bytes() == before
    assert CANARY not in template.read_text()
    assert keyring_get(keyring_session, "anthropic") == "canary"
    show = run("--config", str(template), "show")
    line = next(x for x in show.stdout.splitlines() if x.startswith("api_key"))
    assert CANARY[-4:] in line and "keyring llm-settings/anthropic" in line
    # another model of the same provider keeps the key; another provider does not have it
    run("--config", str(template), "set", "model", "anthropic/claude-sonnet-4-20250514")
    assert "keyring" in run("--config", str(template), "get", "api_key").stdout
    run("--config", str(template), "set", "model", "openai/o3")
    assert "not set" in run("--config", str(template), "get", "api_key").stdout
    # a local server keeps its own key
    run("--config", str(template), "set", "base_url", "http://127.0.0.1:8000/v1")
    run("--config", str(template), "set", "api_key", "-", input="local-server-key\n")
    assert keyring_get(keyring_session, "openai@127.0.0.1:8000") == "other"
    assert keyring_get(keyring_session, "openai") == "none"


def test_key_is_never_taken_from_argv(run: Run, template: Path) -> None:
    before = template.read_bytes()
    p = run("--config", str(template), "set", "api_key", CANARY, check_canary=False)
    assert p.returncode == 2
    assert CANARY not in p.stderr and CANARY not in p.stdout
    assert "stdin" in p.stderr
    assert template.read_bytes() == before


def test_empty_key_keeps_the_stored_one(run: Run, template: Path,
                                        keyring_session: dict[str, str]) -> None:
    run("--config", str(template), "set", "model", "deepseek/deepseek-chat")
    run("--config", str(template), "set", "api_key", "-", input=CANARY)
    p = run("--config", str(template), "set", "api_key", "-", input="\n")
    assert p.returncode == 1 and "current one is kept" in p.stderr
    assert keyring_get(keyring_session, "deepseek") == "canary"


def test_env_key_wins_and_is_masked(run: Run, template: Path) -> None:
    p = run("--config", str(template), "show", "--json", env={"LLM_API_KEY": CANARY})
    row = next(r for r in json.loads(p.stdout)["fields"] if r["field"] == "api_key")
    assert row["source"] == "env LLM_API_KEY" and row["value"] == "****" + CANARY[-4:]


def test_no_keyring_explains_and_offers_fallbacks(run: Run, template: Path) -> None:
    env = {"PYTHON_KEYRING_BACKEND": FAIL_BACKEND}
    p = run("--config", str(template), "set", "api_key", "-", input=CANARY, env=env)
    assert p.returncode == 1
    assert "LLM_API_KEY" in p.stderr and "--insecure-storage" in p.stderr
    assert CANARY not in template.read_text()
    show = run("--config", str(template), "show", env=env)
    assert show.returncode == 0 and "keyring: unavailable" in show.stdout


def test_insecure_storage_then_migrate(run: Run, template: Path,
                                       keyring_session: dict[str, str]) -> None:
    env = {"PYTHON_KEYRING_BACKEND": FAIL_BACKEND}
    template.chmod(0o644)
    p = run("--config", str(template), "set", "api_key", "--insecure-storage", "-",
            input=CANARY, env=env)
    assert p.returncode == 0 and "PLAINTEXT" in p.stderr
    assert f'api_key = "{CANARY}"' in template.read_text()
    assert stat.S_IMODE(template.stat().st_mode) == 0o600
    shown = json.loads(run("--config", str(template), "show", "--json", env=env).stdout)
    row = next(r for r in shown["fields"] if r["field"] == "api_key")
    assert row["source"] == "file [llm]"
    d = run("--config", str(template), "doctor", env=env)
    assert "plaintext" in d.stdout and d.returncode == 0
    m = run("--config", str(template), "migrate-keys")
    assert m.returncode == 0, m.stderr
    assert CANARY not in template.read_text()
    assert "api_key =" not in template.read_text().split("[llm]", 1)[1].split("[llm.", 1)[0]
    assert keyring_get(keyring_session, "openai") == "canary"  # model gpt-4o -> openai


# -- doctor ----------------------------------------------------------------------------
def test_doctor_passes_openhands_template(run: Run, template: Path) -> None:
    p = run("--config", str(template), "doctor")
    assert p.returncode == 0, p.stdout
    assert "llm_config = 'gpt3' names no [llm.gpt3] group" in p.stdout


@pytest.mark.parametrize(("toml", "message"), [
    ('[llm]\nmodel = "x/y"\nnum_retrie = 3\n',
     "unknown key 'num_retrie' (did you mean num_retries?)"),
    ('[llm]\nembedding_model = "local"\n', "embedding_model is not accepted there"),
    ('[llm]\nnum_retries = 3.5\n', "expected a whole number"),
    ('[llm.fast]\nmodle = "x"\n', "skip the group [llm.fast]"),
])
def test_doctor_fails_on_what_openhands_would_discard(run: Run, tmp_path: Path, toml: str,
                                                      message: str) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(toml)
    p = run("--config", str(cfg), "doctor")
    assert p.returncode == 1
    assert message in p.stdout


def test_doctor_reports_env_overrides_and_bad_env(run: Run, template: Path) -> None:
    p = run("--config", str(template), "doctor",
            env={"LLM_MODEL": "openai/o3", "LLM_NUM_RETRIES": "many", "LLM_MODLE": "x"})
    assert "LLM_MODEL in the environment overrides model from [llm] ('openai/o3')" in p.stdout
    assert "LLM_NUM_RETRIES='many' is not a whole number" in p.stdout
    assert "did you mean LLM_MODEL" in p.stdout


# -- export / exec ---------------------------------------------------------------------
def test_export_env_and_docker(run: Run, template: Path) -> None:
    run("--config", str(template), "set", "model", "openai/o3")
    run("--config", str(template), "set", "api_key", "-", input=CANARY)
    run("--config", str(template), "set", "embedding_model", "local")
    env = run("--config", str(template), "export").stdout.splitlines()
    assert "LLM_MODEL=openai/o3" in env and "LLM_EMBEDDING_MODEL=local" in env
    assert not any(x.startswith("LLM_API_KEY=") for x in env)
    docker = run("--config", str(template), "export", "--format", "docker").stdout
    assert "-e LLM_MODEL=openai/o3" in docker and "-e LLM_API_KEY" in docker
    full = run("--config", str(template), "export", "--with-secrets", check_canary=False)
    assert f"LLM_API_KEY={CANARY}" in full.stdout.splitlines()
    # embedding_model is kept out of [llm]
    assert "embedding_model" not in template.read_text().split("[llm]", 1)[1].split("[agent]")[0]


def test_exec_passes_key_without_disk_or_argv(run: Run, template: Path, tmp_path: Path) -> None:
    run("--config", str(template), "set", "model", "openai/o3")
    run("--config", str(template), "set", "api_key", "-", input=CANARY)
    probe = ("import os,sys; k=os.environ.get('LLM_API_KEY');"
             f"print(k=={CANARY!r}, os.environ['LLM_MODEL'], sys.argv[1:])")
    p = run("--config", str(template), "exec", "--", sys.executable, "-c", probe, "--flag")
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "True openai/o3 ['--flag']"
    code = run("--config", str(template), "exec", "--", sys.executable, "-c",
               "raise SystemExit(7)")
    assert code.returncode == 7
    missing = run("--config", str(template), "exec", "--", "no-such-command-xyz")
    assert missing.returncode == 1 and "cannot run 'no-such-command-xyz'" in missing.stderr


def test_prompted_key_is_not_echoed(keyring_session: dict[str, str], template: Path) -> None:
    """`set api_key` on a terminal prompts without echo; the key never shows on screen."""
    import pty
    import select

    env = _clean_env({**os.environ, **keyring_session})
    pid, fd = pty.fork()
    if pid == 0:  # child: the real console script on a terminal
        os.execve(str(BIN), [str(BIN), "--config", str(template), "set", "api_key"], env)
    seen = b""

    def read_until(marker: bytes, timeout: float = 120) -> None:
        nonlocal seen
        import time

        end = time.monotonic() + timeout
        while marker not in seen and time.monotonic() < end:
            ready, _, _ = select.select([fd], [], [], 0.1)
            if ready:
                try:
                    seen += os.read(fd, 4096)
                except OSError:
                    return

    read_until(b"API Key")
    os.write(fd, CANARY.encode() + b"\n")
    read_until(b"stored in the keyring")
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0, seen
    assert CANARY.encode() not in seen
    assert keyring_get(keyring_session, "openai") == "canary"


def test_aws_secret_goes_to_keyring_and_reaches_exec(run: Run, template: Path,
                                                     keyring_session: dict[str, str]) -> None:
    run("--config", str(template), "set", "model", "bedrock/anthropic.claude-3-7-sonnet")
    p = run("--config", str(template), "set", "aws_secret_access_key", "-", input=CANARY)
    assert p.returncode == 0, p.stderr
    assert keyring_get(keyring_session, "aws_secret_access_key:bedrock") == "canary"
    assert CANARY not in template.read_text()
    probe = f"import os; print(os.environ.get('LLM_AWS_SECRET_ACCESS_KEY') == {CANARY!r})"
    e = run("--config", str(template), "exec", "--", sys.executable, "-c", probe)
    assert e.stdout.strip() == "True"


def test_budget_is_written_to_core(run: Run, template: Path) -> None:
    p = run("--config", str(template), "set", "max_budget_per_task", "5")
    assert p.returncode == 0, p.stderr
    lines = template.read_text().splitlines()
    i = lines.index("max_budget_per_task = 5")
    assert lines[i - 1] == "#max_budget_per_task = 0.0"  # in [core], after its twin
    assert "in [core]" in p.stderr


# -- a key is never destroyed ------------------------------------------------------------
OTHER_KEY = "sk-other-stored-key-0000000001"  # already in the keyring: must survive


def keyring_set(env: dict[str, str], account: str, secret: str) -> None:
    code = "import keyring,sys; keyring.set_password('llm-settings', sys.argv[1], sys.argv[2])"
    subprocess.run([sys.executable, "-c", code, account, secret], env={**os.environ, **env},
                   timeout=120, check=True)


def keyring_value(env: dict[str, str], account: str) -> str | None:
    code = ("import keyring,sys; v=keyring.get_password('llm-settings', sys.argv[1]);"
            "print('' if v is None else v)")
    out = subprocess.run([sys.executable, "-c", code, account], capture_output=True, text=True,
                         env={**os.environ, **env}, timeout=120, check=True)
    return out.stdout.strip() or None


def test_migrate_keys_never_replaces_a_different_stored_key(
        run: Run, real_keyring: dict[str, str], tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[llm]\nmodel = "openai/gpt-4o"\napi_key = "{CANARY}"\n\n'
                   '[llm.claude]\nmodel = "anthropic/claude-sonnet-4"\n'
                   'api_key = "sk-ant-plain-000000000002"\n')
    keyring_set(real_keyring, "openai", OTHER_KEY)
    before = cfg.read_bytes()
    p = run("--config", str(cfg), "migrate-keys")
    assert p.returncode == 1
    assert "llm-settings/openai" in p.stderr and "[llm]" in p.stderr and "--replace" in p.stderr
    assert cfg.read_bytes() == before
    assert keyring_value(real_keyring, "openai") == OTHER_KEY
    assert keyring_value(real_keyring, "anthropic") is None  # all or nothing
    r = run("--config", str(cfg), "migrate-keys", "--replace")
    assert r.returncode == 0, r.stderr
    assert keyring_get(real_keyring, "openai") == "canary"
    assert keyring_value(real_keyring, "anthropic") == "sk-ant-plain-000000000002"
    assert "api_key" not in cfg.read_text()


def test_migrate_keys_same_key_in_keyring_only_cleans_the_file(
        run: Run, real_keyring: dict[str, str], tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[llm]\nmodel = "openai/gpt-4o"\napi_key = "{CANARY}"\n')
    keyring_set(real_keyring, "openai", CANARY)
    p = run("--config", str(cfg), "migrate-keys")
    assert p.returncode == 0, p.stderr
    assert cfg.read_text() == '[llm]\nmodel = "openai/gpt-4o"\n'
    assert keyring_get(real_keyring, "openai") == "canary"


# -- unknown is not absent ---------------------------------------------------------------
LOCAL = 'model = "openai/local-model"\nbase_url = "http://127.0.0.1:9/v1"\n'
PRINT_KEY = "import os; print('ran', os.environ.get('LLM_API_KEY') == 'sk-env-key-0000000003')"


def assert_unknown_everywhere(run: Run, cfg: Path, env: dict[str, str], why: str) -> None:
    """A key is stored but the keyring cannot be read: nothing says 'not set' or goes on."""
    g = run("--config", str(cfg), "get", "api_key", env=env)
    assert g.returncode == 1
    assert "could not read the keyring" in g.stdout and why in g.stdout
    assert "not set" not in g.stdout
    show = run("--config", str(cfg), "show", env=env)
    line = next(x for x in show.stdout.splitlines() if x.startswith("api_key"))
    assert "could not read the keyring" in line and "not set" not in line
    rows = {r["field"]: r for r in json.loads(
        run("--config", str(cfg), "show", "--json", env=env).stdout)["fields"]}
    assert rows["api_key"]["source"] == "keyring unreadable"
    assert "could not read the keyring" in rows["api_key"]["problem"]
    for args in (("exec", "--", sys.executable, "-c", PRINT_KEY),
                 ("export", "--with-secrets")):
        p = run("--config", str(cfg), *args, env=env)
        assert p.returncode == 1, args
        assert "could not read the keyring" in p.stderr and "ran" not in p.stdout
    # with the key in the environment the keyring is not needed
    ok = run("--config", str(cfg), "exec", "--", sys.executable, "-c", PRINT_KEY,
             env={**env, "LLM_API_KEY": "sk-env-key-0000000003"})
    assert ok.returncode == 0 and ok.stdout.strip() == "ran True", ok.stderr
    t = run("--config", str(cfg), "test", env=env, timeout=180)  # imports litellm: slow
    assert t.returncode == 1
    assert "could not read the keyring" in t.stderr and "Set one" not in t.stderr
    u = run("--config", str(cfg), "unset", "api_key", env=env)
    assert u.returncode == 1
    assert "may still be in the keyring" in u.stderr and "was not stored" not in u.stderr


def test_locked_keyring_is_unknown_not_absent(keyring_session: dict[str, str], run: Run,
                                              tmp_path: Path) -> None:
    """A key stored in a keyring that is locked since."""
    from tests.keyring_env import SESSION_VARS, lock_default_collection, start_keyring_session

    cfg = tmp_path / "config.toml"
    cfg.write_text("[llm]\n" + LOCAL)
    with start_keyring_session() as session:
        env = {k: session.env[k] for k in SESSION_VARS}
        keyring_set(env, "openai@127.0.0.1:9", CANARY)
        lock_default_collection(session.env)
        assert_unknown_everywhere(run, cfg, env, "locked")


def test_no_dbus_is_unknown_not_absent(run: Run, real_keyring: dict[str, str],
                                       tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text("[llm]\n" + LOCAL)
    keyring_set(real_keyring, "openai@127.0.0.1:9", CANARY)
    env = {k: v for k, v in {**os.environ, **real_keyring}.items()
           if k != "DBUS_SESSION_BUS_ADDRESS" and not k.startswith("LLM_")}
    proc = subprocess.run([str(BIN), "--config", str(cfg), "get", "api_key"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "DBUS_SESSION_BUS_ADDRESS is unset" in proc.stdout
    for args in (("exec", "--", sys.executable, "-c", PRINT_KEY), ("export", "--with-secrets"),
                 ("unset", "api_key")):
        p = subprocess.run([str(BIN), "--config", str(cfg), *args], env=env,
                           capture_output=True, text=True, timeout=120)
        assert p.returncode == 1 and "could not read the keyring" in p.stderr, args
        assert CANARY not in p.stdout + p.stderr and "was not stored" not in p.stderr
    assert keyring_get(real_keyring, "openai@127.0.0.1:9") == "canary"  # still there


# -- secret values never in output -------------------------------------------------------
NUMERIC_KEY = "73914620581937462058"  # a numeric key typed into the file: an int in TOML


@pytest.mark.parametrize(("env", "toml"), [
    ({"LLM_NUM_RETRIES": CANARY}, ""),  # a key pasted into the wrong variable
    ({"LLM_COMPLETION_KWARGS": '{"api_key": "' + CANARY + '"'}, ""),  # broken JSON
    ({"LLM_TEMPERATURE": CANARY}, ""),
    ({}, f"api_key = {NUMERIC_KEY}\n"),  # not text: OpenHands refuses it, we never echo it
    ({}, f"aws_secret_access_key = {NUMERIC_KEY}\n"),
])
def test_malformed_values_are_never_echoed_whole(run: Run, tmp_path: Path, env: dict[str, str],
                                                 toml: str) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text('[llm]\nmodel = "openai/gpt-4o"\n' + toml)
    field = next(iter(env), "api_key" if "api_key =" in toml else "aws_secret_access_key")
    name = field.removeprefix("LLM_").lower()
    outs = [run("--config", str(cfg), *args, env={**env, "PYTHON_KEYRING_BACKEND": FAIL_BACKEND})
            for args in (("show",), ("show", "--json"), ("get", name), ("doctor",))]
    said = "\n".join(p.stdout + p.stderr for p in outs)
    assert field in said  # the problem is reported, by name
    for secret in (CANARY, NUMERIC_KEY):
        assert secret[:12] not in said


# -- export for docker run ---------------------------------------------------------------
def test_readme_docker_line_gives_docker_plain_flags(run: Run, keyring_session: dict[str, str],
                                                    tmp_path: Path) -> None:
    """The README's own `docker run $(llm-settings export --format docker) ...` line, run."""
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    line = next(x for x in readme.splitlines() if x.startswith("docker run $(llm-settings"))
    (tmp_path / "config.toml").write_text(
        '[llm]\nmodel = "openai/o3"\nlog_completions_folder = "/tmp/my logs"\n'
        'temperature = 0.5\n')
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    record = tmp_path / "argv.json"
    (bin_dir / "docker").write_text(
        f"#!{sys.executable}\nimport json, sys\n"
        f"open({str(record)!r}, 'w').write(json.dumps(sys.argv[1:]))\n")
    (bin_dir / "docker").chmod(0o755)
    env = {**_clean_env({**os.environ, **keyring_session}),
           "PATH": f"{bin_dir}:{BIN.parent}:{os.environ['PATH']}"}
    p = subprocess.run(["bash", "-c", line], env=env, cwd=tmp_path, capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    argv = json.loads(record.read_text())
    assert argv[0] == "run" and argv[-3:] == ["-e", "LLM_API_KEY", "..."]
    assert argv[1:-3:2] == ["-e"] * len(argv[1:-3:2])  # no stray "\\" words
    flags = argv[2:-3:2]
    assert {"LLM_MODEL=openai/o3", "LLM_TEMPERATURE=0.5"} <= set(flags)
    # a value with a blank cannot survive $(...): passed by name, with a warning
    assert "LLM_LOG_COMPLETIONS_FOLDER" in flags
    assert "LLM_LOG_COMPLETIONS_FOLDER" in p.stderr and "my logs" not in p.stderr


# -- groups ------------------------------------------------------------------------------
def test_a_group_that_does_not_exist_is_never_replaced_by_llm(run: Run, template: Path) -> None:
    before = template.read_bytes()
    for args in (("get", "model"), ("show",), ("export",), ("unset", "temperature"),
                 ("exec", "--", sys.executable, "-c", "print('ran')"), ("test",)):
        p = run("--config", str(template), "--llm", "draft_editr", *args)
        assert p.returncode == 1, args
        assert p.stderr.strip() == (f"llm-settings: there is no group [llm.draft_editr] in "
                                    f"{template} (did you mean draft_editor?)"), args
        assert "ran" not in p.stdout
    assert template.read_bytes() == before
    s = run("--config", str(template), "--llm", "fast-1", "set", "model", "openai/o3")
    assert s.returncode == 0 and f"created [llm.fast-1] in {template}" in s.stderr
    assert run("--config", str(template), "--llm", "fast-1", "get", "model").stdout == "openai/o3\n"
    again = run("--config", str(template), "--llm", "fast-1", "set", "model", "openai/o4-mini")
    assert "created" not in again.stderr


@pytest.mark.parametrize("name", ["a.b", "a b", "[llm]", "", "grüße", "x/y"])
def test_group_names_are_letters_digits_dash_underscore(run: Run, template: Path,
                                                       name: str) -> None:
    p = run("--config", str(template), "--llm", name, "show")
    assert p.returncode == 2 and "letters, digits, - and _" in p.stderr


def test_a_group_named_like_a_field_is_allowed(run: Run, template: Path) -> None:
    p = run("--config", str(template), "--llm", "temperature", "set", "model", "openai/o3")
    assert p.returncode == 0, p.stderr
    assert run("--config", str(template), "--llm", "temperature", "get", "model"
               ).stdout == "openai/o3\n"


@pytest.mark.parametrize("path", ["", " "])
def test_empty_config_path_is_a_usage_error(run: Run, keyring_session: dict[str, str],
                                            path: str) -> None:
    p = run("--config", path, "set", "model", "openai/empty-config-path")
    assert p.returncode == 2 and "--config" in p.stderr and "empty" in p.stderr
    default = Path(keyring_session["HOME"]) / ".openhands" / "config.toml"
    assert not default.exists() or "empty-config-path" not in default.read_text()


def test_aws_advice_names_its_own_variable(run: Run, template: Path, tmp_path: Path) -> None:
    run("--config", str(template), "set", "model", "bedrock/anthropic.claude-3-7-sonnet")
    p = run("--config", str(template), "set", "aws_secret_access_key", "-", input=CANARY,
            env={"PYTHON_KEYRING_BACKEND": FAIL_BACKEND})
    assert p.returncode == 1
    assert "LLM_AWS_SECRET_ACCESS_KEY" in p.stderr and "LLM_API_KEY" not in p.stderr
    g = run("--config", str(template), "get", "aws_access_key_id",
            env={"PYTHON_KEYRING_BACKEND": FAIL_BACKEND})
    assert g.returncode == 1
    assert "LLM_AWS_ACCESS_KEY_ID" in g.stdout and "LLM_API_KEY" not in g.stdout


def test_docker_flags_on_a_terminal_stay_readable_quoted_lines() -> None:
    from tui.cli.export import docker_flags

    pairs = [("LLM_MODEL", "openai/o3"), ("LLM_LOG_COMPLETIONS_FOLDER", "/tmp/my logs"),
             ("LLM_API_KEY", None)]
    assert docker_flags(pairs, tty=True) == (
        "-e LLM_MODEL=openai/o3 \\\n-e 'LLM_LOG_COMPLETIONS_FOLDER=/tmp/my logs' \\\n"
        "-e LLM_API_KEY", [])
    words, warnings = docker_flags(pairs, tty=False)
    assert words == "-e LLM_MODEL=openai/o3 -e LLM_LOG_COMPLETIONS_FOLDER -e LLM_API_KEY"
    assert len(warnings) == 1 and "my logs" not in warnings[0]


def _on_terminal(args: list[str], env: dict[str, str], answer: bytes, marker: bytes
                 ) -> tuple[int, bytes]:
    """Run llm-settings on a pseudo-terminal, answer once `marker` shows; (exit code, output)."""
    import pty
    import select
    import time

    pid, fd = pty.fork()
    if pid == 0:
        os.execve(str(BIN), [str(BIN), *args], env)
    seen = b""

    def read_until(done: Callable[[], bool], timeout: float = 20) -> None:
        nonlocal seen
        end = time.monotonic() + timeout
        while not done() and time.monotonic() < end:
            if select.select([fd], [], [], 0.1)[0]:
                try:
                    chunk = os.read(fd, 4096)
                except OSError:
                    return
                if not chunk:
                    return
                seen += chunk

    read_until(lambda: marker in seen)
    os.write(fd, answer)
    read_until(lambda: False)  # to the end: the terminal closes when the process exits
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), seen


def test_migrate_keys_asks_on_a_terminal_and_no_keeps_everything(
        real_keyring: dict[str, str], tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[llm]\nmodel = "openai/gpt-4o"\napi_key = "{CANARY}"\n')
    keyring_set(real_keyring, "openai", OTHER_KEY)
    before = cfg.read_bytes()
    env = _clean_env({**os.environ, **real_keyring})
    code, seen = _on_terminal(["--config", str(cfg), "migrate-keys"], env, b"n\n",
                              b"Replace it?")
    assert code == 1 and b"llm-settings/openai" in seen, seen
    assert cfg.read_bytes() == before and keyring_value(real_keyring, "openai") == OTHER_KEY
    code, seen = _on_terminal(["--config", str(cfg), "migrate-keys"], env, b"y\n",
                              b"Replace it?")
    assert code == 0, seen
    assert keyring_get(real_keyring, "openai") == "canary" and "api_key" not in cfg.read_text()
    assert CANARY.encode() not in seen
