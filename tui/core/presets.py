"""The OpenHands provider guides (:class:`Preset`): switching provider, who bills, settings."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tui.core.catalog import _prefix_for, chat_models, display_name, find, provider_of

LOCAL_WARNING = ("Local and open models are often too weak for OpenHands: expect long waits, "
                 "poor answers and malformed tool calls.")


class PresetError(ValueError):
    """An answer a preset cannot use; str() is one sentence."""


@dataclass(frozen=True)
class PresetField:
    """An extra value a provider guide asks for."""

    name: str  # an [llm] field (base_url, api_version) or, when env is True, an env variable
    label: str
    help: str
    default: str | None = None
    required: bool = True
    env: bool = False  # an environment variable read by the provider's SDK, not a setting
    placeholder: str = ""


@dataclass(frozen=True)
class Preset:
    """One OpenHands provider guide: how to fill in the settings for that provider."""

    id: str  # azure, gemini, vertex_ai, ..., sglang, vllm, ollama, lm_studio
    name: str  # display name
    prefix: str  # model prefix, e.g. "azure/"
    guide: str  # one line
    model_label: str = "Model"
    model_help: str = ""
    model_example: str = ""
    fields: tuple[PresetField, ...] = ()
    needs_key: bool = True  # some key value must be sent
    key_env: str | None = None  # the variable the provider's own tools read, e.g. GROQ_API_KEY
    key_help: str = ""
    key_default: str | None = None  # used when the user leaves the key empty (local servers)
    local: bool = False
    models_from: str = "catalog"  # "catalog" (chat_models(catalog_provider)) or "server"
    catalog_provider: str | None = None
    custom_llm_provider: str | None = None
    warning: str = ""

    @property
    def base_url_default(self) -> str | None:
        return next((f.default for f in self.fields if f.name == "base_url"), None)

    def model_id(self, name: str) -> str:
        """The model string for a model name (``deployment`` -> ``azure/deployment``).

        Cloud presets leave an already prefixed id alone; local servers always prefix, as
        their names may themselves start with ``openai/``.
        """
        name = name.strip()
        if not self.local and name.startswith(self.prefix):
            return name
        return self.prefix + name


def _local(pid: str, name: str, port: int, serve: str) -> Preset:
    url = f"http://localhost:{port}/v1"
    return Preset(
        id=pid, name=name, prefix="openai/", local=True, models_from="server",
        guide=(f"{serve}; the model is openai/<name the server lists>, base URL {url} "
               f"(OpenAI-compatible)."),
        model_help="The model name as the server lists it (Fetch models asks the server).",
        model_example="Qwen/Qwen2.5-Coder-32B-Instruct",
        fields=(PresetField("base_url", "Base URL", f"The server's OpenAI-compatible URL; "
                            f"{name} listens on port {port} by default.", default=url),),
        key_env=None, key_default="local",
        key_help=("The server's own key (--api-key) if it was started with one; otherwise any "
                  "value works, e.g. local (LiteLLM just needs something to send)."),
        warning=LOCAL_WARNING,
    )


PRESETS: tuple[Preset, ...] = (
    Preset(
        id="azure", name="Azure", prefix="azure/", catalog_provider="azure",
        guide=("Deploy a model in Azure AI Foundry; the model is azure/<deployment name>, with "
               "your resource's endpoint as base URL and an API version."),
        model_label="Deployment name",
        model_help="The name you gave the deployment in Azure (not the model's name).",
        model_example="my-gpt-4o",
        fields=(
            PresetField("base_url", "Endpoint (base URL)",
                        "Your resource's endpoint, from the Azure portal.",
                        placeholder="https://<resource>.openai.azure.com/"),
            PresetField("api_version", "API version",
                        "Azure OpenAI API version.", default="2024-12-01-preview"),
        ),
        key_env="AZURE_API_KEY", key_help="A key of the Azure OpenAI resource.",
    ),
    Preset(
        id="gemini", name="Gemini", prefix="gemini/", catalog_provider="gemini",
        guide="Use a Google AI Studio key; models are gemini/<model>, e.g. gemini/gemini-2.5-pro.",
        model_example="gemini-2.5-pro", key_env="GEMINI_API_KEY",
        key_help="A Google AI Studio (Gemini API) key.",
    ),
    Preset(
        id="vertex_ai", name="VertexAI", prefix="vertex_ai/", catalog_provider="vertex_ai",
        guide=("Use a Google Cloud project with Vertex AI enabled; models are vertex_ai/<model>; "
               "credentials come from environment variables, not an API key."),
        model_example="gemini-2.5-pro",
        fields=(
            PresetField("VERTEXAI_PROJECT", "Project", "Your Google Cloud project ID.",
                        env=True),
            PresetField("VERTEXAI_LOCATION", "Location",
                        "The Vertex AI region, e.g. us-central1.", default="us-central1",
                        env=True),
            PresetField("GOOGLE_APPLICATION_CREDENTIALS", "Credentials file",
                        "Path to a service-account JSON key file (leave empty to use gcloud's "
                        "application-default credentials).", required=False, env=True),
        ),
        needs_key=False,
        key_help="Not used: Vertex AI authenticates with Google Cloud credentials.",
    ),
    Preset(
        id="groq", name="Groq", prefix="groq/", catalog_provider="groq",
        guide="Use a GroqCloud key; models are groq/<model>.",
        model_example="llama-3.3-70b-versatile", key_env="GROQ_API_KEY",
        key_help="A GroqCloud API key.",
    ),
    Preset(
        id="openai", name="OpenAI", prefix="openai/", catalog_provider="openai",
        guide="Use an OpenAI platform key; models are openai/<model>, e.g. openai/o3.",
        model_example="o3", key_env="OPENAI_API_KEY", key_help="An OpenAI platform API key.",
    ),
    Preset(
        id="openrouter", name="OpenRouter", prefix="openrouter/", catalog_provider="openrouter",
        guide=("One key for many providers' models; models are openrouter/<vendor>/<model>, "
               "e.g. openrouter/all-hands/openhands-lm-32b-v0.1."),
        model_example="all-hands/openhands-lm-32b-v0.1", key_env="OPENROUTER_API_KEY",
        key_help="An OpenRouter API key.",
    ),
    Preset(
        id="anthropic", name="Anthropic", prefix="anthropic/", catalog_provider="anthropic",
        guide=("Use an Anthropic console key; models are anthropic/<model>; verified by "
               "OpenHands (early 2025): anthropic/claude-3-7-sonnet-20250219, newer ones are "
               "marked ↑ in the model list (F4)."),
        model_example="claude-3-7-sonnet-20250219", key_env="ANTHROPIC_API_KEY",
        key_help="An Anthropic console API key.",
    ),
    Preset(
        id="deepseek", name="DeepSeek", prefix="deepseek/", catalog_provider="deepseek",
        guide="Use a DeepSeek platform key; models are deepseek/<model>, e.g. deepseek-chat.",
        model_example="deepseek-chat", key_env="DEEPSEEK_API_KEY",
        key_help="A DeepSeek platform API key.",
    ),
    Preset(
        id="litellm_proxy", name="LiteLLM Proxy", prefix="litellm_proxy/", models_from="server",
        guide=("Go through your LiteLLM proxy; the model is litellm_proxy/<model name in the "
               "proxy>, with the proxy's URL and key."),
        model_help="The model_name configured in the proxy (Fetch models asks the proxy).",
        model_example="claude-3-7-sonnet",
        fields=(PresetField("base_url", "Proxy URL", "The LiteLLM proxy's address.",
                            placeholder="http://localhost:4000"),),
        key_env="LITELLM_PROXY_API_KEY", key_help="A virtual key or the master key of the proxy.",
    ),
    _local("sglang", "SGLang", 8000,
           "Serve a model with SGLang (python -m sglang.launch_server --model-path <model> "
           "--port 8000)"),
    _local("vllm", "vLLM", 8000, "Serve a model with vLLM (vllm serve <model> --port 8000)"),
    _local("ollama", "Ollama", 11434, "Run ollama serve and ollama pull <model>"),
    _local("lm_studio", "LM Studio", 1234,
           "Load a model in LM Studio and start its local server"),
    Preset(
        id="openai_compatible", name="OpenAI-compatible server (any URL)", prefix="openai/",
        local=True, models_from="server",
        guide=("Any server with an OpenAI-compatible API (llama.cpp, TGI, LocalAI, a gateway); "
               "the model is openai/<name the server lists>, with the server's base URL."),
        model_help="The model name as the server lists it (Fetch models asks the server).",
        model_example="Qwen/Qwen2.5-Coder-32B-Instruct",
        fields=(PresetField("base_url", "Base URL", "The server's OpenAI-compatible URL.",
                            placeholder="http://localhost:8080/v1"),),
        key_env=None, key_default="local",
        key_help=("The server's key if it needs one; otherwise any value works, e.g. local "
                  "(LiteLLM just needs something to send)."),
    ),
)

_PRESETS_BY_ID = {p.id: p for p in PRESETS}
_PRESET_ALIASES = {
    "google": "gemini", "vertex": "vertex_ai", "vertexai": "vertex_ai", "azure_openai": "azure",
    "litellm": "litellm_proxy", "hosted_vllm": "vllm", "lmstudio": "lm_studio",
    "lm-studio": "lm_studio", "litellm-proxy": "litellm_proxy",
}

# Settings a preset owns: apply_preset() clears those its provider does not use.
PRESET_OWNED = ("base_url", "api_version", "custom_llm_provider")


def preset_for(provider_id: str | None) -> Preset | None:
    """The guide preset of a provider (id, display name or common alias), or None."""
    if not provider_id:
        return None
    key = provider_id.strip().lower()
    key = _PRESET_ALIASES.get(key, key).replace(" ", "_")
    if key in _PRESETS_BY_ID:
        return _PRESETS_BY_ID[key]
    return next((p for p in PRESETS if p.name.lower() == provider_id.strip().lower()), None)


def provider_choice(model: str | None, base_url: str | None = None,
                    custom_llm_provider: str | None = None) -> str:
    """The provider (or local-server guide) that settings belong to, for a provider picker.

    ``openai/...`` with a base URL on a local server's usual port is that server's guide;
    with another URL than OpenAI's own, an OpenAI-compatible server.
    """
    provider = provider_of(model, custom_llm_provider)
    if provider == "openai" and base_url:
        from urllib.parse import urlsplit

        try:
            parts = urlsplit(base_url.strip())
            port, host = parts.port, (parts.hostname or "").lower()
        except ValueError:
            port, host = None, ""
        if host == "api.openai.com":
            return provider
        local = {p.base_url_default and urlsplit(p.base_url_default).port: p.id
                 for p in PRESETS if p.local and p.base_url_default}
        return local.get(port, "openai_compatible")
    return provider


def billed_by(provider_id: str, base_url: str | None = None) -> str | None:
    """Who bills a test request with these settings (a display name), None for a server of
    one's own: a local-server guide, or an OpenAI-compatible server on this machine or the
    local network."""
    preset = preset_for(provider_id)
    if preset is not None and preset.local and preset.base_url_default:
        return None  # vLLM, SGLang, Ollama, LM Studio
    if preset is not None and preset.local:
        import ipaddress
        from urllib.parse import urlsplit

        host = ""
        with contextlib.suppress(ValueError):
            host = (urlsplit((base_url or "").strip()).hostname or "").lower()
        try:
            own = ipaddress.ip_address(host).is_private
        except ValueError:
            own = host == "localhost" or (bool(host) and "." not in host) \
                or host.endswith((".local", ".lan", ".internal"))
        return None if own else f"the server at {host or 'that URL'}"
    return display_name(provider_id)


def server_kind(provider_id: str | None, base_url: str | None = None) -> str | None:
    """The kind of server a provider is (its model prefix: ``openai/`` for local servers and
    ``openai`` with a base URL, ``litellm_proxy/``), None for a hosted provider."""
    preset = preset_for(provider_id)
    if preset is not None and preset.models_from == "server":
        return preset.prefix
    return "openai/" if provider_id == "openai" and base_url else None


def switch_provider(model: str | None, provider_id: str, old_provider: str | None = None,
                    base_url: str | None = None) -> str:
    """The model string after picking another provider: the same model name with the new
    prefix when that provider has it in the catalog, else the prefix alone, for the user to
    pick a model of that provider. A server that serves any name (a local server, the proxy)
    keeps the name only when it came from the same kind of server (``old_provider``, as
    :func:`provider_choice` gives it, by default the model's own provider; ``base_url``, the
    current one: ``openai`` with a base URL is an OpenAI-compatible server)."""
    preset = preset_for(provider_id)
    name = (model or "").strip()
    old = provider_of(name) if name else ""
    if name.startswith(old + "/"):
        name = name[len(old) + 1:]
    prefix = preset.prefix if preset is not None else f"{_prefix_for(provider_id)}/"
    new = preset.model_id(name) if preset is not None else prefix + name
    if not name:
        return new
    kind = server_kind(provider_id)
    if kind is not None:
        return new if server_kind(old_provider or old, base_url) == kind else prefix
    if find(new) is None and chat_models(
            (preset.catalog_provider if preset else None) or provider_id):
        return prefix
    return new


def apply_preset(preset: Preset, answers: Mapping[str, Any]) -> dict[str, Any]:
    """Settings to write for a preset and the user's answers.

    ``answers`` holds ``model`` (the name as the provider or server calls it; for Azure the
    deployment) and the preset's non-env fields (``base_url``, ``api_version``). Returns
    ``model`` plus every field in :data:`PRESET_OWNED`, None meaning "unset" (switching from
    Azure to OpenAI must not keep Azure's base URL). Keys and env fields are not included:
    see :func:`preset_env` and :attr:`Preset.key_default`. Raises :class:`PresetError`.
    """
    from tui.core import fields as F

    name = str(answers.get("model") or "").strip()
    if not name:
        raise PresetError(f"{preset.name}: {preset.model_label.lower()} is required")
    out: dict[str, Any] = {"model": preset.model_id(name)}
    for f in preset.fields:
        if f.env:
            continue
        value = str(answers.get(f.name) or "").strip() or f.default
        if not value:
            if f.required:
                raise PresetError(f"{preset.name}: {f.label} is required")
            continue
        out[f.name] = value
    if preset.custom_llm_provider:
        out["custom_llm_provider"] = preset.custom_llm_provider
    for name_ in ("model", *PRESET_OWNED):
        out.setdefault(name_, None)
        if out[name_] is not None:
            try:
                F.BY_NAME[name_].validate(out[name_])
            except F.FieldError as e:
                raise PresetError(f"{preset.name}: {e}") from None
    return out


def preset_env(preset: Preset, answers: Mapping[str, Any]) -> dict[str, str]:
    """Environment variables a preset needs (VertexAI's project, location, credentials)."""
    out: dict[str, str] = {}
    for f in preset.fields:
        if not f.env:
            continue
        value = str(answers.get(f.name) or "").strip() or f.default
        if value:
            out[f.name] = value
        elif f.required:
            raise PresetError(f"{preset.name}: {f.label} ({f.name}) is required")
    return out
