"""Tests for tui.core.config_file: lossless, checked edits of config.toml."""

from __future__ import annotations

import copy
import difflib
import json
import os
import re
import shutil
import stat
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tui.core.config_file as cf
from tests.files import TEMPLATE as FIXTURE
from tui.core import toml_compat
from tui.core.config_file import (
    DELETE,
    ConfigChangedError,
    ConfigError,
    ConfigFile,
    ConfigParseError,
)

# ----------------------------------------------------------------------------- helpers


def write(path: Path, text: str) -> Path:
    path.write_bytes(text.encode("utf-8"))
    return path


def read(path: Path) -> str:
    return path.read_bytes().decode("utf-8")


def changed_lines(old: str, new: str) -> tuple[list[str], list[str]]:
    """(removed lines, added lines) between two texts, line endings kept."""
    removed: list[str] = []
    added: list[str] = []
    a, b = old.splitlines(keepends=True), new.splitlines(keepends=True)
    sm = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    for tag, i1, i2, j1, j2 in sm.get_opcodes():
        if tag != "equal":
            removed += a[i1:i2]
            added += b[j1:j2]
    return removed, added


def save_text(path: Path, text: str, edits: dict, **kw: Any) -> str:
    write(path, text)
    cfg = ConfigFile.load(path)
    assert cfg.save(edits, **kw) is True
    return read(path)


@pytest.fixture
def fixture_copy(tmp_path: Path) -> Path:
    dest = tmp_path / "config.toml"
    shutil.copyfile(FIXTURE, dest)
    return dest


# ----------------------------------------------------------------------------- the fixture


def test_fixture_set_model_changes_exactly_one_line(fixture_copy: Path) -> None:
    before = read(fixture_copy)
    cfg = ConfigFile.load(fixture_copy)
    assert cfg.table("llm")["model"] == "gpt-4o"
    assert cfg.save({(("llm",), "model"): "anthropic/claude-3-7-sonnet-20250219"}) is True
    after = read(fixture_copy)
    removed, added = changed_lines(before, after)
    assert removed == ['model = "gpt-4o"\n']
    assert added == ['model = "anthropic/claude-3-7-sonnet-20250219"\n']
    # The [llm] one, not the one in [llm.gpt4o-mini].
    data = tomllib.loads(after)
    assert data["llm"]["model"] == "anthropic/claude-3-7-sonnet-20250219"
    assert data["llm"]["gpt4o-mini"]["model"] == "gpt-4o"
    assert cfg.data == data
    assert cfg._last_strategy == "lines"  # the fast path, no tomlkit round trip


def test_fixture_new_key_lands_after_its_commented_twin(fixture_copy: Path) -> None:
    before = read(fixture_copy)
    after = save_text(fixture_copy, before, {(("llm",), "num_retries"): 4})
    lines = after.splitlines()
    i = lines.index("num_retries = 4")
    assert lines[i - 1] == "#num_retries = 8"
    assert changed_lines(before, after) == ([], ["num_retries = 4\n"])
    assert tomllib.loads(after)["llm"]["num_retries"] == 4


def test_fixture_core_budget_lands_after_twin(fixture_copy: Path) -> None:
    before = read(fixture_copy)
    after = save_text(fixture_copy, before, {(("core",), "max_budget_per_task"): 2.5})
    lines = after.splitlines()
    assert lines[lines.index("max_budget_per_task = 2.5") - 1] == "#max_budget_per_task = 0.0"
    assert tomllib.loads(after)["core"]["max_budget_per_task"] == 2.5


def test_fixture_twin_choice(fixture_copy: Path) -> None:
    before = read(fixture_copy)
    edits = {
        # "#safety_settings = []" is preferred over the "# safety_settings = [" example.
        (("llm",), "safety_settings"): [],
        # A commented-out multi-line value: after its closing "#]", not inside it.
        (("mcp",), "sse_servers"): ["http://localhost:8080/mcp/sse"],
        # "#model = ..." under "#[llm.secondary_model]" is another table's: not a twin.
        (("llm", "gpt4o-mini"), "for_routing"): True,
        # "# volumes = ..." under "# [sandbox]" is this table's.
        (("sandbox",), "volumes"): "/a:/b:rw",
    }
    after = save_text(fixture_copy, before, edits)
    lines = after.splitlines()
    assert lines[lines.index("safety_settings = []") - 1] == "#safety_settings = []"
    i = lines.index('sse_servers = ["http://localhost:8080/mcp/sse"]')
    assert lines[i - 2:i] == ['#    {url = "https://api.example.com/mcp/sse", api_key = '
                              '"your-api-key"}', "#]"]
    i = lines.index("for_routing = true")
    assert lines[i - 3:i] == ["[llm.gpt4o-mini]", 'api_key = ""', 'model = "gpt-4o"']
    i = lines.index('volumes = "/a:/b:rw"')
    assert lines[i - 1].startswith("# volumes = ")
    removed, added = changed_lines(before, after)
    assert removed == [] and len(added) == 4
    assert tomllib.loads(after)["mcp"]["sse_servers"] == ["http://localhost:8080/mcp/sse"]


