"""Render locally, send with :mod:`smtplib` (the migration fallback)."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence

from ...aws.errors import send_hint
from ...aws.loopback import is_loopback_host
from ...aws.ratelimit import RateLimiter
from ...errors import ConfigError, DeliveryUnknown, SendError, SmtpError
from .base import Outcome, OutgoingMessage, Transport
from .mime import bare_id, build_mime, sender_address


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
        return bare_id(mime["Message-ID"])

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
