"""``letterhead stats``: GetSendQuota + GetSendStatistics, summed (pure)
over the last 24 hours, the last 14 days and one bucket per day, with the
bounce and complaint rates against their thresholds; with ``--live``, the
same rates from the events the consumer recorded in the journal
(:class:`~letterhead.events.journal.Journal`) over the last 24 hours, which
do not wait for SES's 15-minute buckets.

In: an :class:`~letterhead.account.client.Account`, or the data points and
quota; a journal.  Out: a :class:`StatsReport`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from ..aws.quota import SendQuota, format_percent
from ..events.journal import Journal
from .client import Account, DataPoint, as_utc
from .policy import BOUNCE_THRESHOLD, COMPLAINT_THRESHOLD

__all__ = ["LIVE_LABEL", "LiveStats", "StatsReport", "Thresholds", "Totals", "live_statistics", "live_totals",
           "statistics", "summarize"]

LIVE_LABEL = "last 24 hours of events"


@dataclass(frozen=True)
class Thresholds:
    bounce: float = BOUNCE_THRESHOLD
    complaint: float = COMPLAINT_THRESHOLD

    def to_dict(self) -> dict[str, float]:
        return {"bounce_rate": self.bounce, "complaint_rate": self.complaint}


@dataclass(frozen=True)
class Totals:
    """Sums over a window or a day; rates are ``None`` without delivery attempts."""

    label: str
    start: datetime
    attempts: int = 0
    bounces: int = 0
    complaints: int = 0
    rejects: int = 0

    @property
    def bounce_rate(self) -> float | None:
        return self.bounces / self.attempts if self.attempts else None

    @property
    def complaint_rate(self) -> float | None:
        return self.complaints / self.attempts if self.attempts else None

    def breaches(self, t: Thresholds) -> list[str]:
        out = []
        if self.bounce_rate is not None and self.bounce_rate >= t.bounce:
            out.append(f"bounce rate {format_percent(self.bounce_rate, 2)} over the {self.label} is at or above "
                       f"{format_percent(t.bounce, 1)} ({self.bounces} of {self.attempts})")
        if self.complaint_rate is not None and self.complaint_rate >= t.complaint:
            out.append(f"complaint rate {format_percent(self.complaint_rate, 3)} over the {self.label} is at or above "
                       f"{format_percent(t.complaint, 1)} ({self.complaints} of {self.attempts})")
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "start": self.start.isoformat(), "delivery_attempts": self.attempts,
                "bounces": self.bounces, "complaints": self.complaints, "rejects": self.rejects,
                "bounce_rate": self.bounce_rate, "complaint_rate": self.complaint_rate}


def _total(label: str, start: datetime, points: Iterable[DataPoint]) -> Totals:
    pts = list(points)
    return Totals(label, start, sum(p.attempts for p in pts), sum(p.bounces for p in pts),
                  sum(p.complaints for p in pts), sum(p.rejects for p in pts))


def live_totals(counts: Mapping[str, int], since: datetime, label: str = LIVE_LABEL) -> Totals:
    """The journal's counts per kind (``Journal.counts``) as a window: its
    sends (recipients) are the delivery attempts; pure."""
    return Totals(label, since, counts.get("send", 0), counts.get("bounce", 0), counts.get("complaint", 0),
                  counts.get("reject", 0))


@dataclass(frozen=True)
class LiveStats:
    """The rates of the consumed events, and where they come from."""

    totals: Totals
    database: str
    last_event: datetime | None
    counts: Mapping[str, int]

    def to_dict(self) -> dict[str, Any]:
        return {**self.totals.to_dict(), "database": self.database,
                "last_event": self.last_event.isoformat() if self.last_event else None,
                "events": dict(self.counts)}


def live_statistics(journal: Journal, *, now: datetime | None = None, hours: int = 24) -> LiveStats:
    """Sends, bounces, complaints and rejects of the last ``hours`` from the journal."""
    now = as_utc(now or datetime.now(UTC))
    since = now - timedelta(hours=hours)
    counts = journal.counts(since, now + timedelta(microseconds=1))
    label = LIVE_LABEL if hours == 24 else f"last {hours} hours of events"
    return LiveStats(live_totals(counts, since, label), str(journal.path), journal.last_event_at(), counts)


@dataclass(frozen=True)
class StatsReport:
    quota: SendQuota | None
    last_24h: Totals
    last_14d: Totals
    days: tuple[Totals, ...]
    thresholds: Thresholds
    generated: datetime
    live: LiveStats | None = None  # --live: from the events journal

    @property
    def breaches(self) -> list[str]:
        live = self.live.totals.breaches(self.thresholds) if self.live else []
        return self.last_24h.breaches(self.thresholds) + self.last_14d.breaches(self.thresholds) + live

    @property
    def ok(self) -> bool:
        return not self.breaches

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "generated": self.generated.isoformat(),
                "quota": self.quota.to_dict() if self.quota else None,
                "windows": {"last_24_hours": self.last_24h.to_dict(), "last_14_days": self.last_14d.to_dict()},
                "days": [{"date": d.start.date().isoformat(), **{k: v for k, v in d.to_dict().items()
                                                                  if k not in ("label", "start")}}
                         for d in self.days],
                "thresholds": self.thresholds.to_dict(), "breaches": self.breaches,
                "live": self.live.to_dict() if self.live else None}


def summarize(points: Sequence[DataPoint], quota: SendQuota | None = None, *,
              thresholds: Thresholds = Thresholds(), now: datetime | None = None,
              days: int = 14) -> StatsReport:
    """GetSendStatistics' 15-minute buckets → the last 24 hours, the last
    ``days`` days and one total per UTC day (oldest first); pure."""
    now = as_utc(now or datetime.now(UTC))
    day_start = datetime.combine(now.date(), datetime.min.time(), tzinfo=UTC)
    first_day = day_start - timedelta(days=days - 1)
    since_24h = now - timedelta(hours=24)
    since_14d = now - timedelta(days=days)
    recent = [p for p in points if p.timestamp <= now]
    per_day: list[Totals] = []
    for i in range(days):
        start = first_day + timedelta(days=i)
        end = start + timedelta(days=1)
        per_day.append(_total(start.date().isoformat(), start,
                              (p for p in recent if start <= p.timestamp < end)))
    return StatsReport(
        quota,
        _total("last 24 hours", since_24h, (p for p in recent if p.timestamp > since_24h)),
        _total(f"last {days} days", since_14d, (p for p in recent if p.timestamp > since_14d)),
        tuple(per_day), thresholds, now)


def statistics(account: Account, *, thresholds: Thresholds = Thresholds(), now: datetime | None = None,
               journal: Journal | None = None) -> StatsReport:
    """SES's statistics; with a ``journal``, the live rates of its last 24 hours too."""
    report = summarize(account.send_statistics(), account.send_quota(), thresholds=thresholds, now=now)
    if journal is None:
        return report
    return replace(report, live=live_statistics(journal, now=report.generated))
