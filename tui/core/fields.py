"""The one registry of LLM settings.

Every setting of OpenHands' ``[llm]`` section that a user sets is described here once: its
type, default, label, help, pane, environment variable, whether it is secret, and how it is
validated. The TOML writer, the env export, the CLI and the forms all read this table.
"""

from __future__ import annotations

import ast
import json
import math
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tui.core.toml_compat import MAX_DEPTH, depth
from tui.core.values import (
    _describe,
    _huge_int,
    _num,
    check_api_version,
    check_model,
    check_safety_settings,
    check_url,
    plain,
    shown,
)

SETTINGS = "Settings"
ADVANCED = "Advanced"

# Advanced pane groups, in display order.
GROUPS = (
    "Model",
    "Retries",
    "Request",
    "Behaviour",
    "Cost",
    "Cloud credentials",
    "Logging",
    "Routing",
    "Environment-only",
    "OpenHands",
)
WHOLE_CONFIG = "OpenHands"  # the group of settings outside [llm]: one value for the whole file

# Retry defaults shown to users are the documented ones; OpenHands releases disagree on their
# built-in values, so whatever writes one retry setting writes all four.
RETRY_FIELDS = ("num_retries", "retry_min_wait", "retry_max_wait", "retry_multiplier")

# OpenHands' load_from_env names a field's variable after its section: [llm] -> LLM_X,
# [security] -> SECURITY_X, [core] -> X.
SECTION_ENV_PREFIX = {"llm": "LLM_", "security": "SECURITY_"}
SECTIONS = ("llm", "core", "security", "condenser")
AGENTS = ("CodeActAgent", "BrowsingAgent", "ReadOnlyAgent", "LocAgent", "VisualBrowsingAgent")
CONDENSER_MIN = 20  # OpenHands accepts 2; its own settings screen asks for at least 20

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


