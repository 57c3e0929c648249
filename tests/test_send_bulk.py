"""Bulk sends: batches of at most 50, every recipient checked first, a status
for every recipient, only failed destinations retried; nothing lost,
nothing sent twice.  Against moto in-process and moto's server, with
whole-call throttling and per-destination failures injected.

The ledger: what moto recorded, minus the destinations the injected answer
reported as failed (SES would not have sent those).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from letterhead.authoring.safety import prepare_data
from letterhead.errors import DailyQuotaExceeded, DataError, DeliveryUnknown, MessageRejected, RenderError, Throttled
from letterhead.sending.mailer import BulkResult, Recipient

from .send_support import (
    DestinationFaults,
    Faults,
    make_mailer,
    recorded_data,
    recorded_destinations,
    sample,
)

pytestmark = pytest.mark.aws


def _hash(*parts: Any) -> int:
    return int(hashlib.sha256(repr(parts).encode()).hexdigest()[:8], 16)


def people(n: int) -> Iterator[Recipient]:
    """``n`` recipients of the verification email; some are broken on purpose:
    every 97th has no code, every 89th a header-splitting address, every
    53rd an address SES will always reject."""
    for i in range(n):
        address = f"{'rejected' if i % 53 == 7 else 'user'}{i}@example.org"
        data: dict[str, Any] = {"code": f"{_hash('code', i) % 1_000_000:06d}", "email": address, "expires_at": "14:32 UTC"}
        if i % 97 == 5:
            del data["code"]
        if i % 89 == 3:
            address = f"user{i}@example.org\r\nBcc: everyone@evil.example"
        yield Recipient(address, data, key=f"user-{i}")


def plain(n: int) -> list[tuple[str, dict[str, str]]]:
    return [(f"user{i}@example.org", {"code": "123456", "email": "x@example.org", "expires_at": "14:32 UTC"}) for i in range(n)]


def flaky(address: str, attempt: int) -> str | None:
    """Per-destination answers: SES always rejects ``rejected…``; about one
    in eight destinations fails once or twice, retryably."""
    if address.startswith("rejected"):
        return "MessageRejected"
    if attempt < 2 and _hash(address, attempt) % 8 == 0:
        return "AccountThrottled" if attempt == 0 else "TransientFailure"
    return None


def check_ledger(result: BulkResult, n: int, recorded: Counter[str], faults: DestinationFaults) -> None:
    # A status for every recipient, exactly once.
    assert sorted(s.index for s in result.statuses) == list(range(n))
    assert len({s.key for s in result.statuses}) == n
    # What SES really accepted: each sent recipient exactly once, nobody else.
    accepted = recorded - faults.failed
    accepted = +accepted  # drop zeros
    sent = [s for s in result.statuses if s.status == "sent"]
    assert accepted == Counter(s.to[0] for s in sent)
    assert set(accepted.values()) == {1}
    assert len({s.message_id for s in sent}) == len(sent)
    # Only failed destinations were retried: an address went out once more per failure it got.
    for address, seen in faults.seen.items():
        assert seen == faults.failed[address] + (1 if accepted[address] else 0)
    # Permanent refusals: tried once, reported, not retried.
    rejected = [s for s in result.statuses if s.to and s.to[0].startswith("rejected")]
    assert rejected and all(s.status == "failed" and isinstance(s.error, MessageRejected) and s.attempts == 1
                            for s in rejected)
    assert all(faults.seen[s.to[0]] == 1 for s in rejected)
    # Invalid recipients never reached SES, and their statuses say why.
    invalid = [s for s in result.statuses if s.status == "invalid"]
    assert {s.index % 97 for s in invalid if isinstance(s.error, RenderError)} == {5}
    assert all(s.error.variable == "code" for s in invalid if isinstance(s.error, RenderError))  # type: ignore[union-attr]
    assert {s.index % 89 for s in invalid if not isinstance(s.error, RenderError)} == {3}
    assert not any(a.startswith("user") and "\n" in a for a in faults.seen)
    # Batches of at most 50 destinations.
    assert faults.calls and max(faults.calls) <= 50
    assert result.counts == {"sent": len(sent), "invalid": len(invalid), "failed": len(rejected),
                             "unknown": 0, "skipped": 0, "suppressed": 0}


def test_500_recipients_with_injected_failures_lose_and_duplicate_nothing_in_process(moto_ses: Any) -> None:
    c, backend = moto_ses
    throttles = Faults(c, "SendBulkTemplatedEmail",
                       lambda i: ("Throttling", "Maximum sending rate exceeded.", 400) if i % 3 == 1 else None)
    faults = DestinationFaults(c, flaky)
    mailer = make_mailer(c)
    result = mailer.send_bulk("email_verification", people(500))
    check_ledger(result, 500, recorded_destinations(backend.sent_messages), faults)
    assert throttles.calls > throttles.passed > 0  # whole calls were throttled, then retried
    assert sum(faults.failed.values()) > len([s for s in result.statuses if s.to and s.to[0].startswith("rejected")])
    # The data SES recorded for each recipient is exactly what was checked and prepared.
    recorded = recorded_data(backend.sent_messages)
    for s in result.sent[:50]:
        assert recorded[s.to[0]]["code"] == f"{_hash('code', s.index) % 1_000_000:06d}"
        assert recorded[s.to[0]]["_html"]["email"] == s.to[0]


def test_500_recipients_through_motos_server_with_four_workers(server_ses: Any) -> None:
    server, c = server_ses
    throttles = Faults(c, "SendBulkTemplatedEmail",
                       lambda i: ("Throttling", "Maximum sending rate exceeded.", 400) if i % 4 == 2 else None,
                       server=True)
    faults = DestinationFaults(c, flaky)
    mailer = make_mailer(c)
    result = mailer.send_bulk("email_verification", people(500), workers=4)
    check_ledger(result, 500, recorded_destinations(server.template_messages()), faults)
    assert throttles.calls > throttles.passed


def test_bulk_streams_a_generator_without_reading_ahead(moto_ses: Any) -> None:
    c, _ = moto_ses
    pulled = 0

    def recipients() -> Iterator[tuple[str, dict[str, str]]]:
        nonlocal pulled
        for i in range(230):
            pulled += 1
            yield f"user{i}@example.org", {"code": f"{i:06d}", "email": f"user{i}@example.org", "expires_at": "14:32 UTC"}

    mailer = make_mailer(c)
    seen = 0
    for _ in mailer.iter_send_bulk("email_verification", recipients()):
        seen += 1
        assert pulled - seen < 50  # at most one call's worth is held
    assert seen == pulled == 230


def test_daily_quota_stops_the_run_and_reports_the_rest_as_skipped(moto_ses: Any) -> None:
    c, backend = moto_ses
    quota = Faults(c, "SendBulkTemplatedEmail",
                   lambda i: ("Throttling", "Daily message quota exceeded.", 400) if i >= 2 else None)
    mailer = make_mailer(c)
    result = mailer.send_bulk("email_verification",
                              iter(plain(260)))
    assert result.counts == {"sent": 100, "invalid": 0, "failed": 50, "unknown": 0, "skipped": 110, "suppressed": 0}
    assert quota.calls == 3  # no call after the quota ran out
    assert all(isinstance(s.error, DailyQuotaExceeded) for s in result.statuses if not s.ok)
    assert sorted(s.index for s in result.statuses) == list(range(260))
    assert recorded_destinations(backend.sent_messages) == Counter(s.to[0] for s in result.sent)


def test_paused_destinations_stop_the_run_without_a_fallback(moto_ses: Any) -> None:
    c, _ = moto_ses
    DestinationFaults(c, lambda address, attempt: "AccountSendingPaused" if address == "user60@example.org" else None)
    mailer = make_mailer(c)
    result = mailer.send_bulk("email_verification",
                              plain(150))
    assert result.counts["sent"] == 99 and result.counts["failed"] == 1 and result.counts["skipped"] == 50


def test_an_outcome_ses_may_have_sent_is_unknown_and_never_retried(moto_ses: Any) -> None:
    from botocore.exceptions import ReadTimeoutError

    c, _ = moto_ses
    calls = {"n": 0}

    def timeout_on_second_call(**_: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise ReadTimeoutError(endpoint_url="https://email.eu-west-1.amazonaws.com")

    c.meta.events.register_first("before-call.ses.SendBulkTemplatedEmail", timeout_on_second_call)
    result = make_mailer(c).send_bulk(
        "email_verification", plain(120))
    assert result.counts == {"sent": 70, "invalid": 0, "failed": 0, "unknown": 50, "skipped": 0, "suppressed": 0}
    assert calls["n"] == 3
    unknown = [s for s in result.statuses if s.status == "unknown"]
    assert all(isinstance(s.error, DeliveryUnknown) and s.attempts == 1 for s in unknown)
    assert [s.index for s in unknown] == list(range(50, 100))
    assert len(result.not_sent) == 0  # unknown is not "not sent": do not resend blindly


def test_retryable_destinations_give_up_after_the_attempts(moto_ses: Any) -> None:
    c, _ = moto_ses
    faults = DestinationFaults(c, lambda address, attempt: "TransientFailure"
                               if address == "user3@example.org" else None)
    mailer = make_mailer(c, bulk_attempts=3)
    result = mailer.send_bulk("email_verification",
                              plain(10))
    [failed] = [s for s in result.statuses if not s.ok]
    assert failed.index == 3 and failed.attempts == 3 and failed.error.retryable  # type: ignore[union-attr]
    assert faults.seen["user3@example.org"] == 3 and result.counts["sent"] == 9


def test_whole_call_throttling_that_never_ends_fails_the_batch_as_retryable(moto_ses: Any) -> None:
    c, _ = moto_ses
    Faults(c, "SendBulkTemplatedEmail", lambda i: ("Throttling", "Maximum sending rate exceeded.", 400))
    mailer = make_mailer(c)
    result = mailer.send_bulk("email_verification",
                              plain(60))
    assert result.counts["failed"] == 60
    assert all(isinstance(s.error, Throttled) and s.error.retryable for s in result.statuses)


def test_default_data_tags_reply_to_and_recipients_with_several_addresses(moto_ses: Any) -> None:
    c, backend = moto_ses
    seen: list[dict[str, Any]] = []
    c.meta.events.register("provide-client-params.ses.SendBulkTemplatedEmail", lambda params, **_: seen.append(params))
    base = sample("coparent_invitation")
    shared = {k: base[k] for k in ("inviter_name", "inviter_email", "expires_at")}
    recipients = [
        {"to": [f"a{i}@example.org", f"b{i}@example.org"],
         "data": {"recipient_email": f"a{i}@example.org", "accept_url": f"https://calndr.club/invite/{i}"},
         "tags": {"invite": f"i{i}"}, "key": i}
        for i in range(40)
    ]
    mailer = make_mailer(c, configuration_set="calndr-bulk")
    result = mailer.send_bulk("coparent_invitation", recipients, default_data=shared,
                              reply_to="sam.whitaker@example.com", tags={"kind": "invitation"})
    assert result.ok and len(result.statuses) == 40
    assert [len(p["Destinations"]) for p in seen] == [25, 15]  # 50 addresses per call at most
    first = seen[0]
    assert first["ReplyToAddresses"] == ["sam.whitaker@example.com"]
    assert first["ConfigurationSetName"] == "calndr-bulk"
    assert json.loads(first["DefaultTemplateData"]) == prepare_data(shared)
    d0 = first["Destinations"][0]
    assert d0["ReplacementTags"] == [{"Name": "template", "Value": "coparent_invitation"},
                                     {"Name": "locale", "Value": "en"},
                                     {"Name": "kind", "Value": "invitation"}, {"Name": "invite", "Value": "i0"}]
    assert json.loads(d0["ReplacementTemplateData"]) == prepare_data({**shared, **recipients[0]["data"]})
    assert sum(recorded_destinations(backend.sent_messages).values()) == 80


def test_bad_recipient_shapes_are_invalid_not_fatal(moto_ses: Any) -> None:
    c, _ = moto_ses
    good = {"code": "123456", "email": "x@example.org", "expires_at": "14:32 UTC"}
    result = make_mailer(c).send_bulk("email_verification", [
        ("a@example.org", good), {"to": "b@example.org"}, "c@example.org", ("d@example.org", ["not", "a", "dict"]),
        ("e@example.org", good)])
    assert [s.status for s in result.statuses] == ["sent", "invalid", "invalid", "invalid", "sent"]
    assert all(isinstance(s.error, DataError) for s in result.statuses if not s.ok)


def test_unknown_template_raises_before_anything_is_read(moto_ses: Any) -> None:
    from letterhead.errors import ConfigError

    c, _ = moto_ses

    def never() -> Iterator[Any]:
        raise AssertionError("the recipients were read")
        yield

    with pytest.raises(ConfigError):
        make_mailer(c).iter_send_bulk("no_such_template", never())
