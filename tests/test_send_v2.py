"""SES v2 sends (issue 15): ``SendEmail`` with ``Content.Template`` and
``SendBulkEmail`` with per-recipient data, tags and headers, checked on a
real ``sesv2`` client with botocore's Stubber (the exact requests); v2's
statuses and errors meaning what v1's mean; throttling with nothing lost and
nothing sent twice; a request that may have gone out never retried; headers
guarded at every transport's boundary and written verbatim by SMTP.  The
Mailer's side (headers per recipient, the API setting) is in
test_send_v2_mailer.py."""

from __future__ import annotations

import dataclasses
import email
import threading
from collections.abc import Iterator
from email import policy
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import Stubber

from letterhead.errors import (
    AccountSendingPaused,
    ConfigurationSetDoesNotExist,
    ConfigurationSetSendingPaused,
    DailyQuotaExceeded,
    DeliveryUnknown,
    MailFromDomainNotVerified,
    MessageRejected,
    SendAccessDenied,
    SendError,
    TemplateDoesNotExist,
    Throttled,
)
from letterhead.sending.mailer import Mailer, Recipient
from letterhead.sending.transports import (
    FallbackTransport,
    OutboxTransport,
    SesTransport,
    SesV2Transport,
    SmtpTransport,
    build_mime,
    make_transport,
)

from .send_support import SES_DIR
from .send_v2_support import (
    REGION,
    SOURCE,
    UNSUBSCRIBE,
    FakeSesV2,
    Inbox,
    message,
    smtp_inbox,
    unsubscribe,
    v1_client,
    v2_client,
    v2_transport,
    verification_data,
)

pytestmark = pytest.mark.aws


@pytest.fixture
def stubbed() -> Iterator[tuple[Any, Stubber]]:
    c = v2_client()
    with Stubber(c) as stub:
        yield c, stub
        stub.assert_no_pending_responses()


# --- the requests ----------------------------------------------------------------------------------------


def test_a_single_send_is_send_email_with_the_template_its_data_and_headers(stubbed: Any) -> None:
    c, stub = stubbed
    m = message(reply_to=("support@calndr.club",), tags=(("template", "schedule_digest"), ("kind", "digest")),
                configuration_set="calndr-bulk")
    stub.add_response("send_email", {"MessageId": "v2-0001"}, expected_params={
        "FromEmailAddress": SOURCE,
        "Destination": {"ToAddresses": ["amira.haddad@example.com"]},
        "ReplyToAddresses": ["support@calndr.club"],
        "EmailTags": [{"Name": "template", "Value": "schedule_digest"}, {"Name": "kind", "Value": "digest"}],
        "ConfigurationSetName": "calndr-bulk",
        "Content": {"Template": {
            "TemplateName": "schedule_digest",
            "TemplateData": '{"name": "amira.haddad"}',
            "Headers": [{"Name": "List-Unsubscribe", "Value": UNSUBSCRIBE[0][1]},
                        {"Name": "List-Unsubscribe-Post", "Value": "List-Unsubscribe=One-Click"}]}},
    })
    t = v2_transport(c)
    assert t.send(m) == "v2-0001" and t.calls == 1


def test_a_message_without_headers_sends_no_headers_key(stubbed: Any) -> None:
    c, stub = stubbed
    stub.add_response("send_email", {"MessageId": "v2-0002"}, expected_params={
        "FromEmailAddress": SOURCE, "Destination": {"ToAddresses": ["amira.haddad@example.com"]},
        "Content": {"Template": {"TemplateName": "schedule_digest", "TemplateData": '{"name": "amira.haddad"}'}},
    })
    assert v2_transport(c).send(message(headers=())) == "v2-0002"


