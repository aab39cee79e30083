"""Saving, reloading, switching [llm] groups and quitting: the app's file actions, mixed in."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import work
from textual.widget import Widget

from tui.core import fields as F
from tui.core import settings as S
from tui.core.config_file import ConfigChangedError, ConfigError
from tui.core.secrets import SecretStoreError
from tui.ui.widgets import ChoiceScreen, FieldRow, PickerScreen, SaveScreen

if TYPE_CHECKING:
    from textual.app import App

    _Base = App[None]
else:
    _Base = object


class FileActions(_Base):
    """Mixed into the app: save (after showing the changes), reload, groups, quit."""

    def action_save(self) -> None:
        if self.draft is None:
            self.notify("Nothing can be saved: the file could not be read.", severity="error")
            return
        errors = self.draft.errors()
        if errors:
            name, reason = next(iter(errors.items()))
            self.save_toast(f"{F.BY_NAME[name].label} ({name}): {reason}", title="Not saved",
                            severity="error")
            self.focus_field(name)
            return
        changes = self.draft.changes()
        if not changes:
            self.notify("No changes to save.")
            return
        body = "\n".join(self.draft.summary())
        if any(F.BY_NAME[c.name].secret for c in changes):
            body += f"\n\nThe key goes to {self.draft.key_destination(self.store)}."
        try:
            diff = self.draft.file_diff() or [f"{self.path.name} does not change."]
        except ConfigError as e:
            diff = [f"✗ {e}"]
        self.push_screen(SaveScreen(f"Save to {self.path.name}?", body, diff),
                         lambda choice: self.do_save() if choice == "save" else None)

    def focus_field(self, name: str) -> None:
        for row in self.query(FieldRow):
            if row.field.name == name:
                pane = "settings" if row.id and row.id.startswith("s-") else "advanced"
                self.action_pane(pane)
                row.query_one("#input").focus()
                return

    @work(thread=True, exclusive=True, group="save", exit_on_error=False)
    def do_save(self, then_quit: bool = False, then: Any = None) -> None:
        """Save off the UI thread; then quit, or run ``then()`` (e.g. a group switch)."""
        assert self.draft is not None
        try:
            done = self.draft.save(self.store)
        except ConfigChangedError as e:
            self.call_from_thread(self.save_toast, f"{e} Press ctrl+r to reload (edits are "
                                  "kept).", title="Not saved", severity="error", timeout=10)
            return
        except (ConfigError, F.FieldError, SecretStoreError) as e:
            self.call_from_thread(self.save_toast, str(e), title="Not saved",
                                  severity="error", timeout=10)
            return
        self.call_from_thread(self._saved, done, then_quit, then)

    def save_toast(self, message: str, **kwargs: Any) -> None:
        """The outcome of a save, replacing what earlier saves said."""
        self.clear_notifications()
        self.notify(message, **kwargs)

    def _saved(self, done: list[str], then_quit: bool, then: Any = None) -> None:
        self.save_toast("\n".join(done) or "Saved.", title="Saved")
        if then_quit:
            self.exit()
            return
        if then is not None:
            then()
            return
        self.rebuild()

    def rebuild(self) -> None:
        """Re-read the draft into every row (after save, reload or a group switch)."""
        self.revealed = None
        self.stored = self._stored_for = None  # the file or the keyring changed: read again
        self.check_keyring()
        self.refresh_rows()
        self.hide_key()
        self.refresh_openhands1()

    def refresh_rows(self) -> None:
        if self.draft is None:
            return
        for row in self.query(FieldRow):
            row.set_text(self.draft.texts[row.field.name])
            row.set_placeholder(self.draft.fallback_text(row.field.name))
        self.refresh_tick()
        self.sync_provider()
        self.refresh_all()

    def advanced_mounted(self, pane: Widget) -> None:
        """The Advanced pane's rows were built from the draft of the first screen: bring them
        up to date (only them: an edit on the Settings pane may still be on its way)."""
        if self.draft is None:
            return
        for row in pane.query(FieldRow):
            row.set_text(self.draft.texts[row.field.name])
        self.refresh_all()
        self.show_focused()

    def action_reload(self) -> None:
        """Re-read config.toml; unsaved edits are re-applied on top."""
        edits = {c.name: c.new for c in self.draft.changes()} if self.draft else {}
        was_broken = self.draft is None
        self._load()
        if self.draft is None:
            self.notify(self.load_error or "cannot read the file", severity="error")
            return
        if was_broken:
            self.refresh(recompose=True)
            self.call_after_refresh(self.on_mount)
            return
        for name, text in edits.items():
            self.draft.set_text(name, text)
        self.rebuild()
        self.notify(f"Reloaded {self.path}" + (f"; {len(edits)} edit(s) kept" if edits else ""))

    def action_groups(self) -> None:
        if self.draft is None:
            return
        groups = [None, *S.group_names(self.draft.cfg)]

        def items() -> list[str | None]:
            return groups

        def search(query: str, names: list[str | None]) -> list[tuple[str, str]]:
            out = [("__llm__" if g is None else g, S.group_label(g)) for g in names
                   if query.lower() in S.group_label(g).lower()]
            if query and query not in S.group_names(self.draft.cfg):  # type: ignore[union-attr]
                out.append((f"__new__{query}", f"Create [llm.{query}]"))
            return out

        def chosen(ident: str | None) -> None:
            if ident is None:
                return
            name = None if ident == "__llm__" else ident.removeprefix("__new__")
            reason = check_group_name(name) if ident.startswith("__new__") else None
            if reason:
                self.notify(reason, severity="error")
                return
            self.guard(lambda: self.switch_group(name))

        # The typed name has its own row ("Create [llm.NAME]"): Enter picks the first row.
        self.push_screen(PickerScreen("Group — pick one, or type a new name", items, search,
                                      allow_free_text=False), chosen)

    def switch_group(self, group: str | None) -> None:
        self.group = group
        self._load()
        self.rebuild()
        created = group and self.draft and group not in S.group_names(self.draft.cfg)
        self.notify(f"Now editing {S.group_label(group)}"
                    + (" (new: created when you save)" if created else ""))

    def guard(self, then: Any) -> None:
        """Run ``then`` now, or after Save / Discard when there are unsaved changes."""
        if self.draft is None or not self.draft.dirty:
            then()
            return
        body = "\n".join(c.line() for c in self.draft.changes())

        def chosen(choice: str | None) -> None:
            if choice == "discard":
                self.draft.reset()  # type: ignore[union-attr]
                then()
            elif choice == "save":
                self.do_save(then=then)  # the switch happens once the save succeeded

        self.push_screen(ChoiceScreen("Unsaved changes", body,
                                      [("save", "Save", "primary"),
                                       ("discard", "Discard", "error"),
                                       ("keep", "Keep editing", "default")]), chosen)

    async def action_quit(self) -> None:
        if self.draft is None or not self.draft.dirty:
            self.exit()
            return
        body = "\n".join(c.line() for c in self.draft.changes())

        def chosen(choice: str | None) -> None:
            if choice == "save":
                self.do_save(then_quit=True)
            elif choice == "discard":
                self.exit()

        self.push_screen(ChoiceScreen("Quit with unsaved changes?", body,
                                      [("save", "Save", "primary"),
                                       ("discard", "Discard", "error"),
                                       ("keep", "Keep editing", "default")]), chosen)


def check_group_name(name: str) -> str | None:
    if not name or not all(c.isalnum() or c in "-_" for c in name):
        return "a group name is letters, digits, - and _"
    if name in F.BY_NAME:
        return f"{name!r} is a setting's name; OpenHands would misread the group"
    return None
