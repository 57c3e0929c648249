"""What was sent and what SES said happened to it, in SQLite (issue 16).

In: the Mailer's successful sends (:meth:`Journal.record_send`) and the
consumer's events (:meth:`Journal.record_event`).  Out: live counts per kind
(``letterhead stats --live``), the time of the last event (``letterhead
doctor``: are events flowing?), and the data paths a message was sent with
(:meth:`Journal.sent`: a rendering failure names the variables that did not
fit the contract).

Privacy: the journal never stores a data value or an address.  A send keeps
its template, its recipient *count* and the *key paths* of its data
(``accept_url``, ``children[].name``, see :func:`data_paths`); an event keeps
its kind, message id, SES timestamp, bounce type and a keyed hash of the
recipient (HMAC-SHA256 under a random key made for this database, cut to 64
bits), which exists only so that a notification SNS or SQS delivers twice is
counted once.  Keys that contain ``@`` (an address used as a key) are left
out of the paths.  The hash keeps an address from being looked up across
databases; someone holding the file and a guess can still test the guess.

The database file may be shared with the SQLite suppression list (its own
tables).  It is opened in WAL mode (readers and one writer at a time, across
processes), created with its parent folder on the first write; a read of a
missing file answers "nothing" and creates nothing.  One ``Journal`` may be
shared between threads (one connection behind a lock).

Retention: rows older than :data:`DEFAULT_RETENTION` (30 days; ``retention=``,
``None`` keeps everything) are pruned on the first write of each ``Journal``
and then every :data:`PRUNE_EVERY` writes, which keeps the file bounded.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

from ..sestemplate import ID_CHAR
from .database import connect
from .model import EVENT_KINDS, SesEvent

__all__ = ["DEFAULT_RETENTION", "PRUNE_EVERY", "Journal", "SentRecord", "data_paths"]

DEFAULT_RETENTION = timedelta(days=30)
PRUNE_EVERY = 1000  # writes between two prunes of one Journal

_TABLES = ("journal_sends", "journal_events")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS journal_meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS journal_sends (
    message_id TEXT PRIMARY KEY,
    template TEXT,
    at REAL NOT NULL,            -- seconds since the epoch, UTC
    recipients INTEGER NOT NULL, -- a count, never the addresses
    paths TEXT                   -- the data's key paths, one a line; NULL: known only from SES's Send event
);
CREATE INDEX IF NOT EXISTS journal_sends_at ON journal_sends (at);
CREATE TABLE IF NOT EXISTS journal_events (
    message_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    recipient_hash TEXT NOT NULL, -- keyed hash, '' for events about the whole message
    at REAL NOT NULL,             -- SES's timestamp of the event
    received REAL NOT NULL,       -- when the journal recorded it
    detail TEXT,                  -- bounce type, complaint type: never an address or a diagnostic
    PRIMARY KEY (message_id, kind, recipient_hash)
);
CREATE INDEX IF NOT EXISTS journal_events_at ON journal_events (at);
CREATE INDEX IF NOT EXISTS journal_events_received ON journal_events (received);
"""


@dataclass(frozen=True)
class SentRecord:
    """One send the Mailer recorded: its template and the key paths of its data."""

    template: str
    paths: frozenset[str]
    at: datetime


def data_paths(data: Mapping[str, Any]) -> frozenset[str]:
    """The key paths of ``data`` in the contract's notation, never its values.

    A path is listed when its value is present and not null: ``name``,
    ``user.email``, ``children`` and ``children[]`` (a non-empty list whose
    items are all non-null), ``children[].name`` (every item has a non-null
    ``name``).  An empty list gives its own path only (its items' fields are
    unknown).  Keys that are not identifiers are written ``[key]``, as the
    contract writes them; keys holding ``@`` (addresses used as keys) are
    left out."""
    return frozenset(_walk(data, ""))


def _join(prefix: str, key: str) -> str:
    segment = key if ID_CHAR.match(key) else f"[{key}]"
    return f"{prefix}.{segment}" if prefix else segment