def test_a_bulk_call_carries_each_recipients_data_tags_and_headers(stubbed: Any) -> None:
    c, stub = stubbed
    messages = [message(f"user{i}@example.org", headers=unsubscribe(f"tok-{i}"), data={"n": i},
                        tags=(("template", "schedule_digest"), ("user", f"u{i}")),
                        reply_to=("support@calndr.club",), configuration_set="calndr-bulk",
                        default_template_data='{"brand": "Calndr"}') for i in range(3)]
    stub.add_response("send_bulk_email", {"BulkEmailEntryResults": [
        {"Status": "SUCCESS", "MessageId": f"bulk-{i}"} for i in range(3)]}, expected_params={
        "FromEmailAddress": SOURCE,
        "ReplyToAddresses": ["support@calndr.club"],
        "ConfigurationSetName": "calndr-bulk",
        "DefaultContent": {"Template": {"TemplateName": "schedule_digest", "TemplateData": '{"brand": "Calndr"}'}},
        "BulkEmailEntries": [{
            "Destination": {"ToAddresses": [f"user{i}@example.org"]},
            "ReplacementEmailContent": {"ReplacementTemplate": {"ReplacementTemplateData": f'{{"n": {i}}}'}},
            "ReplacementHeaders": [
                {"Name": "List-Unsubscribe", "Value": f"<https://calndr.club/unsub?t=tok-{i}>"},
                {"Name": "List-Unsubscribe-Post", "Value": "List-Unsubscribe=One-Click"}],
            "ReplacementTags": [{"Name": "template", "Value": "schedule_digest"},
                                {"Name": "user", "Value": f"u{i}"}],
        } for i in range(3)],
    })
    outcomes = v2_transport(c).send_batch(messages)
    assert [o.message_id for o in outcomes] == ["bulk-0", "bulk-1", "bulk-2"]
    assert all(o.ok and o.transport == "sesv2" for o in outcomes)


def test_a_bulk_call_holds_one_template_and_at_most_50_recipients(stubbed: Any) -> None:
    c, _ = stubbed
    t = v2_transport(c)
    with pytest.raises(ValueError, match="one template"):
        t.send_batch([message(), message(template_name="other")])
    with pytest.raises(ValueError, match="at most 50"):
        t.send_batch([message(f"u{i}@example.org") for i in range(51)])


# --- statuses and errors mean what v1's mean ----------------------------------------------------------------

# Every BulkEmailStatus of botocore's sesv2 model, and the v1 status of the same failure.
V2_TO_V1 = [
    ("MESSAGE_REJECTED", "MessageRejected"),
    ("MAIL_FROM_DOMAIN_NOT_VERIFIED", "MailFromDomainNotVerified"),
    ("CONFIGURATION_SET_NOT_FOUND", "ConfigurationSetDoesNotExist"),
    ("CONFIGURATION_SET_DOES_NOT_EXIST", "ConfigurationSetDoesNotExist"),
    ("TEMPLATE_NOT_FOUND", "TemplateDoesNotExist"),
    ("TEMPLATE_DOES_NOT_EXIST", "TemplateDoesNotExist"),
    ("ACCOUNT_SUSPENDED", "AccountSuspended"),
    ("ACCOUNT_THROTTLED", "AccountThrottled"),
    ("ACCOUNT_DAILY_QUOTA_EXCEEDED", "AccountDailyQuotaExceeded"),
    ("INVALID_SENDING_POOL_NAME", "InvalidSendingPoolName"),
    ("ACCOUNT_SENDING_PAUSED", "AccountSendingPaused"),
    ("CONFIGURATION_SET_SENDING_PAUSED", "ConfigurationSetSendingPaused"),
    ("INVALID_PARAMETER", "InvalidParameterValue"),
    ("TRANSIENT_FAILURE", "TransientFailure"),
    ("FAILED", "Failed"),
]


def _policy(error: SendError | None) -> tuple[Any, ...]:
    assert error is not None
    return type(error), error.retryable, error.fallback, error.stops_bulk, error.code


def test_every_v2_bulk_status_is_the_model_s() -> None:
    import botocore.session

    model = botocore.session.get_session().get_service_model("sesv2")
    statuses = set(model.shape_for("BulkEmailStatus").enum)
    assert statuses - {"SUCCESS"} <= {v2 for v2, _ in V2_TO_V1}


