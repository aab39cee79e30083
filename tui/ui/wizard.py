"""First-run setup: Provider -> Model -> Key -> what the provider needs -> Test -> Save.

The wizard only gathers answers; the app applies them to its draft (so nothing else in the
file is touched) and saves through the same path as ctrl+s.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import (
    Button,
    ContentSwitcher,
    Input,
    Label,
    OptionList,
    Static,
)
from textual.widgets.option_list import Option

from tui.core import catalog as C
from tui.core import fields as F
from tui.core import model_text as T
from tui.core import presets as P
from tui.core import search as Q
from tui.core import servers as SV
from tui.core import settings as S
from tui.core import values as VAL
from tui.core.draft import Draft, read_keyring
from tui.core.secrets import KeyringHealth, SecretStore
from tui.ui.check_pane import LiveTestPanel
from tui.ui.widgets import FieldLine, Results, Tick

STEPS = ("provider", "model", "key", "extra", "test", "save")
TITLES = {"provider": "Provider", "model": "Model", "key": "API key",
          "extra": "What the provider needs", "test": "Test", "save": "Save"}
ENV_FIELDS = {f.env: f.name for f in F.FIELDS if f.env_only}


class SetupWizard(Screen[dict[str, Any] | None]):
    """Returns {"texts": {field: text}, "key": str, "insecure": bool}, or None if cancelled."""

    BINDINGS = [
        Binding("ctrl+n", "next", "Next", id="wizard-next"),
        Binding("ctrl+b", "back", "Back", id="wizard-back"),
        Binding("ctrl+q", "cancel", "Leave setup", id="wizard-cancel"),
        Binding("f10", "cancel", "Leave setup", show=False, id="wizard-cancel-f10"),
        Binding("down", "into_list", show=False, id="wizard-into-list"),
    ]

    def __init__(self, draft: Draft, environ: Mapping[str, str],
                 health: KeyringHealth | None, store: SecretStore) -> None:
        super().__init__()
        self.draft = draft
        self.environ = environ
        self.health = health
        self.store = store
        # the stored keys of the answers' keyring accounts, and those accounts
        self._stored: S.Settings | None = None
        self._stored_for: dict[str, str | None] | None = None
        values = draft.values()
        self.provider = P.provider_choice(values.get("model"), values.get("base_url"),
                                          values.get("custom_llm_provider"))
        self.answers: dict[str, str] = {
            n: F.BY_NAME[n].to_text(values[n]) if values.get(n) is not None else ""
            for n in ("model", "base_url", "api_version", "custom_llm_provider",
                      *ENV_FIELDS.values())}
        self.initial = (self.provider, dict(self.answers))  # picked again: all of it back
        self.key = ""
        self.step = "provider"

    @property
    def preset(self) -> P.Preset | None:
        return P.preset_for(self.provider)

    # -- layout ----------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Static("", id="wizard-title", markup=False)
        with ContentSwitcher(initial="step-provider", id="steps"):
            with Vertical(id="step-provider"):
                yield Label("Which provider serves your model? Type to search; Enter picks.")
                yield Input(placeholder="type to search, e.g. anthropic, ollama, compatible",
                            id="query", select_on_focus=False)
                yield Results(*[Option(Text(provider_label(p)), id=p.id)
                                for p in C.providers()], id="providers")
            with Vertical(id="step-model"):
                yield Static("", id="model-guide", markup=False)
                with FieldLine(id="server-line"):
                    yield Label("Server URL", classes="field-label")
                    yield Input(id="server-url", compact=True)
                    yield Button("Fetch models", id="fetch", compact=True)
                yield Input(placeholder="type to search, or type the model name", id="model-q")
                yield OptionList(id="models")
                yield Static("", id="model-note", classes="field-note", markup=False)
            with Vertical(id="step-key"):
                yield Static("", id="key-guide", markup=False)
                yield Input(password=True, placeholder="paste the key; empty keeps the current",
                            id="key")
                yield Tick("Store the key in config.toml (plaintext, mode 0600)",
                           self.draft.insecure_storage, id="wizard-insecure")
            with VerticalScroll(id="step-extra"):
                yield Static("", id="extra-guide", markup=False)
                for name in ("base_url", "api_version", *ENV_FIELDS.values()):
                    with FieldLine(classes="extra", id=f"extra-{name}"):
                        yield Label(F.BY_NAME[name].label, classes="field-label")
                        yield Input(id=f"x-{name}", compact=True)
                yield Static("", id="extra-error", classes="field-note -error", markup=False)
            with Vertical(id="step-test"):
                yield LiveTestPanel(self._test_values, id="wizard-test")
            with Vertical(id="step-save"):
                yield Static("", id="summary", markup=False)
        with Horizontal(classes="dialog-buttons"):
            yield Button("Back", id="back")
            yield Button("Next", id="next", variant="primary")
            yield Button("Leave setup", id="cancel")

    def on_mount(self) -> None:
        ol = self.query_one("#providers", OptionList)
        try:
            ol.highlighted = ol.get_option_index(self.provider)
        except Exception:  # an unknown provider: start at the top
            ol.highlighted = 0
        self.show("provider")

    # -- navigation ------------------------------------------------------------------------
    def show(self, step: str) -> None:
        self.step = step
        n = STEPS.index(step) + 1
        self.query_one("#wizard-title", Static).update(
            f"Setup — step {n} of {len(STEPS)}: {TITLES[step]}    "
            "(ctrl+n next · ctrl+b back · ctrl+q leave)")
        getattr(self, f"_enter_{step}")()
        self.query_one("#steps", ContentSwitcher).current = f"step-{step}"
        self.query_one("#back", Button).disabled = step == "provider"
        self.query_one("#next", Button).label = "Save" if step == "save" else (
            "Skip" if step == "test" else "Next")

    def action_next(self) -> None:
        reason = getattr(self, f"_leave_{self.step}")()
        if reason:
            self.notify(reason, severity="error")
            return
        if self.step == "save":
            self.dismiss({"texts": self.texts(), "key": self.key,
                          "insecure": self.query_one("#wizard-insecure", Tick).value})
            return
        nxt = STEPS[STEPS.index(self.step) + 1]
        if nxt == "key" and self.preset is not None and not self.preset.needs_key:
            nxt = "extra"
        if nxt == "extra" and not self._extra_names():
            nxt = "test"
        self.show(nxt)

    def action_back(self) -> None:
        if self.step != "provider":
            prev = STEPS[STEPS.index(self.step) - 1]
            if prev == "extra" and not self._extra_names():
                prev = "key"
            self.show(prev)

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#next")
    def _next(self) -> None:
        self.action_next()

    @on(Button.Pressed, "#back")
    def _back(self) -> None:
        self.action_back()

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.action_cancel()

    # -- step 1: provider ------------------------------------------------------------------
    def _enter_provider(self) -> None:
        self.query_one("#providers", OptionList).focus()

    def _leave_provider(self) -> str | None:
        ol = self.query_one("#providers", OptionList)
        if ol.highlighted is None:
            return "pick a provider"
        chosen = ol.get_option_at_index(ol.highlighted).id or self.provider
        if chosen != self.provider:
            old_kind = P.server_kind(self.provider, self.answers["base_url"])
            self.answers["model"] = P.switch_provider(self.answers["model"], chosen,
                                                      self.provider, self.answers["base_url"])
            self.provider = chosen
            preset = self.preset
            if chosen == self.initial[0]:
                self.answers.update(self.initial[1])
            elif preset is not None:
                # The current values stay for the same kind of server; the guide's default
                # only fills an empty field.
                same = old_kind is not None and old_kind == P.server_kind(chosen)
                for f in preset.fields:
                    name = ENV_FIELDS.get(f.name, f.name)
                    if not (same and self.answers[name]):
                        self.answers[name] = f.default or ""
                self.answers["custom_llm_provider"] = preset.custom_llm_provider or ""
        return None

    @on(OptionList.OptionSelected, "#providers")
    def _provider_picked(self) -> None:
        self.action_next()

    @on(Input.Changed, "#query")
    def _provider_typed(self, event: Input.Changed) -> None:
        """Keep the providers whose name or id match, as the app's provider picker does."""
        ol = self.query_one("#providers", OptionList)
        found = Q.search_providers(event.value, C.providers())
        ol.set_options([Option(Text(provider_label(p)), id=p.id) for p in found])
        if found:
            ol.highlighted = 0

    @on(Input.Submitted, "#query")
    def _provider_submitted(self) -> None:
        self.action_next()

    def action_into_list(self) -> None:
        """Down in the provider search box goes into the list."""
        if self.step == "provider":
            self.query_one("#providers", OptionList).focus()

    # -- step 2: model ---------------------------------------------------------------------
    def _enter_model(self) -> None:
        preset = self.preset
        server = preset is not None and preset.models_from == "server"
        guide = preset.guide if preset else f"Models of {C.display_name(self.provider)}."
        if preset and preset.warning:
            guide += f"\n⚠ {preset.warning}"
        self.query_one("#model-guide", Static).update(guide)
        self.query_one("#server-line").display = server
        if server:
            url = self.query_one("#server-url", Input)
            url.value = self.answers["base_url"] or (preset.base_url_default or "")
        q = self.query_one("#model-q", Input)
        name = self.answers["model"]
        prefix = preset.prefix if preset else P.switch_provider("", self.provider)
        q.value = name[len(prefix):] if name.startswith(prefix) else name
        self._models = [] if server else C.chat_models(
            (preset.catalog_provider if preset else None) or self.provider)
        self._refresh_models(q.value)
        q.focus()

    @on(Input.Changed, "#model-q")
    def _model_typed(self, event: Input.Changed) -> None:
        self._refresh_models(event.value)

    def _refresh_models(self, query: str) -> None:
        ol = self.query_one("#models", OptionList)
        if self._models and isinstance(self._models[0], str):
            names = [m for m in self._models if query.lower() in m.lower()]
            ol.set_options([Option(Text(m), id=m) for m in names])  # a server's names
        else:
            found = Q.search(query, self._models, limit=100)
            ol.set_options([Option(Text(f"{T.mark(m)}{m.id}{T.newer_note(m)}  "
                                        f"{T.context_text(m)}"), id=m.id)
                            for m, _s, _p in found])
        if ol.option_count:
            ol.highlighted = 0
        self.query_one("#model-note", Static).update(
            f"{ol.option_count} shown · Enter on the list picks · ctrl+n uses the typed name")

    @on(OptionList.OptionSelected, "#models")
    def _model_picked(self, event: OptionList.OptionSelected) -> None:
        self.query_one("#model-q", Input).value = event.option.id or ""
        self.action_next()

    @on(Input.Submitted, "#model-q")
    def _model_submitted(self) -> None:
        ol = self.query_one("#models", OptionList)
        if ol.highlighted is not None and ol.option_count:
            self.query_one("#model-q", Input).value = ol.get_option_at_index(
                ol.highlighted).id or ""
        self.action_next()

    def _leave_model(self) -> str | None:
        typed = self.query_one("#model-q", Input).value.strip()
        ol = self.query_one("#models", OptionList)
        if ol.highlighted is not None and ol.option_count and (
                not typed or self.focused is ol):
            typed = ol.get_option_at_index(ol.highlighted).id or typed
        if not typed:
            return "type or pick a model"
        preset = self.preset
        found = None if preset is not None and preset.local else C.find(typed)
        if found is not None:
            model = found.id  # picked from the catalog list: already provider/name
        elif preset is not None:
            model = preset.model_id(typed)
        else:
            model = P.switch_provider(typed, self.provider)
        reason = VAL.check_model(model)
        if reason:
            return reason
        self.answers["model"] = model
        if self.query_one("#server-line").display:
            url = self.query_one("#server-url", Input).value.strip()
            problem = VAL.check_url(url)
            if problem:
                return f"Server URL: {problem}"
            self.answers["base_url"] = url
        return None

    @on(Button.Pressed, "#fetch")
    def _fetch_pressed(self) -> None:
        url = self.query_one("#server-url", Input).value.strip()
        self.query_one("#model-note", Static).update(f"asking {url} for its models…")
        self.fetch_models(url, self.preview({"base_url": url}))

    @work(thread=True, exclusive=True, group="fetch", exit_on_error=False)
    def fetch_models(self, url: str, preview: Draft) -> None:
        """The server's models, asked with the key of that server's own account only."""
        key = preview.keys(read_keyring(preview.target(), self.store))["api_key"].value
        try:
            names = SV.fetch_models(url, key)
        except SV.FetchError as e:
            self.app.call_from_thread(self._fetched, [], str(e))
            return
        self.app.call_from_thread(self._fetched, names, None)

    def _fetched(self, names: list[str], error: str | None) -> None:
        if error:
            self.query_one("#model-note", Static).update(f"✗ {error}")
            return
        self._models = names
        self._refresh_models(self.query_one("#model-q", Input).value)
        self.query_one("#models", OptionList).focus()
        self.query_one("#model-note", Static).update(
            f"{T.plural(len(names), 'model')} served by the server · Enter picks")

    # -- step 3: key -----------------------------------------------------------------------
    def _enter_key(self) -> None:
        usable = self.health is not None and self.health.usable
        tick = self.query_one("#wizard-insecure", Tick)
        tick.display = not usable or self.draft.plaintext("api_key") is not None
        self._show_key_guide()
        self.query_one("#key", Input).focus()
        preview = self.preview()
        self._read_keys(preview.target(), preview.accounts())

    @work(thread=True, exclusive=True, group="keyring", exit_on_error=False)
    def _read_keys(self, target: S.Settings, accounts: dict[str, str | None]) -> None:
        stored = read_keyring(target, self.store)
        self.app.call_from_thread(self._keys_read, stored, accounts)

    def _keys_read(self, stored: S.Settings, accounts: dict[str, str | None]) -> None:
        self._stored, self._stored_for = stored, accounts
        if self.step == "key":
            self._show_key_guide()

    def _show_key_guide(self) -> None:
        """The provider's key help and where the key of the answers' account is now."""
        preset = self.preset
        lines = [preset.key_help] if preset and preset.key_help else []
        if preset is not None and preset.local:
            lines.append("Left empty, no key is written anywhere; but LiteLLM (and so "
                         "OpenHands) sends no request without some key, so the test then says "
                         "no API key.")
        env_key = self.environ.get("LLM_API_KEY")
        preview = self.preview()
        stored = self._stored if self._stored_for == preview.accounts() else None
        v = stored.values["api_key"] if stored is not None else None
        if env_key:
            lines.append(f"LLM_API_KEY is set in your environment ({S.mask(env_key)}): it wins "
                         "over the keyring while it is set. Leave this empty to rely on it.")
        elif v is None:
            lines.append("Checking the keyring…")
        elif v.source.kind == "keyring":
            lines.append(f"A key is stored in the keyring ({v.source.detail}); leave this "
                         "empty to keep it.")
        elif v.is_set:
            lines.append(f"A key is in config.toml, plaintext ({v.source.detail}); leave this "
                         "empty to keep it.")
        elif stored is not None and stored.keyring_problem:
            lines.append(f"Could not read the keyring: {stored.keyring_problem}")
        usable = self.health is not None and self.health.usable
        if not usable:
            lines.append((self.health.problem_in_app("with the box below") if self.health
                          else None) or "Checking the keyring…")
        self.query_one("#key-guide", Static).update("\n".join(lines))

    def _leave_key(self) -> str | None:
        self.key = self.query_one("#key", Input).value.strip()
        usable = self.health is not None and self.health.usable
        if self.key and not usable and not self.query_one("#wizard-insecure", Tick).value:
            return ("No usable keyring: tick 'Store the key in config.toml', or leave the key "
                    "empty and set LLM_API_KEY in the environment.")
        return None

    def preview(self, more: Mapping[str, str] | None = None) -> Draft:
        """The draft as the answers so far would leave it (the typed key included)."""
        texts = {**self.texts(), **(more or {})}
        if self.key:
            texts["api_key"] = self.key
        preview = self.draft.with_texts(texts)
        if self.is_mounted:
            preview.insecure_storage = self.query_one("#wizard-insecure", Tick).value
        return preview

    # -- step 4: extra fields --------------------------------------------------------------
    def _extra_names(self) -> list[str]:
        preset = self.preset
        if preset is None:
            return []
        names = [ENV_FIELDS.get(f.name, f.name) for f in preset.fields]
        if preset.models_from == "server":
            names = [n for n in names if n != "base_url"]  # asked with the model
        return names

    def _enter_extra(self) -> None:
        wanted = self._extra_names()
        for row in self.query(".extra"):
            name = (row.id or "").removeprefix("extra-")
            row.display = name in wanted
            if name in wanted:
                self.query_one(f"#x-{name}", Input).value = self.answers.get(name, "")
        preset = self.preset
        self.query_one("#extra-guide", Static).update(preset.guide if preset else "")
        self.query_one("#extra-error", Static).update("")
        first = next(iter(wanted), None)
        if first:
            self.query_one(f"#x-{first}", Input).focus()

    def _leave_extra(self) -> str | None:
        preset = self.preset
        required = {ENV_FIELDS.get(f.name, f.name) for f in preset.fields if f.required} \
            if preset else set()
        for name in self._extra_names():
            text = self.query_one(f"#x-{name}", Input).value.strip()
            if not text and name in required:
                return f"{F.BY_NAME[name].label} is required for {preset.name}"  # type: ignore
            if text:
                try:
                    F.BY_NAME[name].parse(text)
                except F.FieldError as e:
                    return str(e)
            self.answers[name] = text
        return None

    # -- step 5: test ----------------------------------------------------------------------
    def _test_values(self) -> tuple[dict[str, Any], list[str]]:
        """The answers as saved, with the key of their own keyring account."""
        preview = self.preview()
        values, unsaved = preview.effective()
        target = preview.target()
        stored = self._stored if self._stored_for == preview.accounts(target) else \
            read_keyring(target, self.store)
        for name, v in preview.keys(stored).items():
            values[name] = v.value
        for name in preview.unset():  # the default of the OpenHands tested applies
            values.pop(name, None)
        return values, unsaved

    def _enter_test(self) -> None:
        panel = self.query_one("#wizard-test", LiveTestPanel)
        where = P.billed_by(self.provider, self.answers["base_url"])
        if where is None:
            panel.start()  # a server of one's own: nothing is billed
            return
        if panel.running:
            panel.action_cancel()
        panel.query_one("#test-status", Static).update(
            f"The test sends one short request to {where}, which bills it to your account "
            "(a few tokens). Send it? Enter runs the test; ctrl+n skips it.")
        panel.query_one("#run-test", Button).focus()

    def _leave_test(self) -> str | None:
        self.query_one("#wizard-test", LiveTestPanel).action_cancel()
        return None

    # -- step 6: save ----------------------------------------------------------------------
    def texts(self) -> dict[str, str]:
        """The answers that differ from what the form holds: only those are written."""
        return {n: t for n, t in self.answers.items() if t != self.draft.texts.get(n, "")
                and (t or self.draft.texts.get(n))}

    def _enter_save(self) -> None:
        lines = [f"{n}: {self.draft.texts.get(n) or '(not set)'} -> {t or '(not set)'}"
                 for n, t in self.texts().items()]
        if self.key:
            where = self.preview().key_destination(self.store)
            lines.append(f"api_key: new key ({S.mask(self.key)}) -> {where}")
        body = "\n".join(lines) or "Nothing changes."
        self.query_one("#summary", Static).update(
            f"{body}\n\nEverything else in {self.draft.cfg.path.name} stays as it is.")
        self.query_one("#next", Button).focus()

    def _leave_save(self) -> str | None:
        return None


def provider_label(p: C.Provider) -> str:
    """A provider row: verified mark (or • for a guide), name, model count."""
    mark = "✓ " if p.verified else ("• " if p.guide else "  ")
    count = f"  {T.plural(p.model_count, 'model')}" if p.model_count else ""
    return f"{mark}{p.name}{count}"
