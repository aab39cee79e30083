"""The field registry: coverage of OpenHands' [llm] fields, parsing and validation."""

from __future__ import annotations

import pytest

from tui.core import fields as F

ISSUE_FIELDS = (
    "model", "api_key", "base_url", "api_version", "custom_llm_provider", "aws_access_key_id",
    "aws_secret_access_key", "aws_region_name", "num_retries", "retry_min_wait",
    "retry_max_wait", "retry_multiplier", "timeout", "temperature", "top_p", "top_k",
    "max_input_tokens", "max_output_tokens", "max_message_chars", "input_cost_per_token",
    "output_cost_per_token", "drop_params", "modify_params", "disable_vision",
    "disable_stop_word", "caching_prompt", "reasoning_effort", "native_tool_calling",
    "custom_tokenizer", "ollama_base_url", "seed", "safety_settings", "completion_kwargs",
    "log_completions", "log_completions_folder", "openrouter_site_url", "openrouter_app_name",
    "for_routing", "correct_num",
)


def test_registry_covers_every_llm_field_once() -> None:
    names = [f.name for f in F.FIELDS]
    assert len(names) == len(set(names))
    assert set(ISSUE_FIELDS) <= set(F.TOML_FIELDS)
    assert {"embedding_model", "embedding_deployment_name"} <= set(names)
    assert not {"embedding_model", "embedding_deployment_name"} & set(F.TOML_FIELDS)


def test_env_names_and_panes() -> None:
    assert F.BY_NAME["num_retries"].env == "LLM_NUM_RETRIES"
    assert F.BY_NAME["embedding_model"].env == "LLM_EMBEDDING_MODEL"
    settings_pane = [f.name for f in F.FIELDS if f.pane == F.SETTINGS]
    assert settings_pane == ["model", "api_key"]
    assert all(f.group in F.GROUPS for f in F.FIELDS)
    assert set(F.SECRET_FIELDS) == {"api_key", "aws_access_key_id", "aws_secret_access_key",
                                    "search_api_key"}


def test_whole_config_fields_use_openhands_env_names() -> None:
    """OpenHands' load_from_env: [core] fields bare, [security] with SECURITY_."""
    env = {f.name: f.env for f in F.FIELDS if f.shared and f.exportable}
    assert env == {"max_budget_per_task": "MAX_BUDGET_PER_TASK",
                   "search_api_key": "SEARCH_API_KEY", "default_agent": "DEFAULT_AGENT",
                   "enable_default_condenser": "ENABLE_DEFAULT_CONDENSER",
                   "confirmation_mode": "SECURITY_CONFIRMATION_MODE",
                   "security_analyzer": "SECURITY_SECURITY_ANALYZER"}
    assert not F.BY_NAME["condenser_max_size"].exportable


def test_documented_retry_defaults() -> None:
    assert [F.BY_NAME[n].default for n in F.RETRY_FIELDS] == [4, 5, 30, 2]
    # tenacity's wait_exponential: max(min, min(multiplier * 2**(n-1), max))
    assert F.retry_schedule(4, 5, 30, 2) == [5, 5, 8]
    assert F.retry_schedule(6, 5, 30, 5) == [5, 10, 20, 30, 30]
    assert F.retry_schedule(5, 1, 10, 2) == [2, 4, 8, 10]
    assert F.retry_schedule(1, 5, 30, 2) == []


@pytest.mark.parametrize(("name", "text", "value"), [
    ("num_retries", "6", 6),
    ("num_retries", " 1_0 ", 10),
    ("temperature", "0.7", 0.7),
    ("temperature", "1", 1),
    ("drop_params", "TRUE", True),
    ("drop_params", "no", False),
    ("base_url", "http://127.0.0.1:8000/v1", "http://127.0.0.1:8000/v1"),
    ("reasoning_effort", "high", "high"),
    ("completion_kwargs", '{"extra_headers": {"X-A": "1"}}', {"extra_headers": {"X-A": "1"}}),
    ("completion_kwargs", '{ stop = ["x"] }', {"stop": ["x"]}),
    ("safety_settings", '[{"category": "hate", "threshold": "low"}]',
     [{"category": "hate", "threshold": "low"}]),
    ("model", "anthropic/claude-3-7-sonnet-20250219", "anthropic/claude-3-7-sonnet-20250219"),
    ("model", "ollama/qwen2.5:72b", "ollama/qwen2.5:72b"),  # a tag is not a port
    ("model", "bedrock/anthropic.claude-v2:1", "bedrock/anthropic.claude-v2:1"),
    ("model", "qwen2.5:72", "qwen2.5:72"),
])
def test_parse_accepts(name: str, text: str, value: object) -> None:
    got = F.BY_NAME[name].parse(text)
    assert got == value and type(got) is type(value)


