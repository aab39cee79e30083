"""A line scanner for TOML text: where tables and key/value pairs are, and line edits.

It finds the table headers and the line spans of key/value pairs of a valid TOML text,
renders values the way tomlkit does, and applies edits by touching only the lines of the keys
that change. Anything it cannot handle raises :class:`_ScanError` (the caller then falls back
to tomlkit). Stdlib only (tomlkit just for dates and times).
"""

from __future__ import annotations

import math
import re
from typing import Any, NamedTuple

DELETE: Any = object()
"""Edit value meaning "remove this key"."""

class _ScanError(Exception):
    """The line scanner cannot handle this text (the caller falls back to tomlkit)."""


# ----------------------------------------------------------------------------- scanner

_BARE_RE = r"[A-Za-z0-9_-]+"
_BASIC_RE = r'"(?:[^"\\\n]|\\.)*"'
_LITERAL_RE = r"'[^'\n]*'"
_SIMPLE_KEY_RE = f"(?:{_BARE_RE}|{_BASIC_RE}|{_LITERAL_RE})"
_KEY_RE = rf"{_SIMPLE_KEY_RE}(?:[ \t]*\.[ \t]*{_SIMPLE_KEY_RE})*"

_KEY_PART = re.compile(_SIMPLE_KEY_RE)
_BARE_KEY = re.compile(_BARE_RE)
# Blank lines and whole-line comments, any number of them.
_SKIP = re.compile(r"(?:[ \t]*(?:#[^\n]*)?\r?\n)*")
_HEADER = re.compile(rf"([ \t]*)(\[\[?)[ \t]*({_KEY_RE})[ \t]*(\]\]?)[ \t]*(?:#[^\n]*)?\r?\n")
_KEYVAL = re.compile(rf"([ \t]*)({_KEY_RE})[ \t]*=[ \t]*")
_AFTER_VALUE = re.compile(r"[ \t]*(?:#[^\n]*)?\r?\n")
_GAP = re.compile(r"(?:[ \t\r\n]|#[^\n]*)*")
_BASIC_STR = re.compile(_BASIC_RE)
_LITERAL_STR = re.compile(_LITERAL_RE)
_ML_BASIC_REST = re.compile(r'(?:[^"\\]|\\.|"{1,2}(?!"))*"{3,5}', re.S)
_ML_LITERAL_REST = re.compile(r"(?:[^']|'{1,2}(?!'))*'{3,5}", re.S)
_SCALAR = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(?::\d{2})?(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})?"
    r"|[^ \t\r\n#,\[\]{}\"']+"
)
_COMMENT_LINE = re.compile(r"[ \t]*#([^\n]*)\n")
_COMMENTED_HEADER = re.compile(r"^[ \t]*#[ \t]*\[\[?([^\n\]]*)\]{1,2}[ \t]*\r?$", re.M)
_ESCAPE = re.compile(r"\\(u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|.)", re.S)
_SIMPLE_ESCAPES = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", '"': '"', "\\": "\\"}


class _Header(NamedTuple):
    path: tuple[str, ...]
    is_array: bool
    start: int  # offset of the header line
    end: int  # offset just after its line ending
    indent: str


class _KeyVal(NamedTuple):
    path: tuple[str, ...]  # full path: table + dotted key
    region: int  # index of the header it sits under, -1 for the root table
    start: int  # offset of its first line
    vstart: int  # value span
    vend: int
    end: int  # offset just after the line ending of its last line
    indent: str


class _Scan(NamedTuple):
    headers: list[_Header]
    keyvals: list[_KeyVal]
    by_path: dict[tuple[str, ...], _KeyVal | None]  # None: ambiguous (array of tables)


def _decode_key_part(part: str) -> str:
    """The name a bare / "basic" / 'literal' key part stands for."""
    if part[0] == "'":
        return part[1:-1]
    if part[0] != '"':
        return part

    def repl(m: re.Match[str]) -> str:
        esc = m.group(1)
        if esc in _SIMPLE_ESCAPES:
            return _SIMPLE_ESCAPES[esc]
        if esc[0] in "uU":
            return chr(int(esc[1:], 16))
        raise _ScanError(f"bad escape {esc!r}")

    try:
        return _ESCAPE.sub(repl, part[1:-1])
    except ValueError as e:  # chr() of a surrogate / out of range
        raise _ScanError(str(e)) from e


