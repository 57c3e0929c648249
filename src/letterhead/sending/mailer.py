"""The application's sender: checked, injection-safe templated sends.

SES accepts a ``send_templated_email`` whose data does not fit the template,
returns a MessageId, and silently drops the message.  :class:`Mailer` makes
that a loud error before any call, from what ``ses_templates/`` ships (the
manifest's contracts and declared types, the payloads themselves):

1. resolve the template: logical name (and the recipient's locale: the
   variant by the fallback chain ``es-MX`` → ``es`` → default) → manifest
   entry, payload, parsed parts and the name SES stores it under
   (:mod:`letterhead.sending.catalog`);
2. refuse header trouble: addresses, reply-to and tags with a line break or
   anything an address must not hold (a second recipient, a header);
3. check the data (:func:`letterhead.authoring.validate.check_data`: declared types, then
   a full local render with SES semantics); a subject that would carry a line
   break is refused too;
4. prepare TemplateData (:func:`letterhead.authoring.safety.prepare_data`: the
   HTML-escaped ``_html`` copy the HTML part reads), render the template's
   ``[headers]`` from the same data
   (:func:`letterhead.authoring.headers.render_headers`: List-Unsubscribe with
   the recipient's token), and hand the message to the transport (SES by
   default, its v1 or v2 API: ``[tool.letterhead.send] api``,
   ``LETTERHEAD_SES_API``; see :mod:`letterhead.sending.transports`).  A
   template with headers and a transport that cannot send them (SES v1) is a
   :class:`~letterhead.errors.ConfigError` before anything is sent;
5. log one line: template, locale, status, transport, message id, recipient
   *domain*.  Never data, never a local part: a verification code or a name
   is personal.

:meth:`Mailer.send` returns a :class:`SendReceipt`: the message id (a ``str``)
that also says which variant and locale were used.

Suppression (issue 16): with a ``suppressions`` store (from ``config.events``
by :meth:`Mailer.from_config`: a local SQLite file by default), a recipient on
it is refused with :class:`~letterhead.errors.RecipientSuppressed` before
anything is sent (in bulk: status ``suppressed``).  With a ``journal`` (any
object with ``record_send``; :class:`letterhead.events.journal.Journal`),
every message sent is recorded for live rates and rendering failures.

Errors name the variable, never its value.

Bulk: :meth:`Mailer.iter_send_bulk` streams any iterable of recipients in
calls of at most 50 destinations, checks each recipient's data before it joins
a call, retries only the destinations SES reported as retryable, and yields a
:class:`RecipientStatus` for every recipient: nothing lost, nothing sent
twice.  :meth:`Mailer.send_bulk` collects them into a :class:`BulkResult`.
Each recipient may have its own locale: one call sends one variant, so
recipients of different variants never share a call.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from email.header import Header
from email.utils import formataddr
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ..authoring.headers import render_headers
from ..authoring.safety import MAX_TEMPLATE_DATA, template_data, url_paths_of
from ..authoring.validate import check_address, check_data, value_kind
from ..config import Config, check_sender_name, load_config, positive_rate, ses_api
from ..deploy.naming import Namespace, sending_namespace
from ..errors import ConfigError, DataError, DeliveryUnknown, LetterheadError, RecipientSuppressed, SendError
from .bulk import BulkResult, BulkSend, Pending, Recipient, RecipientStatus
from .catalog import CatalogItem, SendReceipt, TemplateCatalog, deployed_name
from .sendlog import FAILED, INVALID, SENT, SKIPPED, SUPPRESSED, UNKNOWN, log_send
from .transports import (
    API_ENV,
    MAX_DESTINATIONS,
    TRANSPORTS,
    Backoff,
    FallbackTransport,
    OutgoingMessage,
    SendQuota,
    SesTransport,
    SesV2Transport,
    Transport,
    make_transport,
    session_credentials,
)

if TYPE_CHECKING:  # pragma: no cover
    from ..events.model import Suppression
    from ..events.suppression import SuppressionStore

__all__ = [
    "FAILED",
    "INVALID",
    "MAX_TEMPLATE_DATA",
    "SENT",
    "SKIPPED",
    "SUPPRESSED",
    "TRANSPORTS",
    "UNKNOWN",
    "BulkResult",
    "Mailer",
    "Recipient",
    "RecipientStatus",
    "SendJournal",
    "SendReceipt",
    "TemplateCatalog",
    "check_address",
    "deployed_name",
    "format_source",
    "make_transport",
]

DEFAULT_BULK_ATTEMPTS = 5  # tries of one destination SES answered AccountThrottled/TransientFailure

_LINE_BREAK = re.compile(r"[\r\n\x00\x0b\x0c\u0085\u2028\u2029]")  # what could end or fold a header line
_TAG_OK = re.compile(r"^[A-Za-z0-9_-]{1,255}$")

log = logging.getLogger("letterhead.send")


class SendJournal(Protocol):
    """What the Mailer asks of a journal (:class:`letterhead.events.journal.Journal`
    is one): record a message SES accepted.  Called after the send; a journal
    that raises is logged, never fails the send."""

    def record_send(self, message_id: str, template: str, recipients: Sequence[str],
                    data: Mapping[str, Any]) -> None: ...


# --- header values ---------------------------------------------------------------------------


def check_addresses(value: Any, what: str, *, required: bool = True) -> tuple[str, ...]:
    if value is None or value == () or value == []:
        if required:
            raise DataError(f"no {what} address given", hint=f"pass {what}=\"someone@example.com\"")
        return ()
    items = [value] if isinstance(value, str) else list(value)
    if len(items) > MAX_DESTINATIONS:
        raise DataError(f"{len(items)} {what} addresses; SES allows {MAX_DESTINATIONS} per message",
                        hint="send one message per recipient (send_bulk)")
    return tuple(check_address(v, f"{what} address #{i + 1}" if len(items) > 1 else f"{what} address")
                 for i, v in enumerate(items))


def check_tags(tags: Mapping[str, Any] | None) -> tuple[tuple[str, str], ...]:
    """SES message tags: names and values of ASCII letters, digits, ``_`` and
    ``-``, under 256 characters (so no line break can hide in one)."""
    if not tags:
        return ()
    out = []
    for name, value in tags.items():
        if not isinstance(name, str) or not _TAG_OK.fullmatch(name):
            raise DataError("a tag name may hold only ASCII letters, digits, '_' and '-' (1 to 255)",
                            hint="rename the tag")
        if not isinstance(value, str) or not _TAG_OK.fullmatch(value):
            raise DataError(f"tag {name!r}: the value may hold only ASCII letters, digits, '_' and '-' "
                            "(1 to 255)", hint="tags are for metrics: use an id or a category, not user text")
        out.append((name, value))
    return tuple(out)


def format_source(name: str | None, email: str) -> str:
    """``"Calndr Club <noreply@calndr.club>"``; a non-ASCII name as RFC 2047
    encoded words (unfolded: SES takes Source on one line)."""
    address = check_address(email, "sender (SES_SENDER_EMAIL)")
    if not name:
        return address
    check_sender_name(name)  # the rule load_config applies, for a name passed to Mailer directly
    if name.isascii():
        return formataddr((name, address))
    # Header folds long names onto several lines; SES wants Source on one.
    encoded = re.sub(r"[\r\n]+[ \t]*", " ", Header(name, "utf-8").encode())
    return f"{encoded} <{address}>"


# --- the mailer --------------------------------------------------------------------------------------


def _env_values(config: Config | None, environ: Mapping[str, str] | None) -> dict[str, str]:
    """``.env`` beside the project (never overriding) + the environment."""
    if config is None:
        return dict(os.environ if environ is None else environ)
    values = dict(config.environ)  # .env + environment, read once by load_config
    values.update(environ or {})
    return values


class Mailer:
    """Send letterhead templates.  Thread-safe: share one per process (its
    SES transport holds the one rate limiter every thread waits on).

    Build it from the environment with :meth:`from_env` (``AWS_REGION``,
    ``SES_SENDER_EMAIL``, ``SES_SENDER_NAME``, ``SES_CONFIGURATION_SET``,
    ``AWS_ENDPOINT_URL_SES``, ``SES_MAX_SEND_RATE``, ``LETTERHEAD_ENV``,
    ``LETTERHEAD_TRANSPORT``, ``SMTP_*``; a ``.env`` file is honoured), or with
    explicit arguments here.

    ``suppressions``: a :class:`~letterhead.events.suppression.SuppressionStore`
    consulted before every send (any address of the message on it: refused).
    ``journal``: told of every message sent (see :class:`SendJournal`).
    ``api``: the SES API a transport named ``ses`` (or ``ses+smtp``) uses:
    ``"v1"`` (SendTemplatedEmail, the default) or ``"v2"`` (SendEmail with
    the template's headers: List-Unsubscribe for bulk mail).

    Headers: a template's ``[headers]`` are rendered for each message from
    its data (after the data check) and go with it; a transport that cannot
    send them (SES v1) is refused with a :class:`ConfigError` before anything
    is sent.
    """

    def __init__(
        self,
        *,
        sender_email: str,
        sender_name: str | None = None,
        ses_dir: str | Path = "ses_templates",
        transport: Transport | str = "ses",
        region: str | None = None,
        endpoint_url: str | None = None,
        configuration_set: str | None = None,
        max_send_rate: float | None = None,
        namespace: Namespace | None = None,
        client: Any = None,
        catalog: TemplateCatalog | None = None,
        bulk_attempts: int = DEFAULT_BULK_ATTEMPTS,
        backoff: Callable[[int], float] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        environ: Mapping[str, str] | None = None,
        suppressions: SuppressionStore | None = None,
        journal: SendJournal | None = None,
        api: str | None = None,
    ) -> None:
        if not sender_email:
            raise ConfigError("no sender address", hint="set SES_SENDER_EMAIL (a verified SES identity), "
                              "or pass sender_email=")
        self.source = format_source(sender_name, sender_email)
        if configuration_set is not None and not _TAG_OK.fullmatch(configuration_set):
            raise ConfigError("SES_CONFIGURATION_SET may hold only letters, digits, '_' and '-'",
                              hint="fix SES_CONFIGURATION_SET")
        self.configuration_set = configuration_set or None
        self.catalog = catalog or TemplateCatalog(ses_dir, namespace=namespace)
        if isinstance(transport, str):
            transport = make_transport(transport, environ=environ, region=region, endpoint_url=endpoint_url,
                                       max_send_rate=max_send_rate, client=client, api=api)
        self.transport = transport
        self.bulk_attempts = max(1, int(bulk_attempts))
        self._backoff = backoff or Backoff(base=0.2, cap=10.0)
        self._clock = clock
        self._sleep = sleep
        self.suppressions = suppressions
        self.journal = journal

    # -- construction ------------------------------------------------------------------------

    @classmethod
    def from_config(cls, config: Config, *, env: str | None = None, transport: Transport | str | None = None,
                    environ: Mapping[str, str] | None = None, outbox_dir: str | Path | None = None,
                    **kw: Any) -> Mailer:
        """From a loaded :class:`~letterhead.config.Config` (its root's ``.env``
        and the environment) and the project's sync namespace for ``env``.

        The suppression store is ``[tool.letterhead.events]``'s (``sqlite``
        by default: ``.letterhead/events.sqlite3`` under the root, read only
        if it exists, never created by a send; ``ses``; ``off``) unless
        ``suppressions=`` is passed (None: no check).  The journal is
        ``[tool.letterhead.events]``'s database when its ``journal`` is true
        (the default once ``topics`` are set: events are consumed) unless
        ``journal=`` is passed.

        The SES API (``api=``, else ``LETTERHEAD_SES_API``, else
        ``[tool.letterhead.send] api``, else v1) decides what the transport
        ``ses`` (and ``ses+smtp``) means: v2 makes it ``sesv2``."""
        values = _env_values(config, environ)
        env_name = env or values.get("LETTERHEAD_ENV") or None
        send = config.send
        rate = kw.pop("max_send_rate", None) or positive_rate(values.get("SES_MAX_SEND_RATE"), "SES_MAX_SEND_RATE") \
            or send.max_send_rate
        api = ses_api(kw.pop("api", None), "api") or ses_api(values.get(API_ENV), API_ENV) or send.api
        name = transport or values.get("LETTERHEAD_TRANSPORT") or ("ses+smtp" if values.get("SMTP_HOST") else "ses")
        region = kw.pop("region", None) or config.region
        endpoint_url = kw.pop("endpoint_url", None) or config.endpoint_url
        if isinstance(name, str):
            name = make_transport(name, environ=values, region=region, endpoint_url=endpoint_url, max_send_rate=rate,
                                  client=kw.pop("client", None), outbox_dir=outbox_dir, api=api)
        if "suppressions" not in kw:
            kw["suppressions"] = _open_suppressions(config, values, region, endpoint_url)
        if "journal" not in kw and config.events.journal:
            from ..events.journal import Journal

            kw["journal"] = Journal(config.events.database)
        return cls(
            sender_email=kw.pop("sender_email", None) or config.sender_email or "",
            sender_name=kw.pop("sender_name", None) or config.sender_name,
            ses_dir=kw.pop("ses_dir", None) or config.ses_dir,
            transport=name,
            configuration_set=kw.pop("configuration_set", None) or config.configuration_set,
            namespace=kw.pop("namespace", None) or sending_namespace(config, env_name),
            environ=values,
            **kw,
        )

    @classmethod
    def from_env(cls, root: str | Path | None = None, *, env: str | None = None,
                 environ: Mapping[str, str] | None = None, **kw: Any) -> Mailer:
        """From the environment, ``.env`` and ``ses_templates/`` of the project
        at (or above) ``root``, the current directory by default."""
        config = load_config(Path(root) if root is not None else None, environ=environ)
        return cls.from_config(config, env=env, environ=environ, **kw)

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> Mailer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def quota(self) -> SendQuota:
        """The SES account's quota (``get_send_quota``)."""
        ses = self._ses()
        if ses is None:
            raise ConfigError(f"the {self.transport.name} transport has no SES quota")
        return ses.quota()

    @property
    def api(self) -> str | None:
        """The SES API the sends use (``"v1"``, ``"v2"``), None without SES (smtp, outbox)."""
        ses = self._ses()
        if ses is None:
            return None
        return "v2" if isinstance(ses, SesV2Transport) else "v1"

    def _ses(self) -> SesTransport | None:
        t = self.transport
        if isinstance(t, FallbackTransport):
            t = t.primary
        return t if isinstance(t, SesTransport) else None

    # -- checking ------------------------------------------------------------------------------

    def check_suppressed(self, addresses: Sequence[str]) -> None:
        """Raise :class:`~letterhead.errors.RecipientSuppressed` when any of
        ``addresses`` (checked ones) is on the suppression list.  The message
        says why and since when, never which address."""
        if self.suppressions is None:
            return
        for i, address in enumerate(addresses):
            entry = self.suppressions.get(address)
            if entry is not None:
                who = f"recipient #{i + 1}" if len(addresses) > 1 else "the recipient"
                raise RecipientSuppressed(f"{who} is on the suppression list: {_why(entry)}",
                                          suppression=entry, hint=SUPPRESSED_HINT)

    def message(self, template: str, to: str | Sequence[str], data: Mapping[str, Any], *,
                reply_to: str | Sequence[str] | None = None, tags: Mapping[str, str] | None = None,
                locale: str | None = None) -> OutgoingMessage:
        """Everything :meth:`send` checks, without sending: the message the
        transport would get.  Raises DataError / RenderError / ConfigError."""
        item, _ = self.catalog.resolve(template, locale)
        return self._message(item, check_addresses(to, "recipient"), data,
                             check_addresses(reply_to, "reply-to", required=False), check_tags(tags))

    def render(self, template: str, data: Mapping[str, Any], *, locale: str | None = None) -> dict[str, str]:
        """The subject, html and text a recipient in ``locale`` would read (checked as a send)."""
        item, _ = self.catalog.resolve(template, locale)
        return dict(check_data(item.entry, item.payload, data, parsed=item.parsed))

    def _message(self, item: CatalogItem, to: tuple[str, ...], data: Mapping[str, Any],
                 reply_to: tuple[str, ...], tags: tuple[tuple[str, str], ...],
                 default_template_data: str = "{}") -> OutgoingMessage:
        self.check_sendable(item)
        parts = check_data(item.entry, item.payload, data, parsed=item.parsed, headers=False)
        # the headers check_data would check, rendered once: the ones sent
        headers = render_headers(item.entry.headers, data, label=f"template '{item.entry.name}': ")
        if _LINE_BREAK.search(parts["subject"]):
            raise DataError(f"template '{item.entry.name}': the subject would contain a line break "
                            f"({_subject_culprit(item, data)})",
                            hint="pass one-line values for the variables the subject prints")
        template_data = _template_data(item, data)
        return OutgoingMessage(
            template=item.entry.name,  # the variant's name (outbox files, the journal)
            template_name=item.deployed_name,
            source=self.source,
            to=to,
            template_data=template_data,
            reply_to=reply_to,
            tags=_with_default_tags(item, tags),
            configuration_set=self.configuration_set,
            parts=parts if self.transport.renders_locally else None,
            default_template_data=default_template_data,
            headers=headers,
        )

    def check_sendable(self, item: CatalogItem) -> None:
        """Raise :class:`ConfigError` when the template declares headers and
        the transport cannot send them (SES v1): before anything is sent,
        rather than a bulk message without its List-Unsubscribe."""
        declared = item.entry.headers
        if not declared or self.transport.sends_headers:
            return
        names = ", ".join(declared)
        if self._ses() is not None:  # SES v1, alone or with the SMTP fallback
            raise ConfigError(f"template '{item.entry.logical_name}' declares headers ({names}): SES v1 "
                              "SendTemplatedEmail cannot send headers",
                              hint=f'set api = "v2" in [tool.letterhead.send] or {API_ENV}=v2 (`letterhead send '
                                   "--api v2`): SES v2 sends the same stored templates, with headers; nothing "
                                   "was sent")
        raise ConfigError(f"template '{item.entry.logical_name}' declares headers ({names}): the "
                          f"{self.transport.name} transport cannot send headers",
                          hint="use the sesv2, smtp or outbox transport (or give the transport "
                               "sends_headers = True once it writes OutgoingMessage.headers); nothing was sent")

    # -- sending ------------------------------------------------------------------------------------

    def send(self, template: str, to: str | Sequence[str], data: Mapping[str, Any], reply_to: str |
             Sequence[str] | None = None, tags: Mapping[str, str] | None = None, *,
             locale: str | None = None) -> SendReceipt:
        """Check, then send one message; return the transport's message id,
        as a :class:`SendReceipt` (a ``str``) that says which variant and
        locale were used.

        ``locale``: the recipient's (``"es-MX"``, ``"pt_BR"``); the variant
        is picked by the fallback chain (``es_MX``, ``es``, then the default
        locale; an unknown locale gets the default).  Ignored by a project
        without locales, and when ``template`` names a variant itself.

        Raises DataError / RenderError (the data does not fit: nothing was
        sent), ConfigError, or a SendError subclass from the transport."""
        item, used = self.catalog.resolve(template, locale)
        logical = item.entry.logical_name
        addresses: tuple[str, ...] = ()  # logged only once checked: raw input stays out of logs
        try:
            addresses = check_addresses(to, "recipient")
            self.check_suppressed(addresses)
            message = self._message(item, addresses, data, check_addresses(reply_to, "reply-to", required=False),
                                    check_tags(tags))
        except LetterheadError as exc:
            log_send(logical, SUPPRESSED if isinstance(exc, RecipientSuppressed) else INVALID, to=addresses,
                     error=exc, locale=used)
            raise
        try:
            message_id = self.transport.send(message)
        except SendError as exc:
            log_send(logical, UNKNOWN if isinstance(exc, DeliveryUnknown) else FAILED, message.to, error=exc,
                     transport=self.transport.name, locale=used)
            raise
        log_send(logical, SENT, message.to, message_id=message_id, transport=self.transport.name, locale=used)
        self._record(message_id, item.entry.name, message.to, data)
        return SendReceipt(message_id, template=logical, variant=item.entry.name, deployed_name=item.deployed_name,
                           locale=used, requested_locale=locale)

    def _record(self, message_id: str, template: str, to: Sequence[str], data: Mapping[str, Any]) -> None:
        """Tell the journal; its failure is logged (no address), never raised:
        the message is already sent."""
        if self.journal is None:
            return
        try:
            self.journal.record_send(message_id, template, to, data)
        except Exception as exc:  # a journal must never turn a sent message into an error
            log.warning("journal: could not record message %s of template %s (%s)", message_id, template,
                        type(exc).__name__)

    def send_bulk(self, template: str, recipients: Iterable[Recipient | Mapping[str, Any] | tuple[Any, Any]],
                  *, reply_to: str | Sequence[str] | None = None, tags: Mapping[str, str] | None = None,
                  default_data: Mapping[str, Any] | None = None, workers: int = 1,
                  locale: str | None = None) -> BulkResult:
        """:meth:`iter_send_bulk`, collected (ordered by input position)."""
        statuses = sorted(self.iter_send_bulk(template, recipients, reply_to=reply_to, tags=tags,
                                              default_data=default_data, workers=workers, locale=locale),
                          key=lambda s: s.index)
        return BulkResult(tuple(statuses))

    def iter_send_bulk(self, template: str, recipients: Iterable[Recipient | Mapping[str, Any] | tuple[Any, Any]],
                       *, reply_to: str | Sequence[str] | None = None, tags: Mapping[str, str] | None = None,
                       default_data: Mapping[str, Any] | None = None, workers: int = 1,
                       locale: str | None = None) -> Iterator[RecipientStatus]:
        """Send one template to many recipients, streaming: yields a status
        for every recipient as it is settled (not in input order).

        ``recipients``: :class:`Recipient`, ``{"to", "data", "tags", "key",
        "locale"}`` mappings or ``(to, data)`` pairs, from any iterable (a
        generator keeps memory flat).  ``default_data`` is merged under each
        recipient's data before the check.  ``locale`` is the locale of the
        recipients that name none (see :meth:`send`); each recipient gets the
        variant of its locale, and one call sends one variant.  ``workers`` >
        1 keeps that many calls in flight (all share the transport's rate
        limiter).  A recipient on the suppression list is settled as
        ``suppressed``, never sent."""
        item, _ = self.catalog.resolve(template, locale)  # an unknown template fails here, before any recipient
        self.check_sendable(item)  # so do headers the transport cannot send
        reply = check_addresses(reply_to, "reply-to", required=False)
        base_tags = dict(check_tags(tags))
        default = dict(default_data or {})
        # DefaultTemplateData per variant (their raw and URL paths are their own); checked now for the first
        defaults = {item.entry.name: _template_data(item, default) if default else "{}"}
        limit = max(1, min(MAX_DESTINATIONS, self.transport.max_batch))
        bulk_default = _BulkDefaults(template, locale, reply, base_tags, default, defaults)

        def build(index: int, raw: Any, seq: int) -> Pending:
            return self._bulk_item(bulk_default, index, raw, seq)

        def on_sent(p: Pending, message_id: str) -> None:
            self._record(message_id, p.message.template, p.message.to, p.data or {})

        bulk = BulkSend(item.entry.logical_name, iter(enumerate(recipients)), build, transport=self.transport,
                        limit=limit, workers=max(1, int(workers)), attempts=self.bulk_attempts,
                        backoff=self._backoff, clock=self._clock, sleep=self._sleep,
                        on_sent=on_sent if self.journal is not None else None)
        return iter(bulk)

    def _bulk_item(self, b: _BulkDefaults, index: int, raw: Any, seq: int) -> Pending:
        locale = b.locale
        if isinstance(raw, Recipient):
            to, data, tags, key = raw.to, raw.data, raw.tags, raw.key
            locale = raw.locale if raw.locale is not None else locale
        elif isinstance(raw, Mapping):
            if "to" not in raw or "data" not in raw:
                raise DataError(f"recipient #{index + 1} needs 'to' and 'data'",
                                hint="pass Recipient(to, data) objects or {'to':…, 'data':…} mappings")
            to, data, tags, key = raw["to"], raw["data"], raw.get("tags"), raw.get("key")
            locale = raw["locale"] if raw.get("locale") is not None else locale
        elif isinstance(raw, (tuple, list)) and len(raw) == 2:
            (to, data), tags, key = raw, None, None
        else:
            raise DataError(f"recipient #{index + 1} is {value_kind(raw)}, not a recipient",
                            hint="pass Recipient(to, data) objects, mappings or (to, data) pairs")
        if not isinstance(data, Mapping):
            raise DataError("template data must be a JSON object (a dict)", hint="pass a dict of variables")
        if locale is not None and not isinstance(locale, str):
            raise DataError(f"recipient #{index + 1}: the locale is {value_kind(locale)}, not a string",
                            hint='pass a locale such as "es" or "pt-BR", or None for the default')
        item, used = self.catalog.resolve(b.template, locale)
        default_json = b.defaults.get(item.entry.name)
        if default_json is None:
            default_json = b.defaults[item.entry.name] = _template_data(item, b.default) if b.default else "{}"
        merged = {**b.default, **data} if b.default else data
        all_tags = check_tags({**b.tags, **(tags or {})})
        addresses = check_addresses(to, "recipient")
        self.check_suppressed(addresses)
        message = self._message(item, addresses, merged, b.reply_to, all_tags, default_json)
        return Pending(0.0, seq, index, key, message, data=merged if self.journal is not None else None,
                       locale=used)

