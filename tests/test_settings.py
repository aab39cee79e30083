"""Effective settings: precedence, sources, inheritance, the retry rule (in process)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui.core import fields as F
from tui.core import settings as S
from tui.core.config_file import ConfigFile

DOC = """\
[llm.groq]
model = "groq/llama-3.3-70b-versatile"
num_retries = 8

[llm]
model = "anthropic/claude-3-7-sonnet-20250219"
api_key = ""
temperature = 0.2
num_retries = "three"

[extended.llm_settings]
embedding_model = "local"
"""


@pytest.fixture
def cfg(tmp_path: Path) -> ConfigFile:
    path = tmp_path / "config.toml"
    path.write_text(DOC)
    return ConfigFile.load(path)


def test_sources_and_precedence(cfg: ConfigFile) -> None:
    s = S.load(cfg, None, environ={"LLM_TEMPERATURE": "0.9", "LLM_TOP_P": ""})
    assert (s["model"], str(s.values["model"].source)) == (
        "anthropic/claude-3-7-sonnet-20250219", "file [llm]")
    t = s.values["temperature"]
    assert t.value == 0.9 and t.overridden and str(t.below.source) == "file [llm]"
    assert s.values["top_p"].source == S.DEFAULT  # OpenHands skips empty variables
    assert s.values["api_key"].value is None  # api_key = "" is no key
    assert "expected a whole number" in s.values["num_retries"].problem
    assert s["embedding_model"] == "local"
    assert s.provider == "anthropic" and s.account() == "anthropic"


def test_group_inherits_from_llm_even_when_written_first(cfg: ConfigFile) -> None:
    s = S.load(cfg, "groq", environ={})
    assert str(s.values["model"].source) == "file [llm.groq]"
    assert s["temperature"] == 0.2 and str(s.values["temperature"].source) == "inherited from [llm]"
    assert s["num_retries"] == 8
    assert S.group_names(cfg) == ["groq"]
    assert s.provider == "groq"


def test_env_bool_reading_matches_openhands(cfg: ConfigFile) -> None:
    s = S.load(cfg, None, environ={"LLM_DROP_PARAMS": "yes", "LLM_CACHING_PROMPT": "1"})
    assert s["drop_params"] is False and s["caching_prompt"] is True
    bad = S.load(cfg, None, environ={"LLM_TIMEOUT": "soon"})
    assert bad["timeout"] is None and "LLM_TIMEOUT='soon'" in bad.values["timeout"].env_problem


def test_plan_set_pins_all_retry_fields(cfg: ConfigFile) -> None:
    edits = S.plan_set(cfg, "groq", "retry_max_wait", 60)
    assert edits == {(("llm", "groq"), "retry_max_wait"): 60,
                     (("llm", "groq"), "retry_min_wait"): 5,
                     (("llm", "groq"), "retry_multiplier"): 2}
    with pytest.raises(F.FieldError, match="longer than retry_max_wait"):
        S.plan_set(cfg, None, "retry_min_wait", 31)


def test_env_only_fields_never_go_into_llm(cfg: ConfigFile) -> None:
    assert S.plan_set(cfg, None, "embedding_deployment_name", "emb") == {
        (("extended", "llm_settings"), "embedding_deployment_name"): "emb"}


def test_export_vars(cfg: ConfigFile) -> None:
    s = S.load(cfg, "groq", environ={"LLM_API_KEY": "k" * 20})
    pairs = dict(S.export_vars(s, with_secrets=False))
    assert pairs["LLM_MODEL"] == "groq/llama-3.3-70b-versatile"
    assert pairs["LLM_TEMPERATURE"] == "0.2" and pairs["LLM_API_KEY"] is None
    assert "LLM_TOP_P" not in pairs  # defaults are not exported
    assert dict(S.export_vars(s, with_secrets=True))["LLM_API_KEY"] == "k" * 20


def test_find_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert S.find_config(None, cwd=tmp_path) == tmp_path / "home/.openhands/config.toml"
    (tmp_path / "config.toml").write_text("")
    assert S.find_config(None, cwd=tmp_path) == tmp_path / "config.toml"
    assert S.find_config("~/x.toml") == tmp_path / "home/x.toml"


def test_mask_never_shows_a_short_secret() -> None:
    assert S.mask("sk-abcdefghijklmnop1234") == "****1234"
    assert S.mask("short-key") == "****"
    assert S.mask(None) == "(not set)"


def test_cross_problems() -> None:
    assert S.cross_problems({"model": "azure/gpt4", "api_version": None}) == [
        ("api_version", "Azure models need an API version (e.g. 2024-12-01-preview)")]
    assert S.cross_problems({"retry_min_wait": 5, "retry_max_wait": 30}) == []
