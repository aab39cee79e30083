"""How OpenHands 0.62 reads config.toml, in plain code.

Mirrors ``openhands/core/config/utils.py`` ``load_from_toml`` and the pydantic models it fills
(``llm_config.py``, ``agent_config.py``, ``security_config.py``, ``sandbox_config.py``,
``condenser_config.py``, ``mcp_config.py``, ...): the file is parsed with the ``toml`` package,
each section is validated in pydantic's lax mode (``"5"`` and ``5.0`` are accepted as the
whole number 5), and depending on the section a problem either makes OpenHands ignore that
section (a warning in its log) or stop with an exception. ``check`` reports each problem as an
``error`` (OpenHands fails or ignores something) or a ``warning`` (it reads the file, but
likely not the way the user meant). The [llm] fields come from the registry (tui/core/fields.py).
"""

from __future__ import annotations

import math
import re
import shlex
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlparse

import toml

from tui.core import fields as F
from tui.core import values as VAL

Add = Callable[[str, str], None]  # (level, message)

STOPS = "OpenHands would stop with an error"
_INT64 = 2**63


# -- pydantic v2 lax mode ----------------------------------------------------------------
def lax_int(v: Any) -> int | None:
    """``v`` as pydantic's lax ``int`` reads it, or None if it is refused."""
    if isinstance(v, bool | int):
        return int(v)
    if isinstance(v, float):
        return int(v) if math.isfinite(v) and v.is_integer() and abs(v) < _INT64 else None
    if isinstance(v, str):
        m = re.fullmatch(r"[+-]?\d+(?:_\d+)*(?:\.0+)?", v.strip(), re.ASCII)
        return int(m.group(0).split(".")[0].replace("_", "")) if m else None
    return None


def lax_float(v: Any) -> float | None:
    if isinstance(v, bool | int | float):
        return float(v)
    if isinstance(v, str) and v.isascii():
        try:
            return float(v.strip())
        except ValueError:
            return None
    return None


_BOOL_TEXT = {"true": True, "t": True, "yes": True, "y": True, "on": True, "1": True,
              "false": False, "f": False, "no": False, "n": False, "off": False, "0": False}


def lax_bool(v: Any) -> bool | None:
    if isinstance(v, bool):
        return v
    if isinstance(v, int | float) and v in (0, 1):
        return bool(v)
    if isinstance(v, str):
        return _BOOL_TEXT.get(v.lower())
    return None


def _is_str_list(v: Any) -> bool:
    return isinstance(v, list) and all(isinstance(x, str) for x in v)


def _is_str_dict(v: Any) -> bool:
    return isinstance(v, dict) and all(isinstance(x, str) for x in v.values())


# A kind is a type name, optionally with a lower bound: "int>=2".
_CHECKS: dict[str, Callable[[Any], bool]] = {
    "str": lambda v: isinstance(v, str),
    "int": lambda v: lax_int(v) is not None,
    "float": lambda v: lax_float(v) is not None,
    "bool": lambda v: lax_bool(v) is not None,
    "dict": lambda v: isinstance(v, dict),
    "list[str]": _is_str_list,
    "dict[str,str]": _is_str_dict,
    "list[dict[str,str]]": lambda v: isinstance(v, list) and all(map(_is_str_dict, v)),
    "list": lambda v: isinstance(v, list),
}
_NAMES = {"str": "text", "int": "whole number", "float": "number", "bool": "true/false",
          "dict": "table", "list[str]": "list of text", "dict[str,str]": "table of text",
          "list[dict[str,str]]": "list of tables of text", "list": "list"}


_SECRET_NAME = re.compile(r"key|secret|token|password", re.I)


def value_problem(name: str, kind: str, v: Any) -> str | None:
    """Why pydantic (lax mode) refuses ``v`` for a field of this kind, or None.

    The value is quoted unless the key names a secret (``api_key``, ``aws_secret_…``).
    """
    base, _, bound = kind.partition(">=")
    quote = not _SECRET_NAME.search(name)
    if not _CHECKS[base](v):
        return f"{name}: expected a {_NAMES[base]}, got {VAL._describe(v, quote=quote)}"
    if bound and lax_int(v) < int(bound):  # type: ignore[operator]
        return f"{name}: must be at least {bound}" + (f" (got {VAL.shown(v)})" if quote else "")
    return None