class FieldError(ValueError):
    """A value refused for a field; str() is one sentence: "Label (name): reason".

    ``reason`` is the sentence without the field's title, for a form that shows it next to
    the field's label.
    """

    def __init__(self, message: str, field: Field | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.reason = message.removeprefix(f"{field.title}: ") if field else message


@dataclass(frozen=True)
class Field:
    """One setting."""

    name: str
    type: type  # str, int, float, bool, list or dict: what OpenHands' model accepts
    default: Any  # None means "not set" (OpenHands decides)
    label: str
    help: str
    group: str
    pane: str = ADVANCED
    secret: bool = False
    env_only: bool = False  # never written into [llm]; applied through export/exec
    section: str = "llm"  # the config.toml table: "llm" (per group), or "core", "security",
    # "condenser", which apply to the whole OpenHands config, whatever the group
    env_name: str | None = None  # a provider SDK's own variable, for env-only fields
    exportable: bool = True  # OpenHands can read it from an env var
    minimum: float | None = None
    maximum: float | None = None
    min_exclusive: bool = False
    choices: tuple[str, ...] = ()
    check: Callable[[Any], str | None] | None = None  # extra rule: returns a reason or None
    # (a bool field, "disable" or "hide"): as on OpenHands' screen, off while that one is false
    needs: tuple[str, str] | None = None
    sdk: bool | str = True  # in OpenHands 1.x's SDK ``LLM``: True (same name), its own
    # name there, or False (1.x has no such field)

    @property
    def env(self) -> str:
        """The environment variable OpenHands (or the provider's SDK) reads for this field."""
        if self.env_name:
            return self.env_name
        return SECTION_ENV_PREFIX.get(self.section, "") + self.name.upper()

    @property
    def sdk_name(self) -> str | None:
        """The key of OpenHands 1.x's SDK ``LLM`` for this field, or None if it has none."""
        if self.shared or self.env_only or self.sdk is False:
            return None
        return self.name if self.sdk is True else str(self.sdk)

    @property
    def shared(self) -> bool:
        """True for a field outside [llm]: one value for the whole OpenHands config."""
        return self.section != "llm"

    @property
    def title(self) -> str:
        """How messages name the field: the label users see and the key, "Attempts
        (num_retries)"; the key alone when the label only spells it out."""
        label = re.sub(r"\s*\([^)]*\)$", "", self.label)
        if label.lower().replace(" ", "_") == self.name:
            return self.name
        return f"{label} ({self.name})"

    @property
    def type_name(self) -> str:
        return {str: "text", int: "whole number", float: "number", bool: "true/false",
                list: "list", dict: "table"}[self.type]

    # -- parsing -------------------------------------------------------------------------
    def parse(self, text: str) -> Any:
        """Parse what a user typed (CLI argument or form input) and validate it."""
        raw = text.strip()
        if self.type is str:
            return self.validate(raw)
        if raw == "":
            raise self.error(f"a {self.type_name} is required (use unset to clear it)")
        if self.type is bool:
            low = raw.lower()
            if low in _TRUE:
                return True
            if low in _FALSE:
                return False
            raise self.error(f"{self.shown(raw)} is not true or false")
        if self.type is int:
            try:
                number = int(raw.replace("_", ""))
            except ValueError:
                raise self.error(f"{self.shown(raw)} is not a whole number") from None
            return self.validate(number)
        if self.type is float:
            try:
                value: int | float = int(raw.replace("_", ""))
            except ValueError:
                try:
                    value = float(raw)
                except ValueError:
                    raise self.error(f"{self.shown(raw)} is not a number") from None
            return self.validate(value)
        return self.validate(_parse_structured(self, raw))

    def validate(self, value: Any) -> Any:
        """Check a typed value (from TOML, or parsed); return it, or raise FieldError."""
        problem = self.type_problem(value)
        if problem:
            raise FieldError(problem, self)
        problem = self.rule_problem(value)
        if problem:
            raise FieldError(problem, self)
        return value

    def as_openhands(self, value: Any) -> Any:
        """A well-typed value as OpenHands' pydantic model holds it: ``40`` in a float field
        is ``40.0`` (and is sent as ``40.0``)."""
        if self.type is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        return value

    def type_problem(self, value: Any) -> str | None:
        """Why OpenHands would reject this value's type, or None."""
        ok = {
            str: lambda v: isinstance(v, str),
            bool: lambda v: isinstance(v, bool),
            int: lambda v: isinstance(v, int) and not isinstance(v, bool),
            float: lambda v: isinstance(v, int | float) and not isinstance(v, bool),
            list: lambda v: isinstance(v, list),
            dict: lambda v: isinstance(v, dict),
        }[self.type](value)
        if ok:
            return None
        return f"{self.title}: expected a {self.type_name}, got {self.describe(value)}"

    def rule_problem(self, value: Any) -> str | None:
        """Why this value is out of range or malformed, or None."""
        if depth(value) > MAX_DEPTH:
            return f"{self.title}: nests lists or tables more than {MAX_DEPTH} levels deep"
        huge = _huge_int(value)
        if huge is not None:
            return f"{self.title}: {self.shown(huge)} does not fit in TOML's 64-bit integers"
        got = self.shown(value)
        if isinstance(value, float) and not math.isfinite(value):
            return f"{self.title}: {got} is not a finite number"
        if self.minimum is not None and isinstance(value, int | float):
            if self.min_exclusive and value <= self.minimum:
                return f"{self.title}: must be greater than {_num(self.minimum)} (got {got})"
            if value < self.minimum:
                return f"{self.title}: must be at least {_num(self.minimum)} (got {got})"
        if self.maximum is not None and isinstance(value, int | float) and value > self.maximum:
            return f"{self.title}: must be at most {_num(self.maximum)} (got {got})"
        if self.choices and value not in self.choices:
            return f"{self.title}: must be one of {', '.join(self.choices)} (got {got})"
        if self.check:
            reason = self.check(value)
            if reason:
                return f"{self.title}: {'its value is not valid' if self.secret else reason}"
        return None

    def error(self, reason: str) -> FieldError:
        """The error refusing a value of this field for ``reason``."""
        return FieldError(f"{self.title}: {reason}", self)

    def shown(self, value: Any) -> str:
        """A value as an error may quote it: a secret never, a long value cut short."""
        if self.secret:
            return "(the value is hidden)"
        return shown(value)

    def describe(self, value: Any) -> str:
        """Kind and value, for "expected X, got ..." (a secret's value is never quoted)."""
        return _describe(value, quote=not self.secret)

    # -- rendering -----------------------------------------------------------------------
    def to_env(self, value: Any) -> str:
        """The value as OpenHands parses it from an environment variable."""
        if self.type is bool:
            return "true" if value else "false"
        if self.type is dict:
            return repr(plain(value))  # OpenHands reads dicts with ast.literal_eval
        return str(value)

    def to_text(self, value: Any) -> str:
        """The value as a user would type it back (CLI output, form input)."""
        if value is None:
            return ""
        if self.type is bool:
            return "true" if value else "false"
        if self.type in (list, dict):
            try:
                return json.dumps(plain(value))
            except (TypeError, ValueError):  # dates and times: shown as TOML
                from tui.core.toml_scan import _render_value

                return _render_value(plain(value))
        return str(value)

    def from_env(self, text: str) -> Any:
        """Read an ``LLM_*`` variable the way OpenHands does (booleans: only true/1)."""
        if self.type is bool:
            return text.strip().lower() in ("true", "1")
        if self.type is int:
            try:
                return int(text)
            except ValueError:
                raise FieldError(f"{self.env}={self.shown(text)} is not a whole number"
                                 ) from None
        if self.type is float:
            try:
                return float(text)
            except ValueError:
                raise FieldError(f"{self.env}={self.shown(text)} is not a number") from None
        if self.type is dict:
            return _parse_literal(self, text)
        if self.type is list:
            return _parse_structured(self, text)
        return text


def _parse_literal(field: Field, text: str) -> dict:
    """A dict variable as OpenHands reads it: ``ast.literal_eval``, a Python literal."""
    try:
        value = ast.literal_eval(text)
    except SyntaxError:
        raise FieldError(f"{field.env}={field.shown(text)} is not a Python literal such as "
                         f"{{'top_p': 0.9}} (a syntax error, which stops OpenHands 0.62 at "
                         "startup)") from None
    except (ValueError, TypeError, MemoryError, RecursionError):
        hint = (" (Python writes True, False and None)"
                if re.search(r"\b(true|false|null)\b", text) else "")
        raise FieldError(f"{field.env}={field.shown(text)} is not a Python literal such as "
                         f"{{'top_p': 0.9}}, which is how OpenHands reads it{hint}") from None
    if not isinstance(value, dict):
        raise FieldError(f"{field.env}: expected a dict such as {{'top_p': 0.9}}, got "
                         f"{field.describe(value)}")
    return value


def _parse_structured(field: Field, raw: str) -> Any:
    """Parse a list/table typed as JSON or as a TOML inline value."""
    try:
        value = json.loads(raw)
    except RecursionError:
        raise field.error("nested too deeply") from None
    except ValueError:
        try:
            value = tomllib.loads("v = " + raw)["v"]
        except RecursionError:
            raise field.error("nested too deeply") from None
        except tomllib.TOMLDecodeError:
            raise field.error(f"not valid JSON or TOML: {field.shown(raw)}") from None
    if not isinstance(value, field.type):
        raise field.error(f"expected a {field.type_name}, got {field.describe(value)}")
    return value


def _f(name: str, type_: type, default: Any, label: str, help_: str, group: str,
       **kw: Any) -> Field:
    return Field(name, type_, default, label, help_, group, **kw)


FIELDS: tuple[Field, ...] = (
    # Settings pane (OpenHands' basic screen). The provider is part of the model string.
    _f("model", str, None, "LLM Model",
       "LiteLLM model string: provider/model.",
       "Model", pane=SETTINGS, check=check_model),
    _f("api_key", str, None, "API Key",
       "Key for the provider; kept in the OS keyring, never written to config.toml.",
       "Model", pane=SETTINGS, secret=True),
    # Advanced: model and endpoint
    _f("base_url", str, None, "Base URL",
       "API base URL: local servers (http://host:8000/v1), proxies, Azure endpoints.",
       "Model", check=check_url),
    _f("api_version", str, None, "API Version",
       "API version; required for Azure (e.g. 2024-12-01-preview).", "Model",
       check=check_api_version),
    _f("custom_llm_provider", str, None, "Custom LLM provider",
       "Force LiteLLM's provider (e.g. openai for an OpenAI-compatible server).", "Model",
       sdk=False),
    _f("ollama_base_url", str, None, "Ollama base URL",
       "Base URL of an Ollama server (e.g. http://localhost:11434).", "Model", check=check_url),
    _f("custom_tokenizer", str, None, "Custom tokenizer",
       "Tokenizer used for token counting (Hugging Face name).", "Model"),
    # Retries
    _f("num_retries", int, 4, "Attempts",
       "Total number of attempts on rate limits, timeouts and server errors (1 = no retry).",
       "Retries", minimum=1, maximum=100),
    _f("retry_min_wait", int, 5, "Minimum wait (s)",
       "Shortest wait before a retry, in seconds.", "Retries", minimum=0, maximum=3600),
    _f("retry_max_wait", int, 30, "Maximum wait (s)",
       "Longest wait before a retry, in seconds.", "Retries", minimum=0, maximum=3600),
    _f("retry_multiplier", float, 2, "Backoff multiplier",
       "Wait before retry n is multiplier * 2^(n-1) seconds, within the min and max.",
       "Retries", minimum=0, min_exclusive=True, maximum=1000),
    # Request
    _f("timeout", int, None, "Timeout (s)", "Seconds to wait for a response.", "Request",
       minimum=1, maximum=86400),
    _f("temperature", float, 0.0, "Temperature", "Sampling temperature (0 to 2).", "Request",
       minimum=0, maximum=2),
    _f("top_p", float, 1.0, "Top p", "Nucleus sampling: probability mass kept (0 to 1).",
       "Request", minimum=0, maximum=1),
    _f("top_k", float, None, "Top k", "Sample from the k most likely tokens.", "Request",
       minimum=0),
    _f("max_input_tokens", int, None, "Max input tokens", "Largest prompt sent, in tokens.",
       "Request", minimum=1),
    _f("max_output_tokens", int, None, "Max output tokens",
       "Largest answer requested, in tokens.", "Request", minimum=1),
    _f("max_message_chars", int, 30000, "Max message chars",
       "Observations longer than this many characters are truncated.", "Request", minimum=1),
    _f("reasoning_effort", str, None, "Reasoning effort",
       "Effort of reasoning models: low, medium or high.", "Request",
       choices=("low", "medium", "high", "none")),
    _f("seed", int, None, "Seed", "Sampling seed, for repeatable answers where supported.",
       "Request"),
    _f("safety_settings", list, None, "Safety settings",
       "Safety settings for Gemini and Mistral: a list of {category, threshold} tables.",
       "Request", exportable=False, check=check_safety_settings, sdk=False),
    _f("completion_kwargs", dict, None, "Completion kwargs",
       "Extra keyword arguments passed to litellm.completion.", "Request", sdk=False),
    # Behaviour
    _f("drop_params", bool, True, "Drop unsupported",
       "Drop parameters the model does not support instead of failing.", "Behaviour"),
    _f("modify_params", bool, True, "Modify params",
       "Let LiteLLM fix requests (e.g. add a message when one is empty).", "Behaviour"),
    _f("disable_vision", bool, None, "Disable vision",
       "Do not send images to a vision model (saves cost).", "Behaviour"),
    _f("disable_stop_word", bool, False, "Disable stop words",
       "Do not send stop words (for models that reject them).", "Behaviour"),
    _f("caching_prompt", bool, True, "Prompt caching",
       "Use the provider's prompt caching when supported.", "Behaviour"),
    _f("native_tool_calling", bool, None, "Native tool calling",
       "Use the model's own function calling (unset: OpenHands decides per model).",
       "Behaviour"),
    # Cost
    _f("input_cost_per_token", float, None, "Input cost per token",
       "USD per input token, for models LiteLLM does not price.", "Cost", minimum=0),
    _f("output_cost_per_token", float, None, "Output cost per token",
       "USD per output token, for models LiteLLM does not price.", "Cost", minimum=0),
    _f("max_budget_per_task", float, None, "Budget per task (USD)",
       "OpenHands' spending cap per task, in [core] (0 or unset: no limit).", "Cost",
       minimum=0, section="core"),
    # Cloud credentials
    _f("aws_access_key_id", str, None, "AWS access key ID", "For Bedrock models.",
       "Cloud credentials", secret=True),
    _f("aws_secret_access_key", str, None, "AWS secret access key", "For Bedrock models.",
       "Cloud credentials", secret=True),
    _f("aws_region_name", str, None, "AWS region", "For Bedrock models (e.g. us-east-1).",
       "Cloud credentials"),
    _f("vertex_project", str, None, "VertexAI project", "Google Cloud project of VertexAI.",
       "Cloud credentials", env_only=True, env_name="VERTEXAI_PROJECT"),
    _f("vertex_location", str, None, "VertexAI location",
       "Region of VertexAI (e.g. us-central1).", "Cloud credentials", env_only=True,
       env_name="VERTEXAI_LOCATION"),
    _f("vertex_credentials", str, None, "Vertex credentials",
       "Path of the service-account JSON file.", "Cloud credentials", env_only=True,
       env_name="GOOGLE_APPLICATION_CREDENTIALS"),
    # Logging
    _f("log_completions", bool, False, "Log completions",
       "Write every completion to the log folder.", "Logging"),
    _f("log_completions_folder", str, None, "Completions folder",
       "Folder for logged completions (default: OpenHands' logs/completions).", "Logging"),
    # Routing and agent helpers
    _f("openrouter_site_url", str, None, "OpenRouter site URL",
       "Site URL reported to OpenRouter.", "Routing", check=check_url),
    _f("openrouter_app_name", str, None, "OpenRouter app name",
       "App name reported to OpenRouter.", "Routing"),
    _f("for_routing", bool, False, "For routing",
       "This group is the secondary model of model routing.", "Routing", sdk=False),
    _f("correct_num", int, 5, "Editor corrections",
       "Attempts of the LLM draft editor to fix an edit.", "Routing", minimum=0, sdk=False),
    # Not per group: one value in [core], [security] or [condenser] for the whole config,
    # in the order of OpenHands' own Advanced settings screen.
    _f("search_api_key", str, None, "Search API Key",
       "Tavily key for web search (tvly-...); kept in the OS keyring, in [core] only with "
       "--insecure-storage.", "OpenHands", secret=True, section="core"),
    _f("default_agent", str, "CodeActAgent", "Agent", "The agent OpenHands runs.",
       "OpenHands", section="core", choices=AGENTS),
    _f("condenser_max_size", int, None, "Condenser max size",
       f"Memory condenser max history size: events kept before the history is summarized "
       f"(at least {CONDENSER_MIN}, as on OpenHands' screen); written as an llm [condenser].",
       "OpenHands",
       section="condenser", exportable=False, minimum=CONDENSER_MIN, maximum=2**31,
       needs=("enable_default_condenser", "disable")),
    _f("enable_default_condenser", bool, True, "Memory condensation",
       "Enable memory condensation: summarize old history as the conversation grows.",
       "OpenHands", section="core"),
    _f("confirmation_mode", bool, False, "Confirmation mode",
       "Enable confirmation mode: ask before running each action.", "OpenHands",
       section="security"),
    _f("security_analyzer", str, None, "Security analyzer",
       "Rates actions in confirmation mode: llm (LLM analyzer), invariant (rule-based), "
       "unset (none).",
       "OpenHands", section="security", choices=("llm", "invariant"),
       needs=("confirmation_mode", "hide")),
    # Read by OpenHands from the environment only; never written into [llm].
    _f("embedding_model", str, None, "Embedding model",
       "Embedding model (env only: LLM_EMBEDDING_MODEL).", "Environment-only", env_only=True),
    _f("embedding_deployment_name", str, None, "Embedding deployment",
       "Azure deployment of the embedding model (env only).", "Environment-only",
       env_only=True),
)

BY_NAME: dict[str, Field] = {f.name: f for f in FIELDS}
SECRET_FIELDS = tuple(f.name for f in FIELDS if f.secret)
TOML_FIELDS = tuple(f.name for f in FIELDS if not f.env_only and f.section == "llm")


def get(name: str) -> Field:
    """The field called ``name``; FieldError with close matches if there is none."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise FieldError(unknown_field_message(name)) from None


def suggest(name: str, names: tuple[str, ...] | None = None) -> str | None:
    """The closest known field name, for "did you mean"."""
    import difflib

    matches = difflib.get_close_matches(name.lower(), names or tuple(BY_NAME), n=1, cutoff=0.6)
    return matches[0] if matches else None


def unknown_field_message(name: str) -> str:
    hint = suggest(name)
    extra = f"; did you mean {hint}?" if hint else " (llm-settings show lists them)"
    return f"unknown field {name!r}{extra}"


def retry_schedule(attempts: int, min_wait: float, max_wait: float, multiplier: float
                   ) -> list[float]:
    """Seconds waited before each retry, the way OpenHands' tenacity policy computes them."""
    return [max(min_wait, min(multiplier * 2 ** (n - 1), max_wait)) for n in
            range(1, max(attempts, 1))]


def non_default(values: Mapping[str, Any], exclude: tuple[str, ...] = (), most: int = 4
                ) -> list[str]:
    """Labels of the fields whose value differs from the default, in registry order (secrets
    left out: their value is not known here); past ``most``, one "N more"."""
    names = [f.name for f in FIELDS if not f.secret and f.name not in exclude
             and values.get(f.name) is not None and values.get(f.name) != f.default]
    words = [" ".join(w.lower() if w[1:].islower() else w for w in BY_NAME[n].label.split())
             for n in names]
    return words[:most] + ([f"{len(words) - most} more"] if len(words) > most else [])
