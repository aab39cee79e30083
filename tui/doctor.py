"""Check a config.toml the way OpenHands will read it.

``error``: OpenHands would discard a section or fail to read the file. ``warning``: it reads
the file, but something is likely not what the user wants. ``info``: worth knowing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tui import fields as F
from tui import settings as S
from tui.config_file import ConfigError, ConfigFile, ConfigParseError
from tui.secrets import SecretStore

ENV_ONLY = {f.name for f in F.FIELDS if f.env_only}
TOML_NAMES = F.TOML_FIELDS


@dataclass(frozen=True)
class Finding:
    level: str  # error | warning | info | ok
    message: str


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)

    def add(self, level: str, message: str) -> None:
        self.findings.append(Finding(level, message))

    @property
    def ok(self) -> bool:
        return not any(f.level == "error" for f in self.findings)


def run(path: Path, group: str | None, environ: Mapping[str, str],
        store: SecretStore | None) -> Report:
    """All checks; a broken file stops after the parse error."""
    r = Report()
    try:
        cfg = ConfigFile.load(path)
    except ConfigParseError as e:
        r.add("error", f"{e} (OpenHands would ignore the whole file)")
        return r
    except ConfigError as e:
        r.add("error", str(e))
        return r
    if not cfg.exists:
        r.add("info", f"{path} does not exist: OpenHands uses its defaults "
                      "('llm-settings set model ...' creates it)")
    else:
        r.add("ok", f"{path} is valid TOML")
    check_tables(cfg, r)
    check_agent_refs(cfg, r)
    if group and group not in S.group_names(cfg):
        r.add("warning", f"[llm.{group}] does not exist in {path}")
    check_env(cfg, group, environ, r)
    check_keyring(store, r)
    return r


def _tables(cfg: ConfigFile) -> list[tuple[str | None, dict]]:
    llm = cfg.table("llm") or {}
    out: list[tuple[str | None, dict]] = []
    if cfg.table("llm") is not None:
        out.append((None, {k: v for k, v in llm.items() if not isinstance(v, dict)}))
    out += [(k, v) for k, v in llm.items() if isinstance(v, dict)]
    return out


def check_tables(cfg: ConfigFile, r: Report) -> None:
    """Unknown keys, env-only keys, wrong types, bad values, plaintext secrets."""
    for group, table in _tables(cfg):
        label = S.group_label(group)
        if group in F.BY_NAME:
            r.add("error", f"[llm]: {group} is written as a table, which OpenHands reads as a "
                  f"group named {group!r}; set it inside a [llm.NAME] group instead")
            continue
        consequence = ("OpenHands would discard the whole [llm] section and use its defaults"
                       if group is None else f"OpenHands would skip the group {label}")
        for key, value in table.items():
            if group is not None and isinstance(value, dict) and key not in TOML_NAMES:
                r.add("error", f"{label}: nested table {key!r} is not a setting; {consequence}")
                continue
            if key in ENV_ONLY:
                r.add("error", f"{label}: {key} is not accepted there by current OpenHands; "
                      f"{consequence}. Remove it and run 'llm-settings set {key} ...': it is kept "
                      "in [extended.llm_settings] and applied through export/exec")
                continue
            if key not in TOML_NAMES:
                hint = F.suggest(key, TOML_NAMES)
                r.add("error", f"{label}: unknown key {key!r}"
                      + (f" (did you mean {hint}?)" if hint else "") + f"; {consequence}")
                continue
            f = F.BY_NAME[key]
            plain = F.plain(value)
            problem = f.type_problem(plain)
            if problem:
                r.add("error", f"{label}: {problem}; {consequence}")
                continue
            problem = f.rule_problem(plain)
            if problem:
                r.add("warning", f"{label}: {problem}")
            if f.secret and isinstance(plain, str) and plain:
                r.add("warning", f"{label}: {key} is stored in plaintext in {cfg.path}; "
                      "'llm-settings migrate-keys' moves it into the keyring")
        for _name, reason in S.cross_problems(
                {n: v.value for n, v in S.load(cfg, group, environ={}).values.items()}):
            r.add("warning", f"{label}: {reason}")
    llm = cfg.table("llm")
    if llm is not None and not any(k in llm for k in F.RETRY_FIELDS):
        r.add("info", "[llm]: retry settings are not written, so they depend on the OpenHands "
                      "release; 'llm-settings set num_retries 4' pins the documented ones")


def check_agent_refs(cfg: ConfigFile, r: Report) -> None:
    """``llm_config`` of [agent] and [agent.X] must name an existing [llm.X] group."""
    groups = set(S.group_names(cfg)) | {"llm"}
    agent = cfg.table("agent") or {}
    refs = [("[agent]", agent.get("llm_config"))]
    refs += [(f"[agent.{k}]", v.get("llm_config")) for k, v in agent.items()
             if isinstance(v, dict)]
    for where, name in refs:
        if isinstance(name, str) and name not in groups:
            r.add("warning", f"{where}: llm_config = {name!r} names no [llm.{name}] group; "
                             "OpenHands falls back to [llm]")


def check_env(cfg: ConfigFile, group: str | None, environ: Mapping[str, str],
              r: Report) -> None:
    """LLM_* variables that override the file, or that OpenHands cannot read."""
    s = S.load(cfg, group, environ=environ)
    for name, v in s.values.items():
        if v.env_problem:
            r.add("warning", v.env_problem)
        if v.overridden and v.below is not None:
            shown = "(secret)" if v.field.secret else repr(v.value)
            r.add("info", f"{v.field.env} in the environment overrides {name} from "
                          f"{v.below.source.detail} ({shown})")
    known = {f.env for f in F.FIELDS}
    for var in sorted(environ):
        if var.startswith("LLM_") and var not in known:
            hint = F.suggest(var[4:].lower())
            r.add("info", f"{var} in the environment is not an OpenHands LLM setting"
                  + (f" (did you mean {F.BY_NAME[hint].env}?)" if hint else ""))


def check_keyring(store: SecretStore | None, r: Report) -> None:
    if store is None:
        return
    health = store.health()
    if health.usable:
        r.add("ok", f"keyring usable ({health.backend})")
    else:
        r.add("warning", f"{health.problem}")
