"""Run CPU-bound jobs in forked worker processes (a build of many templates).

``concurrent.futures.ProcessPoolExecutor`` does this too, but each job makes a
round trip through its call queue, a feeder thread and a management thread
that share the parent's GIL.  Measured on the 50-template project of
``bench/build.py`` (2 cores, 20 alternating runs each, whole process):
ProcessPoolExecutor 326 ms best / 347 ms median, this module 317 / 329.
Here the workers are forked once, take job numbers from one shared pipe
(reads of a few bytes from a pipe are atomic, so no job is taken twice) and
stream their results back, each on its own pipe.

POSIX only (``os.fork``); callers fall back to running jobs in-process where
forking is not available.
"""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
import selectors
import struct
import threading
import traceback
from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

J = TypeVar("J")
R = TypeVar("R")

_INDEX = struct.Struct("<I")
_FRAME = struct.Struct("<IQ")  # job index, payload length


class WorkerCrashed(RuntimeError):
    """A worker process raised an unexpected exception or died."""


def available() -> bool:
    """Whether forking is possible and safe: not on Windows, and not from a
    process running other threads (a fork copies only the calling thread,
    and locks the others hold stay locked in the child forever)."""
    return hasattr(os, "fork") and threading.active_count() == 1


def fork_map(
    setup: Callable[[], Callable[[J], R]],
    jobs: Sequence[J],
    workers: int,
) -> Iterator[tuple[int, R]]:
    """Yield ``(index, result)`` for every job, in the order they finish.

    ``setup()`` runs once in each worker after the fork and returns the
    function applied to each job.  An exception a job raises ends the map
    with :class:`WorkerCrashed` carrying its traceback (callers turn expected
    errors into results themselves).  Workers are gone when this returns or
    raises, whatever happened."""
    job_r, job_w = os.pipe()
    children: dict[int, int] = {}  # result fd -> pid
    finished = False
    try:
        # The objects a worker inherits live as long as it does: frozen, its
        # cyclic collector never scans them.  Scanned, they cost each worker
        # of the 200-variant bench one full collection of ~25 ms CPU, plus
        # copy-on-write faults (the scan writes into every object it visits).
        # Python's advice for forking servers; the parent unfreezes at once.
        gc.freeze()
        try:
            for _ in range(max(1, min(workers, len(jobs)))):
                res_r, res_w = os.pipe()
                pid = os.fork()
                if pid == 0:  # the worker: never returns
                    os.close(res_r)
                    os.close(job_w)
                    for fd in children:
                        os.close(fd)
                    _work(setup, jobs, job_r, res_w)
                os.close(res_w)
                children[res_r] = pid
        finally:
            gc.unfreeze()
        os.close(job_r)
        job_r = -1
        indices = b"".join(_INDEX.pack(i) for i in range(len(jobs)))
        if len(indices) <= 16384:  # fits any pipe's buffer (16 KB on macOS): cannot block
            _write_and_close(job_w, indices)
        else:  # the workers drain it while a thread fills it
            threading.Thread(target=_write_and_close, args=(job_w, indices), daemon=True).start()
        job_w = -1
        yield from _collect(children, len(jobs))
        finished = True
    finally:
        for fd in (job_r, job_w):
            if fd >= 0:
                os.close(fd)
        for fd, pid in children.items():
            if not finished:  # an error, or the caller stopped early: stop the workers
                import signal

                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
            with contextlib.suppress(OSError):
                os.close(fd)
        children.clear()


def _write_and_close(fd: int, data: bytes) -> None:
    # Slices of 512 bytes (POSIX's smallest PIPE_BUF; 128 whole job numbers):
    # each lands in the pipe at once, so a worker never reads half a number.
    try:
        for start in range(0, len(data), 512):
            os.write(fd, data[start : start + 512])
    finally:
        os.close(fd)


def _work(setup: Callable[[], Callable[[J], R]], jobs: Sequence[J], job_r: int, res_w: int) -> None:
    code = 0
    try:
        import signal

        signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C: the parent cleans up
        out = os.fdopen(res_w, "wb")
        try:
            fn = setup()
        except BaseException:
            fn = None
            failure = traceback.format_exc()
        while True:
            raw = os.read(job_r, _INDEX.size)
            if len(raw) < _INDEX.size:
                break
            (index,) = _INDEX.unpack(raw)
            try:
                result = ("ok", fn(jobs[index])) if fn is not None else ("crash", failure)
            except Exception:
                result = ("crash", traceback.format_exc())
            try:
                payload = pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
            except Exception:  # a result that cannot travel: say why, instead of dying mute
                payload = pickle.dumps(("crash", traceback.format_exc()), protocol=pickle.HIGHEST_PROTOCOL)
            out.write(_FRAME.pack(index, len(payload)))
            out.write(payload)
            out.flush()
        out.close()
    except BaseException:
        code = 1
    finally:
        os._exit(code)  # no atexit handlers, no flushing the parent's buffers twice


def _collect(children: dict[int, int], expected: int) -> Iterator[tuple[int, R]]:
    buffers = {fd: bytearray() for fd in children}
    received = 0
    with selectors.DefaultSelector() as sel:
        for fd in children:
            sel.register(fd, selectors.EVENT_READ)
        open_fds = set(children)
        while open_fds:
            for key, _ in sel.select():
                fd = key.fd
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    sel.unregister(fd)
                    open_fds.discard(fd)
                    continue
                buf = buffers[fd]
                buf += chunk
                while len(buf) >= _FRAME.size:
                    index, size = _FRAME.unpack_from(buf)
                    if len(buf) < _FRAME.size + size:
                        break
                    status, value = pickle.loads(bytes(buf[_FRAME.size : _FRAME.size + size]))
                    del buf[: _FRAME.size + size]
                    if status != "ok":
                        raise WorkerCrashed(f"a build worker failed:\n{value}")
                    received += 1
                    yield index, value
    if received != expected:
        raise WorkerCrashed(f"build workers stopped after {received} of {expected} templates "
                            "(a worker process died; rerun with LETTERHEAD_PARALLEL_FROM=100000 to compile "
                            "in one process and see the error)")
