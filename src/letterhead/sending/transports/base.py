"""The message every transport receives, what became of it, and the
transport interface: ``send`` one, ``send_batch`` many."""

from __future__ import annotations

import random
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ...errors import SendError

MAX_DESTINATIONS = 50  # SES: destinations per SendBulkTemplatedEmail (moto: recipients per call)


@dataclass(frozen=True)
class OutgoingMessage:
    """One checked message.  ``template_data`` is the exact TemplateData JSON
    (with the ``_html`` copy); ``parts`` the locally rendered subject, html
    and text, present when the transport renders itself."""

    template: str  # logical name (the folder under templates_src/)
    template_name: str  # the name SES stores it under
    source: str  # "Calndr Club <noreply@calndr.club>", RFC 2047 when non-ASCII
    to: tuple[str, ...]
    template_data: str
    reply_to: tuple[str, ...] = ()
    tags: tuple[tuple[str, str], ...] = ()
    configuration_set: str | None = None
    parts: Mapping[str, str] | None = field(default=None, repr=False)
    default_template_data: str = "{}"  # bulk only: DefaultTemplateData of the call

    @property
    def recipient_count(self) -> int:
        return len(self.to)

    @property
    def sender_domain(self) -> str:
        return self.source.rsplit("@", 1)[-1].rstrip(">").strip()

    def __repr__(self) -> str:  # data and addresses stay out of reprs (and so of logs)
        return f"OutgoingMessage(template={self.template!r}, recipients={len(self.to)})"


@dataclass(frozen=True)
class Outcome:
    """What became of one message of a batch."""

    message: OutgoingMessage
    message_id: str | None = None
    error: SendError | None = None
    transport: str = ""
    attempted: bool = True  # False: not tried because an earlier one stopped the batch

    @property
    def ok(self) -> bool:
        return self.error is None and self.message_id is not None


class Backoff:
    """Jittered exponential backoff: attempt ``k`` (0-based) waits between
    half and all of ``min(cap, base * 2**k)`` seconds."""

    def __init__(self, base: float = 0.05, cap: float = 5.0, rng: random.Random | None = None) -> None:
        self.base = base
        self.cap = cap
        self._rng = rng or random.Random()
        self._lock = threading.Lock()

    def __call__(self, attempt: int) -> float:
        ceiling: float = min(self.cap, self.base * (2 ** attempt))
        with self._lock:
            return ceiling * (0.5 + 0.5 * self._rng.random())


# --- the transport interface --------------------------------------------------------------


class Transport:
    """Base class.  ``send`` returns the message id or raises ``SendError``;
    ``send_batch`` returns one :class:`Outcome` per message, in order, or
    raises ``SendError`` when the whole batch failed before anything was sent."""

    name = "transport"
    renders_locally = False  # True: needs OutgoingMessage.parts
    max_batch = MAX_DESTINATIONS

    def send(self, message: OutgoingMessage) -> str:
        raise NotImplementedError

    def send_batch(self, messages: Sequence[OutgoingMessage]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        stopped: SendError | None = None
        for m in messages:
            if stopped is not None:
                outcomes.append(Outcome(m, error=stopped, transport=self.name, attempted=False))
                continue
            try:
                outcomes.append(Outcome(m, self.send(m), transport=self.name))
            except SendError as exc:
                if exc.stops_bulk and not outcomes:
                    raise
                outcomes.append(Outcome(m, error=exc, transport=self.name))
                if exc.stops_bulk:
                    stopped = exc
        return outcomes

    def close(self) -> None:
        pass
