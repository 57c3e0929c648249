"""One headless Chromium for the whole ``letterhead check`` run: axe-core, text
contrast in light mode, under ``prefers-color-scheme: dark`` and after a
client's forced inversion, and images that vanish on a dark background.

Each sample is loaded at 600 px wide (``set_content``: the page's scripts,
axe-core's 570 kB above all, are evaluated once per page, not per sample); its
images come from the folders ``[tool.letterhead.check] images`` maps their URL
prefixes to, or are fetched with a short timeout
(once per run, kept in memory); an image that cannot be had is an
``image-unchecked`` warning; fonts, style sheets and everything else are
refused, so a check is deterministic and works offline.

Text contrast is judged here, not by axe-core: its ``color-contrast`` rule is
turned off so each text is reported once, with the same thresholds (WCAG AA,
``min_contrast``; two thirds of it for large text) and the same message in
light mode and in both dark modes (axe only knows the page as rendered).
axe runs the WCAG 2.0/2.1 A and AA rules only: its best practices (landmarks,
a level-one heading) do not fit an email, and WCAG 2.2's target-size (24 px
touch targets) alone took a quarter of axe's time per sample.

Playwright's asynchronous API keeps two pages in flight (Chromium renders in
other processes); the public API is synchronous.
"""

from __future__ import annotations

import asyncio
import html as htmlmod
import mimetypes
import os
import re
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import unquote, urlsplit

from ..errors import CheckToolError, Location
from . import darkmode
from .darkmode import ASSETS, RGB, Unreadable
from .model import CheckFinding, SampleDoc

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-extensions", "--mute-audio"]
CANDIDATES = ("chromium", "chromium-browser", "google-chrome")
INSTALL_HINT = ("install Chromium with `make chromium` (apt-get install chromium), or point "
                '[tool.letterhead.check] chromium = "/path/to/chromium" (or LETTERHEAD_CHROMIUM) at one')
WIDTH, HEIGHT = 600, 800
FETCH_TIMEOUT_MS = 3000
LOAD_TIMEOUT_MS = 30000
SAMPLE_TIMEOUT_S = float(os.environ.get("LETTERHEAD_CHECK_SAMPLE_TIMEOUT", "120"))  # a whole sample
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": AXE_TAGS}, "resultTypes": ["violations"],
               "rules": {"color-contrast": {"enabled": False}}}
AXE_RUN = """async (options) => {
  const r = await axe.run(document, options);
  return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
    count: v.nodes.length,
    nodes: v.nodes.slice(0, 5).map(n => ({target: n.target.map(String), html: n.html, summary: n.failureSummary}))}));
}"""
READY = "(axe) => typeof window.letterheadMeasure === 'function' && (!axe || typeof window.axe === 'object')"
INVERTED = "forced inversion, as the Gmail app and Outlook.com do"
PREFERS_DARK = "prefers-color-scheme: dark"


def _executable(value: str) -> str | None:
    if os.sep in value or value.startswith("~"):
        path = Path(value).expanduser()
        return str(path) if path.is_file() and os.access(path, os.X_OK) else None
    return shutil.which(value)


def find_chromium(configured: str | None = None) -> str:
    """The Chromium to run: ``[tool.letterhead.check] chromium``, else
    ``LETTERHEAD_CHROMIUM``, else ``chromium``, ``chromium-browser`` or
    ``google-chrome`` on PATH.  A setting that names no executable is an
    error, not a fallback."""
    for value, origin in ((configured, "[tool.letterhead.check] chromium"),
                          (os.environ.get("LETTERHEAD_CHROMIUM"), "LETTERHEAD_CHROMIUM")):
        if value:
            found = _executable(value)
            if found is None:
                raise CheckToolError(f"Chromium not found: {origin} = {value!r} is not an executable",
                                     hint=INSTALL_HINT)
            return found
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    raise CheckToolError("Chromium not found: no chromium, chromium-browser or google-chrome on PATH (the "
                         "accessibility and dark-mode checks run in it)", hint=INSTALL_HINT)


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _axe_script() -> str:
    try:
        from axe_playwright_python.base import AXE_FILE_PATH
    except ImportError as e:
        raise CheckToolError("axe-core not found: axe-playwright-python is not installed",
                             hint="pip install 'letterhead[check]'") from e
    return Path(AXE_FILE_PATH).read_text(encoding="utf-8")


@dataclass
class _Loading:
    """A page's state: the images its document could not have, its colour scheme."""

    failed: dict[str, str] = field(default_factory=dict)  # image URL → why
    dark: bool = False


