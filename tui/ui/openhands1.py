"""The app's side of OpenHands 1.x: a status line on the Settings pane, and import / apply
from the command palette, each shown (what changes, file by file) before anything is written.

Thin: plans, writes and keyring rules come from :mod:`tui.core.openhands1_sync`, as for the CLI.
Everything runs off the UI thread: it reads and writes files and the keyring.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import partial
from pathlib import Path
from typing import Any

from textual import work
from textual.app import SystemCommand
from textual.widgets import Static

from tui.core.config_file import ConfigError, ConfigFile
from tui.core.secrets import SecretStore, SecretStoreError
from tui.ui.widgets import ChoiceScreen

TARGETS = (("cli", "the CLI (agent_settings.json, no key: start it with llm-settings exec)"),
           ("sdk", "SDK profiles (profiles/NAME.json, no key)"),
           ("web", "the web app (settings.json; its key in plaintext there, mode 0600)"))


class OpenHands1Actions:
    """Mixed into the app: the status line and the import / apply commands."""

    path: Path
    group: str | None
    store: SecretStore
    environ: Mapping[str, str]
    draft: Any

    def openhands1_commands(self) -> Iterable[SystemCommand]:
        yield SystemCommand("OpenHands 1.x: import", "Turn the settings of OpenHands 1.x (CLI, "
                            "web app, SDK profiles) into config.toml groups; keys to the "
                            "keyring", self.action_import_1x)
        for target, what in TARGETS:
            yield SystemCommand(f"OpenHands 1.x: apply to the {target}",
                                f"Write config.toml's settings into {what}",
                                partial(self.action_apply_1x, target))

    # -- status line ---------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="openhands1", exit_on_error=False)
    def refresh_openhands1(self) -> None:
        from tui.core import openhands1_sync as Y

        try:
            line = Y.status(ConfigFile.load(self.path), self.group, self.environ)
        except ConfigError as e:
            line = f"OpenHands 1.x: {e}"
        self.call_from_thread(self._show_openhands1, line)  # type: ignore[attr-defined]

    def _show_openhands1(self, line: str) -> None:
        for widget in self.query("#openhands1").results(Static):  # type: ignore[attr-defined]
            widget.display = bool(line)
            if widget.content != line:
                widget.update(line)

    # -- import --------------------------------------------------------------------------
    def action_import_1x(self) -> None:
        self._plan_import()

    @work(thread=True, exclusive=True, group="openhands1-plan", exit_on_error=False)
    def _plan_import(self) -> None:
        from tui.core import openhands1 as O
        from tui.core import openhands1_sync as Y

        found = O.locate(self.environ)
        if not found:
            where = ", ".join(str(O.default_path(k, self.environ)) for k in O.KINDS)
            return self._say(f"No OpenHands 1.x settings found (looked at {where}).")
        try:
            cfg = ConfigFile.load(self.path)
            plan = Y.plan_import(cfg, [(f, O.read_json(f.path)) for f in found])
            moves, conflicts, skipped = ({}, [], []) if not any(
                i.secrets for i in plan.items) else Y.key_moves(self._usable_store(), plan,
                                                                False)
        except (ConfigError, SecretStoreError) as e:
            return self._say(f"Nothing imported: {e}")
        lines = Y.import_lines(plan, self.store.service, self.path)
        lines += [f"note: {note}" for note in skipped]
        refused = plan.conflicts + conflicts
        if refused:
            lines += ["", "Refused (nothing is replaced from here; the CLI's "
                      "'llm-settings import --replace' does it):", *refused]
        if refused or not plan.items:
            return self._ask("OpenHands 1.x: nothing to import", lines, None)
        self._ask("Import from OpenHands 1.x into config.toml?", lines + self._unsaved(),
                  partial(self._do_import, plan, moves))

    @work(thread=True, exclusive=True, group="openhands1-write", exit_on_error=False)
    def _do_import(self, plan: Any, moves: dict[str, tuple[str, bool]]) -> None:
        try:
            for acct, (secret, needed) in moves.items():
                if needed:
                    self.store.set(acct, secret)
            if plan.edits:
                ConfigFile.load(self.path).save(plan.edits)
        except (ConfigError, SecretStoreError) as e:
            return self._say(f"Import stopped: {e}", error=True)
        done = f"Imported {len(plan.items)} LLM(s) into {self.path}"
        self._say(done + (f"; {len(moves)} key(s) in the keyring." if moves else "."),
                  title="Imported")
        self.call_from_thread(self.action_reload)  # type: ignore[attr-defined]

    # -- apply ---------------------------------------------------------------------------
    def action_apply_1x(self, target: str) -> None:
        self._plan_apply(target)

    @work(thread=True, exclusive=True, group="openhands1-plan", exit_on_error=False)
    def _plan_apply(self, target: str) -> None:
        from tui.core import openhands1_sync as Y

        try:
            writes, notes = Y.plan_apply(ConfigFile.load(self.path), target, self.group,
                                         self.store, self.environ, insecure=target == "web")
        except (ConfigError, SecretStoreError) as e:
            return self._say(f"Not applied: {e}", error=True)
        lines: list[str] = []
        for w in writes:
            lines += [f"{w.path}:"] + ([f"  {ln}" for ln in w.lines] or ["  (unchanged)"])
        lines += [f"note: {n}" for n in notes]
        if target == "web":
            lines += ["", "The web app reads its key only from this file: it is written there "
                      "in plaintext (mode 0600)."]
        if not any(w.lines for w in writes):
            return self._ask(f"OpenHands 1.x {target}: already up to date", lines, None)
        self._ask(f"Apply config.toml to OpenHands 1.x ({target})?", lines + self._unsaved(),
                  partial(self._do_apply, writes, target))

    @work(thread=True, exclusive=True, group="openhands1-write", exit_on_error=False)
    def _do_apply(self, writes: list[Any], target: str) -> None:
        from tui.core import openhands1_sync as Y

        try:
            for w in writes:
                Y.write(w)
        except ConfigError as e:
            return self._say(f"Not applied: {e}", error=True)
        text = f"Written: {', '.join(str(w.path) for w in writes)}."
        if target == "cli":
            text += f" Start the CLI with: {Y.start_cli(self.group)}"
        self._say(text, title="Applied")
        self.call_from_thread(self.refresh_openhands1)

    # -- helpers -------------------------------------------------------------------------
    def _usable_store(self) -> SecretStore:
        health = self.store.health()
        if not health.usable:
            raise SecretStoreError(f"the keys go to the keyring, never to config.toml, and "
                                   f"{health.problem}")
        return self.store

    def _unsaved(self) -> list[str]:
        if self.draft is not None and self.draft.dirty:
            return ["", "Unsaved edits are not included: this uses config.toml as saved."]
        return []

    def _say(self, text: str, title: str = "OpenHands 1.x", error: bool = False) -> None:
        self.call_from_thread(self.notify, text, title=title,  # type: ignore[attr-defined]
                              severity="error" if error else "information", timeout=10)

    def _ask(self, title: str, lines: list[str], then: Any) -> None:
        """The dialog: what changes, then Write / Cancel (only Close when ``then`` is None)."""
        buttons = [("write", "Write", "primary"), ("cancel", "Cancel", "default")] if then \
            else [("cancel", "Close", "default")]

        def chosen(choice: str | None) -> None:
            if choice == "write" and then is not None:
                then()

        self.call_from_thread(self.push_screen,  # type: ignore[attr-defined]
                              ChoiceScreen(title, "\n".join(lines), buttons), chosen)