@pytest.mark.parametrize(("v2", "v1"), V2_TO_V1)
def test_a_v2_bulk_status_settles_as_the_v1_status_does(v2: str, v1: str) -> None:
    old_client = v1_client()
    c = v2_client()
    with Stubber(c) as stub2, Stubber(old_client) as stub1:
        stub2.add_response("send_bulk_email", {"BulkEmailEntryResults": [
            {"Status": "SUCCESS", "MessageId": "ok-1"}, {"Status": v2, "Error": "refused by the test"}]})
        stub1.add_response("send_bulk_templated_email", {"Status": [
            {"Status": "Success", "MessageId": "ok-1"}, {"Status": v1, "Error": "refused by the test"}]})
        new = v2_transport(c).send_batch([message("a@example.org"), message("b@example.org")])
        old = SesTransport(old_client, region=REGION, max_send_rate=10_000).send_batch(  # v1 sends no headers
            [dataclasses.replace(message(a), headers=()) for a in ("a@example.org", "b@example.org")])
    assert new[0].message_id == "ok-1" and new[1].message_id is None
    assert _policy(new[1].error)[:4] == _policy(old[1].error)[:4]
    assert new[1].error is not None and new[1].error.operation == "SendBulkEmail"
    assert new[1].error.code == v2  # what SES v2 said stays in the error


@pytest.mark.parametrize(("code", "text", "status", "cls"), [
    ("TooManyRequestsException", "Daily message quota exceeded.", 429, DailyQuotaExceeded),
    ("LimitExceededException", "Daily message quota exceeded.", 400, DailyQuotaExceeded),
    ("NotFoundException", "Template schedule_digest does not exist.", 404, TemplateDoesNotExist),
    ("NotFoundException", "Configuration set calndr-bulk does not exist.", 404, ConfigurationSetDoesNotExist),
    ("SendingPausedException", "Sending is paused for this account.", 400, AccountSendingPaused),
    ("SendingPausedException", "Sending is paused for the configuration set calndr-bulk.", 400,
     ConfigurationSetSendingPaused),
    ("AccountSuspendedException", "The account is suspended.", 400, AccountSendingPaused),
    ("MessageRejected", "Email address is not verified: a@example.org", 400, MessageRejected),
    ("MailFromDomainNotVerifiedException", "MAIL FROM domain not verified.", 400, MailFromDomainNotVerified),
    ("AccessDeniedException", "not authorized to perform ses:SendEmail", 403, SendAccessDenied),
])
def test_a_v2_error_is_the_typed_error_of_the_same_failure(stubbed: Any, code: str, text: str, status: int,
                                                          cls: type) -> None:
    c, stub = stubbed
    stub.add_client_error("send_email", code, text, status)
    with pytest.raises(SendError) as caught:
        v2_transport(c).send(message())
    assert type(caught.value) is cls and caught.value.operation == "SendEmail" and caught.value.code == code
    assert "a@example.org" not in caught.value.message  # the domain stays, the person goes
    if cls is SendAccessDenied:
        assert "ses:SendEmail" in (caught.value.hint or "")


def test_a_bad_request_is_refused_once_and_not_retried(stubbed: Any) -> None:
    c, stub = stubbed
    stub.add_client_error("send_email", "BadRequestException", "Template data is not valid JSON.", 400)
    t = v2_transport(c)
    with pytest.raises(SendError) as caught:
        t.send(message())
    assert not caught.value.retryable and not caught.value.fallback and t.calls == 1


def test_the_quota_comes_from_get_account(stubbed: Any) -> None:
    c, stub = stubbed
    stub.add_response("get_account", {"SendQuota": {"Max24HourSend": 50_000.0, "MaxSendRate": 14.0,
                                                    "SentLast24Hours": 120.0}})
    q = SesV2Transport(c, region=REGION).quota()
    assert (q.max_24_hour_send, q.max_send_rate, q.sent_last_24_hours) == (50_000.0, 14.0, 120.0)