class _Images:
    """Image bytes by URL for the whole run: from the mapped folders, or
    fetched once; a failure is remembered too (the reason)."""

    def __init__(self, prefixes: Mapping[str, Path], root: Path | None) -> None:
        base = root or Path.cwd()
        self.prefixes = sorted(((p, folder if folder.is_absolute() else base / folder)
                                for p, folder in prefixes.items()), key=lambda item: -len(item[0]))
        self._tasks: dict[str, asyncio.Task[tuple[bytes, str] | str]] = {}

    async def get(self, route: Any, url: str) -> tuple[bytes, str] | str:
        task = self._tasks.get(url)
        if task is None:
            task = self._tasks[url] = asyncio.ensure_future(self._load(route, url))
        return await task

    def _local(self, url: str) -> tuple[bytes, str] | str | None:
        for prefix, folder in self.prefixes:
            if url.startswith(prefix):
                rest = unquote(urlsplit(url[len(prefix):]).path).lstrip("/")
                path = (folder / rest).resolve()
                if not path.is_relative_to(folder.resolve()) or not path.is_file():
                    return f"no file {folder / rest} (images: {prefix!r} = {str(folder)!r})"
                kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                return path.read_bytes(), kind
        return None

    async def _load(self, route: Any, url: str) -> tuple[bytes, str] | str:
        local = self._local(url)
        if local is not None:
            return local
        if not url.startswith(("http://", "https://")):
            return "not an http(s) URL"
        if _cloud_metadata(url):
            return "a cloud metadata address, never fetched (a template is untrusted input)"
        try:
            # no redirects: one could lead to the metadata address where CI holds credentials
            response = await route.fetch(timeout=FETCH_TIMEOUT_MS, max_redirects=0)
            if 300 <= response.status < 400:
                return (f"HTTP {response.status} redirect, not followed (map the image to a file with "
                        "[tool.letterhead.check] images)")
            if response.status >= 400:
                return f"HTTP {response.status}"
            body = await response.body()
            return body, response.headers.get("content-type", "application/octet-stream")
        except Exception as e:  # Playwright's errors: DNS, refused, timeout
            return _first_line(e)


def _cloud_metadata(url: str) -> bool:
    """A link-local address (169.254.169.254: the instance metadata service
    of AWS and others) or a metadata host name."""
    import ipaddress

    host = (urlsplit(url).hostname or "").strip("[]").lower()
    if host in ("metadata.google.internal", "metadata"):
        return True
    try:
        return ipaddress.ip_address(host).is_link_local
    except ValueError:
        return False


_HEAD_RE = re.compile(r"<head\b[^>]*>|<html\b[^>]*>", re.IGNORECASE)
NO_SCRIPTS = ('<meta http-equiv="Content-Security-Policy" '
              'content="script-src \'none\'; object-src \'none\'; base-uri \'none\'">')


def without_scripts(html: str) -> str:
    """``html`` whose own scripts cannot run: a template is untrusted input
    and the check runs where CI holds credentials (mail clients strip scripts
    anyway).  A Content-Security-Policy first in the head blocks ``<script>``,
    inline handlers and ``javascript:`` URLs; letterhead's measures and
    axe-core run through the DevTools protocol, which CSP does not govern
    (turning JavaScript off instead would stop axe-core's own timers)."""
    m = _HEAD_RE.search(html)
    if m is None:
        return NO_SCRIPTS + html
    if m.group(0).lower().startswith("<html"):
        return f"{html[:m.end()]}<head>{NO_SCRIPTS}</head>{html[m.end():]}"
    return html[:m.end()] + NO_SCRIPTS + html[m.end():]


