"""Transports: SMTP against a real SMTP server on loopback (aiosmtpd), the
outbox, the SES error table, and the fallback policy (SES first; SMTP only
when SES is unreachable or sending is paused; never on bad input)."""

from __future__ import annotations

import email
import json
import logging
import threading
from collections.abc import Iterator
from email import policy
from email.header import decode_header, make_header
from pathlib import Path
from typing import Any

import pytest

from letterhead.authoring.safety import prepare_data
from letterhead.errors import (
    AccountSendingPaused,
    ConfigError,
    ConfigurationSetDoesNotExist,
    DailyQuotaExceeded,
    DeliveryUnknown,
    MessageRejected,
    RenderError,
    SendError,
    SesUnreachable,
    SmtpError,
    TemplateDoesNotExist,
    Throttled,
)
from letterhead.sending.transports import (
    FallbackTransport,
    OutboxTransport,
    OutgoingMessage,
    SesTransport,
    SmtpTransport,
    build_mime,
    redact,
    ses_error,
)

from .helpers import free_port
from .send_support import (
    REGION,
    DestinationFaults,
    Faults,
    client,
    make_mailer,
    sample,
)

pytestmark = pytest.mark.aws

SENDER = "Calndr Club <noreply@calndr.club>"


# --- a real SMTP server on loopback ----------------------------------------------------------------


