"""``letterhead suppression list|add|remove``: the addresses letterhead will
not send to, in the store ``[tool.letterhead.events] suppression`` names
(``sqlite``: the local file, ``database``; ``ses``: SES's account-level
list), or the one ``--store`` names.

``list`` prints every entry, oldest first (``--json``: all of them as JSON).
``add ADDRESS`` suppresses an address by hand (``--reason``, ``manual`` by
default; SES's list stores ``manual`` as ``bounce``); adding one already
listed keeps the first entry and says so.  ``remove ADDRESS`` lifts a
suppression.

Exit codes: 0 done (``add`` of an address already listed included); 1 an
error: configuration, AWS, a malformed address, or ``remove`` of an address
that is not on the list (a typo would otherwise pass silently; scripts that
do not care test for it or ignore exit 1).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ..errors import ConfigError, DataError
from ..events.model import Suppression
from ..events.suppression import (
    REASONS,
    SesSuppressions,
    SqliteSuppressions,
    SuppressionStore,
    normalize_address,
    open_suppressions,
)
from .common import Ctx, emit_json, reported

STORES = ("sqlite", "ses")


def _options(f: Any) -> Any:
    """--store, --region, --endpoint-url, --root, --json: every suppression command."""
    for option in reversed((
        click.option("--store", type=click.Choice(STORES), default=None,
                     help="Which list (default: [tool.letterhead.events] suppression, LETTERHEAD_SUPPRESSION)."),
        click.option("--region", default=None, help="AWS region of --store ses (default: AWS_REGION)."),
        click.option("--endpoint-url", default=None, help="SES endpoint of --store ses (local and test endpoints)."),
        click.option("--root", type=click.Path(file_okay=False, path_type=Path), default=None,
                     help="Project root (default: the nearest folder with pyproject.toml)."),
        click.option("--json", "as_json", is_flag=True, help="Print a machine-readable result."),
    )):
        f = option(f)
    return f


def _ctx(click_ctx: click.Context, root: Path | None, as_json: bool) -> Ctx:
    parent = click_ctx.obj if isinstance(click_ctx.obj, Ctx) else None
    return Ctx(root if root is not None else (parent.root if parent else None), as_json=as_json)


def open_store(ctx: Ctx, store: str | None, region: str | None, endpoint_url: str | None) -> SuppressionStore:
    """The store to manage (a seam: tests hand in a stubbed SES store)."""
    config = ctx.config
    settings = config.events
    if store is not None:
        from dataclasses import replace

        settings = replace(settings, suppression=store)
    found = open_suppressions(settings, region=region or config.region,
                              endpoint_url=endpoint_url or config.endpoint_url)
    if found is None:
        raise ConfigError("suppression is off for this project ([tool.letterhead.events] suppression = \"off\" "
                          "or LETTERHEAD_SUPPRESSION=off)",
                          hint="pass --store sqlite or --store ses to manage a list anyway")
    return found


def _where(store: SuppressionStore, ctx: Ctx) -> str:
    if isinstance(store, SqliteSuppressions):
        return f"sqlite {ctx.config.rel(store.path)}"
    if isinstance(store, SesSuppressions):
        return f"SES account-level list, region {store.region or '?'}"
    return type(store).__name__


def _line(s: Suppression) -> str:
    extra = f"  {s.detail}" if s.detail else ""
    message = f"  message {s.message_id}" if s.message_id else ""
    return f"{s.address}  {s.reason}  since {s.since:%Y-%m-%d %H:%M} UTC{message}{extra}"


@click.group("suppression", context_settings={"help_option_names": ["-h", "--help"]})
def suppression() -> None:
    """The addresses letterhead will not send to.

    Permanent bounces and complaints land here as the event consumer sees
    them; the Mailer refuses these recipients before calling SES.
    """


@suppression.command("list")
@_options
@click.pass_context
def list_(click_ctx: click.Context, store: str | None, region: str | None, endpoint_url: str | None,
          root: Path | None, as_json: bool) -> None:
    """Every suppressed address, oldest first."""
    ctx = _ctx(click_ctx, root, as_json)
    with reported(ctx):
        found = open_store(ctx, store, region, endpoint_url)
        entries = list(found)
        where = _where(found, ctx)
        if as_json:
            emit_json({"ok": True, "store": where, "count": len(entries),
                       "suppressions": [s.to_dict() for s in entries]})
            return
        if not entries:
            click.echo(f"no suppressed addresses ({where})")
            return
        for s in entries:
            click.echo(_line(s))
        click.echo(f"{len(entries)} suppressed ({where})", err=True)


@suppression.command("add")
@click.argument("address")
@click.option("--reason", type=click.Choice(REASONS), default="manual", show_default=True,
              help="Why (SES's list stores manual as bounce).")
@_options
@click.pass_context
def add(click_ctx: click.Context, address: str, reason: str, store: str | None, region: str | None,
        endpoint_url: str | None, root: Path | None, as_json: bool) -> None:
    """Suppress ADDRESS: letterhead will not send to it."""
    from ..authoring.validate import check_address

    ctx = _ctx(click_ctx, root, as_json)
    with reported(ctx):
        checked = check_address(address.strip(), "ADDRESS")
        found = open_store(ctx, store, region, endpoint_url)
        before = found.get(checked)
        entry = before or found.add(checked, reason)  # type: ignore[arg-type]
        where = _where(found, ctx)
        if as_json:
            emit_json({"ok": True, "added": before is None, "store": where, "suppression": entry.to_dict()})
            return
        if before is None:
            click.echo(f"suppressed {entry.address} ({entry.reason}; {where})")
        else:
            click.echo(f"already suppressed: {_line(entry)} ({where})")


@suppression.command("remove")
@click.argument("address")
@_options
@click.pass_context
def remove(click_ctx: click.Context, address: str, store: str | None, region: str | None,
           endpoint_url: str | None, root: Path | None, as_json: bool) -> None:
    """Lift the suppression of ADDRESS (exit 1 when it was not suppressed)."""
    ctx = _ctx(click_ctx, root, as_json)
    with reported(ctx):
        key = normalize_address(address)
        found = open_store(ctx, store, region, endpoint_url)
        where = _where(found, ctx)
        if not found.remove(key):
            raise DataError(f"that address is not on the suppression list ({where})",
                            hint="`letterhead suppression list` shows the list; addresses compare lower-cased")
        if as_json:
            emit_json({"ok": True, "removed": key, "store": where})
            return
        click.echo(f"removed {key} ({where})")
