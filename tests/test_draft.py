"""The form's unsaved edits: what a save would write, the values a test would use."""

from __future__ import annotations

from pathlib import Path

from tui.core.config_file import ConfigFile
from tui.core.draft import Draft


def test_summary_lists_the_retry_values_written_with_an_edit(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[llm]\nmodel = "openai/o3"\n')
    d = Draft(ConfigFile.load(path), None, environ={})
    assert d.set_text("num_retries", "6") is None
    assert d.summary() == [
        "num_retries: (not set) -> 6",
        "retry_min_wait: also written = 5",
        "retry_max_wait: also written = 30",
        "retry_multiplier: also written = 2",
    ]
    d.save(store=None)
    assert path.read_text() == ('[llm]\nmodel = "openai/o3"\nnum_retries = 6\n'
                                "retry_min_wait = 5\nretry_max_wait = 30\nretry_multiplier = 2\n")
    assert not d.dirty


def test_effective_values_apply_env_overrides_and_name_unsaved_fields(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[llm]\nmodel = "openai/o3"\ntemperature = 0.2\n')
    d = Draft(ConfigFile.load(path), None, environ={"LLM_TEMPERATURE": "0.9"})
    d.set_text("model", "openai/o4-mini")
    values, unsaved = d.effective()
    assert values["model"] == "openai/o4-mini" and values["temperature"] == 0.9
    assert unsaved == ["model"]


def test_group_placeholders_show_what_is_inherited(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[llm]\ntemperature = 0.2\n[llm.fast]\nmodel = "groq/llama"\n')
    d = Draft(ConfigFile.load(path), "fast", environ={})
    assert d.texts["temperature"] == "" and d.fallback_text("temperature") == "0.2 (inherited)"
    assert d.fallback_text("top_p") == "1.0 (default)"
    assert d.set_text("retry_min_wait", "60") is None
    assert "longer than retry_max_wait" in d.errors()["retry_min_wait"]