def _walk(value: Any, path: str) -> set[str]:
    out: set[str] = set()
    if isinstance(value, Mapping):
        for key, sub in value.items():
            if sub is None or "@" in str(key):
                continue
            child = _join(path, str(key))
            out.add(child)
            out |= _walk(sub, child)
    elif isinstance(value, (list, tuple)) and value and all(item is not None for item in value):
        items = path if path.endswith("[]") else path + "[]"
        common: set[str] | None = None
        for item in value:
            paths = _walk(item, items)
            common = paths if common is None else common & paths
        out.add(items)
        out |= common or set()
    return out


def _ts(moment: datetime) -> float:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _dt(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


class Journal:
    """Sends and SES events in the SQLite file ``path`` (see the module text)."""

    def __init__(self, path: Path | str, *, retention: timedelta | None = DEFAULT_RETENTION,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.path = Path(path)
        self.retention = retention
        self._clock = clock
        self._lock = threading.RLock()
        self._db: sqlite3.Connection | None = None
        self._schema = False  # our tables exist in the file
        self._key: bytes | None = None
        self._writes = 0

    # -- connection ----------------------------------------------------------------------

    def _open(self, *, create: bool) -> sqlite3.Connection | None:
        """The connection; ``None`` when reading a file that does not exist
        (``mode=rw`` never creates one)."""
        if self._db is None:
            db = connect(self.path, create=create)
            if db is None:
                return None
            self._db = db
        if create and not self._schema:
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.executescript(_SCHEMA)
            self._schema = True
        elif not self._schema:
            names = {row[0] for row in self._db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN (?, ?)", _TABLES)}
            self._schema = names == set(_TABLES)
        return self._db

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection | None]:
        """The connection for a read, or ``None`` when there is nothing to read."""
        with self._lock:
            db = self._open(create=False)
            yield db if db is not None and self._schema else None

    @contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        """The connection inside one transaction; prunes now and then."""
        with self._lock:
            db = self._open(create=True)
            assert db is not None
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
                if self.retention is not None and self._writes % PRUNE_EVERY == 0:
                    self._prune(db, self._clock() - self.retention)
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
            self._writes += 1

    def _recipient_hash(self, db: sqlite3.Connection, recipient: str | None) -> str:
        if recipient is None:
            return ""
        if self._key is None:
            db.execute("INSERT OR IGNORE INTO journal_meta (key, value) VALUES ('recipient_key', ?)",
                       (os.urandom(32),))
            self._key = bytes(db.execute("SELECT value FROM journal_meta WHERE key = 'recipient_key'")
                              .fetchone()[0])
        return hmac.new(self._key, recipient.strip().lower().encode(), hashlib.sha256).hexdigest()[:16]

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
                self._schema = False

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # -- writes --------------------------------------------------------------------------

    def record_send(self, message_id: str, template: str, recipients: Sequence[str],
                    data: Mapping[str, Any]) -> None:
        """One message SES accepted: its template, how many recipients, and
        the key paths of ``data`` (never the values, never the addresses).
        Recording the same message id again replaces the record."""
        paths = "\n".join(sorted(data_paths(data)))
        with self._writing() as db:
            db.execute(
                "INSERT INTO journal_sends (message_id, template, at, recipients, paths) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (message_id) DO UPDATE SET template = excluded.template, "
                "recipients = excluded.recipients, paths = excluded.paths",
                (message_id, template, _ts(self._clock()), max(1, len(recipients)), paths))

    def record_event(self, event: SesEvent) -> bool:
        """Record one event; ``False`` when this (message id, kind, recipient)
        was recorded before (SNS and SQS deliver at least once).

        SES's Send event also counts as a send when the Mailer did not record
        the message (another process sent it), with the number of recipients
        SES names; its data paths stay unknown."""
        detail = event.bounce_type if event.kind == "bounce" else (
            event.complaint_type if event.kind == "complaint" else None)
        with self._writing() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO journal_events (message_id, kind, recipient_hash, at, received, detail) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (event.message_id, event.kind, self._recipient_hash(db, event.recipient),
                 _ts(event.timestamp), _ts(self._clock()), detail))
            new = cursor.rowcount == 1
            if new and event.kind == "send":
                mail = event.raw.get("mail") if isinstance(event.raw, Mapping) else None
                destination = mail.get("destination") if isinstance(mail, Mapping) else None
                count = len(destination) if isinstance(destination, list) and destination else 1
                db.execute("INSERT OR IGNORE INTO journal_sends (message_id, template, at, recipients, paths) "
                           "VALUES (?, ?, ?, ?, NULL)",
                           (event.message_id, event.template, _ts(event.timestamp), count))
        return new

    def forget_event(self, event: SesEvent) -> bool:
        """Undo :meth:`record_event` (a handler failed: the redelivery must
        not be taken for a duplicate); ``False`` when it was not recorded.
        A send known only from this Send event is forgotten with it."""
        with self._lock:
            if self._open(create=False) is None or not self._schema:
                return False
            with self._writing() as db:
                gone = db.execute("DELETE FROM journal_events WHERE message_id = ? AND kind = ? "
                                  "AND recipient_hash = ?",
                                  (event.message_id, event.kind, self._recipient_hash(db, event.recipient))
                                  ).rowcount == 1
                if gone and event.kind == "send":
                    db.execute("DELETE FROM journal_sends WHERE message_id = ? AND paths IS NULL",
                               (event.message_id,))
        return gone

    def prune(self, before: datetime) -> int:
        """Forget sends and events recorded before ``before`` (events by when
        they arrived, not SES's timestamp: a late redelivery of an old event
        is still recognised as a duplicate); the number of rows removed."""
        with self._lock:
            if self._open(create=False) is None or not self._schema:
                return 0
            with self._writing() as db:
                return self._prune(db, before)

    @staticmethod
    def _prune(db: sqlite3.Connection, before: datetime) -> int:
        cut = _ts(before)
        removed = db.execute("DELETE FROM journal_sends WHERE at < ?", (cut,)).rowcount
        return removed + db.execute("DELETE FROM journal_events WHERE received < ?", (cut,)).rowcount

    # -- reads ---------------------------------------------------------------------------

    def sent(self, message_id: str) -> SentRecord | None:
        """What the Mailer recorded of ``message_id``; ``None`` when it did not
        (unknown, pruned, or known only from SES's Send event)."""
        with self._reading() as db:
            row = db.execute("SELECT template, paths, at FROM journal_sends WHERE message_id = ?",
                             (message_id,)).fetchone() if db else None
        if row is None or row[1] is None:
            return None
        return SentRecord(row[0] or "", frozenset(p for p in row[1].split("\n") if p), _dt(row[2]))

    def counts(self, since: datetime, until: datetime | None = None) -> dict[str, int]:
        """Per kind of :data:`~letterhead.events.model.EVENT_KINDS`, from
        ``since`` (inclusive) to ``until`` (exclusive; default: no end).
        ``send`` is the number of recipients sent to (SES's delivery attempts,
        the denominator of the bounce and complaint rates); every other kind
        is a number of events, one per recipient where SES gives one."""
        out: dict[str, int] = dict.fromkeys(EVENT_KINDS, 0)
        end = _ts(until) if until is not None else float("inf")
        with self._reading() as db:
            if db is None:
                return out
            sends = db.execute("SELECT COALESCE(SUM(recipients), 0) FROM journal_sends WHERE at >= ? AND at < ?",
                               (_ts(since), end)).fetchone()[0]
            rows = db.execute("SELECT kind, COUNT(*) FROM journal_events WHERE at >= ? AND at < ? "
                              "AND kind != 'send' GROUP BY kind", (_ts(since), end)).fetchall()
        for kind, n in rows:
            out[kind] = int(n)
        out["send"] = int(sends)
        return out

    def last_event_at(self) -> datetime | None:
        """When the journal last recorded an event (its arrival, not SES's
        timestamp): ``None`` when no event ever arrived."""
        return self._max("SELECT MAX(received) FROM journal_events")

    def last_send_at(self) -> datetime | None:
        """When the last send was recorded; ``None`` when none was."""
        return self._max("SELECT MAX(at) FROM journal_sends")

    def _max(self, sql: str) -> datetime | None:
        with self._reading() as db:
            value = db.execute(sql).fetchone()[0] if db else None
        return _dt(value) if value is not None else None