def test_an_unknown_rate_is_read_from_get_account_before_the_second_send(stubbed: Any) -> None:
    c, stub = stubbed
    stub.add_response("send_email", {"MessageId": "m-1"})
    stub.add_response("get_account", {"SendQuota": {"Max24HourSend": -1.0, "MaxSendRate": 300.0,
                                                    "SentLast24Hours": 0.0}})
    stub.add_response("send_email", {"MessageId": "m-2"})
    t = SesV2Transport(c, region=REGION, sleep=lambda s: None)
    assert [t.send(message()), t.send(message())] == ["m-1", "m-2"]
    assert t.limiter.rate == 300.0


# --- throttling: retried, nothing lost, nothing twice -------------------------------------------------------


def test_throttled_calls_are_retried_with_backoff_and_send_once(stubbed: Any) -> None:
    c, stub = stubbed
    for _ in range(2):
        stub.add_client_error("send_email", "TooManyRequestsException", "Maximum sending rate exceeded.", 429)
    stub.add_response("send_email", {"MessageId": "m-after-2"})
    waits: list[int] = []
    t = v2_transport(c, backoff=lambda attempt: waits.append(attempt) or 0.0)
    assert t.send(message()) == "m-after-2"
    assert (t.calls, t.throttled, waits) == (3, 2, [0, 1])


def test_a_call_throttled_every_time_gives_up_as_throttled(stubbed: Any) -> None:
    c, stub = stubbed
    for _ in range(3):
        stub.add_client_error("send_email", "TooManyRequestsException", "Maximum sending rate exceeded.", 429)
    with pytest.raises(Throttled, match="3 attempts"):
        v2_transport(c, max_attempts=3).send(message())


def _mailer(transport: Any, **kw: Any) -> Mailer:
    return Mailer(sender_email="noreply@calndr.club", sender_name="Calndr Club", ses_dir=SES_DIR,
                  transport=transport, sleep=lambda s: None, backoff=lambda attempt: 0.0, **kw)


@pytest.mark.parametrize("workers", [1, 4])
def test_bulk_under_throttling_loses_nothing_and_sends_nothing_twice(workers: int) -> None:
    fake = FakeSesV2(call_rate=0.25, entry_rate=0.3)
    mailer = _mailer(v2_transport(fake), bulk_attempts=50)
    recipients = [Recipient(f"user{i}@example.org", verification_data(i), key=i) for i in range(400)]
    result = mailer.send_bulk("email_verification", recipients, workers=workers)
    assert result.counts["sent"] == 400 and result.ok
    assert fake.throttled_calls > 0 and fake.throttled_entries > 0  # the faults did happen
    assert set(fake.delivered) == {f"user{i}@example.org" for i in range(400)}
    assert set(fake.delivered.values()) == {1}  # each exactly once
    assert all(fake.data[f"user{i}@example.org"]["code"] == f"{i:06d}" for i in range(400))
    ids = [s.message_id for s in result.statuses]
    assert len(set(ids)) == 400


# --- a request that may have gone out ----------------------------------------------------------------------


def _own_client_transport() -> SesV2Transport:
    """The transport with the client it makes itself (botocore's retries off)."""
    return v2_transport(None, endpoint_url="https://email.eu-west-1.amazonaws.com",
                        credentials={"aws_access_key_id": "testing", "aws_secret_access_key": "testing"})


def _timeout_after_request(c: Any, operation: str) -> list[int]:
    """Every HTTP attempt of ``operation`` times out after the request went (counted)."""
    from botocore.exceptions import ReadTimeoutError

    calls = [0]

    def timeout(**_: Any) -> None:
        calls[0] += 1
        raise ReadTimeoutError(endpoint_url="https://email.eu-west-1.amazonaws.com")

    c.meta.events.register_first(f"before-send.sesv2.{operation}", timeout)
    return calls


def test_a_read_timeout_is_delivery_unknown_and_never_retried() -> None:
    t = _own_client_transport()
    calls = _timeout_after_request(t.client, "SendEmail")
    with pytest.raises(DeliveryUnknown, match="read timeout"):
        t.send(message())
    assert calls == [1] and t.calls == 1


