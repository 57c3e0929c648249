"""Where a checked message goes: SES (the default), SMTP (the migration
fallback), an outbox (development and tests), or SES with SMTP behind it.

The sender (:mod:`letterhead.sending.mailer`) hands every transport the same
:class:`OutgoingMessage`: data already checked against the template's
contract, TemplateData already prepared (the ``_html`` copy), header values
already refused if they hold a line break.  A transport only delivers:

* :class:`SesTransport` calls ``send_templated_email`` /
  ``send_bulk_templated_email``; SES renders.  It paces every attempt with one
  :class:`~letterhead.aws.ratelimit.RateLimiter` (the account's MaxSendRate, from
  the configuration or ``get_send_quota``), retries Throttling with jittered
  exponential backoff, and turns AWS errors into typed
  :class:`~letterhead.errors.SendError` subclasses carrying the fix.
* :class:`SmtpTransport` renders locally with the SES-faithful renderer (the
  parts come rendered in the message) into multipart/alternative and sends
  with :mod:`smtplib`.
* :class:`OutboxTransport` keeps messages in memory and, given a folder,
  writes each as an ``.eml`` file.
* :class:`FallbackTransport` tries the first and uses the second only when the
  first says SES is unreachable or sending is paused (``SendError.fallback``);
  never for bad input, which never reaches a transport.

Never sent twice: botocore's own retries are off for sends.  letterhead
retries only answers that prove nothing was sent (Throttling, 503, a
connection that was never made); a read timeout, a dropped connection or an
internal error may have sent the message, so it becomes
:class:`~letterhead.errors.DeliveryUnknown` and is not retried or handed to
the fallback.
"""

from __future__ import annotations

import json
import logging
import random
import re
import smtplib
import ssl
import threading
import time
from dataclasses import dataclass, field
from email.header import decode_header, make_header
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import formatdate, make_msgid, parseaddr
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from ..config import check_sender_name
from ..errors import (
    ConfigError,
    DeliveryUnknown,
    SendError,
    SesUnreachable,
    SmtpError,
    Throttled,
)
from ..aws.client import make_client as make_aws_client
from ..aws.client import make_session, retry_config
from ..aws.errors import redact_addresses as redact  # noqa: F401 (the name sending exported)
from ..aws.errors import send_hint, ses_error, translate_send
from ..aws.loopback import is_loopback_host
from ..aws.quota import SendQuota
from ..aws.ratelimit import RateLimiter
from ..aws.redact import install_log_redaction

log = logging.getLogger("letterhead.send")

MAX_DESTINATIONS = 50  # SES: destinations per SendBulkTemplatedEmail (moto: recipients per call)
SANDBOX_RATE = 1.0  # messages a second in the SES sandbox: the pace when nothing better is known
DEFAULT_MAX_ATTEMPTS = 8  # tries of one call answered Throttling, the first included
DEFAULT_CONNECT_ATTEMPTS = 2  # tries of one call whose connection could not be made
DEFAULT_BURST_SECONDS = 0.5  # the limiter's bucket: this much of a second's rate

# SES v1 bulk statuses (BulkEmailDestinationStatus.Status) a later call may turn into Success.
RETRYABLE_STATUSES = frozenset({"AccountThrottled", "TransientFailure"})

# --- the message every transport receives ------------------------------------------------


@dataclass(frozen=True)
class OutgoingMessage:
    """One checked message.  ``template_data`` is the exact TemplateData JSON
    (with the ``_html`` copy); ``parts`` the locally rendered subject, html
    and text, present when the transport renders itself."""

    template: str  # logical name (the folder under templates_src/)
    template_name: str  # the name SES stores it under
    source: str  # "Calndr Club <noreply@calndr.club>", RFC 2047 when non-ASCII
    to: tuple[str, ...]
    template_data: str
    reply_to: tuple[str, ...] = ()
    tags: tuple[tuple[str, str], ...] = ()
    configuration_set: str | None = None
    parts: Mapping[str, str] | None = field(default=None, repr=False)
    default_template_data: str = "{}"  # bulk only: DefaultTemplateData of the call

    @property
    def recipient_count(self) -> int:
        return len(self.to)

    @property
    def sender_domain(self) -> str:
        return self.source.rsplit("@", 1)[-1].rstrip(">").strip()

    def __repr__(self) -> str:  # data and addresses stay out of reprs (and so of logs)
        return f"OutgoingMessage(template={self.template!r}, recipients={len(self.to)})"