@pytest.mark.parametrize(("name", "text", "reason"), [
    ("num_retries", "four", "not a whole number"),
    ("num_retries", "0", "at least 1"),
    ("num_retries", "2.5", "not a whole number"),
    ("temperature", "3", "at most 2"),
    ("temperature", "nan", "finite"),
    ("top_p", "-0.1", "at least 0"),
    ("retry_multiplier", "0", "greater than 0"),
    ("drop_params", "maybe", "not true or false"),
    ("base_url", "localhost:8000", "http://"),
    ("base_url", "http://", "no host"),
    ("base_url", "http://host:99999/v1", "invalid port"),
    ("reasoning_effort", "extreme", "one of low, medium, high"),
    ("model", "anthropic/", "not a model name"),
    ("model", "my model", "not a model name"),
    ("model", "", "cannot be empty"),
    ("model", "127.0.0.1:8765/v1", "looks like a URL, not a model; did you mean `set base_url "
     "http://127.0.0.1:8765/v1`?"),
    ("model", "http://localhost:8000/v1", "looks like a URL"),
    ("model", "localhost:11434", "looks like a URL"),
    ("model", "api.example.com:8443/v1", "looks like a URL"),
    ("completion_kwargs", "[1, 2]", "expected a table"),
    ("completion_kwargs", "{oops", "not valid JSON or TOML"),
    ("safety_settings", "[1]", "each entry must be a table"),
    ("timeout", "", "required"),
])
def test_parse_refuses_with_reason(name: str, text: str, reason: str) -> None:
    with pytest.raises(F.FieldError) as e:
        F.BY_NAME[name].parse(text)
    assert reason in str(e.value)
    assert str(e.value).startswith(F.BY_NAME[name].title + ": ")
    assert str(e.value) == f"{F.BY_NAME[name].title}: {e.value.reason}"


def test_messages_name_the_label_users_see_and_the_key() -> None:
    with pytest.raises(F.FieldError) as e:
        F.BY_NAME["num_retries"].parse("0")
    assert str(e.value) == "Attempts (num_retries): must be at least 1 (got 0)"
    assert e.value.reason == "must be at least 1 (got 0)"
    assert F.BY_NAME["retry_min_wait"].rule_problem(-1) == (
        "Minimum wait (retry_min_wait): must be at least 0 (got -1)")
    assert F.BY_NAME["temperature"].title == "temperature"  # the label only spells it out


def test_type_problem_matches_what_openhands_rejects() -> None:
    f = F.BY_NAME["num_retries"]
    assert f.type_problem(4) is None
    assert "expected a whole number" in f.type_problem("4")
    assert "expected a whole number" in f.type_problem(True)
    assert F.BY_NAME["temperature"].type_problem(1) is None  # an int is a valid float
    assert F.BY_NAME["model"].type_problem(3) is not None


def test_env_reading_is_openhands_own() -> None:
    b = F.BY_NAME["drop_params"]
    assert b.from_env("1") is True and b.from_env("True") is True
    assert b.from_env("yes") is False  # OpenHands: only true/1
    with pytest.raises(F.FieldError, match="LLM_NUM_RETRIES='x' is not a whole number"):
        F.BY_NAME["num_retries"].from_env("x")
    d = F.BY_NAME["completion_kwargs"]
    assert d.to_env({"a": 1}) == "{'a': 1}"  # read back with ast.literal_eval


def test_unknown_field_suggests() -> None:
    with pytest.raises(F.FieldError, match="did you mean num_retries"):
        F.get("num_retry")
    with pytest.raises(F.FieldError, match="show lists them"):
        F.get("zzzz")


SECRET_TEXT = "sk-canary-fields-5e1d0c9b8a7f"


def test_errors_never_quote_a_secret_and_cut_long_values() -> None:
    for name in F.SECRET_FIELDS:
        f = F.BY_NAME[name]
        for problem in (f.type_problem(73914620581937462058), f.type_problem([SECRET_TEXT])):
            assert problem and "73914620" not in problem and SECRET_TEXT not in problem
    with pytest.raises(F.FieldError) as e:
        F.BY_NAME["num_retries"].from_env(SECRET_TEXT)
    assert "LLM_NUM_RETRIES=" in str(e.value) and SECRET_TEXT[:12] not in str(e.value)
    assert "29 characters" in str(e.value)
    with pytest.raises(F.FieldError) as e:
        F.BY_NAME["completion_kwargs"].parse('{"api_key": "' + SECRET_TEXT)
    assert SECRET_TEXT[:12] not in str(e.value)
    assert "'four'" in F.BY_NAME["num_retries"].shown("four")  # short values stay readable


def test_a_field_that_needs_a_switch_names_a_bool_field_and_how_it_is_off() -> None:
    needs = {f.name: f.needs for f in F.FIELDS if f.needs}
    # as on OpenHands' own screen: size off without condensation, analyzer only in confirmation
    assert needs == {"condenser_max_size": ("enable_default_condenser", "disable"),
                     "security_analyzer": ("confirmation_mode", "hide")}
    for switch, how in needs.values():
        assert F.BY_NAME[switch].type is bool and how in ("disable", "hide")