def model_problems(spec: Mapping[str, str], data: Mapping[str, Any], forbid: bool = True,
                   required: tuple[str, ...] = ()) -> list[str]:
    """What makes ``Model.model_validate(data)`` fail: unknown keys, bad values, missing."""
    out = []
    for key, value in data.items():
        if key not in spec:
            if forbid:
                hint = F.suggest(key, tuple(spec))
                out.append(f"unknown key {key!r}" + (f" (did you mean {hint}?)" if hint else ""))
            continue
        problem = value_problem(key, spec[key], value)
        if problem:
            out.append(problem)
    out += [f"{key} is required" for key in required if key not in data]
    return out


# -- the models' fields ------------------------------------------------------------------
_LLM_KIND = {str: "str", int: "int", float: "float", bool: "bool", dict: "dict",
             list: "list[dict[str,str]]"}  # safety_settings, the one list field
LLM = {f.name: _LLM_KIND[f.type] for f in F.FIELDS if not f.env_only and f.section == "llm"}
ENV_ONLY = {f.name for f in F.FIELDS if f.env_only}

_AGENT_BOOLS = ("cli_mode", "enable_browsing", "enable_llm_editor", "enable_editor",
                "enable_jupyter", "enable_cmd", "enable_think", "enable_finish",
                "enable_condensation_request", "enable_prompt_extensions", "enable_mcp",
                "enable_history_truncation", "enable_som_visual_browsing", "enable_plan_mode")
AGENT = {**dict.fromkeys(_AGENT_BOOLS, "bool"), "llm_config": "str", "classpath": "str",
         "system_prompt_filename": "str", "disabled_microagents": "list[str]",
         "runtime": "str", "extended": "dict", "condenser": "dict", "model_routing": "dict"}
# SecurityConfig's two fields are both settings of the registry.
SECURITY = {f.name: _LLM_KIND[f.type] for f in F.FIELDS if f.section == "security"}
SANDBOX = {
    **dict.fromkeys(("remote_runtime_api_url", "local_runtime_url", "api_key",
                     "base_container_image", "runtime_container_image", "remote_runtime_class",
                     "runtime_binding_address", "runtime_extra_deps", "browsergym_eval_env",
                     "platform", "selected_repo", "volumes", "cuda_visible_devices"), "str"),
    **dict.fromkeys(("user_id", "timeout", "remote_runtime_init_timeout",
                     "remote_runtime_api_timeout", "close_delay",
                     "remote_runtime_resource_factor", "vscode_port"), "int"),
    **dict.fromkeys(("keep_runtime_alive", "pause_closed_runtimes", "rm_all_containers",
                     "remote_runtime_enable_retries", "enable_auto_lint", "use_host_network",
                     "initialize_plugins", "force_rebuild_runtime", "enable_gpu"), "bool"),
    **dict.fromkeys(("additional_networks", "runtime_extra_build_args", "trusted_dirs"),
                    "list[str]"),
    "runtime_startup_env_vars": "dict[str,str]", "docker_runtime_kwargs": "dict",
}
KUBERNETES = {
    **dict.fromkeys(("namespace", "ingress_domain", "pvc_storage_size", "pvc_storage_class",
                     "resource_cpu_request", "resource_memory_request",
                     "resource_memory_limit", "image_pull_secret", "ingress_tls_secret",
                     "node_selector_key", "node_selector_val", "tolerations_yaml"), "str"),
    "privileged": "bool",
}
CORE = frozenset((
    "agents", "cache_dir", "cli", "cli_multiline_input", "client_wait_timeout",
    "conversation_max_age_seconds", "debug", "default_agent", "disable_color",
    "enable_browser", "enable_default_condenser", "extended", "file_store", "file_store_path",
    "file_store_web_hook_batch", "file_store_web_hook_headers", "file_store_web_hook_url",
    "file_uploads_allowed_extensions", "file_uploads_max_file_size_mb",
    "file_uploads_restrict_file_types", "git_user_email", "git_user_name",
    "init_git_in_empty_workspace", "jwt_secret", "kubernetes", "llms", "max_budget_per_task",
    "max_concurrent_conversations", "max_iterations", "mcp", "mcp_host",
    "replay_trajectory_path", "run_as_openhands", "runtime", "sandbox",
    "save_screenshots_in_trajectory", "save_trajectory_path", "search_api_key", "security",
    "workspace_base", "workspace_mount_path", "workspace_mount_path_in_sandbox",
    "workspace_mount_rewrite"))
