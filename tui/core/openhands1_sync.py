"""config.toml <-> OpenHands 1.x: plans for ``import`` and ``apply``, and doctor's checks of
the 1.x files. UI-free; the CLI (tui/cli/openhands1.py) prints and confirms.

Import: each LLM of the files becomes a config.toml group (the active one [llm] when [llm] is
empty), its keys go to the keyring under migrate-keys' rule (a different stored key is never
replaced without ``replace``). Apply: the effective settings of config.toml are written into
the files, keys left out except where the web app needs them (``insecure``).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tui.core import fields as F
from tui.core import openhands1 as O
from tui.core import settings as S
from tui.core import values as VAL
from tui.core.catalog import provider_of
from tui.core.config_file import ConfigFile
from tui.core.config_io import ConfigError
from tui.core.secrets import KeyConflict, SecretStore, SecretStoreError, account, needs_write

START_CLI = "llm-settings{llm} exec -- openhands --override-with-envs"  # the 1.x CLI, keyed


def start_cli(group: str | None) -> str:
    """How to start OpenHands 1.x's CLI with the key of ``group`` (after ``apply --to cli``)."""
    return START_CLI.format(llm=f" --llm {group}" if group else "")


def import_lines(plan: ImportPlan, service: str, path: Path) -> list[str]:
    """What an import writes, one line each: per LLM its group, values, keys and notes."""
    lines: list[str] = []
    for item in plan.items:
        lines.append(f"{item.source.label} -> {S.group_label(item.group)} of {path}")
        lines += [f"  {n} = {F.BY_NAME[n].to_text(v)}" for n, v in item.values.items()]
        lines += [f"  {n} -> the keyring ({service}/{item.accounts[n]})" for n in item.secrets]
        lines += [f"  note: {note}" for note in item.notes]
    return lines + [f"note: {note}" for note in plan.notes]


WEB_KEY_HELP = (
    "the web app reads its key only from its own settings.json, in plaintext: enter the key "
    "in the web UI (Settings > LLM > API Key, Advanced for a base URL), or run apply again "
    "with --insecure-storage to write it there (mode 0600)")


# ------------------------------------------------------------------------------ sources
@dataclass
class Source:
    """One LLM inside an OpenHands 1.x file."""

    kind: str
    path: Path
    name: str | None  # the profile's name; None for the active LLM
    where: tuple[str, ...]  # JSON keys of the LLM object inside the file
    llm: dict[str, Any]

    @property
    def label(self) -> str:
        what = f"profile {self.name!r}" if self.name is not None else "active LLM"
        return f"{what} of {self.path}"


def sources(found: O.Found, doc: O.JsonDoc) -> list[Source]:
    """The LLMs of one file: the CLI's ``llm``; the web app's ``agent_settings.llm`` and its
    profiles; an SDK profile."""
    data = doc.data
    out: list[Source] = []
    if found.kind == O.CLI and isinstance(O.at(data, ("llm",)), dict):
        out.append(Source(O.CLI, found.path, None, ("llm",), data["llm"]))
    elif found.kind == O.SDK and isinstance(data, dict):
        out.append(Source(O.SDK, found.path, found.path.stem, (), data))
    elif found.kind == O.WEB:
        llm = O.at(data, ("agent_settings", "llm"))
        if isinstance(llm, dict):
            out.append(Source(O.WEB, found.path, None, ("agent_settings", "llm"), llm))
        profiles = O.at(data, ("llm_profiles", "profiles"))
        for name, llm in (profiles or {}).items() if isinstance(profiles, dict) else ():
            if isinstance(llm, dict):
                out.append(Source(O.WEB, found.path, str(name),
                                  ("llm_profiles", "profiles", str(name)), llm))
    return out


# ------------------------------------------------------------------------------ import
@dataclass
class ImportItem:
    source: Source
    group: str | None
    values: dict[str, Any]
    secrets: dict[str, str]  # field -> secret
    accounts: dict[str, str]  # field -> keyring account
    notes: list[str] = field(default_factory=list)


@dataclass
class ImportPlan:
    items: list[ImportItem] = field(default_factory=list)
    edits: S.Edits = field(default_factory=dict)
    conflicts: list[str] = field(default_factory=list)  # config.toml values it would replace
    notes: list[str] = field(default_factory=list)


