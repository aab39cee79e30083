"""Widgets of the app: a form row per registry field and the dialogs."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.console import Group
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, OptionList, Select, Static
from textual.widgets.option_list import Option

from tui.core import fields as F

NOT_SET = "__unset__"


class FocusMark:
    """While a widget inside holds the focus, the class ``-focused``: the label is then shown
    in reverse video, which reads without colour."""

    def on_descendant_focus(self: Any) -> None:
        self.add_class("-focused")

    def on_descendant_blur(self: Any) -> None:
        self.remove_class("-focused")


class FieldLine(FocusMark, Horizontal):
    """A label and its input on one line (marked while focused)."""

    def __init__(self, *children: Any, **kwargs: Any) -> None:
        super().__init__(*children, **kwargs)
        self.add_class("field-line")


class FieldRow(FocusMark, Vertical):
    """Label, input and a note line (help, source, or the error) for one registry field, on
    one grid (app.tcss), marked while focused."""

    class Edited(Message):
        def __init__(self, row: FieldRow, text: str) -> None:
            super().__init__()
            self.row = row
            self.text = text

    def __init__(self, field: F.Field, text: str, placeholder: str, label: str | None = None,
                 compact: bool = True, id_prefix: str = "f", show_name: bool = False) -> None:
        super().__init__(classes="field-row -named" if show_name else "field-row",
                         id=f"{id_prefix}-{field.name}")
        self.show_name = show_name  # the registry name under the label (num_retries)
        self.field = field
        self._text = text
        self._placeholder = placeholder
        self._label = label or field.label
        self._compact = compact
        self.note = ""

    def compose(self) -> ComposeResult:
        f = self.field
        yield Label(self._label, classes="field-label", markup=False)
        if f.type is bool or f.choices:
            options = ([("true", "true"), ("false", "false")] if f.type is bool
                       else [(c, c) for c in f.choices])
            yield Select(options, prompt=self._placeholder or "not set", allow_blank=True,
                         value=self._text if self._text else Select.NULL,
                         compact=self._compact, id="input", tooltip=f.help)
        else:
            yield Input(self._text, placeholder=self._placeholder, compact=self._compact,
                        id="input", tooltip=f.help, password=f.secret,
                        select_on_focus=False)
        if self.show_name:
            yield Static(f.name, classes="field-name", markup=False)
        yield Static(f.help, classes="field-note", markup=False)

    @property
    def text(self) -> str:
        widget = self.query_one("#input")
        if isinstance(widget, Select):
            return "" if widget.value is Select.NULL else str(widget.value)
        assert isinstance(widget, Input)
        return widget.value

    def set_text(self, text: str) -> None:
        """Change the shown value without the user typing (e.g. a preset, the same field on
        the other pane). Posts no Edited: an echo arriving after more keys were typed would
        put the older text back."""
        self._text = text
        widget = self.query_one("#input")
        if isinstance(widget, Select):
            with widget.prevent(Select.Changed):
                widget.value = text if text else Select.NULL
        elif isinstance(widget, Input) and widget.value != text:
            with widget.prevent(Input.Changed):
                widget.value = text

    def set_placeholder(self, text: str) -> None:
        widget = self.query_one("#input")
        if isinstance(widget, Input):
            widget.placeholder = text
        elif isinstance(widget, Select):
            widget.prompt = text or "not set"

    def show_note(self, note: str, error: str | None = None) -> None:
        """The line under the input: the error (marked for no-colour terminals) or the note."""
        self.note = note
        widget = self.query_one(".field-note", Static)
        text = f"✗ {error}" if error else note
        if widget.content != text:  # an update re-lays out the whole screen: only on change
            widget.update(text)
        widget.set_class(bool(error), "-error")
        self.set_class(bool(error), "-invalid")

    @on(Input.Changed, "#input")
    @on(Select.Changed, "#input")
    def _changed(self, event: Message) -> None:
        """An edit, only when the text differs from what the row last showed: an input
        mounted late reports its first value too, which may be older than the draft."""
        event.stop()
        text = self.text
        if text != self._text:
            self._text = text
            self.post_message(self.Edited(self, text))


class Tick(Checkbox):
    """A checkbox readable without colour: X when ticked, blank when not."""

    @property
    def BUTTON_INNER(self) -> str:  # type: ignore[override]
        return "X" if self.value else " "


class ChoiceScreen(ModalScreen[str | None]):
    """A small dialog: a question and buttons; returns the chosen button's id."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel", id="cancel")]

    def __init__(self, title: str, body: str, buttons: Iterable[tuple[str, str, str]]) -> None:
        super().__init__()
        self._title = title
        self._body = body
        self._buttons = list(buttons)  # (id, label, variant)

    DIALOG_CLASSES = "dialog"

    def compose(self) -> ComposeResult:
        with Vertical(classes=self.DIALOG_CLASSES):
            yield Label(self._title, classes="dialog-title", markup=False)
            with VerticalScroll(classes="dialog-body"):
                yield from self.body()
            with Horizontal(classes="dialog-buttons"):
                for bid, label, variant in self._buttons:
                    yield Button(label, id=bid, variant=variant)  # type: ignore[arg-type]

    def body(self) -> ComposeResult:
        yield Static(self._body, markup=False)

    def on_mount(self) -> None:
        self.query(Button).first().focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id)