def test_fixture_new_group_goes_after_last_llm_table(fixture_copy: Path) -> None:
    before = read(fixture_copy)
    edits = {(("llm", "groq"), "model"): "groq/llama-3.3-70b", (("llm", "groq"), "num_retries"): 3}
    after = save_text(fixture_copy, before, edits)
    removed, added = changed_lines(before, after)
    assert removed == []
    assert [a.strip() for a in added if a.strip()] == [
        "[llm.groq]", 'model = "groq/llama-3.3-70b"', "num_retries = 3"]
    lines = after.splitlines()
    i = lines.index("[llm.groq]")
    # Right after [llm.gpt4o-mini]'s keys, separated by a blank line, before the
    # commented-out example that follows them.
    assert lines[i - 3:i] == ['api_key = ""', 'model = "gpt-4o"', ""]
    assert lines[i + 3] == ""
    assert lines[i + 4].startswith("# Example routing LLM configuration")
    data = tomllib.loads(after)
    assert data["llm"]["groq"] == {"model": "groq/llama-3.3-70b", "num_retries": 3}


def test_fixture_key_in_draft_editor_and_new_extended_table(fixture_copy: Path) -> None:
    before = read(fixture_copy)
    edits = {(("llm", "draft_editor"), "model"): "gpt-4o-mini",
             (("extended", "llm_settings"), "profile"): "default"}
    after = save_text(fixture_copy, before, edits)
    lines = after.splitlines()
    i = lines.index("[llm.draft_editor]")
    assert lines[i + 1:i + 4] == ["# The number of times llm_editor tries to fix an error when "
                                  "editing.", "correct_num = 5", 'model = "gpt-4o-mini"']
    # A table that does not exist yet goes at the end, after one blank line.
    assert lines[-4:] == ['#router_name = "noop_router"', "", "[extended.llm_settings]",
                          'profile = "default"']
    assert after.endswith('profile = "default"\n')
    removed, _ = changed_lines(before, after)
    assert removed == []


def test_fixture_delete_api_key_removes_only_that_line(fixture_copy: Path) -> None:
    before = read(fixture_copy)
    after = save_text(fixture_copy, before, {(("llm",), "api_key"): DELETE})
    assert changed_lines(before, after) == (['api_key = ""\n'], [])
    assert "api_key" not in tomllib.loads(after)["llm"]
    assert tomllib.loads(after)["llm"]["gpt4o-mini"]["api_key"] == ""


def test_fixture_save_twice_on_same_object(fixture_copy: Path) -> None:
    cfg = ConfigFile.load(fixture_copy)
    assert cfg.save({(("llm",), "model"): "a/b"}) is True
    fp = cfg.fingerprint()
    assert cfg.save({(("llm",), "model"): "c/d", (("llm",), "num_retries"): 2}) is True
    assert cfg.fingerprint() != fp
    assert ConfigFile.load(fixture_copy).table("llm")["model"] == "c/d"
    assert cfg.table("llm")["num_retries"] == 2


# ----------------------------------------------------------------------------- one rule each


def test_inline_comment_is_kept(tmp_path: Path) -> None:
    p = tmp_path / "c.toml"
    after = save_text(p, '[llm]\nmodel = "a"  # main\nx = 1\n', {(("llm",), "model"): "b"})
    assert after == '[llm]\nmodel = "b"  # main\nx = 1\n'


def test_crlf_stays_crlf_everywhere(tmp_path: Path) -> None:
    p = tmp_path / "c.toml"
    text = '# top\r\n[llm]\r\nmodel = "a"  # m\r\n#num_retries = 8\r\n\r\n[core]\r\nx = 1\r\n'
    edits = {(("llm",), "model"): "b", (("llm",), "num_retries"): 3,
             (("llm", "groq"), "model"): "g", (("agent",), "y"): True, (("core",), "x"): DELETE}
    after = save_text(p, text, edits)
    assert "\n" not in after.replace("\r\n", "")
    assert after == ('# top\r\n[llm]\r\nmodel = "b"  # m\r\n#num_retries = 8\r\n'
                     'num_retries = 3\r\n\r\n[llm.groq]\r\nmodel = "g"\r\n\r\n[core]\r\n'
                     '\r\n[agent]\r\ny = true\r\n')