# --- helpers ---------------------------------------------------------------------------------------------


@dataclass
class _BulkDefaults:
    """What every recipient of one bulk send shares (``defaults``: the
    DefaultTemplateData of each variant met so far, filled as they come)."""

    template: str
    locale: str | None
    reply_to: tuple[str, ...]
    tags: dict[str, str]
    default: dict[str, Any]
    defaults: dict[str, str]


def _with_default_tags(item: CatalogItem, tags: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    """The CloudWatch destination `letterhead setup` creates splits metrics
    by a ``template`` tag: every send carries its logical name (so every
    locale of a template counts as the template) and, in a project with
    locales, a ``locale`` tag.  Tags the caller set win."""
    given = {k for k, _ in tags}
    extra = [] if "template" in given else [("template", item.entry.logical_name)]
    if item.entry.locale and "locale" not in given:
        extra.append(("locale", item.entry.locale))
    return (*extra, *tags)

SUPPRESSED_HINT = ("nothing was sent; if the address was suppressed by mistake: "
                   "`letterhead suppression remove ADDRESS`")
_REASON_TEXT = {"bounce": "it bounced permanently", "complaint": "its owner complained (marked a message as spam)",
                "manual": "it was added by hand"}


def _why(entry: Suppression) -> str:
    """Why and since when an address is suppressed, without the address."""
    text = f"{_REASON_TEXT.get(entry.reason, entry.reason)}, on {entry.since:%Y-%m-%d %H:%M} UTC"
    if entry.message_id:
        text += f" (message {entry.message_id})"
    return text


def _open_suppressions(config: Config, values: Mapping[str, str], region: str | None,
                       endpoint_url: str | None) -> SuppressionStore | None:
    """The store ``[tool.letterhead.events]`` names, SES's with the
    credentials of ``values`` (``.env`` included)."""
    from ..events.suppression import open_suppressions

    return open_suppressions(config.events, region=region, endpoint_url=endpoint_url,
                             session_args=session_credentials(values))



def _template_data(item: CatalogItem, data: Mapping[str, Any]) -> str:
    """TemplateData exactly as SES gets it: the data plus its ``_html`` copy."""
    try:
        return template_data(data, item.entry.raw_paths, url_paths_of(item.parsed))
    except DataError as exc:
        raise DataError(f"template '{item.entry.name}': {exc.message}", hint=exc.hint) from None


def _subject_culprit(item: CatalogItem, data: Mapping[str, Any]) -> str:
    names = [name for name, var in item.entry.contract.items()
             if any("subject" in str(loc) for loc in (var.get("locations") or ()))
             and isinstance(data.get(name), str) and _LINE_BREAK.search(data[name])]
    return f"variable `{names[0]}`" if names else "a variable it prints"
