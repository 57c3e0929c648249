"""Bulk sends: the recipients' statuses, and the loop that batches, sends,
retries and settles them.

In: recipients, each already checked into a :class:`Pending` message by the
mailer (``build``), and a transport.  Out: one :class:`RecipientStatus` per
recipient, yielded as it is settled; :class:`BulkResult` collects them.

The loop (:class:`BulkSend`): fill a batch (destinations due for a retry
first, then new recipients, up to the transport's batch and SES's 50
destinations), send it (inline, or on a worker thread when ``workers`` > 1),
settle each outcome (sent; retried later with backoff; failed; unknown;
skipped), and stop early at an error every message would hit
(``SendError.stops_bulk``), accounting for everything not tried.

One call sends one stored template: recipients of different locale variants
(or anything else a call shares: :func:`call_key`) wait in separate groups,
and a group goes as a batch when it is full, or when there are no more
recipients.  At most one open group per variant: memory stays flat.
"""

from __future__ import annotations

import heapq
import itertools
from collections import Counter, deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from ..errors import DeliveryUnknown, LetterheadError, RecipientSuppressed, SendError
from .sendlog import FAILED, INVALID, SENT, SKIPPED, SUPPRESSED, UNKNOWN, log_send
from .transports import MAX_DESTINATIONS, Outcome, OutgoingMessage, Transport


@dataclass(frozen=True)
class Recipient:
    """One recipient of a bulk send.  ``key`` is yours (a user id), echoed
    in its status.  ``locale``: the recipient's (``"es-MX"``), None for the
    bulk send's default; it picks the template's variant."""

    to: str | Sequence[str]
    data: Mapping[str, Any]
    tags: Mapping[str, str] | None = None
    key: Any = None
    locale: str | None = None

    def __repr__(self) -> str:
        return f"Recipient(key={self.key!r})"


@dataclass(frozen=True)
class RecipientStatus:
    """What became of one recipient.  ``status``: ``sent``, ``invalid`` (its
    data or address was refused; never sent), ``failed`` (the transport
    refused it; ``error.retryable`` says whether a later run may succeed),
    ``unknown`` (may or may not have been sent: not retried), ``skipped``
    (not tried: the send stopped at an error every message would hit),
    ``suppressed`` (an address is on the suppression list: never sent; the
    error is a :class:`~letterhead.errors.RecipientSuppressed`).

    ``variant``: the name of the template variant the recipient got (or
    would have got); ``locale``: its locale (None in a project without
    locales, and when the recipient was refused before a variant was picked)."""

    index: int
    key: Any
    to: tuple[str, ...]
    status: str
    message_id: str | None = None
    error: LetterheadError | None = None
    attempts: int = 0
    transport: str | None = None
    locale: str | None = None
    variant: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == SENT

    def __repr__(self) -> str:
        err = f", error={type(self.error).__name__}" if self.error else ""
        return f"RecipientStatus(index={self.index}, key={self.key!r}, status={self.status!r}{err})"

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "key": self.key, "status": self.status, "message_id": self.message_id,
                "attempts": self.attempts, "transport": self.transport, "variant": self.variant,
                "locale": self.locale, "error": self.error.to_dict() if self.error else None}


@dataclass(frozen=True)
class BulkResult:
    statuses: tuple[RecipientStatus, ...]

    @property
    def counts(self) -> dict[str, int]:
        c = Counter(s.status for s in self.statuses)
        return {k: c.get(k, 0) for k in (SENT, INVALID, FAILED, UNKNOWN, SKIPPED, SUPPRESSED)}

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.statuses)

    @property
    def sent(self) -> tuple[RecipientStatus, ...]:
        return tuple(s for s in self.statuses if s.status == SENT)

    @property
    def not_sent(self) -> tuple[RecipientStatus, ...]:
        """Failed, invalid, skipped and suppressed: certainly not delivered (``unknown`` excluded)."""
        return tuple(s for s in self.statuses if s.status in (INVALID, FAILED, SKIPPED, SUPPRESSED))

    def to_dict(self) -> dict[str, Any]:
        return {"counts": self.counts, "statuses": [s.to_dict() for s in self.statuses]}


@dataclass(order=True)
class Pending:
    """A checked message waiting to go (ordered by when it may go again)."""

    not_before: float
    seq: int
    index: int = field(compare=False)
    key: Any = field(compare=False)
    message: OutgoingMessage = field(compare=False)
    attempts: int = field(default=0, compare=False)
    data: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)  # for ``on_sent``
    locale: str | None = field(default=None, compare=False)  # the variant's locale, for the status


def key_of(raw: Any) -> Any:
    if isinstance(raw, Recipient):
        return raw.key
    if isinstance(raw, Mapping):
        return raw.get("key")
    return None


