"""config.toml files whose live-test request is compared with OpenHands' own.

Each :class:`Case` is the text of a config.toml with ``{url}`` where the logging server's URL
goes (every provider's base URL override points at loopback) and ``{key}`` where the case's
canary key goes; ``group`` names the ``[llm.NAME]`` group tested (None: ``[llm]``).
``refused``: OpenHands' LiteLLM refuses to send the request (no request is made).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Case:
    name: str
    toml: str
    group: str | None = None
    refused: bool = False  # OpenHands 0.x's LiteLLM refuses it: no request is sent

    def key(self) -> str:
        """A canary API key of this case alone."""
        return f"sk-CANARY-{self.name}-{hashlib.sha256(self.name.encode()).hexdigest()[:10]}"

    def render(self, url: str) -> str:
        return self.toml.replace("{url}", url).replace("{key}", self.key())


def _llm(model: str, extra: str = "", base: str = 'base_url = "{url}"') -> str:
    return f'[llm]\nmodel = "{model}"\napi_key = "{{key}}"\n{base}\n{extra}'


CASES: tuple[Case, ...] = (
    # OpenAI and OpenAI-compatible hosted providers
    Case("openai-gpt4o", _llm("openai/gpt-4o")),
    Case("openai-bare-name", _llm("gpt-4o-mini")),
    Case("openai-sampling", _llm("openai/gpt-4.1", "temperature = 0.7\ntop_p = 0.9\n")),
    Case("openai-int-temperature", _llm("openai/gpt-4o", "temperature = 1\ntop_p = 1\n")),
    Case("openai-seed", _llm("openai/gpt-4o", "seed = 42\n")),
    Case("openai-max-output", _llm("openai/gpt-4o", "max_output_tokens = 1024\n")),
    Case("openai-catalog-max", _llm("openai/gpt-3.5-turbo")),
    Case("openai-top-k", _llm("openai/gpt-4o", "top_k = 40\n")),
    Case("groq", _llm("groq/llama-3.3-70b-versatile")),
    Case("groq-top-k-dropped", _llm("groq/llama-3.1-8b-instant", "top_k = 20\n")),
    Case("deepseek-chat", _llm("deepseek/deepseek-chat", "temperature = 0.2\n")),
    Case("deepseek-reasoner", _llm("deepseek/deepseek-reasoner")),
    Case("openrouter-claude", _llm("openrouter/anthropic/claude-3.5-sonnet")),
    Case("openrouter-r1", _llm("openrouter/deepseek/deepseek-r1-0528",
                               'reasoning_effort = "medium"\n')),
    Case("mistral", _llm("mistral/mistral-large-latest", "top_p = 0.95\n")),
    # Azure
    Case("azure-api-version", _llm("azure/my-gpt4o-deployment",
                                   'api_version = "2024-10-21"\n')),
    Case("azure-default-version", _llm("azure/gpt-4o", "max_output_tokens = 2048\n")),
    # Anthropic
    Case("anthropic-sonnet35", _llm("anthropic/claude-3-5-sonnet-20241022")),
    Case("anthropic-sonnet4", _llm("anthropic/claude-sonnet-4-20250514")),
    Case("anthropic-sonnet45-effort", _llm("anthropic/claude-sonnet-4-5-20250929",
                                           'reasoning_effort = "high"\n')),
    Case("anthropic-opus41", _llm("anthropic/claude-opus-4-1-20250805", "top_p = 0.9\n")),
    Case("anthropic-haiku-top-k", _llm("anthropic/claude-3-5-haiku-20241022",
                                       "top_k = 40\ntemperature = 0.5\n")),
    # Gemini
    Case("gemini-flash", _llm("gemini/gemini-2.0-flash", "top_k = 32\n")),
    Case("gemini-25-pro-thinking", _llm("gemini/gemini-2.5-pro")),
    Case("gemini-25-pro-effort", _llm("gemini/gemini-2.5-pro", 'reasoning_effort = "high"\n')),
    Case("gemini-25-flash-effort", _llm("gemini/gemini-2.5-flash",
                                        'reasoning_effort = "medium"\n')),
    Case("gemini-safety", _llm("gemini/gemini-2.0-flash",
                               '[[llm.safety_settings]]\ncategory = "HARM_CATEGORY_HARASSMENT"\n'
                               'threshold = "BLOCK_NONE"\n')),
    # LiteLLM proxy
    Case("litellm-proxy-sonnet4", _llm("litellm_proxy/claude-sonnet-4")),
    Case("litellm-proxy-gpt", _llm("litellm_proxy/gpt-4o", "top_k = 40\nseed = 7\n")),
    Case("litellm-proxy-info", _llm("litellm_proxy/team-coder")),  # the proxy's limit
    Case("litellm-proxy-info-max-tokens", _llm("litellm_proxy/team-legacy", "top_p = 0.5\n")),
    # Reasoning models
    Case("o3-mini-effort", _llm("openai/o3-mini", 'reasoning_effort = "low"\n')),
    Case("o4-mini-no-effort", _llm("openai/o4-mini", "temperature = 0.5\n")),
    Case("gpt5-effort", _llm("openai/gpt-5", 'reasoning_effort = "high"\n')),
    Case("o1-bare", _llm("o1", 'reasoning_effort = "medium"\n')),
    # Local OpenAI-compatible servers
    Case("local-openai", _llm("openai/qwen2.5-coder-7b", "top_k = 20\nseed = 3\n")),
    Case("local-drop-params-off", _llm("openai/local-model",
                                       "drop_params = false\ntop_k = 50\n")),
    Case("local-drop-params-on", _llm("openai/local-model", "drop_params = true\n"
                                      "max_output_tokens = 512\n")),
    Case("local-completion-kwargs", _llm("openai/local-model") +
         '[llm.tuned]\ncompletion_kwargs = {frequency_penalty = 0.5, stop = ["END"], '
         "temperature = 0.3}\n", group="tuned"),
    Case("custom-llm-provider", _llm("my-local-model", 'custom_llm_provider = "openai"\n')),
    Case("hosted-vllm", _llm("hosted_vllm/Qwen/Qwen3-Coder-30B", "top_k = 20\n")),
    # Other providers and parameters
    Case("huggingface", _llm("huggingface/Qwen/Qwen2.5-Coder-32B-Instruct")),
    Case("xai-grok", _llm("xai/grok-4-0709", "temperature = 0.3\n")),
    Case("ollama-chat", _llm("ollama_chat/qwen2.5-coder:7b", "top_k = 30\n")),
    Case("deepseek-r1-effort", _llm("deepseek/deepseek-r1-0528", 'reasoning_effort = "low"\n')),
    Case("deepseek-r1-effort-strict", _llm("deepseek/deepseek-r1-0528",
                                           'reasoning_effort = "low"\ndrop_params = false\n'),
         refused=True),
    Case("openrouter-effort-strict", _llm("openrouter/openai/gpt-5",
                                          'reasoning_effort = "high"\ndrop_params = false\n'),
         refused=True),
    Case("anthropic-seed-dropped", _llm("anthropic/claude-3-7-sonnet-20250219", "seed = 5\n")),
    Case("mistral-safety", _llm("mistral/codestral-latest",
                                '[[llm.safety_settings]]\ncategory = "HARM_CATEGORY_HARASSMENT"\n'
                                'threshold = "BLOCK_NONE"\n')),
    Case("reasoning-completion-kwargs", _llm("openai/o3", 'reasoning_effort = "low"\n') +
         '[llm.deep]\ncompletion_kwargs = {reasoning_effort = "high", '
         'max_completion_tokens = 9000}\n', group="deep"),
    # Named groups (inheriting [llm])
    Case("group-groq", _llm("openai/gpt-4o", "temperature = 0.5\n") +
         '[llm.fast]\nmodel = "groq/llama-3.1-8b-instant"\n', group="fast"),
    Case("group-claude-own-key", _llm("openai/gpt-4o", "top_k = 10\n") +
         '[llm.claude]\nmodel = "anthropic/claude-sonnet-4-20250514"\n'
         'api_key = "{key}-claude"\nmax_output_tokens = 4000\n', group="claude"),
    Case("group-azure", _llm("openai/gpt-4o", "seed = 1\n") +
         '[llm.azure]\nmodel = "azure/prod"\napi_version = "2025-01-01-preview"\n',
         group="azure"),
)