def _scalars(table: Mapping[str, Any] | None) -> dict[str, Any]:
    return {k: VAL.plain(v) for k, v in (table or {}).items() if not isinstance(v, dict)}


def plan_import(cfg: ConfigFile, found: list[tuple[O.Found, O.JsonDoc]],
                replace: bool = False) -> ImportPlan:
    """What importing the files would write to config.toml (nothing is written)."""
    plan = ImportPlan()
    base = _scalars(cfg.table("llm"))
    existing = set(S.group_names(cfg))
    taken: set[str | None] = set()
    llm_free = not base
    all_sources = [s for f, d in found for s in sources(f, d)]
    ordered = [s for s in all_sources if s.name is None] + \
        [s for s in all_sources if s.name is not None]
    for src in ordered:
        imported = O.to_fields(src.llm)
        if "model" not in imported.values:
            plan.notes.append(f"{src.label} skipped: it has no model")
            continue
        notes = list(imported.notes)
        same = all(base.get(k) == v for k, v in imported.values.items())  # imported before
        if src.name is None and (llm_free or same) and None not in taken:
            group: str | None = None
        else:
            wanted = src.kind if src.name is None else O.group_name(src.name)
            group = wanted
            n = 2
            while group in taken:
                group, n = f"{wanted}_{n}", n + 1
            if src.name is not None and group != src.name:
                notes.append(f"profile {src.name!r} imported as [llm.{group}] (a config.toml "
                             "group name is letters, digits, - and _, and unique)")
        taken.add(group)
        own = base if group is None else _scalars(cfg.table("llm", group))
        values = dict(imported.values)
        parent = {**base, **plan_values(plan, None)}
        if group is not None:
            _stop_inheriting(src.llm, values, own, parent, notes)
        for name, value in values.items():
            old = own.get(name)
            if name in own and old != value and not replace:
                plan.conflicts.append(
                    f"{S.group_label(group)} {name} is {VAL.shown(old)} in config.toml, "
                    f"{VAL.shown(value)} in the {src.label}")
            plan.edits[(S.table_of(group, F.BY_NAME[name]), name)] = value
        merged = {**parent, **own, **values} if group else {**own, **values}
        accounts = {name: account(provider_of(merged.get("model"),
                                              merged.get("custom_llm_provider")),
                                  merged.get("base_url"), name)
                    for name in imported.secrets}
        if group in existing or (group is None and not llm_free):
            notes.append(f"{S.group_label(group)} exists: its other keys are kept")
        plan.items.append(ImportItem(src, group, values, imported.secrets, accounts, notes))
    return plan


def plan_values(plan: ImportPlan, group: str | None) -> dict[str, Any]:
    """The values the plan writes into one group's table."""
    table = ("llm",) + ((group,) if group else ())
    return {key: v for (t, key), v in plan.edits.items() if t == table}


def _stop_inheriting(llm: Mapping[str, Any], values: dict[str, Any], own: Mapping[str, Any],
                     base: Mapping[str, Any], notes: list[str]) -> None:
    """A named group inherits [llm]'s keys: write the profile's own value where [llm] sets
    another one, and say so where the profile has none (0.x cannot unset a key in a group)."""
    for f in O.mapped():
        if f.secret or f.name in values or f.name in own or f.name not in base:
            continue
        value = llm.get(f.sdk_name or "", O.SDK_DEFAULTS.get(f.sdk_name or ""))
        if value is None:
            notes.append(f"{f.name} is not set in the file but the group inherits "
                         f"{VAL.shown(base[f.name], VAL.URL_MAX)} from [llm] (OpenHands 0.x "
                         "cannot unset a key in a group)")
        elif f.type_problem(value) is None and f.rule_problem(value) is None and \
                value != base[f.name]:
            values[f.name] = value


# ------------------------------------------------------------------------------ apply
@dataclass
class Write:
    """One file apply writes."""

    kind: str
    path: Path
    doc: O.JsonDoc
    new: Any
    lines: list[str]

    @property
    def raw(self) -> bytes:
        return O.render(self.new, O.style_of(self.doc.raw))


def _load(cfg: ConfigFile, group: str | None, store: SecretStore | None) -> S.Settings:
    return S.load(cfg, group, environ={}, store=store)


