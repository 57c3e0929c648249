#!/usr/bin/env python3
"""Benchmark letterhead's sender against a local SES that enforces a send rate.

A child process serves a small SES stand-in on 127.0.0.1 (the three calls
the sender makes: GetSendQuota, SendTemplatedEmail, SendBulkTemplatedEmail,
in SES's query/XML protocol).  It

* reports ``MaxSendRate = --rate`` from GetSendQuota (the sender reads it);
* enforces that rate with a token bucket over recipients (one second of
  burst) and answers ``400 Throttling`` above it, as SES does;
* injects throttling on top: ``--throttle`` of the calls answer Throttling
  anyway, and ``--dest-failures`` of bulk destinations answer
  ``AccountThrottled``;
* counts every accepted recipient, so duplicates and losses show.

Two runs, each measured in the same process run:

1. bulk: ``--recipients`` recipients of the verification email, streamed
   from a generator through ``Mailer.iter_send_bulk`` (batches of 50); memory
   traced with tracemalloc, peak over the first 1,000 recipients against the
   peak over the rest (flat memory: the ratio stays near 1);
2. threads: ``--single`` single sends from ``--threads`` threads sharing one
   Mailer, so one rate limiter.

Printed per run: achieved rate (recipients SES accepted per second of wall
time) against the allowed rate, the steady rate (the sender's starting
half-second burst left out, over the span the server accepted in), sent /
lost / duplicated, throttled calls.
Targets (issue #4): achieved >= 95 % of the allowed rate, zero lost, zero
duplicated, memory flat as the recipient count grows.

    python bench/send.py                          # 5,000 at 200/s + 2,000 singles: ~40 s
    python bench/send.py --recipients 20000 --rate 500
    python bench/send.py --json
"""

from __future__ import annotations

import argparse
import json
import random
import secrets
import socket
import subprocess
import sys
import threading
import time
import tracemalloc
import urllib.request
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import parse_qs

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

NS = "http://ses.amazonaws.com/doc/2010-12-01/"


# -- the SES stand-in (child process) ---------------------------------------------------------


