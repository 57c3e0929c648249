"""``letterhead send``: a test send from the command line, through the same
:class:`~letterhead.sending.mailer.Mailer` the application uses (same checks, same
transports).  Registered in ``cli.py`` with ``cli.add_command(send)``.

One message (``--to``, repeatable: every address on the one message), or one
message per recipient of a file (``--recipients``: a bulk send through
:meth:`Mailer.iter_send_bulk <letterhead.sending.mailer.Mailer.iter_send_bulk>`,
with progress on stderr: a bar redrawn in place on a terminal, else a line
every tenth of the way, for CI logs; none with ``--json``).

Exit codes: 0 sent (every recipient); 1 refused before sending (the data does
not fit, a bad address, configuration), by the transport (the message names
the fix), or, in a bulk send, any recipient not sent (each is named by its
line).

SES API: ``--api v2`` (or ``LETTERHEAD_SES_API``, or ``[tool.letterhead.send]
api``) sends with SES v2, which carries a template's ``[headers]``
(List-Unsubscribe); ``--json`` says which API sent (``"api"``: ``v1``,
``v2``, or null for smtp and the outbox).

Locales: ``--locale es-MX`` sends the variant the fallback chain picks
(``es_MX``, ``es``, then the default locale) and says which
(``sent coparent_invitation__es (es, asked es-MX)``); a JSON line of
``--recipients`` may carry its own ``"locale"``.
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click

from ..config import SES_APIS
from ..errors import DataError, Location
from ..locales import normalize_locale
from ..sending.mailer import TRANSPORTS, BulkResult, Mailer, Recipient, RecipientStatus, SendReceipt
from .common import Ctx, emit_json, reported

DEFAULT_OUTBOX = ".outbox"
PROGRESS_MIN = 5  # show progress from this many recipients
PROGRESS_STEPS = 10  # progress lines when stderr is not a terminal: one every tenth of the way
PROGRESS_SECONDS = 30.0  # ...and one at least this often while recipients settle (a slow, long send)
SHOWN_FAILURES = 20  # recipients not sent, named one a line; the rest are counted


def _tags(values: tuple[str, ...]) -> dict[str, str]:
    tags = {}
    for v in values:
        name, sep, value = v.partition("=")
        if not sep:
            raise DataError(f"--tag {v!r} is not NAME=VALUE", hint="e.g. --tag campaign=invite")
        tags[name] = value
    return tags


# --- the recipients file -----------------------------------------------------------------------------------


def read_recipients(text: str, where: str) -> list[Recipient]:
    """``--recipients``: one recipient a line, either an address (``a@b.c``,
    ``Name <a@b.c>``) or a JSON object ``{"to": ..., "data": {...}}``
    (``data`` is merged over ``--data``; ``tags`` and ``locale`` optional:
    the recipient's locale, over ``--locale``).  Blank lines and ``#``
    comments are skipped.  Each recipient's key is its line number.  Errors
    point at ``where:line``."""
    out: list[Recipient] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if not line.startswith(("{", "[", '"')):
            out.append(Recipient(line, {}, key=number))
            continue
        location = Location(where, number)
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"not valid JSON: {exc.msg}", location=location,
                            hint='one recipient a line: an address, or {"to": "a@b.c", "data": {...}}') from None
        if not isinstance(entry, dict) or "to" not in entry:
            raise DataError('a JSON line must be an object with "to"', location=location,
                            hint='e.g. {"to": "a@b.c", "data": {"name": "Ada"}}')
        data = entry.get("data", {})
        tags = entry.get("tags")
        if not isinstance(data, dict):
            raise DataError('"data" must be a JSON object (the template data)', location=location,
                            hint='e.g. {"to": "a@b.c", "data": {"name": "Ada"}}')
        if tags is not None and not isinstance(tags, dict):
            raise DataError('"tags" must be a JSON object of NAME: VALUE', location=location,
                            hint='e.g. "tags": {"campaign": "invite"}')
        locale = entry.get("locale")
        if locale is not None and not isinstance(locale, str):
            raise DataError('"locale" must be a string (the recipient\'s locale)', location=location,
                            hint='e.g. "locale": "es-MX"; an unknown locale gets the default locale')
        out.append(Recipient(entry["to"], data, tags=tags, key=number, locale=locale))
    return out


# --- progress -------------------------------------------------------------------------------------------------


def _stderr_is_terminal() -> bool:
    isatty = getattr(sys.stderr, "isatty", None)
    return bool(isatty and isatty())


class BulkProgress:
    """Recipients settled so far, on stderr.  On a terminal: click's bar,
    redrawn in place.  Elsewhere (CI, a log file), where a redrawn bar is
    one endless line: ``sending NAME: 30/300 (10 %)`` every tenth of the
    way, and at least every :data:`PROGRESS_SECONDS` while it moves."""

    def __init__(self, label: str, total: int, *, terminal: bool | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.label = label
        self.total = total
        self.done = 0
        self.not_sent = 0
        self.terminal = _stderr_is_terminal() if terminal is None else terminal
        self._clock = clock
        self._last_line = clock()
        self._next = 1
        self._bar: Any = None
        if self.terminal:
            self._bar = click.progressbar(length=total, label=label, file=sys.stderr, show_pos=True,
                                          show_percent=True, item_show_func=lambda _: None)
            self._bar.__enter__()

    def _threshold(self) -> int:
        return math.ceil(self._next * self.total / PROGRESS_STEPS)

    def advance(self, status: RecipientStatus) -> None:
        self.done += 1
        self.not_sent += not status.ok
        if self._bar is not None:
            self._bar.update(1)
            return
        due = self.done >= self._threshold()
        while self._next <= PROGRESS_STEPS and self.done >= self._threshold():
            self._next += 1
        if due or self._clock() - self._last_line >= PROGRESS_SECONDS:
            self._last_line = self._clock()
            pct = 100 * self.done // self.total if self.total else 100
            extra = f", {self.not_sent} not sent" if self.not_sent else ""
            click.echo(f"{self.label}: {self.done}/{self.total} ({pct} %){extra}", err=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None


# --- the command ------------------------------------------------------------------------------------------------


@click.command()
@click.argument("template")
@click.option("--to", "to", multiple=True, metavar="ADDR",
              help="Recipient (repeatable; every address gets the one message).")
@click.option("--recipients", "recipients_file", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
              default=None, metavar="FILE",
              help="Send one message per recipient of FILE (- for stdin): one a line, an address or a JSON object "
                   '{"to": ..., "data": {...}} whose data is merged over --data. Shows progress on stderr.')
@click.option("--data", "data_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="A JSON file of template data (e.g. a sample under templates_src/NAME/samples/); "
                   "required with --to, shared by every recipient with --recipients.")
@click.option("--transport", type=click.Choice(TRANSPORTS), default=None,
              help="ses (default), smtp, outbox (.eml files, nothing sent) or ses+smtp (SMTP fallback); sesv2 "
                   "and sesv2+smtp force SES v2. Default: LETTERHEAD_TRANSPORT, else ses (+smtp when SMTP_HOST "
                   "is set).")
@click.option("--api", type=click.Choice(SES_APIS), default=None,
              help="The SES API: v1 (SendTemplatedEmail) or v2 (SendEmail: sends the template's [headers], "
                   "such as List-Unsubscribe). Default: LETTERHEAD_SES_API, else [tool.letterhead.send] api, "
                   "else v1.")
@click.option("--env", "env", default=None, help="The sync environment whose deployed names to send with.")
@click.option("--reply-to", "reply_to", multiple=True, metavar="ADDR", help="Reply-To address (repeatable).")
@click.option("--tag", "tags", multiple=True, metavar="NAME=VALUE", help="An SES message tag (repeatable).")
@click.option("--locale", default=None, metavar="LOCALE",
              help="The recipient's locale (es, es-MX, pt_BR): sends the best variant (es-MX, then es, then the "
                   "default locale). With --recipients, the locale of the lines that name none.")
@click.option("--outbox-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help=f"Folder for --transport outbox (default: {DEFAULT_OUTBOX}/ in the project).")
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable result (and no progress).")
@click.pass_obj
def send(ctx: Ctx, template: str, to: tuple[str, ...], recipients_file: Path | None, data_file: Path | None,
         transport: str | None, api: str | None, env: str | None, reply_to: tuple[str, ...], tags: tuple[str, ...],
         locale: str | None, outbox_dir: Path | None, as_json: bool) -> None:
    """Send TEMPLATE to --to with the data in --data, as the application would;
    or to every recipient of a --recipients file, one message each.

    The data is checked against the template's contract first: a missing
    variable is an error naming it, and nothing is sent (in a bulk send, that
    recipient is skipped and named by its line).  Sender, region and
    configuration set come from the environment or .env (SES_SENDER_EMAIL,
    SES_SENDER_NAME, AWS_REGION, SES_CONFIGURATION_SET, AWS_ENDPOINT_URL_SES;
    SES_MAX_SEND_RATE, else the account's quota, paces a bulk send).
    A template with [headers] (List-Unsubscribe) needs SES v2 (--api v2, or
    api = "v2" in [tool.letterhead.send]), SMTP or the outbox.
    """
    from ..authoring.sources import read_json

    ctx.as_json = as_json
    with reported(ctx):
        if bool(to) == (recipients_file is not None):
            raise DataError("give --to or --recipients" + (", not both" if to else ""),
                            hint="--to ADDR for one message, --recipients FILE for one message per recipient")
        if to and data_file is None:
            raise DataError("--to needs --data", hint="--data FILE: a JSON object of template data")
        if locale is not None:
            normalize_locale(locale, what="--locale")  # a typo is refused, not sent in the default locale
        config = ctx.config
        data = read_json(data_file) if data_file is not None else {}
        if not isinstance(data, dict):
            raise DataError("the --data file must hold a JSON object", hint="e.g. {\"code\": \"048213\"}")
        recipients: list[Recipient] = []
        if recipients_file is not None:
            text = _read_text(recipients_file)
            recipients = read_recipients(text, str(recipients_file))
            if not recipients:
                raise DataError(f"no recipients in {recipients_file}",
                                hint='one a line: an address, or {"to": "a@b.c", "data": {...}}')
        if transport == "outbox" and outbox_dir is None:
            outbox_dir = config.root / DEFAULT_OUTBOX
        with Mailer.from_config(config, env=env, transport=transport, outbox_dir=outbox_dir, api=api) as mailer:
            if recipients_file is not None:
                deployed = mailer.catalog.resolve(template, locale)[0].deployed_name
                result = _send_bulk(mailer, template, recipients, data, list(reply_to), _tags(tags),
                                    progress=not as_json, locale=locale)
                _report_bulk(result, template, deployed, _used(mailer), str(recipients_file), as_json,
                             api=mailer.api)
                return
            receipt = mailer.send(template, list(to), data, reply_to=list(reply_to) or None,
                                  tags=_tags(tags) or None, locale=locale)
            outbox = getattr(mailer.transport, "messages", None)
            path = outbox[-1].path if outbox else None
            used = _used(mailer)
            used_api = mailer.api
        if as_json:
            emit_json({"ok": True, "template": receipt.template, "deployed_name": receipt.deployed_name,
                       "variant": receipt.variant, "locale": receipt.locale,
                       "requested_locale": receipt.requested_locale, "fell_back": receipt.fell_back,
                       "transport": used, "api": used_api, "message_id": receipt.message_id,
                       "eml": str(path) if path else None})
            return
        click.echo(f"sent {receipt_line(receipt)} via {used}: {receipt.message_id}")
        if path:
            click.echo(f"  written to {config.rel(path)}")
        if locale is not None and receipt.locale is None:
            click.echo(f"  --locale {locale} ignored: {config.rel(config.ses_dir)} has no locale variants", err=True)


def receipt_line(receipt: SendReceipt) -> str:
    """``coparent_invitation__es (es, asked es-MX)``; without locales, the
    name and the deployed name as before: ``email_verification (stg-email_verification)``."""
    if receipt.locale is None:
        return f"{receipt.template} ({receipt.deployed_name})"
    asked = f", asked {receipt.requested_locale}" if receipt.fell_back else ""
    deployed = f" as {receipt.deployed_name}" if receipt.deployed_name != receipt.variant else ""
    return f"{receipt.variant} ({receipt.locale}{asked}){deployed}"


def _read_text(path: Path) -> str:
    if str(path) == "-":
        return sys.stdin.read()
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(f"no file {path}", hint="--recipients FILE: one recipient a line") from None
    except UnicodeDecodeError as exc:
        raise DataError(f"{path} is not UTF-8 text ({exc.reason})", location=Location(str(path)),
                        hint="save it as UTF-8") from None


def _used(mailer: Mailer) -> str:
    used = mailer.transport.name
    if getattr(mailer.transport, "fallbacks", 0):
        used = f"{mailer.transport.secondary.name} (SES fallback)"  # type: ignore[attr-defined]
    return used


def _send_bulk(mailer: Mailer, template: str, recipients: Sequence[Recipient], data: dict[str, Any],
               reply_to: list[str], tags: dict[str, str], *, progress: bool, locale: str | None = None) -> BulkResult:
    bar = BulkProgress(f"sending {template}", len(recipients)) \
        if progress and len(recipients) >= PROGRESS_MIN else None
    statuses: list[RecipientStatus] = []
    try:
        for status in mailer.iter_send_bulk(template, recipients, reply_to=reply_to or None, tags=tags or None,
                                            default_data=data or None, locale=locale):
            statuses.append(status)
            if bar is not None:
                bar.advance(status)
    finally:
        if bar is not None:
            bar.close()
    return BulkResult(tuple(sorted(statuses, key=lambda s: s.index)))


def _report_bulk(result: BulkResult, template: str, deployed: str, used: str, where: str, as_json: bool, *,
                 api: str | None = None) -> None:
    counts = result.counts
    total = len(result.statuses)
    # sent per variant: "coparent_invitation__es (es)": 8
    variants = Counter(f"{s.variant} ({s.locale})" for s in result.sent if s.locale is not None)
    if as_json:
        emit_json({"ok": result.ok, "template": template, "deployed_name": deployed, "transport": used,
                   "api": api, "counts": counts, "locales": dict(sorted(Counter(s.locale for s in result.sent
                                                                    if s.locale is not None).items())),
                   "statuses": [s.to_dict() for s in result.statuses]})
    else:
        others = ", ".join(f"{n} {status}" for status, n in counts.items() if n and status != "sent")
        click.echo(f"sent {counts['sent']} of {total} {template} ({deployed}) via {used}"
                   + (f": {others}" if others else ""))
        if variants:
            click.echo("  " + ", ".join(f"{n} {which}" for which, n in sorted(variants.items())))
        missed = [s for s in result.statuses if not s.ok]
        for s in missed[:SHOWN_FAILURES]:
            # the line, never the address: a CI log is no place for a person's address
            reason = s.error.message if s.error is not None else s.status
            click.echo(f"  {where}:{s.key}: {s.status}: {reason}", err=True)
        if len(missed) > SHOWN_FAILURES:
            click.echo(f"  … and {len(missed) - SHOWN_FAILURES} more (--json lists every recipient)", err=True)
        hints = {s.error.hint for s in missed if s.error is not None and s.error.hint}
        if len(hints) == 1:
            click.echo(f"  fix: {hints.pop()}", err=True)
    if not result.ok:
        raise SystemExit(1)
