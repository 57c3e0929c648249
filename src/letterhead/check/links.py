"""Links and images that are not https (rule ``https``).

Every URL the rendered sample makes a mail client fetch or a reader follow:
``href``, ``src``, ``srcset``, ``background`` and ``poster`` attributes on any
element, ``url(…)`` in ``style`` attributes and ``<style>`` sheets (and their
``@import``), also inside Outlook's conditional comments (MJML writes a
section's background image there as VML).  An ``http://`` one is reported,
once per URL, at its first line: mail clients mark such links as unsafe and
many refuse to load such images.  ``mailto:``, ``tel:``, ``#anchors`` and
``https://`` are fine; the build's ``url`` rule refuses relative URLs already.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser

from ..authoring.lint import RULES
from ..errors import Location
from .model import CheckFinding, SampleDoc

_URL_ATTRIBUTES = ("href", "src", "background", "poster", "srcset")
_CSS_URL = re.compile(
    r"""@import\s+(?:url\(\s*(["']?)(?P<imported>.*?)\1\s*\)|(["'])(?P<quoted>.*?)\3)"""
    r"""|url\(\s*(["']?)(?P<image>.*?)\5\s*\)""", re.IGNORECASE | re.DOTALL)
_CONDITIONAL = re.compile(r"^\s*\[if[^\]]*\]>(.*?)(?:<!\[endif\])?\s*$", re.IGNORECASE | re.DOTALL)
_IMAGE_TAGS = frozenset({"img", "image", "v:image", "v:fill", "input", "td", "th", "table", "body", "div"})


@dataclass(frozen=True)
class Reference:
    """One URL in the HTML: where, and what fetches or follows it."""

    url: str
    line: int
    kind: str  # "link", "image", "stylesheet", "resource"


class _Collector(HTMLParser):
    def __init__(self, first_line: int = 1) -> None:
        super().__init__(convert_charrefs=True)
        self.refs: list[Reference] = []
        self._offset = first_line - 1
        self._in_style = False

    def _line(self) -> int:
        return self.getpos()[0] + self._offset

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        line = self._line()
        for name, value in attrs:
            if value is None:
                continue
            if name in _URL_ATTRIBUTES:
                kind = _kind(tag, name, attrs)
                urls = [c.strip().split()[0] for c in value.split(",") if c.strip()] if name == "srcset" else [value]
                self.refs.extend(Reference(u.strip(), line, kind) for u in urls)
            elif name == "style":
                self._css(value, line)
        if tag == "style":
            self._in_style = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self._css(data, self._line())

    def handle_comment(self, data: str) -> None:
        m = _CONDITIONAL.match(data)
        if m:  # <!--[if mso]> … <![endif]-->: markup Outlook reads
            inner = _Collector(self._line())
            inner.feed(m.group(1))
            inner.close()
            self.refs.extend(inner.refs)

    def _css(self, css: str, line: int) -> None:
        for m in _CSS_URL.finditer(css):
            at = line + css.count("\n", 0, m.start())
            if m.group("image") is not None:
                self.refs.append(Reference(m.group("image").strip(), at, "image"))
            else:
                self.refs.append(Reference((m.group("imported") or m.group("quoted") or "").strip(), at, "stylesheet"))


def _kind(tag: str, attribute: str, attrs: list[tuple[str, str | None]]) -> str:
    if tag == "link":
        rel = next((v or "" for n, v in attrs if n == "rel"), "")
        return "stylesheet" if "stylesheet" in rel.lower() else "resource"
    if attribute == "href":
        return "link"
    if tag in _IMAGE_TAGS or attribute in ("background", "srcset"):
        return "image"
    return "resource"


def references(html: str) -> list[Reference]:
    """Every URL of ``html``, in document order."""
    collector = _Collector()
    collector.feed(html)
    collector.close()
    return collector.refs


def check_links(doc: SampleDoc) -> list[CheckFinding]:
    """An ``https`` finding per distinct ``http://`` URL of the sample."""
    first: dict[str, Reference] = {}
    count: dict[str, int] = {}
    for ref in references(doc.html):
        if ref.url[:7].lower() == "http://":
            first.setdefault(ref.url, ref)
            count[ref.url] = count.get(ref.url, 0) + 1
    path = doc.html_path or doc.template
    findings: list[CheckFinding] = []
    for url, ref in first.items():
        times = f" ({count[url]} times)" if count[url] > 1 else ""
        findings.append(CheckFinding(
            "https", RULES["https"].default, f"{ref.kind} {_short(url)!r} is not https{times}",
            Location(path, ref.line),
            "use https://: mail clients mark http:// links as unsafe and many do not load http:// images",
            doc.template, doc.sample, "links", {"url": url, "kind": ref.kind, "count": count[url]}))
    return findings


def _short(text: str, limit: int = 100) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"
