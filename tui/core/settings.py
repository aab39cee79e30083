"""Effective LLM settings: defaults < config.toml ([llm], then [llm.NAME]) < LLM_* env.

Every value carries its source. Secrets come from LLM_* in the environment, else the OS
keyring, else a plaintext value in the file. Writes go through :func:`plan_set` /
:func:`plan_unset`, which turn a change into edits for :class:`tui.core.config_file.ConfigFile`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tui.core import fields as F
from tui.core import values as VAL
from tui.core.catalog import provider_of
from tui.core.config_file import DELETE, ConfigError, ConfigFile
from tui.core.keyring_problems import for_env
from tui.core.secrets import KeyringHealth, SecretStore, SecretStoreError, account

EXTENDED = ("extended", "llm_settings")  # where env-only fields live; OpenHands ignores it
AWS_PROVIDERS = ("bedrock", "sagemaker")
AWS_SECRETS = ("aws_access_key_id", "aws_secret_access_key")


def find_config(explicit: str | os.PathLike | None = None, cwd: Path | None = None) -> Path:
    """``--config PATH``; else ./config.toml if it exists; else ~/.openhands/config.toml."""
    if explicit is not None:
        if not str(explicit).strip():
            raise ConfigError("the config path is empty; give a file (--config PATH).")
        return Path(explicit).expanduser()
    local = (cwd or Path.cwd()) / "config.toml"
    if local.is_file():
        return local
    return Path.home() / ".openhands" / "config.toml"


def table_of(group: str | None, f: F.Field) -> tuple[str, ...]:
    """The TOML table a field of a group is written to."""
    if f.section != "llm":
        return (f.section,)  # [core] is shared by every group
    base = EXTENDED if f.env_only else ("llm",)
    return base + ((group,) if group else ())


def own_value(cfg: ConfigFile, group: str | None, f: F.Field) -> Any:
    """What the table ``f`` belongs to in ``group`` holds for it (None: not set there); the
    condenser size is the max_size of an llm [condenser]."""
    data = cfg.table(*table_of(group, f)) or {}
    if f.section == "condenser":
        return data.get("max_size") if data.get("type") == "llm" else None
    return data.get(f.name)


def secret_account(provider: str, base_url: str | None, name: str) -> str:
    """Keyring entry for a secret: per provider and host of a base URL; a secret of the
    whole config (search_api_key) has one entry named after it."""
    if F.BY_NAME[name].shared:
        return name
    return account(provider, base_url, name)


def table_label(table: tuple[str, ...]) -> str:
    return "[" + ".".join(table) + "]"


def group_label(group: str | None) -> str:
    return f"[llm.{group}]" if group else "[llm]"


@dataclass(frozen=True)
class Source:
    """Where a value comes from: default, file, inherited, env, keyring."""

    kind: str
    detail: str = ""

    def __str__(self) -> str:
        if self.kind == "default":
            return "default"
        if self.kind == "inherited":
            return f"inherited from {self.detail}"
        return f"{self.kind} {self.detail}".strip()


DEFAULT = Source("default")


@dataclass
class Value:
    field: F.Field
    value: Any
    source: Source
    below: Value | None = None  # the value this one overrides (e.g. the file's, under env)
    problem: str | None = None  # why the value in the file is not usable
    env_problem: str | None = None  # why the LLM_* variable is ignored
    unread: str | None = None  # a secret the keyring could not be read for: unknown, not absent

    @property
    def is_set(self) -> bool:
        return self.source.kind != "default"

    @property
    def overridden(self) -> bool:
        """The environment overrides a value from the file."""
        return self.source.kind == "env" and self.below is not None and self.below.is_set


@dataclass
class Settings:
    path: Path
    group: str | None
    values: dict[str, Value]
    keyring: KeyringHealth | None = None
    keyring_problem: str | None = None
    problems: list[str] = field(default_factory=list)

    def __getitem__(self, name: str) -> Any:
        return self.values[name].value

    @property
    def provider(self) -> str:
        return provider_of(self["model"], self["custom_llm_provider"])

    def account(self, name: str = "api_key") -> str:
        """Keyring entry for a secret of these settings (see :func:`secret_account`)."""
        return secret_account(self.provider, self["base_url"], name)

    def unread_needed(self) -> list[Value]:
        """Secrets these settings need that are unknown because the keyring could not be read.

        Bedrock and SageMaker need the AWS keys, every other provider the API key; a key in
        the environment or the file needs no keyring.
        """
        names = AWS_SECRETS if self.provider in AWS_PROVIDERS else ("api_key",)
        return [self.values[n] for n in names if self.values[n].unread]


def load(
    cfg: ConfigFile,
    group: str | None = None,
    environ: Mapping[str, str] | None = None,
    store: SecretStore | None = None,
) -> Settings:
    """Resolve every field of ``group`` with its source. ``store=None`` skips the keyring."""
    env = os.environ if environ is None else environ
    base = {k: v for k, v in (cfg.table("llm") or {}).items() if not isinstance(v, dict)}
    own = cfg.table("llm", group) if group else None
    values: dict[str, Value] = {}
    for f in F.FIELDS:
        values[f.name] = _resolve(f, cfg, group, base, own, env)
    s = Settings(cfg.path, group, values)
    if store is not None:
        resolve_secrets(s, store)
    return s


def _resolve(f: F.Field, cfg: ConfigFile, group: str | None, base: dict, own: dict | None,
             env: Mapping[str, str]) -> Value:
    v = Value(f, f.default, DEFAULT)
    if f.section == "condenser":
        data = cfg.table("condenser") or {}
        if data.get("type") == "llm" and "max_size" in data:
            v = _from_file(f, data["max_size"], Source("file", "[condenser]"), v)
    elif f.section != "llm":
        data = cfg.table(f.section) or {}
        if f.name in data:
            v = _from_file(f, data[f.name], Source("file", table_label((f.section,))), v)
    elif f.env_only:
        for names in [EXTENDED, (*EXTENDED, group)] if group else [EXTENDED]:
            data = cfg.table(*names) or {}
            if f.name in data:
                v = _from_file(f, data[f.name], Source("file", table_label(names)), v)
    else:
        if f.name in base:
            kind = "inherited" if group else "file"
            v = _from_file(f, base[f.name], Source(kind, "[llm]"), v)
        if own is not None and f.name in own:
            v = _from_file(f, own[f.name], Source("file", group_label(group)), v)
    if f.secret and isinstance(v.value, str) and v.value == "" and v.is_set:
        v = Value(f, None, DEFAULT)  # api_key = "" (as in OpenHands' template) is no key
    text = env.get(f.env)
    if text:  # OpenHands skips empty variables
        try:
            v = Value(f, f.from_env(text), Source("env", f.env), below=v)
        except F.FieldError as e:
            v.env_problem = f"{e}; OpenHands ignores it"
    return v


def _from_file(f: F.Field, raw: Any, source: Source, below: Value) -> Value:
    """The file's value; one of the wrong type reads as the default, with the reason."""
    value = VAL.plain(raw)
    problem = f.type_problem(value)
    if problem:
        return Value(f, f.default, source, below=below, problem=problem)
    return Value(f, value, source, below=below, problem=f.rule_problem(value))