def test_missing_final_newline_is_kept(tmp_path: Path) -> None:
    p = tmp_path / "c.toml"
    assert save_text(p, '[llm]\nmodel = "a"', {(("llm",), "model"): "b"}) == '[llm]\nmodel = "b"'
    assert save_text(p, '[llm]\nmodel = "a"', {(("llm",), "top_p"): 1.0}) == \
        '[llm]\nmodel = "a"\ntop_p = 1.0'
    assert save_text(p, "[llm]\n# end", {(("core",), "x"): 1}) == "[llm]\n# end\n\n[core]\nx = 1"


def test_bom_is_dropped_so_openhands_can_read_the_file(tmp_path: Path) -> None:
    p = tmp_path / "c.toml"
    p.write_bytes('\ufeff[llm]\nmodel = "a"\n'.encode())
    cfg = ConfigFile.load(p)
    assert cfg.table("llm") == {"model": "a"}
    cfg.save({(("llm",), "model"): "b"})
    assert p.read_bytes() == b'[llm]\nmodel = "b"\n'  # toml 0.10 fails on a BOM


def test_mode_0640_is_kept(tmp_path: Path) -> None:
    p = write(tmp_path / "c.toml", '[llm]\nmodel = "a"\n')
    os.chmod(p, 0o640)
    ConfigFile.load(p).save({(("llm",), "model"): "b"})
    assert stat.S_IMODE(p.stat().st_mode) == 0o640


def test_new_file_is_created_0600_with_parents(tmp_path: Path) -> None:
    p = tmp_path / "a" / "b" / "config.toml"
    cfg = ConfigFile.load(p)
    assert (cfg.exists, cfg.data, cfg.table("llm"), cfg.fingerprint()) == (False, {}, None, None)
    assert cfg.save({(("llm",), "model"): "x", (("llm",), "num_retries"): 4}) is True
    assert read(p) == '[llm]\nmodel = "x"\nnum_retries = 4\n'
    assert stat.S_IMODE(p.stat().st_mode) == 0o600
    assert cfg.exists and cfg.table("llm") == {"model": "x", "num_retries": 4}


def test_missing_file_with_no_edits_is_not_created(tmp_path: Path) -> None:
    p = tmp_path / "config.toml"
    assert ConfigFile.load(p).save({(("llm",), "api_key"): DELETE}) is False
    assert not p.exists()


def test_private_makes_0600(tmp_path: Path) -> None:
    p = write(tmp_path / "c.toml", '[llm]\nmodel = "a"\n')
    os.chmod(p, 0o644)
    ConfigFile.load(p).save({(("llm",), "api_key"): "sk-secret"}, private=True)
    assert stat.S_IMODE(p.stat().st_mode) == 0o600
    # Also when the secret was already there (no byte changes, still tightened).
    os.chmod(p, 0o644)
    assert ConfigFile.load(p).save({(("llm",), "api_key"): "sk-secret"}, private=True) is False
    assert stat.S_IMODE(p.stat().st_mode) == 0o600


def test_missing_llm_table_is_appended_at_end(tmp_path: Path) -> None:
    p = tmp_path / "c.toml"
    after = save_text(p, "# hi\n[core]\nx = 1\n", {(("llm",), "model"): "m"})
    assert after == '# hi\n[core]\nx = 1\n\n[llm]\nmodel = "m"\n'
    # No second blank line when the file already ends with one.
    after = save_text(p, "[core]\nx = 1\n\n", {(("llm",), "model"): "m"})
    assert after == '[core]\nx = 1\n\n[llm]\nmodel = "m"\n'


def test_group_table_written_before_llm_table(tmp_path: Path) -> None:
    p = tmp_path / "c.toml"
    text = '[llm.groq]\nmodel = "g"\n\n[llm]\nmodel = "a"\n'
    write(p, text)
    cfg = ConfigFile.load(p)
    assert cfg.table("llm", "groq") == {"model": "g"}
    assert cfg.table("llm")["model"] == "a"
    cfg.save({(("llm",), "model"): "b", (("llm", "groq"), "num_retries"): 2,
              (("llm",), "top_p"): 0.5})
    assert read(p) == ('[llm.groq]\nmodel = "g"\nnum_retries = 2\n\n'
                       '[llm]\nmodel = "b"\ntop_p = 0.5\n')


