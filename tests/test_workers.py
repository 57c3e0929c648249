"""The forked worker pool a large build runs on: every job once, failures loud,
no process left behind."""

from __future__ import annotations

import os

import pytest

from letterhead.authoring.workers import WorkerCrashed, fork_map


def no_children_left() -> bool:
    try:
        os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


def square_setup():  # type: ignore[no-untyped-def]
    return lambda n: (n * n, os.getpid())


@pytest.mark.parametrize("jobs,workers", [(1, 2), (7, 2), (50, 3), (5000, 2)])  # 5000: more than a pipe holds
def test_every_job_runs_exactly_once_and_results_come_back(jobs: int, workers: int) -> None:
    seen: dict[int, int] = {}
    pids = set()
    for index, (value, pid) in fork_map(square_setup, list(range(jobs)), workers):
        assert index not in seen
        seen[index] = value
        pids.add(pid)
    assert seen == {n: n * n for n in range(jobs)}
    assert os.getpid() not in pids and len(pids) <= workers
    assert no_children_left()


def failing_setup():  # type: ignore[no-untyped-def]
    def work(n: int) -> int:
        if n == 13:
            raise ValueError("unlucky template")
        return n
    return work


def test_an_unexpected_exception_in_a_job_stops_the_map_with_its_traceback() -> None:
    with pytest.raises(WorkerCrashed) as exc:
        list(fork_map(failing_setup, list(range(40)), 2))
    assert "ValueError: unlucky template" in str(exc.value)
    assert no_children_left()


def broken_setup():  # type: ignore[no-untyped-def]
    raise RuntimeError("cannot start")


def test_a_failing_setup_is_reported() -> None:
    with pytest.raises(WorkerCrashed, match="cannot start"):
        list(fork_map(broken_setup, [1, 2, 3], 2))
    assert no_children_left()


def dying_setup():  # type: ignore[no-untyped-def]
    def work(n: int) -> int:
        if n == 5:
            os._exit(9)  # a crash that raises nothing (a segfault in an extension, say)
        return n
    return work


def test_a_worker_that_dies_is_noticed() -> None:
    with pytest.raises(WorkerCrashed, match="a worker process died"):
        list(fork_map(dying_setup, list(range(20)), 2))
    assert no_children_left()


def slow_setup():  # type: ignore[no-untyped-def]
    import time

    def work(n: int) -> int:
        time.sleep(0.01)
        return n
    return work


def test_stopping_early_leaves_no_worker_running() -> None:
    it = fork_map(slow_setup, list(range(200)), 2)
    assert next(it)[0] in range(200)
    it.close()
    assert no_children_left()


def test_no_fork_from_a_process_running_other_threads() -> None:
    import subprocess
    import sys

    # A fresh process: this one may run other tests' server threads.
    script = (
        "import threading\n"
        "from letterhead.authoring.workers import available\n"
        "assert available()\n"
        "stop = threading.Event()\n"
        "thread = threading.Thread(target=stop.wait)\n"
        "thread.start()\n"
        "assert not available()  # a build then compiles in-process\n"
        "stop.set()\n"
        "thread.join()\n"
        "assert available()\n"
        "print('ok')\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip() == "ok", proc.stderr


def frozen_setup():  # type: ignore[no-untyped-def]
    import gc

    return lambda n: gc.get_freeze_count()


def test_workers_never_scan_what_they_inherit_and_the_parent_stays_unfrozen() -> None:
    """What a worker inherits is frozen for its cyclic collector (a full
    collection scanning it costs a worker of a large build tens of ms and
    copy-on-write faults); the parent, which may be a long-lived program
    calling build() again and again, keeps collecting everything."""
    import gc

    inherited = [object() for _ in range(1000)]  # at least these are the parent's
    counts = [count for _, count in fork_map(frozen_setup, list(range(4)), 2)]
    assert all(count >= len(inherited) for count in counts)
    assert gc.get_freeze_count() == 0
    assert no_children_left()
