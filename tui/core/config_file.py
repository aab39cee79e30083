"""Read OpenHands' ``config.toml`` fast and write it back losslessly.

Reading uses :mod:`tomllib`. Writing edits the file's text directly: the line scanner of
:mod:`tui.core.toml_scan` finds the table headers and the line spans of key/value pairs, only the
lines of the keys that change are touched, and the result is verified by parsing it again.
When the scanner cannot handle a file (or its result does not verify) the edit is redone with
a tomlkit document, verified the same way; if that fails too, nothing is written.

A save holds the lock of :mod:`tui.core.config_io`, reads the file again and applies the edits to
what is on disk then: other programs' changes to other keys are kept, a change to a key being
edited refuses the save (:class:`ConfigChangedError`). The new text must read the same with
OpenHands' own parser (:mod:`tui.core.toml_compat`, toml 0.10); a file OpenHands cannot read is
never written, even when it was already unreadable before the edit (the message says so and
points at ``llm-settings doctor``), but an edit that makes it readable again is. The written
file is read back before the save is reported.

No UI code here: stdlib, tomlkit and toml (imported only when needed) only.
"""

from __future__ import annotations

import copy
import datetime as _dt
import hashlib
import os
import re
import stat
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from tui.core import config_io, toml_compat
from tui.core.config_io import ConfigError
from tui.core.toml_scan import DELETE, _dotted, _Edit, _edit_lines, _same

__all__ = [
    "DELETE",
    "ConfigChangedError",
    "ConfigError",
    "ConfigFile",
    "ConfigParseError",
    "Fingerprint",
]

_BOM = "\ufeff"
_NEW_FILE_MODE = 0o600
_MAX_INT = 2**63 - 1
LOCK_TIMEOUT = 10.0
"""Seconds a save waits for another program's save to finish."""
_MISSING: Any = object()


# ----------------------------------------------------------------------------- errors


class ConfigParseError(ConfigError):
    """The file is not valid TOML (it is never overwritten)."""

    def __init__(self, path: Path, line: int, col: int, reason: str) -> None:
        self.path = path
        self.line = line
        self.col = col
        self.reason = reason
        super().__init__(f"{path}: invalid TOML at line {line}, column {col}: {reason}")


class ConfigChangedError(ConfigError):
    """The file changed on disk after it was loaded; nothing was written."""

    def __init__(self, path: Path, keys: tuple[str, ...] = ()) -> None:
        self.path = path
        self.keys = keys
        which = f" ({', '.join(keys)} changed)" if keys else ""
        super().__init__(
            f"{path} was changed by another program after it was loaded{which}, so nothing "
            "was written; load it again and redo the change."
        )


class Fingerprint(NamedTuple):
    """What :meth:`ConfigFile.save` compares to detect a change made by someone else."""

    size: int
    mtime_ns: int
    sha256: str