def _llm_update(s: S.Settings, with_keys: bool) -> dict[str, Any]:
    values = {n: v.value for n, v in s.values.items()}
    is_set = {n: v.is_set for n, v in s.values.items()}
    out = O.llm_values(values, is_set)
    for f in O.mapped():
        if f.secret and f.sdk_name:
            out[f.sdk_name] = s.values[f.name].value if with_keys else None
    return out


def _guard_keys(old: Mapping[str, Any] | None, s: S.Settings, store: SecretStore,
                path: Path) -> None:
    """Never drop a plaintext key from a file unless the keyring holds that same key."""
    for f in O.mapped():
        secret = O.secret_of((old or {}).get(f.sdk_name or ""))
        if not f.secret or not secret:
            continue
        acct = s.account(f.name)
        try:
            stored = store.get(acct)
        except SecretStoreError as e:  # unknown is not absent
            why = str(e).rstrip(".")
            raise ConfigError(f"{path} holds a plaintext {f.name} and the keyring could not be "
                              f"read to check it is kept ({why}); nothing was written.") from None
        if stored != secret:
            raise ConfigError(
                f"{path} holds a plaintext {f.name} that the keyring does not have for "
                f"{S.group_label(s.group)} ({store.service}/{acct}); 'llm-settings import "
                f"--remove-plaintext {path}' moves it there first. Nothing was written.")


def plan_apply(cfg: ConfigFile, target: str, group: str | None, store: SecretStore,
               environ: Mapping[str, str] | None = None, insecure: bool = False
               ) -> tuple[list[Write], list[str]]:
    """The files ``apply --to target`` writes and what changes in them, and notes."""
    if target == O.WEB and not insecure:
        raise ConfigError(f"not written: {WEB_KEY_HELP}.")
    notes: list[str] = []
    if target == O.CLI:
        return [_plan_cli(cfg, group, store, environ)], notes
    groups = [g for g in [None, *S.group_names(cfg)]
              if _load(cfg, g, None)["model"]]
    if not groups:
        raise ConfigError(f"{cfg.path} has no model in [llm] or any group: nothing to apply.")
    names = {g: O.profile_name(g) for g in groups}
    if len(set(names.values())) < len(names):
        raise ConfigError("[llm] and [llm.llm] would both become the profile 'llm'; rename "
                          "[llm.llm]. Nothing was written.")
    if target == O.SDK:
        bad = [n for n in names.values() if not O.SDK_NAME.fullmatch(n)]
        if bad:
            raise ConfigError(f"the SDK refuses the profile name {bad[0]!r} (it must start with "
                              "a letter or digit); rename that group. Nothing was written.")
        folder = O.default_path(O.SDK, environ)
        return [_plan_profile(cfg, g, folder / f"{names[g]}.json", store) for g in groups], notes
    return [_plan_web(cfg, group, groups, names, store, environ)], notes


def _plan_cli(cfg: ConfigFile, group: str | None, store: SecretStore,
              environ: Mapping[str, str] | None) -> Write:
    path = O.default_path(O.CLI, environ)
    doc = O.read_json(path)
    s = _load(cfg, group, None)
    if not s["model"]:
        raise ConfigError(f"{S.group_label(group)} of {cfg.path} has no model: nothing to "
                          "apply.")
    update = _llm_update(s, with_keys=False)
    if doc.raw is None:
        llm = O.merge_llm(None, {**update, "usage_id": "agent"})
        condenser = O.merge_llm(None, {**update, "usage_id": "condenser"})
        new = {"llm": llm, "tools": [{"name": t, "params": {}} for t in O.CLI_TOOLS],
               "system_prompt_kwargs": {"cli_mode": True},
               "condenser": {"llm": condenser, **O.CLI_CONDENSER}, "kind": "Agent"}
        return Write(O.CLI, path, doc, new, _lines(None, new))
    if not isinstance(O.at(doc.data, ("llm",)), dict):
        raise ConfigError(f"{path} has no llm object: it is not the CLI's agent_settings.json; "
                          "nothing was written.")
    new = copy.deepcopy(doc.data)
    for where in (("llm",), ("condenser", "llm")):
        old = O.at(doc.data, where)
        if isinstance(old, dict):
            _guard_keys(old, s, store, path)
            O.at(new, where[:-1])[where[-1]] = O.merge_llm(old, update)
    return Write(O.CLI, path, doc, new, _lines(doc.data, new))


