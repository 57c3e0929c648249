"""A thread-safe token bucket: at most ``rate_per_sec`` units a second, for any
number of threads sharing one limiter.

The bucket holds up to ``burst`` tokens and refills continuously.  A caller
that needs ``n`` tokens waits until the bucket holds ``min(n, burst)`` of them
and then takes all ``n``, leaving the bucket in debt when ``n > burst``: a bulk
call for 50 recipients under a 14/s limit goes out at once and the next call
waits the 50/14 s that paid for it.  Over any stretch of time no more than
``burst + rate * seconds`` tokens are handed out, whatever ``n`` each caller
asks for.

Implemented as a virtual schedule (GCRA): one number, the time at which the
bucket would be full again, is booked under a lock; each caller then sleeps
*outside* the lock until its own slot, so threads never wait for each other's
sleeps, only for their place in line.  ``clock`` and ``sleep`` are seams for
tests (a fake clock makes every wait exact).

Two options serve the template calls of ``sync`` (one call at a time, about
one a second; :mod:`letterhead.deploy.template_store`):

* ``headroom``: pace that much under the rate (slots ``(1 + headroom) / rate``
  apart): calls sent exactly 1/rate apart arrive some a little closer than
  that, and a strict server throttles those;
* ``spacing="release"``: each caller waits *inside* the lock and the next slot
  is measured from the moment the caller is released, so consecutive calls are
  never closer than one slot whatever the scheduler does (the default,
  ``"schedule"``, lets a late caller's successor keep its booked slot).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Literal

__all__ = ["RateLimiter"]


class RateLimiter:
    """``acquire(n)`` blocks until ``n`` units may go; see the module docstring."""

    def __init__(
        self,
        rate_per_sec: float,
        burst: int = 1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        *,
        headroom: float = 0.0,
        spacing: Literal["schedule", "release"] = "schedule",
    ) -> None:
        if not rate_per_sec > 0:
            raise ValueError("rate_per_sec must be > 0")
        if burst < 1:
            raise ValueError("burst must be at least 1")
        if not 0 <= headroom < 1:
            raise ValueError("headroom must be in [0, 1)")
        if spacing not in ("schedule", "release"):
            raise ValueError("spacing must be 'schedule' or 'release'")
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._headroom = float(headroom)
        self._spacing = spacing
        self._rate = float(rate_per_sec)
        self._pace = self._rate / (1.0 + self._headroom)  # tokens a second actually handed out
        self._burst = int(burst)
        # The moment the bucket is full again; in the past means full now.
        self._full_at = float("-inf")
        self.acquired = 0  # units handed out
        self.waited = 0.0  # seconds callers spent waiting, summed

    @property
    def rate(self) -> float:
        return self._rate

    @property
    def burst(self) -> int:
        return self._burst

    @property
    def interval(self) -> float:
        """Seconds between two slots: ``(1 + headroom) / rate``."""
        return 1.0 / self._pace

    def set_rate(self, rate_per_sec: float, burst: int | None = None) -> None:
        """Change the rate (say, once ``get_send_quota`` answered); tokens
        already booked keep their slots."""
        if not rate_per_sec > 0:
            raise ValueError("rate_per_sec must be > 0")
        with self._lock:
            now = self._clock()
            # Keep the current debt in *tokens*, re-expressed at the new rate.
            debt = max(0.0, self._full_at - now) * self._pace
            self._rate = float(rate_per_sec)
            self._pace = self._rate / (1.0 + self._headroom)
            if burst is not None:
                if burst < 1:
                    raise ValueError("burst must be at least 1")
                self._burst = int(burst)
            self._full_at = now + debt / self._pace if debt else float("-inf")

    def _reserve(self, n: int) -> tuple[float, float]:
        """Book ``n`` tokens; return (now, the moment the caller may go)."""
        interval = 1.0 / self._pace
        now = self._clock()
        full_at = max(self._full_at, now)
        # Tokens in the bucket at time t: burst - (full_at - t) / interval.
        # Go when it holds min(n, burst): t >= full_at - (burst - need) * interval.
        need = min(n, self._burst)
        start = max(now, full_at - (self._burst - need) * interval)
        self._full_at = max(full_at, start) + n * interval
        self.acquired += n
        return now, start

    def acquire(self, n: int = 1) -> float:
        """Block until ``n`` tokens are ours; return the seconds waited."""
        if n < 1:
            raise ValueError("n must be at least 1")
        if self._spacing == "release":
            return self._acquire_in_line(n)
        with self._lock:
            now, start = self._reserve(n)
        wait = start - now
        if wait > 1e-9:  # float noise is not a wait
            self._sleep(wait)
            with self._lock:
                self.waited += wait
            return wait
        return 0.0

    def _acquire_in_line(self, n: int) -> float:
        """``spacing="release"``: wait under the lock (callers keep their
        order), then book the next slot from the moment this one went."""
        with self._lock:
            now, start = self._reserve(n)
            wait = max(0.0, start - now)
            if wait:
                self._sleep(wait)
                now = self._clock()
            self._full_at = max(now, start) + n / self._pace
            self.waited += wait
            return wait

    def try_acquire(self, n: int = 1) -> bool:
        """Take ``n`` tokens if that needs no wait; never blocks."""
        if n < 1:
            raise ValueError("n must be at least 1")
        with self._lock:
            interval = 1.0 / self._pace
            now = self._clock()
            full_at = max(self._full_at, now)
            if full_at - (self._burst - min(n, self._burst)) * interval > now:
                return False
            self._reserve(n)
            return True

    def refund(self, n: int = 1) -> None:
        """Give back ``n`` tokens taken for something that did not happen (a
        call the server refused before doing anything): the bucket counts
        what went through, not what was tried.  Never fills it past ``burst``."""
        if n < 1:
            return
        with self._lock:
            self._full_at -= n / self._pace
            self.acquired -= n

    def penalize(self, seconds: float | None = None) -> None:
        """Empty the bucket and hold every caller back ``seconds`` (one
        interval by default): the server said "too fast"."""
        with self._lock:
            now = self._clock()
            hold = 1.0 / self._pace if seconds is None else float(seconds)
            floor = now + hold + (self._burst - 1) / self._pace
            self._full_at = max(self._full_at, floor)

    def __repr__(self) -> str:
        extra = f", headroom={self._headroom:g}" if self._headroom else ""
        extra += f", spacing={self._spacing!r}" if self._spacing != "schedule" else ""
        return f"RateLimiter(rate_per_sec={self._rate:g}, burst={self._burst}{extra})"
