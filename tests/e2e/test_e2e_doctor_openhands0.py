"""End to end: ``llm-settings doctor`` agrees with OpenHands 0.62's own loader on every file.

Each file of the corpus (tests/e2e/doctor_corpus.py) is loaded by ``load_from_toml`` of the
released openhands-ai 0.62.0 package, in a cached Python 3.12 venv built with uv, in one
subprocess; OpenHands' verdict is "fails" when it raises or logs that it ignored a section.
Doctor must exit 1 exactly on those files.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e import doctor_corpus, openhands_venv
from tui.core import doctor
from tui.core import fields as F
from tui.core import openhands_rules as R

pytestmark = pytest.mark.timeout(openhands_venv.BUILD_TIMEOUT + 300)

SPECS = ["openhands-ai==0.62.0"]
VERDICTS = Path(__file__).with_name("openhands0_verdicts.py")

# What load_from_toml logs when it ignores the file or a section (or part of one).
DROPPED = ("Cannot parse", "Invalid base agent configuration", "Invalid agent configuration",
           "Invalid condenser configuration")
# What it logs while still applying everything it understood.
HARMLESS = ("No [core] section", "Unknown config key", "Unknown section", "LLM config '",
            "llm config group", "Failed to load custom agent class")


@pytest.fixture(scope="module")
def openhands_python() -> Path:
    return openhands_venv.python_with(SPECS)


def openhands_verdicts(python: Path, files: list[Path], cwd: Path) -> dict[str, dict]:
    """{file: {"raised", "warnings"}} from OpenHands' own loader, in one subprocess."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LLM_", "VIRTUAL_ENV"))}
    p = subprocess.run([str(python), str(VERDICTS), *map(str, files)], capture_output=True,
                       text=True, cwd=cwd, env=env, timeout=600, check=False)
    assert p.returncode == 0, p.stderr[-3000:]
    rows = [json.loads(line) for line in p.stdout.splitlines() if line.startswith("{")]
    return {row["file"]: row for row in rows}


def fails(verdict: dict) -> bool:
    unknown = [w for w in verdict["warnings"] if not w.startswith(DROPPED + HARMLESS)]
    assert not unknown, f"unclassified OpenHands warning for {verdict['file']}: {unknown}"
    return verdict["raised"] is not None or any(w.startswith(DROPPED)
                                                for w in verdict["warnings"])


def test_doctor_exit_code_equals_openhands_verdict(openhands_python: Path,
                                                   tmp_path: Path) -> None:
    cases = doctor_corpus.cases()
    assert len(cases) >= 60
    folder = tmp_path / "corpus"
    folder.mkdir()
    files = []
    for i, (_name, raw) in enumerate(cases):
        files.append(folder / f"{i:03d}.toml")
        files[-1].write_bytes(raw)
    verdicts = openhands_verdicts(openhands_python, files, tmp_path)
    mismatches = []
    for (name, _raw), path in zip(cases, files, strict=True):
        verdict = verdicts[str(path)]
        try:
            report = doctor.run(path, None, {}, None)
        except Exception as e:  # a crash is a disagreement too: listed, not fatal
            mismatches.append(f"{name!r}: doctor raised {e!r}")
            continue
        errors = [f.message for f in report.findings if f.level == "error"]
        if fails(verdict) != (not report.ok):
            said = verdict["raised"] or "; ".join(
                w for w in verdict["warnings"] if w.startswith(DROPPED)) or "no warning"
            mismatches.append(f"{name!r}: OpenHands {'fails' if fails(verdict) else 'reads it'}"
                              f" ({said[:150]!r}); doctor exit {int(not report.ok)} "
                              f"({'; '.join(errors)[:150]!r})")
    failing = sum(fails(verdicts[str(p)]) for p in files)
    sys.stdout.write(f"\n{len(files)} files, OpenHands fails on {failing}\n")
    assert not mismatches, "doctor disagrees with OpenHands 0.62 on:\n" + "\n".join(mismatches)


def test_registry_matches_llm_config_fields(openhands_python: Path) -> None:
    """Every [llm] field doctor knows is a field of LLMConfig, with the same kind of type."""
    code = ("import json; from openhands.core.config.llm_config import LLMConfig as C; "
            "print(json.dumps({k: str(f.annotation) for k, f in C.model_fields.items()}))")
    p = subprocess.run([str(openhands_python), "-c", code], capture_output=True, text=True,
                       check=True, timeout=300)
    fields = json.loads(p.stdout.strip().splitlines()[-1])
    assert set(fields) == set(R.LLM)
    for name, kind in R.LLM.items():
        word = {"str": "str", "int": "int", "float": "float", "bool": "bool", "dict": "dict",
                "list[dict[str,str]]": "list[dict[str, str]]"}[kind]
        secret = F.BY_NAME[name].secret
        assert (word in fields[name]) or (secret and "SecretStr" in fields[name]), \
            (name, kind, fields[name])


# -- the venv helper ---------------------------------------------------------------------
def test_without_python312_the_test_skips_or_fails_under_ci(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(openhands_venv, "find_python", lambda: None)
    banner = io.StringIO()
    monkeypatch.setattr(sys, "__stderr__", banner)
    for var in openhands_venv.REQUIRE_VARS:
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(pytest.skip.Exception, match=r"no Python 3\.12 found"):
        openhands_venv.python_with(SPECS)
    assert "E2E TESTS SKIPPED: no Python 3.12 found" in banner.getvalue()  # loudly
    monkeypatch.setenv("LLM_SETTINGS_REQUIRE_E2E", "1")
    with pytest.raises(pytest.fail.Exception, match=r"no Python 3\.12 found"):
        openhands_venv.python_with(SPECS)


def test_a_failed_build_leaves_no_venv(monkeypatch: pytest.MonkeyPatch,
                                       tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    python = openhands_venv.find_python() or sys.executable
    calls = []

    def run(cmd: list[str], what: str) -> None:
        calls.append(what)
        if "install" in what:
            Path(cmd[cmd.index("-p") + 1]).parent.mkdir(parents=True, exist_ok=True)
            pytest.fail("install interrupted", pytrace=False)

    monkeypatch.setattr(openhands_venv, "_run", run)
    with pytest.raises(pytest.fail.Exception, match="install interrupted"):
        openhands_venv.build(["nothing==1.0"], python, "uv")
    root = openhands_venv.cache_root()
    assert len(calls) == 2
    assert list(root.iterdir()) == []  # neither the venv nor its temporary folder