def test_llm_created_when_only_group_exists(tmp_path: Path) -> None:
    p = tmp_path / "c.toml"
    after = save_text(p, '[llm.groq]\nmodel = "g"\n', {(("llm",), "model"): "a"})
    assert after == '[llm.groq]\nmodel = "g"\n\n[llm]\nmodel = "a"\n'
    assert tomllib.loads(after)["llm"] == {"model": "a", "groq": {"model": "g"}}


def test_new_key_goes_after_last_key_not_into_next_sections_comments(tmp_path: Path) -> None:
    p = tmp_path / "c.toml"
    text = "[llm]\n# m\nmodel = 1\n\n# About core\n[core]\n"
    after = save_text(p, text, {(("llm",), "top_p"): 1})
    assert after == "[llm]\n# m\nmodel = 1\ntop_p = 1\n\n# About core\n[core]\n"


def test_spaced_twin_and_no_twin_in_other_table(tmp_path: Path) -> None:
    p = tmp_path / "c.toml"
    text = "[core]\n#top_p = 3\n[llm]\nmodel = 1\n\n# top_p = 0.9\n# next\n"
    after = save_text(p, text, {(("llm",), "top_p"): 1.0})
    assert after == "[core]\n#top_p = 3\n[llm]\nmodel = 1\n\n# top_p = 0.9\ntop_p = 1.0\n# next\n"


def test_delete_removes_whole_line_and_absent_delete_is_noop(tmp_path: Path) -> None:
    p = tmp_path / "c.toml"
    text = '[llm]\nmodel = "a"\napi_key = "k"  # secret\n# keep\nx = 1\n'
    after = save_text(p, text, {(("llm",), "api_key"): DELETE})
    assert after == '[llm]\nmodel = "a"\n# keep\nx = 1\n'
    mtime = p.stat().st_mtime_ns
    cfg = ConfigFile.load(p)
    assert cfg.save({(("llm",), "api_key"): DELETE, (("nope",), "x"): DELETE}) is False
    assert read(p) == after and p.stat().st_mtime_ns == mtime


def test_same_value_writes_nothing(tmp_path: Path) -> None:
    p = write(tmp_path / "c.toml", "[llm]\nmodel = 'a'\nn = 1\n")
    mtime = p.stat().st_mtime_ns
    assert ConfigFile.load(p).save({(("llm",), "model"): "a", (("llm",), "n"): 1}) is False
    assert p.stat().st_mtime_ns == mtime
    # 1.0 is not 1: the type changes, so the line does.
    assert save_text(p, "[llm]\nn = 1\n", {(("llm",), "n"): 1.0}) == "[llm]\nn = 1.0\n"


def test_multiline_array_is_replaced_as_a_whole(tmp_path: Path) -> None:
    p = tmp_path / "c.toml"
    text = '[mcp]\nservers = [\n  "a",  # first\n  "b]",\n]  # tail\nafter = 1\n'
    after = save_text(p, text, {(("mcp",), "servers"): ["c", "d"]})
    assert after == '[mcp]\nservers = ["c", "d"]  # tail\nafter = 1\n'


def test_multiline_string_is_replaced_and_deleted_as_a_whole(tmp_path: Path) -> None:
    p = tmp_path / "c.toml"
    text = '[a]\ns = """\nx = 1\n[b]\n# c\n"""\nt = 2\n'
    assert save_text(p, text, {(("a",), "s"): "one\nline"}) == '[a]\ns = "one\\nline"\nt = 2\n'
    assert save_text(p, text, {(("a",), "s"): DELETE}) == "[a]\nt = 2\n"
    # A new key in [a] goes after t, not after the string's "x = 1" line.
    assert save_text(p, text, {(("a",), "x"): 5}).endswith("t = 2\nx = 5\n")


def test_quoted_keys_and_spaced_headers(tmp_path: Path) -> None:
    p = tmp_path / "c.toml"
    text = '[ llm ]\n"model" = "a"\n\n[llm . groq]  # g\n\'api_key\' = "k"\n'
    write(p, text)
    cfg = ConfigFile.load(p)
    cfg.save({(("llm",), "model"): "b", (("llm", "groq"), "api_key"): DELETE,
              (("llm", "groq"), "model"): "m"})
    assert cfg._last_strategy == "lines"
    assert read(p) == '[ llm ]\n"model" = "b"\n\n[llm . groq]  # g\nmodel = "m"\n'