def test_a_bulk_read_timeout_leaves_its_recipients_unknown_not_resent() -> None:
    t = _own_client_transport()
    calls = _timeout_after_request(t.client, "SendBulkEmail")
    mailer = _mailer(t)
    result = mailer.send_bulk("email_verification",
                              [Recipient(f"user{i}@example.org", verification_data(i)) for i in range(5)])
    assert result.counts["unknown"] == 5 and calls == [1]
    assert all(isinstance(s.error, DeliveryUnknown) and s.attempts == 1 for s in result.statuses)


# --- headers at the boundary --------------------------------------------------------------------------------

HOSTILE = [
    ("X-Campaign", "week-1\r\nBcc: everyone@evil.example"),
    ("X-Campaign", "week-1\nBcc: everyone@evil.example"),
    ("X-Campaign", "Zoë"),
    ("X-Campaign", ""),
    ("X-Campaign", "x" * 996),
    ("X Campaign", "week-1"),
    ("X-Campaign:", "week-1"),
    ("Bcc", "everyone@evil.example"),
    ("Content-Type", "text/plain"),
    ("X-SES-Configuration-Set", "other"),
]


@pytest.mark.parametrize(("name", "value"), HOSTILE)
def test_sesv2_refuses_a_header_that_is_no_header_before_any_call(stubbed: Any, name: str, value: str) -> None:
    c, _ = stubbed  # no response queued: any call would fail the test
    with pytest.raises(SendError) as caught:
        v2_transport(c).send(message(headers=((name, value),)))
    assert "evil.example" not in caught.value.message and "nothing was sent" in (caught.value.hint or "")


def test_sesv2_bulk_refuses_only_the_message_with_a_bad_header(stubbed: Any) -> None:
    c, stub = stubbed
    stub.add_response("send_bulk_email", {"BulkEmailEntryResults": [
        {"Status": "SUCCESS", "MessageId": "a"}, {"Status": "SUCCESS", "MessageId": "c"}]})
    bad = message("b@example.org", headers=(("X-Campaign", "1\r\nBcc: x@evil.example"),))
    outcomes = v2_transport(c).send_batch([message("a@example.org"), bad, message("c@example.org")])
    assert [o.message_id for o in outcomes] == ["a", None, "c"]
    assert isinstance(outcomes[1].error, SendError) and "line break" in outcomes[1].error.message


def test_at_most_15_headers() -> None:
    many = tuple((f"X-H{i}", "v") for i in range(16))
    with pytest.raises(SendError, match="at most 15"):
        build_mime(message(headers=many))
    build_mime(message(headers=many[:15]))


@pytest.mark.parametrize(("name", "value"), HOSTILE)
def test_the_mime_message_refuses_a_header_that_is_no_header(name: str, value: str) -> None:
    with pytest.raises(SendError):
        build_mime(message(headers=((name, value),)))
    outbox = OutboxTransport()
    with pytest.raises(SendError):
        outbox.send(message(headers=((name, value),)))
    assert outbox.messages == []


def test_a_long_unsubscribe_url_is_written_verbatim_not_encoded() -> None:
    token = "t" * 200
    value = f"<https://calndr.club/unsub?t={token}>, <mailto:unsubscribe@calndr.club?subject=unsub-{token}>"
    raw = build_mime(message(headers=(("List-Unsubscribe", value),))).as_bytes()
    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    assert "=?utf-8?" not in head and f"List-Unsubscribe: <https://calndr.club/unsub?t={token}>," in head
    assert all(len(line) <= 998 for line in head.split("\r\n"))
    parsed = email.message_from_bytes(raw, policy=policy.default)
    assert str(parsed["List-Unsubscribe"]) == value


# --- SMTP carries the headers ---------------------------------------------------------------------------------


@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    with smtp_inbox() as server:
        yield server


