"""What a save changes in config.toml, as unified-diff lines with every secret masked.

The save dialog shows these lines: ``-`` the file now, ``+`` after the save, a few unchanged
lines around each change, and each hunk header names the table the change is in
(``@@ -3,2 +3,3 @@ [llm]``). Secrets never appear: a value of a key named like a secret
(``api_key``, ``*_token``, ``*_secret``, ``*_password``, the registry's secret fields), even
in a commented-out line, and any secret string found in either version of the file, are
shown masked (:func:`tui.core.settings.mask`).

No UI code here: stdlib only, plus the core's masking and TOML string rendering.
"""

from __future__ import annotations

import contextlib
import difflib
import re
import tomllib
from collections.abc import Iterable
from typing import Any

from tui.core.settings import mask
from tui.core.toml_scan import _render_str

CONTEXT = 2
"""Unchanged lines shown around each change."""

_MIN_SECRET = 6  # shorter strings are masked by their key's name only, not wherever they occur
_SECRET_NAME = re.compile(r"(?:^|_)(?:key|token|secret|password|passwd)(?:_id)?$", re.I)
# A key/value line, possibly commented out: (head up to and including "= ", key, value).
_KEYVAL = re.compile(r"""^(?P<head>[ \t]*(?:#[ \t]*)?(?:[\w.-]+|"[^"]*"|'[^']*')"""
                     r"""(?:[ \t]*\.[ \t]*(?:[\w-]+|"[^"]*"|'[^']*'))*[ \t]*=[ \t]*)"""
                     r"(?P<value>.*)$")
_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(?P<start>\d+)(?:,\d+)? @@$")
_HEADER = re.compile(r"^[ \t]*\[\[?[^\]\n]+\]\]?")


def is_secret_name(key: str, secret_names: Iterable[str] = ()) -> bool:
    """True when a key of this name holds a secret."""
    return key in set(secret_names) or bool(_SECRET_NAME.search(key))


def secret_strings(data: Any, secret_names: Iterable[str] = ()) -> set[str]:
    """The non-empty string values of secret-named keys anywhere in parsed TOML ``data``."""
    names = tuple(secret_names)
    found: set[str] = set()
    if isinstance(data, dict):
        for k, v in data.items():
            if isinstance(v, str) and v and is_secret_name(k, names):
                found.add(v)
            else:
                found |= secret_strings(v, names)
    elif isinstance(data, list):
        for v in data:
            found |= secret_strings(v, names)
    return found


def _masked_value(value: str) -> str:
    """A TOML value as text, masked: a string shows its last four characters at most."""
    try:
        parsed = tomllib.loads(f"v = {value}")["v"]
    except tomllib.TOMLDecodeError:
        return "**** (hidden)"
    if not isinstance(parsed, str):
        return value  # a number or a flag: nothing secret
    return '""' if not parsed else f"{mask(parsed)} (hidden)"


def _mask_line(line: str, secrets: set[str], names: tuple[str, ...]) -> str:
    m = _KEYVAL.match(line)
    if m:
        key = re.split(r"[ \t]*\.[ \t]*", m["head"].lstrip(" \t#").split("=")[0].strip())[-1]
        if is_secret_name(key.strip("\"'"), names) and m["value"].strip():
            line = m["head"] + _masked_value(m["value"].strip())
    for secret in sorted(secrets, key=len, reverse=True):  # long first: one may hold another
        for form in {secret, _render_str(secret)[1:-1]}:
            line = line.replace(form, mask(secret))
    return line


def unified(before: str, after: str, name: str, *, secret_names: Iterable[str] = (),
            secrets: Iterable[str] = (), context: int = CONTEXT) -> list[str]:
    """The unified diff of ``before`` -> ``after`` (a file's texts) as lines, no line endings;
    [] when they are the same. ``secrets`` are strings never shown (the keys being written);
    the values of ``secret_names`` keys and the secrets in either text are masked too."""
    old, new = before.splitlines(), after.splitlines()
    if old == new:
        return []
    names = tuple(secret_names)
    hidden = set(secrets)
    for text in (before, after):
        with contextlib.suppress(tomllib.TOMLDecodeError):
            hidden |= secret_strings(tomllib.loads(text), names)
    hidden = {s for s in hidden if len(s) >= _MIN_SECRET}
    out: list[str] = []
    diff = list(difflib.unified_diff(old, new, n=context, lineterm="",
                                     fromfile=f"{name} (now)" if before else "/dev/null",
                                     tofile=f"{name} (after saving)"))
    for i, line in enumerate(diff):
        m = _HUNK.match(line)
        if m:  # named after the table of its first change
            lead = next(k for k, d in enumerate(diff[i + 1:]) if not d.startswith(" "))
            above = reversed(new[:int(m["start"]) - 1 + lead])
            table = next((h.group(0).strip() for h in map(_HEADER.match, above) if h), "")
            out.append(f"{line} {table}".rstrip())
        elif line.startswith(("---", "+++")) and i < 2:
            out.append(line)
        else:
            out.append(line[:1] + _mask_line(line[1:], hidden, names))
    return out
