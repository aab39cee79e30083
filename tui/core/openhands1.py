"""OpenHands 1.x's own settings files: where they are, reading and writing them without
losing anything, and an SDK ``LLM`` (a JSON object) mapped to and from the registry's
fields (tui/core/fields.py, ``Field.sdk_name``).

- the CLI (``openhands``): ``<OPENHANDS_PERSISTENCE_DIR | ~/.openhands>/agent_settings.json``,
  a serialized SDK ``Agent`` with ``llm`` and ``condenser.llm``;
- the web app's server (``openhands-ai``): ``<OH_PERSISTENCE_DIR | FILE_STORE_PATH |
  ~/.openhands>/settings.json``, with ``agent_settings.llm`` and ``llm_profiles``;
- the SDK's profiles: ``<OH_PERSISTENCE_DIR | ~/.openhands>/profiles/NAME.json``.

Writes are atomic, under a lock, refused when the file changed since it was read, and keep
every key this module does not manage, the key order and the file's indentation.
"""

from __future__ import annotations

import copy
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tui.core import fields as F
from tui.core import values as VAL
from tui.core.config_io import (
    ConfigError,
    check_replaceable,
    locked,
    read_regular,
    remove_stale_temps,
    write_atomic,
)

CLI, SDK, WEB = "cli", "sdk", "web"
KINDS = (CLI, SDK, WEB)
CLI_FILE = "agent_settings.json"
WEB_FILE = "settings.json"
PROFILES = "profiles"
FILE_MODE = 0o600
LOCK_TIMEOUT = 5.0

# Profile names: the SDK's profile store, and the web app's profile routes.
SDK_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
WEB_NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")
WEB_MAX_PROFILES = 10
GROUP_NAME = re.compile(r"[A-Za-z0-9_-]+")  # what OpenHands 0.x's [llm.NAME] takes

REDACTED = "**********"  # how the SDK writes a key it leaves out
SECRET_KEYS = ("api_key", "aws_access_key_id", "aws_secret_access_key", "aws_session_token")

# The SDK LLM's defaults (openhands-sdk 1.21.0 and 1.34.0 agree on all but the model).
SDK_DEFAULTS: dict[str, Any] = {
    "model": None, "api_key": None, "auth_type": "api_key", "subscription_vendor": None,
    "base_url": None, "api_version": None, "aws_access_key_id": None,
    "aws_secret_access_key": None, "aws_session_token": None, "aws_region_name": None,
    "aws_profile_name": None, "aws_role_name": None, "aws_session_name": None,
    "aws_bedrock_runtime_endpoint": None,
    "openrouter_site_url": "https://docs.all-hands.dev/", "openrouter_app_name": "OpenHands",
    "num_retries": 5, "retry_multiplier": 8.0, "retry_min_wait": 8, "retry_max_wait": 64,
    "timeout": 300, "max_message_chars": 30000, "temperature": None, "top_p": None,
    "top_k": None, "max_input_tokens": None, "max_output_tokens": None,
    "model_canonical_name": None, "extra_headers": None, "input_cost_per_token": None,
    "output_cost_per_token": None, "ollama_base_url": None, "stream": False,
    "drop_params": True, "modify_params": True, "disable_vision": None,
    "disable_stop_word": False, "caching_prompt": True, "log_completions": False,
    "log_completions_folder": "logs/completions", "custom_tokenizer": None,
    "native_tool_calling": True, "force_string_serializer": None, "inline_image_urls": None,
    "reasoning_effort": "high", "reasoning_summary": None, "enable_encrypted_reasoning": True,
    "prompt_cache_retention": "24h", "extended_thinking_budget": 200000, "seed": None,
    "usage_id": "default", "litellm_extra_body": {},
}
# SDK defaults that OpenHands 0.x has built in too, although the registry leaves them unset.
SAME_IN_0X = frozenset({"openrouter_site_url", "openrouter_app_name", "log_completions_folder"})
# Filled in by the SDK from the model's catalog entry when it saves an LLM.
DERIVED = ("max_input_tokens", "max_output_tokens")
# Bookkeeping of the files, never a setting.
QUIET = frozenset({"usage_id", "schema_version", "is_subscription", "kind"})

# The CLI's own default agent, for an agent_settings.json that does not exist yet
# (openhands_cli.utils.get_default_cli_agent; the CLI sets its tools again at start).
CLI_TOOLS = ("terminal", "file_editor", "task_tracker", "task_tool_set")
CLI_CONDENSER = {"max_size": 80, "keep_first": 4, "kind": "LLMSummarizingCondenser"}