class BrowserSession:
    """``with BrowserSession(...) as session: session.check_all(docs)``: one
    Chromium for every sample (see the module docstring)."""

    def __init__(self, *, chromium: str | None = None, images: Mapping[str, Path] = {},
                 min_contrast: float = 4.5, root: Path | None = None, pages: int = 2) -> None:
        self.chromium = chromium
        self.min_contrast = min_contrast
        self.root = root
        self.pages = max(1, pages)
        self._images = _Images(images, root)
        self._measure = (ASSETS / "measure.js").read_text(encoding="utf-8")
        self._axe: str | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._playwright: Any = None
        self._browser: Any = None

    def __enter__(self) -> BrowserSession:
        executable = find_chromium(self.chromium)
        try:
            import playwright.async_api  # noqa: F401
        except ImportError as e:
            raise CheckToolError("Playwright not found: the browser checks drive Chromium with it",
                                 hint="pip install 'letterhead[check]'") from e
        self._loop = asyncio.new_event_loop()
        try:
            self._loop.run_until_complete(self._start(executable))
        except BaseException:
            self._loop.close()
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._loop is not None:
            try:
                self._loop.run_until_complete(self._stop())
            finally:
                self._loop.close()
                self._loop = None

    async def _start(self, executable: str) -> None:
        from playwright.async_api import Error, async_playwright

        self._playwright = await async_playwright().start()
        try:
            self._browser = await self._playwright.chromium.launch(executable_path=executable, args=ARGS,
                                                                   headless=True)
        except Error as e:
            await self._playwright.stop()
            raise CheckToolError(f"Chromium ({executable}) did not start: {_first_line(e)}", hint=INSTALL_HINT) from e

    async def _stop(self) -> None:
        if self._browser is not None:
            await self._browser.close()
        if self._playwright is not None:
            await self._playwright.stop()

    def check_all(self, docs: Sequence[SampleDoc], *, axe: bool = True, dark: bool = True,
                  progress: Callable[[SampleDoc], None] | None = None) -> dict[str, list[CheckFinding]]:
        """Every sample's findings, by ``doc.key`` (in the order of ``docs``)."""
        if self._loop is None:
            raise RuntimeError("BrowserSession.check_all outside its `with` block")
        if not docs:
            return {}
        if axe and self._axe is None:
            self._axe = _axe_script()
        results = self._loop.run_until_complete(self._check_all(docs, axe, dark, progress))
        return {doc.key: results[doc.key] for doc in docs}

    async def _check_all(self, docs: Sequence[SampleDoc], axe: bool, dark: bool,
                         progress: Callable[[SampleDoc], None] | None) -> dict[str, list[CheckFinding]]:
        from playwright.async_api import Error

        context = await self._browser.new_context(viewport={"width": WIDTH, "height": HEIGHT}, color_scheme="light",
                                                  service_workers="block")
        scripts = [self._measure] + ([self._axe] if axe and self._axe else [])
        queue = list(docs)
        results: dict[str, list[CheckFinding]] = {}

        async def worker() -> None:
            page = await context.new_page()
            loading = _Loading()

            async def route(r: Any) -> None:
                await self._route(r, loading)

            await page.route("**/*", route)
            while queue:
                doc = queue.pop(0)
                try:
                    # evaluate() has no time-out of its own: a measure that never answers must not hang CI
                    results[doc.key] = await asyncio.wait_for(
                        self._check(page, loading, doc, scripts, axe, dark), SAMPLE_TIMEOUT_S)
                except TimeoutError as e:
                    raise CheckToolError(f"Chromium did not finish {doc.html_path or doc.key} within "
                                         f"{SAMPLE_TIMEOUT_S:.0f} s",
                                         hint="run again; if it persists, report it with that sample") from e
                except Error as e:  # a crash, a time-out: the tool failed, not the template
                    raise CheckToolError(f"Chromium failed on {doc.html_path or doc.key}: {_first_line(e)}",
                                         hint="run again; if it persists, report it with that sample") from e
                if progress:
                    progress(doc)
            await page.close()

        try:
            await asyncio.gather(*(worker() for _ in range(min(self.pages, len(docs)))))
        finally:
            await context.close()
        return results

    async def _route(self, route: Any, loading: _Loading) -> None:
        request = route.request
        if request.resource_type != "image":
            await route.abort()  # fonts, style sheets, navigations: offline and deterministic
            return
        got = await self._images.get(route, request.url)
        if isinstance(got, str):
            loading.failed.setdefault(request.url, got)
            await route.abort()
        else:
            body, kind = got
            await route.fulfill(status=200, body=body, headers={
                "content-type": kind, "access-control-allow-origin": "*", "cache-control": "max-age=3600"})

    async def _check(self, page: Any, loading: _Loading, doc: SampleDoc, scripts: list[str], axe: bool,
                     dark: bool) -> list[CheckFinding]:
        loading.failed = {}
        if loading.dark:
            await page.emulate_media(color_scheme="light")
            loading.dark = False
        # set_content rewrites the document of the same window: the scripts,
        # axe-core's 570 kB above all, are evaluated once per page
        await page.set_content(without_scripts(doc.html), wait_until="load", timeout=LOAD_TIMEOUT_MS)
        if not await page.evaluate(READY, axe):
            for script in scripts:
                await page.evaluate(script)
        light = await page.evaluate("window.letterheadMeasure()")
        violations = await page.evaluate(AXE_RUN, AXE_OPTIONS) if axe else []
        prefers: dict[str, Any] | None = None
        if dark and darkmode.has_color_scheme_query(doc.html):
            await page.emulate_media(color_scheme="dark")
            loading.dark = True
            prefers = await page.evaluate("window.letterheadMeasure(true)")
        judge = _Judge(doc, self.min_contrast)
        findings = [judge.axe(v) for v in violations]
        findings += judge.contrast(light, prefers if dark else None, dark)
        if dark:
            findings += judge.logos(light, prefers)
        findings += judge.unchecked(loading.failed, light, prefers)
        return findings


