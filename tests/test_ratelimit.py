"""The token bucket, on a fake clock: every wait is exact, no test sleeps."""

from __future__ import annotations

import threading

import pytest

from letterhead.aws.ratelimit import RateLimiter


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def limiter(rate: float, burst: int = 1) -> tuple[RateLimiter, FakeTime]:
    t = FakeTime()
    return RateLimiter(rate, burst, clock=t.clock, sleep=t.sleep), t


def test_one_per_interval_at_burst_one() -> None:
    rl, t = limiter(10)
    waits = [rl.acquire() for _ in range(5)]
    assert waits == pytest.approx([0, 0.1, 0.1, 0.1, 0.1])
    assert t.now == pytest.approx(0.4) and rl.acquired == 5


def test_burst_goes_at_once_then_the_rate() -> None:
    rl, t = limiter(10, burst=3)
    assert [rl.acquire() for _ in range(5)] == pytest.approx([0, 0, 0, 0.1, 0.1])


def test_idle_time_refills_up_to_the_burst_only() -> None:
    rl, t = limiter(10, burst=2)
    rl.acquire(), rl.acquire()
    t.now += 60  # a long pause does not bank more than `burst`
    assert [rl.acquire() for _ in range(4)] == pytest.approx([0, 0, 0.1, 0.1])


def test_a_request_larger_than_the_burst_goes_then_pays() -> None:
    rl, t = limiter(200)
    assert rl.acquire(50) == 0  # a bulk call of 50 goes at once...
    assert rl.acquire(50) == pytest.approx(0.25)  # ...and the next waits the 50/200 s it cost
    assert rl.acquire(1) == pytest.approx(0.25)
    # Over the whole run: never more than burst + rate * elapsed.
    assert rl.acquired <= 1 + 200 * t.now + 50


def test_set_rate_keeps_the_debt_in_tokens() -> None:
    rl, t = limiter(100)
    rl.acquire(10)  # 10 tokens of debt: 0.1 s at 100/s
    rl.set_rate(1)  # the quota says 1/s: the same 10 tokens now take 10 s
    assert rl.acquire() == pytest.approx(10.0)
    assert rl.rate == 1


def test_penalize_holds_everyone_back() -> None:
    rl, t = limiter(10, burst=5)
    rl.penalize(2.0)
    assert rl.acquire() == pytest.approx(2.0)
    assert rl.acquire() == pytest.approx(0.1)


def test_refund_gives_back_what_did_not_happen_up_to_the_burst() -> None:
    rl, t = limiter(10, burst=2)
    rl.acquire(), rl.acquire(), rl.acquire()  # the third waited 0.1 s
    rl.refund(1)  # the server refused that one: its slot is free again
    assert rl.acquire() == 0 and rl.acquired == 3
    t.now += 60
    rl.refund(5)  # a full bucket holds no more than `burst`
    assert [rl.acquire() for _ in range(3)] == pytest.approx([0, 0, 0.1])


def test_try_acquire_never_blocks() -> None:
    rl, t = limiter(10)
    assert rl.try_acquire() is True
    assert rl.try_acquire() is False and t.sleeps == []
    t.now += 0.1
    assert rl.try_acquire() is True


def test_threads_sharing_one_limiter_never_share_a_slot() -> None:
    """Eight threads, 25 acquisitions each, on a clock that does not move:
    each caller's wait is its slot's distance from now, so distinct waits
    mean no two callers got the same slot, and together they cover
    0, 1/r, 2/r, … exactly."""
    waits: list[float] = []
    lock = threading.Lock()

    def sleep(s: float) -> None:
        with lock:
            waits.append(s)

    rl = RateLimiter(100, clock=lambda: 0.0, sleep=sleep)
    start = threading.Barrier(8)

    def worker() -> None:
        start.wait()
        for _ in range(25):
            rl.acquire()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert rl.acquired == 200
    assert sorted(round(w * 100) for w in waits) == list(range(1, 200))  # slot 0 waited nothing


@pytest.mark.parametrize("args", [(0,), (-1,), (1, 0)])
def test_bad_arguments(args: tuple[float, ...]) -> None:
    with pytest.raises(ValueError):
        RateLimiter(*args)  # type: ignore[arg-type]
