"""The Textual app: OpenHands' Settings and Advanced panes over the core.

Thin by design: values, validation, sources and saving all come from :mod:`tui.core.draft` and the
core modules; this file lays them out and wires keys. It never parses TOML and never imports
litellm.
"""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Iterable, Mapping
from functools import partial
from pathlib import Path
from typing import Any

from textual import events, on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.lazy import Lazy
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import (
    Button,
    Footer,
    Label,
    Static,
    TabbedContent,
    TabPane,
)

from tui.core import catalog as C
from tui.core import fields as F
from tui.core import model_text as T
from tui.core import search as Q
from tui.core import settings as S
from tui.core.config_file import ConfigError, ConfigFile
from tui.core.draft import Draft
from tui.core.secrets import KeyringHealth, SecretStore
from tui.live import preload
from tui.ui.advanced_pane import AdvancedPane, group_order
from tui.ui.file_actions import FileActions
from tui.ui.key_field import KeyField
from tui.ui.openhands1 import OpenHands1Actions
from tui.ui.pickers import Pickers, provider_line
from tui.ui.widgets import (
    FieldLine,
    FieldRow,
    HelpScreen,
    PickerScreen,
    Tick,
    show,
)

SETTINGS_PANE = ("model", "api_key", "max_budget_per_task")  # also on the Settings pane
PRELOAD_IDLE_S = 0.5  # LiteLLM starts loading once no key was pressed for this long


