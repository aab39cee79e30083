"""The edits a form holds before they are saved: text per field, validation, diff, save.

UI-free, so forms stay thin: a widget calls :meth:`Draft.set_text` as the user types and shows
the returned error; Save shows :meth:`Draft.summary` and :meth:`Draft.file_diff` and calls
:meth:`Draft.save`.

An input's text is what the group's own table holds; empty means "not set here", and the form
shows what applies instead (inherited from [llm], or the default) as a placeholder.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tui.core import config_diff
from tui.core import fields as F
from tui.core import settings as S
from tui.core import values as VAL
from tui.core.config_file import DELETE, ConfigFile
from tui.core.secrets import SecretStore, SecretStoreError


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
        self._accounts: tuple[tuple[Any, ...], dict[str, str | None]] | None = None
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
            value = S.own_value(cfg, group, f)
            self.original[f.name] = "" if value is None else f.to_text(VAL.plain(value))
        self.texts = dict(self.original)
        # The plaintext box reflects where the key is: ticked when config.toml holds it.
        self.insecure_storage = self.plaintext("api_key") is not None

    def plaintext(self, name: str) -> S.Value | None:
        """The plaintext value of a secret in config.toml (own table or inherited), if any."""
        v: S.Value | None = self.settings.values[name]
        while v is not None and v.source.kind not in ("file", "inherited"):
            v = v.below
        return v if v is not None and v.value else None

    def with_texts(self, texts: Mapping[str, str]) -> Draft:
        """A copy of this draft with some texts changed (e.g. the setup wizard's answers)."""
        other = copy.copy(self)
        other.texts = {**self.texts, **texts}
        return other

    # -- keys: resolved for the draft's current provider and base URL ------------------------
    def target(self) -> S.Settings:
        """The settings a save would give (env applied), with the keys as the environment and
        the file hold them: the keyring is not read here (see :func:`read_keyring`) and a key
        typed in this edit is not included (see :meth:`keys`)."""
        values = self.effective()[0]
        typed = self.texts["model"].strip()
        if typed and self.error("model") and self.settings.values["model"].source.kind != "env":
            values["model"] = typed  # still being typed ("openai/"): it names its provider
        out = {f.name: self.settings.values[f.name] if f.secret
               else S.Value(f, values[f.name], self.settings.values[f.name].source)
               for f in F.FIELDS}
        return S.Settings(self.cfg.path, self.group, out)

    def accounts(self, target: S.Settings | None = None) -> dict[str, str | None]:
        """The keyring account of each secret for the draft's current values (None: the
        provider or base URL names no account), as :meth:`tui.core.settings.Settings.account`
        names it."""
        target = target or self.target()
        wanted = (target["model"], target["custom_llm_provider"], target["base_url"])
        if self._accounts is None or self._accounts[0] != wanted:
            out: dict[str, str | None] = {}
            try:
                provider = target.provider  # the catalog lookup once, not once per secret
            except ValueError:
                provider = ""
            for name in F.SECRET_FIELDS:
                try:
                    out[name] = S.secret_account(provider, target["base_url"], name)
                except ValueError:
                    out[name] = None
            self._accounts = (wanted, out)
        return dict(self._accounts[1])

    def keys(self, stored: S.Settings) -> dict[str, S.Value]:
        """Each secret as a save would leave it: the environment's, else the key typed in
        this edit (it belongs to the draft's account), else the stored one (``stored``, from
        :func:`read_keyring` for this draft's accounts)."""
        out = {}
        for name in F.SECRET_FIELDS:
            v = stored.values[name]
            text = self.texts[name].strip()
            if text and v.source.kind != "env":
                v = S.Value(F.BY_NAME[name], text, S.Source("edited"), below=v)
            out[name] = v
        return out

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
            return e.reason
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

    def unset(self) -> list[str]:
        """The fields this draft leaves to the program's own default: not typed, not inherited
        from [llm], not set in the environment (secrets aside). OpenHands 1.x has other
        defaults than config.toml's, so its live test needs to know."""
        base = self.cfg.table("llm") or {} if self.group else {}
        return [f.name for f in F.FIELDS if not f.secret and not self.texts[f.name].strip()
                and self.settings.values[f.name].source.kind != "env"
                and not (f.section == "llm" and not f.env_only and f.name in base
                         and not isinstance(base[f.name], dict))]

    def fallback(self, name: str) -> Any:
        """What applies when the group's own table does not set ``name``."""
        f = F.BY_NAME[name]
        if self.group and f.section == "llm" and not f.env_only:
            base = {k: v for k, v in (self.cfg.table("llm") or {}).items()
                    if not isinstance(v, dict)}
            if name in base:
                return VAL.plain(base[name])
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
            raise F.BY_NAME[name].error(reason)
        changes: dict[str, Any] = {}
        for c in self.changes():
            f = F.BY_NAME[c.name]
            if f.secret:
                continue
            changes[c.name] = f.parse(c.new) if c.new else None
        return S.plan_changes(self.cfg, self.group, changes) if changes else {}

    def summary(self) -> list[str]:
        """What a save would do, one line each: the edits, then the values written with them
        (setting one retry field writes all four; a condenser size writes [condenser]), and
        the tables that are not per group."""
        changes = self.changes()
        lines = [c.line() for c in changes]
        changed = {c.name for c in changes}
        shared = sorted({S.table_label(S.table_of(self.group, F.BY_NAME[n]))
                         for n in changed if F.BY_NAME[n].shared})
        for (table, name), value in self.plan().items():
            f = F.BY_NAME.get(name)
            if name in changed or (table == ("condenser",) and name == "max_size"):
                continue
            label = name if f else f"{S.table_label(table)} {name}"  # e.g. [condenser] type
            lines.append(f"{label}: removed" if value is DELETE else
                         f"{label}: also written = {f.to_text(value) if f else repr(value)}")
        if shared:
            lines.append(f"{', '.join(shared)}: not per group, for the whole OpenHands config")
        return lines

    def file_edits(self) -> S.Edits:
        """Everything a save writes to config.toml: :meth:`plan`, plus the typed keys when
        the plaintext box is ticked. Raises FieldError when something is invalid."""
        edits = self.plan()
        if self.insecure_storage:
            for c in self.changes():
                if F.BY_NAME[c.name].secret:
                    edits.update(S.secret_edit(self.group, c.name, c.new))
        return edits

    def file_diff(self) -> list[str]:
        """config.toml's lines a save changes, as a unified diff of the file as loaded and
        as the save would write it (the same edits and rendering), keys masked; [] when the
        file does not change. Raises ConfigError when the save would be refused."""
        typed = [c.new for c in self.changes() if F.BY_NAME[c.name].secret]
        after = self.cfg.preview(self.file_edits())
        return config_diff.unified(self.cfg.text, after, self.cfg.path.name,
                                   secret_names=F.SECRET_FIELDS, secrets=typed)

    def key_destination(self, store: SecretStore | None, name: str = "api_key") -> str:
        """Where a save puts a typed secret: the keyring entry of the draft's account, or
        config.toml in plaintext."""
        if self.insecure_storage:
            return "config.toml in PLAINTEXT (mode 0600)"
        acct = self.accounts().get(name)
        service = store.service if store is not None else "llm-settings"
        return f"the OS keyring ({service}/{acct})" if acct else "the OS keyring"

    def save(self, store: SecretStore | None) -> list[str]:
        """Write the file, then the keys; return what was done, one sentence each."""
        edits = self.file_edits()
        secrets = [c for c in self.changes() if F.BY_NAME[c.name].secret]
        if secrets and not self.insecure_storage and (store is None or not store.health().usable):
            raise SecretStoreError((store.health().problem if store else None)
                                   or "no usable keyring to store the key in")
        accounts = self.accounts()  # where the saved settings will read the key
        for c in secrets:
            if not self.insecure_storage and accounts[c.name] is None:
                raise SecretStoreError(f"{c.name} not stored: set a model and a valid base "
                                       "URL first (they name the keyring entry).")
        done: list[str] = []
        if self.insecure_storage:
            for c in secrets:
                done.append(f"{c.name} written in PLAINTEXT to {self.cfg.path} (mode 0600)")
        if edits and self.cfg.save(edits, private=self.insecure_storage and bool(secrets)):
            done.insert(0, f"saved to {self.cfg.path}")
        if not self.insecure_storage and store is not None:
            for c in secrets:
                acct = accounts[c.name]
                store.set(acct, c.new)  # type: ignore[arg-type]
                done.append(f"{c.name} stored in the keyring ({store.service}/{acct})")
        self.reset()
        return done


def read_keyring(target: S.Settings, store: SecretStore) -> S.Settings:
    """``target`` (from :meth:`Draft.target`) with its keys resolved exactly as the saved
    settings resolve them (:func:`tui.core.settings.load`): the environment, else the keyring entry
    of the target's own account, else plaintext in the file. Slow: keyring calls."""
    try:
        S.resolve_secrets(target, store)
    except ValueError:  # no account for these values: no keyring entry to read
        target.keyring = store.health()
    return target