_DIFF_STYLES = {"+": "green", "-": "red", "@": "cyan"}


def diff_text(lines: Iterable[str]) -> Group:
    """Unified-diff lines as shown: their +/- prefixes say it all, colour is only on top.
    A changed line wraps, an unchanged one is cut (…) at the dialog's edge."""
    out = []
    for i, line in enumerate(lines):
        head = i < 2 and line.startswith(("--- ", "+++ "))
        out.append(Text(line, style="bold" if head else _DIFF_STYLES.get(line[:1], ""),
                        no_wrap=line[:1] == " ", overflow="ellipsis"))
    return Group(*out)


class SaveScreen(ChoiceScreen):
    """The save dialog: the summary of fields, then config.toml's diff, in one scrolling
    body that fills what the terminal has (PageUp/PageDown and the arrows scroll it)."""

    BINDINGS = [
        Binding("pagedown", "scroll('page_down')", "Scroll", show=False),
        Binding("pageup", "scroll('page_up')", "Scroll", show=False),
        Binding("down", "scroll('down')", "Scroll", show=False),
        Binding("up", "scroll('up')", "Scroll", show=False),
    ]

    def __init__(self, title: str, summary: str, diff: list[str]) -> None:
        super().__init__(title, summary, [("save", "Save", "primary"),
                                          ("cancel", "Keep editing", "default")])
        self.diff = diff  # as shown, line by line

    DIALOG_CLASSES = "dialog save"

    def body(self) -> ComposeResult:
        yield from super().body()
        yield Static(diff_text(self.diff), id="diff", markup=False)

    def on_mount(self) -> None:
        super().on_mount()
        self.on_resize()

    def on_resize(self) -> None:
        # Border, title, buttons and margins take 8 rows of the 90% the dialog may use.
        rows = max(4, int(self.app.size.height * 0.9) - 8)
        self.query_one(".dialog-body").styles.max_height = rows

    def action_scroll(self, how: str) -> None:
        getattr(self.query_one(".dialog-body", VerticalScroll), f"scroll_{how}")(animate=False)


class Results(OptionList):
    """The picker's list: Up on its first row, or typing, goes back to the search box."""

    def action_cursor_up(self) -> None:
        if not self.highlighted:
            self.screen.query_one("#query", Input).focus()
            return
        super().action_cursor_up()

    def on_key(self, event: Any) -> None:
        if event.is_printable and event.character:
            event.stop()
            query = self.screen.query_one("#query", Input)
            query.focus()
            query.insert_text_at_cursor(event.character)


