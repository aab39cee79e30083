"""The edits a form holds before they are saved: text per field, validation, diff, save.

UI-free, so forms stay thin: a widget calls :meth:`Draft.set_text` as the user types and shows
the returned error; Save shows :meth:`Draft.diff` and calls :meth:`Draft.save`.

An input's text is what the group's own table holds; empty means "not set here", and the form
shows what applies instead (inherited from [llm], or the default) as a placeholder.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tui import fields as F
from tui import settings as S
from tui.config_file import ConfigFile
from tui.secrets import SecretStore, SecretStoreError


@dataclass(frozen=True)
class Change:
    name: str
    old: str  # as shown ("" = not set)
    new: str

    def line(self) -> str:
        f = F.BY_NAME[self.name]
        if f.secret:
            return f"{self.name}: new key ({S.mask(self.new)})"
        old = self.old or "(not set)"
        new = self.new or "(not set)"
        return f"{self.name}: {old} -> {new}"


class Draft:
    """Unsaved edits of one group of one config.toml."""

    def __init__(self, cfg: ConfigFile, group: str | None,
                 environ: Mapping[str, str] | None = None) -> None:
        self.cfg = cfg
        self.group = group
        self.environ = environ
        self.reset()

    def reset(self) -> None:
        """Forget the edits: the file as it is now is the starting point."""
        cfg, group = self.cfg, self.group
        self.settings = S.load(cfg, group, environ=self.environ)
        self.original: dict[str, str] = {}
        for f in F.FIELDS:
            if f.secret:
                self.original[f.name] = ""
                continue
            own = cfg.table(*S.table_of(group, f)) or {}
            value = own.get(f.name)
            self.original[f.name] = "" if value is None else f.to_text(F.plain(value))
        self.texts = dict(self.original)
        self.insecure_storage = False

    # -- editing ---------------------------------------------------------------------------
    def set_text(self, name: str, text: str) -> str | None:
        """Record what the user typed; return the reason it is invalid, or None."""
        self.texts[name] = text
        return self.error(name)

    def error(self, name: str) -> str | None:
        text = self.texts[name]
        f = F.BY_NAME[name]
        if text.strip() == "" or f.secret:
            return None
        try:
            f.parse(text)
        except F.FieldError as e:
            return str(e).removeprefix(f"{name}: ")
        return None

    def errors(self) -> dict[str, str]:
        """Field errors, plus the rules between fields (shown on the field they name)."""
        out = {n: e for n in self.texts if (e := self.error(n))}
        for name, reason in S.cross_problems(self.values()):
            out.setdefault(name, reason)
        return out

    def values(self) -> dict[str, Any]:
        """What the settings would be once saved (file view: env overrides not applied)."""
        out: dict[str, Any] = {}
        for f in F.FIELDS:
            text = self.texts[f.name]
            if f.secret:
                out[f.name] = text or self.settings[f.name]
                continue
            if text.strip() and not self.error(f.name):
                out[f.name] = f.parse(text)
            elif text.strip():
                out[f.name] = self.settings[f.name]
            else:
                out[f.name] = self.fallback(f.name)
        return out

    def effective(self) -> tuple[dict[str, Any], list[str]]:
        """What OpenHands would run with once saved (env overrides applied, the typed or
        stored key), and the names of the fields whose value is an unsaved edit."""
        values = self.values()
        for name, v in self.settings.values.items():
            if v.source.kind == "env":
                values[name] = v.value
        return values, [c.name for c in self.changes()]

    def fallback(self, name: str) -> Any:
        """What applies when the group's own table does not set ``name``."""
        f = F.BY_NAME[name]
        if self.group and f.section == "llm" and not f.env_only:
            base = {k: v for k, v in (self.cfg.table("llm") or {}).items()
                    if not isinstance(v, dict)}
            if name in base:
                return F.plain(base[name])
        return f.default

    def fallback_text(self, name: str) -> str:
        """Placeholder for an empty input: the inherited or default value."""
        f = F.BY_NAME[name]
        value = self.fallback(name)
        where = "inherited" if self.group and value is not f.default else "default"
        if value is None:
            return "not set" if where == "default" else ""
        return f"{f.to_text(value)} ({where})"

    # -- saving ----------------------------------------------------------------------------
    def changes(self) -> list[Change]:
        out = []
        for f in F.FIELDS:
            old, new = self.original[f.name], self.texts[f.name]
            if f.secret:
                if new.strip():
                    out.append(Change(f.name, "", new.strip()))
            elif old.strip() != new.strip():
                out.append(Change(f.name, old, new.strip()))
        return out

    @property
    def dirty(self) -> bool:
        return bool(self.changes())

    def plan(self) -> S.Edits:
        """Edits for config.toml; raises FieldError when something is invalid."""
        bad = self.errors()
        if bad:
            name, reason = next(iter(bad.items()))
            raise F.FieldError(f"{name}: {reason}")
        changes: dict[str, Any] = {}
        for c in self.changes():
            f = F.BY_NAME[c.name]
            if f.secret:
                continue
            changes[c.name] = f.parse(c.new) if c.new else None
        return S.plan_changes(self.cfg, self.group, changes) if changes else {}

    def summary(self) -> list[str]:
        """What a save would do, one line each: the edits, then the values written with them
        (setting one retry field writes all four)."""
        changes = self.changes()
        lines = [c.line() for c in changes]
        changed = {c.name for c in changes}
        for (_table, name), value in self.plan().items():
            if name not in changed:
                lines.append(f"{name}: also written = {F.BY_NAME[name].to_text(value)}")
        return lines

    def save(self, store: SecretStore | None) -> list[str]:
        """Write the file, then the keys; return what was done, one sentence each."""
        edits = self.plan()
        secrets = [c for c in self.changes() if F.BY_NAME[c.name].secret]
        if secrets and not self.insecure_storage and (store is None or not store.health().usable):
            raise SecretStoreError((store.health().problem if store else None)
                                   or "no usable keyring to store the key in")
        done: list[str] = []
        if self.insecure_storage:
            for c in secrets:
                edits.update(S.secret_edit(self.group, c.name, c.new))
                done.append(f"{c.name} written in PLAINTEXT to {self.cfg.path} (mode 0600)")
        if edits and self.cfg.save(edits, private=self.insecure_storage and bool(secrets)):
            done.insert(0, f"saved to {self.cfg.path}")
        if not self.insecure_storage and store is not None:
            target = S.Settings(self.cfg.path, self.group,
                                {n: S.Value(F.BY_NAME[n], v, S.DEFAULT)
                                 for n, v in self.values().items()})
            for c in secrets:
                acct = target.account(c.name)
                store.set(acct, c.new)
                done.append(f"{c.name} stored in the keyring ({store.service}/{acct})")
        self.reset()
        return done
