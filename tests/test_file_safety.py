"""Saving config.toml safely: concurrent writers, odd files, permissions, crashed saves.

Most tests run the real ``llm-settings`` console script, as a user (or a script) would.
"""

from __future__ import annotations

import fcntl
import os
import signal
import stat
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

import tui.core.config_file as cf
from tui.core.config_file import ConfigChangedError, ConfigError, ConfigFile

BIN = Path(sys.executable).parent / "llm-settings"
ROOT = Path(__file__).resolve().parent.parent


def cli(*args: str, timeout: float = 120, home: Path | None = None
        ) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    if home is not None:
        env["HOME"] = str(home)
    for name in [n for n in env if n.startswith("LLM_")]:
        del env[name]
    return subprocess.run([str(BIN), *args], capture_output=True, text=True, env=env,
                          timeout=timeout)


def no_traceback(p: subprocess.CompletedProcess) -> None:
    out = p.stdout + p.stderr
    assert "Traceback" not in out and "unexpected" not in out, out


# ----------------------------------------------------------------------------- racing writers


def test_racing_cli_setters_never_lose_an_update(tmp_path: Path) -> None:
    """Pairs of `set` on one file at once: both report success and both values are there."""
    pairs, batch = 30, 5
    for start in range(0, pairs, batch):
        runs = []
        for i in range(start, start + batch):
            p = tmp_path / f"c{i}.toml"
            p.write_text('[llm]\nmodel = "a/b"\n')
            env = {**os.environ, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
            procs = [subprocess.Popen([str(BIN), "--config", str(p), "set", f, v], env=env,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                     for f, v in (("temperature", "0.5"), ("top_p", "0.7"))]
            runs.append((p, procs))
        for p, procs in runs:
            codes = [pr.wait(timeout=60) for pr in procs]
            errors = [pr.stderr.read().decode() for pr in procs]  # type: ignore[union-attr]
            data = tomllib.loads(p.read_text())["llm"]
            assert codes == [0, 0], errors
            assert (data.get("temperature"), data.get("top_p")) == (0.5, 0.7), p.read_text()


def test_a_change_to_other_keys_is_kept_and_to_the_same_key_refused(tmp_path: Path) -> None:
    p = tmp_path / "c.toml"
    p.write_text('[llm]\nmodel = "a/b"\n')
    mine, theirs = ConfigFile.load(p), ConfigFile.load(p)
    assert theirs.save({(("llm",), "top_p"): 0.5}) is True
    assert mine.save({(("llm",), "temperature"): 0.2}) is True
    assert tomllib.loads(p.read_text())["llm"] == {"model": "a/b", "top_p": 0.5,
                                                   "temperature": 0.2}
    assert mine.table("llm") == {"model": "a/b", "top_p": 0.5, "temperature": 0.2}
    assert theirs.save({(("llm",), "model"): "c/d"}) is True
    before = p.read_text()
    with pytest.raises(ConfigChangedError, match=r"llm\.model"):
        mine.save({(("llm",), "model"): "e/f"})
    assert p.read_text() == before


def test_lock_file_is_private_and_a_held_lock_times_out_clearly(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = tmp_path / "config.toml"
    p.write_text('[llm]\nmodel = "a/b"\n')
    ConfigFile.load(p).save({(("llm",), "top_p"): 0.5})
    lock = tmp_path / ".config.toml.lock"
    assert stat.S_IMODE(lock.stat().st_mode) == 0o600
    monkeypatch.setattr(cf, "LOCK_TIMEOUT", 0.3)
    with open(lock, "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(ConfigError, match="another program is saving"):
            ConfigFile.load(p).save({(("llm",), "top_p"): 0.7})
    assert tomllib.loads(p.read_text())["llm"]["top_p"] == 0.5


def test_a_save_lost_to_a_writer_without_the_lock_is_not_reported(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = tmp_path / "c.toml"
    p.write_text('[llm]\nmodel = "a/b"\n')
    real_replace = os.replace

    def replace_then_overwritten(src: str, dst: str) -> None:
        real_replace(src, dst)
        Path(dst).write_text('[llm]\nmodel = "someone/else"\n')

    monkeypatch.setattr(cf.os, "replace", replace_then_overwritten)
    with pytest.raises(ConfigError, match="not in the file"):
        ConfigFile.load(p).save({(("llm",), "model"): "c/d"})


# ----------------------------------------------------------------------------- not a file


@pytest.mark.skipif(not Path("/dev/null").exists(), reason="needs /dev/null")
def test_devices_are_refused_and_never_replaced(tmp_path: Path) -> None:
    for dev in ("/dev/null", "/dev/zero"):
        p = cli("--config", dev, "set", "model", "x/y", timeout=60)
        assert p.returncode == 1 and "not a regular file" in p.stderr, p.stderr
        assert stat.S_ISCHR(os.stat(dev).st_mode)
    link = tmp_path / "config.toml"
    link.symlink_to("/dev/null")
    with pytest.raises(ConfigError, match="not a regular file"):
        ConfigFile.load(link)


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "config.toml"
    os.mkfifo(fifo)
    p = cli("--config", str(fifo), "show", timeout=60)
    assert p.returncode == 1 and "not a regular file" in p.stderr and "FIFO" in p.stderr
    assert stat.S_ISFIFO(fifo.stat().st_mode)


def test_an_oversized_file_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "config.toml"
    p.write_text("# " + "x" * (2 << 20) + "\n")
    with pytest.raises(ConfigError, match="larger than 1 MiB"):
        ConfigFile.load(p)


# ----------------------------------------------------------------------------- permissions


def test_a_read_only_file_is_not_replaced(tmp_path: Path) -> None:
    p = tmp_path / "c.toml"
    p.write_text('[llm]\nmodel = "a/b"\n')
    os.chmod(p, 0o444)
    with pytest.raises(ConfigError, match="read-only"):
        ConfigFile.load(p).save({(("llm",), "model"): "c/d"})
    assert p.read_text() == '[llm]\nmodel = "a/b"\n'
    assert stat.S_IMODE(p.stat().st_mode) == 0o444


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
def test_another_users_file_is_not_replaced(tmp_path: Path) -> None:
    p = tmp_path / "c.toml"
    p.write_text('[llm]\nmodel = "a/b"\n')
    os.chmod(p, 0o666)
    os.chown(p, 65534, 65534)
    with pytest.raises(ConfigError, match="belongs to another user"):
        ConfigFile.load(p).save({(("llm",), "model"): "c/d"})
    assert p.stat().st_uid == 65534 and p.read_text() == '[llm]\nmodel = "a/b"\n'


def test_a_hard_linked_file_is_not_split(tmp_path: Path) -> None:
    p = tmp_path / "c.toml"
    p.write_text('[llm]\nmodel = "a/b"\n')
    os.link(p, tmp_path / "other.toml")
    with pytest.raises(ConfigError, match="hard link"):
        ConfigFile.load(p).save({(("llm",), "model"): "c/d"})
    assert p.stat().st_nlink == 2 and p.read_text() == '[llm]\nmodel = "a/b"\n'


# ----------------------------------------------------------------------------- crashed saves

KILLED_SAVE = textwrap.dedent("""
    import os, signal, sys
    from tui.core.config_file import ConfigFile
    os.replace = lambda src, dst: os.kill(os.getpid(), signal.SIGKILL)
    ConfigFile.load(sys.argv[1]).save({(("llm",), "model"): "c/d"})
""")


def test_temp_files_of_a_killed_save_are_removed_by_the_next(tmp_path: Path) -> None:
    p = tmp_path / "config.toml"
    p.write_text('[llm]\nmodel = "a/b"\n')
    other = tmp_path / ".other.toml.abcd1234.tmp"
    other.write_text("not ours")
    killed = subprocess.run([sys.executable, "-c", KILLED_SAVE, str(p)], cwd=ROOT, timeout=60)
    assert killed.returncode == -signal.SIGKILL
    stale = [n for n in os.listdir(tmp_path) if n.startswith(".config.toml.") and
             n.endswith(".tmp")]
    assert len(stale) == 1
    assert ConfigFile.load(p).save({(("llm",), "model"): "e/f"}) is True
    assert sorted(os.listdir(tmp_path)) == [".config.toml.lock", ".other.toml.abcd1234.tmp",
                                            "config.toml"]


# ----------------------------------------------------------------------------- odd values

ODD_FILES = {
    "int_model": '[llm]\nmodel = 5\napi_key = 5\n',
    "date_model": '[llm]\nmodel = 1979-05-27\naws_access_key_id = 1979-05-27T07:32:00Z\n',
    "odd_group": ('[llm]\nbase_url = 07:32:00\ntemperature = "hot"\n[llm.g]\n'
                  'completion_kwargs = {a = 1979-05-27T07:32:00Z}\nsafety_settings = [1]\n'
                  'model = [1]\n'),
    "table_model": '[llm]\nmodel = {a = 1}\nnum_retries = true\ntop_p = nan\nseed = 1e3\n',
    "huge_int": '[llm]\nnum_retries = 99999999999999999999\n',
    "non_tables": 'core = 5\nllm = 5\nextended = [1]\n',
    "group_not_table": '[llm]\ng = 5\n',
    "deep": "[llm]\nx = " + "[" * 5000 + "]" * 5000 + "\n",
}
DISCARDED = {"int_model", "date_model", "odd_group", "table_model", "deep"}  # by OpenHands
COMMANDS = [["get", "model"], ["get", "api_key"], ["show"], ["show", "--json"],
            ["set", "top_p", "0.5"], ["doctor"], ["--llm", "g", "show"],
            ["--llm", "g", "get", "model"]]


@pytest.mark.parametrize("name", sorted(ODD_FILES))
def test_values_of_any_type_get_a_message_never_a_traceback(tmp_path: Path, name: str) -> None:
    p = tmp_path / "config.toml"
    for args in COMMANDS:
        p.write_text(ODD_FILES[name])
        args = ["--config", str(p), *args]
        r = cli(*args)
        no_traceback(r)
        assert r.returncode in (0, 1), (args, r.stderr)
        if name == "deep":
            assert r.returncode == 1
            said = r.stdout + r.stderr
            assert ("nests arrays or tables 5000 levels deep" in said
                    or "nest too deeply for the toml parser of OpenHands" in said)
        if args[-1] == "doctor" and name in DISCARDED:
            assert r.returncode == 1, r.stdout


def test_a_mistyped_value_is_named_in_show_and_get(tmp_path: Path) -> None:
    p = tmp_path / "config.toml"
    p.write_text(ODD_FILES["int_model"])
    shown = cli("--config", str(p), "show")
    assert shown.returncode == 0
    assert "(model): expected a text, got whole number 5" in shown.stdout
    got = cli("--config", str(p), "get", "model")
    assert got.returncode == 1 and "(model): expected a text, got whole number 5" in got.stderr


def test_integers_beyond_64_bits_are_refused_by_the_registry(tmp_path: Path) -> None:
    from tui.core import fields as F

    with pytest.raises(F.FieldError, match="64-bit"):
        F.BY_NAME["seed"].parse("99999999999999999999")
    with pytest.raises(F.FieldError, match="64-bit"):
        F.BY_NAME["completion_kwargs"].parse('{"n": [1, 99999999999999999999]}')
    p = tmp_path / "config.toml"
    r = cli("--config", str(p), "set", "seed", "99999999999999999999")
    assert r.returncode == 1 and "64-bit" in r.stderr and not p.exists()


def test_an_empty_config_path_is_refused(tmp_path: Path) -> None:
    r = cli("--config", "", "set", "model", "x/y", home=tmp_path)
    assert r.returncode in (1, 2) and "empty" in r.stderr, r.stderr
    assert not (tmp_path / ".openhands").exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file another group needs root")
def test_mode_and_group_of_the_replaced_file_are_kept(tmp_path: Path) -> None:
    p = tmp_path / "c.toml"
    p.write_text('[llm]\nmodel = "a/b"\n')
    os.chmod(p, 0o640)
    os.chown(p, -1, 65534)
    assert ConfigFile.load(p).save({(("llm",), "model"): "c/d"}) is True
    st_ = p.stat()
    assert (stat.S_IMODE(st_.st_mode), st_.st_gid) == (0o640, 65534)