def _plan_profile(cfg: ConfigFile, group: str | None, path: Path, store: SecretStore) -> Write:
    doc = O.read_json(path)
    s = _load(cfg, group, None)
    old = doc.data if isinstance(doc.data, dict) else None
    if doc.raw is not None and old is None:
        raise ConfigError(f"{path} is not an SDK profile (not a JSON object); nothing was "
                          "written.")
    _guard_keys(old, s, store, path)
    new = O.merge_llm(old, _llm_update(s, with_keys=False))
    return Write(O.SDK, path, doc, new, _lines(old, new))


def _plan_web(cfg: ConfigFile, active: str | None, groups: list[str | None],
              names: dict[str | None, str], store: SecretStore,
              environ: Mapping[str, str] | None) -> Write:
    path = O.default_path(O.WEB, environ)
    doc = O.read_json(path)
    data = doc.data if doc.raw is not None else {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path} is not the web app's settings.json; nothing was written.")
    bad = [n for n in names.values() if not O.WEB_NAME.fullmatch(n)]
    if bad:
        raise ConfigError(f"the web app refuses the profile name {bad[0]!r}; nothing was "
                          "written.")
    if active not in groups:
        raise ConfigError(f"{S.group_label(active)} has no model: nothing to apply.")
    new = copy.deepcopy(data)
    agent = new.setdefault("agent_settings", {})
    profiles_box = new.setdefault("llm_profiles", {})
    if not isinstance(agent, dict) or not isinstance(profiles_box, dict):
        raise ConfigError(f"{path} has an agent_settings or llm_profiles that is not an "
                          "object; nothing was written.")
    profiles = profiles_box.setdefault("profiles", {})
    for g in groups:
        s = _load(cfg, g, store)
        for v in s.unread_needed():
            raise ConfigError(f"{v.field.name} of {S.group_label(g)} is unknown: "
                              f"{(v.unread or '').rstrip('.')}; nothing was written.")
        update = _llm_update(s, with_keys=True)
        profiles[names[g]] = O.merge_llm(profiles.get(names[g]), update)
        if g == active:
            agent["llm"] = O.merge_llm(agent.get("llm"), update)
    if len(profiles) > O.WEB_MAX_PROFILES:
        raise ConfigError(f"the web app keeps at most {O.WEB_MAX_PROFILES} profiles and "
                          f"{path} would then have {len(profiles)}; delete some in its UI "
                          "first. Nothing was written.")
    profiles_box["active"] = names[active]
    return Write(O.WEB, path, doc, new, _lines(data if doc.raw is not None else None, new))


def _lines(old: Any, new: Any) -> list[str]:
    return O.diff(old if old is not None else {}, new)


def write(w: Write) -> None:
    """Write one planned file (refused if it changed since it was read)."""
    O.write_json(w.path, w.raw, w.doc.raw, O.lock_target(w.kind, w.path))


# ------------------------------------------------------------------------------ doctor
def check_files(cfg: ConfigFile | None, group: str | None, environ: Mapping[str, str],
                add: Callable[[str, str], None]) -> None:
    """doctor's findings about OpenHands 1.x's files: plaintext keys and who can read them,
    an active model that is not config.toml's, profiles OpenHands would refuse."""
    model = _load(cfg, group, None)["model"] if cfg is not None else None
    web_profiles = 0
    for found in O.locate(environ):
        try:
            doc = O.read_json(found.path)
        except ConfigError as e:
            add("warning", f"OpenHands 1.x: {e}")
            continue
        if found.kind == O.SDK and not O.SDK_NAME.fullmatch(found.path.stem):
            add("warning", f"{found.path}: the SDK refuses the profile name "
                           f"{found.path.stem!r} (a letter or digit first, then letters, "
                           "digits, . _ -, at most 64)")
        found_sources = sources(found, doc)
        _check_keys(found, doc, found_sources, add)
        for src in found_sources:
            if src.name is None and model and src.llm.get("model") != model:
                add("warning", f"OpenHands 1.x's {src.kind} uses model "
                               f"{VAL.shown(src.llm.get('model'), 60)}, config.toml's "
                               f"{S.group_label(group)} {VAL.shown(model, 60)} ('llm-settings "
                               f"apply --to {src.kind}' makes them agree)")
            if src.kind == O.WEB and src.name is not None:
                web_profiles += 1
                if not O.WEB_NAME.fullmatch(src.name):
                    add("warning", f"{src.path}: the web app refuses the profile name "
                                   f"{src.name!r} (letters, digits, . _ -, at most 64)")
    if web_profiles > O.WEB_MAX_PROFILES:
        add("warning", f"{O.default_path(O.WEB, environ)} has {web_profiles} profiles; the web "
                       f"app keeps at most {O.WEB_MAX_PROFILES}")


