"""``import`` and ``apply``: config.toml and OpenHands 1.x's own settings files."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click

from tui.core import fields as F
from tui.core import settings as S
from tui.core.secrets import SecretStoreError

if TYPE_CHECKING:
    from tui.cli.context import Ctx
    from tui.core.openhands1 import Found, JsonDoc
    from tui.core.openhands1_sync import ImportPlan

def fail(message: str) -> NoReturn:
    from tui.cli.context import Fail

    raise Fail(message)


@click.command(name="import")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--remove-plaintext", is_flag=True,
              help="Then remove the imported keys from the CLI's and the SDK's files.")
@click.option("--dry-run", is_flag=True, help="Only show what would change.")
@click.option("--replace", is_flag=True,
              help="Replace a different key in the keyring, and values config.toml has.")
@click.pass_obj
def import_(obj: Ctx, paths: tuple[Path, ...], remove_plaintext: bool, dry_run: bool,
            replace: bool) -> None:
    """Turn OpenHands 1.x's settings (CLI, web app, SDK profiles) into config.toml groups.

    PATHS are files or persistence folders; without them the folders OpenHands 1.x uses are
    read (OPENHANDS_PERSISTENCE_DIR, OH_PERSISTENCE_DIR, FILE_STORE_PATH, ~/.openhands).
    The active LLM becomes [llm] when [llm] is empty, else [llm.cli] / [llm.web]; each
    profile becomes [llm.NAME]. Keys go to the keyring, never to config.toml; a different key
    already there is never replaced without --replace (exit 1, nothing changed).
    """
    from tui.core import openhands1 as O
    from tui.core import openhands1_sync as Y

    found = [f for p in paths for f in O.found_at(p.expanduser())] if paths else \
        O.locate(os.environ)
    if not found:
        where = ", ".join(str(O.default_path(k, os.environ)) for k in O.KINDS)
        fail(f"no OpenHands 1.x settings found (looked at {where})")
    docs = [(f, O.read_json(f.path)) for f in found]
    plan = Y.plan_import(obj.cfg, docs, replace)
    for line in Y.import_lines(plan, obj.store.service, obj.path):
        click.echo(line)
    if plan.conflicts:
        for text in plan.conflicts:
            click.echo(f"refused: {text}", err=True)
        fail("nothing imported: config.toml's values are kept unless you add --replace")
    moves = _keyring_plan(obj, plan, replace, dry_run)
    removals = _removals(plan, moves, docs) if remove_plaintext else {}
    for path, targets in removals.items():
        click.echo(f"remove {', '.join(sorted({k for _w, k in targets}))} from {path}")
    if dry_run:
        click.echo("dry run: nothing written")
        return
    for acct, (secret, write) in moves.items():
        if write:
            try:
                obj.store.set(acct, secret)
            except SecretStoreError as e:
                fail(str(e))
    if plan.edits:
        obj.save(plan.edits)
    click.echo(f"imported {len(plan.items)} LLM(s) into {obj.path}"
               + (f", {len(moves)} key(s) in the keyring" if moves else ""), err=True)
    for path, targets in removals.items():
        doc = next(d for f, d in docs if f.path == path)
        kind = next(f.kind for f, _d in docs if f.path == path)
        O.write_json(path, O.without_secrets(doc, targets), doc.raw, O.lock_target(kind, path))
        click.echo(f"removed the key from {path} (mode 0600); it is in the keyring", err=True)
    if remove_plaintext:
        for path in {i.source.path for i in plan.items if i.source.kind == O.WEB and i.secrets}:
            click.echo(f"kept the key in {path}: the web app reads its key only from that "
                       "file (no environment variable can give it one)", err=True)


def _keyring_plan(obj: Ctx, plan: ImportPlan, replace: bool, dry_run: bool
                  ) -> dict[str, tuple[str, bool]]:
    """account -> (secret, needs writing); fails on a key it would replace (never-destroy)."""
    from tui.core.openhands1_sync import key_moves

    if not any(i.secrets for i in plan.items):
        return {}
    health = obj.store.health()
    if not health.usable:
        if dry_run:
            click.echo(f"note: the keyring was not checked: {health.problem}")
            return {i.accounts[n]: (s, True) for i in plan.items for n, s in i.secrets.items()}
        fail(f"nothing imported: the keys go to the keyring, never to config.toml, and "
             f"{health.problem}")
    try:
        moves, conflicts, skipped = key_moves(obj.store, plan, replace)
    except SecretStoreError as e:
        fail(str(e))
    for text in skipped:
        click.echo(text, err=True)
    if conflicts:
        for text in conflicts:
            click.echo(f"refused {text}", err=True)
        fail("nothing imported, config.toml and keyring unchanged: a key is never replaced "
             "without --replace (check which key is right)")
    return moves


def _removals(plan: ImportPlan, moves: dict[str, tuple[str, bool]],
              docs: list[tuple[Found, JsonDoc]]) -> dict[Path, list[tuple[tuple[str, ...], str]]]:
    """path -> [(object path, key)] of the keys now safe in the keyring (CLI and SDK files)."""
    from tui.core import openhands1 as O

    out: dict[Path, list[tuple[tuple[str, ...], str]]] = {}
    for item in plan.items:
        src = item.source
        if src.kind == O.WEB:
            continue
        for name, secret in item.secrets.items():
            if moves.get(item.accounts[name], ("", False))[0] != secret:
                continue
            key = F.BY_NAME[name].sdk_name or name
            doc = next(d for f, d in docs if f.path == src.path)
            targets = out.setdefault(src.path, [])
            targets.append((src.where, key))
            cond = O.at(doc.data, ("condenser", "llm"))
            if src.kind == O.CLI and isinstance(cond, dict) and cond.get(key) == secret:
                targets.append((("condenser", "llm"), key))
    return out


@click.command()
@click.option("--to", "target", type=click.Choice(["cli", "sdk", "web"]), required=True,
              help="Which OpenHands 1.x settings to write.")
@click.option("--dry-run", is_flag=True, help="Only show what would change.")
@click.option("--insecure-storage", is_flag=True,
              help="web: write the keys into settings.json (plaintext, mode 0600).")
@click.option("--llm", "group", metavar="NAME",
              help="The group for the active LLM (cli, web); as the global --llm.")
@click.pass_obj
def apply(obj: Ctx, target: str, dry_run: bool, insecure_storage: bool,
          group: str | None) -> None:
    """Write config.toml's settings into OpenHands 1.x's own files.

    \b
    cli: llm and condenser.llm of agent_settings.json, api_key null (start it with
         llm-settings exec -- openhands --override-with-envs);
    sdk: one profile per group in profiles/ (the group's name; [llm] is 'llm'), no key;
    web: agent_settings.llm (--llm NAME, else [llm]) and llm_profiles of settings.json; the
         web app needs the key in that file, so only with --insecure-storage.
    Every other key of the files is kept; a file changed since it was read is not written.
    """
    from tui.core import openhands1 as O
    from tui.core import openhands1_sync as Y

    if group is not None:
        group = group.removeprefix("llm.")
        if not O.GROUP_NAME.fullmatch(group):
            raise click.BadParameter("a group name is letters, digits, - and _",
                                     param_hint="--llm")
        obj.group = group
    obj.need_group()
    writes, notes = Y.plan_apply(obj.cfg, target, obj.group, obj.store, os.environ,
                                 insecure_storage)
    for w in writes:
        click.echo(f"{w.path}{' (new file)' if w.doc.raw is None else ''}:")
        for line in w.lines or ["(no change)"]:
            click.echo(f"  {line}")
    for note in notes:
        click.echo(f"note: {note}")
    if dry_run:
        click.echo("dry run: nothing written")
        return
    for w in writes:
        if w.raw == w.doc.raw and w.doc.mode == 0o600:
            continue
        Y.write(w)
        click.echo(f"wrote {w.path} (mode 0600)", err=True)
    _env_notes(obj)
    llm = f" --llm {obj.group}" if obj.group else ""
    if target == "cli":
        click.echo("start the CLI with the key from the keyring:", err=True)
        click.echo(Y.start_cli(obj.group))
    elif target == "sdk":
        click.echo("the profiles carry no key: give it at run time, e.g. "
                   f"llm-settings{llm} exec -- python your_app.py (LLM_API_KEY)", err=True)
    else:
        click.echo(f"WARNING: the API keys are in PLAINTEXT in {writes[0].path} (mode 0600), "
                   "as the web app needs them", err=True)


def _env_notes(obj: Ctx) -> None:
    """Say which LLM_* variables of this shell were not written (exec passes them on)."""
    s = S.load(obj.cfg, obj.group, environ=os.environ)
    for v in s.values.values():
        if v.source.kind == "env" and v.field.sdk_name and not v.field.secret:
            click.echo(f"note: {v.source.detail} in the environment is not written into the "
                       "files (llm-settings exec passes it on)", err=True)
    sys.stdout.flush()