_WINDOW = {"keep_first": "int>=0", "max_size": "int>=2"}
CONDENSERS: dict[str, dict[str, str]] = {
    "noop": {},
    "observation_masking": {"attention_window": "int>=1"},
    "browser_output_masking": {"attention_window": "int>=1"},
    "recent": {"keep_first": "int>=0", "max_events": "int>=1"},
    "llm": {**_WINDOW, "llm_config": "llm", "max_event_length": "int"},
    "amortized": _WINDOW,
    "llm_attention": {**_WINDOW, "llm_config": "llm"},
    "structured": {**_WINDOW, "llm_config": "llm", "max_event_length": "int"},
    "pipeline": {"condensers": "list"},
    "conversation_window": {},
}
SECTIONS = ("core", "extended", "agent", "llm", "security", "sandbox", "condenser", "mcp",
            "kubernetes", "model_routing")


# -- reading the file --------------------------------------------------------------------
def parse(raw: bytes, add: Add) -> dict[str, Any] | None:
    """The file as OpenHands' ``toml.load`` reads it; None (with an error) if it cannot."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        add("error", f"the file is not UTF-8 text (bad byte at offset {e.start}); {STOPS} "
                     "(UnicodeDecodeError)")
        return None
    try:
        return toml.loads(text)
    except RecursionError:  # load_from_toml catches only TomlDecodeError
        add("error", f"values nest too deeply for the toml parser of OpenHands; {STOPS} "
                     "(RecursionError)")
        return None
    except toml.TomlDecodeError as e:
        if text.startswith("\ufeff"):
            why = ("it starts with a UTF-8 byte order mark, which the toml parser of "
                   "OpenHands rejects (save it as UTF-8 without BOM)")
        elif "homogeneous" in str(e):
            why = (f"an array mixes value types at line {e.lineno}, which the toml 0.10 parser "
                   "of OpenHands rejects (TOML 1.0 allows it)")
        else:
            why = f"the toml parser of OpenHands fails at line {e.lineno}: {e.msg}"
        add("error", f"{why}; OpenHands would ignore the whole file")
        return None


def check(data: Mapping[str, Any], add: Add) -> None:
    """Every problem OpenHands' ``load_from_toml`` would meet in the parsed file."""
    if "core" in data:
        _check_core(data["core"], add)
    if "agent" in data:
        _check_split("agent", data["agent"], AGENT, add)
    if "llm" in data:
        _check_split("llm", data["llm"], LLM, add)
    for name, spec in (("security", SECURITY), ("sandbox", SANDBOX),
                       ("kubernetes", KUBERNETES)):
        if name in data:
            _check_strict(name, data[name], spec, add)
    if "model_routing" in data:
        _check_model_routing(data["model_routing"], add)
    if "mcp" in data:
        _check_mcp(data["mcp"], add)
    if "condenser" in data:
        _check_condenser(data["condenser"], data.get("llm"), add)
    if "extended" in data and not isinstance(data["extended"], dict):
        add("error", f"extended is {VAL._describe(data['extended'])}, not a table; "
                     "OpenHands would ignore [extended]")
    for key in data:
        if key.lower() not in SECTIONS:
            add("warning", f"[{key}] is not an OpenHands section; OpenHands ignores it")
        elif key not in SECTIONS:
            add("warning", f"[{key}]: OpenHands reads only [{key.lower()}] (lower case) and "
                           f"silently ignores [{key}]")


def _not_table(name: str, value: Any) -> str:
    shape = "an array of tables" if isinstance(value, list) and value and all(
        isinstance(x, dict) for x in value) else VAL._describe(value)
    return f"{name} is {shape}, not a table"


def _check_core(core: Any, add: Add) -> None:
    if not isinstance(core, dict):
        add("error", f"{_not_table('core', core)}; {STOPS}")
        return
    for key in core:
        if key not in CORE:
            hint = F.suggest(key, tuple(CORE))
            add("warning", f"[core]: unknown key {key!r}"
                + (f" (did you mean {hint}?)" if hint else "") + "; OpenHands ignores it")


def _llm_problem_text(key: str, problem: str) -> str:
    if key in ENV_ONLY and problem.startswith("unknown key"):
        return (f"{key} is not accepted there by current OpenHands (remove it and run "
                f"'llm-settings set {key} ...': it is kept in [extended.llm_settings] and "
                "applied through export/exec)")
    return problem