def _check_keys(found: O.Found, doc: O.JsonDoc, found_sources: list[Source],
                add: Callable[[str, str], None]) -> None:
    """One finding per file holding plaintext keys: how many, who can read them, the fix."""
    count = sum(1 for src in found_sources for f in O.mapped()
                if f.secret and O.secret_of(src.llm.get(f.sdk_name or "")))
    if not count:
        return
    mode = doc.mode or 0
    readable = f"mode {mode:04o}: other users can read it" if mode & 0o077 else \
        f"mode {mode:04o}"
    it = "it" if count == 1 else "them"
    fix = (f"the web app needs {it} there; keep the file private (chmod 600)"
           if found.kind == O.WEB else
           f"'llm-settings import --remove-plaintext {found.path}' moves {it} to the keyring")
    what = "a plaintext API key" if count == 1 else f"{count} plaintext keys"
    add("warning", f"{found.path} holds {what} ({readable}); {fix}")


# ------------------------------------------------------------------------------ status
def differences(src: Source, update: Mapping[str, Any]) -> list[str]:
    """The SDK keys where an LLM of a 1.x file differs from what apply would write."""
    return [k for k, v in update.items()
            if src.llm.get(k, O.SDK_DEFAULTS.get(k)) != v and k != "api_key"]


def status(cfg: ConfigFile, group: str | None, environ: Mapping[str, str]) -> str:
    """One line on the OpenHands 1.x files that exist: whether the CLI's and the web app's
    active LLM agree with config.toml's group, how many SDK profiles there are ("" when
    there is no 1.x file). Reads files only: no keyring."""
    s = _load(cfg, group, None)
    update = _llm_update(s, with_keys=False) if s["model"] else {}
    parts: list[str] = []
    profiles = 0
    for found in O.locate(environ):
        try:
            doc = O.read_json(found.path)
        except ConfigError:
            parts.append(f"{found.kind} file unreadable (doctor says why)")
            continue
        for src in sources(found, doc):
            if src.kind == O.SDK:
                profiles += 1
            elif src.name is None:
                what = "CLI" if src.kind == O.CLI else "web app"
                off = differences(src, update) if update else ["model"]
                parts.append(f"{what} agrees" if not off else
                             f"{what} differs ({', '.join(off[:3])}"
                             f"{', …' if len(off) > 3 else ''})")
    if profiles:
        parts.append(f"{profiles} SDK profile{'s' if profiles > 1 else ''}")
    return f"OpenHands 1.x: {' · '.join(parts)}" if parts else ""


def key_moves(store: SecretStore, plan: ImportPlan, replace: bool
              ) -> tuple[dict[str, tuple[str, bool]], list[str], list[str]]:
    """Where import puts each key: account -> (key, needs writing), under migrate-keys'
    rule; the refusals (a different key already stored, never replaced without
    ``replace``) and what was skipped. Raises SecretStoreError when the keyring cannot be
    read or used."""
    moves: dict[str, tuple[str, bool]] = {}
    conflicts: list[str] = []
    skipped: list[str] = []
    for item in plan.items:
        for name, secret in item.secrets.items():
            acct = item.accounts[name]
            if acct in moves:
                if moves[acct][0] != secret:
                    skipped.append(f"skipped {name} of the {item.source.label}: {acct} already "
                                   "gets a different key from another file; kept where it is")
                continue
            try:
                moves[acct] = (secret, needs_write(store, acct, secret, replace))
            except KeyConflict as e:
                conflicts.append(f"{name} of the {item.source.label}: {e}")
    return moves, conflicts, skipped
