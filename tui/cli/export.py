"""How ``export`` writes the variables: ``.env`` lines, or ``-e`` flags for ``docker run``."""

from __future__ import annotations

import shlex

_SPLIT_UNSAFE = set(" \t\n*?[")  # what $(...) word splitting and globbing would change


def docker_flags(pairs: list[tuple[str, str | None]], tty: bool) -> tuple[str, list[str]]:
    """``-e`` flags: quoted lines to copy on a terminal; else plain words for ``$(...)``.

    Unquoted ``$(...)`` splits on blanks and expands globs, so a value with those is given as
    ``-e NAME`` (docker then reads NAME from its own environment), with a warning (returned
    second).
    """
    if tty:
        return " \\\n".join("-e " + (name if value is None else shlex.quote(f"{name}={value}"))
                             for name, value in pairs), []
    words, warnings = [], []
    for name, value in pairs:
        if value is not None and _SPLIT_UNSAFE & set(value):
            warnings.append(f"{name} has blanks or *?[ which $(...) would split: printed as "
                            f"-e {name}, so docker takes it from the environment (export it)")
            value = None
        words.append(f"-e {name}" if value is None else f"-e {name}={value}")
    return " ".join(words), warnings


def dotenv_quote(value: str) -> str:
    """A value for a ``.env`` line: bare when plain, else double-quoted with escapes."""
    if value and all(c.isalnum() or c in "-_./:@+,%" for c in value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
