"""The static accessibility checks of a rendered sample (no browser).

axe-core, in the browser (:mod:`.browser`), judges the rendered page; these
checks read the HTML once and catch what a designer of emails trips on most:

* ``lang``: ``<html>`` says which language the email is in (screen readers
  pick their voice by it).
* ``img-alt``: every ``<img>`` has an ``alt`` attribute.  ``alt=""`` marks a
  decorative image (a spacer, a divider) and is fine here; ``letterhead
  build`` warns about empty alt text where the designer wrote the image.
* ``layout-table``: a table used for layout says ``role="presentation"``
  (or ``none``), else screen readers announce "table, 3 rows, 2 columns" for
  every block of the email.  A table with ``<th>`` or ``<caption>``, or an
  explicit other role, is a data table and is left alone.  MJML marks its
  own tables; this finds the ones written by hand in ``mj-raw``.
* ``link-text``: a link's text says where it goes.  Screen readers offer a
  list of the links out of context: "click here", "read more" or a URL read
  out character by character say nothing.  The accessible name is the link's
  ``aria-label`` (``aria-labelledby`` is trusted), else its text and the alt
  text of its images, else its ``title``.  A bare URL is accepted when
  another link of the email to the same address says where it goes (the
  "button not working? paste this address" fallback under a button).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from html.parser import HTMLParser

from ..authoring.lint import RULES
from ..errors import Location
from .model import CheckFinding, SampleDoc, Severity

# Link texts that do not say where a link goes, by language (compared after
# case folding, with punctuation and symbols such as arrows removed).
VAGUE_LINK_TEXTS: dict[str, frozenset[str]] = {
    "en": frozenset({
        "click here", "click", "here", "click this link", "read more", "more", "learn more", "more info",
        "more information", "link", "this link", "this", "go", "go here", "details", "continue reading"}),
    "es": frozenset({
        "haz clic aquí", "haga clic aquí", "hacer clic aquí", "clic aquí", "click aquí", "pulsa aquí",
        "pulse aquí", "aquí", "leer más", "lee más", "más", "ver más", "saber más", "más información",
        "enlace", "este enlace", "esto", "este"}),
    "ar": frozenset({
        "اضغط هنا", "انقر هنا", "إضغط هنا", "اضغط", "انقر", "هنا", "اقرأ المزيد", "إقرأ المزيد", "المزيد",
        "للمزيد", "المزيد من المعلومات", "رابط", "الرابط", "هذا الرابط", "هذا", "هذه"}),
    "fr": frozenset({"cliquez ici", "ici", "lire la suite", "en savoir plus", "plus", "lien", "ce lien"}),
    "de": frozenset({"hier klicken", "klicken sie hier", "hier", "mehr", "weiterlesen", "mehr lesen", "link",
                     "dieser link"}),
}
_VAGUE = frozenset().union(*VAGUE_LINK_TEXTS.values())
_BARE_URL = re.compile(r"^(?:https?://|www\.)\S+$", re.IGNORECASE)
_SPACES = re.compile(r"\s+")
_DECORATIVE_ROLES = frozenset({"presentation", "none"})


def normalise_link_text(text: str) -> str:
    """Case-folded, without punctuation and symbols, spaces collapsed."""
    kept = "".join(" " if unicodedata.category(c)[0] in "PSZ" or c.isspace() else c for c in text)
    return _SPACES.sub(" ", kept).strip().casefold()


def is_vague(text: str) -> bool:
    return normalise_link_text(text) in _VAGUE


@dataclass
class _Table:
    line: int
    role: str | None
    data: bool = False


@dataclass
class _Link:
    href: str
    line: int
    aria_label: str
    labelledby: bool
    title: str
    parts: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        """The accessible name, roughly as browsers compute it."""
        if self.aria_label.strip():
            return self.aria_label.strip()
        content = _SPACES.sub(" ", "".join(self.parts)).strip()
        return content or self.title.strip()


class _Walker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.html_seen = False
        self.html_line: int | None = None
        self.lang: str | None = None
        self.images_without_alt: list[tuple[str, int]] = []
        self.layout_tables: list[int] = []
        self.links: list[_Link] = []
        self._tables: list[_Table] = []
        self._open_links: list[_Link] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a: dict[str, str] = {}
        for name, value in attrs:
            a.setdefault(name, value if value is not None else "")
        line = self.getpos()[0]
        if tag == "html" and not self.html_seen:
            self.html_seen, self.html_line, self.lang = True, line, a.get("lang")
        elif tag == "img":
            if "alt" not in a and a.get("role", "").strip().lower() not in _DECORATIVE_ROLES \
                    and a.get("aria-hidden", "").strip().lower() != "true":
                self.images_without_alt.append((a.get("src", ""), line))
            for link in self._open_links:
                link.parts.append(f" {a.get('alt', '')} ")
        elif tag == "table":
            self._tables.append(_Table(line, a.get("role")))
        elif tag in ("th", "caption"):
            if self._tables:
                self._tables[-1].data = True
        elif tag == "a" and "href" in a:
            self._open_links.append(_Link(a["href"].strip(), line, a.get("aria-label", ""),
                                          bool(a.get("aria-labelledby", "").strip()), a.get("title", "")))
        elif tag == "br":
            for link in self._open_links:
                link.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag == "table" and self._tables:
            self._judge_table(self._tables.pop())
        elif tag == "a" and self._open_links:
            self.links.append(self._open_links.pop())

    def handle_data(self, data: str) -> None:
        for link in self._open_links:
            link.parts.append(data)

    def close(self) -> None:
        super().close()
        while self._tables:
            self._judge_table(self._tables.pop())
        while self._open_links:
            self.links.append(self._open_links.pop())
        self.links.sort(key=lambda link: link.line)

    def _judge_table(self, table: _Table) -> None:
        role = (table.role or "").strip().lower()
        if not table.data and not role:
            self.layout_tables.append(table.line)


def static_checks(doc: SampleDoc) -> list[CheckFinding]:
    """``lang``, ``img-alt``, ``layout-table`` and ``link-text`` findings of one sample."""
    walker = _Walker()
    walker.feed(doc.html)
    walker.close()
    path = doc.html_path or doc.template
    findings: list[CheckFinding] = []

    def add(code: str, message: str, line: int | None, hint: str, severity: Severity | None = None,
            **details: object) -> None:
        findings.append(CheckFinding(code, severity or RULES[code].default, message, Location(path, line), hint,
                                     doc.template, doc.sample, "a11y", details))

    lang = (walker.lang or "").strip()
    if not lang or lang.lower() == "und":
        add("lang", "the HTML has no lang attribute" if walker.lang is None else
            f"the HTML's lang attribute is {walker.lang!r}: no language", walker.html_line,
            'write <mjml lang="en"> or set lang in [tool.letterhead]')
    for src, line in walker.images_without_alt:
        add("img-alt", f"image {_short(src)!r} has no alt attribute", line,
            'add alt="…" (alt="" for a purely decorative image)', src=src)
    for line in sorted(walker.layout_tables):
        add("layout-table", 'a layout table without role="presentation": screen readers announce its rows and '
            "columns", line, 'add role="presentation" to the <table> or the <mj-table> (a data table gets <th> or '
            "<caption>)")
    described = {link.href for link in walker.links if _link_problem(link) is None}
    for link in walker.links:
        problem = _link_problem(link)
        if problem is None or (problem == "url" and link.href in described):
            continue
        text = link.name
        if problem == "empty":
            message = f"link to {_short(link.href)!r} has no text a screen reader can read"
            hint = "give it text, an aria-label, or alt text on its image"
        elif problem == "url":
            message = f"link to {_short(link.href)!r} reads as a bare URL"
            hint = "write what the link does as its text (\"Accept the invitation\"); screen readers spell URLs out"
        else:
            message = f"link to {_short(link.href)!r} reads {text!r}: it does not say where it goes"
            hint = ("write what the link does (\"Read the March schedule\"): screen readers list links out of "
                    "context")
        add("link-text", message, link.line, hint, href=link.href, text=text)
    return findings


def _link_problem(link: _Link) -> str | None:
    """``"empty"``, ``"vague"``, ``"url"`` or None (the text says where it goes)."""
    if link.labelledby:
        return None
    name = link.name
    if not name:
        return "empty"
    if not normalise_link_text(name) or is_vague(name):  # only symbols ("→", "»") or "click here"
        return "vague"
    if _BARE_URL.match(name):
        return "url"
    return None


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"