def _split_key(text: str) -> tuple[str, ...]:
    return tuple(_decode_key_part(p) for p in _KEY_PART.findall(text))


def _char(text: str, pos: int) -> str:
    return text[pos] if pos < len(text) else ""


def _value_end(text: str, pos: int) -> int:
    """Offset just after the TOML value that starts at ``pos``."""
    c = _char(text, pos)
    if c == '"':
        m = (_ML_BASIC_REST.match(text, pos + 3) if text.startswith('"""', pos)
             else _BASIC_STR.match(text, pos))
    elif c == "'":
        m = (_ML_LITERAL_REST.match(text, pos + 3) if text.startswith("'''", pos)
             else _LITERAL_STR.match(text, pos))
    elif c == "[":
        return _array_end(text, pos)
    elif c == "{":
        return _inline_table_end(text, pos)
    else:
        m = _SCALAR.match(text, pos)
    if m is None:
        raise _ScanError(f"no value at offset {pos}")
    return m.end()


def _array_end(text: str, pos: int) -> int:
    pos += 1
    while True:
        pos = _GAP.match(text, pos).end()  # type: ignore[union-attr]
        if _char(text, pos) == "]":
            return pos + 1
        pos = _value_end(text, pos)
        pos = _GAP.match(text, pos).end()  # type: ignore[union-attr]
        c = _char(text, pos)
        if c == ",":
            pos += 1
        elif c == "]":
            return pos + 1
        else:
            raise _ScanError(f"unterminated array at offset {pos}")


def _inline_table_end(text: str, pos: int) -> int:
    pos += 1
    while True:
        pos = _GAP.match(text, pos).end()  # type: ignore[union-attr]
        if _char(text, pos) == "}":
            return pos + 1
        m = _KEYVAL.match(text, pos)
        if m is None:
            raise _ScanError(f"bad inline table at offset {pos}")
        pos = _value_end(text, m.end())
        pos = _GAP.match(text, pos).end()  # type: ignore[union-attr]
        c = _char(text, pos)
        if c == ",":
            pos += 1
        elif c == "}":
            return pos + 1
        else:
            raise _ScanError(f"unterminated inline table at offset {pos}")


def _scan(text: str) -> _Scan:
    """Find headers and key/value spans of ``text`` (valid TOML ending with a newline)."""
    headers: list[_Header] = []
    keyvals: list[_KeyVal] = []
    by_path: dict[tuple[str, ...], _KeyVal | None] = {}
    table: tuple[str, ...] = ()
    n = len(text)
    pos = 0
    try:
        while True:
            pos = _SKIP.match(text, pos).end()  # type: ignore[union-attr]
            if pos >= n:
                break
            m = _HEADER.match(text, pos)
            if m is not None:
                is_array = m.group(2) == "[["
                if is_array != (m.group(4) == "]]"):
                    raise _ScanError("mismatched brackets in a table header")
                table = _split_key(m.group(3))
                headers.append(_Header(table, is_array, pos, m.end(), m.group(1)))
                pos = m.end()
                continue
            m = _KEYVAL.match(text, pos)
            if m is None:
                raise _ScanError(f"cannot read the line at offset {pos}")
            vstart = m.end()
            vend = _value_end(text, vstart)
            after = _AFTER_VALUE.match(text, vend)
            if after is None:
                raise _ScanError(f"unexpected text after a value at offset {vend}")
            kv = _KeyVal(table + _split_key(m.group(2)), len(headers) - 1, pos, vstart, vend,
                         after.end(), m.group(1))
            keyvals.append(kv)
            by_path[kv.path] = None if kv.path in by_path else kv
            pos = after.end()
    except RecursionError as e:
        raise _ScanError("values nested too deeply") from e
    return _Scan(headers, keyvals, by_path)


# ----------------------------------------------------------------------------- rendering

_STR_ESCAPES = {i: f"\\u{i:04x}" for i in [*range(0x20), 0x7F]}
_STR_ESCAPES.update({ord(k): f"\\{e}" for e, k in _SIMPLE_ESCAPES.items()})