# ------------------------------------------------------------------------------ locations
def persistence_dir(kind: str, environ: Mapping[str, str] | None = None) -> Path:
    """The folder OpenHands 1.x's ``kind`` (cli, web, sdk) keeps its settings in."""
    env = os.environ if environ is None else environ
    names = {CLI: ("OPENHANDS_PERSISTENCE_DIR",), WEB: ("OH_PERSISTENCE_DIR", "FILE_STORE_PATH"),
             SDK: ("OH_PERSISTENCE_DIR",)}[kind]
    for name in names:
        if env.get(name):
            return Path(env[name]).expanduser()
    home = env.get("HOME")
    return (Path(home) if home else Path.home()) / ".openhands"


def default_path(kind: str, environ: Mapping[str, str] | None = None) -> Path:
    """The settings file of the CLI or web app, or the SDK's profiles folder."""
    folder = persistence_dir(kind, environ)
    return folder / {CLI: CLI_FILE, WEB: WEB_FILE, SDK: PROFILES}[kind]


@dataclass(frozen=True)
class Found:
    kind: str
    path: Path


def locate(environ: Mapping[str, str] | None = None) -> list[Found]:
    """The OpenHands 1.x settings files that exist: CLI, SDK profiles, web app."""
    out: list[Found] = []
    for kind in KINDS:
        out += files_in(kind, default_path(kind, environ))
    return out


def files_in(kind: str, path: Path) -> list[Found]:
    """``path`` if it is a file (or, for sdk, the profiles in that folder)."""
    if kind == SDK:
        if not path.is_dir():
            return []
        return [Found(SDK, p) for p in sorted(path.glob("*.json")) if p.is_file()]
    return [Found(kind, path)] if path.is_file() else []


def found_at(path: Path) -> list[Found]:
    """The files a path given on the command line stands for: a file (its kind read from
    its content), a persistence folder, or a profiles folder."""
    if path.is_dir():
        inside = [*files_in(CLI, path / CLI_FILE), *files_in(SDK, path / PROFILES),
                  *files_in(WEB, path / WEB_FILE)]
        return inside or [Found(SDK, p) for p in sorted(path.glob("*.json")) if p.is_file()]
    doc = read_json(path)
    if doc.raw is None:
        raise ConfigError(f"{path} does not exist.")
    return [Found(kind_of(path, doc.data), path)]


def kind_of(path: Path, data: Any) -> str:
    """Which OpenHands 1.x file ``data`` is; ConfigError if none."""
    if isinstance(data, dict):
        if isinstance(data.get("agent_settings"), dict) or "llm_profiles" in data:
            return WEB
        if isinstance(data.get("llm"), dict):
            return CLI
        if isinstance(data.get("model"), str):
            return SDK
    raise ConfigError(f"{path} is not an OpenHands 1.x settings file (no agent_settings, "
                      "llm or model in it); nothing was read from it.")


# ------------------------------------------------------------------------------ JSON files
@dataclass
class JsonDoc:
    """A JSON file as read: its bytes (None: it does not exist yet) and its data."""

    path: Path
    raw: bytes | None
    data: Any
    mode: int | None = None


def read_json(path: Path) -> JsonDoc:
    """Read a JSON file (bounded, regular files only); ConfigError saying what is wrong."""
    got = read_regular(path)
    if got is None:
        return JsonDoc(path, None, None)
    raw, st = got
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not UTF-8 text; nothing was changed.") from None
    except json.JSONDecodeError as e:
        raise ConfigError(f"{path} is not valid JSON (line {e.lineno}, column {e.colno}: "
                          f"{e.msg}); nothing was changed.") from None
    return JsonDoc(path, raw, data, st.st_mode & 0o777)


@dataclass(frozen=True)
class Style:
    """How a JSON file is laid out, to write it back the same way."""

    indent: int | str | None = 2
    item_sep: str = ","
    key_sep: str = ": "
    ascii_only: bool = True
    newline: bool = False


_KEY = re.compile(r'"(?:[^"\\]|\\.)*"(\s*):(\s*)')
_ITEM = re.compile(r',(\s*)["\[{0-9tfn-]')


