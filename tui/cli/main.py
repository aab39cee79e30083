"""The scriptable CLI: every subcommand calls the core, never the UI.

Exit codes: 0 ok, 1 failure, 2 usage. Errors are one sentence on stderr, never a traceback,
never a secret.
"""

from __future__ import annotations

import gc
import json
import os
import re
import sys
from typing import Any

import click

from tui.cli import export as cli_export
from tui.cli import openhands1 as cli_openhands1
from tui.cli.context import Ctx, fail
from tui.core import fields as F
from tui.core import settings as S
from tui.core.config_file import ConfigError
from tui.core.keyring_problems import for_env
from tui.core.secrets import KeyConflict, SecretStoreError, needs_write

KEY_SOURCES = """\b
Where the API key comes from, first match wins:
  1. LLM_API_KEY in the environment
  2. the OS keyring (service llm-settings, one entry per provider and host)
  3. a plaintext api_key in config.toml (only with --insecure-storage; see migrate-keys)

Which config.toml: --config PATH; else ./config.toml if it exists; else
~/.openhands/config.toml. --llm NAME works on the group [llm.NAME], whose unset
fields inherit from [llm]; only set creates a group that is not in the file."""


GROUP_NAME = re.compile(r"[A-Za-z0-9_-]+")


@click.group(invoke_without_command=True, epilog=KEY_SOURCES,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config", metavar="PATH", help="config.toml to use.")
@click.option("--llm", "group", metavar="NAME", help="Work on the group [llm.NAME].")
@click.version_option(package_name="llm-settings")
@click.pass_context
def cli(ctx: click.Context, config: str | None, group: str | None) -> None:
    """Set up the LLM backend of OpenHands: config.toml edited in place, keys in the keyring."""
    if config is not None and not config.strip():
        raise click.BadParameter("the path is empty", param_hint="--config")
    if group is not None:
        group = group.removeprefix("llm.")
        if not GROUP_NAME.fullmatch(group):
            raise click.BadParameter("a group name is letters, digits, - and _", param_hint="--llm")
    ctx.obj = Ctx(config, group)
    if ctx.invoked_subcommand is None:
        _open_app(ctx.obj)


def _open_app(obj: Ctx, setup: bool | None = None) -> None:
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise click.UsageError("the app needs a terminal; use a subcommand in scripts")
    # Importing and building the UI makes ~125k objects that live on; collections walking
    # them on the way to the first screen cost ~30 ms. The app turns the collector back on
    # at its first refresh (tui.ui.app.settle_heap).
    gc.disable()
    from tui.ui.app import run  # the UI is imported only when it is used

    run(obj.path, obj.group, setup=setup)


@cli.command()
@click.pass_obj
def setup(obj: Ctx) -> None:
    """Open the setup wizard: provider, model, key, test, save (keeps the rest of the file)."""
    _open_app(obj, setup=True)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def show(obj: Ctx, as_json: bool) -> None:
    """Every field with its value and where it comes from."""
    obj.need_group()
    s = obj.settings()
    rows = []
    for f in F.FIELDS:
        v = s.values[f.name]
        shown = S.mask(v.value) if f.secret else v.value
        source = "keyring unreadable" if v.unread else str(v.source)
        rows.append({"field": f.name, "value": None if v.unread else shown, "source": source,
                     "env": f.env, "overridden": v.overridden,
                     "overrides": str(v.below.source) if v.overridden and v.below else None,
                     "problem": v.unread or v.problem or v.env_problem,
                     "scope": "whole config" if f.shared else S.group_label(s.group)})
    if as_json:
        out = {"config": str(s.path), "exists": obj.cfg.exists, "group": S.group_label(s.group),
               "provider": s.provider, "keyring": _keyring_json(s), "fields": rows}
        click.echo(json.dumps(out, indent=2, default=str))
        return
    click.echo(f"config: {s.path}{'' if obj.cfg.exists else ' (does not exist yet)'}")
    click.echo(f"group:  {S.group_label(s.group)}    provider: {s.provider}")
    click.echo(f"keyring: {_keyring_line(s)}")
    width = max(len(f.name) for f in F.FIELDS)
    for row, f in zip(rows, F.FIELDS, strict=True):
        text = "(not set)" if row["value"] is None else (
            row["value"] if f.secret else f.to_text(row["value"]))
        source = row["source"]
        if row["overridden"]:
            source += f" (overrides {row['overrides']})"
        if s.values[f.name].unread:
            text = "(unknown)"
        elif f.secret and s.values[f.name].source.kind == "default":
            source = "not set"
        if f.shared:
            source += f" ({WHOLE} {S.table_label(S.table_of(s.group, f))})"
        line = f"{f.name:<{width}}  {text:<28} {source}"
        if row["problem"]:
            line += f"  ! {row['problem']}"
        click.echo(line.rstrip())


WHOLE = "whole config:"


def _keyring_line(s: S.Settings) -> str:
    if s.keyring is None:
        return "not checked"
    if not s.keyring.usable:
        return f"unavailable: {s.keyring.problem}"
    return s.keyring.backend + (f" ({s.keyring_problem})" if s.keyring_problem else "")


def _keyring_json(s: S.Settings) -> dict[str, Any]:
    k = s.keyring
    return {"usable": bool(k and k.usable), "backend": k.backend if k else None,
            "problem": (k.problem if k else None) or s.keyring_problem}


@cli.command()
@click.argument("field")
@click.pass_obj
def get(obj: Ctx, field: str) -> None:
    """Print the effective value of FIELD (a secret: masked, with where it lives)."""
    f = _field(field)
    obj.need_group()
    s = obj.settings(secrets=f.secret)
    v = s.values[f.name]
    if v.unread:
        click.echo(f"(unknown)\t{v.unread}")
        sys.exit(1)
    if v.problem and v.value is None:
        fail(v.problem)  # the file's value has a type OpenHands rejects
    if f.secret:
        click.echo(f"{S.mask(v.value)}\t{v.source if v.is_set else 'not set'}")
        return
    if v.value is not None:
        click.echo(f.to_text(v.value))


@cli.command(name="set", context_settings={"ignore_unknown_options": True})
@click.argument("field")
@click.argument("value", required=False)
@click.option("--insecure-storage", is_flag=True,
              help="Store a secret in config.toml (mode 0600) instead of the keyring.")
@click.pass_obj
def set_(obj: Ctx, field: str, value: str | None, insecure_storage: bool) -> None:
    """Set FIELD to VALUE. For a secret: VALUE '-' reads it from stdin, no VALUE prompts."""
    f = _field(field)
    if f.secret:
        _set_secret(obj, f, value, insecure_storage)
        return
    if value is None:
        raise click.UsageError(f"set {f.name} needs a VALUE")
    parsed = f.parse(value)
    problem = obj.missing_group() if f.section == "condenser" else None
    if problem:  # llm_config would name a group OpenHands does not have
        fail(f"{problem}: set its model first (llm-settings --llm {obj.group} set model ...)")
    edits = S.plan_set(obj.cfg, obj.group, f.name, parsed)
    new_group = obj.missing_group() is not None
    changed = obj.save(edits)
    if new_group and obj.missing_group() is None:
        click.echo(f"created {S.group_label(obj.group)} in {obj.path}", err=True)
    where = S.table_label(S.table_of(obj.group, f))
    click.echo(f"{f.name} = {f.to_text(parsed)} in {where} of {obj.path}"
               + ("" if changed else " (unchanged)"), err=True)
    if f.shared and obj.group:
        click.echo(f"note: {f.name} is not per group: it applies to the whole OpenHands "
                   f"config, not only {S.group_label(obj.group)}", err=True)
    for (_tbl, name), val in edits.items():
        if name != f.name and name in F.BY_NAME and f.section == "llm":
            click.echo(f"  also pinned {name} = {F.BY_NAME[name].to_text(val)}", err=True)
    s = obj.settings(secrets=False)
    _warn_overrides(s, [name for (_t, name) in edits if name in s.values])
    values = {n: v.value for n, v in s.values.items()}
    for _name, reason in S.cross_problems(values):
        click.echo(f"warning: {reason}", err=True)
    note = S.condenser_note(values)
    if note and f.name in ("enable_default_condenser", "condenser_max_size"):
        click.echo(f"note: {note}", err=True)


def _warn_overrides(s: S.Settings, names: list[str]) -> None:
    for name in names:
        v = s.values[name]
        if v.source.kind == "env":
            click.echo(f"note: {v.source.detail} in the environment overrides this value",
                       err=True)


def _read_secret(f: F.Field, value: str | None) -> str:
    if value is not None and value != "-":
        raise click.UsageError(
            f"refusing to take {f.name} from the command line (it would show in ps and shell "
            f"history): use 'set {f.name} -' with it on stdin, or 'set {f.name}' to be prompted")
    if value == "-" or not sys.stdin.isatty():
        secret = sys.stdin.readline().rstrip("\r\n")
    else:
        secret = click.prompt(f.label, hide_input=True, default="", show_default=False,
                              err=True)
    secret = secret.strip()
    if not secret:
        fail(f"empty {f.name}: nothing stored (the current one is kept)")
    return secret


def _set_secret(obj: Ctx, f: F.Field, value: str | None, insecure: bool) -> None:
    problem = None if insecure or f.shared else obj.missing_group()
    if problem:  # a keyring entry does not create the group: its account would be [llm]'s
        fail(f"{problem}: set its model first (llm-settings --llm {obj.group} set model ...)")
    secret = _read_secret(f, value)
    s = obj.settings(secrets=False)
    if insecure:
        obj.save(S.secret_edit(obj.group, f.name, secret), private=True)
        click.echo(
            f"WARNING: {f.name} stored in PLAINTEXT in {obj.path} "
            f"({S.table_label(S.table_of(obj.group, f))}), "
            "file mode 0600. Anyone who can read this file can use the key. "
            "Prefer the keyring: llm-settings migrate-keys.", err=True)
        return
    health = obj.store.health()
    if not health.usable:
        fail(for_env(health.problem or "", f.env))
    acct = s.account(f.name)
    try:
        obj.store.set(acct, secret)
    except SecretStoreError as e:
        fail(for_env(str(e), f.env))
    click.echo(f"{f.name} stored in the keyring ({obj.store.service}/{acct}).", err=True)
    plain = s.values[f.name]
    if plain.source.kind in ("file", "inherited"):
        click.echo(f"note: {obj.path} still holds a plaintext {f.name} ({plain.source.detail}); "
                   "'llm-settings migrate-keys' moves it out", err=True)
    if os.environ.get(f.env):
        click.echo(f"note: {f.env} in the environment overrides the keyring", err=True)


@cli.command()
@click.argument("field")
@click.pass_obj
def unset(obj: Ctx, field: str) -> None:
    """Clear FIELD: a group's field inherits from [llm]; a secret leaves the keyring."""
    f = _field(field)
    obj.need_group()
    if f.secret:
        s = obj.settings(secrets=False)
        acct = s.account(f.name)
        own = obj.cfg.table(*S.table_of(obj.group, f)) or {}
        in_file = f.name in own
        if in_file:
            obj.save(S.secret_edit(obj.group, f.name, None))
            click.echo(f"{f.name} removed from {S.table_label(S.table_of(obj.group, f))} of "
                       f"{obj.path}",
                       err=True)
        where = f"{obj.store.service}/{acct}"
        health = obj.store.health()
        if not health.usable:
            fail(f"{f.name} may still be in the keyring ({where}): "
                 f"{S.unread_text(health.problem, f)}")
        try:
            removed = obj.store.delete(acct)
        except SecretStoreError as e:
            fail(f"{f.name} may still be in the keyring ({where}): {S.unread_text(str(e), f)}")
        if removed or not in_file:
            click.echo(f"{f.name} {'removed' if removed else 'was not stored'} ({where})",
                       err=True)
        return
    edits, said = S.plan_unset(obj.cfg, obj.group, f.name)
    obj.save(edits)
    click.echo(said, err=True)


@cli.command(name="migrate-keys")
@click.option("--replace", is_flag=True,
              help="Replace a different key already in the keyring (it is lost).")
@click.pass_obj
def migrate_keys(obj: Ctx, replace: bool) -> None:
    """Move plaintext secrets from config.toml into the keyring and remove them from the file.

    A different key already in the keyring is never replaced without --replace (or a yes
    on a terminal): then nothing is moved, the file and the keyring are left as they are,
    and the exit code is 1.
    """
    health = obj.store.health()
    if not health.usable:
        fail(f"{health.problem}")
    moves: list[tuple[str | None, str, str, str, bool]] = []  # group, field, acct, key, write
    conflicts: list[str] = []
    for group in [None, *S.group_names(obj.cfg)]:
        s = S.load(obj.cfg, group, environ={})
        for name in F.SECRET_FIELDS:
            if group and F.BY_NAME[name].shared:
                continue  # [core] is read once, with [llm]
            own = obj.cfg.table(*S.table_of(group, F.BY_NAME[name])) or {}
            secret = own.get(name)
            if not isinstance(secret, str) or not secret:
                continue
            acct = s.account(name)
            earlier = next((m[3] for m in moves if m[2] == acct), secret)
            if earlier != secret:
                click.echo(f"skipped {name} of {S.group_label(group)}: {acct} already got a "
                           "different key from another group; kept in the file", err=True)
                continue
            try:
                write = needs_write(obj.store, acct, secret, replace)
            except KeyConflict as e:
                said = f"{name} of {S.group_label(group)}: {e}"
                if not (sys.stdin.isatty() and sys.stderr.isatty()) or not click.confirm(
                        f"{said}. Replace it? The key in the keyring is lost", default=False,
                        err=True):
                    conflicts.append(said)
                    continue
                write = True
            except SecretStoreError as e:
                fail(str(e))
            moves.append((group, name, acct, secret, write))
    if conflicts:
        for text in conflicts:
            click.echo(f"refused {text}", err=True)
        fail("nothing moved, file and keyring unchanged: a key is never replaced without "
             "--replace (check which key is right; 'migrate-keys --replace' overwrites the "
             "keyring's)")
    edits: S.Edits = {}
    for group, name, acct, secret, write in moves:
        try:
            if write:
                obj.store.set(acct, secret)
        except SecretStoreError as e:
            fail(str(e))
        edits.update(S.secret_edit(group, name, None))
        where = f"{obj.store.service}/{acct}"
        of = S.table_label(S.table_of(group, F.BY_NAME[name]))
        click.echo(f"moved {name} of {of} to the keyring ({where})" if write
                   else f"removed {name} of {of} from the file: the keyring "
                   f"already holds it ({where})", err=True)
    if not edits:
        click.echo(f"no plaintext secret in {obj.path}", err=True)
        return
    obj.save(edits)


@cli.command()
@click.pass_obj
def doctor(obj: Ctx) -> None:
    """Check config.toml the way OpenHands reads it; exit 1 if it would discard something."""
    from tui.core import doctor as doctor_mod

    report = doctor_mod.run(obj.path, obj.group, os.environ, obj.store)
    for finding in report.findings:
        click.echo(f"{finding.level}: {finding.message}")
    errors = sum(1 for x in report.findings if x.level == "error")
    warnings = sum(1 for x in report.findings if x.level == "warning")
    click.echo(f"{errors} error(s), {warnings} warning(s)")
    if errors:
        sys.exit(1)


@cli.command(name="test")
@click.option("--prompt", metavar="TEXT", help="What to ask (default: a one-line question).")
@click.option("--json", "as_json", is_flag=True, help="Print the events as JSON lines.")
@click.option("--as", "as_", type=click.Choice(["0.x", "1.x", "web"]), default="0.x",
              show_default=True,
              help="Test as OpenHands 0.x (config.toml), 1.x (the SDK's request, defaults "
                   "and retries) or web (1.x as the web app sends it, on its own LiteLLM).")
@click.pass_obj
def test_(obj: Ctx, prompt: str | None, as_json: bool, as_: str) -> None:
    """Stream a real completion with these settings: will OpenHands work with them?

    The answer streams to stdout; attempts, retry countdowns and the final stats go to
    stderr. Retries follow num_retries and the retry_* waits, like OpenHands. Exit 0 if the
    model answered, 1 if not; Ctrl-C stops at once.
    """
    from tui.cli.live import stream  # the live test engine, imported only when used

    obj.need_group()
    sys.exit(stream(obj.settings(), prompt, as_json, as_))


def _field(name: str) -> F.Field:
    try:
        return F.get(name)
    except F.FieldError as e:
        raise click.UsageError(str(e)) from None


cli.add_command(cli_export.export)
cli.add_command(cli_export.exec_)
cli.add_command(cli_openhands1.import_)
cli.add_command(cli_openhands1.apply)


def main(argv: list[str] | None = None) -> None:
    """Console entry point: expected errors become one line on stderr, never a traceback."""
    try:
        code = cli.main(args=argv, prog_name="llm-settings", standalone_mode=False)
        sys.exit(code if isinstance(code, int) else 0)
    except click.exceptions.Abort:
        click.echo("llm-settings: aborted", err=True)
        sys.exit(1)
    except click.UsageError as e:
        cmd = e.ctx.command_path if e.ctx else "llm-settings"
        click.echo(f"llm-settings: {e.format_message()} (see '{cmd} --help')", err=True)
        sys.exit(2)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except (ConfigError, F.FieldError, SecretStoreError) as e:
        click.echo(f"llm-settings: {e}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
    except OSError as e:
        click.echo(f"llm-settings: {e.strerror or e.__class__.__name__}"
                   + (f": {e.filename}" if e.filename else ""), err=True)
        sys.exit(1)
    except Exception as e:  # never a traceback: it could carry a secret
        click.echo(f"llm-settings: unexpected {type(e).__name__}; please report it", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()