def to_of(raw: Any) -> tuple[str, ...]:
    to = raw.to if isinstance(raw, Recipient) else raw.get("to") if isinstance(raw, Mapping) else \
        raw[0] if isinstance(raw, (tuple, list)) and raw else None
    if isinstance(to, str):
        return (to,)
    if isinstance(to, (list, tuple)) and all(isinstance(t, str) for t in to):
        return tuple(to)
    return ()


def call_key(message: OutgoingMessage) -> tuple[Any, ...]:
    """What the messages of one SendBulkTemplatedEmail share: the stored
    template (so one locale variant), sender, reply-to, configuration set
    and DefaultTemplateData."""
    return (message.template_name, message.source, message.reply_to, message.configuration_set,
            message.default_template_data)


def settled(template: str, p: Pending, status: str, *, message_id: str | None = None,
            error: LetterheadError | None = None, transport: str | None) -> RecipientStatus:
    """The status of ``p``, logged."""
    log_send(template, status, p.message.to, message_id=message_id, error=error, transport=transport,
             attempts=p.attempts, index=p.index, locale=p.locale)
    return RecipientStatus(p.index, p.key, p.message.to, status, message_id, error, p.attempts, transport,
                           locale=p.locale, variant=p.message.template)


@dataclass
class _Group:
    """Messages waiting for a call of their own kind (:func:`call_key`)."""

    items: list[Pending] = field(default_factory=list)
    addresses: int = 0


Build = Callable[[int, Any, int], Pending]  # (index, raw recipient, seq) -> checked, or LetterheadError
OnSent = Callable[[Pending, str], None]  # (the message SES accepted, its message id); must not raise
Result = list[Outcome] | SendError  # what one call did: an outcome per message, or the whole call failed


