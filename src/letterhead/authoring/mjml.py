"""MJML → HTML with MRML (mjml-python), plus the structure knowledge MRML lacks.

MRML is fast (~0.15 ms a template) but validates nothing and reports errors
without a position.  This module therefore scans the MJML itself first:

* to give every MJML mistake a line number (unknown ``<mj-textt>``, unclosed
  or mismatched tags) before MRML sees it;
* to tell, for any offset, what kind of place it is (an MJML attribute, HTML
  text inside ``mj-text``, an HTML attribute, CSS, the space *between* MJML
  components...).  :mod:`letterhead.authoring.protect` needs that to keep SES
  placeholders alive through MRML and the HTML5 parsers downstream.

Known gaps between MRML and the official MJML compiler are fixed in
:mod:`letterhead.authoring.mjml_fixes`, with the numbers MJML computes from the
source's structure from :mod:`letterhead.authoring.mjml_layout`, so this module
stays about structure.
"""

from __future__ import annotations

import bisect
import itertools
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import NamedTuple

import mjml as _mrml

from ..errors import Location, MjmlError
from . import mjml_fixes
from .mjml_layout import ENDING_TAGS, layout, write_insertions

HEAD_TEXT_TAGS = frozenset({"mj-title", "mj-preview"})

KNOWN_TAGS = frozenset(
    {
        "mjml", "mj-head", "mj-body", "mj-attributes", "mj-all", "mj-class",
        "mj-breakpoint", "mj-font", "mj-preview", "mj-style", "mj-title",
        "mj-accordion", "mj-accordion-element", "mj-accordion-title",
        "mj-accordion-text", "mj-button", "mj-carousel", "mj-carousel-image",
        "mj-column", "mj-divider", "mj-group", "mj-hero", "mj-image",
        "mj-navbar", "mj-navbar-link", "mj-raw", "mj-section", "mj-social",
        "mj-social-element", "mj-spacer", "mj-table", "mj-text", "mj-wrapper",
        "mj-include",
    }
)


UNSUPPORTED_TAGS = {
    "mj-include": 'compose with Jinja instead: {% include "_partials/footer.mjml" %} '
                  "(paths from templates_src/); MRML's mj-include also loses the body width",
    "mj-html-attributes": "set the attributes in the HTML of an mj-raw, or add classes with css-class",
    "mj-selector": "set the attributes in the HTML of an mj-raw, or add classes with css-class",
    "mj-html-attribute": "set the attributes in the HTML of an mj-raw, or add classes with css-class",
}


_CONTENT = ("mj-column", "mj-hero")
# Where each component may stand (MJML's own validator rules, abridged).
# MRML accepts a misplaced component and copies it into the HTML verbatim.
ALLOWED_PARENTS: dict[str, tuple[str, ...]] = {
    "mj-head": ("mjml",), "mj-body": ("mjml",),
    "mj-title": ("mj-head",), "mj-preview": ("mj-head",), "mj-style": ("mj-head",),
    "mj-font": ("mj-head",), "mj-breakpoint": ("mj-head",), "mj-attributes": ("mj-head",),
    "mj-all": ("mj-attributes",), "mj-class": ("mj-attributes",),
    "mj-wrapper": ("mj-body",), "mj-hero": ("mj-body", "mj-wrapper"),
    "mj-section": ("mj-body", "mj-wrapper"),
    "mj-group": ("mj-section",), "mj-column": ("mj-section", "mj-group"),
    "mj-text": _CONTENT, "mj-button": _CONTENT, "mj-image": _CONTENT, "mj-divider": _CONTENT,
    "mj-spacer": _CONTENT, "mj-table": _CONTENT, "mj-social": _CONTENT, "mj-navbar": _CONTENT,
    "mj-accordion": _CONTENT, "mj-carousel": _CONTENT,
    "mj-social-element": ("mj-social",), "mj-navbar-link": ("mj-navbar",),
    "mj-accordion-element": ("mj-accordion",),
    "mj-accordion-title": ("mj-accordion-element",), "mj-accordion-text": ("mj-accordion-element",),
    "mj-carousel-image": ("mj-carousel",),
}