@dataclass(frozen=True)
class Outcome:
    """What became of one message of a batch."""

    message: OutgoingMessage
    message_id: str | None = None
    error: SendError | None = None
    transport: str = ""
    attempted: bool = True  # False: not tried because an earlier one stopped the batch

    @property
    def ok(self) -> bool:
        return self.error is None and self.message_id is not None


class Backoff:
    """Jittered exponential backoff: attempt ``k`` (0-based) waits between
    half and all of ``min(cap, base * 2**k)`` seconds."""

    def __init__(self, base: float = 0.05, cap: float = 5.0, rng: random.Random | None = None) -> None:
        self.base = base
        self.cap = cap
        self._rng = rng or random.Random()
        self._lock = threading.Lock()

    def __call__(self, attempt: int) -> float:
        ceiling = min(self.cap, self.base * (2 ** attempt))
        with self._lock:
            return ceiling * (0.5 + 0.5 * self._rng.random())


# --- the transport interface --------------------------------------------------------------


class Transport:
    """Base class.  ``send`` returns the message id or raises ``SendError``;
    ``send_batch`` returns one :class:`Outcome` per message, in order, or
    raises ``SendError`` when the whole batch failed before anything was sent."""

    name = "transport"
    renders_locally = False  # True: needs OutgoingMessage.parts
    max_batch = MAX_DESTINATIONS

    def send(self, message: OutgoingMessage) -> str:
        raise NotImplementedError

    def send_batch(self, messages: Sequence[OutgoingMessage]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        stopped: SendError | None = None
        for m in messages:
            if stopped is not None:
                outcomes.append(Outcome(m, error=stopped, transport=self.name, attempted=False))
                continue
            try:
                outcomes.append(Outcome(m, self.send(m), transport=self.name))
            except SendError as exc:
                if exc.stops_bulk and not outcomes:
                    raise
                outcomes.append(Outcome(m, error=exc, transport=self.name))
                if exc.stops_bulk:
                    stopped = exc
        return outcomes

    def close(self) -> None:
        pass


# --- SES ------------------------------------------------------------------------------------

class SesTransport(Transport):
    """SES v1 templated sends, paced and retried (see the module docstring).

    ``max_send_rate``: messages a second; ``None`` asks ``get_send_quota``
    once, when the second message is about to go (a single send never pays
    for the call), and falls back to the sandbox's 1/s with a warning when
    the quota cannot be read.  ``limiter``: share one between transports (or
    with other code) that use the same account; it counts recipients.

    ``burst_seconds``: the limiter holds that many seconds of the rate (half
    a second by default).  SES lets short bursts exceed the rate; a little
    burst lets the sender make up the time a throttled call or a late thread
    cost, which a bucket of one token would lose for good.
    """

    name = "ses"

    def __init__(self, client: Any = None, *, region: str | None = None, endpoint_url: str | None = None,
                 max_send_rate: float | None = None, limiter: RateLimiter | None = None,
                 max_attempts: int = DEFAULT_MAX_ATTEMPTS, connect_attempts: int = DEFAULT_CONNECT_ATTEMPTS,
                 backoff: Callable[[int], float] | None = None, sleep: Callable[[float], None] = time.sleep,
                 connect_timeout: float = 5, read_timeout: float = 30, max_pool_connections: int = 10,
                 credentials: Mapping[str, str] | None = None, burst_seconds: float = DEFAULT_BURST_SECONDS,
                 ) -> None:
        self.region = region
        self.endpoint_url = endpoint_url
        self._client = client
        install_log_redaction()  # the application's own client logs through the same botocore loggers
        self._client_kw: dict[str, Any] = dict(connect_timeout=connect_timeout, read_timeout=read_timeout,
                                               max_pool_connections=max_pool_connections,
                                               credentials=dict(credentials or {}))
        self._client_lock = threading.Lock()
        self.burst_seconds = max(0.0, float(burst_seconds))
        rate = max_send_rate or SANDBOX_RATE
        self.limiter = limiter or RateLimiter(rate, self._burst(rate))
        if limiter is not None and max_send_rate:
            limiter.set_rate(max_send_rate)
        self._rate_known = bool(max_send_rate) or limiter is not None
        self._rate_lock = threading.Lock()
        self.max_attempts = max(1, int(max_attempts))
        self.connect_attempts = max(1, int(connect_attempts))
        self.backoff = backoff or Backoff()
        self._sleep = sleep
        self.calls = 0  # API calls made (attempts), for tests and benchmarks
        self.throttled = 0  # attempts answered Throttling
        self._count_lock = threading.Lock()

    # -- the client --------------------------------------------------------------------------

    @property
    def client(self) -> Any:
        if self._client is None:
            with self._client_lock:
                if self._client is None:
                    self._client = make_client(self.region, self.endpoint_url, **self._client_kw)
        return self._client

    def _burst(self, rate: float) -> int:
        return max(1, int(rate * self.burst_seconds))

    def quota(self) -> SendQuota:
        """``get_send_quota``, as typed errors when it fails."""
        try:
            q = self.client.get_send_quota()
        except Exception as exc:  # noqa: BLE001 - translated, or re-raised when not AWS's
            raise self._translate(exc, "GetSendQuota", None) from None
        return SendQuota.from_api(q, default_rate=SANDBOX_RATE)

    def _ensure_rate(self) -> None:
        if self._rate_known:
            return
        with self._rate_lock:
            if self._rate_known:
                return
            try:
                rate = self.quota().max_send_rate
            except SendError as exc:
                log.warning("send quota unreadable (%s); pacing at %g message/s: set SES_MAX_SEND_RATE",
                            type(exc).__name__, self.limiter.rate)
            else:
                if rate > 0:
                    self.limiter.set_rate(rate, self._burst(rate))
            self._rate_known = True

    # -- calls --------------------------------------------------------------------------------

    def _translate(self, exc: BaseException, operation: str, template: str | None,
                   config_set: str | None = None, domain: str | None = None) -> SendError:
        return translate_send(exc, operation, template, region=self.region or _client_region(self._client),
                              endpoint_url=self.endpoint_url, config_set=config_set, domain=domain)

    def _call(self, operation: str, recipients: int, template: str, *, config_set: str | None,
              domain: str | None, **params: Any) -> dict[str, Any]:
        method = getattr(self.client, _snake(operation))
        throttled = unreachable = 0
        while True:
            if self.limiter.acquired:
                self._ensure_rate()
            self.limiter.acquire(max(1, recipients))
            with self._count_lock:
                self.calls += 1
            try:
                return method(**params)
            except Exception as exc:  # noqa: BLE001
                err = self._translate(exc, operation, template, config_set, domain)
            if not isinstance(err, DeliveryUnknown):
                # SES refused the call before sending anything: its slot was not used.
                self.limiter.refund(max(1, recipients))
            if isinstance(err, Throttled):
                with self._count_lock:
                    self.throttled += 1
                throttled += 1
                if throttled < self.max_attempts:
                    self._sleep(self.backoff(throttled - 1))
                    continue
                err.message = f"{err.message} ({throttled} attempts)"
                err.args = (err.message,)
            elif isinstance(err, SesUnreachable) and err.retryable:
                unreachable += 1
                if unreachable < self.connect_attempts:
                    self._sleep(self.backoff(unreachable - 1))
                    continue
            raise err

    def send(self, message: OutgoingMessage) -> str:
        params: dict[str, Any] = {
            "Source": message.source,
            "Destination": {"ToAddresses": list(message.to)},
            "Template": message.template_name,
            "TemplateData": message.template_data,
        }
        if message.reply_to:
            params["ReplyToAddresses"] = list(message.reply_to)
        if message.tags:
            params["Tags"] = [{"Name": k, "Value": v} for k, v in message.tags]
        if message.configuration_set:
            params["ConfigurationSetName"] = message.configuration_set
        response = self._call("SendTemplatedEmail", message.recipient_count, message.template_name,
                              config_set=message.configuration_set, domain=message.sender_domain, **params)
        return str(response["MessageId"])

    def send_batch(self, messages: Sequence[OutgoingMessage]) -> list[Outcome]:
        """One SendBulkTemplatedEmail for up to 50 messages that share the
        template, sender, reply-to and configuration set."""
        if not messages:
            return []
        first = messages[0]
        shared = (first.template_name, first.source, first.reply_to, first.configuration_set,
                  first.default_template_data)
        if any((m.template_name, m.source, m.reply_to, m.configuration_set, m.default_template_data) != shared
               for m in messages):
            raise ValueError("one bulk call sends one template from one sender with one reply-to")
        if len(messages) > MAX_DESTINATIONS or sum(m.recipient_count for m in messages) > MAX_DESTINATIONS:
            raise ValueError(f"at most {MAX_DESTINATIONS} recipients per bulk call")
        destinations = []
        for m in messages:
            d: dict[str, Any] = {"Destination": {"ToAddresses": list(m.to)},
                                 "ReplacementTemplateData": m.template_data}
            if m.tags:
                d["ReplacementTags"] = [{"Name": k, "Value": v} for k, v in m.tags]
            destinations.append(d)
        params: dict[str, Any] = {
            "Source": first.source,
            "Template": first.template_name,
            "DefaultTemplateData": first.default_template_data,
            "Destinations": destinations,
        }
        if first.reply_to:
            params["ReplyToAddresses"] = list(first.reply_to)
        if first.configuration_set:
            params["ConfigurationSetName"] = first.configuration_set
        response = self._call("SendBulkTemplatedEmail", sum(m.recipient_count for m in messages),
                              first.template_name, config_set=first.configuration_set,
                              domain=first.sender_domain, **params)
        statuses = list(response.get("Status") or ())
        refused = sum(m.recipient_count for m, s in zip(messages, statuses, strict=False)
                      if (s.get("Status") or ("Success" if s.get("MessageId") else "Failed")) != "Success")
        if refused:
            self.limiter.refund(refused)  # destinations SES did not send do not count against the rate
        outcomes = []
        region = self.region or _client_region(self._client)
        for i, m in enumerate(messages):
            if i >= len(statuses):  # SES answers one status per destination; anything else is a mystery
                outcomes.append(Outcome(m, error=DeliveryUnknown(
                    "SES returned no status for this destination", operation="SendBulkTemplatedEmail",
                    template=m.template_name, hint=send_hint("unknown")), transport=self.name))
                continue
            s = statuses[i]
            # moto answers only MessageId; SES always adds Status.
            status = s.get("Status") or ("Success" if s.get("MessageId") else "Failed")
            if status == "Success":
                outcomes.append(Outcome(m, str(s["MessageId"]), transport=self.name))
            else:
                err = ses_error(status, s.get("Error") or status, operation="SendBulkTemplatedEmail",
                                template=m.template_name, region=region, domain=m.sender_domain,
                                config_set=m.configuration_set)
                if status in RETRYABLE_STATUSES:
                    err.retryable = True
                outcomes.append(Outcome(m, error=err, transport=self.name))
        return outcomes


def _snake(operation: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower()


def _client_region(client: Any) -> str | None:
    try:
        return client.meta.region_name
    except AttributeError:
        return None


def make_client(region: str | None, endpoint_url: str | None, *, connect_timeout: float = 5,
                read_timeout: float = 30, max_pool_connections: int = 10,
                credentials: Mapping[str, str] | None = None) -> Any:
    """An ``ses`` client with botocore's retries off (see the module docstring)
    and the request body and credentials kept out of botocore's debug log.
    ``credentials``: boto3 Session arguments; none lets boto3's chain find them."""
    cfg = retry_config(1, connect_timeout=connect_timeout, read_timeout=read_timeout,
                       max_pool_connections=max_pool_connections)
    return make_aws_client("ses", session=make_session(credentials), region=region, endpoint_url=endpoint_url,
                           config=cfg)


# --- MIME (SMTP and outbox) ----------------------------------------------------------------


def build_mime(message: OutgoingMessage, *, message_id: str | None = None,
               date: str | None = None) -> EmailMessage:
    """The message SES would deliver, built locally: multipart/alternative
    with the text part first (mail readers show the last one they can)."""
    parts = message.parts
    if parts is None:
        raise ValueError("this transport needs the rendered parts (OutgoingMessage.parts)")
    mime = EmailMessage(policy=SMTP_POLICY)
    # The email package refuses CR/LF in header values too: a second lock on that door.
    mime["From"] = sender_address(message.source)
    mime["To"] = ", ".join(message.to)
    if message.reply_to:
        mime["Reply-To"] = ", ".join(message.reply_to)
    mime["Subject"] = parts["subject"]
    mime["Date"] = date or formatdate(usegmt=True)
    mime["Message-ID"] = message_id or make_msgid(domain=message.sender_domain or None)
    mime["MIME-Version"] = "1.0"
    if message.configuration_set:  # honoured when the relay is SES's SMTP interface
        mime["X-SES-CONFIGURATION-SET"] = message.configuration_set
    if message.tags:
        mime["X-SES-MESSAGE-TAGS"] = ", ".join(f"{k}={v}" for k, v in message.tags)
    text, html = parts.get("text", ""), parts.get("html", "")
    if text or not html:
        mime.set_content(text, subtype="plain", charset="utf-8", cte="quoted-printable")
        if html:
            mime.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")
    else:
        mime.set_content(html, subtype="html", charset="utf-8", cte="quoted-printable")
    return mime


def sender_address(source: str) -> Address:
    """SES's ``Source`` string → the From address, structured.

    ``source`` is what SES receives (:func:`letterhead.sending.mailer.format_source`:
    a non-ASCII name as RFC 2047 encoded words).  Handing that text to the
    email package as a header value lets it decode the words and re-parse the
    result as addresses: ``Zoë <boss@bank.example>`` became a second address,
    the one mail software shows.  An :class:`~email.headerregistry.Address`
    keeps the name a name: the policy quotes or encodes it, and folds the line.
    The decoded name passes the same check as ``SES_SENDER_NAME``.
    """
    name, addr = parseaddr(source)
    if name:
        name = str(make_header(decode_header(name)))
    return Address(display_name=check_sender_name(name) or "", addr_spec=addr)


def _bare_id(header: str) -> str:
    return header.strip().lstrip("<").rstrip(">")


# --- SMTP -----------------------------------------------------------------------------------


class SmtpTransport(Transport):
    """Render locally, send with smtplib.  ``security``: ``"starttls"``
    (default), ``"ssl"`` (implicit TLS, port 465) or ``"none"`` (loopback
    relays and test servers; never with a password to a remote host).
    One connection per ``send`` / ``send_batch`` call: thread-safe."""

    name = "smtp"
    renders_locally = True

    def __init__(self, host: str, port: int | None = None, *, username: str | None = None,
                 password: str | None = None, security: str = "starttls", timeout: float = 30,
                 local_hostname: str | None = None, ssl_context: ssl.SSLContext | None = None,
                 limiter: RateLimiter | None = None) -> None:
        if security not in ("starttls", "ssl", "none"):
            raise ConfigError(f"SMTP security must be starttls, ssl or none, not {security!r}",
                              hint="set SMTP_SECURITY")
        if security == "none" and username and not is_loopback_host(host):
            raise ConfigError("refusing to send an SMTP password unencrypted to a remote host",
                              hint="set SMTP_SECURITY=starttls (or ssl)")
        self.host = host
        self.port = port or (465 if security == "ssl" else 587)
        self.username = username
        self._password = password
        self.security = security
        self.timeout = timeout
        self.local_hostname = local_hostname
        self._ssl_context = ssl_context
        self.limiter = limiter

    def __repr__(self) -> str:
        return f"SmtpTransport({self.host!r}, {self.port}, security={self.security!r})"

    def _connect(self) -> smtplib.SMTP:
        ctx = self._ssl_context or ssl.create_default_context()
        try:
            if self.security == "ssl":
                conn: smtplib.SMTP = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout,
                                                      local_hostname=self.local_hostname, context=ctx)
            else:
                conn = smtplib.SMTP(self.host, self.port, timeout=self.timeout, local_hostname=self.local_hostname)
                if self.security == "starttls":
                    conn.starttls(context=ctx)
            if self.username:
                conn.login(self.username, self._password or "")
            return conn
        except smtplib.SMTPAuthenticationError as exc:
            raise SmtpError(f"the SMTP server {self.host}:{self.port} refused the login ({exc.smtp_code})",
                            operation="SMTP AUTH", code=str(exc.smtp_code),
                            hint="check SMTP_USERNAME and SMTP_PASSWORD") from None
        except (OSError, smtplib.SMTPException) as exc:
            err = SmtpError(f"cannot reach the SMTP server {self.host}:{self.port} ({type(exc).__name__})",
                            operation="SMTP connect", hint="check SMTP_HOST, SMTP_PORT, SMTP_SECURITY "
                            "and the network; nothing was sent")
            err.retryable = True
            err.stops_bulk = True
            raise err from None

    def _deliver(self, conn: smtplib.SMTP, message: OutgoingMessage) -> str:
        mime = build_mime(message)
        if self.limiter is not None:
            self.limiter.acquire(max(1, message.recipient_count))
        sender = sender_address(message.source).addr_spec
        try:
            conn.send_message(mime, from_addr=sender, to_addrs=list(message.to))
        except smtplib.SMTPRecipientsRefused as exc:
            codes = sorted({str(c) for c, _ in exc.recipients.values()})
            raise SmtpError(f"the SMTP server refused the recipient ({', '.join(codes)})",
                            operation="SMTP RCPT", template=message.template_name, code=codes[0],
                            hint="check the address; nothing was sent") from None
        except smtplib.SMTPSenderRefused as exc:
            err = SmtpError(f"the SMTP server refused the sender ({exc.smtp_code})", operation="SMTP MAIL",
                            template=message.template_name, code=str(exc.smtp_code),
                            hint="the relay must accept SES_SENDER_EMAIL as sender")
            err.stops_bulk = True
            raise err from None
        except smtplib.SMTPDataError as exc:
            err = SmtpError(f"the SMTP server refused the message ({exc.smtp_code})", operation="SMTP DATA",
                            template=message.template_name, code=str(exc.smtp_code),
                            hint="a 4xx code is temporary: send again later; 5xx: see the server's log")
            err.retryable = 400 <= exc.smtp_code < 500
            raise err from None
        except (OSError, smtplib.SMTPServerDisconnected) as exc:
            raise DeliveryUnknown(f"the SMTP connection broke while sending ({type(exc).__name__})",
                                  operation="SMTP DATA", template=message.template_name,
                                  hint=send_hint("unknown")) from None
        return _bare_id(mime["Message-ID"])

    def send(self, message: OutgoingMessage) -> str:
        conn = self._connect()
        try:
            return self._deliver(conn, message)
        finally:
            _quit(conn)

    def send_batch(self, messages: Sequence[OutgoingMessage]) -> list[Outcome]:
        if not messages:
            return []
        conn = self._connect()  # raises: nothing of the batch was sent
        outcomes: list[Outcome] = []
        try:
            broken: SendError | None = None
            for m in messages:
                if broken is not None:
                    outcomes.append(Outcome(m, error=broken, transport=self.name, attempted=False))
                    continue
                try:
                    outcomes.append(Outcome(m, self._deliver(conn, m), transport=self.name))
                except SendError as exc:
                    outcomes.append(Outcome(m, error=exc, transport=self.name))
                    if exc.stops_bulk or isinstance(exc, DeliveryUnknown):
                        broken = exc
        finally:
            _quit(conn)
        return outcomes


def _quit(conn: smtplib.SMTP) -> None:
    try:
        conn.quit()
    except (OSError, smtplib.SMTPException):
        conn.close()


# --- outbox ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OutboxMessage:
    """A message the outbox kept: what SES would have been sent
    (``template_data``) and what the recipient would read (``subject``,
    ``html``, ``text``, ``mime``)."""

    message_id: str
    template: str
    template_name: str
    source: str
    to: tuple[str, ...]
    reply_to: tuple[str, ...]
    tags: tuple[tuple[str, str], ...]
    configuration_set: str | None
    template_data: Mapping[str, Any] = field(repr=False)
    subject: str = field(repr=False)
    html: str = field(repr=False)
    text: str = field(repr=False)
    mime: EmailMessage = field(repr=False)
    path: Path | None = None


class OutboxTransport(Transport):
    """Keeps every message in ``messages`` (thread-safe) and, given a
    ``folder``, writes each as ``<date>-<time>-<n>-<template>-<id>.eml`` there."""

    name = "outbox"
    renders_locally = True

    def __init__(self, folder: str | Path | None = None) -> None:
        self.folder = Path(folder) if folder is not None else None
        self.messages: list[OutboxMessage] = []
        self._lock = threading.Lock()
        self._count = 0

    def send(self, message: OutgoingMessage) -> str:
        mime = build_mime(message)
        message_id = _bare_id(mime["Message-ID"])
        path = None
        with self._lock:
            self._count += 1
            n = self._count
        if self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)
            local = re.sub(r"[^A-Za-z0-9._-]", "_", message_id.split("@", 1)[0])
            stamp = time.strftime("%Y%m%d-%H%M%S")  # sorts across runs; the id keeps names unique
            path = self.folder / f"{stamp}-{n:04d}-{message.template}-{local}.eml"
            tmp = path.with_suffix(".eml.tmp")
            tmp.write_bytes(mime.as_bytes())
            tmp.replace(path)
        parts = message.parts or {}
        kept = OutboxMessage(message_id, message.template, message.template_name, message.source, message.to,
                             message.reply_to, message.tags, message.configuration_set,
                             json.loads(message.template_data), parts.get("subject", ""), parts.get("html", ""),
                             parts.get("text", ""), mime, path)
        with self._lock:
            self.messages.append(kept)
        return message_id

    def clear(self) -> None:
        with self._lock:
            self.messages.clear()