def test_dict_values_become_inline_tables_and_odd_keys_are_quoted(tmp_path: Path) -> None:
    p = tmp_path / "c.toml"
    value = {"a": 1, "b c": [{"d": "x#y"}, {}]}
    after = save_text(p, "[llm]\n", {(("llm",), "extra"): value, (("llm",), "my key"): "v"})
    assert after == '[llm]\nextra = {a = 1, "b c" = [{d = "x#y"}, {}]}\n"my key" = "v"\n'
    assert tomllib.loads(after)["llm"] == {"extra": value, "my key": "v"}


def test_string_escapes_round_trip(tmp_path: Path) -> None:
    p = tmp_path / "c.toml"
    s = 'a"b\\c\n\t\x7f\x01é 😀 # = \'q\''
    save_text(p, "", {(("llm",), "model"): s})
    assert ConfigFile.load(p).table("llm") == {"model": s}


def test_exotic_file_falls_back_to_tomlkit(tmp_path: Path) -> None:
    p = write(tmp_path / "c.toml", '# c\nllm = {model = "a", top_p = 1}  # inline\n')
    cfg = ConfigFile.load(p)
    cfg.save({(("llm",), "model"): "b"})
    assert cfg._last_strategy == "tomlkit"
    assert read(p) == '# c\nllm = {model = "b", top_p = 1}  # inline\n'
    assert cfg.table("llm") == {"model": "b", "top_p": 1}


def test_unverifiable_result_writes_nothing(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    p = write(tmp_path / "c.toml", '[llm]\nmodel = "a"\n')
    monkeypatch.setattr(cf, "_parses_to", lambda text, expected: None)
    with pytest.raises(ConfigError, match="nothing was written"):
        ConfigFile.load(p).save({(("llm",), "model"): "b"})
    assert read(p) == '[llm]\nmodel = "a"\n'
    assert [n for n in os.listdir(tmp_path) if not n.endswith(".lock")] == ["c.toml"]


def test_setting_inside_a_non_table_is_refused(tmp_path: Path) -> None:
    p = write(tmp_path / "c.toml", '[llm]\nmodel = "a"\n')
    with pytest.raises(ConfigError, match=r"llm\.model is not a table"):
        ConfigFile.load(p).save({(("llm", "model"), "x"): 1})
    with pytest.raises(TypeError):
        ConfigFile.load(p).save({(("llm",), "model"): None})
    with pytest.raises(TypeError):
        ConfigFile.load(p).save({("llm", "model"): 1})  # table must be a tuple of names
    assert read(p) == '[llm]\nmodel = "a"\n'


def test_root_key_goes_above_the_first_tables_comments(tmp_path: Path) -> None:
    p = tmp_path / "c.toml"
    after = save_text(p, "# banner\n\n# about llm\n[llm]\n", {((), "x"): 1})
    assert after == "# banner\n\nx = 1\n\n# about llm\n[llm]\n"


def test_symlink_stays_a_symlink(tmp_path: Path) -> None:
    real = write(tmp_path / "real.toml", "[llm]\nmodel = 1\n")
    link = tmp_path / "config.toml"
    link.symlink_to(real)
    ConfigFile.load(link).save({(("llm",), "model"): 2})
    assert link.is_symlink() and read(real) == "[llm]\nmodel = 2\n"


# ----------------------------------------------------------------------------- refusals


def test_external_change_is_refused(tmp_path: Path) -> None:
    p = write(tmp_path / "c.toml", '[llm]\nmodel = "a"\n')
    cfg = ConfigFile.load(p)
    write(p, '[llm]\nmodel = "theirs"\n')
    with pytest.raises(ConfigChangedError) as e:
        cfg.save({(("llm",), "model"): "mine"})
    assert "nothing was written" in str(e.value)
    assert read(p) == '[llm]\nmodel = "theirs"\n'


def test_external_touch_or_creation_of_other_keys_is_kept(tmp_path: Path) -> None:
    p = write(tmp_path / "c.toml", '[llm]\nmodel = "a"\n')
    cfg = ConfigFile.load(p)
    st_ = p.stat()
    os.utime(p, ns=(st_.st_atime_ns, st_.st_mtime_ns + 5_000_000_000))
    assert cfg.save({(("llm",), "model"): "b"}) is True
    missing = ConfigFile.load(tmp_path / "new.toml")
    write(tmp_path / "new.toml", "x = 1\n")
    assert missing.save({(("llm",), "model"): "b"}) is True
    assert read(tmp_path / "new.toml") == 'x = 1\n\n[llm]\nmodel = "b"\n'
    created = ConfigFile.load(tmp_path / "new2.toml")
    write(tmp_path / "new2.toml", '[llm]\nmodel = "theirs"\n')
    with pytest.raises(ConfigChangedError):  # a key it edits, created meanwhile: refused
        created.save({(("llm",), "model"): "mine"})
    assert read(tmp_path / "new2.toml") == '[llm]\nmodel = "theirs"\n'


def test_invalid_toml_is_reported_and_never_written(tmp_path: Path) -> None:
    text = '[llm]\nmodel = "a"\napi_key = oops\n'
    p = write(tmp_path / "c.toml", text)
    with pytest.raises(ConfigParseError) as e:
        ConfigFile.load(p)
    assert (e.value.line, e.value.col) == (3, 11)
    assert e.value.path == p
    assert str(e.value) == f"{p}: invalid TOML at line 3, column 11: {e.value.reason}"
    assert e.value.reason == "invalid value"
    assert read(p) == text
    p2 = write(tmp_path / "d.toml", "[llm]\nmodel = [1,")
    with pytest.raises(ConfigParseError) as e2:
        ConfigFile.load(p2)
    assert (e2.value.line, e2.value.col) == (2, 12)


def test_unreadable_files_raise_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="directory"):
        ConfigFile.load(tmp_path)
    p = tmp_path / "latin1.toml"
    p.write_bytes(b'model = "caf\xe9"\n')
    with pytest.raises(ConfigError, match="UTF-8"):
        ConfigFile.load(p)


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read any file")
def test_permission_denied_raises_config_error(tmp_path: Path) -> None:
    p = write(tmp_path / "c.toml", "x = 1\n")
    os.chmod(p, 0)
    with pytest.raises(ConfigError, match="permission denied"):
        ConfigFile.load(p)


