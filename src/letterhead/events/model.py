"""The typed SES events the application handles (issue 16).

In: nothing (plain data).  Out: :class:`SesEvent`, one per recipient of an
SES notification, whatever path it came by (SNS over HTTPS, SQS raw or in
its SNS envelope), and :class:`Suppression`, one suppressed address.

Every other module of :mod:`letterhead.events` makes or consumes these:
``normalize`` (SES JSON → events), ``sns`` (signature checks), ``consumer``
(verify, normalise, suppress, dispatch to handlers), ``asgi`` / ``sqs`` (the
two ways in), ``suppression`` (where suppressed addresses live), ``journal``
(what was sent and what happened, for live rates and rendering failures).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

EventKind = Literal["send", "delivery", "bounce", "complaint", "reject", "delivery_delay", "rendering_failure"]
EVENT_KINDS: tuple[EventKind, ...] = ("send", "delivery", "bounce", "complaint", "reject", "delivery_delay",
                                      "rendering_failure")

# SES's own names (eventType of event publishing, notificationType of identity
# notifications) → ours.
SES_KINDS: Mapping[str, EventKind] = {
    "Send": "send", "Delivery": "delivery", "Bounce": "bounce", "Complaint": "complaint", "Reject": "reject",
    "DeliveryDelay": "delivery_delay", "Rendering Failure": "rendering_failure",
    "RenderingFailure": "rendering_failure",
}

SuppressionReason = Literal["bounce", "complaint", "manual"]


@dataclass(frozen=True)
class SesEvent:
    """One thing SES says happened to one message for one recipient.

    ``recipient`` is None for events about the whole message (send, reject,
    rendering failure).  ``template`` comes from the ``template`` tag every
    letterhead send carries (None when the send had none).  ``raw`` is SES's
    notification as received (the ``mail`` object holds headers and tags)."""

    kind: EventKind
    message_id: str
    timestamp: datetime
    recipient: str | None = None
    template: str | None = None
    tags: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # bounce: "Permanent" / "Transient" / "Undetermined", and SES's sub-type
    bounce_type: str | None = None
    bounce_subtype: str | None = None
    diagnostic: str | None = None  # bounce: the remote server's answer; reject: the reason
    complaint_type: str | None = None  # complaint: the feedback type ("abuse", ...) when the ISP gives one
    delay_type: str | None = None  # delivery delay
    error_message: str | None = None  # rendering failure: SES's message
    missing: tuple[str, ...] = ()  # rendering failure: variables the data lacked, when the journal knows the data
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def suppresses(self) -> bool:
        """A permanent bounce or a complaint: never send to this address again."""
        return self.recipient is not None and (
            self.kind == "complaint" or (self.kind == "bounce" and self.bounce_type == "Permanent"))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, without ``raw``."""
        out: dict[str, Any] = {"kind": self.kind, "message_id": self.message_id,
                               "timestamp": self.timestamp.isoformat(), "recipient": self.recipient,
                               "template": self.template}
        for name in ("bounce_type", "bounce_subtype", "diagnostic", "complaint_type", "delay_type",
                     "error_message"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        if self.missing:
            out["missing"] = list(self.missing)
        return out


@dataclass(frozen=True)
class Suppression:
    """An address letterhead will not send to, and why."""

    address: str  # lower-cased
    reason: SuppressionReason
    since: datetime
    message_id: str | None = None  # the event that suppressed it, when one did
    detail: str | None = None  # e.g. the bounce sub-type

    def to_dict(self) -> dict[str, Any]:
        return {"address": self.address, "reason": self.reason, "since": self.since.isoformat(),
                "message_id": self.message_id, "detail": self.detail}
