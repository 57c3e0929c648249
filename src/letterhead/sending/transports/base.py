"""The message every transport receives, what became of it, and the
transport interface: ``send`` one, ``send_batch`` many."""

from __future__ import annotations

import random
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ...authoring import headers as spec
from ...errors import SendError

MAX_DESTINATIONS = 50  # SES: destinations per SendBulkTemplatedEmail (moto: recipients per call)

# SES v2's limits on custom headers (MessageHeaderList, MessageHeaderName, MessageHeaderValue in
# botocore's sesv2 model): at most 15, a name of 1 to 126 printable ASCII characters but ':' (RFC 5322
# ftext), a value of 1 to 995 printable ASCII characters (so no CR, LF or other control character), 996
# with the name.  Names SES or letterhead set on every message are refused (a second From or
# Content-Type reads differently in every mail program).  The same limits the build and the Mailer
# apply (letterhead.authoring.headers), checked again here at the boundary.
MAX_HEADERS = spec.MAX_HEADERS
MAX_HEADER_NAME = spec.MAX_NAME
MAX_HEADER_VALUE = spec.MAX_VALUE
MAX_HEADER_FIELD = spec.MAX_FIELD
RESERVED_HEADERS = spec.FORBIDDEN
RESERVED_HEADER_PREFIXES = spec.FORBIDDEN_PREFIXES
_HEADER_NAME = re.compile(rf"[!-9;-~]{{1,{MAX_HEADER_NAME}}}")
_HEADER_VALUE = re.compile(rf"[ -~]{{1,{MAX_HEADER_VALUE}}}")


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
    # Custom headers (List-Unsubscribe...), rendered for this recipient by the Mailer from the
    # template's [headers]: (name, value) pairs, in order.  SES v1 cannot send them.
    headers: tuple[tuple[str, str], ...] = ()

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


def check_wire_headers(headers: Sequence[tuple[str, str]], operation: str,
                       template: str | None = None) -> None:
    """The last check before custom headers leave letterhead: SES v2's limits
    (at most :data:`MAX_HEADERS`; a name of RFC 5322 ftext; a value of
    printable ASCII, so no CR/LF can end the line and start another header).
    The Mailer has checked them already (the template's ``[headers]`` at the
    build, each rendered value at the send); this guard holds for a message
    made by other code too.  Raises :class:`~letterhead.errors.SendError`
    naming the header, never its value: nothing was sent."""
    hint = ("a header value must be one line of printable ASCII (at most 995 characters): check the data the "
            "template's [headers] print; nothing was sent")
    if len(headers) > MAX_HEADERS:
        raise SendError(f"{len(headers)} custom headers; SES allows at most {MAX_HEADERS}", operation=operation,
                        template=template, hint="declare fewer [headers] in template.toml; nothing was sent")
    for name, value in headers:
        if not isinstance(name, str) or not _HEADER_NAME.fullmatch(name):
            raise SendError(f"{name!r} is not a header name (1 to {MAX_HEADER_NAME} printable ASCII characters, "
                            "no ':' or space)", operation=operation, template=template,
                            hint="fix the header's name in template.toml's [headers]; nothing was sent")
        if name.lower() in RESERVED_HEADERS or name.lower().startswith(RESERVED_HEADER_PREFIXES):
            raise SendError(f"header {name}: SES or letterhead sets it on every message", operation=operation,
                            template=template, hint="remove it from template.toml's [headers]; nothing was sent")
        problem = header_value_problem(value)
        if not problem and len(name) + len(value) > MAX_HEADER_FIELD:
            problem = f"and the name are longer than {MAX_HEADER_FIELD} characters together"
        if problem:
            raise SendError(f"header {name}: the value {problem}", operation=operation, template=template,
                            hint=hint)


def header_value_problem(value: object) -> str | None:
    """What makes ``value`` no header value SES v2 takes, or None."""
    if not isinstance(value, str):
        return "is not a string"
    if _HEADER_VALUE.fullmatch(value):
        return None
    if not value:
        return "is empty"
    if "\r" in value or "\n" in value:
        return "holds a line break"
    if len(value) > MAX_HEADER_VALUE:
        return f"is longer than {MAX_HEADER_VALUE} characters"
    return "holds a character that is not printable ASCII"


# --- the transport interface --------------------------------------------------------------


class Transport:
    """Base class.  ``send`` returns the message id or raises ``SendError``;
    ``send_batch`` returns one :class:`Outcome` per message, in order, or
    raises ``SendError`` when the whole batch failed before anything was sent."""

    name = "transport"
    renders_locally = False  # True: needs OutgoingMessage.parts
    # True: delivers OutgoingMessage.headers.  False (SES v1, and any transport that does not say
    # it can): the Mailer refuses a message with headers before anything is sent.
    sends_headers = False
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
