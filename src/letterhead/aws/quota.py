"""The account's send quota (SES ``GetSendQuota``), one type for the sender
and the account commands.

In: GetSendQuota's answer (:meth:`SendQuota.from_api`).  Out: the three
numbers under the names the sender's API has always used
(``max_24_hour_send``, ``max_send_rate``, ``sent_last_24_hours``; the account
commands' short names ``max_24h``, ``max_rate``, ``sent_24h`` read the same
fields), and what the account commands print of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["SANDBOX_QUOTA", "SendQuota", "format_count", "format_percent"]

SANDBOX_QUOTA = (200.0, 1.0)  # Max24HourSend, MaxSendRate of a sandboxed account


def format_count(x: float) -> str:
    """``12,345`` for a whole number, ``12,345.50`` otherwise."""
    return f"{int(x):,}" if float(x).is_integer() else f"{x:,.2f}"


def format_percent(x: float | None, digits: int = 1) -> str:
    """``0.05`` → ``5.0 %``; ``n/a`` for None."""
    return "n/a" if x is None else f"{x * 100:.{digits}f} %"


@dataclass(frozen=True)
class SendQuota:
    """GetSendQuota: the 24-hour quota (-1: unlimited), the messages a second,
    and what was sent in the last 24 hours."""

    max_24_hour_send: float
    max_send_rate: float
    sent_last_24_hours: float

    @classmethod
    def from_api(cls, resp: Mapping[str, Any], *, default_rate: float = 0.0) -> SendQuota:
        """From GetSendQuota's answer; ``default_rate`` when it names no rate."""
        return cls(float(resp.get("Max24HourSend", 0)), float(resp.get("MaxSendRate", default_rate)),
                   float(resp.get("SentLast24Hours", 0)))

    # The account commands' names for the same numbers.
    @property
    def max_24h(self) -> float:
        return self.max_24_hour_send

    @property
    def max_rate(self) -> float:
        return self.max_send_rate

    @property
    def sent_24h(self) -> float:
        return self.sent_last_24_hours

    @property
    def remaining_24_hours(self) -> float:
        return max(0.0, self.max_24_hour_send - self.sent_last_24_hours)

    @property
    def unlimited(self) -> bool:
        return self.max_24h < 0  # SES reports -1 for an unlimited quota

    @property
    def usage(self) -> float | None:
        if self.unlimited or self.max_24h <= 0:
            return None
        return self.sent_24h / self.max_24h

    @property
    def looks_like_sandbox(self) -> bool:
        return (self.max_24h, self.max_rate) == SANDBOX_QUOTA

    def describe(self) -> str:
        limit = "unlimited" if self.unlimited else f"{format_count(self.max_24h)}"
        usage = f" ({format_percent(self.usage, 1)})" if self.usage is not None else ""
        return (f"{format_count(self.sent_24h)} of {limit} sent in the last 24 h{usage}, "
                f"up to {format_count(self.max_rate)} message(s)/s")

    def to_dict(self) -> dict[str, Any]:
        return {"max_24_hour_send": self.max_24h, "max_send_rate": self.max_rate,
                "sent_last_24_hours": self.sent_24h, "usage": self.usage}