def _normalize(value: Any, where: str) -> Any:
    """A plain copy of an edit value (tuple -> list, Mapping -> dict); TypeError if unusable."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return "" + value  # str subclasses (enums) -> str
    if isinstance(value, int):
        if not -_MAX_INT - 1 <= value <= _MAX_INT:
            raise ConfigError(f"cannot write {where}: {value} does not fit in TOML's 64-bit "
                              "integers; nothing was written.")
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, (_dt.datetime, _dt.date, _dt.time)):
        return value
    if isinstance(value, (list, tuple)):
        return [_normalize(v, where) for v in value]
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(f"{where}: table keys must be strings, not {k!r}")
            out["" + k] = _normalize(v, where)
        return out
    raise TypeError(f"{where}: cannot write a {type(value).__name__} value to TOML")


def _normalize_edits(edits: Mapping[tuple[tuple[str, ...], str], Any]) -> list[_Edit]:
    """``{(table, key): value}`` as a checked list of edits; TypeError if one is unusable."""
    normalized: list[_Edit] = []
    for spec, value in edits.items():
        try:
            table, key = spec
        except (TypeError, ValueError):
            raise TypeError(f"edit key must be ((table, ...), key), not {spec!r}") from None
        if isinstance(table, str) or not all(isinstance(t, str) for t in table) or \
                not isinstance(key, str):
            raise TypeError(f"edit key must be ((table, ...), key), not {spec!r}")
        table = tuple(table)
        if value is not DELETE:
            value = _normalize(value, _dotted((*table, key)))
        normalized.append((table, key, value))
    return normalized


def _apply_to_data(data: dict, edits: list[_Edit]) -> tuple[dict, list[_Edit]]:
    """``data`` with the edits applied (a copy) and the edits that change something."""
    new = copy.deepcopy(data)
    effective: list[_Edit] = []
    for table, key, value in edits:
        node: Any = new
        for i, name in enumerate(table):
            child = node.get(name)
            if child is None:
                if value is DELETE:
                    break
                child = node[name] = {}
            elif not isinstance(child, dict):
                raise ConfigError(
                    f"cannot set {_dotted((*table, key))}: {_dotted(table[: i + 1])} "
                    "is not a table in the config file."
                )
            node = child
        else:
            if value is DELETE:
                if key in node:
                    del node[key]
                    effective.append((table, key, value))
            elif key not in node or not _same(node[key], value):
                node[key] = copy.deepcopy(value)
                effective.append((table, key, value))
    return new, effective


def _tomlkit_value(value: Any) -> Any:
    import tomlkit

    if isinstance(value, dict):
        table = tomlkit.inline_table()
        for k, v in value.items():
            table[k] = _tomlkit_value(v)
        return table
    if isinstance(value, list):
        arr = tomlkit.array()
        arr.extend(_tomlkit_value(v) for v in value)
        return arr
    return value


def _edit_tomlkit(text: str, edits: list[_Edit], eol: str) -> str:
    """Apply ``edits`` through a tomlkit document (the slow, general fallback)."""
    import tomlkit

    doc: Any = tomlkit.parse(text)
    for table, key, value in edits:
        node = doc
        for i, name in enumerate(table):
            if name not in node:
                if value is DELETE:
                    break
                node[name] = tomlkit.table(is_super_table=i < len(table) - 1)
            node = node[name]
        else:
            if value is DELETE:
                if key in node:
                    del node[key]
            else:
                node[key] = _tomlkit_value(value)
    out = doc.as_string()
    if eol == "\r\n" and not re.search(r"(?<!\r)\n", text):
        out = re.sub(r"(?<!\r)\n", "\r\n", out)
    return out


def _prune(data: dict) -> dict:
    """``data`` without empty tables (at any depth)."""
    out = {}
    for k, v in data.items():
        if isinstance(v, dict):
            v = _prune(v)
            if not v:
                continue
        out[k] = v
    return out


def _parses_to(text: str, expected: dict) -> dict | None:
    """The parsed ``text`` if it equals ``expected``, else None.

    Empty tables may differ: deleting the last key of a dotted-key table (``sub.k = 1``)
    makes the table itself disappear, while ``expected`` still has it as ``{}``.
    """
    try:
        data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, ValueError, RecursionError):
        return None
    if _same(data, expected) or _same(_prune(data), _prune(expected)):
        return data
    return None


# ----------------------------------------------------------------------------- file access


def _hash(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def _fingerprint(got: tuple[bytes, os.stat_result] | None) -> Fingerprint | None:
    return None if got is None else Fingerprint(got[1].st_size, got[1].st_mtime_ns,
                                                _hash(got[0]))


def _parse_error(path: Path, text: str, err: tomllib.TOMLDecodeError) -> ConfigParseError:
    msg = str(err)
    m = re.fullmatch(r"(.*?) \(at line (\d+), column (\d+)\)", msg, re.S)
    if m:
        reason, line, col = m.group(1), int(m.group(2)), int(m.group(3))
    else:
        reason = re.sub(r" \(at end of document\)$", "", msg)
        line = text.count("\n") + 1
        col = len(text) - text.rfind("\n")
    if len(reason) > 1 and reason[1].islower():
        reason = reason[0].lower() + reason[1:]
    return ConfigParseError(path, line, col, reason)


def _decode(path: Path, raw: bytes) -> tuple[str, dict]:
    """The text (without a BOM) and data of a config file's bytes; ConfigError if unusable."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(
            f"cannot read {path}: it is not UTF-8 text (bad byte at offset {e.start})."
        ) from e
    text = text.removeprefix(_BOM)
    too_deep = ConfigError(
        f"{path} nests arrays or tables {toml_compat.text_depth(text)} levels deep; "
        f"llm-settings reads at most {toml_compat.MAX_DEPTH}, so nothing was read.")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise _parse_error(path, text, e) from None
    except RecursionError:
        raise too_deep from None
    if toml_compat.depth(data) > toml_compat.MAX_DEPTH:
        raise too_deep
    return text, data


