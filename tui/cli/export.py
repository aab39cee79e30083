"""``export`` (``.env`` lines, or ``-e`` flags for ``docker run``) and ``exec``: the variables."""

from __future__ import annotations

import os
import shlex
import sys

import click

from tui.cli.context import Ctx, fail
from tui.core import settings as S

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


@click.command()
@click.option("--format", "fmt", type=click.Choice(["env", "docker"]), default="env",
              show_default=True)
@click.option("--with-secrets", is_flag=True, help="Include secret values (handle with care).")
@click.pass_obj
def export(obj: Ctx, fmt: str, with_secrets: bool) -> None:
    """LLM_* variables for a .env file, or -e flags for docker run."""
    obj.need_group()
    s = obj.settings()
    if with_secrets:
        _need_secrets(s)
    pairs = S.export_vars(s, with_secrets)
    if fmt == "docker":
        words, warnings = docker_flags(pairs, sys.stdout.isatty())
        for text in warnings:
            click.echo(f"warning: {text}", err=True)
        click.echo(words)
        return
    lines = []
    for name, value in pairs:
        if value is None:
            lines.append(f"# {name} is a secret: add --with-secrets, or use llm-settings exec")
        else:
            lines.append(f"{name}={dotenv_quote(value)}")
    click.echo("\n".join(lines))


def _need_secrets(s: S.Settings) -> None:
    """Fail when a key these settings need is unknown: the keyring could not be read."""
    for v in s.unread_needed():
        fail(f"{v.field.name} is unknown, {v.unread}")


@click.command(name="exec", context_settings={"ignore_unknown_options": True})
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@click.pass_obj
def exec_(obj: Ctx, command: tuple[str, ...]) -> None:
    """Run COMMAND with the LLM_* variables set, the key from the keyring included."""
    obj.need_group()
    s = obj.settings()
    _need_secrets(s)
    env = dict(os.environ)
    env.update({k: v for k, v in S.export_vars(s, with_secrets=True) if v is not None})
    sys.stdout.flush()
    try:
        os.execvpe(command[0], list(command), env)
    except OSError as e:
        fail(f"cannot run {command[0]!r}: {e.strerror}")