class PickerScreen(ModalScreen[str | None]):
    """A searchable list: type to filter; Down goes into the list, where Enter picks a row.
    With ``allow_free_text``, Enter on the search box uses what was typed; without, it picks
    the first match."""

    BINDINGS = [
        Binding("escape", "dismiss(None)", "Cancel", id="cancel"),
        Binding("down", "into_list", "Next", show=False, id="next"),
    ]

    def __init__(self, title: str, items: Any, search: Any, allow_free_text: bool = True,
                 query: str = "") -> None:
        """``items()`` gives the candidates; ``search(query, items)`` gives [(id, label)];
        a label is shown as plain text (never read as markup)."""
        super().__init__()
        self._title = title
        self._items = items
        self._search = search
        self._free = allow_free_text
        self._query = query

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog picker"):
            yield Label(self._title, classes="dialog-title", markup=False)
            yield Input(self._query, placeholder="type to search", id="query",
                        select_on_focus=False)
            yield Results(id="results")
            yield Static("", id="count", classes="field-note", markup=False)

    def on_mount(self) -> None:
        self.refresh_results(self._query)
        self.query_one("#query", Input).focus()

    @on(Input.Changed, "#query")
    def _typed(self, event: Input.Changed) -> None:
        self.refresh_results(event.value)

    def refresh_results(self, query: str) -> None:
        results = self._search(query, self._items())
        options = [Option(Text(label), id=ident) for ident, label in results]
        ol = self.query_one("#results", OptionList)
        ol.set_options(options)
        free = self._free and bool(query.strip())
        # Enter on the search box uses the typed text: no row looks picked then
        ol.highlighted = 0 if options and not free else None
        hint = " · Enter uses what you typed, ↓ picks a row" if free else ""
        self.query_one("#count", Static).update(f"{len(options)} shown{hint}")

    def action_into_list(self) -> None:
        ol = self.query_one("#results", OptionList)
        if ol.option_count:  # from the search box: the first row
            ol.focus()
            ol.highlighted = 0

    @on(Input.Submitted, "#query")
    def _submit(self, event: Input.Submitted) -> None:
        typed = event.value.strip()
        ol = self.query_one("#results", OptionList)
        if self._free and typed:
            self.dismiss(typed)
        elif ol.highlighted is not None and ol.option_count:
            self.dismiss(ol.get_option_at_index(ol.highlighted).id)

    @on(OptionList.OptionSelected, "#results")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)


HELP = """\
Keys
  ctrl+s          save (shows what changes first)
  F1              this help
  F2 / F3 / F5    Settings / Advanced / Test pane
  type on F3      filter Advanced (label, name, LLM_ variable)
  ctrl+down / up  Advanced: next / previous group
  F4              pick a model from the catalog
  F6              live test: Esc cancels, R retries now during a wait
  C on Test       copy the request as curl (key as $LLM_API_KEY)
  ctrl+g          switch or create a group
  ctrl+p          command palette
  ctrl+r          reload config.toml from disk
  ctrl+q or F10   quit (asks when there are unsaved changes)
  Tab, shift+Tab  move between fields; Esc closes a dialog

Where the API key comes from, first match wins
  1. LLM_API_KEY in the environment
  2. the OS keyring (service llm-settings)
  3. a plaintext api_key in config.toml (only if you opted in)
An empty API Key field keeps the stored key: nothing is erased by
pressing Enter.

Empty field = not set in this group: the value shown in grey applies
(inherited from [llm], or the default). A value set by an LLM_*
environment variable wins over the file; the field says so.

Over SSH
  No D-Bus session means no keyring: set LLM_API_KEY, run inside
  dbus-run-session, or store the key in config.toml (plaintext,
  mode 0600) from the API Key field.
  TEXTUAL_COLOR_SYSTEM=standard and TEXTUAL_ANIMATIONS=none help
  slow links; NO_COLOR=1 is honoured.
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,f1,q", "dismiss(None)", "Close", id="close")]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog help"):
            yield Label("llm-settings help", classes="dialog-title")
            with VerticalScroll():
                yield Static(HELP, markup=False)
            yield Button("Close", id="close", variant="primary")

    @on(Button.Pressed, "#close")
    def _close(self) -> None:
        self.dismiss(None)


def show(widget: Static, text: str) -> None:
    """Update a Static only when its text changes: every update lays the screen out again."""
    if widget.content != text:
        widget.update(text)
