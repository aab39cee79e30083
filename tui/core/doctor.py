"""Check a config.toml the way OpenHands 0.62 reads it (rules in tui/core/openhands_rules.py).

``error``: OpenHands would ignore the file or a section, or stop with an exception.
``warning``: it reads the file, but something is likely not what the user wants.
``info``: worth knowing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tui.core import fields as F
from tui.core import openhands_rules as R
from tui.core import settings as S
from tui.core import values as VAL
from tui.core.config_file import ConfigError, ConfigFile
from tui.core.secrets import SecretStore


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
    """All checks; a file OpenHands cannot parse stops after that error."""
    r = Report()
    try:
        raw: bytes | None = path.read_bytes()
    except FileNotFoundError:
        raw = None
        r.add("info", f"{path} does not exist: OpenHands uses its defaults "
                      "('llm-settings set model ...' creates it)")
    except OSError as e:
        r.add("error", f"cannot read {path}: {e.strerror}; {R.STOPS}")
        return r
    if raw is not None:
        data = R.parse(raw, r.add)
        if data is None:
            return r
        r.add("ok", f"{path} is valid TOML for OpenHands")
        R.check(data, r.add)
    try:
        cfg = ConfigFile.load(path)
    except ConfigError as e:
        r.add("warning", f"llm-settings cannot edit this file: {e}")
        return r
    check_tables(cfg, r)
    check_shared(cfg, r)
    check_agent_refs(cfg, r)
    if group and group not in S.group_names(cfg):
        r.add("warning", f"[llm.{group}] does not exist in {path}")
    check_env(cfg, group, environ, r)
    check_keyring(store, r)
    from tui.core.openhands1_sync import check_files  # OpenHands 1.x's own files

    check_files(cfg, group, environ, r.add)
    return r


def _tables(cfg: ConfigFile) -> list[tuple[str | None, dict]]:
    llm = cfg.table("llm")
    if not isinstance(llm, dict):
        return []
    out: list[tuple[str | None, dict]] = [
        (None, {k: v for k, v in llm.items() if not isinstance(v, dict)})]
    return out + [(k, v) for k, v in llm.items() if isinstance(v, dict)]


def check_tables(cfg: ConfigFile, r: Report) -> None:
    """Values OpenHands accepts but likely not as meant: converted text, ranges, plaintext.

    What OpenHands refuses (unknown keys, wrong types) is reported by openhands_rules.
    """
    for group, table in _tables(cfg):
        label = S.group_label(group)
        for key, value in table.items():
            if key not in R.LLM:
                continue
            f = F.BY_NAME[key]
            plain = VAL.plain(value)
            if R.value_problem(key, R.LLM[key], plain):
                continue  # refused by OpenHands: an error from openhands_rules
            if f.type_problem(plain):
                r.add("warning", f"{label}: {f.type_problem(plain)}; OpenHands 0.62 "
                      f"converts it, other readers may not (write it as a {f.type_name})")
                continue
            problem = f.rule_problem(plain)
            if problem:
                r.add("warning", f"{label}: {problem}")
            if f.secret and isinstance(plain, str) and plain:
                r.add("warning", f"{label}: {key} is stored in plaintext in {cfg.path}; "
                      "'llm-settings migrate-keys' moves it into the keyring")
        typed = {n: v.value for n, v in S.load(cfg, group, environ={}).values.items()
                 if v.value is None or not v.field.type_problem(VAL.plain(v.value))}
        for _name, reason in S.cross_problems(typed):
            r.add("warning", f"{label}: {reason}")
    llm = cfg.table("llm")
    if isinstance(llm, dict) and not any(k in llm for k in F.RETRY_FIELDS):
        r.add("info", "[llm]: retry settings are not written, so they depend on the OpenHands "
                      "release; 'llm-settings set num_retries 4' pins the documented ones")


def check_shared(cfg: ConfigFile, r: Report) -> None:
    """[core] and [security] settings of the registry: a value out of its choices, a
    plaintext search key."""
    for f in F.FIELDS:
        if f.section not in ("core", "security"):
            continue
        table = cfg.table(f.section)
        if not isinstance(table, dict) or f.name not in table:
            continue
        plain = VAL.plain(table[f.name])
        label = S.table_label((f.section,))
        problem = None if f.type_problem(plain) else f.rule_problem(plain)
        if problem:
            r.add("warning", f"{label}: {problem}")
        if f.secret and isinstance(plain, str) and plain:
            r.add("warning", f"{label}: {f.name} is stored in plaintext in {cfg.path}; "
                  "'llm-settings migrate-keys' moves it into the keyring")


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
            stops = "stops OpenHands" in v.env_problem  # then it does not just ignore it
            r.add("warning", v.env_problem.removesuffix("; OpenHands ignores it") if stops
                  else v.env_problem)
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