def _lookup(data: dict, table: tuple[str, ...], key: str) -> Any:
    node: Any = data
    for name in table:
        node = node.get(name, _MISSING) if isinstance(node, dict) else _MISSING
    return node.get(key, _MISSING) if isinstance(node, dict) else _MISSING


# ----------------------------------------------------------------------------- ConfigFile


class ConfigFile:
    """One config.toml: its parsed ``data`` and lossless, checked ``save``."""

    path: Path
    exists: bool
    data: dict

    def __init__(self, path: Path, exists: bool, data: dict, text: str,
                 fingerprint: Fingerprint | None) -> None:
        """Use :meth:`load`."""
        self.path = path
        self._adopt(text, data, fingerprint, exists)
        self._last_strategy: str | None = None  # "lines" or "tomlkit", for tests

    def _adopt(self, text: str, data: dict, fingerprint: Fingerprint | None,
               exists: bool) -> None:
        self.exists = exists
        self.data = data
        self._pristine = copy.deepcopy(data)
        self._text = text
        self._fp = fingerprint
        self._bom = False

    def __repr__(self) -> str:
        return f"ConfigFile({str(self.path)!r}, exists={self.exists})"

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ConfigFile:
        """Read and parse ``path``; a missing file gives an empty, not-existing config."""
        p = Path(path)
        got = config_io.read_regular(p)
        if got is None:
            return cls(p, False, {}, "", None)
        text, data = _decode(p, got[0])
        cfg = cls(p, True, data, text, _fingerprint(got))
        cfg._bom = got[0].startswith(_BOM.encode())
        return cfg

    def openhands_problem(self) -> str | None:
        """Why OpenHands (its parser, toml 0.10) cannot read the file as loaded, or None."""
        if self._bom:
            return "it starts with a byte order mark (BOM)"
        return toml_compat.file_problem(self._text, self.data) if self._text else None

    def table(self, *names: str) -> dict | None:
        """The table at ``names`` (e.g. ``"llm", "groq"``), or None if absent / not a table."""
        node: Any = self.data
        for name in names:
            node = node.get(name) if isinstance(node, dict) else None
        return node if isinstance(node, dict) else None

    @property
    def text(self) -> str:
        """The file's text as loaded / last saved ("" when it did not exist)."""
        return self._text

    def fingerprint(self) -> Fingerprint | None:
        """Size, mtime and hash of the file as loaded / last saved; None if it did not exist."""
        return self._fp

    def save(self, edits: Mapping[tuple[tuple[str, ...], str], Any], *,
             private: bool = False) -> bool:
        """Apply ``{(table, key): value or DELETE}``; True if the file was written.

        The file is read again under the save lock and the edits are applied to what is on
        disk then, so changes that other programs made to other keys are kept. Raises
        ConfigChangedError if a key being edited changed on disk since it was loaded (nothing
        is written), ConfigError if the edit cannot be made, written, or read back by
        OpenHands, TypeError for a value TOML cannot hold (e.g. None). A file with a BOM is
        written without it (OpenHands cannot read one).
        """
        normalized = _normalize_edits(edits)
        target = self.path
        if target.is_symlink():
            target = Path(os.path.realpath(target))
        wanted = bool(_apply_to_data(self._pristine, normalized)[1])
        with config_io.locked(target, LOCK_TIMEOUT, create_folder=wanted) as no_lock:
            return self._save_locked(target, normalized, private, no_lock)

    def preview(self, edits: Mapping[tuple[tuple[str, ...], str], Any]) -> str:
        """The text :meth:`save` would write for ``edits`` on the file as loaded (the same
        rendering and checks, nothing written); raises what :meth:`save` would raise."""
        normalized = _normalize_edits(edits)
        expected, effective = _apply_to_data(self._pristine, normalized)
        if not effective:
            return self._text
        new_text, parsed = self._render(self._text, self._pristine, effective, expected)
        self._check_openhands_reads(self._text, self._pristine, new_text, parsed, effective)
        return new_text

    def _save_locked(self, target: Path, edits: list[_Edit], private: bool,
                     no_lock: str | None) -> bool:
        got = config_io.read_regular(target)
        fp = _fingerprint(got)
        if fp == self._fp:
            text, data = self._text, self._pristine
        else:
            text, data = ("", {}) if got is None else _decode(self.path, got[0])
            changed = tuple(_dotted((*t, k)) for t, k, v in edits if not _same(
                _lookup(self._pristine, t, k), _lookup(data, t, k)) and not (
                v is not DELETE and _same(_lookup(data, t, k), v)))
            if changed:
                raise ConfigChangedError(self.path, changed)
        expected, effective = _apply_to_data(data, edits)
        if not effective:
            if private and got is not None and stat.S_IMODE(got[1].st_mode) != _NEW_FILE_MODE:
                try:
                    os.chmod(target, _NEW_FILE_MODE)
                except OSError as e:
                    raise ConfigError(f"cannot make {self.path} private: {e.strerror}.") from e
            self._adopt(text, data, fp, got is not None)
            return False
        new_text, parsed = self._render(text, data, effective, expected)
        self._check_openhands_reads(text, data, new_text, parsed, effective)
        if no_lock is not None:
            raise ConfigError(f"cannot write {target}: {no_lock}; the file was not changed.")
        mode, owner = _NEW_FILE_MODE, None
        if got is not None:
            st = got[1]
            config_io.check_replaceable(target, st)
            owner = (st.st_uid, st.st_gid)
            if not private:
                mode = stat.S_IMODE(st.st_mode)
        config_io.remove_stale_temps(target)
        raw = new_text.encode("utf-8")
        config_io.write_atomic(target, raw, mode, owner)
        back = config_io.read_regular(target)
        if back is None or back[0] != raw:
            raise ConfigError(
                f"{target} was replaced by another program while it was being saved, so the "
                "change is not in the file; load it again and redo the change.")
        self._adopt(new_text, parsed, _fingerprint(back), True)
        return True

    def _check_openhands_reads(self, old_text: str, old: dict, text: str, data: dict,
                               edits: list[_Edit]) -> None:
        """ConfigError unless OpenHands (toml 0.10) reads ``text`` as ``data``."""
        reason = toml_compat.file_problem(text, data)
        if reason is None:
            return
        for table, key, value in edits:
            why = None if value is DELETE else toml_compat.edit_problem(table, key, value)
            if why:
                raise ConfigError(f"{why}; nothing was written to {self.path}.")
        before = toml_compat.file_problem(old_text, old) if old_text else None
        if before is not None:
            raise ConfigError(
                f"{self.path} already holds TOML that OpenHands cannot read ({before}), and "
                "llm-settings never writes a file OpenHands cannot read, so nothing was "
                "written; run 'llm-settings doctor' and fix that first.")
        raise ConfigError(f"{toml_compat.PARSER} could not read {self.path} after this "
                          f"change ({reason}), so nothing was written.")

    def _render(self, text: str, old: dict, edits: list[_Edit],
                expected: dict) -> tuple[str, dict]:
        """New text for ``edits`` and its parsed data (checked to equal ``expected``)."""
        eol = "\n"
        first = text.find("\n")
        if first > 0 and text[first - 1] == "\r":
            eol = "\r\n"
        no_final_newline = bool(text) and not text.endswith("\n")
        work = text + eol if no_final_newline else text
        try:
            out = _edit_lines(work, edits, old, eol)
            if no_final_newline and out.endswith(eol):
                out = out[: -len(eol)]
            parsed = _parses_to(out, expected)
            if parsed is not None:
                self._last_strategy = "lines"
                return out, parsed
        except Exception:  # any scanner trouble means "use tomlkit"
            pass
        try:
            out = _edit_tomlkit(text, edits, eol)
        except Exception as e:  # tomlkit raises many types; any failure means "cannot"
            raise ConfigError(
                f"cannot apply the change to {self.path} ({e}); nothing was written."
            ) from e
        parsed = _parses_to(out, expected)
        if parsed is None:
            raise ConfigError(
                f"cannot apply the change to {self.path} without damaging it; nothing was "
                "written."
            )
        self._last_strategy = "tomlkit"
        return out, parsed