def test_smtp_delivers_list_unsubscribe_as_declared(smtp_server: Any) -> None:
    inbox, port = smtp_server
    t = SmtpTransport("127.0.0.1", port, security="none", timeout=10)
    t.send(message())
    received = inbox.parsed()
    assert str(received["List-Unsubscribe"]) == UNSUBSCRIBE[0][1]
    assert str(received["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click"
    assert received.get_all("List-Unsubscribe") is not None and len(received.get_all("List-Unsubscribe")) == 1
    assert b"List-Unsubscribe: <https://calndr.club/unsub?t=tok-1>" in inbox.messages[-1][2]


def test_smtp_refuses_an_injected_header_and_sends_nothing(smtp_server: Any) -> None:
    inbox, port = smtp_server
    t = SmtpTransport("127.0.0.1", port, security="none", timeout=10)
    outcomes = t.send_batch([message("a@example.org", headers=(("X-Campaign", "1\r\nBcc: x@evil.example"),)),
                             message("b@example.org")])
    assert isinstance(outcomes[0].error, SendError) and "line break" in outcomes[0].error.message
    assert outcomes[1].ok
    assert [rcpt for _, rcpt, _ in inbox.messages] == [["b@example.org"]]
    assert b"evil.example" not in b"".join(body for _, _, body in inbox.messages)


def test_the_outbox_keeps_the_headers_it_wrote(tmp_path: Path) -> None:
    outbox = OutboxTransport(tmp_path)
    outbox.send(message())
    [kept] = outbox.messages
    assert kept.headers == UNSUBSCRIBE and kept.path is not None
    assert "tok-1" not in repr(kept)  # an unsubscribe token is a secret: not in reprs (nor logs)
    written = email.message_from_bytes(kept.path.read_bytes(), policy=policy.default)
    assert str(written["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click"


# --- which transport sends headers ----------------------------------------------------------------------------


def test_which_transports_send_headers() -> None:
    environ = {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": "2525", "SMTP_SECURITY": "none"}
    kw: dict[str, Any] = {"environ": environ, "region": REGION, "max_send_rate": 10}
    assert not make_transport("ses", **kw).sends_headers
    assert not make_transport("ses+smtp", **kw).sends_headers  # SES v1 first: List-Unsubscribe would be lost
    for name in ("sesv2", "smtp", "outbox", "sesv2+smtp"):
        assert make_transport(name, **kw).sends_headers, name
    v2 = make_transport("ses", api="v2", **kw)
    assert isinstance(v2, SesV2Transport) and v2.name == "sesv2"
    both = make_transport("ses+smtp", api="v2", **kw)
    assert isinstance(both, FallbackTransport) and isinstance(both.primary, SesV2Transport)
    assert both.name == "sesv2+smtp" and both.sends_headers
    assert type(make_transport("ses", api="v1", **kw)) is SesTransport


def test_the_limiter_is_shared_by_every_thread() -> None:
    fake = FakeSesV2(call_rate=0.0, entry_rate=0.0)
    t = v2_transport(fake)
    threads = [threading.Thread(target=t.send, args=(message(f"u{i}@example.org"),)) for i in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sum(fake.delivered.values()) == 8 and t.limiter.acquired == 8


def test_a_v1_client_handed_to_the_v2_transport_is_refused() -> None:
    from letterhead.errors import ConfigError

    with pytest.raises(ConfigError, match="needs a boto3 'sesv2' client, not 'ses'"):
        SesV2Transport(v1_client(), region=REGION)


def test_the_v1_transport_refuses_headers_rather_than_dropping_them() -> None:
    """A caller that hands the v1 transport a message with headers directly
    (not through the Mailer, which refuses first) gets an error, never a send without them."""
    import boto3
    from botocore.stub import Stubber

    from letterhead.errors import ConfigError
    from letterhead.sending.transports.base import OutgoingMessage
    from letterhead.sending.transports.ses import SesTransport

    client = boto3.client("ses", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    message = OutgoingMessage(template="schedule_digest", template_name="schedule_digest",
                              source="noreply@calndr.club", to=("a@example.org",), template_data="{}",
                              headers=(("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),))
    with Stubber(client), pytest.raises(ConfigError, match="cannot send them"):  # no call is stubbed: none may be made
        SesTransport(client, max_send_rate=10).send(message)
    with Stubber(client), pytest.raises(ConfigError, match="List-Unsubscribe-Post"):
        SesTransport(client, max_send_rate=10).send_batch([message])
