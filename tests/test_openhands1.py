"""OpenHands 1.x's files: where they are, lossless JSON writes, and the SDK LLM <-> fields map.

The fixtures in tests/fixtures/openhands1 were written by OpenHands' own code (the CLI's
AgentStore.save, the web app's FileSettingsStore.store, the SDK's LLMProfileStore.save; the
scripts that made them are beside them), with canary keys.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from tui.core import fields as F
from tui.core import openhands1 as O
from tui.core import openhands1_sync as Y
from tui.core.config_file import ConfigFile
from tui.core.config_io import ConfigError

FIX = Path(__file__).parent / "fixtures" / "openhands1"
CLI_KEY = "sk-canary-cli-0001"
SDK_KEY = "sk-canary-sdk-0002"
WEB_KEY = "sk-canary-web-0004"


def persistence(tmp_path: Path) -> Path:
    """A ~/.openhands with the CLI's, the web app's and two SDK profile files."""
    home = tmp_path / "oh"
    (home / "profiles").mkdir(parents=True)
    shutil.copy(FIX / "cli" / "agent_settings.json", home)
    shutil.copy(FIX / "web" / "settings.json", home)
    for name in ("fast.json", "nokey.json"):
        shutil.copy(FIX / "profiles121" / name, home / "profiles")
    return home


def env_for(home: Path) -> dict[str, str]:
    return {"OPENHANDS_PERSISTENCE_DIR": str(home), "OH_PERSISTENCE_DIR": str(home),
            "HOME": "/nonexistent"}


# -- locations --------------------------------------------------------------------------
def test_locations_follow_each_programs_own_variable(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path), "OPENHANDS_PERSISTENCE_DIR": "/c",
           "FILE_STORE_PATH": "/f"}
    assert O.default_path(O.CLI, env) == Path("/c/agent_settings.json")
    assert O.default_path(O.WEB, env) == Path("/f/settings.json")  # the legacy fallback
    assert O.default_path(O.SDK, env) == tmp_path / ".openhands" / "profiles"
    env["OH_PERSISTENCE_DIR"] = "/o"
    assert O.default_path(O.WEB, env) == Path("/o/settings.json")
    assert O.default_path(O.SDK, env) == Path("/o/profiles")
    assert O.default_path(O.CLI, {"HOME": str(tmp_path)}) == \
        tmp_path / ".openhands" / "agent_settings.json"


def test_locate_finds_every_file_and_a_folder_argument_too(tmp_path: Path) -> None:
    home = persistence(tmp_path)
    kinds = [(f.kind, f.path.name) for f in O.locate(env_for(home))]
    assert kinds == [("cli", "agent_settings.json"), ("sdk", "fast.json"),
                     ("sdk", "nokey.json"), ("web", "settings.json")]
    assert [(f.kind, f.path.name) for f in O.found_at(home)] == kinds
    assert [f.kind for f in O.found_at(home / "settings.json")] == ["web"]
    (tmp_path / "x.json").write_text('{"a": 1}')
    with pytest.raises(ConfigError, match=r"not an OpenHands 1\.x settings file"):
        O.found_at(tmp_path / "x.json")


# -- JSON layout ------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["cli/agent_settings.json", "web/settings.json",
                                  "profiles121/fast.json", "profiles134/fast.json"])
def test_real_files_render_back_byte_for_byte(name: str) -> None:
    raw = (FIX / name).read_bytes()
    assert O.render(json.loads(raw), O.style_of(raw)) == raw


@pytest.mark.parametrize("text", [json.dumps({"a": 1, "b": [1, {}]}, indent=4) + "\n",
                                  '{\n\t"a": 1\n}', '{"a": 1, "b": {"c": "\\u00e9"}}',
                                  '{"a":1,"b":"é"}'])
def test_indentation_separators_and_escapes_are_kept(text: str) -> None:
    raw = text.encode()
    assert O.render(json.loads(raw), O.style_of(raw)) == raw


def test_without_secrets_changes_only_the_key(tmp_path: Path) -> None:
    doc = O.read_json(FIX / "cli" / "agent_settings.json")
    assert doc.raw is not None
    new = O.without_secrets(doc, [(("llm",), "api_key"), (("condenser", "llm"), "api_key")])
    assert CLI_KEY not in new.decode()
    assert new == doc.raw.replace(f'"{CLI_KEY}"'.encode(), b"null")


def test_a_file_changed_since_it_was_read_is_not_written(tmp_path: Path) -> None:
    path = tmp_path / "agent_settings.json"
    path.write_text('{"llm": {"model": "a"}}')
    doc = O.read_json(path)
    path.write_text('{"llm": {"model": "b"}}')  # OpenHands saved meanwhile
    with pytest.raises(ConfigError, match="changed since it was read"):
        O.write_json(path, b'{"llm": {"model": "c"}}', doc.raw)
    assert path.read_text() == '{"llm": {"model": "b"}}'
    O.write_json(path, b'{"llm": {"model": "c"}}', path.read_bytes())
    assert path.read_text() == '{"llm": {"model": "c"}}'
    assert os.stat(path).st_mode & 0o777 == 0o600


def test_bad_json_is_one_sentence_and_nothing_changes(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text('{"agent_settings": ')
    with pytest.raises(ConfigError, match=r"not valid JSON \(line 1"):
        O.read_json(path)


# -- mapping ----------------------------------------------------------------------------
def test_registry_fields_map_to_real_sdk_keys() -> None:
    cli_llm = json.loads((FIX / "cli" / "agent_settings.json").read_text())["llm"]
    for f in O.mapped():
        assert f.sdk_name in cli_llm, f.name
    assert F.BY_NAME["custom_llm_provider"].sdk_name is None
    assert F.BY_NAME["max_budget_per_task"].sdk_name is None  # [core], not the LLM


def test_import_takes_what_was_set_and_sdk_defaults_zero_x_lacks() -> None:
    llm = json.loads((FIX / "cli" / "agent_settings.json").read_text())["llm"]
    got = O.to_fields(llm)
    assert got.secrets == {"api_key": CLI_KEY}
    assert got.values == {
        "model": "anthropic/claude-sonnet-4-5-20250929", "num_retries": 7,
        "retry_min_wait": 8, "retry_max_wait": 64, "retry_multiplier": 8.0, "timeout": 120,
        "reasoning_effort": "high", "native_tool_calling": True}
    # equal to both defaults (drop_params, caching_prompt...), unset (null), and the token
    # limits the SDK copied from the model's catalog entry are left out
    assert "drop_params" not in got.values and "max_input_tokens" not in got.values


def test_import_says_what_it_cannot_take() -> None:
    got = O.to_fields({"model": "m", "num_retries": 0, "reasoning_effort": "xhigh",
                       "extra_headers": {"X": "1"}, "aws_session_token": "tok-secret",
                       "api_key": O.REDACTED})
    text = " ".join(got.notes)
    assert "num_retries not imported" in text and "reasoning_effort not imported" in text
    assert "extra_headers" in text and "aws_session_token = (a secret)" in text
    assert "tok-secret" not in text
    assert got.secrets == {}  # the SDK's mask is no key


def test_apply_values_are_config_toml_or_the_sdk_default() -> None:
    values = {f.name: f.default for f in F.FIELDS}
    values.update(model="openai/gpt-4o", temperature=0.5)
    out = O.llm_values(values, {"model": True, "temperature": True})
    assert out["model"] == "openai/gpt-4o" and out["temperature"] == 0.5
    assert out["num_retries"] == 5 and out["timeout"] == 300 and out["top_p"] is None
    assert "api_key" not in out and "custom_llm_provider" not in out


def test_merge_keeps_other_keys_and_their_order() -> None:
    old = {"model": "a", "usage_id": "agent", "api_key": "k", "zzz": 1}
    new = O.merge_llm(old, {"model": "b", "api_key": None, "seed": None, "timeout": 300})
    assert list(new) == ["model", "usage_id", "api_key", "zzz"]
    assert new == {"model": "b", "usage_id": "agent", "api_key": None, "zzz": 1}


def test_diff_never_shows_a_key() -> None:
    lines = O.diff({"llm": {"api_key": "sk-canary-x", "num_retries": 5}},
                   {"llm": {"api_key": None, "num_retries": 7}})
    assert lines == ["llm.api_key: (a key) -> null", "llm.num_retries: 5 -> 7"]
    lines = O.diff({"p": {}, "q": [1]}, {"p": {"new": {"model": "m", "api_key": "sk-canary-y"}},
                                        "q": [{"api_key": "sk-canary-z"}]})
    assert lines == ['p.new.model: (absent) -> "m"', "p.new.api_key: (absent) -> (a key)",
                     'q: [1] -> [{"api_key": "(a key)"}]']


# -- plans ------------------------------------------------------------------------------
def _cfg(tmp_path: Path, text: str) -> ConfigFile:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return ConfigFile.load(path)


def _docs(home: Path) -> list[tuple[O.Found, O.JsonDoc]]:
    return [(f, O.read_json(f.path)) for f in O.found_at(home)]


def test_import_plan_active_to_empty_llm_others_to_groups(tmp_path: Path) -> None:
    plan = Y.plan_import(_cfg(tmp_path, "[llm]\n"), _docs(persistence(tmp_path)))
    got = [(i.source.kind, i.source.name, i.group) for i in plan.items]
    assert got == [("cli", None, None), ("web", None, "web"), ("sdk", "fast", "fast"),
                   ("sdk", "nokey", "nokey"), ("web", "Default", "Default"),
                   ("web", "my fast", "my_fast")]
    assert any("imported as [llm.my_fast]" in n for n in plan.items[-1].notes)
    web = plan.items[1]
    assert web.accounts == {"api_key": "openai@127.0.0.1:8000"}
    assert not plan.conflicts


def test_import_into_a_used_llm_makes_a_group_and_refuses_to_overwrite(tmp_path: Path
                                                                       ) -> None:
    home = persistence(tmp_path)
    cfg = _cfg(tmp_path, '[llm]\nmodel = "x/y"\n[llm.cli]\nmodel = "other/model"\n')
    plan = Y.plan_import(cfg, [(f, d) for f, d in _docs(home) if f.kind == "cli"])
    assert plan.items[0].group == "cli"
    assert plan.conflicts and "model is 'other/model'" in plan.conflicts[0]
    assert not Y.plan_import(cfg, [(f, d) for f, d in _docs(home) if f.kind == "cli"],
                             replace=True).conflicts


def test_a_group_does_not_silently_inherit_llms_base_url(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, '[llm]\nmodel = "x/y"\nbase_url = "http://127.0.0.1:9/v1"\n'
                         'drop_params = false\n')
    home = persistence(tmp_path)
    docs = [(f, d) for f, d in _docs(home) if f.path.name == "fast.json"]
    item = Y.plan_import(cfg, docs).items[0]
    assert item.values["drop_params"] is True  # its own value (the default), written
    assert any("inherits 'http://127.0.0.1:9/v1' from [llm]" in n for n in item.notes)
    assert item.accounts["api_key"] == "openai@127.0.0.1:9"  # where 0.x will look for it


def test_apply_web_refuses_without_insecure_storage_and_says_how(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, '[llm]\nmodel = "openai/gpt-4o"\n')
    with pytest.raises(ConfigError, match="enter the key in the web UI"):
        Y.plan_apply(cfg, "web", None, store=None, environ=env_for(tmp_path))  # type: ignore[arg-type]


def test_apply_sdk_refuses_a_name_the_sdk_refuses(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, '[llm]\nmodel = "openai/gpt-4o"\n[llm._x]\nmodel = "a/b"\n')
    with pytest.raises(ConfigError, match="refuses the profile name '_x'"):
        Y.plan_apply(cfg, "sdk", None, store=None, environ=env_for(tmp_path))  # type: ignore[arg-type]


def test_doctor_reports_plaintext_keys_model_and_rejected_profiles(tmp_path: Path) -> None:
    home = persistence(tmp_path)
    os.chmod(home / "agent_settings.json", 0o644)
    shutil.copy(home / "profiles" / "fast.json", home / "profiles" / "-bad.json")
    cfg = _cfg(tmp_path, '[llm]\nmodel = "openai/gpt-4o"\n')
    found: list[tuple[str, str]] = []
    Y.check_files(cfg, None, env_for(home), lambda level, text: found.append((level, text)))
    text = "\n".join(t for _l, t in found)
    assert "agent_settings.json holds a plaintext API key (mode 0644: other users" in text
    assert "'llm-settings import --remove-plaintext" in text
    assert "settings.json holds 3 plaintext keys" in text and "web app needs them" in text
    assert "nokey.json" not in text  # the SDK's mask is no key
    assert "OpenHands 1.x's cli uses model 'anthropic/claude-sonnet-4-5-20250929'" in text
    assert "the web app refuses the profile name 'my fast'" in text
    assert "the SDK refuses the profile name '-bad'" in text
    assert all(CLI_KEY not in t and WEB_KEY not in t for _l, t in found)
    assert {level for level, _t in found} == {"warning"}  # never changes doctor's exit code


def test_import_again_changes_nothing(tmp_path: Path) -> None:
    home = persistence(tmp_path)
    cfg = _cfg(tmp_path, "[llm]\n")
    cfg.save(Y.plan_import(cfg, _docs(home)).edits)
    again = Y.plan_import(ConfigFile.load(cfg.path), _docs(home))
    assert [i.group for i in again.items][:2] == [None, "web"]  # not a new [llm.cli]
    assert not again.conflicts
    before = cfg.path.read_bytes()
    assert ConfigFile.load(cfg.path).save(again.edits) is False
    assert cfg.path.read_bytes() == before


def test_apply_refuses_a_file_openhands_saved_after_the_plan(tmp_path: Path) -> None:
    home = persistence(tmp_path)
    cli = home / "agent_settings.json"
    cli.write_bytes(cli.read_bytes().replace(f'"{CLI_KEY}"'.encode(), b"null"))
    cfg = _cfg(tmp_path, '[llm]\nmodel = "openai/gpt-4o"\n')
    writes, _notes = Y.plan_apply(cfg, "cli", None, store=None,  # type: ignore[arg-type]
                                  environ=env_for(home))
    assert writes[0].lines and CLI_KEY not in writes[0].raw.decode()
    cli.write_text(cli.read_text().replace('"num_retries":7', '"num_retries":6'))
    saved = cli.read_bytes()
    with pytest.raises(ConfigError, match="changed since it was read"):
        Y.write(writes[0])
    assert cli.read_bytes() == saved


def test_a_symlinked_settings_file_stays_a_symlink(tmp_path: Path) -> None:
    real = tmp_path / "real.json"
    real.write_text('{"llm": {"model": "a"}}')
    link = tmp_path / "agent_settings.json"
    link.symlink_to(real)
    O.write_json(link, b'{"llm": {"model": "b"}}', link.read_bytes())
    assert link.is_symlink() and real.read_text() == '{"llm": {"model": "b"}}'


def test_core_imports_neither_textual_nor_litellm() -> None:
    import subprocess
    import sys

    code = ("import json, sys; import tui.core.openhands1 as O, tui.core.openhands1_sync\n"
            f"O.to_fields(json.load(open({str(FIX / 'cli' / 'agent_settings.json')!r}))['llm'])\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('litellm', 'textual')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=Path(__file__).parent.parent, timeout=120, check=True)
    assert out.stdout.strip() == "[]"


def _web_with_profiles(home: Path, n: int) -> None:
    data = json.loads((FIX / "web" / "settings.json").read_text())
    llm = data["llm_profiles"]["profiles"]["Default"]
    data["llm_profiles"]["profiles"] = {f"p{i}": dict(llm, api_key=None) for i in range(n)}
    (home / "settings.json").write_text(json.dumps(data))


def test_more_than_ten_web_profiles_doctor_warns_and_apply_refuses(tmp_path: Path) -> None:
    home = persistence(tmp_path)
    _web_with_profiles(home, 11)
    found: list[str] = []
    Y.check_files(None, None, env_for(home), lambda _level, text: found.append(text))
    assert any("has 11 profiles; the web app keeps at most 10" in t for t in found)
    _web_with_profiles(home, 10)
    cfg = _cfg(tmp_path, '[llm]\nmodel = "openai/gpt-4o"\napi_key = "k"\n')
    with pytest.raises(ConfigError, match=r"at most 10 profiles and .* would then have 11"):
        Y.plan_apply(cfg, "web", None, store=None, environ=env_for(home),  # type: ignore[arg-type]
                     insecure=True)
