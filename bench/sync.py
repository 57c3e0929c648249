#!/usr/bin/env python3
"""Benchmark ``letterhead sync`` against a local SES that throttles like SES.

A child process runs moto's server behind a small HTTP proxy that enforces a
token bucket (``--limit`` calls per second, burst ``--burst``) over every SES
call and answers ``400 Throttling`` above it, as SES does.  The bench then
syncs ``--templates`` templates, in stable and in versioned mode: a full sync
(everything created) and a no-op sync (nothing changed), and prints per run
the calls the proxy saw (throttled ones included), calls per template, wall
time, and the rate the proxy accepted against the limit.

Targets (issue #3): no throttling error reaches the user; the achieved rate
is within 10 % of the limit; a no-op versioned sync makes at most 3 calls.

    python bench/sync.py                      # 200 templates at 1 call/s: ~10 minutes
    python bench/sync.py --limit 20           # same shape, ~30 s
    python bench/sync.py --templates 20 --limit 50 --json
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

THROTTLE_BODY = (
    '<ErrorResponse xmlns="http://ses.amazonaws.com/doc/2010-12-01/"><Error><Type>Sender</Type>'
    "<Code>Throttling</Code><Message>Maximum sending rate exceeded.</Message></Error>"
    "<RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>"
).encode()


# -- the throttling proxy (runs in the child process) ------------------------------------


class Bucket:
    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self.tokens = burst
        self.last = time.monotonic()
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.tokens = self.burst
            self.last = time.monotonic()
            self.accepted: list[float] = []
            self.arrivals: list[float] = []
            self.throttled = 0
            self.by_action: dict[str, int] = {}

    def take(self, action: str) -> bool:
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
            self.last = now
            self.by_action[action] = self.by_action.get(action, 0) + 1
            self.arrivals.append(now)
            if self.tokens >= 1.0:
                self.tokens -= 1.0
                self.accepted.append(now)
                return True
            self.throttled += 1
            return False

    def stats(self) -> dict:
        with self.lock:
            a = self.accepted
            span = a[-1] - a[0] if len(a) > 1 else 0.0
            gaps = [y - x for x, y in zip(self.arrivals, self.arrivals[1:])]
            return {"calls": sum(self.by_action.values()), "accepted": len(a), "throttled": self.throttled,
                    "by_action": dict(self.by_action),
                    "achieved_rate": (len(a) - 1) / span if span > 0 else None,
                    "min_gap_s": min(gaps) if gaps else None}


def serve(limit: float, burst: float) -> None:
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    mhost, mport = moto.get_host_and_port()
    bucket = Bucket(limit, burst)

    class Proxy(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a: object) -> None:
            pass

        def _reply(self, status: int, body: bytes, ctype: str = "text/xml") -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            if self.path == "/__stats":
                self._reply(200, json.dumps(bucket.stats()).encode(), "application/json")
            else:
                self._reply(404, b"")

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path == "/__mark":  # a new run: rates count from here
                with bucket.lock:
                    bucket.accepted = []
                    bucket.arrivals = []
                self._reply(200, b"{}", "application/json")
                return
            if self.path == "/__reset":
                bucket.reset()
                conn = http.client.HTTPConnection(mhost, mport)
                conn.request("POST", "/moto-api/reset")
                conn.getresponse().read()
                self._reply(200, b"{}", "application/json")
                return
            action = parse_qs(body.decode("utf-8", "replace")).get("Action", ["?"])[0]
            if not bucket.take(action):
                self._reply(400, THROTTLE_BODY)
                return
            conn = http.client.HTTPConnection(mhost, mport, timeout=60)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
            conn.request("POST", self.path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            self._reply(resp.status, data, resp.getheader("Content-Type") or "text/xml")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    print(server.server_address[1], flush=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sys.stdin.read()  # until the parent closes our stdin
    server.shutdown()
    moto.stop()


# -- the bench (parent process) -------------------------------------------------------------


def make_project(root: Path, n: int) -> None:
    from letterhead.authoring.payload import Manifest, ManifestEntry, SesTemplate

    ses = root / "ses_templates"
    ses.mkdir(parents=True)
    (root / "pyproject.toml").write_text('[tool.letterhead.env.bench]\nprefix = "bench-"\n', encoding="utf-8")
    entries = {}
    for i in range(n):
        name = f"email_{i:03d}"
        body = "".join(f"<p>Paragraph {j} of {name}, hello {{{{{{name}}}}}}.</p>\n" for j in range(20))
        t = SesTemplate(name, f"Subject {i} for {{{{{{name}}}}}}", f"<html><body>{body}</body></html>",
                        f"Hello {{{{{{name}}}}}}, this is {name}.")
        (ses / f"{name}.json").write_text(t.dumps(), encoding="utf-8")
        entries[name] = ManifestEntry(name, t.content_hash, "bench", size_bytes=t.size_bytes)
    (ses / "manifest.json").write_text(Manifest(entries).dumps(), encoding="utf-8")


def _http(port: int, method: str, path: str) -> dict:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request(method, path, body=b"" if method == "POST" else None)
    return json.loads(conn.getresponse().read() or b"{}")


def run_once(root: Path, port: int, rate: float, versioned: bool, max_attempts: int) -> dict:
    from letterhead.config import load_config
    from letterhead.errors import LetterheadError
    from letterhead.deploy.naming import load_settings
    from letterhead.deploy.sync import sync

    config = load_config(root)
    settings = load_settings(config, "bench", versioned=versioned, rate=rate, max_attempts=max_attempts,
                             region="us-east-1", endpoint_url=f"http://127.0.0.1:{port}")
    _http(port, "POST", "/__mark")
    before = _http(port, "GET", "/__stats")
    t0 = time.monotonic()
    error = None
    result = None
    try:
        result = sync(config, settings)
    except LetterheadError as exc:  # a throttling error reaching the user lands here
        error = f"{type(exc).__name__}: {exc.message}"
    wall = time.monotonic() - t0
    after = _http(port, "GET", "/__stats")
    calls = after["calls"] - before["calls"]
    by_action = {k: v - before["by_action"].get(k, 0) for k, v in after["by_action"].items()
                 if v - before["by_action"].get(k, 0)}
    return {
        "calls": calls,
        "throttled": after["throttled"] - before["throttled"],
        "by_action": by_action,
        "client_calls": result.total_calls if result else None,
        "writes": result.writes if result else None,
        "wall_s": round(wall, 2),
        # The pace the endpoint accepted, first to last accepted call of this run.
        "achieved_rate": after["achieved_rate"] if after["accepted"] - before["accepted"] > 1 else None,
        "min_gap_s": after["min_gap_s"],
        "error": error,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--templates", type=int, default=200)
    ap.add_argument("--limit", type=float, default=1.0, help="calls/s the endpoint allows (SES: 1)")
    ap.add_argument("--burst", type=float, default=1.0, help="token-bucket burst of the endpoint")
    ap.add_argument("--rate", type=float, default=None, help="sync's own pacing (default: --limit)")
    ap.add_argument("--max-attempts", type=int, default=6)
    ap.add_argument("--modes", default="stable,versioned")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.serve:
        serve(args.limit, args.burst)
        return 0
    rate = args.rate or args.limit
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    os.environ.pop("AWS_ENDPOINT_URL_SES", None)
    os.environ.pop("AWS_ENDPOINT_URL", None)

    child = subprocess.Popen([sys.executable, __file__, "--serve", "--limit", str(args.limit),
                              "--burst", str(args.burst)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        port = int(child.stdout.readline())
        rows = []
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            make_project(root, args.templates)
            for mode in args.modes.split(","):
                _http(port, "POST", "/__reset")
                time.sleep(1.0 / args.limit)  # a fresh bucket for each mode
                for run in ("full", "no-op"):
                    r = run_once(root, port, rate, mode == "versioned", args.max_attempts)
                    r.update(mode=mode, run=run, templates=args.templates)
                    rows.append(r)
                    if not args.json:
                        _print_row(r, args.limit)
    finally:
        child.stdin.close()
        child.wait(timeout=30)

    ok_errors = all(r["error"] is None for r in rows)
    paced = [r for r in rows if r["achieved_rate"] is not None and r["calls"] >= 20]
    ok_rate = all(abs(r["achieved_rate"] - args.limit) <= 0.10 * args.limit for r in paced)
    noop_v = [r for r in rows if r["mode"] == "versioned" and r["run"] == "no-op"]
    ok_noop = all(r["calls"] <= 3 for r in noop_v)
    targets = {"no_throttling_error_reached_user": ok_errors,
               "achieved_rate_within_10pct": ok_rate if paced else None,
               "noop_versioned_at_most_3_calls": ok_noop if noop_v else None}
    if args.json:
        print(json.dumps({"limit": args.limit, "rate": rate, "burst": args.burst, "runs": rows,
                          "targets": targets}, indent=2))
    else:
        print()
        for k, v in targets.items():
            print(f"  {'PASS' if v else ('n/a ' if v is None else 'FAIL')}  {k.replace('_', ' ')}")
        print("  (calls are what the endpoint saw, throttled attempts included; moto ignores "
              "ListTemplates paging, so a list is one call here and ceil(n/100) against SES)")
    return 0 if all(v is not False for v in targets.values()) else 1


def _print_row(r: dict, limit: float) -> None:
    rate = r["achieved_rate"]
    rate_s = f"{rate:6.2f}/s ({100 * rate / limit:5.1f}% of {limit:g}/s)" if rate else "   n/a"
    print(f"{r['mode']:<9} {r['run']:<5}  {r['templates']} templates  {r['calls']:4d} calls "
          f"({r['calls'] / r['templates']:.2f}/template, {r['throttled']} throttled)  "
          f"{r['wall_s']:7.1f} s  {rate_s}  {r['error'] or 'ok'}", flush=True)
    gap = f"{r['min_gap_s'] * 1000:.0f} ms" if r["min_gap_s"] is not None else "n/a"
    print(f"          calls by action: {r['by_action']}; closest two calls the endpoint saw: {gap}",
          flush=True)


if __name__ == "__main__":
    sys.exit(main())