class Context(Enum):
    """What kind of place an offset of an MJML document is."""

    STRUCTURE = "between MJML components"  # text here is not content
    MJ_ATTRIBUTE = "an MJML attribute"
    HTML_TEXT = "HTML text"  # inside mj-text, mj-button, mj-raw...
    HTML_TAG = "an HTML tag"  # inside <a ...> within HTML content
    HEAD_TEXT = "mj-title / mj-preview text"
    CSS = "CSS in mj-style"
    COMMENT = "an HTML comment"


# How deep MJML components and HTML elements may nest in one document.  MRML
# and css-inline (Rust, recursive) overflow the stack and kill the whole
# process, with no error to report, past a few thousand levels (measured:
# MRML at 20,000 nested <div>, css-inline at 3,000 nested table cells, i.e.
# ~9,000 elements); browsers flatten anything past 512 levels anyway
# (Chromium's parser).  An email needs a few dozen.
MAX_TAG_DEPTH = 256

# maps an offset in the MJML to its place in the designer's files
Locator = Callable[[int], Location]
# `<` may not stand inside a tag: a stray one ends the attempt, so a document
# full of unterminated `<a` costs one pass, not one pass per `<`.
_ANY_TAG_RE = re.compile(
    r"""<!--.*?-->|<(/?)([A-Za-z][A-Za-z0-9:_-]*)(?:[^<>"']*(?:"[^"]*"|'[^']*'))*[^<>"']*?(/?)>""", re.DOTALL
)
_VOID_TAGS = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr"}
)
# Elements whose end tag HTML lets one leave out: a second <p> closes the first.
_SELF_CLOSING_SIBLINGS = frozenset({"p", "li", "dt", "dd", "option", "tr", "td", "th"})


def check_depth(text: str, *, locate: Locator | None = None) -> None:
    """Refuse MJML nested deeper than :data:`MAX_TAG_DEPTH` (components and
    HTML elements together), naming the line of the tag that goes too deep.
    A document with fewer tags than the limit cannot be too deep, so most are
    not scanned at all."""
    if text.count("<") <= MAX_TAG_DEPTH:
        return
    stack: list[str] = []
    # findall, not finditer: tuples cost half as much as match objects
    for index, (closing, name, selfclose) in enumerate(_ANY_TAG_RE.findall(text)):
        if not name:  # a comment
            continue
        name = name.lower()
        if closing:
            if name in stack:
                del stack[len(stack) - 1 - stack[::-1].index(name) :]
            continue
        if selfclose or name in _VOID_TAGS or (name in _SELF_CLOSING_SIBLINGS and stack and stack[-1] == name):
            continue
        stack.append(name)
        if len(stack) > MAX_TAG_DEPTH:
            off = next(itertools.islice(_ANY_TAG_RE.finditer(text), index, None)).start()
            loc = (locate or (lambda o: Location("<mjml>", _line_of(text, o))))(off)
            raise MjmlError(
                f"<{name}> is nested {len(stack)} tags deep: MJML and HTML may nest at most "
                f"{MAX_TAG_DEPTH} levels (unclosed tags count as open)",
                location=loc,
                hint=f"close the tags you open, and nest at most {MAX_TAG_DEPTH} levels: email clients "
                "flatten deeper HTML and the compilers cannot follow it",
                source_line=_line_at(text, off),
            )


def _line_at(text: str, offset: int) -> str:
    start = text.rfind("\n", 0, offset) + 1
    end = text.find("\n", offset)
    return text[start : end if end >= 0 else len(text)]


class Region(NamedTuple):  # a NamedTuple: a scan makes hundreds, and frozen dataclasses are slow to build
    start: int
    end: int
    context: Context
    tag: str  # the MJML component this region belongs to ("" at top level)


@dataclass(frozen=True)
class MjmlMap:
    """The scanned structure of one MJML document."""

    text: str
    # (start, end, context, tag) as plain tuples: a scan makes hundreds and
    # asks for a few; Regions are made when asked for.
    _spans: tuple[tuple[int, int, Context, str], ...]
    _starts: tuple[int, ...]

    @property
    def regions(self) -> tuple[Region, ...]:
        return tuple(Region(*span) for span in self._spans)

    def at(self, offset: int) -> Region:
        i = bisect.bisect_right(self._starts, offset) - 1
        return Region(*self._spans[max(i, 0)])

    def places(self, offsets: list[int]) -> list[tuple[Context, str]]:
        """(context, tag) of :meth:`at` for each of ``offsets``, without a Region each."""
        spans, starts, right = self._spans, self._starts, bisect.bisect_right
        return [spans[max(right(starts, offset) - 1, 0)][2:] for offset in offsets]