class BulkSend:
    """One bulk send of ``template``: iterate it for the statuses.

    ``source`` yields ``(index, raw recipient)``; ``build`` checks one into
    a :class:`Pending`.  ``limit``: messages a call; ``workers``: calls in
    flight; ``attempts``: tries of a destination the transport answered
    retryable; ``backoff(k)``: seconds to wait before try ``k + 2``;
    ``on_sent``: called for every message sent (the mailer's journal).
    ``build`` raising :class:`~letterhead.errors.RecipientSuppressed` settles
    the recipient as ``suppressed``, any other refusal as ``invalid``.
    Nothing happens until the first status is asked for."""

    def __init__(self, template: str, source: Iterator[tuple[int, Any]], build: Build, *, transport: Transport,
                 limit: int, workers: int, attempts: int, backoff: Callable[[int], float],
                 clock: Callable[[], float], sleep: Callable[[float], None], on_sent: OnSent | None = None) -> None:
        self.template = template
        self.source = source
        self.build = build
        self.transport = transport
        self.limit = limit
        self.workers = workers
        self.attempts = attempts
        self.backoff = backoff
        self.clock = clock
        self.sleep = sleep
        self.on_sent = on_sent
        self.heap: list[Pending] = []  # destinations to retry, by the time they may go again
        self.groups: dict[tuple[Any, ...], _Group] = {}  # open batches, one per call_key
        self.ready: deque[list[Pending]] = deque()  # closed batches, to send in order
        self.seq = itertools.count()
        self.inflight: dict[Future[Result], list[Pending]] = {}
        self.exhausted = False  # source has no more recipients
        self.stop: SendError | None = None  # the error that stopped the send

    def __iter__(self) -> Iterator[RecipientStatus]:
        executor = ThreadPoolExecutor(self.workers, thread_name_prefix="letterhead-send") \
            if self.workers > 1 else None
        try:
            while self.stop is None:
                yield from self._collect(block=False)
                if self.stopped:  # by what was just collected
                    break
                batch: list[Pending] = []
                yield from self._fill(batch)
                if batch:
                    if executor is None:
                        yield from self._settle(batch, self._run(batch))
                    else:
                        while len(self.inflight) >= self.workers:
                            yield from self._collect(block=True)
                        self.inflight[executor.submit(self._run, batch)] = batch
                    continue
                if self.inflight:
                    yield from self._collect(block=True)
                elif self.heap:
                    self.sleep(max(0.0, self.heap[0].not_before - self.clock()))
                elif self.exhausted:
                    break
            yield from self._finish()
        finally:
            if executor is not None:
                executor.shutdown(wait=True, cancel_futures=True)

    @property
    def stopped(self) -> bool:
        return self.stop is not None

    def _fill(self, batch: list[Pending]) -> Iterator[RecipientStatus]:
        """The next batch into ``batch``: destinations due for a retry join
        their groups first, then new recipients, until a group is full (or,
        with no more recipients, whatever is left, a group at a time).
        Yields the recipients refused on the way (invalid, suppressed)."""
        if not self.ready:
            heap = self.heap
            now = self.clock()
            while heap and heap[0].not_before <= now:
                self._join(heapq.heappop(heap))
        while not self.ready and not self.exhausted:
            try:
                index, raw = next(self.source)
            except StopIteration:
                self.exhausted = True
                break
            try:
                p = self.build(index, raw, next(self.seq))
            except LetterheadError as exc:
                key = key_of(raw)
                status = SUPPRESSED if isinstance(exc, RecipientSuppressed) else INVALID
                log_send(self.template, status, to=to_of(raw) if status == SUPPRESSED else (), error=exc,
                         index=index)
                yield RecipientStatus(index, key, to_of(raw), status, error=exc)
                continue
            self._join(p)
        if not self.ready and self.exhausted:
            self._close_all()
        if self.ready:
            batch.extend(self.ready.popleft())

    def _join(self, p: Pending) -> None:
        """``p`` into its group; a group that is full (the batch limit, or
        SES's 50 destinations a call) is closed, ready to send."""
        key = call_key(p.message)
        group = self.groups.get(key)
        if group is not None and group.addresses + p.message.recipient_count > MAX_DESTINATIONS:
            self.ready.append(self.groups.pop(key).items)  # p starts the next call of its kind
            group = None
        if group is None:
            group = self.groups[key] = _Group()
        group.items.append(p)
        group.addresses += p.message.recipient_count
        if len(group.items) >= self.limit:
            self.ready.append(self.groups.pop(key).items)

    def _close_all(self) -> None:
        for key in list(self.groups):
            self.ready.append(self.groups.pop(key).items)

    def _run(self, batch: list[Pending]) -> Result:
        for p in batch:
            p.attempts += 1
        try:
            return self.transport.send_batch([p.message for p in batch])
        except SendError as exc:
            return exc

    def _collect(self, block: bool) -> Iterator[RecipientStatus]:
        if not self.inflight:
            return
        done, _ = wait(list(self.inflight), timeout=None if block else 0, return_when=FIRST_COMPLETED)
        for fut in done:
            batch = self.inflight.pop(fut)
            yield from self._settle(batch, fut.result())

    def _settle(self, batch: list[Pending], result: Result) -> Iterator[RecipientStatus]:
        if isinstance(result, SendError):  # the whole call failed
            for p in batch:
                yield from self._settle_one(p, None, result, self.transport.name)
            return
        for p, outcome in zip(batch, result, strict=True):
            yield from self._settle_one(p, outcome, outcome.error, outcome.transport)

    def _settle_one(self, p: Pending, outcome: Outcome | None, error: SendError | None,
                    transport: str) -> Iterator[RecipientStatus]:
        """``outcome`` None: the whole call failed with ``error``."""
        if error is None:
            assert outcome is not None
            if self.on_sent is not None and outcome.message_id:
                self.on_sent(p, outcome.message_id)
            yield settled(self.template, p, SENT, message_id=outcome.message_id, transport=transport)
            return
        if outcome is not None and not outcome.attempted:
            if self.stop is None and not error.stops_bulk:
                p.attempts -= 1  # it was never tried
                heapq.heappush(self.heap, p)
            else:
                yield settled(self.template, p, SKIPPED, error=error, transport=transport)
            return
        if outcome is not None and error.retryable and p.attempts < self.attempts and self.stop is None \
                and not error.stops_bulk:
            p.not_before = self.clock() + self.backoff(p.attempts - 1)
            p.seq = next(self.seq)
            heapq.heappush(self.heap, p)
            return
        status = UNKNOWN if isinstance(error, DeliveryUnknown) else FAILED
        yield settled(self.template, p, status, error=error, transport=transport)
        if error.stops_bulk and self.stop is None:
            self.stop = error

    def _finish(self) -> Iterator[RecipientStatus]:
        """Stopped (or done): settle what is in flight, then account for the rest."""
        while self.inflight:
            yield from self._collect(block=True)
        self._close_all()
        while self.ready:
            for p in self.ready.popleft():
                yield settled(self.template, p, SKIPPED, error=self.stop, transport=None)
        while self.heap:
            p = heapq.heappop(self.heap)
            yield settled(self.template, p, SKIPPED, error=self.stop, transport=None)
        if self.stop is not None:
            for index, raw in self.source:
                status = RecipientStatus(index, key_of(raw), to_of(raw), SKIPPED, error=self.stop)
                log_send(self.template, SKIPPED, to=(), error=self.stop, index=index)
                yield status
