"""SNS signature verification (issue 16): the production SnsVerifier over
messages signed as SNS signs them, with a self-signed certificate served by a
fetch stub (tests/events_support.py).  Every refusal asserts its reason code."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from letterhead.errors import EventRejected
from letterhead.events import sns
from letterhead.events.sns import SnsVerifier, canonical_string, https_get, is_sns_cert_url, is_sns_url

from .events_support import (
    CERT_URL,
    EXPIRED_CERT_URL,
    OTHER_TOPIC,
    SUBSCRIBE_URL,
    TOPIC,
    FetchStub,
    make_verifier,
    notification,
    other_keys,
    sign_sns,
    signed,
    signing_keys,
    subscription_confirmation,
)

SECRET = "alice@private.example"  # in every body: must never surface in an error
BOUNCE = {"eventType": "Bounce", "mail": {"messageId": "m-1", "destination": [SECRET]},
          "bounce": {"bounceType": "Permanent", "bouncedRecipients": [{"emailAddress": SECRET}]}}


def rejected(verifier: SnsVerifier, message: Any) -> EventRejected:
    with pytest.raises(EventRejected) as info:
        verifier.verify(message)
    error = info.value
    assert SECRET not in str(error) and SECRET not in (error.hint or "")
    return error


# -- accepted ---------------------------------------------------------------


@pytest.mark.parametrize("version", ["1", "2"])
@pytest.mark.parametrize("subject", [None, "Amazon SES Email Event Notification"])
def test_valid_signature_is_accepted(version: Any, subject: str | None) -> None:
    verifier, fetch = make_verifier()
    verifier.verify(signed(notification(BOUNCE, subject=subject), version=version))
    assert fetch.calls == [CERT_URL]


def test_canonical_string_is_snss() -> None:
    message = {"Type": "Notification", "MessageId": "id-1", "TopicArn": TOPIC, "Subject": "S",
               "Message": "body", "Timestamp": "2024-01-02T03:04:05.678Z", "UnsubscribeURL": "https://x"}
    assert canonical_string(message) == (
        f"Message\nbody\nMessageId\nid-1\nSubject\nS\nTimestamp\n2024-01-02T03:04:05.678Z\nTopicArn\n{TOPIC}\n"
        "Type\nNotification\n").encode()
    del message["Subject"]
    assert b"Subject" not in canonical_string(message)
    confirmation = {"Type": "SubscriptionConfirmation", "MessageId": "id-2", "TopicArn": TOPIC, "Token": "t",
                    "Message": "m", "SubscribeURL": "https://u", "Timestamp": "2024-01-02T03:04:05.678Z"}
    assert canonical_string(confirmation) == (
        "Message\nm\nMessageId\nid-2\nSubscribeURL\nhttps://u\nTimestamp\n2024-01-02T03:04:05.678Z\nToken\nt\n"
        f"TopicArn\n{TOPIC}\nType\nSubscriptionConfirmation\n").encode()


def test_certificate_is_cached_per_url() -> None:
    verifier, fetch = make_verifier()
    for _ in range(3):
        verifier.verify(signed(notification(BOUNCE)))
    assert fetch.calls == [CERT_URL]


def test_production_cert_rule_with_an_sns_url() -> None:
    """The default cert_url_ok accepts a genuine-looking SNS URL (served here by the stub)."""
    url = "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0123456789abcdef.pem"
    fetch = FetchStub({url: signing_keys().pem})
    verifier = SnsVerifier([TOPIC], fetch=fetch)
    verifier.verify(sign_sns(notification(BOUNCE), signing_keys().key, version="2", cert_url=url))
    assert fetch.calls == [url]


# -- signatures ---------------------------------------------------------------


@pytest.mark.parametrize("version", ["1", "2"])
def test_tampered_message(version: Any) -> None:
    message = signed(notification(BOUNCE), version=version)
    message["Message"] = message["Message"].replace("Permanent", "Transient")
    assert rejected(make_verifier()[0], message).reason == "bad-signature"


@pytest.mark.parametrize("change", ["edit", "add", "remove"])
def test_tampered_subject(change: str) -> None:
    message = signed(notification(BOUNCE, subject=None if change == "add" else "Original"))
    if change == "remove":
        del message["Subject"]
    else:
        message["Subject"] = "Forged"
    assert rejected(make_verifier()[0], message).reason == "bad-signature"


@pytest.mark.parametrize("field", ["MessageId", "TopicArn", "Timestamp"])
def test_other_signed_fields_are_covered(field: str) -> None:
    message = signed(notification(BOUNCE))
    message[field] = {"MessageId": "another-id", "TopicArn": TOPIC + "-x", "Timestamp": message["Timestamp"]
                      .replace("Z", "+00:00")}[field]
    verifier, _ = make_verifier(topics=(TOPIC, TOPIC + "-x"))
    assert rejected(verifier, message).reason == "bad-signature"


def test_signed_by_a_different_key() -> None:
    message = sign_sns(notification(BOUNCE), other_keys().key, version="2")
    assert rejected(make_verifier()[0], message).reason == "bad-signature"


def test_signature_version_1_is_sha1_and_2_is_sha256() -> None:
    """A v1 signature relabelled as v2 (or back) does not verify."""
    for version, claimed in (("1", "2"), ("2", "1")):
        message = signed(notification(BOUNCE), version=version)  # type: ignore[arg-type]
        message["SignatureVersion"] = claimed
        assert rejected(make_verifier()[0], message).reason == "bad-signature"


@pytest.mark.parametrize("version", ["3", "0", "1.0", "SHA256"])
def test_unknown_signature_version(version: str) -> None:
    message = signed(notification(BOUNCE))
    message["SignatureVersion"] = version
    verifier, fetch = make_verifier()
    assert rejected(verifier, message).reason == "bad-signature"
    assert fetch.calls == []


def test_signature_not_base64() -> None:
    message = signed(notification(BOUNCE))
    message["Signature"] = "not base64 at all!"
    assert rejected(make_verifier()[0], message).reason == "bad-signature"


@pytest.mark.parametrize("missing", ["Signature", "SignatureVersion", "SigningCertURL", "all"])
def test_unsigned(missing: str) -> None:
    message = signed(notification(BOUNCE))
    for key in ("Signature", "SignatureVersion", "SigningCertURL") if missing == "all" else (missing,):
        del message[key]
    assert rejected(make_verifier()[0], message).reason == "unsigned"
    message[missing if missing != "all" else "Signature"] = ""
    assert rejected(make_verifier()[0], message).reason == "unsigned"


# -- the certificate --------------------------------------------------------------


BAD_CERT_URLS = [
    "http://sns.us-east-1.amazonaws.com/SimpleNotificationService-x.pem",
    "https://sns.us-east-1.amazonaws.com.evil.com/x.pem",
    "https://evil.com/sns.us-east-1.amazonaws.com/x.pem",
    "https://user@sns.us-east-1.amazonaws.com/x.pem",
    "https://sns.us-east-1.amazonaws.com:secret@evil.com/x.pem",
    "https://sns.us-east-1.amazonaws.com@evil.com/x.pem",
    "https://sns.us-east-1.amazonaws.com\\@evil.com/x.pem",
    "https://sns.us-east-1.amazonaws.com:8443/x.pem",
    "https://sns.us-east-1.amazonaws.com:443/x.pem",
    "https://sns.us-east-1.amazonaws.com/x.txt",
    "https://sns.us-east-1.amazonaws.com/x.pem?y=.pem",
    "https://sns.us-east-1.amazonaws.com/x.pem#frag",
    "https://sns.us-east-1.amazonaws.com",
    "https://sns.amazonaws.com/x.pem",
    "https://sqs.us-east-1.amazonaws.com/x.pem",
    "https://sns.us-east-1.amazonaws.co/x.pem",
    "https://xsns.us-east-1.amazonaws.com/x.pem",
    "https://sns.evil.amazonaws.com.attacker.net/x.pem",
    "https://sns.us-east-1.amazonaws.com /x.pem",
    "https://sns.us-east-1.amazonaws.com\t/x.pem",
    "https://sns.us-east-1.amazonaws.com\n.evil.com/x.pem",
    "ftp://sns.us-east-1.amazonaws.com/x.pem",
    "//sns.us-east-1.amazonaws.com/x.pem",
    "https://SNS.US-EAST-1.AMAZONAWS.COM.evil.com/x.pem",
    "",
]
GOOD_CERT_URLS = [
    "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-9c6465fa7f48f5cacd23014631ec1136.pem",
    "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-01d088a6f77103d0fe307c0069e40ed6.pem",
    "https://sns.us-gov-west-1.amazonaws.com/SimpleNotificationService-x.pem",
    "https://sns.ap-southeast-2.amazonaws.com/x.pem",
    "https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-x.pem",
]


@pytest.mark.parametrize("url", BAD_CERT_URLS)
def test_cert_url_rule_refuses(url: str) -> None:
    assert not is_sns_cert_url(url)


@pytest.mark.parametrize("url", GOOD_CERT_URLS)
def test_cert_url_rule_accepts(url: str) -> None:
    assert is_sns_cert_url(url)


@pytest.mark.parametrize("url", BAD_CERT_URLS[:8])
def test_wrong_cert_host_is_refused_before_fetching(url: str) -> None:
    fetch = FetchStub({url: signing_keys().pem})
    verifier = SnsVerifier([TOPIC], fetch=fetch)  # the production rule
    message = sign_sns(notification(BOUNCE), signing_keys().key, cert_url=url)
    assert rejected(verifier, message).reason == "cert-url"
    assert fetch.calls == []


def test_cert_expired() -> None:
    message = sign_sns(notification(BOUNCE), signing_keys().key, cert_url=EXPIRED_CERT_URL)
    error = rejected(make_verifier()[0], message)
    assert error.reason == "cert" and "expired" in str(error)


def test_cert_not_a_certificate() -> None:
    verifier, _ = make_verifier(fetch=FetchStub({CERT_URL: b"<html>not a PEM</html>"}))
    assert rejected(verifier, signed(notification(BOUNCE))).reason == "cert"


def test_cert_fetch_failing_is_a_rejection_and_not_cached() -> None:
    fetch = FetchStub(fail=True)
    verifier, _ = make_verifier(fetch=fetch)
    message = signed(notification(BOUNCE))
    assert rejected(verifier, message).reason == "fetch"
    fetch.fail = False
    verifier.verify(message)  # the next delivery fetches again and passes
    assert fetch.calls == [CERT_URL, CERT_URL]


def test_https_get_refuses_plain_http() -> None:
    with pytest.raises(ValueError, match="https"):
        https_get("http://sns.us-east-1.amazonaws.com/x.pem")


def test_https_get_caps_the_size(monkeypatch: pytest.MonkeyPatch) -> None:
    class Endless:
        status = 200

        def __enter__(self) -> Endless:
            return self

        def __exit__(self, *exc: object) -> None:
            return None

        def read(self, size: int) -> bytes:
            return b"x" * size

    class Opener:
        def open(self, url: str, timeout: float) -> Endless:
            assert timeout > 0
            return Endless()

    monkeypatch.setattr(sns, "_OPENER", Opener())
    with pytest.raises(ValueError, match="larger than"):
        https_get("https://sns.us-east-1.amazonaws.com/x.pem")


# -- topics, time, replays ----------------------------------------------------------


def test_wrong_topic() -> None:
    verifier, fetch = make_verifier()
    error = rejected(verifier, signed(notification(BOUNCE, topic=OTHER_TOPIC)))
    assert error.reason == "topic" and OTHER_TOPIC in str(error)
    assert fetch.calls == []


def test_empty_allowlist_refuses_everything_with_a_hint() -> None:
    verifier, _ = make_verifier(topics=())
    error = rejected(verifier, signed(notification(BOUNCE)))
    assert error.reason == "topic"
    assert "[tool.letterhead.events] topics" in (error.hint or "")
    assert "LETTERHEAD_SNS_TOPICS" in (error.hint or "")


def test_stale() -> None:
    now = datetime.now(UTC)
    verifier, _ = make_verifier(max_age=600, now=lambda: now)
    assert rejected(verifier, signed(notification(BOUNCE, timestamp=now - timedelta(seconds=601)))).reason == \
        "stale"
    verifier.verify(signed(notification(BOUNCE, timestamp=now - timedelta(seconds=590))))


def test_future() -> None:
    now = datetime.now(UTC)
    verifier, _ = make_verifier(now=lambda: now)
    assert rejected(verifier, signed(notification(BOUNCE, timestamp=now + timedelta(minutes=6)))).reason == \
        "stale"
    verifier.verify(signed(notification(BOUNCE, timestamp=now + timedelta(minutes=4))))


def test_replay() -> None:
    verifier, _ = make_verifier()
    message = signed(notification(BOUNCE))
    verifier.verify(message)
    assert rejected(verifier, message).reason == "replay"
    verifier.forget(message["MessageId"])  # handling failed: SNS's retry must pass
    verifier.verify(message)


def test_forged_message_does_not_poison_the_replay_window() -> None:
    verifier, _ = make_verifier()
    genuine = signed(notification(BOUNCE))
    forged = sign_sns(notification(BOUNCE, message_id=genuine["MessageId"]), other_keys().key)
    assert rejected(verifier, forged).reason == "bad-signature"
    verifier.verify(genuine)


def test_replay_window_is_bounded() -> None:
    verifier, _ = make_verifier(seen_capacity=2)
    messages = [signed(notification(BOUNCE)) for _ in range(3)]
    for message in messages:
        verifier.verify(message)
    verifier.verify(messages[0])  # evicted: only the cache's capacity is remembered
    assert rejected(verifier, messages[2]).reason == "replay"


def test_replay_window_forgets_what_the_stale_check_covers() -> None:
    clock = [datetime.now(UTC)]
    verifier, _ = make_verifier(max_age=600, now=lambda: clock[0])
    for _ in range(5):
        verifier.verify(signed(notification(BOUNCE, timestamp=clock[0])))
    assert verifier.remembered == 5
    clock[0] += timedelta(seconds=601)
    verifier.verify(signed(notification(BOUNCE, timestamp=clock[0])))
    assert verifier.remembered == 1


# -- malformed ----------------------------------------------------------------------


@pytest.mark.parametrize("change", ["not-a-mapping", "no-type", "unknown-type", "no-message-id", "message-not-str",
                                    "no-topic", "bad-timestamp", "naive-timestamp", "signature-not-str",
                                    "subject-not-str"])
def test_malformed(change: str) -> None:
    message: Any = signed(notification(BOUNCE))
    if change == "not-a-mapping":
        message = [message]
    elif change == "no-type":
        del message["Type"]
    elif change == "unknown-type":
        message["Type"] = "Nonsense"
    elif change == "no-message-id":
        del message["MessageId"]
    elif change == "message-not-str":
        message["Message"] = json.loads(message["Message"])
    elif change == "no-topic":
        del message["TopicArn"]
    elif change == "bad-timestamp":
        message["Timestamp"] = "yesterday"
    elif change == "naive-timestamp":
        message["Timestamp"] = message["Timestamp"].rstrip("Z")
    elif change == "signature-not-str":
        message["Signature"] = 12
    else:
        message["Subject"] = ["x"]
    assert rejected(make_verifier()[0], message).reason == "malformed"


# -- subscription confirmation ---------------------------------------------------------


@pytest.mark.parametrize("version", ["1", "2"])
def test_confirm_allowed_topic(version: Any) -> None:
    verifier, fetch = make_verifier()
    assert verifier.confirm(signed(subscription_confirmation(), version=version)) is True
    assert fetch.calls == [CERT_URL, SUBSCRIBE_URL]


def test_confirm_not_allowed_topic_does_not_fetch() -> None:
    verifier, fetch = make_verifier()
    with pytest.raises(EventRejected) as info:
        verifier.confirm(signed(subscription_confirmation(topic=OTHER_TOPIC)))
    assert info.value.reason == "topic"
    assert fetch.calls == []


def test_confirm_tampered_subscribe_url_does_not_fetch() -> None:
    verifier, fetch = make_verifier()
    message = signed(subscription_confirmation())
    message["SubscribeURL"] = "https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&Token=other"
    with pytest.raises(EventRejected) as info:
        verifier.confirm(message)
    assert info.value.reason == "bad-signature"
    assert message["SubscribeURL"] not in fetch.calls


@pytest.mark.parametrize("url", ["https://evil.com/?Action=ConfirmSubscription",
                                 "http://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription",
                                 "https://sns.eu-west-1.amazonaws.com.evil.com/?Action=ConfirmSubscription",
                                 "https://u@sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription"])
def test_confirm_signed_but_foreign_subscribe_url_does_not_fetch(url: str) -> None:
    assert not is_sns_url(url)
    verifier, fetch = make_verifier()
    with pytest.raises(EventRejected) as info:
        verifier.confirm(signed(subscription_confirmation(subscribe_url=url)))
    assert info.value.reason == "subscribe-url"
    assert fetch.calls == [CERT_URL]


def test_confirm_fetch_failing_is_a_rejection_and_retry_passes() -> None:
    class SubscribeDown(FetchStub):
        down = True

        def __call__(self, url: str) -> bytes:
            if url == SUBSCRIBE_URL and self.down:
                self.calls.append(url)
                raise OSError("timed out")
            return super().__call__(url)

    fetch = SubscribeDown()
    verifier, _ = make_verifier(fetch=fetch)
    message = signed(subscription_confirmation())
    with pytest.raises(EventRejected) as info:
        verifier.confirm(message)
    assert info.value.reason == "fetch"
    fetch.down = False
    assert verifier.confirm(message) is True  # SNS's resend of the same message is not a replay
    assert fetch.calls == [CERT_URL, SUBSCRIBE_URL, SUBSCRIBE_URL]


def test_confirm_of_a_notification_or_unsubscribe_is_false() -> None:
    verifier, fetch = make_verifier()
    assert verifier.confirm(signed(notification(BOUNCE))) is False
    assert verifier.confirm(signed(subscription_confirmation(kind="UnsubscribeConfirmation"))) is False
    assert fetch.calls == [CERT_URL]
