"""What OpenHands 0.x can read: it parses config.toml with the ``toml`` package (0.10).

toml 0.10 is older and stricter than TOML 1.0 in some places and wrong in others: it rejects
arrays that mix types (``["a", 1]``, ``[1, 2.0]``), drops values silently (``[{a = 1}, 2]``
reads as ``[{a = 1}]``), does not decode escapes in quoted keys, and fails on some floats inside
inline tables and arrays. Rather than list every case, each write is checked the way OpenHands
reads it: the new text is parsed with toml 0.10 and must give the same data as tomllib.
``toml`` is imported only when a check runs.
"""

from __future__ import annotations

import datetime as _dt
import math
from typing import Any

from tui.core.toml_scan import _dotted, _render_header, _render_key, _render_value

PARSER = "OpenHands' TOML parser (toml 0.10)"
MAX_DEPTH = 100
"""Deepest nesting of arrays and tables read or written (a config needs 3 or 4)."""


def depth(value: Any) -> int:
    """How deeply arrays and tables nest in ``value`` (a scalar is 0), without recursion."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        node, level = stack.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(
            node, list) else None
        if children is None:
            continue
        deepest = max(deepest, level)
        if level <= MAX_DEPTH:  # deeper than that is refused anyway
            stack.extend((c, level + 1) for c in children)
    return deepest


def text_depth(text: str) -> int:
    """Roughly how deeply brackets nest in TOML text (strings and comments skipped)."""
    deepest = level = 0
    quote = ""
    comment = False
    for c in text:
        if comment:
            comment = c != "\n"
        elif quote:
            if c == quote or (c == "\n" and quote != "\n"):
                quote = ""
        elif c in "\"'":
            quote = c
        elif c == "#":
            comment = True
        elif c in "[{":
            level += 1
            deepest = max(deepest, level)
        elif c in "]}":
            level = max(level - 1, 0)
    return deepest


def _same(a: Any, b: Any) -> bool:
    """Equal as OpenHands would use them: toml 0.10's dict and tz classes count as builtins."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    if isinstance(a, _dt.datetime | _dt.time):
        return a.replace(tzinfo=None) == b.replace(tzinfo=None) and a.utcoffset() == b.utcoffset()
    return bool(a == b)


def _first_difference(got: Any, want: Any, path: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The key path where two parsed documents first differ."""
    if isinstance(got, dict) and isinstance(want, dict):
        for k in want:
            if k not in got or not _same(got[k], want[k]):
                return _first_difference(got.get(k), want[k], (*path, k))
        return path
    return path


def file_problem(text: str, data: dict) -> str | None:
    """Why OpenHands cannot read ``text`` (tomllib reads it as ``data``) as it is, or None."""
    try:
        import toml
    except ImportError:  # not installed: nothing to check against
        return None
    try:
        got = toml.loads(text)
    except RecursionError:
        return "it nests values too deeply"
    except Exception as e:  # toml 0.10 raises TomlDecodeError, IndexError, ValueError...
        reason = str(e).split(" (line ")[0].rstrip(". ") or type(e).__name__
        return f"{reason[0].lower()}{reason[1:]}"
    if _same(got, data):
        return None
    path = _first_difference(got, data)
    return f"it reads {_dotted(path) or 'the file'} differently"


def _mixed(value: Any) -> list | None:
    """The first array in ``value`` whose items are of different kinds."""
    if isinstance(value, dict):
        for v in value.values():
            found = _mixed(v)
            if found is not None:
                return found
    if isinstance(value, list):
        kinds = {dict if isinstance(v, dict) else list if isinstance(v, list) else type(v)
                 for v in value}
        if len(kinds) > 1:
            return value
        for v in value:
            found = _mixed(v)
            if found is not None:
                return found
    return None


def edit_problem(table: tuple[str, ...], key: str, value: Any) -> str | None:
    """Why OpenHands could not read ``key = value`` in ``table``, as one clause, or None."""
    mixed = _mixed(value)
    shown = f"{_dotted((*table, key))} = {_render_value(value)}"
    if mixed is not None:
        return f"{PARSER} cannot read arrays that mix types: {_render_value(mixed)} (in {shown})"
    text = (_render_header(table) + "\n" if table else "") + \
        f"{_render_key(key)} = {_render_value(value)}\n"
    data: dict = {key: value}
    for name in reversed(table):
        data = {name: data}
    reason = file_problem(text, data)
    if reason is None:
        return None
    if reason.startswith("it reads"):
        return f"{PARSER} reads {shown} differently"
    return f"{PARSER} cannot read {shown}: {reason}"
