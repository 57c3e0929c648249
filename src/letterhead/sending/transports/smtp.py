"""Render locally, send with :mod:`smtplib` (the migration fallback)."""

from __future__ import annotations

import smtplib
import socket
import ssl
from collections.abc import Sequence

from ...aws.errors import send_hint
from ...aws.loopback import is_loopback_host
from ...aws.ratelimit import RateLimiter
from ...errors import ConfigError, DeliveryUnknown, SendError, SmtpError
from .base import Outcome, OutgoingMessage, Transport
from .mime import bare_id, build_mime, sender_address

_NONE_RULE = " (never with a password to a remote host)"


def _text(answer: bytes | str) -> str:
    """A server's answer, as one line of text."""
    text = answer.decode("utf-8", "replace") if isinstance(answer, bytes) else str(answer)
    return " ".join(text.split())[:200]


class SmtpTransport(Transport):
    """Render locally, send with smtplib.  ``security``: ``"starttls"``
    (default), ``"ssl"`` (implicit TLS, port 465) or ``"none"`` (loopback
    relays and test servers; never with a password to a remote host).
    One connection per ``send`` / ``send_batch`` call: thread-safe."""

    name = "smtp"
    renders_locally = True
    sends_headers = True  # written into the MIME message (build_mime)

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
        """An SMTP connection, greeted, secured and logged in as configured.
        Every failure is an :class:`SmtpError` saying what happened at which
        step (connect, STARTTLS, login) and which setting fixes it; nothing
        has been sent then."""
        ctx = self._ssl_context or ssl.create_default_context()
        step = "connect"
        conn: smtplib.SMTP | None = None
        try:
            if self.security == "ssl":
                conn = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout,
                                        local_hostname=self.local_hostname, context=ctx)
            else:
                conn = smtplib.SMTP(self.host, self.port, timeout=self.timeout, local_hostname=self.local_hostname)
            if self.security == "starttls":
                step = "starttls"
                conn.starttls(context=ctx)
            if self.username:
                step = "login"
                conn.login(self.username, self._password or "")
            return conn
        except (OSError, smtplib.SMTPException) as exc:
            offered = ""
            if conn is not None:
                offered = str(conn.esmtp_features.get("auth", ""))
                conn.close()
            raise self._connect_error(exc, step, offered) from None

    def _connect_error(self, exc: BaseException, step: str, offered: str = "") -> SmtpError:
        """What went wrong while connecting, as the user can fix it."""
        where = f"{self.host}:{self.port}"
        server = f"the SMTP server {where}"
        nothing = "; nothing was sent"
        retryable = False
        operation = {"connect": "SMTP connect", "starttls": "SMTP STARTTLS", "login": "SMTP AUTH"}[step]
        code: str | None = None
        if isinstance(exc, smtplib.SMTPResponseException):
            code = str(exc.smtp_code)
        if isinstance(exc, smtplib.SMTPAuthenticationError):
            message = f"{server} refused the login ({exc.smtp_code} {_text(exc.smtp_error)})"
            hint = "check SMTP_USERNAME and SMTP_PASSWORD"
        elif isinstance(exc, smtplib.SMTPNotSupportedError) and step == "starttls":
            message = f"{server} does not offer STARTTLS (SMTP_SECURITY is starttls, the default)"
            hint = (f"if the server speaks TLS from the first byte (usually port 465), set SMTP_SECURITY=ssl; "
                    f"for a local test server without TLS, set SMTP_SECURITY=none{_NONE_RULE}")
        elif isinstance(exc, smtplib.SMTPNotSupportedError) and step == "login":
            message = f"{server} does not offer AUTH, but SMTP_USERNAME is set"
            hint = ("unset SMTP_USERNAME and SMTP_PASSWORD if the server needs no login; a server that offers "
                    "AUTH only over TLS needs SMTP_SECURITY=starttls or ssl")
        elif step == "login" and not isinstance(exc, OSError | smtplib.SMTPResponseException) \
                and "authentication method" in str(exc):
            offered = " ".join(offered.split())
            message = f"{server} offers no login method letterhead can use" + (f" (AUTH {offered})" if offered else "")
            hint = "use a server (or an account) that offers AUTH PLAIN or LOGIN"
        elif isinstance(exc, ssl.SSLCertVerificationError):
            message = f"the certificate of {server} could not be verified: {exc.verify_message or exc.reason}"
            hint = ("check that SMTP_HOST is the name on the server's certificate and that its certificate "
                    "authority is trusted (SSL_CERT_FILE); a test server's self-signed certificate is not: "
                    f"use SMTP_SECURITY=none for one on loopback{_NONE_RULE}")
        elif isinstance(exc, ssl.SSLError) and step == "connect":
            message = (f"{server} does not speak TLS from the start (SMTP_SECURITY=ssl): the TLS handshake "
                       f"failed ({exc.reason or exc})")
            hint = ("a port that speaks plain SMTP first (587, 25) needs SMTP_SECURITY=starttls (or none for a "
                    "local test server); or set SMTP_PORT to the server's TLS port (usually 465)")
        elif isinstance(exc, ssl.SSLError):
            message = f"the TLS handshake after STARTTLS with {server} failed ({exc.reason or exc})"
            hint = "check SMTP_HOST and SMTP_PORT; the server's TLS setup is broken, or it is not an SMTP server"
        elif isinstance(exc, smtplib.SMTPServerDisconnected) and step == "connect":
            why = (f"no 220 greeting within {self.timeout:g} s" if "timed out" in str(exc)
                   else "it closed the connection before its 220 greeting")
            message = f"{server} did not greet: {why}"
            hint = ("a port that speaks TLS from the start (usually 465) needs SMTP_SECURITY=ssl; else check "
                    "SMTP_HOST and SMTP_PORT (is it an SMTP server?)")
        elif isinstance(exc, smtplib.SMTPServerDisconnected):
            message = f"{server} closed the connection during {operation.removeprefix('SMTP ')}"
            hint = "see the server's log; check SMTP_SECURITY, SMTP_USERNAME and SMTP_PASSWORD"
            retryable = True
        elif isinstance(exc, smtplib.SMTPConnectError):
            message = f"{server} refused the connection ({exc.smtp_code} {_text(exc.smtp_error)})"
            hint = "a 4xx code is temporary: send again later; 5xx: the server will not take mail from here"
            retryable = 400 <= exc.smtp_code < 500
        elif isinstance(exc, smtplib.SMTPResponseException):
            message = (f"{server} refused {operation.removeprefix('SMTP ')} "
                       f"({exc.smtp_code} {_text(exc.smtp_error)})")
            hint = "see the server's answer; check SMTP_SECURITY, SMTP_USERNAME and SMTP_PASSWORD"
            retryable = 400 <= exc.smtp_code < 500
        elif isinstance(exc, ConnectionRefusedError):
            message = f"cannot reach the SMTP server: nothing listens on {where} (connection refused)"
            hint = ("check SMTP_HOST and SMTP_PORT (587 for STARTTLS, 465 for SSL, 25 or another for a local "
                    "relay) and that the server is running")
            retryable = True
        elif isinstance(exc, socket.gaierror):
            message = f"cannot reach the SMTP server: the host name {self.host!r} does not resolve ({exc.strerror})"
            hint = "check SMTP_HOST (a typo?) and the network's DNS"
            retryable = True
        elif isinstance(exc, TimeoutError):
            message = f"cannot reach the SMTP server {where}: no answer within {self.timeout:g} s"
            hint = "check SMTP_HOST, SMTP_PORT and the network (a firewall that drops the connection?)"
            retryable = True
        else:
            message = f"cannot reach the SMTP server {where} ({type(exc).__name__}: {exc})"
            hint = "check SMTP_HOST, SMTP_PORT, SMTP_SECURITY and the network"
            retryable = True
        err = SmtpError(message, operation=operation, code=code, hint=hint + nothing)
        err.retryable = retryable
        err.stops_bulk = True  # every message of the batch would meet the same server
        return err

    def _deliver(self, conn: smtplib.SMTP, message: OutgoingMessage) -> str:
        try:
            mime = build_mime(message)
            sender = sender_address(message.source).addr_spec
        except SendError:  # a custom header that is no header (build_mime names it): nothing reached the server
            raise
        except Exception as exc:  # nothing reached the server
            raise SmtpError(f"could not build the MIME message ({type(exc).__name__}: {exc})",
                            operation="SMTP DATA", template=message.template_name,
                            hint="the SMTP transport renders locally: send through Mailer, which hands it the "
                                 "rendered parts; nothing was sent") from exc
        if self.limiter is not None:
            self.limiter.acquire(max(1, message.recipient_count))
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
        except smtplib.SMTPNotSupportedError as exc:
            raise SmtpError(f"the SMTP server cannot take this message: {exc}", operation="SMTP MAIL",
                            template=message.template_name,
                            hint="a non-ASCII address needs a server that offers SMTPUTF8; nothing was sent") from None
        except (OSError, smtplib.SMTPServerDisconnected) as exc:
            raise DeliveryUnknown(f"the SMTP connection broke while sending ({type(exc).__name__})",
                                  operation="SMTP DATA", template=message.template_name,
                                  hint=send_hint("unknown")) from None
        except smtplib.SMTPResponseException as exc:  # EHLO/HELO refused before MAIL: nothing was sent
            err = SmtpError(f"the SMTP server refused the session ({exc.smtp_code} {_text(exc.smtp_error)})",
                            operation="SMTP EHLO", template=message.template_name, code=str(exc.smtp_code),
                            hint="see the server's answer and log; nothing was sent")
            err.stops_bulk = True
            raise err from None
        except Exception as exc:  # an answer smtplib did not expect, mid-transaction
            raise DeliveryUnknown(f"sending over SMTP failed ({type(exc).__name__}: {exc})", operation="SMTP DATA",
                                  template=message.template_name, hint=send_hint("unknown")) from exc
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
