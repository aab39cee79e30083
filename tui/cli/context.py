"""What every subcommand gets: the resolved global options (:class:`Ctx`) and :func:`fail`."""

from __future__ import annotations

import difflib
from typing import Any, NoReturn

import click

from tui.core import settings as S
from tui.core.config_file import ConfigFile
from tui.core.secrets import SecretStore


class Fail(click.ClickException):
    """An expected failure: one sentence on stderr, exit 1."""

    exit_code = 1

    def show(self, file: Any = None) -> None:
        click.echo(f"llm-settings: {self.message}", err=True)


class Ctx:
    """Resolved global options; the file and the keyring are opened on first use."""

    def __init__(self, config: str | None, group: str | None) -> None:
        self.path = S.find_config(config)
        self.group = group
        self._cfg: ConfigFile | None = None
        self._store: SecretStore | None = None

    @property
    def cfg(self) -> ConfigFile:
        if self._cfg is None:
            self._cfg = ConfigFile.load(self.path)
        return self._cfg

    @property
    def store(self) -> SecretStore:
        if self._store is None:
            self._store = SecretStore()
        return self._store

    def settings(self, secrets: bool = True) -> S.Settings:
        return S.load(self.cfg, self.group, store=self.store if secrets else None)

    def save(self, edits: S.Edits, private: bool = False) -> bool:
        return self.cfg.save(edits, private=private)

    def missing_group(self) -> str | None:
        """Why --llm NAME cannot be used: the group is not in the file (None if it is)."""
        names = S.group_names(self.cfg)
        if not self.group or self.group in names:
            return None
        hint = difflib.get_close_matches(self.group, names, n=1, cutoff=0.6)
        return (f"there is no group [llm.{self.group}] in {self.path}"
                + (f" (did you mean {hint[0]}?)" if hint else ""))

    def need_group(self) -> None:
        """Fail when --llm names a group the file does not have."""
        problem = self.missing_group()
        if problem:
            fail(problem)


def fail(message: str) -> NoReturn:
    raise Fail(message)
