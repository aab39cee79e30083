"""The core: the field registry, config.toml, the keyring, OpenHands rules, the model catalog.

No Textual and no litellm at import; the live check, the CLI and the UI build on it.
"""
