"""The API Key field, mixed into the app: where the key lives, Show and Hide, F4 and F6."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import work
from textual.widgets import Button, Input

from tui.core import fields as F
from tui.core import settings as S
from tui.core.draft import Draft, read_keyring
from tui.core.secrets import KeyringHealth, SecretStore
from tui.ui.widgets import FieldRow, Tick

# -- the API Key field -------------------------------------------------------------------
# Where the key of the draft's current keyring account lives, Show and Hide, the plaintext box,
# and the keys F4 and F6 send. A key goes only to the endpoint whose keyring entry holds it: the
# stored keys are read for the accounts the draft's provider and base URL name now
# (:func:`tui.core.draft.read_keyring`, the saved settings' own rule), again whenever those change.
if TYPE_CHECKING:
    from textual.app import App

    _Base = App[None]
else:
    _Base = object


class KeyField(_Base):
    """Mixed into the app: the state and logic of the API Key field."""

    draft: Draft | None
    store: SecretStore
    environ: Any
    health: KeyringHealth | None
    setup: bool | None
    keys_typed: bool
    stored: S.Settings | None
    _stored_for: dict[str, str | None] | None
    _asked_for: dict[str, str | None] | None
    revealed: str | None
    _revealed_for: dict[str, str | None] | None

    def init_keys(self) -> None:
        # The stored keys for the draft's keyring accounts, read off the UI thread; the
        # accounts they were read for, and the ones being read now.
        self.stored = self._stored_for = self._asked_for = None
        self.revealed = None  # the stored key Show put in the field
        self._revealed_for = None  # ... and the accounts it belongs to

    def follow_accounts(self) -> None:
        """Another provider or base URL names another keyring entry: read it, and hide a key
        Show revealed for the previous one."""
        assert self.draft is not None
        accounts = self.draft.accounts()
        if accounts != self._asked_for and self.health is not None:
            self.check_keyring()
        if self.revealed is not None and accounts != self._revealed_for:
            self.hide_key()

    def key_status(self, f: F.Field) -> str:
        """Where the key a save would leave lives, for the draft's current account."""
        assert self.draft is not None
        if self.environ.get(f.env):
            return f"from {f.env} in the environment (wins over the keyring)"
        unusable = self.health is not None and not self.health.usable
        box = ("with the box below" if f.name == "api_key"
               else "with the plaintext box on the Settings pane")
        problem = (self.health.problem_in_app(box, f.env) or "no usable keyring"
                   ) if unusable else ""
        if self.draft.texts[f.name].strip():
            if unusable and not self.draft.insecure_storage:
                return problem
            return f"new key: saving puts it in {self.draft.key_destination(self.store, f.name)}"
        stored = self.stored if self._stored_for == self.draft.accounts() else None
        if stored is None or self.health is None:
            return "checking the keyring…"
        v = stored.values[f.name]
        if v.source.kind == "keyring":
            return f"stored in the keyring ({v.source.detail}) · empty field keeps it"
        state = ""
        if stored.keyring_problem:
            state = f"could not read the keyring: {stored.keyring_problem}"
        elif unusable:
            state = problem
        if v.is_set:
            where = f"in config.toml, plaintext ({v.source.detail}) · empty field keeps it"
            return f"{where} · {state}" if state else where
        return state or "not set"

    def toggle_key(self) -> None:
        """Show: the typed key, else the stored one read from where it lives; Hide: hidden
        again (a revealed key left as it was is not an edit, and is not saved again)."""
        if self.draft is None:
            return
        if self.revealed is not None or not self.key_inputs()[0].password:
            self.hide_key()
            return
        if not self.draft.texts["api_key"]:
            key = self.keys()["api_key"].value
            if key:
                self.revealed, self._revealed_for = key, self.draft.accounts()
                for row in self.query(FieldRow):
                    if row.field.name == "api_key":
                        row.set_text(key)
        for widget in self.key_inputs():
            widget.password = False
        self.query_one("#reveal", Button).label = "Hide"

    def key_inputs(self) -> list[Any]:
        return [row.query_one("#input", Input) for row in self.query(FieldRow)
                if row.field.name == "api_key"]

    def hide_key(self) -> None:
        """Mask the key field; a stored key Show put there (unedited) leaves it."""
        if self.revealed is not None and self.draft is not None \
                and not self.draft.texts["api_key"]:
            for row in self.query(FieldRow):
                if row.field.name == "api_key":
                    row.set_text("")
        self.revealed = None
        for widget in self.key_inputs():
            widget.password = True
        for button in self.query("#reveal").results(Button):
            button.label = "Show"

    def refresh_tick(self) -> None:
        """The plaintext box: shown when there is no usable keyring or the key is in the
        file, and ticked exactly when a save writes the key to the file."""
        if self.draft is None:
            return
        for tick in self.query("#insecure").results(Tick):
            usable = self.health is not None and self.health.usable
            tick.set_class(usable and self.draft.plaintext("api_key") is None, "hidden")
            if tick.value != self.draft.insecure_storage:
                with tick.prevent(Tick.Changed):
                    tick.value = self.draft.insecure_storage

    # -- workers ---------------------------------------------------------------------------
    def check_keyring(self) -> None:
        """Read the keyring health and the stored keys of the draft's accounts, off the UI
        thread (never blocks the screen)."""
        target = self.draft.target() if self.draft is not None else None
        self._asked_for = self.draft.accounts(target) if self.draft is not None else None
        self._read_keys(target, self._asked_for)

    @work(thread=True, exclusive=True, group="keyring", exit_on_error=False)
    def _read_keys(self, target: S.Settings | None,
                   accounts: dict[str, str | None] | None) -> None:
        health = self.store.health()
        stored = read_keyring(target, self.store) if target is not None else None
        self.call_from_thread(self._keyring_checked, health, stored, accounts)

    def _keyring_checked(self, health: KeyringHealth, stored: S.Settings | None,
                         accounts: dict[str, str | None] | None) -> None:
        self.health = health
        if self.draft is not None and accounts == self.draft.accounts():
            self.stored, self._stored_for = stored, accounts
        self.refresh_tick()
        self.refresh_all()
        self.call_after_refresh(self.show_focused)  # the key's note may have grown
        if self.stored is not None and (self.setup or (self.setup is None
                                                       and self.first_run())):
            auto, self.setup = self.setup is None, False  # once
            if auto and self.keys_typed:
                # never pulled over a field the user is typing in
                self.notify("No model and no key yet: the Setup wizard is in the command "
                            "palette (ctrl+p).", title="First run", timeout=10)
                return
            self.action_setup()

    def keys(self) -> dict[str, S.Value]:
        """The keys a save would leave, for the draft's current accounts (read now if the
        last read was for other accounts)."""
        assert self.draft is not None
        target = self.draft.target()
        stored = self.stored if self._stored_for == self.draft.accounts(target) else \
            read_keyring(target, self.store)
        return self.draft.keys(stored)

    def test_values(self) -> tuple[dict[str, Any], list[str]]:
        """What the live test sends: the draft as saved, with the keys of its accounts."""
        assert self.draft is not None
        values, unsaved = self.draft.effective()
        for name, v in self.keys().items():
            values[name] = v.value
        for name in self.draft.unset():  # the default of the OpenHands tested applies
            values.pop(name, None)
        return values, unsaved

    def first_run(self) -> bool:
        """No model in the file and no key anywhere: the wizard opens by itself."""
        if self.draft is None:
            return False
        key = self.stored.values["api_key"] if self.stored is not None else None
        return not self.draft.settings.values["model"].is_set and not (key and key.is_set)
