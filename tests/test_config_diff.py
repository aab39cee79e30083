"""The save dialog's config.toml diff: the lines a save changes, keys never shown."""

from __future__ import annotations

from pathlib import Path

from tests.keyring_env import CANARY
from tui.core.config_diff import unified
from tui.core.config_file import ConfigFile
from tui.core.draft import Draft

CONFIG = """\
# my settings
[core]
workspace_base = "./ws"  # where the agent works

[llm]
# the model
model = "gpt-4o"
#temperature = 0.0
top_p = 0.9

[llm.fast]
model = "groq/llama"
api_key = "sk-other-group-canary-0123456789"
"""


def draft(tmp_path: Path, text: str = CONFIG, group: str | None = None) -> tuple[Path, Draft]:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path, Draft(ConfigFile.load(path), group, environ={})


def test_diff_is_the_changed_lines_in_place_and_the_save_writes_exactly_them(
        tmp_path: Path) -> None:
    path, d = draft(tmp_path)
    d.set_text("model", "openai/gpt-4.1")
    d.set_text("temperature", "0.5")
    d.set_text("top_p", "")
    shown = d.file_diff()
    assert shown == [
        "--- config.toml (now)",
        "+++ config.toml (after saving)",
        "@@ -5,7 +5,7 @@ [llm]",  # named after the table of the change
        " [llm]",
        " # the model",
        '-model = "gpt-4o"',
        '+model = "openai/gpt-4.1"',
        " #temperature = 0.0",
        "-top_p = 0.9",
        "+temperature = 0.5",
        " ",
        " [llm.fast]",
    ]
    d.save(store=None)
    assert unified(CONFIG, path.read_text(), "config.toml") == shown  # what was shown is done


def test_plaintext_key_is_masked_in_the_diff_and_so_is_every_key_nearby(tmp_path: Path) -> None:
    text = CONFIG.replace('model = "groq/llama"\n', 'model = "groq/llama"\n# api_key = '
                          '"sk-commented-canary-0123456789"\n')
    path, d = draft(tmp_path, text, group="fast")
    d.set_text("api_key", CANARY)
    d.insecure_storage = True  # the plaintext box ticked
    d.set_text("temperature", "0.1")
    shown = "\n".join(d.file_diff())
    assert '+api_key = ****8e0c (hidden)' in shown and "+temperature = 0.1" in shown
    for secret in (CANARY, "sk-other-group-canary-0123456789", "sk-commented-canary-0123456789",
                   "7f3a9c2e1b5d"):
        assert secret not in shown
    d.save(store=None)
    assert CANARY in path.read_text()  # the file does get the key: the diff only hides it


def test_a_key_that_goes_to_the_keyring_leaves_the_file_unchanged(tmp_path: Path) -> None:
    _, d = draft(tmp_path)
    d.set_text("api_key", CANARY)
    assert d.dirty and d.file_diff() == []


def test_a_new_file_is_diffed_against_nothing(tmp_path: Path) -> None:
    d = Draft(ConfigFile.load(tmp_path / "config.toml"), None, environ={})
    d.set_text("model", "openai/o3")
    assert d.file_diff() == ["--- /dev/null", "+++ config.toml (after saving)",
                             "@@ -0,0 +1,2 @@", "+[llm]", '+model = "openai/o3"']


def test_keys_are_masked_however_the_file_writes_them() -> None:
    before = ('[core]\nsearch_api_key = "tvly-dotted-canary-0123456789"\n'
              'creds = { token = "inline-canary-0123456789" }\n'
              '# github_token = "commented-canary-0123456789"\nmax_tokens = 4096\n')
    after = before.replace("max_tokens = 4096", "max_tokens = 8192")
    shown = unified(before, after, "config.toml", context=3)
    assert "-max_tokens = 4096" in shown and "+max_tokens = 8192" in shown  # not a secret
    assert ' search_api_key = ****6789 (hidden)' in shown
    text = "\n".join(shown)
    for secret in ("tvly-dotted", "inline-canary", "commented-canary"):
        assert secret not in text
