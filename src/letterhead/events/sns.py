"""SNS message verification and subscription confirmation (issue 16).

In: an SNS message as received over HTTPS (the JSON object SNS POSTs: a
``Notification``, ``SubscriptionConfirmation`` or ``UnsubscribeConfirmation``).
Out: nothing when the message is genuine, fresh, unseen and from an allowed
topic; :class:`~letterhead.errors.EventRejected` with a short ``reason``
otherwise.  Nothing of the message body ever goes into an error or a log.

The checks, cheapest first, each with its reason code:

* ``malformed``: not an object, an unknown ``Type``, a signed field missing or
  not a string, a ``Timestamp`` that is not ISO 8601 with a zone;
* ``unsigned``: no ``Signature`` / ``SignatureVersion`` / ``SigningCertURL``;
* ``topic``: ``TopicArn`` not on the allowlist (an empty allowlist refuses all);
* ``stale``: ``Timestamp`` older than ``max_age`` seconds, or more than five
  minutes in the future;
* ``bad-signature``: a ``SignatureVersion`` other than ``"1"`` (RSA PKCS#1 v1.5
  over SHA1) or ``"2"`` (over SHA256), a signature that is not base64, or one
  that does not match SNS's canonical string;
* ``cert-url``: a ``SigningCertURL`` outside ``https://sns.<region>.amazonaws.com/….pem``
  (the rule is injectable so tests can serve a self-signed certificate);
* ``fetch``: the certificate (or, in :meth:`SnsVerifier.confirm`, the
  SubscribeURL) could not be fetched; transient (see :data:`TRANSIENT_REASONS`);
* ``cert``: what the URL served is not a usable RSA certificate, or it is
  expired / not yet valid;
* ``replay``: a ``MessageId`` already accepted (bounded in-memory LRU; ids
  older than ``max_age`` leave it, the ``stale`` check covers them);
* ``subscribe-url``: a SubscriptionConfirmation whose ``SubscribeURL`` is not
  an ``https://sns.<region>.amazonaws.com/`` URL.

Certificates are cached per URL (bounded); a failed fetch is not cached.
``cryptography`` (the ``events`` extra) is imported on first verification.
"""

from __future__ import annotations

import base64
import binascii
import re
import threading
import urllib.error
import urllib.request
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

from ..errors import ConfigError, EventRejected

if TYPE_CHECKING:
    from cryptography.x509 import Certificate

MESSAGE_TYPES: Final = ("Notification", "SubscriptionConfirmation", "UnsubscribeConfirmation")

# SNS's canonical strings: these keys, in this order, each as "Key\nvalue\n".
# A Notification's Subject is signed only when the message has one.
SIGNED_FIELDS: Final[Mapping[str, tuple[str, ...]]] = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn",
                                 "Type"),
    "UnsubscribeConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn",
                                "Type"),
}
OPTIONAL_FIELDS: Final = frozenset({"Subject"})

# Reasons worth a retry (answer 5xx so SNS redelivers) rather than a refusal.
TRANSIENT_REASONS: Final = frozenset({"fetch"})

FUTURE_SKEW: Final = timedelta(minutes=5)
CERT_CACHE_SIZE: Final = 32
SEEN_CAPACITY: Final = 65_536
FETCH_TIMEOUT: Final = 10.0
FETCH_LIMIT: Final = 64 * 1024

TOPICS_HINT: Final = ('allow the topic in [tool.letterhead.events] topics = ["arn:aws:sns:…"] '
                      "or LETTERHEAD_SNS_TOPICS (comma-separated ARNs)")

_SNS_HOST = re.compile(r"sns\.[a-z]{2}(?:-[a-z]+)+-\d\.amazonaws\.com(?:\.cn)?")
_URL_CHARS = re.compile(r"[!-~]+")  # printable ASCII, no spaces or controls


def is_sns_url(url: str) -> bool:
    """``https://sns.<region>.amazonaws.com[.cn]/…``: the host written plainly,
    no user info, no port, nothing urllib would strip or reinterpret."""
    if not isinstance(url, str) or not _URL_CHARS.fullmatch(url) or "\\" in url:
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme == "https" and _SNS_HOST.fullmatch(parts.netloc) is not None and \
        parts.path.startswith("/") and not parts.fragment


def is_sns_cert_url(url: str) -> bool:
    """The production rule for ``SigningCertURL``: an SNS URL (:func:`is_sns_url`)
    whose path ends in ``.pem``, without a query."""
    if not is_sns_url(url):
        return False
    parts = urlsplit(url)
    return parts.path.endswith(".pem") and not parts.query


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:  # refuse every redirect
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def https_get(url: str) -> bytes:
    """GET ``url`` over HTTPS (certificate checked, no redirects followed, a
    timeout, at most :data:`FETCH_LIMIT` bytes).  Raises OSError or ValueError."""
    if urlsplit(url).scheme != "https":
        raise ValueError("only https URLs are fetched")
    with _OPENER.open(url, timeout=FETCH_TIMEOUT) as response:
        status = getattr(response, "status", 200)
        if status != 200:
            raise urllib.error.URLError(f"HTTP {status}")
        body: bytes = response.read(FETCH_LIMIT + 1)
    if len(body) > FETCH_LIMIT:
        raise ValueError(f"answer larger than {FETCH_LIMIT} bytes")
    return body