_first = operator.itemgetter(0)


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def scan(text: str, *, locate: Locator | None = None) -> MjmlMap:
    """Scan MJML into regions, raising :class:`MjmlError` with a line number on
    unknown, unclosed or mismatched MJML tags.

    ``locate(offset) -> Location`` maps offsets back to source files (the MJML
    scanned here is Jinja's output); by default offsets map to lines of ``text``.
    """
    if locate is None:
        locate = lambda off: Location("<mjml>", _line_of(text, off))  # noqa: E731
    check_depth(text, locate=locate)
    # One tuple per region, appended in document order (each starts where the
    # one before ended or later, and none is empty): no sort needed.
    regions: list[tuple[int, int, Context, str]] = []
    append = regions.append
    stack: list[tuple[str, int]] = []
    parent = ""  # the open component (stack[-1][0]), "" at top level
    pos = 0
    search = _SCAN_RE.search
    structure, mj_attribute = Context.STRUCTURE, Context.MJ_ATTRIBUTE

    def fail(msg: str, off: int, hint: str) -> MjmlError:
        loc = locate(off)
        line = text.splitlines()[_line_of(text, off) - 1] if text else ""
        return MjmlError(msg, location=loc, hint=hint, source_line=line)

    while True:
        m = search(text, pos)
        if m is None:
            if len(text) > pos:
                append((pos, len(text), structure, parent))
            break
        mstart, mend = m.span()
        if mstart > pos:
            append((pos, mstart, structure, parent))
        closing, name, _attrs, selfclose = m.groups()
        if name is None:  # a comment
            append((mstart, mend, Context.COMMENT, parent))
            pos = mend
            continue
        name = name.lower()
        if name in UNSUPPORTED_TAGS:
            raise fail(f"<{name}> is not supported by MRML, letterhead's MJML compiler", mstart,
                       UNSUPPORTED_TAGS[name])
        if name not in KNOWN_TAGS and parent != "mj-attributes":
            import difflib

            close = difflib.get_close_matches(name, sorted(KNOWN_TAGS), n=1)
            hint = (f"did you mean <{close[0]}>?" if close
                    else "see https://documentation.mjml.io for the list of components")
            raise fail(f"unknown MJML tag <{name}>", mstart, hint)
        if closing:
            if parent != name:
                expected = f"</{parent}>" if stack else "nothing"
                raise fail(
                    f"closing </{name}> does not match (expected {expected})",
                    mstart,
                    f"close <{parent}> opened at line {locate(stack[-1][1]).line} first"
                    if stack
                    else "remove the stray closing tag",
                )
            append((mstart, mend, mj_attribute, name))
            stack.pop()
            parent = stack[-1][0] if stack else ""
            pos = mend
            continue
        allowed = ALLOWED_PARENTS.get(name)
        if allowed and parent != "mj-attributes" and parent not in allowed:
            raise fail(
                f"<{name}> cannot stand inside <{parent or 'the top level'}>",
                mstart,
                f"put it inside {' or '.join(f'<{a}>' for a in allowed)}",
            )
        append((mstart, mend, mj_attribute, name))
        pos = mend
        if selfclose:
            continue
        if name in ENDING_TAGS:
            cm = (_CLOSE_RE.get(name) or _close_re(name)).search(text, pos)
            if cm is None:
                raise fail(f"<{name}> is never closed", mstart, f"add </{name}>")
            cstart = cm.start()
            if cstart > pos:
                if name == "mj-style":
                    append((pos, cstart, Context.CSS, name))
                elif name in HEAD_TEXT_TAGS:
                    append((pos, cstart, Context.HEAD_TEXT, name))
                elif text.find("xlh", pos, cstart) < 0:
                    # No placeholder token inside: nobody will ask what kind of place
                    # this is, so skip the per-tag regions (most of a scan's cost).
                    append((pos, cstart, Context.HTML_TEXT, name))
                else:
                    _content_regions(text, pos, cstart, name, append)
            append((cstart, cm.end(), mj_attribute, name))
            pos = cm.end()
            continue
        stack.append((name, mstart))
        parent = name
    if stack:
        name, off = stack[-1]
        raise fail(f"<{name}> is never closed", off, f"add </{name}>")
    return MjmlMap(text, tuple(regions), tuple(map(_first, regions)))


