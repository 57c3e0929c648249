"""Where suppressed addresses live (issue 16).

In: addresses and the events that suppress them.  Out: answers to "may I
send to this address?".  :class:`SuppressionStore` is the interface an
application implements for its own database; letterhead ships
:class:`SqliteSuppressions` (the default, a local file) and
:class:`SesSuppressions` (SES's account-level suppression list, v2 API).
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from email.utils import parseaddr
from pathlib import Path
from typing import Any, Protocol, get_args, runtime_checkable

from ..aws.errors import ACCOUNT_FIXES, aws_failures, error_code, redact_addresses, translate_aws
from ..config import EventSettings
from ..errors import ConfigError, DataError, RemoteError
from .database import connect
from .model import Suppression, SuppressionReason

__all__ = ["REASONS", "SesSuppressions", "SqliteSuppressions", "SuppressionStore", "normalize_address",
           "open_suppressions"]

REASONS: tuple[str, ...] = get_args(SuppressionReason)


@runtime_checkable
class SuppressionStore(Protocol):
    """The four calls letterhead makes.  Addresses are compared lower-cased;
    ``add`` of an address already there keeps the first entry (idempotent:
    SNS and SQS deliver at least once)."""

    def get(self, address: str) -> Suppression | None: ...

    def add(self, address: str, reason: SuppressionReason, *, message_id: str | None = None,
            detail: str | None = None) -> Suppression: ...

    def remove(self, address: str) -> bool: ...

    def __iter__(self) -> Iterator[Suppression]: ...


# --- addresses ------------------------------------------------------------------------------


def normalize_address(address: str) -> str:
    """The form a store keys an address by: trimmed, lower-cased, the domain
    in punycode (what letterhead sends to, so what SES reports back).  A
    ``Name <a@b.c>`` form is reduced to its address."""
    text = address.strip()
    if "<" in text:
        text = parseaddr(text)[1] or text
    local, at, domain = text.rpartition("@")
    if at and domain and not domain.isascii():
        with contextlib.suppress(UnicodeError):  # not a host name: compared as given
            domain = domain.encode("idna").decode("ascii")
        text = f"{local}@{domain}"
    return text.lower()


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# --- SQLite ----------------------------------------------------------------------------------

TABLE = "suppressions"
_SCHEMA = (f"CREATE TABLE IF NOT EXISTS {TABLE} (address TEXT PRIMARY KEY, reason TEXT NOT NULL, "
           "since TEXT NOT NULL, message_id TEXT, detail TEXT)")


class SqliteSuppressions:
    """Suppressed addresses in a SQLite file (stdlib ``sqlite3``, WAL, one
    table ``suppressions``; the events journal may share the file).

    Reads never create anything: ``get`` and iteration of a file that does
    not exist (yet) find nothing, so a Mailer that only checks leaves no
    trace.  The first ``add`` makes the parent folder, the file and the
    table.  Thread-safe (one connection behind a lock); other processes
    (the event consumer) may write the same file meanwhile."""

    def __init__(self, path: str | Path, *, now: Callable[[], datetime] = lambda: datetime.now(UTC),
                 timeout: float = 10.0) -> None:
        self.path = Path(path)
        self._now = now
        self._timeout = timeout
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._table_ready = False

    def __repr__(self) -> str:
        return f"SqliteSuppressions({str(self.path)!r})"

    def _connect(self, *, create: bool) -> sqlite3.Connection | None:
        """The connection (lock held): None when the file does not exist and
        ``create`` is false."""
        if self._conn is None:
            self._conn = connect(self.path, create=create, timeout=self._timeout)
            if self._conn is None:
                return None
        if create and not self._table_ready:
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute(_SCHEMA)
            self._table_ready = True
        return self._conn

    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                conn = self._connect(create=False)
                if conn is None:
                    return []
                return conn.execute(sql, params).fetchall()
            except sqlite3.OperationalError as exc:
                if "no such table" in str(exc):  # a journal's file, before any suppression
                    return []
                raise self._error(exc, "read") from None
            except sqlite3.DatabaseError as exc:
                raise self._error(exc, "read") from None

    def _error(self, exc: sqlite3.Error, verb: str) -> ConfigError:
        return ConfigError(f"cannot {verb} the suppression list {self.path}: {exc}",
                           hint="check the file ([tool.letterhead.events] database, LETTERHEAD_EVENTS_DB): "
                                "its folder must be writable and the file a SQLite database")

    @staticmethod
    def _row(row: tuple[Any, ...]) -> Suppression:
        address, reason, since, message_id, detail = row
        return Suppression(address=address, reason=reason, since=_utc(datetime.fromisoformat(since)),
                           message_id=message_id, detail=detail)

    def get(self, address: str) -> Suppression | None:
        rows = self._read(f"SELECT address, reason, since, message_id, detail FROM {TABLE} WHERE address = ?",
                          (normalize_address(address),))
        return self._row(rows[0]) if rows else None

    def add(self, address: str, reason: SuppressionReason, *, message_id: str | None = None,
            detail: str | None = None, since: datetime | None = None) -> Suppression:
        """Suppress ``address``; when it already is, keep (and return) the
        first entry.  ``since``: when it happened (the event's time; now by
        default)."""
        if reason not in REASONS:
            raise DataError(f"unknown suppression reason {reason!r}", hint=f"one of {', '.join(REASONS)}")
        key = normalize_address(address)
        when = _utc(since or self._now()).isoformat()
        with self._lock:
            try:
                conn = self._connect(create=True)
                assert conn is not None
                conn.execute(f"INSERT OR IGNORE INTO {TABLE} (address, reason, since, message_id, detail) "
                             "VALUES (?, ?, ?, ?, ?)", (key, reason, when, message_id, detail))
                row = conn.execute(f"SELECT address, reason, since, message_id, detail FROM {TABLE} "
                                   "WHERE address = ?", (key,)).fetchone()
            except sqlite3.Error as exc:
                raise self._error(exc, "write") from None
            except OSError as exc:  # the folder could not be made
                raise ConfigError(f"cannot create the suppression list {self.path}: {exc.strerror or exc}",
                                  hint="check [tool.letterhead.events] database (LETTERHEAD_EVENTS_DB): its "
                                       "folder must be writable") from None
        return self._row(row)

    def remove(self, address: str) -> bool:
        """Unsuppress ``address``; False when it was not suppressed."""
        with self._lock:
            try:
                conn = self._connect(create=False)
                if conn is None:
                    return False
                cur = conn.execute(f"DELETE FROM {TABLE} WHERE address = ?", (normalize_address(address),))
            except sqlite3.OperationalError as exc:
                if "no such table" in str(exc):
                    return False
                raise self._error(exc, "write") from None
            except sqlite3.DatabaseError as exc:
                raise self._error(exc, "write") from None
            return cur.rowcount > 0

    def __iter__(self) -> Iterator[Suppression]:
        """Every entry, oldest first."""
        rows = self._read(f"SELECT address, reason, since, message_id, detail FROM {TABLE} ORDER BY since, address")
        return (self._row(r) for r in rows)

    def __len__(self) -> int:
        rows = self._read(f"SELECT COUNT(*) FROM {TABLE}")
        return int(rows[0][0]) if rows else 0

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
                self._table_ready = False


# --- SES's account-level suppression list -----------------------------------------------------

SES_ACTIONS = ("ses:GetSuppressedDestination", "ses:PutSuppressedDestination", "ses:DeleteSuppressedDestination",
               "ses:ListSuppressedDestinations")
SUPPRESSION_FIXES = replace(
    ACCOUNT_FIXES,
    denied="allow ses:{operation} for these credentials (the suppression list needs " + ", ".join(SES_ACTIONS) + ")",
    throttled="SES allows about one suppression-list call per second: wait and rerun, or use the local "
              "store ([tool.letterhead.events] suppression = \"sqlite\")",
    codes={"BadRequestException": (RemoteError, "SES refused the address or the request: check the address")},
)
# SES's list knows two reasons; a manual suppression is stored as BOUNCE (so it
# reads back as "bounce").
SES_REASONS: Mapping[str, str] = {"bounce": "BOUNCE", "complaint": "COMPLAINT", "manual": "BOUNCE"}


class SesSuppressions:
    """SES's account-level suppression list (SES v2 API).  SES itself refuses
    to deliver to an address on it (it answers with a bounce event); checking
    first saves the send and the bounce against the account's reputation.

    SES stores only ``BOUNCE`` or ``COMPLAINT``: ``manual`` is stored as
    ``BOUNCE``, and ``message_id``/``detail`` are not kept (SES records its
    own message id when it suppresses an address by itself).  ``add`` of an
    address already listed keeps SES's entry (a get, then a put only when
    absent).  Answers of ``get`` are cached for ``cache_seconds`` per address
    (SES rate-limits these calls to about one a second; SES's own list still
    stops a send the cache let through).

    The client (``sesv2``) is made on first use through
    :func:`letterhead.aws.client.make_client`; AWS failures are
    :class:`~letterhead.errors.RemoteError` with the fix, addresses redacted."""

    def __init__(self, client: Any = None, *, region: str | None = None, endpoint_url: str | None = None,
                 session: Any = None, session_args: Mapping[str, Any] | None = None, cache_seconds: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._client = client
        self.region = region
        self.endpoint_url = endpoint_url
        self._session = session
        self._session_args = dict(session_args or {})
        self.cache_seconds = cache_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, Suppression | None]] = {}

    def __repr__(self) -> str:
        return f"SesSuppressions(region={self.region!r})"

    @property
    def client(self) -> Any:
        if self._client is None:
            from botocore.exceptions import BotoCoreError

            from ..aws.client import check_region, make_client, make_session, retry_config

            with self._lock:
                if self._client is None:
                    try:
                        session = self._session or make_session(self._session_args, region=self.region)
                        region = self.region or session.region_name
                        check_region(region, self.endpoint_url)
                        self._client = make_client("sesv2", session=session, region=region,
                                                   endpoint_url=self.endpoint_url or None, config=retry_config())
                    except BotoCoreError as exc:
                        raise self._explain(exc, "connect") from None
        return self._client

    def _explain(self, exc: BaseException, operation: str) -> RemoteError:
        err = translate_aws(exc, operation, SUPPRESSION_FIXES, endpoint_url=self.endpoint_url)
        err.message = redact_addresses(err.message)
        err.args = (err.message,)
        return err

    def _call(self, operation: str, **params: Any) -> dict[str, Any]:
        from ..aws.client import operation_method

        try:
            answer: dict[str, Any] = operation_method(self.client, operation)(**params)
            return answer
        except aws_failures() as exc:
            raise self._explain(exc, operation) from None

    def _call_or_none(self, operation: str, **params: Any) -> dict[str, Any] | None:
        """``_call``, None when SES answers NotFoundException."""
        from ..aws.client import operation_method

        try:
            answer: dict[str, Any] = operation_method(self.client, operation)(**params)
            return answer
        except aws_failures() as exc:
            if error_code(exc) == "NotFoundException":
                return None
            raise self._explain(exc, operation) from None

    @staticmethod
    def _entry(item: Mapping[str, Any]) -> Suppression:
        reason: SuppressionReason = "complaint" if str(item.get("Reason", "")).upper() == "COMPLAINT" else "bounce"
        since = item.get("LastUpdateTime")
        if isinstance(since, str):
            since = datetime.fromisoformat(since)
        attributes = item.get("Attributes") or {}
        return Suppression(address=normalize_address(str(item.get("EmailAddress", ""))), reason=reason,
                           since=_utc(since) if isinstance(since, datetime) else datetime.fromtimestamp(0, UTC),
                           message_id=attributes.get("MessageId") or None, detail=None)

    def _remember(self, key: str, value: Suppression | None) -> None:
        if self.cache_seconds > 0:
            with self._lock:
                self._cache[key] = (self._clock() + self.cache_seconds, value)

    def get(self, address: str) -> Suppression | None:
        key = normalize_address(address)
        cached = self._cache.get(key)
        if cached is not None and cached[0] > self._clock():
            return cached[1]
        answer = self._call_or_none("GetSuppressedDestination", EmailAddress=key)
        found = self._entry(answer["SuppressedDestination"]) if answer and answer.get("SuppressedDestination") \
            else None
        self._remember(key, found)
        return found

    def add(self, address: str, reason: SuppressionReason, *, message_id: str | None = None,
            detail: str | None = None) -> Suppression:
        if reason not in SES_REASONS:
            raise DataError(f"unknown suppression reason {reason!r}", hint=f"one of {', '.join(REASONS)}")
        key = normalize_address(address)
        answer = self._call_or_none("GetSuppressedDestination", EmailAddress=key)
        if answer and answer.get("SuppressedDestination"):
            found = self._entry(answer["SuppressedDestination"])
        else:
            self._call("PutSuppressedDestination", EmailAddress=key, Reason=SES_REASONS[reason])
            found = Suppression(address=key, reason="complaint" if reason == "complaint" else "bounce",
                                since=datetime.now(UTC), message_id=message_id, detail=detail)
        self._remember(key, found)
        return found

    def remove(self, address: str) -> bool:
        key = normalize_address(address)
        removed = self._call_or_none("DeleteSuppressedDestination", EmailAddress=key) is not None
        self._remember(key, None)
        return removed

    def __iter__(self) -> Iterator[Suppression]:
        """Every entry, oldest first (SES pages through them; all are read first)."""
        found: list[Suppression] = []
        token: str | None = None
        while True:
            params: dict[str, Any] = {"PageSize": 1000}
            if token:
                params["NextToken"] = token
            answer = self._call("ListSuppressedDestinations", **params)
            found.extend(self._entry(item) for item in answer.get("SuppressedDestinationSummaries") or ())
            token = answer.get("NextToken")
            if not token:
                break
        found.sort(key=lambda s: (s.since, s.address))
        return iter(found)


# --- from the settings ---------------------------------------------------------------------------


def open_suppressions(settings: EventSettings, *, region: str | None = None, endpoint_url: str | None = None,
                      session: Any = None, session_args: Mapping[str, Any] | None = None,
                      client: Any = None) -> SuppressionStore | None:
    """The store ``[tool.letterhead.events]`` names: ``sqlite`` (its
    ``database`` file), ``ses`` (the account-level list in ``region``; a
    ``session``, or boto3 Session arguments such as credentials, else
    boto3's chain) or ``off`` (None).  Opening costs nothing: no file, no
    client yet."""
    if settings.suppression == "off":
        return None
    if settings.suppression == "ses":
        return SesSuppressions(client, region=region, endpoint_url=endpoint_url, session=session,
                               session_args=session_args)
    if settings.suppression == "sqlite":
        return SqliteSuppressions(settings.database)
    raise ConfigError(f"suppression must be sqlite, ses or off, not {settings.suppression!r}",
                      hint='set [tool.letterhead.events] suppression = "sqlite", "ses" or "off"')
