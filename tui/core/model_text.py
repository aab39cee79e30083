"""What is shown about a model: prices, context window, marks and the spending warning."""

from __future__ import annotations

import math

from tui.core.catalog import Model, find


def plural(n: int, noun: str) -> str:
    """``1 model``, ``2 models``."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def usd(value: float) -> str:
    """A price as people write one: $3, $2.50, $0.15; below ten cents two significant
    digits ($0.075, $0.000002)."""
    if value == 0:
        return "$0"
    if value >= 0.1:
        cents = round(value, 2)
        return f"${cents:,.0f}" if cents == int(cents) else f"${cents:,.2f}"
    digits = 1 - math.floor(math.log10(value))
    return "$" + f"{value:.{digits}f}".rstrip("0")


def price_text(model: Model) -> str:
    """``$3 / $15 per 1M tokens (in/out)``; says so when the price is unknown."""
    if model.input_price is None and model.output_price is None:
        return "price unknown"
    if model.input_price == 0 and model.output_price in (0, None):
        return "free (per the catalog)"
    inp = "?" if model.input_price is None else usd(model.input_price)
    out = "?" if model.output_price is None else usd(model.output_price)
    return f"{inp} / {out} per 1M tokens (in/out)"


def tokens_text(tokens: int) -> str:
    """200000 -> 200K, 131072 -> 128K, 1048576 -> 1M."""
    binary = tokens % 1000 != 0 and tokens % 1024 == 0
    k = tokens / 1024 if binary else tokens / 1000
    if k >= 1000:
        mil = k / 1024 if binary else k / 1000
        return f"{mil:.1f}".removesuffix(".0") + "M"
    if k >= 1:
        return f"{k:.0f}K" if k >= 10 else f"{k:.1f}".removesuffix(".0") + "K"
    return str(tokens)


def context_text(model: Model) -> str:
    """``200K context``; ``context unknown`` when the catalog does not say."""
    if not model.max_input_tokens:
        return "context unknown"
    return f"{tokens_text(model.max_input_tokens)} context"


def mark(model: Model) -> str:
    """A picker row's mark: ✓ verified by OpenHands, ↑ newer than a verified model."""
    return "✓ " if model.verified else "↑ " if model.newer_than else "  "


def newer_note(model: Model) -> str:
    """What a ↑ says, after the model's id in a picker row ("" for the others)."""
    return "  newer than verified" if model.newer_than else ""


def summary(model: Model) -> str:
    """One line: verified mark, context, price, capabilities."""
    parts = []
    if model.recommended:
        parts.append("verified, recommended")
    elif model.verified:
        parts.append("verified")
    elif model.newer_than:
        parts.append(f"newer than verified {model.newer_than.split('/', 1)[1]}")
    parts.append(context_text(model))
    parts.append(price_text(model))
    caps = [name for name, flag in (("tools", model.supports_function_calling),
                                    ("vision", model.supports_vision),
                                    ("reasoning", model.supports_reasoning)) if flag]
    if caps:
        parts.append(", ".join(caps))
    if model.deprecation_date:
        parts.append(f"deprecated {model.deprecation_date}")
    return " · ".join(parts)


SPENDING_WARNING = ("OpenHands sends many requests per task and most LLMs cost money: set a "
                    "spending limit with your provider and watch your usage.")


def cost_warning(model: Model | str | None) -> str:
    """The spending warning, with the model's price when known."""
    m = find(model) if isinstance(model, str) else model
    if m is None:
        name = model if isinstance(model, str) and model else "this model"
        return (f"{SPENDING_WARNING} LiteLLM's catalog has no price for {name}: check your "
                f"provider's pricing.")
    if m.input_price is None and m.output_price is None:
        return (f"{SPENDING_WARNING} LiteLLM's catalog has no price for {m.id}: check your "
                f"provider's pricing.")
    if m.input_price == 0 and m.output_price in (0, None):
        return (f"{SPENDING_WARNING} {m.id} is listed as free, but providers change prices: "
                f"check before long runs.")
    return f"{SPENDING_WARNING} {m.id} costs {price_text(m)}."