def resolve_secrets(s: Settings, store: SecretStore) -> None:
    """Secrets: env, else keyring, else plaintext in the file; unread when the keyring fails."""
    health = store.health()
    s.keyring = health
    for name in F.SECRET_FIELDS:
        v = s.values[name]
        if v.source.kind == "env":
            continue
        if not health.usable:
            v.unread = None if v.value is not None else unread_text(health.problem, v.field)
            continue
        acct = s.account(name)
        try:
            secret = store.get(acct)
        except SecretStoreError as e:
            s.keyring_problem = str(e)
            v.unread = None if v.value is not None else unread_text(str(e), v.field)
            continue
        if secret:
            s.values[name] = Value(v.field, secret, Source("keyring", f"{store.service}/{acct}"),
                                   below=v)


def unread_text(problem: str | None, f: F.Field) -> str:
    """What to say about a secret the keyring could not be read for (the problem and fix)."""
    why = for_env(problem or "no usable keyring", f.env).removeprefix("No usable keyring: ")
    return f"could not read the keyring: {why}"


# -- cross-field rules -------------------------------------------------------------------
def cross_problems(values: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Rules between fields, as (field, reason)."""
    out: list[tuple[str, str]] = []
    lo, hi = values.get("retry_min_wait"), values.get("retry_max_wait")
    if isinstance(lo, int | float) and isinstance(hi, int | float) and lo > hi:
        out.append(("retry_min_wait",
                    f"retry_min_wait ({lo} s) is longer than retry_max_wait ({hi} s)"))
    model = values.get("model")
    if isinstance(model, str) and model.startswith("azure/") and not values.get("api_version"):
        out.append(("api_version", "Azure models need an API version (e.g. 2024-12-01-preview)"))
    return out


def condenser_note(values: Mapping[str, Any]) -> str | None:
    """Why condensation goes on although it is switched off: OpenHands 0.62 reads
    enable_default_condenser only when config.toml has no [condenser]."""
    if values.get("enable_default_condenser") is False and values.get("condenser_max_size"):
        return ("enable_default_condenser = false does not switch off the llm [condenser] "
                "(condenser_max_size): OpenHands still condenses; 'unset condenser_max_size' "
                "stops it")
    return None


# -- writes ------------------------------------------------------------------------------
Edits = dict[tuple[tuple[str, ...], str], Any]


def plan_set(cfg: ConfigFile, group: str | None, name: str, value: Any) -> Edits:
    """Edits that set one non-secret field (validated), with the retry rule applied."""
    return plan_changes(cfg, group, {name: value})


def _plan_one(cfg: ConfigFile, group: str | None, name: str, value: Any) -> Edits:
    f = F.get(name)
    f.validate(value)
    if f.type is dict and not group and not f.env_only:
        raise F.FieldError(
            f"{name}: OpenHands reads a table inside [llm] as a named group; "
            f"set it in a group instead (--llm NAME)")
    if f.section == "condenser":
        return _condenser_edits(cfg, group, value)
    edits: Edits = {(table_of(group, f), name): value}
    current = load(cfg, group, environ={})
    merged = {n: v.value for n, v in current.values.items()}
    merged[name] = value
    if name in F.RETRY_FIELDS:
        # Pin all four: OpenHands releases disagree on their built-in defaults.
        own = (cfg.table("llm", group) if group else cfg.table("llm")) or {}
        for other in F.RETRY_FIELDS:
            if other != name and other not in own:
                edits[(table_of(group, F.BY_NAME[other]), other)] = merged[other]
    return edits


def _condenser_edits(cfg: ConfigFile, group: str | None, size: int) -> Edits:
    """An llm [condenser] keeping ``size`` events, summarizing with the group's model."""
    data = cfg.table("condenser") or {}
    kind = data.get("type", "noop")
    if kind not in ("llm", "noop"):
        raise F.FieldError(
            f"condenser_max_size: config.toml already has a [condenser] of type {kind!r}, "
            "which takes precedence; it is kept as it is (edit or remove it by hand)")
    table = ("condenser",)
    return {(table, "type"): "llm", (table, "max_size"): size,
            (table, "llm_config"): group or "llm"}


def plan_unset(cfg: ConfigFile, group: str | None, name: str) -> tuple[Edits, str]:
    """Edits that clear a field, and a sentence saying what the value becomes."""
    f = F.get(name)
    if name in F.RETRY_FIELDS and not group:
        # Removing it would hand the value to OpenHands' release-dependent default.
        return ({(table_of(group, f), name): f.default},
                f"{name} reset to the documented default {f.default} (written explicitly: "
                f"OpenHands releases disagree on the built-in value)")
    if f.section == "condenser":
        data = cfg.table("condenser") or {}
        if data.get("type", "noop") not in ("llm", "noop"):
            raise F.FieldError(
                f"condenser_max_size: the [condenser] of type {data.get('type', 'noop')!r} "
                "is not one this setting wrote; it is kept as it is")
        edits: Edits = {(("condenser",), k): DELETE for k in data if k != "type"}
        edits[(("condenser",), "type")] = "noop"
        return (edits, "[condenser] set back to type noop: OpenHands condenses nothing through "
                "it (it reads enable_default_condenser only when there is no [condenser])")
    table = table_of(group, f)
    then = "inherits from [llm]" if group and f.section == "llm" and not f.env_only else (
        "is back to its default")
    return {(table, name): DELETE}, f"{name} removed from {table_label(table)}: it {then}"


def plan_changes(cfg: ConfigFile, group: str | None, changes: Mapping[str, Any]) -> Edits:
    """Edits for several non-secret fields at once (None unsets); cross-field rules checked."""
    pins: Edits = {}
    explicit: Edits = {}
    for name, value in changes.items():
        if value is None:
            explicit.update(plan_unset(cfg, group, name)[0])
            continue
        for key, val in _plan_one(cfg, group, name, value).items():
            (explicit if key[1] == name else pins)[key] = val
    edits = {**explicit, **{k: v for k, v in pins.items() if k not in explicit}}
    merged = {n: v.value for n, v in load(cfg, group, environ={}).values.items()}
    merged.update({n: v for n, v in changes.items() if v is not None})
    for fname, reason in cross_problems(merged):
        if fname in F.RETRY_FIELDS:
            raise F.FieldError(reason)
    return edits


def secret_edit(group: str | None, name: str, secret: str | None) -> Edits:
    """The edit that writes (or, with None, removes) a plaintext secret in the file."""
    return {(table_of(group, F.BY_NAME[name]), name): DELETE if secret is None else secret}


def group_names(cfg: ConfigFile) -> list[str]:
    """Named groups, in file order: the tables inside [llm]."""
    return [k for k, v in (cfg.table("llm") or {}).items() if isinstance(v, dict)]


def mask(secret: str | None) -> str:
    """A secret as it may be shown: its last four characters at most."""
    if not secret:
        return "(not set)"
    return "****" + secret[-4:] if len(secret) >= 16 else "****"


def export_vars(s: Settings, with_secrets: bool) -> list[tuple[str, str | None]]:
    """(VAR, value) pairs of every set field, OpenHands' env syntax; secrets None unless asked."""
    out: list[tuple[str, str | None]] = []
    for f in F.FIELDS:
        v = s.values[f.name]
        if not v.is_set or v.value is None or not f.exportable:
            continue
        if f.secret:
            out.append((f.env, v.value if with_secrets else None))
        else:
            out.append((f.env, f.to_env(v.value)))
    return out