def test_failed_write_leaves_original_and_no_temp_file(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    p = write(tmp_path / "c.toml", '[llm]\nmodel = "a"\n')
    cfg = ConfigFile.load(p)

    def boom(src: Any, dst: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cf.os, "replace", boom)
    with pytest.raises(ConfigError, match="No space left on device"):
        cfg.save({(("llm",), "model"): "b"})
    assert read(p) == '[llm]\nmodel = "a"\n'
    assert [n for n in os.listdir(tmp_path) if not n.endswith(".lock")] == ["c.toml"]
    monkeypatch.undo()
    assert cfg.save({(("llm",), "model"): "b"}) is True  # the object is still usable
    assert read(p) == '[llm]\nmodel = "b"\n'


# ----------------------------------------------------------------------------- property test

TABLES = [("llm",), ("llm", "groq"), ("llm", "x-1"), ("core",), ("agent",),
          ("extended", "llm_settings")]
KEYS = ["model", "api_key", "num_retries", "temperature", "odd key", "a.b", 'q"k']
SUBS = ["sub", "inner"]
BARE = re.compile(r"[A-Za-z0-9_-]+")


def q(s: str) -> str:
    """A basic TOML string."""
    out = s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return f'"{out}"'


text_st = st.text(alphabet=st.sampled_from(list("ab z#=\"'\\[]{},é")), max_size=8)
comment_st = st.text(alphabet=st.sampled_from(list("ab #=\"'[]{}")), max_size=10).map(
    lambda s: "#" + s)


SCALARS = ["int", "float", "bool", "basic", "literal"]


@st.composite
def scalar_toml(draw: st.DrawFn, kind: str | None = None) -> str:
    kind = kind or draw(st.sampled_from(SCALARS))
    if kind == "int":
        return str(draw(st.integers(-10**6, 10**6)))
    if kind == "float":
        return repr(draw(st.floats(allow_nan=False, allow_infinity=False)))
    if kind == "bool":
        return draw(st.sampled_from(["true", "false"]))
    s = draw(text_st)
    if kind == "literal" and "'" not in s:
        return f"'{s}'"
    return q(s)


ML_LINES = ["# not a comment", "model = 'x'", "[llm.groq]", 'say \\"hi\\" = 1', "", "  [",
            "end #"]


@st.composite
def value_lines(draw: st.DrawFn) -> list[str]:
    """A TOML value as lines (the first goes after ``key = ``)."""
    kind = draw(st.sampled_from(["scalar", "scalar", "array", "ml_array", "inline", "ml_str",
                                 "ml_literal"]))
    if kind == "scalar":
        return [draw(scalar_toml())]
    # Arrays hold one type: OpenHands' parser (toml 0.10) rejects mixed ones.
    item = scalar_toml(draw(st.sampled_from(["int", "float", "bool", "basic"])))
    if kind == "array":
        return ["[" + ", ".join(draw(st.lists(item, max_size=3))) + "]"]
    if kind == "inline":
        items = draw(st.dictionaries(st.sampled_from(["a", "b", "c d"]), scalar_toml(),
                                     max_size=3))
        return ["{" + ", ".join(f"{q(k)} = {v}" for k, v in items.items()) + "}"]
    if kind == "ml_array":
        items = draw(st.lists(item, min_size=1, max_size=3))
        lines = ["[" + draw(st.sampled_from(["", "  # open ]"]))]
        for i, item in enumerate(items):
            comma = "," if i < len(items) - 1 or draw(st.booleans()) else ""
            lines.append(f"  {item}{comma}" + draw(st.sampled_from(["", "  # it = [1"])))
        return [*lines, "]"]
    body = draw(st.lists(st.sampled_from(ML_LINES), max_size=3))
    if kind == "ml_str":
        return ['"""', *body, 'tail"""']
    return ["'''", *[b.replace("'", "") for b in body], "tail'''"]


def key_text(draw: st.DrawFn, key: str) -> str:
    forms = [q(key)]
    if BARE.fullmatch(key):
        forms += [key, key, f"'{key}'"]
    return draw(st.sampled_from(forms))


@st.composite
def documents(draw: st.DrawFn) -> dict:
    """A random TOML document, the line ranges of its keys, and its table headers."""
    eol = draw(st.sampled_from(["\n", "\r\n"]))
    tables = [(), *draw(st.lists(st.sampled_from(TABLES), unique=True, max_size=4))]
    lines: list[str] = []
    owner: list[tuple[str, ...] | None] = []  # full key path each line belongs to
    first_line: dict[tuple[str, ...], str] = {}  # full key path -> its key text
    keys: dict[tuple[str, ...], list[tuple[tuple[str, ...], str]]] = {}
    for table in tables:
        if table:
            parts = [draw(st.sampled_from([p, q(p)])) if BARE.fullmatch(p) else q(p)
                     for p in table]
            sep = draw(st.sampled_from([".", " . "]))
            head = "[" + sep.join(parts) + "]" + draw(st.sampled_from(["", "  # t = [x]"]))
            lines.append(head)
            owner.append(None)
        keys[table] = []
        used: set[str] = set()
        for kind in draw(st.lists(st.sampled_from(
                ["kv", "kv", "dotted", "comment", "twin", "blank"]), max_size=7)):
            if kind in ("kv", "dotted"):
                if kind == "kv":
                    key = draw(st.sampled_from(KEYS))
                    if key in used:
                        continue
                    used.add(key)
                    ktext, sub, name = key_text(draw, key), (), key
                else:
                    sub_name, name = draw(st.sampled_from(SUBS)), draw(st.sampled_from(["k", "j"]))
                    if f"{sub_name}.{name}" in used:
                        continue
                    used.add(f"{sub_name}.{name}")
                    ktext = sub_name + draw(st.sampled_from([".", " . "])) + name
                    sub = (sub_name,)
                val = draw(value_lines())
                val[-1] += draw(st.sampled_from(["", "  # inline = 'c'", " #"]))
                full = (*table, *sub, name)
                keys[table].append(((*table, *sub), name))
                first_line[full] = ktext
                lines.append(f"{ktext} = {val[0]}")
                lines.extend(val[1:])
                owner.extend([full] * len(val))
            else:
                if kind == "comment":
                    lines.append(draw(comment_st))
                elif kind == "twin":
                    key = draw(st.sampled_from(KEYS))
                    lines.append(draw(st.sampled_from(["#", "# "])) + key_text(draw, key)
                                 + draw(st.sampled_from([" = ", "="])) + draw(scalar_toml()))
                else:
                    lines.append("")
                owner.append(None)
    final = draw(st.booleans())
    text = eol.join(lines) + (eol if final and lines else "")
    return {"text": text, "eol": eol, "owner": owner, "first_line": first_line, "keys": keys,
            "tables": tables}


edit_values = st.recursive(
    st.integers(-10**9, 10**9) | st.floats(allow_nan=False) | st.booleans()
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.sampled_from(["a", "b c", "d.e"]), inner, max_size=3),
    max_leaves=6,
)