class Bucket:
    """Recipients per second with one second of burst; refused calls take nothing."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.capacity = rate
        self.tokens = rate
        self.last = time.monotonic()
        self.lock = threading.Lock()

    def take(self, n: int) -> bool:
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.capacity, self.tokens + (now - self.last) * self.rate)
            self.last = now
            if self.tokens < n:
                return False
            self.tokens -= n
            return True

    def give(self, n: int) -> None:
        with self.lock:
            self.tokens = min(self.capacity, self.tokens + n)


class State:
    def __init__(self, rate: float, throttle: float, dest_failures: float, seed: int) -> None:
        self.rate, self.throttle, self.dest_failures = rate, throttle, dest_failures
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.bucket = Bucket(self.rate)
            self.accepted: Counter[str] = Counter()
            self.calls = 0
            self.injected = 0
            self.over_rate = 0
            self.dest_refused = 0
            self.first: float | None = None
            self.last: float | None = None
            self.ids = 0

    def roll(self, p: float) -> bool:
        with self.lock:
            return self.rng.random() < p

    def record(self, address: str) -> str:
        with self.lock:
            self.accepted[address] += 1
            now = time.monotonic()
            self.first = self.first if self.first is not None else now
            self.last = now
            self.ids += 1
            return f"bench-{self.ids:08d}"

    def stats(self) -> dict[str, Any]:
        with self.lock:
            return {"accepted": sum(self.accepted.values()), "unique": len(self.accepted),
                    "duplicates": sum(c - 1 for c in self.accepted.values() if c > 1), "calls": self.calls,
                    "injected_throttles": self.injected, "over_rate_throttles": self.over_rate,
                    "destinations_refused": self.dest_refused,
                    "span": (self.last - self.first) if self.first is not None and self.last else 0.0}


def _members(form: dict[str, list[str]], prefix: str) -> list[str]:
    out = []
    i = 1
    while f"{prefix}.member.{i}" in form:
        out.append(form[f"{prefix}.member.{i}"][0])
        i += 1
    return out


def _error(code: str, message: str) -> bytes:
    return (f'<ErrorResponse xmlns="{NS}"><Error><Type>Sender</Type><Code>{code}</Code>'
            f"<Message>{message}</Message></Error><RequestId>bench</RequestId></ErrorResponse>").encode()


def _ok(action: str, result: str) -> bytes:
    return (f'<{action}Response xmlns="{NS}"><{action}Result>{result}</{action}Result>'
            f"<ResponseMetadata><RequestId>bench</RequestId></ResponseMetadata></{action}Response>").encode()


def serve(port: int, rate: float, throttle: float, dest_failures: float, seed: int) -> None:
    state = State(rate, throttle, dest_failures, seed)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go in two writes: no 40 ms delayed-ACK stall

        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def _send(self, status: int, body: bytes, ctype: str = "text/xml") -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            self._send(200, json.dumps(state.stats()).encode(), "application/json")

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode()
            if self.path == "/reset":
                state.reset()
                return self._send(200, b"{}", "application/json")
            form = parse_qs(body, keep_blank_values=True)
            action = form.get("Action", [""])[0]
            with state.lock:
                state.calls += 1
            if action == "GetSendQuota":
                s = state.stats()
                return self._send(200, _ok(action, f"<Max24HourSend>1000000</Max24HourSend><MaxSendRate>{rate}"
                                                   f"</MaxSendRate><SentLast24Hours>{s['accepted']}</SentLast24Hours>"))
            if action == "SendTemplatedEmail":
                to = _members(form, "Destination.ToAddresses")
                groups = [to]
            elif action == "SendBulkTemplatedEmail":
                groups = []
                i = 1
                while f"Destinations.member.{i}.ReplacementTemplateData" in form or \
                        f"Destinations.member.{i}.Destination.ToAddresses.member.1" in form:
                    groups.append(_members(form, f"Destinations.member.{i}.Destination.ToAddresses"))
                    i += 1
            else:
                return self._send(400, _error("InvalidAction", action))
            total = sum(len(g) for g in groups)
            if state.roll(state.throttle):
                with state.lock:
                    state.injected += 1
                return self._send(400, _error("Throttling", "Maximum sending rate exceeded."))
            if not state.bucket.take(total):
                with state.lock:
                    state.over_rate += 1
                return self._send(400, _error("Throttling", "Maximum sending rate exceeded."))
            if action == "SendTemplatedEmail":
                mid = ""
                for a in to:
                    mid = state.record(a)
                return self._send(200, _ok(action, f"<MessageId>{mid}</MessageId>"))
            members = []
            for g in groups:
                if state.roll(state.dest_failures):
                    state.bucket.give(len(g))
                    with state.lock:
                        state.dest_refused += 1
                    members.append("<member><Status>AccountThrottled</Status><Error>injected</Error></member>")
                    continue
                mid = ""
                for a in g:
                    mid = state.record(a)
                members.append(f"<member><Status>Success</Status><MessageId>{mid}</MessageId></member>")
            return self._send(200, _ok(action, f"<Status>{''.join(members)}</Status>"))

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    print("ready", flush=True)
    server.serve_forever()


# -- the client (parent process) ----------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=10) as r:  # noqa: S310 - loopback
        return json.load(r)


def _reset(url: str) -> None:
    urllib.request.urlopen(urllib.request.Request(f"{url}/reset", data=b"", method="POST"), timeout=10).read()


def _mailer(url: str) -> Any:
    from letterhead.sending.mailer import Mailer
    from letterhead.sending.transports import make_client

    client = make_client("eu-west-1", url, credentials={"aws_access_key_id": "bench",
                                                         "aws_secret_access_key": "bench"},
                         max_pool_connections=32)
    # No max_send_rate: the sender reads MaxSendRate from GetSendQuota, as in production.
    return Mailer(sender_email="noreply@calndr.club", sender_name="Calndr Club", ses_dir=ROOT / "ses_templates",
                  client=client, region="eu-west-1")


def recipients(n: int) -> Iterator[tuple[str, dict[str, str]]]:
    for i in range(n):
        address = f"user{i}@example.org"
        yield address, {"code": f"{secrets.randbelow(1_000_000):06d}", "email": address, "expires_at": "14:32 UTC"}


def run_bulk(url: str, n: int, rate: float) -> dict[str, Any]:
    _reset(url)
    mailer = _mailer(url)
    tracemalloc.start()
    statuses: Counter[str] = Counter()
    checkpoint = min(1000, n)
    peak_first = current_first = 0
    t0 = time.perf_counter()
    for i, status in enumerate(mailer.iter_send_bulk("email_verification", recipients(n)), 1):
        statuses[status.status] += 1
        if i == checkpoint:
            current_first, peak_first = tracemalloc.get_traced_memory()
            tracemalloc.reset_peak()
    elapsed = time.perf_counter() - t0
    current_end, peak_rest = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    server = _get(url)
    ses = mailer._ses()
    return _summary("bulk (iter_send_bulk, batches of 50)", n, rate, elapsed, statuses, server, ses) | {
        "memory": {"peak_first_1000_kib": round(peak_first / 1024), "peak_rest_kib": round(peak_rest / 1024),
                   "peak_ratio": round(peak_rest / peak_first, 2) if peak_first else None,
                   "current_at_1000_kib": round(current_first / 1024),
                   "current_at_end_kib": round(current_end / 1024)}}


def run_threads(url: str, n: int, threads: int, rate: float) -> dict[str, Any]:
    from letterhead.errors import LetterheadError

    _reset(url)
    mailer = _mailer(url)
    source = recipients(n)
    lock = threading.Lock()
    statuses: Counter[str] = Counter()

    def worker() -> None:
        while True:
            with lock:
                item = next(source, None)
            if item is None:
                return
            try:
                mailer.send("email_verification", item[0], item[1])
                outcome = "sent"
            except LetterheadError as exc:
                outcome = f"error:{type(exc).__name__}"
            with lock:
                statuses[outcome] += 1

    t0 = time.perf_counter()
    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    elapsed = time.perf_counter() - t0
    return _summary(f"single sends from {threads} threads, one limiter", n, rate, elapsed, statuses, _get(url),
                    mailer._ses())


def _summary(name: str, n: int, rate: float, elapsed: float, statuses: Counter[str], server: dict[str, Any],
             ses: Any) -> dict[str, Any]:
    accepted = server["accepted"]
    achieved = accepted / elapsed if elapsed else 0.0
    # Steady state, as the server saw it: the starting burst left out.
    burst = ses.limiter.burst
    steady = (accepted - burst) / server["span"] if server["span"] else 0.0
    return {
        "run": name, "recipients": n, "allowed_rate": rate, "elapsed_s": round(elapsed, 2),
        "achieved_rate": round(achieved, 1), "achieved_ratio": round(achieved / rate, 3),
        "steady_rate": round(steady, 1), "steady_ratio": round(steady / rate, 3),
        "sent": statuses.get("sent", 0), "statuses": dict(statuses),
        "lost": n - server["unique"], "duplicated": server["duplicates"],
        "server": server, "client_calls": ses.calls, "client_throttled_attempts": ses.throttled,
    }


def _print(r: dict[str, Any]) -> None:
    print(f"\n{r['run']}: {r['recipients']:,} recipients at {r['allowed_rate']:g}/s allowed")
    over = " (above 100 %: the half-second burst the sender starts with, which SES allows)" \
        if r["achieved_ratio"] > 1 else ""
    print(f"  achieved   {r['achieved_rate']:.1f}/s = {r['achieved_ratio'] * 100:.1f} % of the allowed rate "
          f"({r['elapsed_s']} s){over}")
    print(f"  steady     {r['steady_rate']:.1f}/s = {r['steady_ratio'] * 100:.1f} % (accepted after the starting "
          f"burst, over the span the server accepted in)")
    print(f"  sent {r['sent']:,}   lost {r['lost']}   duplicated {r['duplicated']}   statuses {r['statuses']}")
    s = r["server"]
    print(f"  SES calls {s['calls']:,}: {s['injected_throttles']} injected throttles, "
          f"{s['over_rate_throttles']} over-rate throttles, {s['destinations_refused']} destinations refused "
          f"(AccountThrottled), all retried")
    if "memory" in r:
        m = r["memory"]
        print(f"  memory     peak over the first 1,000: {m['peak_first_1000_kib']:,} KiB; over the rest: "
              f"{m['peak_rest_kib']:,} KiB (ratio {m['peak_ratio']}); held at 1,000: {m['current_at_1000_kib']:,} "
              f"KiB, at the end: {m['current_at_end_kib']:,} KiB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--recipients", type=int, default=5000)
    ap.add_argument("--single", type=int, default=2000, help="single sends in the threaded run (0: skip)")
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--rate", type=float, default=200.0, help="MaxSendRate the local SES enforces")
    ap.add_argument("--throttle", type=float, default=0.02, help="share of calls answered Throttling anyway")
    ap.add_argument("--dest-failures", type=float, default=0.01, help="share of bulk destinations refused")
    ap.add_argument("--seed", type=int, default=4)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve(args.serve, args.rate, args.throttle, args.dest_failures, args.seed)
        return

    port = _free_port()
    child = subprocess.Popen([sys.executable, __file__, "--serve", str(port), "--rate", str(args.rate),
                              "--throttle", str(args.throttle), "--dest-failures", str(args.dest_failures),
                              "--seed", str(args.seed)], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        url = f"http://127.0.0.1:{port}"
        results = [run_bulk(url, args.recipients, args.rate)]
        if args.single:
            results.append(run_threads(url, args.single, args.threads, args.rate))
    finally:
        child.terminate()
        child.wait(timeout=10)
    ok = all(min(r["achieved_ratio"], r["steady_ratio"]) >= 0.95 and r["lost"] == 0 and r["duplicated"] == 0
             for r in results)
    mem = results[0].get("memory", {})
    flat = mem.get("peak_ratio") is not None and mem["peak_ratio"] <= 1.5
    if args.json:
        print(json.dumps({"ok": ok and flat, "results": results}, indent=2))
    else:
        for r in results:
            _print(r)
        print(f"\n{'PASS' if ok and flat else 'FAIL'}: achieved >= 95 % of the allowed rate, zero lost, "
              f"zero duplicated{', memory flat' if flat else ', memory NOT flat'}")
    sys.exit(0 if ok and flat else 1)


if __name__ == "__main__":
    main()