class SettingsApp(KeyField, OpenHands1Actions, FileActions, Pickers, App[None]):
    """llm-settings: edit the [llm] settings of an OpenHands config.toml."""

    CSS_PATH = "app.tcss"
    TITLE = "llm-settings"
    BINDINGS = [
        Binding("ctrl+s", "save", "Save", id="save", tooltip="Save (shows the changes first)"),
        Binding("f1", "help", "Help", id="help", tooltip="Keys and where keys are stored"),
        Binding("f2", "pane('settings')", "Settings", id="settings-pane", show=False),
        Binding("f3", "pane('advanced')", "Advanced", id="advanced-pane", show=False),
        # The footer shows four keys: with the Test pane's own two it still fits 80 columns;
        # the others are in the help (F1), the command palette and on buttons.
        Binding("f4", "pick_model", "Model", id="pick-model", show=False),
        Binding("f5", "pane('test')", "Test", id="test-pane", show=False),
        Binding("f6", "run_test", "Test", id="run-test",
                tooltip="Stream a completion with these settings"),
        Binding("escape", "cancel_test", "Cancel test", id="cancel-test", show=False),
        Binding("ctrl+g", "groups", "Group", id="groups", show=False),
        Binding("ctrl+r", "reload_file", "Reload", id="reload-broken"),  # a broken file only
        Binding("ctrl+r", "reload", "Reload", id="reload", show=False),
        Binding("ctrl+q", "quit", "Quit", id="quit", tooltip="Quit (asks if unsaved)"),
        Binding("f10", "quit", "Quit", id="quit-f10", show=False),
    ]

    def __init__(self, path: Path, group: str | None = None,
                 store: SecretStore | None = None,
                 environ: Mapping[str, str] | None = None, setup: bool | None = None,
                 preload: bool = True) -> None:
        """``setup``: True opens the setup wizard, None opens it on a first run; ``preload``:
        load LiteLLM in the background once the first screen is drawn and input is idle."""
        super().__init__()
        self.preload = preload
        self.last_input = time.monotonic()
        self.setup = setup
        self.path = path
        self.group = group
        self.store = store or SecretStore()
        self.environ = os.environ if environ is None else environ
        self.draft: Draft | None = None
        self.load_error: str | None = None
        self.health: KeyringHealth | None = None
        self.provider = ""
        self.catalog_ready = False
        self.init_keys()
        self.keys_typed = False  # a key was pressed: the wizard then never opens by itself
        self.pane_focus: dict[str, Widget] = {}  # where the focus was in each pane
        self._load()

    def notify(self, message: str, *, title: str = "", severity: Any = "information",
               timeout: float | None = None, markup: bool = False) -> None:
        """A toast, always plain text: it shows file paths, group names, server messages."""
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=False)

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key):
            self.keys_typed = True
        if isinstance(event, events.Key | events.MouseDown):
            self.last_input = time.monotonic()
        await super().on_event(event)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """A file that cannot be read offers only what works there: reload, help, quit."""
        if self.draft is None and action in ("save", "pick_model", "run_test", "groups",
                                             "pane", "cancel_test", "pick_provider"):
            return False
        return self.draft is None if action == "reload_file" else True

    def action_reload_file(self) -> None:
        self.action_reload()

    # -- data ------------------------------------------------------------------------------
    def _load(self) -> None:
        try:
            cfg = ConfigFile.load(self.path)
        except ConfigError as e:
            self.draft, self.load_error = None, str(e)
            return
        self.draft, self.load_error = Draft(cfg, self.group, environ=self.environ), None

    # -- layout ----------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Static("", id="title-bar", markup=False)
        if self.draft is None:
            yield Static(f"✗ {self.load_error}\n\nNothing will be written to this file. Fix it "
                         "in an editor, then press ctrl+r to reload.", id="load-error",
                         markup=False)
            yield Footer()
            return
        with TabbedContent(initial="settings", id="panes"):
            with TabPane("Settings", id="settings"), VerticalScroll(classes="pane"):
                # What the Advanced pane holds beyond defaults: OpenHands opens on it then.
                yield Static("", id="advanced-summary", markup=False)
                yield Static("", id="openhands1", markup=False)  # the 1.x files, if any
                with FieldLine(id="provider-line"):
                    yield Label("LLM Provider", classes="field-label")
                    yield Button("", id="provider", compact=True,
                                 tooltip="Pick a provider: type to search (Enter)")
                yield Static("", id="provider-guide", classes="field-note", markup=False)
                with Horizontal(classes="with-button"):
                    yield self._row("model", "s", label="LLM Model")
                    yield Button("Pick… F4", id="pick", compact=True)
                yield Static("", id="model-info", classes="field-note", markup=False)
                with Horizontal(classes="with-button"):
                    yield self._row("api_key", "s", label="API Key")
                    yield Button("Show", id="reveal", compact=True)
                yield Tick("Store the key in config.toml (plaintext, 0600)",
                           id="insecure", classes="hidden")
                yield self._row("max_budget_per_task", "s")
            with TabPane("Advanced", id="advanced"):
                # Mounted after the first screen is drawn: it is the biggest part of the app.
                yield Lazy(AdvancedPane(lambda name, label: self._row(name, "a", label),
                                        classes="pane", id="advanced-pane"))
            with TabPane("Test", id="test"):
                # Built when first opened: it imports the Markdown renderer.
                yield Static("F6 streams a short completion with these settings, unsaved "
                             "edits included.", id="test-placeholder", classes="pane")
        yield Footer()

    def _row(self, name: str, prefix: str, label: str | None = None) -> FieldRow:
        assert self.draft is not None
        f = F.BY_NAME[name]
        return FieldRow(f, self.draft.texts[name], self.draft.fallback_text(name), label=label,
                        id_prefix=prefix, show_name=prefix == "a")

    def on_mount(self) -> None:
        self.call_after_refresh(settle_heap)
        self.refresh_all()
        if self.draft is not None:
            self.sync_provider()
            # slow imports and I/O wait until the screen is drawn
            self.call_after_refresh(self.check_keyring)
            self.call_after_refresh(self.load_catalog)
            self.call_after_refresh(self.refresh_openhands1)
            self.call_after_refresh(self.set_timer, PRELOAD_IDLE_S, self.preload_when_idle)

    # -- refresh ---------------------------------------------------------------------------
    def refresh_all(self) -> None:
        self.refresh_title()
        if self.draft is None:
            return
        self.follow_accounts()
        errors = self.draft.errors()
        for row in self.query(FieldRow):
            self.refresh_row(row, errors)
        self.refresh_model_info()
        self.refresh_schedule()
        self.refresh_whole_config()

    def refresh_title(self) -> None:
        group = S.group_label(self.group)
        dirty = "  ● unsaved" if self.draft is not None and self.draft.dirty else ""
        # The group and the unsaved mark first: a long path is what gets cut at 80 columns.
        show(self.query_one("#title-bar", Static), f"llm-settings  {group}{dirty}  {self.path}")
        self.sub_title = f"{self.path} {group}"

    def refresh_row(self, row: FieldRow, errors: Mapping[str, str]) -> None:
        assert self.draft is not None
        row.show_note(self.note_for(row.field), errors.get(row.field.name))

    def note_for(self, f: F.Field) -> str:
        """Help, then where the value comes from, or what overrides it."""
        assert self.draft is not None
        v = self.draft.settings.values[f.name]
        if f.secret:
            return self.key_status(f)
        if v.source.kind == "env":
            return f"{f.help}  ⚠ overridden by {f.env}={f.to_text(v.value)}"
        if v.env_problem:
            return f"{f.help}  ⚠ {v.env_problem}"
        source = str(v.source) if self.draft.texts[f.name] == self.draft.original[f.name] \
            else "edited"
        return f"{f.help}  ({source})"

    def refresh_model_info(self) -> None:
        if self.draft is None:
            return
        model = self.draft.values().get("model") or ""
        info = self.query_one("#model-info", Static)
        found = C.find(model) if model and self.catalog_ready else None
        if found is None and model and not self.catalog_ready:
            return  # shown once the catalog is loaded, off the UI thread
        if found is None:
            show(info, "Any LiteLLM model string works (provider/model)." if model else
                 "No model set: pick one with F4.")
            return
        show(info, f"{T.summary(found)}\n⚠ OpenHands sends many requests per task: set a "
                   "budget below and a spending limit with your provider.")

    def refresh_schedule(self) -> None:
        if self.draft is None:
            return
        v = self.draft.effective()[0]  # what OpenHands would use: env overrides included
        try:
            waits = F.retry_schedule(int(v["num_retries"]), v["retry_min_wait"],
                                     v["retry_max_wait"], v["retry_multiplier"])
        except (TypeError, ValueError):
            return
        text = ", ".join(f"{w:g} s" for w in waits)
        for widget in self.query("#schedule").results(Static):  # absent until mounted
            show(widget, f"{v['num_retries']} attempts: waits {text} (total {sum(waits):g} s)"
                 if waits else "1 attempt: no retry")

    def refresh_whole_config(self) -> None:
        """What OpenHands' screen does with these rows: a field that needs a switch is off
        (or hidden) while the switch is off (``Field.needs``); the condenser size also while
        another [condenser] type rules; and the Settings pane says what Advanced holds."""
        assert self.draft is not None
        values = self.draft.effective()[0]
        kind = (self.draft.cfg.table("condenser") or {}).get("type", "noop")
        for row in self.query(FieldRow):
            f = row.field
            if f.name == "enable_default_condenser" and (note := S.condenser_note(values)):
                row.show_note(f"⚠ {note}")
            if f.needs is None:
                continue
            switch, how = f.needs
            on = bool(values[switch])
            if how == "hide":
                row.set_class(not on, "-off")
                continue
            other = f.section == "condenser" and kind not in ("llm", "noop")
            row.query_one("#input").disabled = other or not on
            if other:
                row.show_note(f"config.toml has a [condenser] of type {kind!r}: it takes "
                              "precedence and is kept as it is (edit it in the file)")
            elif not on:
                row.show_note(f"Off while {F.BY_NAME[switch].label.lower()} is off.")
        names = F.non_default(values, exclude=SETTINGS_PANE)
        summary = self.query_one("#advanced-summary", Static)
        summary.display = bool(names)
        show(summary, f"Advanced (F3): {', '.join(names)}" if names else "")

    # -- editing ---------------------------------------------------------------------------
    @on(FieldRow.Edited)
    def _edited(self, event: FieldRow.Edited) -> None:
        if self.draft is None:
            return
        name = event.row.field.name
        text = event.text
        if name == "api_key" and self.revealed is not None and text == self.revealed:
            text = ""  # the revealed stored key, unedited: not an edit
        self.draft.set_text(name, text)
        for row in self.query(FieldRow):  # the same field on the other pane
            if row.field.name == name and row is not event.row:
                row.set_text(event.text)
        if name == "model":
            self.sync_provider()
        self.refresh_all()

    def set_field(self, name: str, text: str) -> None:
        """Change a field as if typed (presets, pickers)."""
        assert self.draft is not None
        self.draft.set_text(name, text)
        for row in self.query(FieldRow):
            if row.field.name == name:
                row.set_text(text)
        self.refresh_all()

    @on(Button.Pressed, "#provider")
    def action_pick_provider(self) -> None:
        """The provider picker: type to search the catalog's providers, guides first."""
        if self.draft is None:
            return

        def search(query: str, items: list[C.Provider]) -> list[tuple[str, str]]:
            return [(p.id, provider_line(p)) for p in Q.search_providers(query, items)]

        def picked(provider: str | None) -> None:
            if provider:
                self.choose_provider(provider)

        self.push_screen(PickerScreen("LLM Provider — type to search", C.providers, search,
                                      allow_free_text=False), picked)

    @on(Button.Pressed, "#pick")
    def _pick_pressed(self) -> None:
        self.action_pick_model()

    @on(Button.Pressed, "#reveal")
    def _reveal(self) -> None:
        self.toggle_key()

    @on(Tick.Changed, "#insecure")
    def _insecure(self, event: Tick.Changed) -> None:
        if self.draft is not None:
            self.draft.insecure_storage = event.value
            self.refresh_all()

    def show_focused(self) -> None:
        """Scroll the focused field (with its note) back into view after a layout change."""
        focused = self.focused
        if focused is None or focused.screen is not self.screen:
            return
        row = next((a for a in focused.ancestors if isinstance(a, FieldRow)), focused)
        row.scroll_visible(animate=False)

    @work(thread=True, exclusive=True, group="catalog", exit_on_error=False)
    def load_catalog(self) -> None:
        C.providers()
        C.chat_models()
        self.call_from_thread(self._catalog_loaded)

    def _catalog_loaded(self) -> None:
        self.catalog_ready = True
        self.refresh_model_info()

    def preload_when_idle(self) -> None:
        """Load LiteLLM (and the Test pane) in a thread once input has been idle a moment,
        so that F6 sends at once; never on the way to the first screen."""
        if not self.preload or self.draft is None:
            return
        idle = time.monotonic() - self.last_input
        if idle < PRELOAD_IDLE_S or (preload.started() and not preload.done()):
            self.set_timer(max(PRELOAD_IDLE_S - idle, 0.1), self.preload_when_idle)
            return
        if preload.start(("tui.ui.check_pane",)):
            self.set_timer(PRELOAD_IDLE_S, self.preload_when_idle)
            return
        self.call_later(self.test_panel)  # then the Test pane, built while idle

    # -- actions ---------------------------------------------------------------------------
    def action_pane(self, pane: str) -> None:
        """Show a pane, its focus back where it was: the focus must not stay in the pane
        being left (Textual would show that pane again)."""
        if self.draft is None:
            return
        tabs = self.query_one("#panes", TabbedContent)
        if tabs.active == pane:
            return
        focused = self.focused
        if focused is not None and any(a.id == tabs.active for a in focused.ancestors):
            self.pane_focus[tabs.active] = focused
        back = self.pane_focus.get(pane)
        self.set_focus(back if back is not None and back.is_attached else None)
        tabs.active = pane

    async def test_panel(self) -> Any:
        """The Test pane's panel, built on first use."""
        from tui.ui.check_pane import LiveTestPanel

        found = self.query(LiveTestPanel)
        if found:
            return found.first()
        assert self.draft is not None
        panel = LiveTestPanel(self.test_values, id="test-panel")
        await self.query_one("#test", TabPane).mount(panel)
        await self.query_one("#test-placeholder").remove()
        return panel

    @on(TabbedContent.TabActivated, "#panes", pane="#advanced")
    def _advanced_opened(self) -> None:
        """Focus the filter: typing filters at once, PageDown scrolls (not a blank pane)."""
        if self.query_one("#panes", TabbedContent).active != "advanced":
            return  # left again already (F3 then F2): focusing would bring it back
        focused = self.focused
        if focused is None or not any(a.id == "advanced" for a in focused.ancestors):
            for box in self.query("#field-filter"):
                self.set_focus(box)  # now, not later: a key after it must find it focused

    def jump_to_group(self, group: str) -> None:
        self.action_pane("advanced")
        for pane in self.query(AdvancedPane):
            pane.jump_to(group)

    @on(TabbedContent.TabActivated, "#panes", pane="#test")
    async def _test_opened(self) -> None:
        await self.test_panel()

    async def action_run_test(self) -> None:
        if self.draft is None:
            return
        self.action_pane("test")
        (await self.test_panel()).start()

    def action_cancel_test(self) -> None:
        for panel in self.query("#test-panel"):
            panel.action_cancel()  # type: ignore[attr-defined]

    def action_setup(self) -> None:
        """The setup wizard; its answers become edits of this draft, then saved."""
        if self.draft is None:
            return
        from tui.ui.wizard import SetupWizard

        def done(result: dict[str, Any] | None) -> None:
            if not result or self.draft is None:
                return
            for name, text in result["texts"].items():
                self.set_field(name, text)
            self.sync_provider()  # from the model and base URL: a local server is not OpenAI
            if result["key"]:
                self.set_field("api_key", result["key"])
            self.draft.insecure_storage = result["insecure"]
            if self.draft.dirty:
                self.do_save()

        self.push_screen(SetupWizard(self.draft, self.environ, self.health, self.store), done)

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Save", "Save the changes (ctrl+s)", self.action_save)
        yield SystemCommand("Pick provider", "Search the providers; applies the provider's "
                            "guide", self.action_pick_provider)
        yield SystemCommand("Pick model", "Search the model catalog (F4)",
                            self.action_pick_model)
        yield SystemCommand("Switch group", "Edit another [llm.NAME] group, or create one",
                            self.action_groups)
        yield SystemCommand("Reload", "Re-read config.toml from disk", self.action_reload)
        yield SystemCommand("Run test", "Stream a completion with these settings (F6)",
                            self.action_run_test)
        yield SystemCommand("Setup wizard", "Provider, model, key, test, save — step by step",
                            self.action_setup)
        yield SystemCommand("Help", "Keys and where keys are stored (F1)", self.action_help)
        yield from self.openhands1_commands()
        for group in group_order():
            yield SystemCommand(f"Advanced: {group}", f"Go to the {group} fields",
                                partial(self.jump_to_group, group))


def settle_heap() -> None:
    """After the first screen, if the entry point paused the collector: what start-up built
    (~125k objects) lives as long as the app, so it is frozen out of the collector's walks,
    and collection resumes. Not collected first: that would take ~30 ms, and the start-up
    cycles already garbage are few (~11k objects, about 1 MB)."""
    if not gc.isenabled():
        gc.freeze()
        gc.enable()





def run(path: Path, group: str | None, setup: bool | None = None) -> None:
    """Open the app on ``path`` and ``group`` (``setup``: see :class:`SettingsApp`)."""
    SettingsApp(path, group, setup=setup).run()