@st.composite
def doc_and_edits(draw: st.DrawFn) -> tuple[dict, dict]:
    doc = draw(documents())
    existing = [kv for kvs in doc["keys"].values() for kv in kvs]
    edits: dict[tuple[tuple[str, ...], str], Any] = {}
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["set", "delete", "new", "new", "absent_delete"]))
        if kind in ("set", "delete") and existing:
            target = draw(st.sampled_from(existing))
            edits[target] = DELETE if kind == "delete" else draw(edit_values)
        elif kind in ("new", "absent_delete"):
            table = draw(st.sampled_from([(), *TABLES]))
            present = {k for t, k in doc["keys"].get(table, []) if t == table}
            free = [k for k in KEYS if k not in present]
            if free:
                edits[(table, draw(st.sampled_from(free)))] = (
                    DELETE if kind == "absent_delete" else draw(edit_values))
    return doc, edits


def split_lines(text: str) -> list[str]:
    """Lines without their line endings; a final newline gives a last "" (kept like a line,
    so a file without one must still end without one, unless its last line was removed)."""
    return re.split(r"\r?\n", text)


def expected_data(data: dict, edits: dict, explicit: list[tuple[str, ...]]) -> dict:
    """``data`` with ``edits`` applied, the way TOML sees it."""
    new = copy.deepcopy(data)
    for (table, key), value in edits.items():
        if value is DELETE:
            node: Any = new
            chain = [new]
            for t in table:
                node = node.get(t) if isinstance(node, dict) else None
                chain.append(node)
            if isinstance(node, dict) and key in node:
                del node[key]
                # A table made only of dotted keys disappears with its last key.
                for depth in range(len(table), 0, -1):
                    if chain[depth] or table[:depth] in explicit:
                        break
                    del chain[depth - 1][table[depth - 1]]
        else:
            node = new
            for t in table:
                node = node.setdefault(t, {})
            node[key] = value
    return new