def _utcnow() -> datetime:
    return datetime.now(UTC)


def canonical_string(message: Mapping[str, Any]) -> bytes:
    """What SNS signs for this message (its ``Type`` must be known and the
    signed fields strings: :meth:`SnsVerifier.verify` checks that first)."""
    out = []
    for key in SIGNED_FIELDS[message["Type"]]:
        value = message.get(key)
        if value is None and key in OPTIONAL_FIELDS:
            continue
        out.append(f"{key}\n{value}\n")
    return "".join(out).encode("utf-8")


def _reject(message: str, reason: str, hint: str | None = None) -> EventRejected:
    return EventRejected(message, reason=reason, hint=hint)


class SnsVerifier:
    """Checks SNS messages; one instance per consumer (it holds the
    certificate cache and the seen-MessageId window).  Thread-safe.

    ``topics``: the allowed TopicArns.  ``max_age``: seconds a message may be
    old.  ``cert_url_ok``: the SigningCertURL rule (:func:`is_sns_cert_url`).
    ``fetch``: GET a URL, return the body (:func:`https_get`).  ``now``: the
    clock, timezone-aware."""

    def __init__(self, topics: Iterable[str], *, max_age: int = 3600,
                 cert_url_ok: Callable[[str], bool] = is_sns_cert_url,
                 fetch: Callable[[str], bytes] = https_get,
                 now: Callable[[], datetime] = _utcnow,
                 seen_capacity: int = SEEN_CAPACITY) -> None:
        self.topics = frozenset(topics)
        self.max_age = timedelta(seconds=max_age)
        self.cert_url_ok = cert_url_ok
        self.fetch = fetch
        self.now = now
        self.seen_capacity = seen_capacity
        self._certs: OrderedDict[str, Certificate] = OrderedDict()
        self._seen: OrderedDict[str, datetime] = OrderedDict()
        self._lock = threading.Lock()

    # -- the checks ---------------------------------------------------------

    def verify(self, message: Mapping[str, Any]) -> None:
        """Return when ``message`` is genuine; raise EventRejected otherwise.
        An accepted MessageId is remembered: the same id again is a ``replay``
        (call :meth:`forget` when the message could not be handled, so SNS's
        retry of it is accepted)."""
        message_id, timestamp = self._shape(message)
        topic = message["TopicArn"]
        if topic not in self.topics:
            if not self.topics:
                raise _reject("no SNS topic is allowed, every message is refused", "topic", TOPICS_HINT)
            raise _reject(f"SNS message {message_id} from topic {topic} which is not allowed", "topic",
                          TOPICS_HINT)
        now = self.now()
        if timestamp < now - self.max_age:
            raise _reject(f"SNS message {message_id} is older than {int(self.max_age.total_seconds())} s",
                          "stale", hint="a replay, or a clock out of step: check this host's time")
        if timestamp > now + FUTURE_SKEW:
            raise _reject(f"SNS message {message_id} is dated in the future", "stale",
                          hint="check this host's clock")
        self._check_signature(message, message_id)
        with self._lock:
            if message_id in self._seen:
                raise _reject(f"SNS message {message_id} was already accepted", "replay")
            self._remember(message_id, timestamp, now)

    @property
    def remembered(self) -> int:
        """How many MessageIds the replay window holds now (bounded by
        ``seen_capacity`` and by ``max_age``)."""
        with self._lock:
            return len(self._seen)

    def forget(self, message_id: str) -> None:
        """Let ``message_id`` be accepted again (its handling failed and SNS
        will retry it with the same id and signature)."""
        with self._lock:
            self._seen.pop(message_id, None)

    def confirm(self, message: Mapping[str, Any]) -> bool:
        """Verify ``message``; when it is a SubscriptionConfirmation (from an
        allowed topic, as :meth:`verify` requires) GET its SubscribeURL, only
        when that is an ``https://sns.<region>.amazonaws.com/`` URL.  True when
        confirmed, False when the message is not a SubscriptionConfirmation."""
        self.verify(message)
        if message["Type"] != "SubscriptionConfirmation":
            return False
        url = message["SubscribeURL"]
        message_id = message["MessageId"]
        if not is_sns_url(url):
            raise _reject(f"SubscriptionConfirmation {message_id}: SubscribeURL is not an SNS URL",
                          "subscribe-url")
        try:
            self.fetch(url)
        except Exception as exc:  # any failed GET: a refusal, not a crash
            self.forget(message_id)
            raise _reject(f"SubscriptionConfirmation {message_id}: confirming failed ({type(exc).__name__})",
                          "fetch", hint="SNS resends the confirmation; check this host reaches AWS") from None
        return True

    # -- pieces ---------------------------------------------------------------

    def _shape(self, message: Mapping[str, Any]) -> tuple[str, datetime]:
        if not isinstance(message, Mapping):
            raise _reject("SNS message is not a JSON object", "malformed")
        kind = message.get("Type")
        if kind not in MESSAGE_TYPES:
            raise _reject("SNS message has no known Type", "malformed",
                          hint=f"Type is one of {', '.join(MESSAGE_TYPES)}")
        for key in SIGNED_FIELDS[kind]:
            value = message.get(key)
            if value is None and key in OPTIONAL_FIELDS:
                continue
            if not isinstance(value, str):
                raise _reject(f"SNS {kind} lacks {key} (or it is not a string)", "malformed")
        message_id = message["MessageId"]
        for key in ("Signature", "SignatureVersion", "SigningCertURL"):
            value = message.get(key)
            if value is None or value == "":
                raise _reject(f"SNS message {message_id} is not signed (no {key})", "unsigned")
            if not isinstance(value, str):
                raise _reject(f"SNS message {message_id}: {key} is not a string", "malformed")
        try:
            timestamp = datetime.fromisoformat(message["Timestamp"])
        except ValueError:
            raise _reject(f"SNS message {message_id}: Timestamp is not ISO 8601", "malformed") from None
        if timestamp.tzinfo is None:
            raise _reject(f"SNS message {message_id}: Timestamp has no time zone", "malformed")
        return message_id, timestamp

    def _check_signature(self, message: Mapping[str, Any], message_id: str) -> None:
        version = message["SignatureVersion"]
        if version not in ("1", "2"):
            raise _reject(f"SNS message {message_id}: unknown SignatureVersion {version[:8]!r}",
                          "bad-signature", hint='SNS signs with SignatureVersion "1" (SHA1) or "2" (SHA256)')
        try:
            signature = base64.b64decode(message["Signature"], validate=True)
        except (binascii.Error, ValueError):
            raise _reject(f"SNS message {message_id}: Signature is not base64", "bad-signature") from None
        cert = self._certificate(message["SigningCertURL"], message_id)
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding, rsa

        public_key = cert.public_key()
        if not isinstance(public_key, rsa.RSAPublicKey):
            raise _reject(f"SNS message {message_id}: the signing certificate's key is not RSA", "cert")
        algorithm = hashes.SHA1() if version == "1" else hashes.SHA256()  # SNS version 1 is SHA1
        try:
            public_key.verify(signature, canonical_string(message), padding.PKCS1v15(), algorithm)
        except InvalidSignature:
            raise _reject(f"SNS message {message_id}: the signature does not match", "bad-signature") from None

    def _certificate(self, url: str, message_id: str) -> Certificate:
        if not self.cert_url_ok(url):
            raise _reject(f"SNS message {message_id}: SigningCertURL is not an SNS certificate URL",
                          "cert-url", hint="SNS certificates come only from https://sns.<region>.amazonaws.com/…pem")
        with self._lock:
            cert = self._certs.get(url)
            if cert is not None:
                self._certs.move_to_end(url)
        if cert is None:
            cert = self._load(url, message_id)
            with self._lock:
                self._certs[url] = cert
                while len(self._certs) > CERT_CACHE_SIZE:
                    self._certs.popitem(last=False)
        now = self.now()
        if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
            raise _reject(f"SNS message {message_id}: the signing certificate is expired or not yet valid "
                          f"(valid {cert.not_valid_before_utc:%Y-%m-%d} to {cert.not_valid_after_utc:%Y-%m-%d})",
                          "cert")
        return cert

    def _load(self, url: str, message_id: str) -> Certificate:
        try:
            from cryptography import x509
        except ImportError:  # pragma: no cover - depends on the install
            raise ConfigError("verifying SNS signatures needs the 'cryptography' package",
                              hint="pip install 'letterhead[events]'") from None
        try:
            pem = self.fetch(url)
        except Exception as exc:  # any failed GET: a refusal, not a crash
            raise _reject(f"SNS message {message_id}: fetching the signing certificate failed "
                          f"({type(exc).__name__})", "fetch", hint="check this host reaches AWS over HTTPS") from None
        try:
            return x509.load_pem_x509_certificate(pem)
        except (ValueError, TypeError):
            raise _reject(f"SNS message {message_id}: SigningCertURL did not serve a PEM certificate",
                          "cert") from None

    def _remember(self, message_id: str, timestamp: datetime, now: datetime) -> None:
        seen = self._seen
        seen[message_id] = timestamp
        horizon = now - self.max_age
        while seen and (len(seen) > self.seen_capacity or next(iter(seen.values())) < horizon):
            seen.popitem(last=False)