class Inbox:
    """aiosmtpd handler: keeps every accepted message; refuses recipients
    whose local part starts with ``refused``."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.sessions = 0
        self._lock = threading.Lock()

    async def handle_EHLO(self, server: Any, session: Any, envelope: Any, hostname: str,
                          responses: list[str]) -> list[str]:
        with self._lock:
            self.sessions += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any) -> str:
        if address.startswith("refused"):
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content
                                  or envelope.content))
        return "250 Message accepted"

    def parsed(self, i: int = -1) -> email.message.EmailMessage:
        return email.message_from_bytes(self.messages[i][2], policy=policy.default)  # type: ignore[return-value]


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def smtp_transport(port: int) -> SmtpTransport:
    return SmtpTransport("127.0.0.1", port, security="none", timeout=10)


def _decoded(value: str) -> str:
    return str(make_header(decode_header(value)))


# --- SMTP ---------------------------------------------------------------------------------------------


def test_smtp_sends_the_ses_rendering_as_multipart_alternative(smtp: Any, moto_ses: Any) -> None:
    inbox, port = smtp
    c, _ = moto_ses
    mailer = make_mailer(c, transport=smtp_transport(port), sender_name="Calndr Club · Zoë")
    data = sample("coparent_invitation", "non_ascii_name")
    expected = mailer.render("coparent_invitation", data)
    message_id = mailer.send("coparent_invitation", "jonas.mueller@example.de", data,
                             reply_to="zoe.lukasiewicz@example.de", tags={"kind": "invitation"})
    [(mail_from, rcpt, raw)] = inbox.messages
    assert mail_from == "noreply@calndr.club" and rcpt == ["jonas.mueller@example.de"]
    assert raw.isascii()  # RFC 2047 headers, quoted-printable bodies: 7-bit clean on the wire
    msg = inbox.parsed()
    assert msg.get_content_type() == "multipart/alternative"
    text, html = msg.iter_parts()
    assert (text.get_content_type(), html.get_content_type()) == ("text/plain", "text/html")
    crlf = lambda s: s.replace("\r\n", "\n").rstrip("\n")  # noqa: E731 - CRLF on the wire, a final newline added
    assert crlf(text.get_content()) == crlf(expected["text"]) and crlf(html.get_content()) == crlf(expected["html"])
    assert str(msg["Subject"]) == expected["subject"] and "Zoë Łukasiewicz-Müller 🌻" in str(msg["Subject"])
    assert _decoded(msg["From"]) == "Calndr Club · Zoë <noreply@calndr.club>"
    assert msg["To"] == "jonas.mueller@example.de" and msg["Reply-To"] == "zoe.lukasiewicz@example.de"
    assert msg["Message-ID"].strip("<>") == message_id and message_id.endswith("@calndr.club")
    assert msg["X-SES-MESSAGE-TAGS"] == "template=coparent_invitation, locale=en, kind=invitation"


def test_smtp_hostile_values_stay_text_and_add_no_header(smtp: Any, moto_ses: Any) -> None:
    inbox, port = smtp
    c, _ = moto_ses
    mailer = make_mailer(c, transport=smtp_transport(port))
    mailer.send("coparent_invitation", "spike@example.com", sample("coparent_invitation", "hostile_name"))
    msg = inbox.parsed()
    _, html = msg.iter_parts()
    assert "&lt;b&gt;Tom &amp; &quot;Jerry&quot;&lt;/b&gt;" in html.get_content()
    assert "<script>" not in html.get_content()
    assert str(msg["Subject"]).startswith('<b>Tom & "Jerry"</b>')
    assert sorted(msg.keys()) == sorted(["From", "To", "Subject", "Date", "Message-ID", "MIME-Version",
                                         "Content-Type", "X-SES-MESSAGE-TAGS"])  # template=… for metrics


def test_the_email_package_refuses_a_line_break_in_a_header_too() -> None:
    message = OutgoingMessage("t", "t", SENDER, ("a@example.org",), "{}",
                              parts={"subject": "Hi\r\nBcc: x@evil.example", "html": "<p>x</p>", "text": "x"})
    with pytest.raises(ValueError):
        build_mime(message)


def test_smtp_bulk_uses_one_connection_and_reports_each_recipient(smtp: Any, moto_ses: Any) -> None:
    inbox, port = smtp
    c, _ = moto_ses
    mailer = make_mailer(c, transport=smtp_transport(port))
    people = [(f"user{i}@example.org", {"code": f"{i:06d}", "email": f"user{i}@example.org", "expires_at": "14:32 UTC"}) for i in range(5)]
    people.insert(2, ("refused@example.org", {"code": "000001", "email": "refused@example.org", "expires_at": "14:32 UTC"}))
    result = mailer.send_bulk("email_verification", people)
    assert result.counts["sent"] == 5 and result.counts["failed"] == 1
    [refused] = [s for s in result.statuses if not s.ok]
    assert refused.index == 2 and isinstance(refused.error, SmtpError) and refused.error.code == "550"
    assert inbox.sessions == 1 and len(inbox.messages) == 5


def test_smtp_unreachable_is_retryable_and_sends_nothing(moto_ses: Any) -> None:
    c, _ = moto_ses
    mailer = make_mailer(c, transport=smtp_transport(free_port()))
    with pytest.raises(SmtpError, match="cannot reach") as info:
        mailer.send("email_verification", "a@example.org", {"code": "123456", "email": "a@example.org", "expires_at": "14:32 UTC"})
    assert info.value.retryable and "nothing was sent" in str(info.value)


def test_smtp_refuses_a_cleartext_password_to_a_remote_host() -> None:
    with pytest.raises(ConfigError, match="unencrypted"):
        SmtpTransport("smtp.example.org", 25, username="u", password="p", security="none")
    SmtpTransport("127.0.0.1", 25, username="u", password="p", security="none")  # loopback relay: fine
    assert "secret-pw" not in repr(SmtpTransport("smtp.example.org", 587, username="u", password="secret-pw"))


# --- outbox ---------------------------------------------------------------------------------------------


def test_outbox_keeps_what_ses_would_get_and_what_the_reader_sees(moto_ses: Any, tmp_path: Path) -> None:
    c, _ = moto_ses
    outbox = OutboxTransport(tmp_path / "outbox")
    mailer = make_mailer(c, transport=outbox)
    data = sample("coparent_invitation", "with_note")
    message_id = mailer.send("coparent_invitation", "dev.raman@example.net", data)
    [kept] = outbox.messages
    assert kept.message_id == message_id and kept.to == ("dev.raman@example.net",)
    assert kept.template_data == prepare_data(data)
    assert "Priya Raman" in kept.subject
    assert "Priya Raman" in kept.text and "Priya Raman" in kept.html
    assert kept.path is not None and kept.path.suffix == ".eml"
    parsed = email.message_from_bytes(kept.path.read_bytes(), policy=policy.default)
    assert parsed["Message-ID"].strip("<>") == message_id
    assert [p.get_content_type() for p in parsed.iter_parts()] == ["text/plain", "text/html"]


def test_outbox_in_memory_writes_no_file(moto_ses: Any) -> None:
    c, _ = moto_ses
    outbox = OutboxTransport()
    make_mailer(c, transport=outbox).send("email_verification", "a@example.org",
                                          {"code": "048213", "email": "a@example.org", "expires_at": "14:32 UTC"})
    assert outbox.messages[0].path is None and "048213" in outbox.messages[0].text


# --- the SES error table ---------------------------------------------------------------------------------


@pytest.mark.parametrize("code, message, cls, retryable, fallback, stops", [
    ("MessageRejected", "Email address is not verified.", MessageRejected, False, False, False),
    ("TemplateDoesNotExist", "Template (x) does not exist", TemplateDoesNotExist, False, False, True),
    ("ConfigurationSetDoesNotExist", "nope", ConfigurationSetDoesNotExist, False, False, True),
    ("AccountSendingPausedException", "paused", AccountSendingPaused, False, True, True),
    ("AccountSuspended", "suspended", AccountSendingPaused, False, True, True),
    ("Throttling", "Maximum sending rate exceeded.", Throttled, True, False, False),
    ("AccountThrottled", "injected", Throttled, True, False, False),
    ("Throttling", "Daily message quota exceeded.", DailyQuotaExceeded, False, False, True),
    ("AccountDailyQuotaExceeded", "injected", DailyQuotaExceeded, False, False, True),
    ("ServiceUnavailable", "try later", SesUnreachable, True, True, True),
    ("InternalFailure", "boom", DeliveryUnknown, False, False, False),
    ("TransientFailure", "later", SendError, True, False, False),
    ("InvalidParameterValue", "bad", SendError, False, False, False),
])
def test_ses_error_table(code: str, message: str, cls: type, retryable: bool, fallback: bool, stops: bool) -> None:
    err = ses_error(code, message, operation="SendTemplatedEmail", template="t", region=REGION,
                    status=500 if code == "InternalFailure" else 503 if code == "ServiceUnavailable" else 400)
    assert type(err) is cls
    assert (err.retryable, err.fallback, err.stops_bulk) == (retryable, fallback, stops)
    assert err.hint and err.code == code


def test_aws_messages_keep_the_domain_not_the_person() -> None:
    text = redact("Email address is not verified. The following identities failed the check in region "
                  "EU-WEST-1: alex.moreno@example.org, sam+1@calndr.club")
    assert "alex.moreno" not in text and "sam+1" not in text
    assert "***@example.org" in text and "***@calndr.club" in text


# --- fallback ----------------------------------------------------------------------------------------------


def _fallback(ses_client: Any, port: int) -> FallbackTransport:
    ses = SesTransport(ses_client, region=REGION, max_send_rate=1000, sleep=lambda s: None,
                       backoff=lambda a: 0.0)
    return FallbackTransport(ses, smtp_transport(port))


def test_fallback_to_smtp_when_ses_is_unreachable(smtp: Any, caplog: pytest.LogCaptureFixture) -> None:
    inbox, port = smtp
    transport = _fallback(client(f"http://127.0.0.1:{free_port()}"), port)
    mailer = make_mailer(None, transport=transport)
    with caplog.at_level(logging.INFO, logger="letterhead.send"):
        message_id = mailer.send("email_verification", "amira.haddad@example.com",
                                 {"code": "739214", "email": "amira.haddad@example.com", "expires_at": "14:32 UTC"})
    assert len(inbox.messages) == 1 and inbox.parsed()["Message-ID"].strip("<>") == message_id
    assert transport.fallbacks == 1 and transport.primary.calls == 2  # type: ignore[attr-defined]
    assert "send fallback from=ses to=smtp reason=SesUnreachable" in caplog.text
    assert "739214" not in caplog.text and "amira.haddad" not in caplog.text


def test_fallback_to_smtp_when_sending_is_paused(smtp: Any, moto_ses: Any) -> None:
    inbox, port = smtp
    c, backend = moto_ses
    Faults(c, "SendTemplatedEmail", lambda i: ("AccountSendingPausedException", "Sending paused", 400))
    mailer = make_mailer(c, transport=_fallback(c, port))
    mailer.send("email_verification", "amira.haddad@example.com",
                {"code": "739214", "email": "amira.haddad@example.com", "expires_at": "14:32 UTC"})
    assert len(inbox.messages) == 1 and backend.sent_messages == []


@pytest.mark.parametrize("code, cls", [
    ("MessageRejected", MessageRejected),
    ("TemplateDoesNotExist", TemplateDoesNotExist),
    ("Throttling", DailyQuotaExceeded),
])
def test_no_fallback_when_ses_refuses_the_message(smtp: Any, moto_ses: Any, code: str, cls: type) -> None:
    inbox, port = smtp
    c, _ = moto_ses
    message = "Daily message quota exceeded." if code == "Throttling" else "refused"
    Faults(c, "SendTemplatedEmail", lambda i: (code, message, 400))
    mailer = make_mailer(c, transport=_fallback(c, port))
    with pytest.raises(cls):
        mailer.send("email_verification", "amira.haddad@example.com",
                    {"code": "739214", "email": "amira.haddad@example.com", "expires_at": "14:32 UTC"})
    assert inbox.messages == []


def test_no_fallback_on_bad_input(smtp: Any, moto_ses: Any) -> None:
    inbox, port = smtp
    c, _ = moto_ses
    calls = Faults(c, "SendTemplatedEmail", lambda i: None)
    mailer = make_mailer(c, transport=_fallback(c, port))
    with pytest.raises(RenderError):
        mailer.send("email_verification", "amira.haddad@example.com", {"email": "amira.haddad@example.com"})
    assert calls.calls == 0 and inbox.messages == [] and inbox.sessions == 0


def test_no_fallback_when_ses_may_have_sent_it(smtp: Any, moto_ses: Any) -> None:
    from botocore.exceptions import ReadTimeoutError

    inbox, port = smtp
    c, _ = moto_ses

    def read_timeout(**_: Any) -> None:
        raise ReadTimeoutError(endpoint_url="https://email.eu-west-1.amazonaws.com")

    c.meta.events.register_first("before-call.ses.SendTemplatedEmail", read_timeout)
    transport = _fallback(c, port)
    mailer = make_mailer(c, transport=transport)
    with pytest.raises(DeliveryUnknown, match="does not resend"):
        mailer.send("email_verification", "amira.haddad@example.com",
                    {"code": "739214", "email": "amira.haddad@example.com", "expires_at": "14:32 UTC"})
    assert inbox.messages == [] and transport.primary.calls == 1  # type: ignore[attr-defined]


def test_bulk_destinations_paused_in_ses_go_through_smtp(smtp: Any, moto_ses: Any) -> None:
    inbox, port = smtp
    c, _ = moto_ses
    faults = DestinationFaults(c, lambda address, attempt: "AccountSendingPaused"
                               if address.startswith("paused") else None)
    mailer = make_mailer(c, transport=_fallback(c, port))
    people = [(f"{'paused' if i % 4 == 0 else 'user'}{i}@example.org",
               {"code": f"{i:06d}", "email": f"u{i}@example.org", "expires_at": "14:32 UTC"}) for i in range(12)]
    result = mailer.send_bulk("email_verification", people)
    assert result.ok and result.counts["sent"] == 12
    by_transport = {s.to[0]: s.transport for s in result.statuses}
    assert {a for a, t in by_transport.items() if t == "smtp"} == {a for a, _ in people if a.startswith("paused")}
    paused = sorted(a for a, _ in people if a.startswith("paused"))
    assert sorted(r for _, rs, _ in inbox.messages for r in rs) == paused
    assert sum(faults.failed.values()) == 3


def test_ses_plus_smtp_by_name_reads_smtp_settings(moto_ses: Any) -> None:
    from letterhead.sending.mailer import make_transport

    t = make_transport("ses+smtp", environ={"SMTP_HOST": "127.0.0.1", "SMTP_PORT": "2525", "SMTP_SECURITY": "none"},
                       region=REGION)
    assert isinstance(t, FallbackTransport) and t.name == "ses+smtp"
    assert isinstance(t.secondary, SmtpTransport) and t.secondary.port == 2525
    with pytest.raises(ConfigError, match="SMTP_HOST"):
        make_transport("smtp", environ={})
    with pytest.raises(ConfigError, match="unknown transport"):
        make_transport("carrier-pigeon", environ={})


def test_outgoing_message_repr_holds_no_data() -> None:
    m = OutgoingMessage("t", "t", SENDER, ("amira@example.com",), json.dumps({"code": "739214"}))
    assert "739214" not in repr(m) and "amira" not in repr(m)