def _render_str(s: str) -> str:
    """A basic TOML string, escaped the way tomlkit does it."""
    return '"' + s.translate(_STR_ESCAPES) + '"'


def _render_key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else _render_str(key)


def _render_header(table: tuple[str, ...]) -> str:
    return "[" + ".".join(_render_key(k) for k in table) + "]"


def _render_value(value: Any) -> str:
    """One-line TOML for a (normalized) value: dicts become inline tables."""
    if isinstance(value, str):
        return _render_str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_render_value(v) for v in value) + "]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        body = ", ".join(f"{_render_key(k)} = {_render_value(v)}" for k, v in value.items())
        return "{" + body + "}"
    import tomlkit  # dates and times: rare, so tomlkit is imported only here

    return tomlkit.item(value).as_string()


def _same(a: Any, b: Any) -> bool:
    """Equal values of equal types (so 1, 1.0 and True differ; nan equals nan)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)
    return bool(a == b)


def _dotted(path: tuple[str, ...]) -> str:
    return ".".join(_render_key(p) for p in path)


# ----------------------------------------------------------------------------- editing

_Edit = tuple[tuple[str, ...], str, Any]


def _line_start(text: str, pos: int) -> int:
    return text.rfind("\n", 0, pos) + 1


def _line_is_blank(text: str, pos: int) -> bool:
    """Whether the line starting at ``pos`` is empty or whitespace (False at the end)."""
    end = text.find("\n", pos)
    return end != -1 and not text[pos:end].strip()


def _region_bounds(text: str, scan: _Scan, region: int) -> tuple[int, int]:
    headers = scan.headers
    start = 0 if region < 0 else headers[region].end
    nxt = region + 1
    end = headers[nxt].start if nxt < len(headers) else len(text)
    return start, end


def _commented_twin(text: str, scan: _Scan, region: int, key: str) -> tuple[int, str] | None:
    """End offset and indent of the ``#key = ...`` line for ``key`` in a table's region."""
    start, end = _region_bounds(text, scan, region)
    spans = [(kv.start, kv.end) for kv in scan.keyvals if kv.region == region]

    def in_value(pos: int) -> bool:
        return any(s <= pos < e for s, e in spans)

    table = scan.headers[region].path if region >= 0 else ()
    for m in _COMMENTED_HEADER.finditer(text, start, end):
        if in_value(m.start()):
            continue
        try:
            same = _split_key(m.group(1)) == table
        except _ScanError:
            same = False
        if not same:
            end = m.start()  # a commented-out other table starts: its keys belong there
            break
    pattern = re.compile(rf"^([ \t]*)#([ \t]*){re.escape(_render_key(key))}[ \t]*=[^\n]*\n",
                         re.M)
    spaced = None
    for m in pattern.finditer(text, start, end):
        if in_value(m.start()):
            continue
        if not m.group(2):
            return _twin_end(text, m.start(), m.end(), end), m.group(1)
        if spaced is None:
            spaced = m
    if spaced is not None:
        return _twin_end(text, spaced.start(), spaced.end(), end), spaced.group(1)
    return None


def _twin_end(text: str, start: int, end: int, limit: int) -> int:
    """End of a commented-out key/value, following a commented multi-line value."""
    m = _COMMENT_LINE.match(text, start)
    body = m.group(1).rstrip("\r") if m else ""
    kv = _KEYVAL.match(body)
    if kv is None or not body.startswith(("[", "{", '"""', "'''"), kv.end()):
        return end  # a one-line value (or not a key/value at all)
    lines = [body]
    ends = [end]
    pos = end
    for _ in range(200):
        joined = "\n".join(lines) + "\n"
        try:
            vend = _value_end(joined, kv.end())
            if _AFTER_VALUE.match(joined, vend):
                return ends[joined.count("\n", 0, vend)]
        except (_ScanError, RecursionError):
            pass
        m = _COMMENT_LINE.match(text, pos)
        if m is None or m.end() > limit:
            break
        lines.append(m.group(1).rstrip("\r"))
        ends.append(m.end())
        pos = m.end()
    return end