def key_prefixes(doc: dict, edits: dict) -> list[str]:
    out = []
    for (table, key), _ in edits.items():
        full = (*table, key)
        if full in doc["first_line"]:
            out.append(doc["first_line"][full])
        out.append((key if BARE.fullmatch(key) else json.dumps(key)) + " = ")
    return out


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=doc_and_edits())
def test_random_documents_and_edits(tmp_path: Path, case: tuple[dict, dict]) -> None:
    doc, edits = case
    text = doc["text"]
    p = tmp_path / "config.toml"
    p.write_bytes(text.encode())
    data = tomllib.loads(text)  # the generator only makes valid TOML
    cfg = ConfigFile.load(p)
    assert cfg.data == data
    expected = expected_data(data, edits, doc["tables"])
    try:
        written = cfg.save(edits)
    except ConfigError as e:  # only what OpenHands could not read, and then nothing changes
        assert "toml 0.10" in str(e) or "OpenHands cannot read" in str(e), str(e)
        assert toml_compat.file_problem(text, data) is not None or any(
            toml_compat.edit_problem(t, k, v) for (t, k), v in edits.items() if v is not DELETE)
        assert read(p) == text and cfg.data == data
        return
    new = read(p)
    if written:
        assert toml_compat.file_problem(new, expected) is None
    assert tomllib.loads(new) == expected
    assert cfg.data == expected and ConfigFile.load(p).data == expected
    assert written == (new != text)
    if not written:
        return
    assert cfg._last_strategy == "lines", "ordinary TOML must not need the tomlkit fallback"

    # Line endings and the final-newline convention survive (when the file had them).
    if "\r\n" in text:
        assert "\n" not in new.replace("\r\n", "")
    if text.endswith("\n") and new:
        assert new.endswith("\n")

    # Old lines minus the edited keys' lines == new lines minus inserted lines, in order.
    edited = {(*t, k) for (t, k) in edits}
    old_lines = split_lines(text)
    kept = [line for i, line in enumerate(old_lines)
            if i >= len(doc["owner"]) or doc["owner"][i] not in edited]
    new_headers = {"[" + ".".join(t) + "]" for (t, _) in edits if t not in doc["tables"]}
    prefixes = key_prefixes(doc, edits)

    def may_be_inserted(line: str) -> bool:
        s = line.strip()
        return not s or s in new_headers or line.lstrip().startswith(tuple(prefixes))

    new_lines = split_lines(new)
    i = 0
    diff = "".join(difflib.unified_diff(text.splitlines(True), new.splitlines(True)))
    for line in new_lines:
        if i < len(kept) and line == kept[i]:
            i += 1
        else:
            assert may_be_inserted(line), f"unexpected line {line!r}\n{diff}"
    assert i == len(kept), f"original line {kept[i]!r} lost or moved\n{diff}"