# The next MJML tag or comment (an unclosed comment runs to the end).
_SCAN_RE = re.compile(
    r"""<!--.*?(?:-->|\Z)|<(/?)(mj-[a-z-]+|mjml)\b([^>"'/]*(?:(?:/(?!>)|"[^"]*"|'[^']*')[^>"'/]*)*)(/?)>""",
    re.IGNORECASE | re.DOTALL,
)
_CLOSE_RE: dict[str, re.Pattern[str]] = {}  # the closing tag of each of ENDING_TAGS, compiled when first met


def _close_re(name: str) -> re.Pattern[str]:
    found = _CLOSE_RE[name] = re.compile(rf"</{re.escape(name)}\s*>", re.IGNORECASE)
    return found


# HTML content: a comment (an unclosed one runs to the content's end) or a tag.
_CONTENT_RE = re.compile(r"""(<!--.*?(?:-->|\Z))|<[a-zA-Z!/][^>"']*(?:(?:"[^"]*"|'[^']*')[^>"']*)*>""", re.DOTALL)


def _content_regions(text: str, start: int, end: int, tag: str,
                     add: Callable[[tuple[int, int, Context, str]], None]) -> None:
    """The regions of HTML content that holds a placeholder token: text, tags, comments."""
    pos = start
    html_text = Context.HTML_TEXT
    for m in _CONTENT_RE.finditer(text, start, end):
        mstart, mend = m.span()
        if mstart > pos:
            add((pos, mstart, html_text, tag))
        add((mstart, mend, Context.HTML_TAG if m.group(1) is None else Context.COMMENT, tag))  # never empty
        pos = mend
    if pos < end:
        add((pos, end, html_text, tag))


# What makes layout() worth its cost: a component it corrects, or mj-attributes (mj-body defaults).
_LAYOUT_MARKS = ("<mj-image", "<mj-social", "<mj-carousel", "<mj-attributes")


def compile_mjml(mjml_text: str, *, locate: Locator | None = None, validate: bool = True) -> str:
    """MJML → HTML.  Structure errors carry a line; MRML's own errors (which have
    no position) are reported against the whole document."""
    if validate:  # the compile pipeline has scanned (and so validated) already
        scan(mjml_text, locate=locate)
    model = layout(mjml_text) if any(t in mjml_text for t in _LAYOUT_MARKS) else None
    if model is not None and model.insertions:
        mjml_text = write_insertions(mjml_text, model.insertions)
    fixed = mjml_fixes.before_mrml(mjml_text)
    try:
        html = _mrml.mjml2html(fixed)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # a Rust panic in MRML is a BaseException (pyo3's PanicException)
        if isinstance(exc, ValueError):
            raise _parse_error(exc, mjml_text, locate) from None
        raise MjmlError(
            f"MRML failed on this document: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}",
            location=Location(locate(0).path) if locate is not None else Location("<mjml>"),
            hint="a bug in MRML, the MJML compiler letterhead uses; simplify the text or markup you last "
            "changed (unusual characters next to '<' or '>') and report it to letterhead",
        ) from None
    return mjml_fixes.after_mrml(html, model)


def _parse_error(exc: ValueError, mjml_text: str, locate: Locator | None) -> MjmlError:
    """MRML's parse failure ("... at position 774:784": an offset in the fixed
    MJML; the fixes change lengths only a little, so the line is right or
    close to it)."""
    m = re.search(r"position (\d+)", str(exc))
    loc = (locate or (lambda off: Location("<mjml>", _line_of(mjml_text, off))))(
        min(int(m.group(1)), len(mjml_text)) if m else 0)
    return MjmlError(
        f"MRML could not compile the MJML: {exc}",
        location=loc if m else Location(loc.path),
        hint="check this component's attributes and content: a bare '<' or '&' in text "
        "(write &lt; and &amp;) or an unclosed tag",
    )
