"""The provider button and the model picker (F4): catalog, embedding or a server's own models."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import work
from textual.content import Content
from textual.widgets import Button, Static

from tui.core import catalog as C
from tui.core import model_text as T
from tui.core import presets as P
from tui.core import search as Q
from tui.core import servers as SV
from tui.core.draft import Draft, read_keyring
from tui.ui.widgets import FieldRow, PickerScreen, show

if TYPE_CHECKING:
    from textual.app import App

    _Base = App[None]
else:
    _Base = object


class Pickers(_Base):
    """Mixed into the app: showing and choosing the provider, picking a model."""

    def sync_provider(self) -> None:
        assert self.draft is not None
        values = self.draft.values()
        model = self.draft.texts["model"] or values.get("model")  # a prefix alone too
        provider = P.provider_choice(model, values.get("base_url"),
                                     values.get("custom_llm_provider"))
        self.show_provider(provider)

    def show_provider(self, provider: str) -> None:
        """The provider button's label and the provider's guide under it."""
        self.provider = provider
        button = self.query_one("#provider", Button)
        button.label = Content(f"{C.display_name(provider)} ▾")  # plain text, not markup
        button.refresh(layout=True)  # its width follows the label (a label change only repaints)
        preset = P.preset_for(provider)
        text = preset.guide if preset else ""
        if preset and preset.warning:
            text += f"\n⚠ {preset.warning}"
        show(self.query_one("#provider-guide", Static), text)

    def choose_provider(self, provider: str) -> None:
        """Picking a provider applies its guide: model prefix, base URL, API version."""
        assert self.draft is not None
        values = self.draft.values()
        old = self.provider  # what the button shows: a prefix alone is no valid model yet
        if old == provider:
            return
        typed = self.draft.texts["model"] or values.get("model")
        model = P.switch_provider(typed, provider, old, values.get("base_url"))
        self.set_field("model", model)
        preset = P.preset_for(provider)
        if preset is not None:
            for name in P.PRESET_OWNED:
                default = next((f.default for f in preset.fields if f.name == name), None)
                if name == "custom_llm_provider":
                    default = preset.custom_llm_provider
                self.set_field(name, default or "")
        self.show_provider(provider)
        if model.endswith("/"):
            self.notify(f"Now pick or type the {C.display_name(provider)} model (F4).")

    def action_pick_model(self) -> None:
        """F4: the model picker — the server's own models for an OpenAI-compatible base URL,
        the embedding models when the embedding field has focus, else the chat catalog."""
        if self.draft is None:
            return
        focused = self.focused
        row = next((a for a in (focused.ancestors if focused else [])
                    if isinstance(a, FieldRow)), None)
        if row is not None and row.field.name == "embedding_model":
            self.open_picker("embedding_model", "Embedding model", C.embedding_models())
            return
        values = self.draft.effective()[0]
        preset = P.preset_for(self.provider)  # as the button shows it, a bare prefix too
        compatible = preset is None or preset.models_from == "server" or preset.prefix in (
            "openai/", "litellm_proxy/")
        if values.get("base_url") and compatible:
            self.notify(f"Asking {values['base_url']} for its models…")
            self.fetch_models(self.draft.with_texts({}), values["base_url"],
                              preset.prefix if preset else "openai/")
            return
        self.open_picker("model", "LLM Model — type to search the catalog", C.chat_models(),
                         provider=self.provider)

    def open_picker(self, field: str, title: str, models: list[Any],
                    provider: str | None = None) -> None:
        """A fuzzy picker over catalog models (or plain names) that sets ``field``."""

        def search(query: str, items: list[Any]) -> list[tuple[str, str]]:
            if items and isinstance(items[0], str):
                return [(n, n) for n in items if query.lower() in n.lower()]
            if not query and provider:
                items = [m for m in items if m.provider == provider] or items
            return [(m.id, model_line(m)) for m, _s, _p in Q.search(query, items, limit=200)]

        def picked(model_id: str | None) -> None:
            if model_id:
                self.set_field(field, model_id)
                if field == "model":
                    self.sync_provider()

        self.push_screen(PickerScreen(title, lambda: models, search), picked)

    @work(thread=True, exclusive=True, group="fetch", exit_on_error=False)
    def fetch_models(self, draft: Draft, base_url: str, prefix: str) -> None:
        """The server's models, asked with the key of the draft's own account only."""
        key = draft.keys(read_keyring(draft.target(), self.store))["api_key"].value
        try:
            names = SV.fetch_models(base_url, key)
        except SV.FetchError as e:
            self.call_from_thread(self.notify, f"{e} Showing the catalog instead.",
                                  title="Fetch models", severity="warning", timeout=8)
            self.call_from_thread(self.open_picker, "model", "LLM Model — catalog",
                                  C.chat_models())
            return
        ids = [prefix + n for n in names]
        self.call_from_thread(self.open_picker, "model",
                              f"LLM Model — {len(ids)} served by {base_url}", ids)


def provider_line(p: C.Provider) -> str:
    """One provider-picker row: verified mark, name, model prefix, model count, guide."""
    mark = "✓ " if p.verified else "  "
    count = T.plural(p.model_count, "model") if p.model_count else "models from the server"
    guide = " · guide" if p.guide else ""
    return f"{mark}{p.name}  {p.prefix}  {count}{guide}"


def model_line(m: C.Model) -> str:
    """One picker row: verified (or newer) mark, id, context window, price in/out per 1M
    tokens."""
    price = (f"{T.usd(m.input_price)}/{T.usd(m.output_price)}"
             if m.input_price is not None and m.output_price is not None else "")
    return f"{T.mark(m)}{m.id}{T.newer_note(m)}  {T.context_text(m)}  {price}".rstrip()