def style_of(raw: bytes | None) -> Style:
    """The layout of ``raw`` (pydantic's compact dumps, json.dumps with an indent, ...)."""
    if raw is None:
        return Style()
    text = raw.decode("utf-8", "replace")
    ascii_only = raw.isascii()
    newline = text.endswith("\n")
    first = re.match(r"\s*[\[{][ \t]*\r?\n([ \t]+)\S", text)
    key = _KEY.search(text)
    key_sep = (key.group(1) + ":" + key.group(2)) if key else ": "
    if first:
        unit = first.group(1)
        indent: int | str = unit if "\t" in unit else len(unit)
        return Style(indent, ",", key_sep.replace("\n", ""), ascii_only, newline)
    item = _ITEM.search(text)
    return Style(None, "," + (item.group(1) if item else " "), key_sep, ascii_only, newline)


def render(data: Any, style: Style) -> bytes:
    text = json.dumps(data, indent=style.indent, separators=(style.item_sep, style.key_sep),
                      ensure_ascii=style.ascii_only)
    return (text + ("\n" if style.newline else "")).encode("utf-8")


def write_json(path: Path, raw: bytes, expected: bytes | None,
               lock_target: Path | None = None) -> None:
    """Replace ``path`` by ``raw`` (mode 0600), atomically, under a lock; refused when the
    file is no longer ``expected`` (None: it must still not exist). A symlink's target is
    written, the link kept."""
    if path.is_symlink():
        path = Path(os.path.realpath(path))
    with locked(lock_target or path, LOCK_TIMEOUT, create_folder=True) as problem:
        if problem:
            raise ConfigError(f"cannot write {path}: {problem}; nothing was written.")
        got = read_regular(path)
        if (got[0] if got else None) != expected:
            raise ConfigError(f"{path} changed since it was read (OpenHands or another program "
                              "saved it meanwhile); nothing was written: run it again.")
        owner = None
        if got is not None:
            check_replaceable(path, got[1])
            owner = (got[1].st_uid, got[1].st_gid)
        remove_stale_temps(path)
        write_atomic(path, raw, FILE_MODE, owner)


def lock_target(kind: str, path: Path) -> Path:
    """The file whose ``.NAME.lock`` guards a write: the SDK's profile store locks its
    folder with ``profiles/.profiles.lock``, so profiles take that same lock."""
    return path.parent / PROFILES if kind == SDK else path


def at(data: Any, where: tuple[str, ...]) -> Any:
    """The value at JSON keys ``where`` inside ``data``, or None."""
    for key in where:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def without_secrets(doc: JsonDoc, targets: list[tuple[tuple[str, ...], str]]) -> bytes:
    """The file's bytes with the secrets at ``targets`` (object path, key) set to null and
    every other byte as it was."""
    assert doc.raw is not None
    expected = copy.deepcopy(doc.data)
    values = set()
    for where, key in targets:
        obj = at(expected, where)
        values.add(obj[key])
        obj[key] = None
    names = "|".join(re.escape(key) for key in {k for _w, k in targets})
    pattern = re.compile(r'("(?:' + names + r')"\s*:\s*)("(?:[^"\\]|\\.)*")')
    text = doc.raw.decode("utf-8")

    def blank(m: re.Match[str]) -> str:
        return m.group(1) + "null" if json.loads(m.group(2)) in values else m.group(0)

    new = pattern.sub(blank, text)
    if json.loads(new.lstrip("\ufeff")) == expected:
        return new.encode("utf-8")
    return render(expected, style_of(doc.raw))  # the key also appeared elsewhere


# ------------------------------------------------------------------------------ mapping
def secret_of(value: Any) -> str | None:
    """A usable secret from a file: not empty, not the SDK's mask."""
    if isinstance(value, str) and value.strip() and value != REDACTED:
        return value
    return None


def mapped() -> list[F.Field]:
    """Registry fields OpenHands 1.x's SDK LLM has."""
    return [f for f in F.FIELDS if f.sdk_name]


def catalog_limit(model: Any, key: str) -> int | None:
    """LiteLLM's token limit for ``model`` (what the SDK fills in for ``key``)."""
    from tui.core.catalog import entry

    if not isinstance(model, str):
        return None
    info = entry(model) or (entry(model.split("/", 1)[1]) if "/" in model else None) or {}
    value = info.get(key) or (info.get("max_tokens") if key == "max_output_tokens" else None)
    return value if isinstance(value, int) else None


@dataclass
class Imported:
    """What an SDK LLM becomes in config.toml."""

    values: dict[str, Any] = field(default_factory=dict)  # field name -> value
    secrets: dict[str, str] = field(default_factory=dict)  # field name -> secret
    notes: list[str] = field(default_factory=list)  # what was not imported, and why


