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
"""

from __future__ import annotations

import threading
import time
from typing import Callable

__all__ = ["RateLimiter"]


class RateLimiter:
    """``acquire(n)`` blocks until ``n`` units may go; see the module docstring."""

    def __init__(
        self,
        rate_per_sec: float,
        burst: int = 1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not rate_per_sec > 0:
            raise ValueError("rate_per_sec must be > 0")
        if burst < 1:
            raise ValueError("burst must be at least 1")
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._rate = float(rate_per_sec)
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

    def set_rate(self, rate_per_sec: float, burst: int | None = None) -> None:
        """Change the rate (say, once ``get_send_quota`` answered); tokens
        already booked keep their slots."""
        if not rate_per_sec > 0:
            raise ValueError("rate_per_sec must be > 0")
        with self._lock:
            now = self._clock()
            # Keep the current debt in *tokens*, re-expressed at the new rate.
            debt = max(0.0, self._full_at - now) * self._rate
            self._rate = float(rate_per_sec)
            if burst is not None:
                if burst < 1:
                    raise ValueError("burst must be at least 1")
                self._burst = int(burst)
            self._full_at = now + debt / self._rate if debt else float("-inf")

    def _reserve(self, n: int) -> tuple[float, float]:
        """Book ``n`` tokens; return (now, the moment the caller may go)."""
        interval = 1.0 / self._rate
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
        with self._lock:
            now, start = self._reserve(n)
        wait = start - now
        if wait > 1e-9:  # float noise is not a wait
            self._sleep(wait)
            with self._lock:
                self.waited += wait
            return wait
        return 0.0

    def try_acquire(self, n: int = 1) -> bool:
        """Take ``n`` tokens if that needs no wait; never blocks."""
        if n < 1:
            raise ValueError("n must be at least 1")
        with self._lock:
            interval = 1.0 / self._rate
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
            self._full_at -= n / self._rate
            self.acquired -= n

    def penalize(self, seconds: float | None = None) -> None:
        """Empty the bucket and hold every caller back ``seconds`` (one
        interval by default): the server said "too fast"."""
        with self._lock:
            now = self._clock()
            hold = 1.0 / self._rate if seconds is None else float(seconds)
            floor = now + hold + (self._burst - 1) / self._rate
            self._full_at = max(self._full_at, floor)

    def __repr__(self) -> str:
        return f"RateLimiter(rate_per_sec={self._rate:g}, burst={self._burst})"
