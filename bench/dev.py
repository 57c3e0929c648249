#!/usr/bin/env python3
"""Benchmark ``letterhead dev``: from a file save to the rebuilt page being served.

Builds a throwaway project of ``--templates`` templates (copies of Calndr
Club's three, so layouts, partials and samples are real), starts the dev
server as ``letterhead dev`` does (file watcher, SSE, local SES), and then
``--saves`` times edits one template's ``template.mjml`` with a new marker:

* **served**: save → the server's ``change`` event arrived → ``GET /t/<name>``
  returned a page holding the marker.  The issue's target: median ≤ 200 ms.
* **compile**: the part of that spent recompiling (the event reports it).
* **browser** (with ``--browser``, the default when Chromium is present): save
  → the open page in headless Chromium shows the marker inside its frame,
  i.e. the whole loop a designer sees.

It also times a save of the shared layout, which rebuilds every template.

    python bench/dev.py                 # 50 templates, 30 saves
    python bench/dev.py --saves 100 --json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

TARGET_MS = 200.0


def make_project(dest: Path, count: int) -> list[str]:
    src = ROOT / "templates_src"
    (dest / "templates_src").mkdir(parents=True)
    shutil.copy(ROOT / "pyproject.toml", dest / "pyproject.toml")
    for shared in ("brand.toml", "_layouts", "_partials"):
        p = src / shared
        if p.is_dir():
            shutil.copytree(p, dest / "templates_src" / shared)
        else:
            shutil.copy(p, dest / "templates_src" / shared)
    originals = sorted(p.name for p in src.iterdir() if p.is_dir() and not p.name.startswith(("_", ".")))
    names = []
    for i in range(count):
        name = f"{originals[i % len(originals)]}_{i:02d}"
        shutil.copytree(src / originals[i % len(originals)], dest / "templates_src" / name)
        names.append(name)
    return names


class Events:
    """Reads the server's SSE stream in a thread; ``wait(name)`` blocks for
    the next ``change`` event naming ``name``."""

    def __init__(self, url: str) -> None:
        import httpx

        self.cond = threading.Condition()
        self.events: list[tuple[float, dict]] = []
        self.ready = threading.Event()

        def run() -> None:
            with httpx.stream("GET", url + "/events", timeout=None) as stream:
                for line in stream.iter_lines():
                    if line.startswith("event: hello"):
                        self.ready.set()
                    if line.startswith("data:") and '"names"' in line:
                        with self.cond:
                            self.events.append((time.perf_counter(), json.loads(line[5:])))
                            self.cond.notify_all()

        threading.Thread(target=run, daemon=True).start()
        self.ready.wait(10)

    def wait(self, since: int, name: str | None, timeout: float = 10) -> tuple[float, dict]:
        deadline = time.perf_counter() + timeout
        with self.cond:
            while True:
                for t, e in self.events[since:]:
                    if name is None and e["names"] is None or (e["names"] and name in e["names"]):
                        return t, e
                left = deadline - time.perf_counter()
                if left <= 0:
                    raise TimeoutError(f"no change event for {name}")
                self.cond.wait(left)


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--templates", type=int, default=50)
    ap.add_argument("--saves", type=int, default=30)
    ap.add_argument("--pause", type=float, default=0.15, help="seconds between saves")
    ap.add_argument("--browser", dest="browser", action="store_true", default=None)
    ap.add_argument("--no-browser", dest="browser", action="store_false")
    ap.add_argument("--no-ses", action="store_true", help="without the local SES")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    import httpx

    from letterhead.config import load_config
    from letterhead.dev.devserver import DevServer

    use_browser = args.browser if args.browser is not None else os.path.exists("/usr/bin/chromium")
    tmp = Path(tempfile.mkdtemp(prefix="letterhead-bench-dev-"))
    try:
        names = make_project(tmp, args.templates)
        target = next(n for n in names if n.startswith("coparent_invitation"))
        mjml = tmp / "templates_src" / target / "template.mjml"
        original = mjml.read_text(encoding="utf-8")
        config = load_config(tmp, environ={})
        t0 = time.perf_counter()
        server = DevServer(config, port=0, ses_port=0, ses=not args.no_ses, senders=["calndr.club"])
        with server.serve() as url:
            startup = time.perf_counter() - t0
            assert server.wait_watching(), "watcher did not start"
            events = Events(url)
            client = httpx.Client(base_url=url, timeout=10)
            served: list[float] = []
            evented: list[float] = []
            compiled: list[float] = []
            for i in range(args.saves):
                marker = f"bench-marker-{i}-{time.time_ns()}"
                text = original.replace("{% block content %}", "{% block content %}\n    <mj-section><mj-column>"
                                        f"<mj-text>{marker}</mj-text></mj-column></mj-section>", 1)
                since = len(events.events)
                start = time.perf_counter()
                mjml.write_text(text, encoding="utf-8")
                t_event, event = events.wait(since, target)
                page = client.get(f"/t/{target}")
                end = time.perf_counter()
                if marker not in page.text:
                    raise SystemExit(f"save {i}: the served page does not show the edit")
                served.append((end - start) * 1000)
                evented.append((t_event - start) * 1000)
                compiled.append(float(event.get("ms", 0)))
                time.sleep(args.pause)

            browser_ms: list[float] = []
            if use_browser:
                from tests.browser import browser

                with browser() as b:
                    page = b.new_page(viewport={"width": 1440, "height": 900})
                    page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(url)
                               else r.fulfill(status=204, body=b""))
                    page.goto(f"{url}/t/{target}")
                    page.wait_for_load_state("load")
                    page.wait_for_function("() => document.getElementById('live-label').textContent === 'live'")
                    for i in range(min(args.saves, 20)):
                        marker = f"browser-marker-{i}-{time.time_ns()}"
                        text = original.replace("{% block content %}", "{% block content %}\n    <mj-section>"
                                                f"<mj-column><mj-text>{marker}</mj-text></mj-column></mj-section>", 1)
                        start = time.perf_counter()
                        mjml.write_text(text, encoding="utf-8")
                        page.wait_for_function(
                            "m => { const f = document.getElementById('frame-desktop');"
                            " return f && f.contentDocument && f.contentDocument.body &&"
                            " f.contentDocument.body.innerText.includes(m); }",
                            arg=marker, polling=5, timeout=10_000)
                        browser_ms.append((time.perf_counter() - start) * 1000)
                        time.sleep(args.pause)

            # a shared file: every template rebuilds
            layout = tmp / "templates_src" / "_layouts" / "base.mjml"
            since = len(events.events)
            start = time.perf_counter()
            layout.write_text(layout.read_text(encoding="utf-8") + "\n", encoding="utf-8")
            t_event, event = events.wait(since, None, timeout=60)
            client.get(f"/t/{target}")
            full_ms = (time.perf_counter() - start) * 1000
            full_compile = float(event.get("ms", 0))
            client.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    result = {
        "templates": args.templates,
        "saves": args.saves,
        "startup_s": round(startup, 2),
        "served_ms": {"median": round(statistics.median(served), 1), "p90": round(pct(served, 0.9), 1),
                      "max": round(max(served), 1)},
        "event_ms": {"median": round(statistics.median(evented), 1)},
        "compile_ms": {"median": round(statistics.median(compiled), 1)},
        "browser_ms": ({"median": round(statistics.median(browser_ms), 1), "p90": round(pct(browser_ms, 0.9), 1),
                        "max": round(max(browser_ms), 1)} if browser_ms else None),
        "shared_file_all_templates_ms": {"served": round(full_ms, 1), "compile": round(full_compile, 1)},
        "target_ms": TARGET_MS,
        "ok": statistics.median(served) <= TARGET_MS,
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        s = result["served_ms"]
        print(f"letterhead dev, {args.templates} templates, {args.saves} saves of one template "
              f"(startup {result['startup_s']} s)")
        print(f"  save → rebuilt page served   median {s['median']:.0f} ms   p90 {s['p90']:.0f} ms   "
              f"max {s['max']:.0f} ms   (target ≤ {TARGET_MS:.0f} ms median: {'ok' if result['ok'] else 'MISSED'})")
        print(f"    of which: save → change event {result['event_ms']['median']:.0f} ms, "
              f"recompile {result['compile_ms']['median']:.0f} ms")
        if result["browser_ms"]:
            b = result["browser_ms"]
            print(f"  save → open page shows it     median {b['median']:.0f} ms   p90 {b['p90']:.0f} ms   "
                  f"max {b['max']:.0f} ms   (headless Chromium)")
        f = result["shared_file_all_templates_ms"]
        print(f"  layout save → all {args.templates} rebuilt   {f['served']:.0f} ms (compile {f['compile']:.0f} ms)")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
