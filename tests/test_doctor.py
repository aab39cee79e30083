"""doctor's verdict is OpenHands 0.62's: error exactly when it fails or ignores a section.

The rules are checked here without OpenHands; tests/e2e/test_e2e_doctor_openhands0.py
compares them with the released package on a corpus of files.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from tui.cli.main import cli
from tui.core import doctor
from tui.core import fields as F
from tui.core import openhands_rules as R
from tui.core import settings as S
from tui.core.config_file import ConfigFile


def verdict(tmp_path: Path, text: str | bytes) -> doctor.Report:
    cfg = tmp_path / "config.toml"
    if isinstance(text, str):
        text = text.encode()
    cfg.write_bytes(text)
    return doctor.run(cfg, None, {}, None)


def errors(report: doctor.Report) -> str:
    return "\n".join(f.message for f in report.findings if f.level == "error")


@pytest.mark.parametrize(("text", "message"), [
    (b'\xef\xbb\xbf[llm]\nmodel = "x"\n', "byte order mark"),
    ('[llm]\nmodel = "x"\n[sandbox]\ntrusted_dirs = ["a", 1]\n', "array mixes value types"),
    ('[extended]\nx = [1, "a"]\n', "ignore the whole file"),
    ('[[llm]]\nmodel = "x"\n', "llm is an array of tables, not a table; OpenHands would stop"),
    ('llm = "x"\n', "llm is text 'x', not a table"),
    ('llm = 3\n', "OpenHands would stop with an error"),
    ('[llm]\nsafety_settings = [{category = "hate", level = 1}]\n',
     "ignore every key of [llm]"),
    ('[llm]\nnum_retries = 5.5\n', "num_retries: expected a whole number"),
    ('[llm]\nnum_retries = "5.5"\n', "expected a whole number"),
    ('[llm]\ndrop_params = 2\n', "drop_params: expected a true/false"),
    ('[llm.fast.extra]\na = 1\n', "skip the group [llm.fast]"),
    ('[security]\nconfirmation_mode = "sure"\n', "[security]: confirmation_mode"),
    ('[sandbox]\nfoo = 1\n', "[sandbox]: unknown key 'foo'; OpenHands would stop"),
    ('[agent]\nfoo = 1\n', "ignore every key of [agent]"),
    ('[condenser]\ntype = "llm"\n', "condense nothing"),
    ('[condenser]\ntype = "llm"\nllm_config = "cheap"\n', "no [llm] section"),
    ('[condenser]\ntype = "amortized"\nmax_size = 1\n', "max_size: must be at least 2"),
    ('extended = 1\n', "ignore [extended]"),
    (b'[llm]\nmodel = "caf\xe9"\n', "not UTF-8"),
])
def test_what_openhands_refuses_is_an_error(tmp_path: Path, text: str | bytes,
                                            message: str) -> None:
    report = verdict(tmp_path, text)
    assert not report.ok
    assert message in errors(report)


@pytest.mark.parametrize("text", [
    '[llm]\nnum_retries = "5"\n',
    '[llm]\nnum_retries = 5.0\n',
    '[llm]\ntimeout = 30.0\n',
    '[llm]\ntemperature = "0.5"\n',
    '[llm]\ndrop_params = "true"\n',
    '[llm]\ndrop_params = 1\n',
    '[llm.temperature]\nmodel = "x"\n',
    '[llm]\nmodel = "x"\r\nnum_retries = 5\r\n',
    "",
    '[core]\nfoo = 1\n',  # unknown [core] keys are ignored one by one
    '[agent]\nenable_cmd = "yes"\n',
    '[llm]\nmodel = "x"\n[condenser]\ntype = "llm"\nllm_config = "nope"\n',
    '[condenser]\ntype = "browser_output_masking"\nfoo = 1\n',
    '[mcp]\nsse_servers = ["http://localhost:8080/sse"]\n',
])
def test_what_openhands_accepts_is_not_an_error(tmp_path: Path, text: str) -> None:
    report = verdict(tmp_path, text)
    assert report.ok, errors(report)


def test_lax_values_still_get_a_warning(tmp_path: Path) -> None:
    report = verdict(tmp_path, '[llm]\nnum_retries = "5"\n[llm.temperature]\nmodel = "x"\n')
    warnings = [f.message for f in report.findings if f.level == "warning"]
    assert any("Attempts (num_retries): expected a whole number" in w and "converts it" in w
               for w in warnings)
    assert any("[llm.temperature] is a group named 'temperature'" in w for w in warnings)


def test_exit_code_is_the_verdict(tmp_path: Path, no_keyring: None) -> None:
    runner = CliRunner()
    cfg = tmp_path / "config.toml"
    cfg.write_bytes(b'\xef\xbb\xbf[llm]\nmodel = "x"\n')
    assert runner.invoke(cli, ["--config", str(cfg), "doctor"]).exit_code == 1
    cfg.write_text('[llm]\nmodel = "x"\nnum_retries = "5"\n')
    assert runner.invoke(cli, ["--config", str(cfg), "doctor"]).exit_code == 0


# pydantic 2's lax mode, as measured in OpenHands 0.62's venv (pydantic 2.14)
@pytest.mark.parametrize(("value", "expected"), [
    (5, 5), (5.0, 5), (True, 1), ("5", 5), (" 5 ", 5), ("5.0", 5), ("5.00", 5),
    ("1_000", 1000), ("+5", 5), ("-0", 0), (5.5, None), ("5.5", None), ("5.", None),
    ("1e3", None), ("0x10", None), ("", None), ("1__0", None), ("\u0665", None),
    (float("inf"), None), (1e20, None), ([5], None),
])
def test_lax_int(value: object, expected: int | None) -> None:
    assert R.lax_int(value) == expected


@pytest.mark.parametrize(("value", "expected"), [
    ("0.5", 0.5), ("1e3", 1000.0), (" 1.5 ", 1.5), ("5.", 5.0), ("1_0.5", 10.5),
    (True, 1.0), (2, 2.0), ("0x10", None), ("abc", None), ("\u0665", None), ("", None),
])
def test_lax_float(value: object, expected: float | None) -> None:
    assert R.lax_float(value) == expected


@pytest.mark.parametrize(("value", "expected"), [
    ("true", True), ("YES", True), ("t", True), ("on", True), ("1", True), (1, True),
    (1.0, True), ("off", False), ("n", False), (0, False),
    ("maybe", None), (" true", None), (2, None), ("2", None), (0.5, None),
])
def test_lax_bool(value: object, expected: bool | None) -> None:
    assert R.lax_bool(value) is expected if expected is None else R.lax_bool(value) == expected


# -- LLM_COMPLETION_KWARGS: ast.literal_eval, as OpenHands' load_from_env ----------------
@pytest.mark.parametrize("value", [
    {"top_p": 0.9},
    {"stop": ["x", "it's"], "stream": True, "seed": None, "extra": {"a": [1, 2.5]}},
    {"t\u00e9": "\"quoted\"\n"},
])
def test_exported_completion_kwargs_read_back(value: dict) -> None:
    f = F.BY_NAME["completion_kwargs"]
    assert f.from_env(f.to_env(value)) == value


def test_show_reads_what_export_writes(tmp_path: Path) -> None:
    cfg = ConfigFile.load(tmp_path / "config.toml")
    f = F.BY_NAME["completion_kwargs"]
    env = {f.env: f.to_env({"stream": True, "stop": ["x"]})}
    v = S.load(cfg, None, environ=env).values["completion_kwargs"]
    assert v.env_problem is None
    assert v.value == {"stream": True, "stop": ["x"]}


@pytest.mark.parametrize(("text", "message"), [
    ('{"stream": true}', "Python writes True, False and None"),
    ("{'a':", "a syntax error, which stops OpenHands 0.62 at startup"),
    ("[1, 2]", "expected a dict"),
])
def test_completion_kwargs_env_refuses_what_openhands_cannot_use(text: str,
                                                                 message: str) -> None:
    with pytest.raises(F.FieldError, match=message.replace("(", r"\(")):
        F.BY_NAME["completion_kwargs"].from_env(text)


def test_show_json_reads_a_python_literal(tmp_path: Path, no_keyring: None) -> None:
    runner = CliRunner()
    env = {"LLM_COMPLETION_KWARGS": "{'top_p': 0.9, 'stream': False}"}
    p = runner.invoke(cli, ["--config", str(tmp_path / "c.toml"), "show", "--json"], env=env)
    assert p.exit_code == 0, p.output
    row = next(r for r in json.loads(p.output)["fields"] if r["field"] == "completion_kwargs")
    assert row["problem"] is None
    assert row["value"] == {"top_p": 0.9, "stream": False}
    assert row["source"] == "env LLM_COMPLETION_KWARGS"


def test_doctor_says_a_syntax_error_in_completion_kwargs_stops_openhands(tmp_path: Path) -> None:
    report = doctor.run(tmp_path / "none.toml", None, {"LLM_COMPLETION_KWARGS": "{'a':"}, None)
    warnings = [f.message for f in report.findings if f.level == "warning"]
    assert any("stops OpenHands 0.62 at startup" in w and "ignores it" not in w
               for w in warnings), warnings


def test_export_then_show_round_trips_completion_kwargs(tmp_path: Path,
                                                        no_keyring: None) -> None:
    runner = CliRunner()
    cfg = ["--config", str(tmp_path / "config.toml"), "--llm", "fast"]
    kwargs = {"top_p": 0.9, "stream": True, "stop": ["x", "it's"]}
    assert runner.invoke(cli, [*cfg, "set", "model", "openai/gpt-4o"]).exit_code == 0
    assert runner.invoke(cli, [*cfg, "set", "completion_kwargs",
                               json.dumps(kwargs)]).exit_code == 0
    exported = runner.invoke(cli, [*cfg, "export"]).output
    line = next(x for x in exported.splitlines() if x.startswith("LLM_COMPLETION_KWARGS="))
    env = {"LLM_COMPLETION_KWARGS": shlex.split(line.split("=", 1)[1])[0]}
    shown = runner.invoke(cli, ["--config", str(tmp_path / "none.toml"), "show", "--json"],
                          env=env)
    row = next(r for r in json.loads(shown.output)["fields"]
               if r["field"] == "completion_kwargs")
    assert row["problem"] is None and row["value"] == kwargs