def _check_split(name: str, section: Any, spec: Mapping[str, str], add: Add) -> None:
    """[llm] and [agent]: own keys, then every sub-table as a group that inherits them."""
    if not isinstance(section, dict):
        add("error", f"{_not_table(name, section)}; {STOPS}")
        return
    base = {k: v for k, v in section.items() if not isinstance(v, dict)}
    groups = {k: v for k, v in section.items() if isinstance(v, dict)}
    for key, value in base.items():
        problem = next(iter(model_problems(spec, {key: value})), None)
        if problem:
            add("error", f"[{name}]: {_llm_problem_text(key, problem)}; OpenHands would "
                f"ignore every key of [{name}] and use its defaults (its [{name}.NAME] "
                "groups inherit those defaults)")
    for group, overrides in groups.items():
        for key, value in overrides.items():
            problem = next(iter(model_problems(spec, {key: value})), None)
            if name == "agent" and isinstance(value, dict) and key == "condenser":
                problem = next(iter(condenser_problems(value, nested=True)), None)
            elif name == "agent" and isinstance(value, dict) and key == "model_routing":
                problem = next(iter(model_routing_problems(value)), None)
            if problem:
                add("error", f"[{name}.{group}]: {_llm_problem_text(key, problem)}; "
                    f"OpenHands would skip the group [{name}.{group}]")
        if group in spec:
            add("warning", f"[{name}.{group}] is a group named {group!r}, not the {group} "
                f"setting; set {group} = ... inside [{name}] or a group instead")


def _check_strict(name: str, section: Any, spec: Mapping[str, str], add: Add) -> None:
    """[security], [sandbox], [kubernetes]: any problem raises from load_from_toml."""
    if not isinstance(section, dict):
        add("error", f"{_not_table(name, section)}; {STOPS}")
        return
    for problem in model_problems(spec, section):
        add("error", f"[{name}]: {problem}; {STOPS}")


def model_routing_problems(section: dict) -> list[str]:
    """What makes ``ModelRoutingConfig.model_validate(section)`` fail."""
    problems = model_problems({"router_name": "str", "llms_for_routing": "dict"}, section)
    llms = section.get("llms_for_routing")
    for name, llm in (llms if isinstance(llms, dict) else {}).items():
        if not isinstance(llm, dict):
            problems.append(f"llms_for_routing.{name}: expected a table")
        else:
            problems += [f"llms_for_routing.{name}: {p}" for p in model_problems(LLM, llm)]
    return problems


def _check_model_routing(section: Any, add: Add) -> None:
    if not isinstance(section, dict):
        add("error", f"{_not_table('model_routing', section)}; {STOPS}")
        return
    for problem in model_routing_problems(section):
        add("error", f"[model_routing]: {problem}; {STOPS}")


def _mcp_url(v: Any) -> str | None:
    if not isinstance(v, str):
        return f"expected a URL, got {VAL._describe(v)}"
    parts = urlparse(v.strip())
    if not v.strip() or parts.scheme not in ("http", "https", "ws", "wss") or not parts.netloc:
        return f"{v!r} is not an http(s) or ws(s) URL with a host"
    return None


def _mcp_server(kind: str, server: Any) -> str | None:
    """Why one MCP server entry fails, or None."""
    if kind != "stdio_servers" and isinstance(server, str):
        server = {"url": server}
    if not isinstance(server, dict):
        return f"an entry is {VAL._describe(server)}, not a table"
    if kind == "stdio_servers":
        name, command = server.get("name"), server.get("command")
        if not isinstance(name, str) or not re.fullmatch(r"[a-zA-Z0-9_-]+", name.strip()):
            return f"name {name!r} must be letters, digits, - and _"
        if not isinstance(command, str) or not command.strip() or " " in command.strip():
            return f"command {command!r} must be one executable (arguments go in args)"
        args, env = server.get("args", []), server.get("env", {})
        if isinstance(args, str):
            try:
                shlex.split(args)
            except ValueError as e:
                return f"args: {e}"
        elif not _is_str_list(args or []):
            return "args must be a list of text"
        if not isinstance(env, str) and not _is_str_dict(env or {}):
            return "env must be a table of text"
        return None
    problem = _mcp_url(server.get("url"))
    if problem:
        return f"url: {problem}"
    if server.get("api_key") is not None and not isinstance(server["api_key"], str):
        return "api_key must be text"
    if kind == "shttp_servers" and "timeout" in server:
        t = lax_int(server["timeout"])
        if t is None or not 0 < t <= 3600:
            return f"timeout {server['timeout']!r} must be a whole number from 1 to 3600"
    return None