def to_fields(llm: Mapping[str, Any]) -> Imported:
    """The registry values of an SDK LLM: only what was set.

    A value is imported when it differs from the SDK's default, or when it equals the SDK's
    default but OpenHands 0.x's default differs (retries 5/8/64/8, timeout 300, reasoning
    effort high, native tool calling): left out, 0.x would use its own default instead.
    ``None`` is never imported (unset). Token limits the SDK copied from the model's catalog
    entry are left out, so that they follow the model.
    """
    out = Imported()
    keys = set()
    for f in mapped():
        key = f.sdk_name
        assert key is not None
        keys.add(key)
        if key not in llm:
            continue
        value = llm[key]
        if f.secret:
            secret = secret_of(value)
            if secret:
                out.secrets[f.name] = secret
            continue
        default = SDK_DEFAULTS.get(key)
        if value is None or (value == default and (key in SAME_IN_0X or value == f.default)):
            continue
        if key in DERIVED and value == catalog_limit(llm.get("model"), key):
            continue
        problem = f.type_problem(value) or f.rule_problem(value)
        if problem:
            out.notes.append(f"{key} not imported: {problem}")
            continue
        out.values[f.name] = value
    if any(n in out.values for n in F.RETRY_FIELDS):  # written together, as `set` does
        for name in F.RETRY_FIELDS:
            value = llm.get(name, SDK_DEFAULTS[name])
            if name not in out.values and F.BY_NAME[name].type_problem(value) is None:
                out.values[name] = value
    for key, value in llm.items():
        if key in keys or key in QUIET or value in (None, {}, [], "") or \
                value == SDK_DEFAULTS.get(key, object()):
            continue
        shown = "(a secret)" if key in SECRET_KEYS else VAL.shown(value)
        out.notes.append(f"{key} = {shown} not imported: config.toml has no such setting")
    return out


def llm_values(values: Mapping[str, Any], is_set: Mapping[str, bool]) -> dict[str, Any]:
    """The SDK LLM keys of every mapped non-secret field: config.toml's value, or the SDK's
    default where config.toml leaves the field unset."""
    out: dict[str, Any] = {}
    for f in mapped():
        if f.secret:
            continue
        key = f.sdk_name
        assert key is not None
        value = values.get(f.name)
        out[key] = value if is_set.get(f.name) and value is not None else SDK_DEFAULTS.get(key)
    return out


def merge_llm(existing: Mapping[str, Any] | None, update: Mapping[str, Any]) -> dict[str, Any]:
    """``existing`` with ``update`` applied: other keys and the key order kept; a key the
    object does not have is added only with a value other than the SDK's default."""
    out = dict(existing or {})
    for key, value in update.items():
        if key not in out and (value is None or value == SDK_DEFAULTS.get(key, _ABSENT)):
            continue
        out[key] = value
    return out


def profile_name(group: str | None) -> str:
    """The OpenHands 1.x profile a config.toml group becomes: its name ([llm]: ``llm``)."""
    return group or "llm"


def group_name(name: str) -> str:
    """The [llm.NAME] a profile name becomes: characters 0.x cannot take turned into ``_``."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", name) or "_"


# ------------------------------------------------------------------------------ diffs
def _hide(value: Any) -> Any:
    """``value`` with every secret inside replaced by ``(a key)``."""
    if isinstance(value, dict):
        return {k: "(a key)" if k in SECRET_KEYS and secret_of(v) else _hide(v)
                for k, v in value.items()}
    if isinstance(value, list):
        return [_hide(v) for v in value]
    return value


def _show(key: str, value: Any) -> str:
    if value is _ABSENT:
        return "(absent)"
    if key in SECRET_KEYS and isinstance(value, str):
        return "(a key)" if secret_of(value) else json.dumps(value)
    text = json.dumps(_hide(value), ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


_ABSENT = object()


def diff(old: Any, new: Any, path: str = "") -> list[str]:
    """``path.key: old -> new`` for every value that differs (objects compared key by key);
    secrets are never shown."""
    if isinstance(old, dict) and isinstance(new, dict):
        lines: list[str] = []
        for key in list(old) + [k for k in new if k not in old]:
            sub = f"{path}.{key}" if path else str(key)
            a, b = old.get(key, _ABSENT), new.get(key, _ABSENT)
            if isinstance(a, dict) and isinstance(b, dict):
                lines += diff(a, b, sub)
            elif a is _ABSENT and isinstance(b, dict) and b:  # a new object, key by key
                lines += diff({}, b, sub)
            elif a != b or type(a) is not type(b):
                lines.append(f"{sub}: {_show(str(key), a)} -> {_show(str(key), b)}")
        return lines
    if old == new:
        return []
    return [f"{path or '(file)'}: {_show('', old)} -> {_show('', new)}"]