# --- fallback ------------------------------------------------------------------------------


class FallbackTransport(Transport):
    """``primary`` first; ``secondary`` only for what the primary could not
    send because SES is unreachable or sending is paused
    (``SendError.fallback``).  A message SES rejected, a missing template, a
    quota or an unknown outcome never goes to the secondary."""

    renders_locally = True

    def __init__(self, primary: Transport, secondary: Transport) -> None:
        self.primary = primary
        self.secondary = secondary
        self.name = f"{primary.name}+{secondary.name}"
        self.max_batch = min(primary.max_batch, secondary.max_batch)
        self.fallbacks = 0  # messages handed to the secondary
        self._lock = threading.Lock()

    def _note(self, exc: SendError, count: int) -> None:
        with self._lock:
            self.fallbacks += count
        log.warning("send fallback from=%s to=%s reason=%s messages=%d", self.primary.name,
                    self.secondary.name, type(exc).__name__, count)

    def send(self, message: OutgoingMessage) -> str:
        try:
            return self.primary.send(message)
        except SendError as exc:
            if not exc.fallback:
                raise
            self._note(exc, 1)
            return self.secondary.send(message)

    def send_batch(self, messages: Sequence[OutgoingMessage]) -> list[Outcome]:
        try:
            outcomes = self.primary.send_batch(messages)
        except SendError as exc:
            if not exc.fallback:
                raise
            self._note(exc, len(messages))
            return self.secondary.send_batch(messages)
        redo = [i for i, o in enumerate(outcomes) if o.error is not None and o.error.fallback]
        if redo:
            self._note(outcomes[redo[0]].error, len(redo))  # type: ignore[arg-type]
            try:
                again = self.secondary.send_batch([outcomes[i].message for i in redo])
            except SendError as exc:
                again = [Outcome(outcomes[i].message, error=exc, transport=self.secondary.name) for i in redo]
            for i, o in zip(redo, again, strict=True):
                outcomes[i] = o
        return outcomes

    def close(self) -> None:
        self.primary.close()
        self.secondary.close()