def _edit_lines(text: str, edits: list[_Edit], old: dict, eol: str) -> str:
    """Apply ``edits`` to ``text`` (ends with a newline) by editing lines; may raise _ScanError."""
    scan = _scan(text)
    n = len(text)
    # (start, end, priority, seq, replacement); applied left to right.
    splices: list[tuple[int, int, int, int, str]] = []
    new_tables: dict[tuple[str, ...], list[tuple[int, str]]] = {}
    regions = {h.path: i for i, h in enumerate(scan.headers) if not h.is_array}
    root_block_at: int | None = None
    inserted_at: dict[int, int] = {}  # region -> furthest offset where a key is inserted

    for seq, (table, key, value) in enumerate(edits):
        node: Any = old
        for name in table:
            node = node.get(name) if isinstance(node, dict) else None
        exists = isinstance(node, dict) and key in node
        if exists:
            kv = scan.by_path.get((*table, key))
            if kv is None:
                raise _ScanError(f"{_dotted((*table, key))} is not a plain key/value line")
            if value is DELETE:
                splices.append((kv.start, kv.end, 0, seq, ""))
            else:
                splices.append((kv.vstart, kv.vend, 0, seq, _render_value(value)))
            continue
        line = f"{_render_key(key)} = {_render_value(value)}"
        region = -1 if not table else regions.get(table)
        if region is None:
            new_tables.setdefault(table, []).append((seq, line))
            continue
        twin = _commented_twin(text, scan, region, key)
        if twin is not None:
            pos, indent = twin
        else:
            kvs = [kv for kv in scan.keyvals if kv.region == region]
            if kvs:
                pos, indent = kvs[-1].end, kvs[-1].indent
            elif region >= 0:
                pos, indent = scan.headers[region].end, scan.headers[region].indent
            elif scan.headers:
                # Root table without keys: above the comments that lead to the first table.
                pos, indent = scan.headers[0].start, ""
                while pos > 0:
                    prev = _line_start(text, pos - 1)
                    if not text[prev:pos].lstrip(" \t").startswith("#"):
                        break
                    pos = prev
                root_block_at = pos
            else:
                pos, indent = n, ""
        splices.append((pos, pos, 0, seq, indent + line + eol))
        inserted_at[region] = max(pos, inserted_at.get(region, 0))
    if root_block_at is not None:
        splices.append((root_block_at, root_block_at, 1, 0, eol))

    # Missing tables: [llm.NAME] after the last [llm...] table, everything else at the end.
    blocks: dict[int, list[tuple[int, tuple[str, ...], list[tuple[int, str]]]]] = {}
    for table, lines in new_tables.items():
        pos = n
        if len(table) >= 2 and table[0] == "llm":
            last = [i for i, h in enumerate(scan.headers) if h.path[0] == "llm"]
            if last:
                i = last[-1]
                kvs = [kv for kv in scan.keyvals if kv.region == i]
                pos = kvs[-1].end if kvs else scan.headers[i].end
                pos = max(pos, inserted_at.get(i, 0))  # after keys added to that table
        blocks.setdefault(pos, []).append((len(table), table, lines))
    for pos, group in blocks.items():
        group.sort(key=lambda b: b[0])  # a parent table before its children (stable)
        keys_here = any(s[0] == pos and s[1] == pos and s[2] == 0 for s in splices)
        lead = bool(keys_here or (n > 0 and not (pos == n and _line_is_blank(
            text, _line_start(text, n - 1)))))
        out = []
        for _, table, lines in group:
            if lead:
                out.append(eol)
            lead = True
            out.append(_render_header(table) + eol)
            out.extend(line + eol for _, line in lines)
        if pos < n and not _line_is_blank(text, pos):
            out.append(eol)
        splices.append((pos, pos, 2, min(s for _, _, ls in group for s, _ in ls), "".join(out)))

    splices.sort(key=lambda s: (s[0], s[1], s[2], s[3]))
    parts = []
    prev = 0
    for start, end, _, _, repl in splices:
        if start < prev:
            raise _ScanError("overlapping edits")
        parts.append(text[prev:start])
        parts.append(repl)
        prev = end
    parts.append(text[prev:])
    return "".join(parts)
