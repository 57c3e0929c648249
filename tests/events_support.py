"""Shared pieces of the issue-16 event tests: SNS messages signed exactly as
SNS signs them, with a self-signed certificate made once per session.

The production verifier (:class:`letterhead.events.sns.SnsVerifier`) runs
unchanged; only two seams are injected: ``cert_url_ok`` (trust
:data:`CERT_URL`) and ``fetch`` (a :class:`FetchStub` serving the PEM).

    verifier, fetch = make_verifier()
    verifier.verify(sign_sns(notification({"eventType": "Bounce", ...}), signing_keys().key))
"""

from __future__ import annotations

import base64
import functools
import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from letterhead.events.sns import SnsVerifier

TOPIC = "arn:aws:sns:eu-west-1:123456789012:ses-events"
OTHER_TOPIC = "arn:aws:sns:eu-west-1:210987654321:someone-elses"
CERT_URL = "https://sns-certs.test/SimpleNotificationService-letterhead-test.pem"
EXPIRED_CERT_URL = "https://sns-certs.test/SimpleNotificationService-expired.pem"
SUBSCRIBE_URL = ("https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription"
                 f"&TopicArn={TOPIC}&Token=2336412f37fb687f5d51e6e2425c464de")


@dataclass(frozen=True)
class SigningKeys:
    key: rsa.RSAPrivateKey
    cert: x509.Certificate
    pem: bytes


def make_keys(*, not_before: datetime | None = None, not_after: datetime | None = None,
              key: rsa.RSAPrivateKey | None = None) -> SigningKeys:
    """An RSA key and a self-signed certificate for it (valid a year around now by default)."""
    key = key or rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.now(UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.letterhead.test")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before or now - timedelta(days=1))
            .not_valid_after(not_after or now + timedelta(days=365))
            .sign(key, hashes.SHA256()))
    return SigningKeys(key, cert, cert.public_bytes(serialization.Encoding.PEM))


@functools.cache
def signing_keys() -> SigningKeys:
    """The session's signing key and certificate (served at :data:`CERT_URL`)."""
    return make_keys()


@functools.cache
def other_keys() -> SigningKeys:
    """A second, unrelated key (a forger's)."""
    return make_keys()


@functools.cache
def expired_keys() -> SigningKeys:
    """The session key in a certificate that expired yesterday (served at :data:`EXPIRED_CERT_URL`)."""
    now = datetime.now(UTC)
    return make_keys(not_before=now - timedelta(days=30), not_after=now - timedelta(days=1),
                     key=signing_keys().key)


def string_to_sign(message: Mapping[str, Any]) -> bytes:
    """SNS's canonical string, written here from AWS's documentation rather than
    imported, so the tests check the production one: "Key\nvalue\n" for these
    keys in this order (a Notification's Subject only when it has one)."""
    if message["Type"] == "Notification":
        keys = ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
        if "Subject" not in message:
            keys.remove("Subject")
    else:
        keys = ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"]
    return "".join(f"{key}\n{message[key]}\n" for key in keys).encode("utf-8")


def sign_sns(message: Mapping[str, Any], key: rsa.RSAPrivateKey, *, version: Literal["1", "2"] = "1",
             cert_url: str = CERT_URL) -> dict[str, Any]:
    """``message`` with Signature, SignatureVersion and SigningCertURL filled as
    SNS fills them: RSA PKCS#1 v1.5 over the canonical string, SHA1 for
    version "1", SHA256 for "2", base64."""
    out = dict(message)
    algorithm = hashes.SHA1() if version == "1" else hashes.SHA256()
    signature = key.sign(string_to_sign(out), padding.PKCS1v15(), algorithm)
    out.update(Signature=base64.b64encode(signature).decode("ascii"), SignatureVersion=version,
               SigningCertURL=cert_url)
    return out


def sns_timestamp(when: datetime | None = None) -> str:
    """SNS's format: ``2012-04-26T20:45:04.751Z``."""
    when = (when or datetime.now(UTC)).astimezone(UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def notification(ses: Mapping[str, Any] | str, *, topic: str = TOPIC, message_id: str | None = None,
                 timestamp: datetime | None = None, subject: str | None = None) -> dict[str, Any]:
    """An unsigned SNS Notification envelope around ``ses`` (JSON-encoded unless a string)."""
    out: dict[str, Any] = {
        "Type": "Notification", "MessageId": message_id or str(uuid.uuid4()), "TopicArn": topic,
        "Message": ses if isinstance(ses, str) else json.dumps(ses), "Timestamp": sns_timestamp(timestamp),
        "UnsubscribeURL": f"https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={topic}:1",
    }
    if subject is not None:
        out["Subject"] = subject
    return out


def subscription_confirmation(*, topic: str = TOPIC, subscribe_url: str = SUBSCRIBE_URL,
                              timestamp: datetime | None = None,
                              kind: str = "SubscriptionConfirmation") -> dict[str, Any]:
    """An unsigned SubscriptionConfirmation (or, with ``kind``, UnsubscribeConfirmation)."""
    return {
        "Type": kind, "MessageId": str(uuid.uuid4()), "TopicArn": topic,
        "Token": "2336412f37fb687f5d51e6e2425c464de",
        "Message": f"You have chosen to subscribe to the topic {topic}.\nTo confirm, visit the SubscribeURL.",
        "SubscribeURL": subscribe_url, "Timestamp": sns_timestamp(timestamp),
    }


def signed(message: Mapping[str, Any], *, version: Literal["1", "2"] = "1") -> dict[str, Any]:
    """``message`` signed with the session key, certificate at :data:`CERT_URL`."""
    return sign_sns(message, signing_keys().key, version=version)


class FetchStub:
    """Stands in for :func:`letterhead.events.sns.https_get`: serves PEMs by URL,
    records every URL asked, raises OSError for anything else (or ``fail``)."""

    def __init__(self, pages: Mapping[str, bytes] | None = None, *, fail: bool = False) -> None:
        self.pages: dict[str, bytes] = dict(pages) if pages is not None else {
            CERT_URL: signing_keys().pem, EXPIRED_CERT_URL: expired_keys().pem}
        self.fail = fail
        self.calls: list[str] = []

    def __call__(self, url: str) -> bytes:
        self.calls.append(url)
        if self.fail:
            raise OSError("connection refused (stub)")
        if url in self.pages:
            return self.pages[url]
        if url.startswith("https://sns.") and "Action=ConfirmSubscription" in url:
            return b"<ConfirmSubscriptionResponse/>"
        raise OSError(f"no such page (stub): {url}")


def trust_test_certs(url: str) -> bool:
    """The injected SigningCertURL rule: the test host only."""
    return url.startswith("https://sns-certs.test/") and url.endswith(".pem")


def make_verifier(topics: tuple[str, ...] = (TOPIC,), *, fetch: FetchStub | None = None,
                  now: Callable[[], datetime] | None = None, **kwargs: Any) -> tuple[SnsVerifier, FetchStub]:
    """A production SnsVerifier trusting the test certificate host, and its fetch stub."""
    fetch = fetch if fetch is not None else FetchStub()
    if now is not None:
        kwargs["now"] = now
    return SnsVerifier(topics, cert_url_ok=trust_test_certs, fetch=fetch, **kwargs), fetch
