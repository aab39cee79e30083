"""The Advanced pane: every registry field by group, with a filter and jumps between groups.

OpenHands' own order comes first (Custom Model, Base URL, API Key, then the settings of the
whole config); then every other group. Typing in the filter keeps the fields whose label,
name, variable or group match; ctrl+down / ctrl+up jump to the next / previous group.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widget import Widget
from textual.widgets import Input, Label, Static

from tui.core import fields as F
from tui.ui.widgets import FieldRow

ADVANCED_FIRST = ("model", "base_url", "api_key", "api_version")
ADVANCED_LABELS = {"model": "Custom Model", "base_url": "Base URL", "api_key": "API Key",
                   "api_version": "API Version"}
WHOLE_CONFIG_NOTE = "In [core], [security] and [condenser]: one value for every [llm] group."

RowFactory = Callable[[str, str | None], FieldRow]


def group_order() -> list[str]:
    """The model first, then (as on OpenHands' screen) the whole config, then the rest."""
    return ["Model", F.WHOLE_CONFIG] + [g for g in F.GROUPS
                                        if g not in ("Model", F.WHOLE_CONFIG)]


def group_fields(group: str) -> list[str]:
    names = [f.name for f in F.FIELDS if f.group == group]
    if group == "Model":
        names = list(ADVANCED_FIRST) + [n for n in names if n not in ADVANCED_FIRST]
    return names


def matches(f: F.Field, query: str) -> bool:
    """Whether the filter text names this field: its label, name, variable or group."""
    words = (f.label, ADVANCED_LABELS.get(f.name, ""), f.name, f.env, f.group)
    return all(any(q in w.lower() for w in words) for q in query.lower().split())


def group_id(group: str) -> str:
    return "group-" + "-".join(group.lower().split())


class FieldFilter(Input):
    """The filter box; PageDown/PageUp scroll the fields, Down or Enter go to the first."""

    BINDINGS = [
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("down", "first_field", "First field", show=False),
        Binding("enter", "first_field", "First field", show=False),
    ]

    def _pane(self) -> AdvancedPane:
        return next(a for a in self.ancestors if isinstance(a, AdvancedPane))

    def action_page(self, direction: int) -> None:
        scroll = self._pane().query_one("#advanced-scroll", VerticalScroll)
        if direction > 0:
            scroll.scroll_page_down(animate=False)
        else:
            scroll.scroll_page_up(animate=False)

    def action_first_field(self) -> None:
        self._pane().focus_group(0)


class AdvancedPane(Vertical):
    """The filter above the groups; built lazily, then brought up to date by the app."""

    BINDINGS = [
        Binding("ctrl+down", "jump(1)", "Next group", show=False),
        Binding("ctrl+up", "jump(-1)", "Previous group", show=False),
        Binding("ctrl+f", "filter", "Filter", show=False),
    ]

    def __init__(self, make_row: RowFactory, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.make_row = make_row

    def compose(self) -> ComposeResult:
        yield FieldFilter(placeholder="Filter: label, name or variable · ctrl+↓/↑ next group",
                          id="field-filter", compact=True)
        yield Static("", id="filter-note", classes="hidden", markup=False)
        with VerticalScroll(id="advanced-scroll"):
            for group in group_order():
                yield Vertical(*self._group(group), classes="field-group", id=group_id(group))

    def _group(self, group: str) -> Iterable[Widget]:
        if group == F.WHOLE_CONFIG:
            yield Label(f"{group} · whole config, every group", classes="group-title",
                        id="whole-config-title")
            yield Static(WHOLE_CONFIG_NOTE, classes="group-note", markup=False)
        else:
            yield Label(group, classes="group-title")
        if group == "Retries":
            yield Static("", id="schedule", classes="group-note", markup=False)
        for name in group_fields(group):
            yield self.make_row(name, ADVANCED_LABELS.get(name))

    def on_mount(self) -> None:
        self.call_after_refresh(self.app.advanced_mounted, self)  # type: ignore[attr-defined]

    # -- filter --------------------------------------------------------------------------
    @on(Input.Changed, "#field-filter")
    def _filter(self, event: Input.Changed) -> None:
        event.stop()
        self.apply_filter(event.value)

    def apply_filter(self, query: str) -> None:
        query = query.strip()
        shown = 0
        for box in self.query(".field-group").results(Vertical):
            rows = list(box.query(FieldRow))
            for row in rows:
                row.set_class(bool(query) and not matches(row.field, query), "-filtered")
            kept = sum(not row.has_class("-filtered") for row in rows)
            box.set_class(kept == 0, "-filtered")
            for note in box.query(".group-note"):
                note.set_class(bool(query), "-filtered")
            shown += kept
        note = self.query_one("#filter-note", Static)
        note.update(f"No field matches {query!r}." if query and not shown else "")
        note.set_class(not (query and not shown), "hidden")
        self.query_one("#advanced-scroll", VerticalScroll).scroll_home(animate=False)

    def action_filter(self) -> None:
        self.query_one("#field-filter", Input).focus()

    # -- jumps -----------------------------------------------------------------------------
    def visible_groups(self) -> list[Vertical]:
        return [b for b in self.query(".field-group").results(Vertical)
                if not b.has_class("-filtered")]

    def focus_group(self, index: int) -> None:
        """Focus the first shown field of the index-th shown group, its title at the top."""
        groups = self.visible_groups()
        if not groups:
            return
        box = groups[max(0, min(index, len(groups) - 1))]
        row = next((r for r in box.query(FieldRow) if r.display
                    and not r.has_class("-filtered")), None)
        if row is not None:
            row.query_one("#input").focus(scroll_visible=False)
        box.scroll_visible(top=True, animate=False)

    def action_jump(self, step: int) -> None:
        groups = self.visible_groups()
        focused = self.screen.focused
        here = next((i for i, b in enumerate(groups)
                     if focused is not None and focused in b.walk_children()), -1)
        self.focus_group(here + step if here >= 0 else (0 if step > 0 else len(groups) - 1))

    def jump_to(self, group: str) -> None:
        """Show ``group`` (clearing a filter that hides it) and focus its first field."""
        box = self.query_one(f"#{group_id(group)}", Vertical)
        if box.has_class("-filtered"):
            self.query_one("#field-filter", Input).value = ""
            self.apply_filter("")
        self.focus_group(self.visible_groups().index(box))