def _line_of(html: str, text: str) -> int | None:
    """The line of the rendered HTML where ``text`` first shows, if it can be found."""
    words = text.split()[:6]
    while words:
        for probe in (" ".join(words), htmlmod.escape(" ".join(words), quote=False)):
            at = html.find(probe)
            if at >= 0:
                return html.count("\n", 0, at) + 1
        words = words[:-1]
        if len(" ".join(words)) < 8:
            break
    return None


def _quote(text: str, limit: int = 60) -> str:
    return '"' + (text if len(text) <= limit else text[:limit - 1] + "…") + '"'


class _Judge:
    """Findings for one sample from what the browser measured."""

    def __init__(self, doc: SampleDoc, min_contrast: float) -> None:
        self.doc = doc
        self.min_contrast = min_contrast
        self.path = doc.html_path or doc.template

    def finding(self, code: str, severity: str, message: str, *, check: str, hint: str = "",
                line: int | None = None, details: Mapping[str, Any] | None = None) -> CheckFinding:
        return CheckFinding(code, "error" if severity == "error" else "warning", message, Location(self.path, line),
                            hint, self.doc.template, self.doc.sample, check, dict(details or {}))

    def axe(self, v: Mapping[str, Any]) -> CheckFinding:
        impact = str(v.get("impact") or "moderate")
        nodes = list(v.get("nodes") or [])
        first = nodes[0] if nodes else {}
        where = " ".join(first.get("target") or []) or "the document"
        snippet = " ".join(str(first.get("html", "")).split())
        snippet = snippet if len(snippet) <= 100 else snippet[:99] + "…"
        count = int(v.get("count") or len(nodes))
        more = f" (and {count - 1} more)" if count > 1 else ""
        summary = " ".join(str(first.get("summary") or "").split())
        line = _line_of(self.doc.html, snippet[:40]) if snippet else None
        return self.finding(
            "axe", "error" if impact in ("serious", "critical") else "warning",
            f"axe {v['id']} ({impact}): {v.get('help', '')}: {where} {snippet}{more}", check="axe",
            hint=summary or f"see {v.get('helpUrl', '')}", line=line,
            details={"rule": v["id"], "impact": impact, "helpUrl": v.get("helpUrl", ""), "count": count,
                     "nodes": [{"target": n.get("target", []), "html": n.get("html", "")} for n in nodes]})

    def contrast(self, light: Mapping[str, Any], prefers: Mapping[str, Any] | None,
                 dark: bool) -> list[CheckFinding]:
        samples = darkmode.text_samples(light)
        canvas = darkmode.canvas_of(light, dark=False)
        failing = darkmode.unreadable(samples, self.min_contrast, canvas=canvas)
        # a text over a background image is judged against the image's mean
        # colour only for what dark mode makes worse, not on its own
        findings = self._texts([u for u in failing if u.sample.backdrop is None], None, {})
        if not dark:
            return findings
        failed = {u.sample.el for u in failing}
        shown = {s.el: s for s in samples}
        inverted = [u for u in darkmode.unreadable(samples, self.min_contrast, canvas=canvas, inverted=True)
                    if u.sample.el not in failed]
        findings += self._texts(inverted, INVERTED, shown, canvas)
        if prefers is not None:
            dark_samples = darkmode.text_samples(prefers)
            worse = [u for u in darkmode.unreadable(dark_samples, self.min_contrast,
                                                     canvas=darkmode.canvas_of(prefers, dark=True))
                     if u.sample.el not in failed]
            findings += self._texts(worse, PREFERS_DARK, shown, canvas)
        return findings

    def _texts(self, failing: list[Unreadable], mode: str | None, light: Mapping[int, darkmode.TextSample],
               canvas: RGB = darkmode.WHITE) -> list[CheckFinding]:
        groups: dict[tuple[str, str, float], list[Unreadable]] = {}
        for u in failing:
            groups.setdefault((u.fg.hex, u.bg.hex, u.required), []).append(u)
        findings = []
        for (fg, bg, required), group in groups.items():
            first = group[0]
            texts = [u.sample.text for u in group]
            more = f" and {len(group) - 1} more" if len(group) > 1 else ""
            details: dict[str, Any] = {"mode": mode or "light", "color": fg, "background": bg,
                                       "ratio": round(first.ratio, 2), "required": required,
                                       "texts": texts[:5], "count": len(group)}
            line = _line_of(self.doc.html, first.sample.text)
            if mode is None:
                findings.append(self.finding(
                    "contrast", "error", f"text contrast {first.ratio:.2f}:1 is below {required:g}:1 ({fg} on {bg}): "
                    f"{_quote(first.sample.text)}{more}", check="a11y", line=line, details=details,
                    hint="darken the text or lighten its background (WCAG AA: 4.5:1, 3:1 from 24 px or 18.66 px bold)"))
                continue
            before = light.get(first.sample.el)
            if before is not None:
                was = darkmode.flatten(list(before.layers), canvas)
                details["light"] = {"color": darkmode.composite(before.color, was).hex if before.color.a < 1
                                    else before.color.hex, "background": was.hex}
            hint = ("the client keeps text lighter than mid-grey and darkens light backgrounds (images too stay "
                    "as they are): use a text colour clearly darker or lighter than mid-grey, or a darker "
                    "background" if mode == INVERTED else
                    "fix the colours of your @media (prefers-color-scheme: dark) rules")
            findings.append(self.finding(
                "dark-contrast", "error", f"in dark mode ({mode}) text contrast {first.ratio:.2f}:1 is below "
                f"{required:g}:1 ({fg} on {bg}): {_quote(first.sample.text)}{more}", check="dark", line=line,
                hint=hint, details=details))
        return findings

    def logos(self, light: Mapping[str, Any], prefers: Mapping[str, Any] | None) -> list[CheckFinding]:
        renderings = [(INVERTED, darkmode.image_samples(light), darkmode.canvas_of(light, dark=False), True)]
        if prefers is not None:
            renderings.append((PREFERS_DARK, darkmode.image_samples(prefers), darkmode.canvas_of(prefers, dark=True),
                               False))
        findings, seen = [], set()
        for mode, images, canvas, inverted in renderings:
            for image in images:
                background = darkmode.behind(image, canvas, inverted=inverted)
                share = darkmode.vanishing_share(image, background)
                if share < darkmode.VANISH_SHARE or (mode, image.src) in seen:
                    continue
                seen.add((mode, image.src))
                alt = f" (alt {_quote(image.alt)})" if image.alt else ""
                findings.append(self.finding(
                    "dark-logo", "error", f"image {image.src}{alt} vanishes in dark mode ({mode}): "
                    f"{share:.0%} of its visible pixels are within 1.5:1 of the background {background.hex}",
                    check="dark", line=_line_of(self.doc.html, image.src),
                    hint="give the image an opaque background (or a light outline) of its own: dark-mode "
                         "clients recolour the page, not the image; Apple Mail also takes a "
                         '<picture><source media="(prefers-color-scheme: dark)"> light version',
                    details={"mode": mode, "src": image.src, "alt": image.alt, "background": background.hex,
                             "share": round(share, 3)}))
        return findings

    def unchecked(self, failed: Mapping[str, str], light: Mapping[str, Any],
                  prefers: Mapping[str, Any] | None) -> list[CheckFinding]:
        reasons = dict(failed)
        for measure in (light, prefers or {}):
            for image in measure.get("images", ()):
                src = str(image.get("src", ""))
                if not image.get("loaded") and src.startswith(("http://", "https://")):
                    reasons.setdefault(src, "it did not load")
        return [self.finding(
            "image-unchecked", "warning", f"image {url} could not be loaded ({why}): whether it shows in dark "
            "mode is unchecked", check="dark", line=_line_of(self.doc.html, url),
            hint=f'map its URL prefix to a folder of the project: [tool.letterhead.check.images] '
                 f'"{url.rsplit("/", 1)[0]}/" = "path/to/the/images/"',
            details={"src": url, "reason": why}) for url, why in reasons.items()]