def _check_mcp(section: Any, add: Add) -> None:
    if not isinstance(section, dict):
        if isinstance(section, str | list):
            add("error", f"{_not_table('mcp', section)}; {STOPS}")
        else:
            add("error", f"{_not_table('mcp', section)}; OpenHands would ignore [mcp]")
        return
    kinds = ("sse_servers", "stdio_servers", "shttp_servers")
    problems = [p for p in model_problems(dict.fromkeys(kinds, "str"), section)
                if p.startswith("unknown key")]
    urls = []
    for kind in kinds:
        servers = section.get(kind, [])
        if not isinstance(servers, list):
            problems.append(f"{kind} must be a list")
            continue
        for server in servers:
            problem = _mcp_server(kind, server)
            if problem:
                problems.append(f"{kind}: {problem}")
            elif kind != "stdio_servers":
                urls.append(server if isinstance(server, str) else server["url"])
    if len(urls) != len(set(urls)):
        problems.append("the same server URL is listed twice")
    for problem in problems:
        add("error", f"[mcp]: {problem}; {STOPS}")


def condenser_problems(section: dict, llm_section: Any = None, nested: bool = False
                       ) -> list[str]:
    """What makes a condenser table fail to validate.

    At the top, ``[condenser]`` defaults to ``noop`` and ``llm_config = "NAME"`` names an
    [llm.NAME] group (an unknown name falls back to [llm]; with no [llm] section at all there
    is nothing to fall back to). ``nested``: a member of pydantic's union of condenser models
    (pipeline members, [agent.NAME.condenser]): an untyped table matches a lenient member, and
    ``llm_config`` must be a table.
    """
    if nested and "type" not in section:
        return []
    kind = section.get("type", "noop")
    if not isinstance(kind, str) or kind not in CONDENSERS:
        return [f"type {kind!r} is not one of {', '.join(CONDENSERS)}"]
    spec = CONDENSERS[kind]
    data = {k: v for k, v in section.items() if k != "llm_config"}
    problems = model_problems({**spec, "type": "str"}, data,
                              forbid=kind != "browser_output_masking")
    llm = section.get("llm_config")
    by_name = not nested and kind in ("llm", "llm_attention") and isinstance(llm, str)
    if by_name and llm_section is None:
        problems.append(f"llm_config = {llm!r} but there is no [llm] section to read it from")
    elif spec.get("llm_config") and not by_name:
        if llm is None:
            problems.append("llm_config is required (the name of an [llm.NAME] group)")
        elif not isinstance(llm, dict):
            problems.append(f"llm_config: expected a group name or a table, got "
                            f"{VAL._describe(llm)}")
        else:
            problems += [f"llm_config: {p}" for p in model_problems(LLM, llm)]
    elif "llm_config" in section and not spec.get("llm_config") \
            and kind != "browser_output_masking":
        problems.append("unknown key 'llm_config'")
    for member in section.get("condensers", []) if kind == "pipeline" else []:
        if not isinstance(member, dict):
            problems.append(f"condensers: an entry is {VAL._describe(member)}, not a table")
        else:
            problems += [f"condensers: {p}" for p in condenser_problems(member, nested=True)]
    return problems


def _check_condenser(section: Any, llm_section: Any, add: Add) -> None:
    """A problem makes OpenHands use the noop condenser (nothing is condensed)."""
    if not isinstance(section, dict):
        add("error", f"{_not_table('condenser', section)}; {STOPS}")
        return
    llm = section.get("llm_config")
    if section.get("type") in ("llm", "llm_attention") and isinstance(llm, str) \
            and isinstance(llm_section, dict) and llm != "llm" \
            and not isinstance(llm_section.get(llm), dict):
        add("warning", f"[condenser]: llm_config = {llm!r} names no [llm.{llm}] group; "
                       "OpenHands falls back to [llm]")
    for problem in condenser_problems(section, llm_section):
        add("error", f"[condenser]: {problem}; OpenHands would ignore [condenser] and "
                     "condense nothing (noop)")
