"""Headless Chromium (Debian's package) driven by Playwright, for tests.

Playwright's own browser download does not work offline, so tests launch
``/usr/bin/chromium``; ``make test`` installs it.  A missing browser is a
failure, never a skip.  Remote requests (logo images...) are answered with a
local 1×1 PNG so pages render the same offline.
"""

from __future__ import annotations

import base64
import os
import tempfile
from contextlib import contextmanager
from typing import Iterator

CHROMIUM = os.environ.get("LETTERHEAD_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


@contextmanager
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        raise RuntimeError(f"{CHROMIUM} not found: run `make chromium` (apt-get install chromium)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


def stub_network(page) -> None:  # type: ignore[no-untyped-def]
    def handle(route):  # type: ignore[no-untyped-def]
        url = route.request.url
        if url.startswith(("http://127.0.0.1", "http://localhost", "file:", "data:")):
            return route.continue_()
        if route.request.resource_type == "image":
            return route.fulfill(status=200, content_type="image/png", body=PNG)
        return route.fulfill(status=204, body=b"")

    page.route("**/*", handle)


def open_html(b, html: str, width: int, height: int = 900):  # type: ignore[no-untyped-def]
    page = b.new_page(viewport={"width": width, "height": height})
    stub_network(page)
    fd, path = tempfile.mkstemp(suffix=".html")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(html)
    page.goto(f"file://{path}")
    page.wait_for_load_state("load")
    return page
