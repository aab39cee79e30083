"""Every write must be readable by OpenHands 0.x, which parses config.toml with toml 0.10."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import toml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tui.core import toml_compat
from tui.core.config_file import ConfigError, ConfigFile

BIN = Path(sys.executable).parent / "llm-settings"
GROUP = ("llm", "g")
START = '[llm]\nmodel = "a/b"\n'


def openhands_reads(text: str) -> bool:
    """toml 0.10 parses ``text`` to what tomllib does."""
    try:
        got = toml.loads(text)
    except Exception:
        return False
    return toml_compat._same(got, tomllib.loads(text))


# Values toml 0.10.2 cannot read, or reads as something else, with the reason we give.
REFUSED: list[tuple[Any, str]] = [
    ({"stop": ["a", 1]}, r'arrays that mix types: \["a", 1\]'),
    ({"n": [1, 2.5]}, r"arrays that mix types: \[1, 2.5\]"),
    ({"x": [{"a": 1}, 2]}, r"arrays that mix types"),  # toml 0.10 drops the 2 silently
    ({"x": [[], {"a": 1}]}, r"arrays that mix types"),
    ({"at": dt.time(18, 4, 22, 670)}, r"reads .* differently"),  # fraction of a second
    ({". ": 1}, r"reads .* differently"),  # a key's trailing space is dropped
    ({"\x01": 1}, r"reads .* differently"),  # escapes in keys are not decoded
    ({"a": {"b": {"c": dt.date(2020, 1, 2), "d": {}}, "e": [dt.time(1, 2, 3)]}},
     r"cannot read"),
    ({"limit": float("inf")}, r"cannot read .*inf"),  # inf or nan inside an inline table
    ({"n": [[1], [2]]}, r"cannot read"),  # arrays of arrays inside an inline table
    ({"deep": {"x": {"y": [{"z": 1}, {"w": 2}]}}}, r"cannot read"),
]


@pytest.mark.parametrize(("value", "reason"), REFUSED)
def test_values_openhands_cannot_read_are_refused(tmp_path: Path, value: Any,
                                                  reason: str) -> None:
    p = tmp_path / "config.toml"
    p.write_text(START)
    with pytest.raises(ConfigError, match=r"OpenHands' TOML parser \(toml 0\.10\) ") as e:
        ConfigFile.load(p).save({(GROUP, "completion_kwargs"): value})
    assert e.match(reason) and "nothing was written" in str(e.value)
    assert p.read_text() == START


ACCEPTED: list[Any] = [
    {"stop": ["a", "b"], "n": [1, 2], "deep": {"x": {"y": 1}}, "list": [{"z": 1}, {"w": 2}]},
    {"when": dt.date(2024, 1, 2), "at": dt.datetime(2024, 1, 2, 3, 4, 5)},
    {"big": 2**63 - 1, "small": -(2**63), "e": 1e300},
    {"empty": [], "t": {}},
    {'q"k': 'it\'s a "quote" \\ \t\n', "é": "😀"},
]


@pytest.mark.parametrize("value", ACCEPTED)
def test_values_openhands_reads_are_written(tmp_path: Path, value: Any) -> None:
    p = tmp_path / "config.toml"
    p.write_text(START)
    assert ConfigFile.load(p).save({(GROUP, "completion_kwargs"): value}) is True
    assert openhands_reads(p.read_text())


def test_cli_refuses_a_mixed_array_with_the_reason(tmp_path: Path) -> None:
    p = tmp_path / "config.toml"
    p.write_text(START)
    env = {**os.environ, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    r = subprocess.run([str(BIN), "--config", str(p), "--llm", "g", "set", "completion_kwargs",
                        '{"stop": ["a", 1]}'], capture_output=True, text=True, env=env,
                       timeout=60)
    assert r.returncode == 1
    assert "cannot read arrays that mix types: [\"a\", 1]" in r.stderr
    assert p.read_text() == START


def test_a_file_openhands_already_cannot_read_is_never_written(tmp_path: Path) -> None:
    text = '[core]\nx = [1, "a"]\n\n[llm]\nmodel = "a/b"\n'
    p = tmp_path / "config.toml"
    p.write_text(text)
    with pytest.raises(ConfigError, match="already holds TOML that OpenHands cannot read") as e:
        ConfigFile.load(p).save({(("llm",), "model"): "c/d"})
    assert "llm-settings doctor" in str(e.value)
    assert p.read_text() == text
    assert ConfigFile.load(p).openhands_problem() == "not a homogeneous array"
    # An edit that makes it readable again is written.
    assert ConfigFile.load(p).save({(("core",), "x"): ["1", "a"]}) is True
    assert openhands_reads(p.read_text())


def test_integers_beyond_64_bits_are_refused(tmp_path: Path) -> None:
    p = tmp_path / "config.toml"
    p.write_text(START)
    with pytest.raises(ConfigError, match="64-bit"):
        ConfigFile.load(p).save({(GROUP, "completion_kwargs"): {"n": [2**64]}})
    with pytest.raises(ConfigError, match="64-bit"):
        ConfigFile.load(p).save({(("llm",), "seed"): -(2**63) - 1})
    assert p.read_text() == START


keys = st.text(max_size=4)
values = st.recursive(
    st.integers(-(2**63), 2**63 - 1) | st.floats() | st.booleans() | st.text(max_size=6)
    | st.dates() | st.times() | st.datetimes(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
    max_leaves=8)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.dictionaries(keys, values, max_size=3))
def test_whatever_is_written_openhands_reads_the_same(tmp_path: Path, value: dict) -> None:
    p = tmp_path / "config.toml"
    p.write_text(START)
    try:
        ConfigFile.load(p).save({(GROUP, "completion_kwargs"): value})
    except ConfigError as e:
        assert "toml 0.10" in str(e)
        assert p.read_text() == START
        return
    assert openhands_reads(p.read_text())


def test_a_bom_is_reported_and_dropped_by_a_save(tmp_path: Path) -> None:
    p = tmp_path / "config.toml"
    p.write_bytes(b"\xef\xbb\xbf" + START.encode())
    cfg = ConfigFile.load(p)
    assert cfg.openhands_problem() == "it starts with a byte order mark (BOM)"
    assert cfg.save({(("llm",), "model"): "c/d"}) is True
    assert cfg.openhands_problem() is None and openhands_reads(p.read_text())
