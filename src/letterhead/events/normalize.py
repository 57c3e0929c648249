"""SES's notification JSON → typed :class:`~letterhead.events.model.SesEvent` objects.

In: one SES notification (a parsed JSON object), or an SQS message body that
holds one (raw message delivery, or inside its SNS envelope).  Out: a list of
``SesEvent``, one per recipient for bounce, complaint, delivery and delivery
delay, one (``recipient`` None) for send, reject and rendering failure.

SES writes two shapes:

* event publishing (a configuration set's SNS destination): ``eventType`` is
  ``Send``, ``Delivery``, ``Bounce``, ``Complaint``, ``Reject``,
  ``DeliveryDelay``, ``Rendering Failure``, ``Open``, ``Click`` or
  ``Subscription``, and ``mail.tags`` carries the message tags (the
  ``template`` tag every letterhead send sets, and SES's ``ses:…`` tags);
* identity notifications (``SetIdentityNotificationTopic``):
  ``notificationType`` is ``Bounce``, ``Complaint`` or ``Delivery``, and the
  ``mail`` object has no tags (so those events have no template).

Nothing here verifies a signature: :mod:`letterhead.events.sns` does that
before a notification reaches :func:`parse_notification`.  Every refusal is an
:class:`~letterhead.errors.EventRejected` with ``reason`` ``"not-ses"`` (the
JSON is not an SES notification) or ``"malformed"`` (it is, but a field
letterhead needs is missing or of the wrong type); no input raises anything
else.  Unknown extra fields are ignored, as SES asks of its readers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import parseaddr
from typing import Any

from ..errors import EventRejected
from .model import SES_KINDS, EventKind, SesEvent

__all__ = ["IGNORED_TYPES", "notification_of", "parse_notification", "unwrap_sqs_body"]

# Kinds SES publishes that letterhead does not turn into events (engagement
# tracking and list subscriptions, and SES's own set-up notice): parsed as [].
IGNORED_TYPES: frozenset[str] = frozenset({"Open", "Click", "Subscription", "AmazonSnsSubscriptionSucceeded"})

# The object that holds each kind's details, by our kind.
_DETAIL_KEY: Mapping[EventKind, str] = {
    "send": "send", "delivery": "delivery", "bounce": "bounce", "complaint": "complaint", "reject": "reject",
    "delivery_delay": "deliveryDelay", "rendering_failure": "failure",
}
_IGNORED_DETAIL_KEYS = ("open", "click", "subscription")

_NOT_BARE = re.compile(r'[\s<>",;()\[\]\\]')

# What SES publishes to a new event-publishing topic, as the SNS Message (plain text, not JSON).
_VALIDATION_TEXT = "Successfully validated SNS topic for Amazon SES event publishing"


# -- entry points ----------------------------------------------------------------------------------


def parse_notification(notification: Mapping[str, Any]) -> list[SesEvent]:
    """The events one SES notification reports.

    ``notification`` is SES's JSON itself (for SNS, the envelope's ``Message``
    parsed; see :func:`notification_of`).  Bounce, complaint, delivery and
    delivery-delay notifications give one event per recipient they list (SES
    may batch several); send, reject and rendering failure give one event with
    ``recipient`` None.  Open, Click and Subscription events, and SES's
    ``AmazonSnsSubscriptionSucceeded`` set-up notice, give ``[]``: they are
    SES's, but letterhead acts on none of them.

    Recipients are bare addresses (a display name, ``Name <a@b>``, is dropped),
    in the case SES gave them (compare lower-cased).  ``template`` is the
    ``template`` tag (the logical name letterhead tags every send with); a
    rendering failure without the tag falls back to SES's ``templateName``
    (the stored template's name).  ``timestamp`` is the event's own time
    (``bounce.timestamp`` and so on) or else ``mail.timestamp``, timezone-aware
    (UTC when SES's text has no offset).

    Raises :class:`EventRejected` with reason ``"not-ses"`` when the JSON has no
    ``eventType`` / ``notificationType`` (or names a kind SES does not have),
    ``"malformed"`` when a field letterhead reads is missing or mistyped.
    """
    if not isinstance(notification, Mapping):
        raise _not_ses(f"an SES notification is a JSON object, not {_kind_of(notification)}")
    kind = _kind(notification)
    if kind is None:
        return []
    mail = _mapping(notification, "mail", where="")
    if mail is None:
        raise _malformed("the notification has no 'mail' object")
    message_id = _text(mail, "messageId", where="mail", required=True)
    assert message_id is not None
    tags = _tags(mail)
    mail_time = _time(mail, where="mail")
    detail_key = _DETAIL_KEY[kind]
    detail = _mapping(notification, detail_key, where="")
    if detail is None and kind not in ("send", "reject"):
        raise _malformed(f"a {kind} notification without its '{detail_key}' object")
    detail = detail or {}
    timestamp = _time(detail, where=detail_key) or mail_time
    if timestamp is None:
        raise _malformed("the notification has no timestamp ('mail.timestamp')")
    template = tags["template"][0] if tags.get("template") else None
    common: dict[str, Any] = {"message_id": message_id, "timestamp": timestamp, "template": template,
                              "tags": tags, "raw": notification}
    return _BUILDERS[kind](detail, common)


def notification_of(envelope: Mapping[str, Any]) -> Mapping[str, Any]:
    """The SES notification inside an SNS ``Notification`` envelope (its ``Message``).

    ``Message`` is JSON text from SNS; moto's SNS, publishing SES feedback,
    puts the object itself there, and both are accepted.  The plain-text notice
    SES publishes when an event destination is created ("Successfully validated
    SNS topic…") comes back as an ``AmazonSnsSubscriptionSucceeded`` notice,
    which :func:`parse_notification` turns into ``[]``.  Other SNS message
    types (subscription confirmations) are "not-ses"; the HTTP endpoint
    handles those before it asks for the notification."""
    kind = envelope.get("Type")
    if kind != "Notification":
        raise _not_ses(f"an SNS {kind!r} message, not a Notification" if isinstance(kind, str)
                       else "an SNS envelope without a Type")
    message = envelope.get("Message")
    if isinstance(message, Mapping):
        return message
    if not isinstance(message, str):
        raise _malformed("the SNS envelope's Message is not text")
    try:
        parsed = json.loads(message)
    except (ValueError, RecursionError):
        if message.startswith(_VALIDATION_TEXT):
            return {"notificationType": "AmazonSnsSubscriptionSucceeded", "message": message}
        raise _malformed("the SNS envelope's Message is not JSON") from None
    if not isinstance(parsed, Mapping):
        raise _not_ses(f"the SNS envelope's Message is {_kind_of(parsed)}, not an SES notification")
    return parsed


def unwrap_sqs_body(body: str | bytes) -> tuple[Mapping[str, Any] | None, Mapping[str, Any]]:
    """``(sns_envelope or None, ses_notification)`` from one SQS message body.

    With raw message delivery the body is the SES notification and the envelope
    is None; otherwise the body is SNS's envelope (``Type``, ``Message``,
    ``TopicArn``, the signature fields), returned for the verifier, and the
    notification is its parsed ``Message`` (:func:`notification_of`).
    Invalid JSON or text → EventRejected "malformed"; JSON that is not an
    object → "not-ses"."""
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError):
        raise _malformed("the SQS message body is not JSON") from None
    if not isinstance(parsed, dict):
        raise _not_ses(f"the SQS message body is {_kind_of(parsed)}, not a notification")
    if "Type" in parsed and ("Message" in parsed or "TopicArn" in parsed):
        return parsed, notification_of(parsed)
    return None, parsed


# -- kinds -----------------------------------------------------------------------------------------


def _kind(notification: Mapping[str, Any]) -> EventKind | None:
    """Our kind for the notification, None for the kinds letterhead ignores."""
    if "eventType" in notification:
        name = notification["eventType"]
    elif "notificationType" in notification:
        name = notification["notificationType"]
    else:
        raise _not_ses("neither 'eventType' nor 'notificationType': not an SES notification")
    if not isinstance(name, str):
        raise _malformed(f"the notification's type is {_kind_of(name)}, not text")
    if name in IGNORED_TYPES:
        return None
    if name in SES_KINDS:
        return SES_KINDS[name]
    # moto's SES publishes the docs' placeholder ("Bounce, Complaint, or
    # Delivery.") as notificationType; the one detail object present says which.
    present = [kind for kind, key in _DETAIL_KEY.items() if isinstance(notification.get(key), Mapping)]
    ignored = [key for key in _IGNORED_DETAIL_KEYS if isinstance(notification.get(key), Mapping)]
    if len(present) == 1 and not ignored and isinstance(notification.get("mail"), Mapping):
        return present[0]
    if len(ignored) == 1 and not present and isinstance(notification.get("mail"), Mapping):
        return None
    raise _not_ses(f"SES has no notification type {name[:60]!r}")


def _per_recipient(kind: EventKind, items_key: str) -> Callable[[Mapping[str, Any], dict[str, Any]], list[SesEvent]]:
    """A builder for kinds that list recipients as objects with an ``emailAddress``."""

    def build(detail: Mapping[str, Any], common: dict[str, Any]) -> list[SesEvent]:
        where = _DETAIL_KEY[kind]
        shared: dict[str, Any] = {}
        if kind == "bounce":
            shared = {"bounce_type": _text(detail, "bounceType", where=where),
                      "bounce_subtype": _text(detail, "bounceSubType", where=where)}
        elif kind == "complaint":
            shared = {"complaint_type": _text(detail, "complaintFeedbackType", where=where)}
        elif kind == "delivery_delay":
            shared = {"delay_type": _text(detail, "delayType", where=where)}
        events = []
        for index, item in enumerate(_list(detail, items_key, where=where)):
            at = f"{where}.{items_key}[{index}]"
            if not isinstance(item, Mapping):
                raise _malformed(f"{at} is {_kind_of(item)}, not an object")
            address = _address(item.get("emailAddress"), where=f"{at}.emailAddress")
            diagnostic = None if kind == "complaint" else _text(item, "diagnosticCode", where=at)
            events.append(SesEvent(kind=kind, recipient=address, diagnostic=diagnostic, **shared, **common))
        return events

    return build


def _delivery(detail: Mapping[str, Any], common: dict[str, Any]) -> list[SesEvent]:
    return [SesEvent(kind="delivery", recipient=_address(item, where=f"delivery.recipients[{index}]"), **common)
            for index, item in enumerate(_list(detail, "recipients", where="delivery"))]


def _send(detail: Mapping[str, Any], common: dict[str, Any]) -> list[SesEvent]:
    return [SesEvent(kind="send", **common)]


def _reject(detail: Mapping[str, Any], common: dict[str, Any]) -> list[SesEvent]:
    return [SesEvent(kind="reject", diagnostic=_text(detail, "reason", where="reject"), **common)]


def _rendering_failure(detail: Mapping[str, Any], common: dict[str, Any]) -> list[SesEvent]:
    stored_name = _text(detail, "templateName", where="failure")
    message = _text(detail, "errorMessage", where="failure")
    template = common.pop("template") or stored_name
    return [SesEvent(kind="rendering_failure", template=template, error_message=message, **common)]


_BUILDERS: Mapping[EventKind, Callable[[Mapping[str, Any], dict[str, Any]], list[SesEvent]]] = {
    "send": _send, "delivery": _delivery, "reject": _reject, "rendering_failure": _rendering_failure,
    "bounce": _per_recipient("bounce", "bouncedRecipients"),
    "complaint": _per_recipient("complaint", "complainedRecipients"),
    "delivery_delay": _per_recipient("delivery_delay", "delayedRecipients"),
}


# -- fields ----------------------------------------------------------------------------------------


def _mapping(parent: Mapping[str, Any], key: str, *, where: str) -> Mapping[str, Any] | None:
    value = parent.get(key)
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise _malformed(f"'{_path(where, key)}' is {_kind_of(value)}, not an object")
    return value


def _list(parent: Mapping[str, Any], key: str, *, where: str) -> list[Any]:
    value = parent.get(key)
    if not isinstance(value, list):
        raise _malformed(f"'{_path(where, key)}' is {_kind_of(value)}, not a list")
    return value


def _text(parent: Mapping[str, Any], key: str, *, where: str, required: bool = False) -> str | None:
    value = parent.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise _malformed(f"'{_path(where, key)}' is {_kind_of(value)}, not text")
    if required and not value.strip():
        raise _malformed(f"'{_path(where, key)}' is empty")
    return value


def _time(parent: Mapping[str, Any], *, where: str) -> datetime | None:
    text = _text(parent, "timestamp", where=where)
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise _malformed(f"'{_path(where, 'timestamp')}' is not an ISO 8601 time: {text[:40]!r}") from None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _address(value: object, *, where: str) -> str:
    """The bare address of ``a@b`` or ``Name <a@b>``."""
    if not isinstance(value, str):
        raise _malformed(f"'{where}' is {_kind_of(value)}, not an address")
    address = value.strip()
    if _NOT_BARE.search(address):  # the common bare address skips the (slow) RFC 5322 parser
        address = parseaddr(address)[1].strip()
    local, _, domain = address.rpartition("@")
    if not local or not domain or any(char.isspace() for char in address):
        raise _malformed(f"'{where}' is not an email address")
    return address


def _tags(mail: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """``mail.tags`` (name → list of values), absent for identity notifications."""
    raw = _mapping(mail, "tags", where="mail")
    tags: dict[str, tuple[str, ...]] = {}
    for name, values in (raw or {}).items():
        if not isinstance(values, list) or not all(isinstance(value, str) for value in values):
            raise _malformed(f"the tag 'mail.tags.{str(name)[:60]}' is not a list of text")
        tags[str(name)] = tuple(values)
    return tags


def _path(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _kind_of(value: object) -> str:
    names = {type(None): "null", bool: "a boolean", int: "a number", float: "a number", str: "text",
             list: "a list", dict: "an object"}
    return names.get(type(value), f"a {type(value).__name__}")


def _not_ses(message: str) -> EventRejected:
    return EventRejected(message, reason="not-ses",
                         hint="send letterhead only the SES notifications of a configuration set's or an "
                              "identity's SNS topic")


def _malformed(message: str) -> EventRejected:
    return EventRejected(f"malformed SES notification: {message}", reason="malformed")
