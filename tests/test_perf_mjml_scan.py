"""mjml.scan, one regex for tags and comments and no sort, gives the regions and
errors of the scan it replaced (kept below as the reference), on fuzzed MJML:
comments inside and around tags, unclosed comments and components, tokens in
HTML content, mismatched and unknown tags."""

from __future__ import annotations

import random
import re
from collections.abc import Callable

import pytest

from letterhead.authoring import mjml


# --- mjml.scan as it was before the single-regex loop (letterhead 253455f), the reference ---
from typing import Any  # noqa: E402

from letterhead.authoring.mjml import (  # noqa: E402
    ALLOWED_PARENTS,
    HEAD_TEXT_TAGS,
    KNOWN_TAGS,
    UNSUPPORTED_TAGS,
    Context,
    Locator,
    MjmlMap,
    _line_of,
    check_depth,
)
from letterhead.authoring.mjml_layout import ENDING_TAGS  # noqa: E402
from letterhead.errors import Location, MjmlError  # noqa: E402

_TAG_RE = re.compile(
    r"""<(/?)(mj-[a-z-]+|mjml)\b([^>"'/]*(?:(?:/(?!>)|"[^"]*"|'[^']*')[^>"'/]*)*)(/?)>""",
    re.IGNORECASE,
)
_HTML_TAG_RE = re.compile(r"""<[a-zA-Z!/][^>"']*(?:(?:"[^"]*"|'[^']*')[^>"']*)*>""")
def _reference_scan(text: str, *, locate: Locator | None = None) -> MjmlMap:
    """Scan MJML into regions, raising :class:`MjmlError` with a line number on
    unknown, unclosed or mismatched MJML tags.

    ``locate(offset) -> Location`` maps offsets back to source files (the MJML
    scanned here is Jinja's output); by default offsets map to lines of ``text``.
    """
    if locate is None:
        locate = lambda off: Location("<mjml>", _line_of(text, off))  # noqa: E731
    check_depth(text, locate=locate)
    regions: list[tuple[int, int, Context, str]] = []
    stack: list[tuple[str, int]] = []
    pos = 0

    def add(start: int, end: int, ctx: Context, tag: str) -> None:
        if end > start:
            regions.append((start, end, ctx, tag))

    def fail(msg: str, off: int, hint: str) -> MjmlError:
        loc = locate(off)
        line = text.splitlines()[_line_of(text, off) - 1] if text else ""
        return MjmlError(msg, location=loc, hint=hint, source_line=line)

    finder = _NextFinder(text)
    while True:
        m = finder.next(pos)
        if m is None:
            add(pos, len(text), Context.STRUCTURE, stack[-1][0] if stack else "")
            break
        kind, mstart, mend, match = m
        add(pos, mstart, Context.STRUCTURE, stack[-1][0] if stack else "")
        if kind == "comment":
            add(mstart, mend, Context.COMMENT, stack[-1][0] if stack else "")
            pos = mend
            continue
        closing, name, _attrs, selfclose = match.groups()
        name = name.lower()
        if name in UNSUPPORTED_TAGS:
            raise fail(f"<{name}> is not supported by MRML, letterhead's MJML compiler", mstart,
                       UNSUPPORTED_TAGS[name])
        if name not in KNOWN_TAGS and not (stack and stack[-1][0] == "mj-attributes"):
            import difflib

            close = difflib.get_close_matches(name, sorted(KNOWN_TAGS), n=1)
            hint = (f"did you mean <{close[0]}>?" if close
                    else "see https://documentation.mjml.io for the list of components")
            raise fail(f"unknown MJML tag <{name}>", mstart, hint)
        parent = stack[-1][0] if stack else ""
        allowed = ALLOWED_PARENTS.get(name)
        if not closing and allowed and parent != "mj-attributes" and parent not in allowed:
            raise fail(
                f"<{name}> cannot stand inside <{parent or 'the top level'}>",
                mstart,
                f"put it inside {' or '.join(f'<{a}>' for a in allowed)}",
            )
        if closing:
            if not stack or stack[-1][0] != name:
                expected = f"</{stack[-1][0]}>" if stack else "nothing"
                raise fail(
                    f"closing </{name}> does not match (expected {expected})",
                    mstart,
                    f"close <{stack[-1][0]}> opened at line {locate(stack[-1][1]).line} first"
                    if stack
                    else "remove the stray closing tag",
                )
            add(mstart, mend, Context.MJ_ATTRIBUTE, name)
            stack.pop()
            pos = mend
            continue
        add(mstart, mend, Context.MJ_ATTRIBUTE, name)
        pos = mend
        if selfclose:
            continue
        if name in ENDING_TAGS:
            close_re = re.compile(rf"</{re.escape(name)}\s*>", re.IGNORECASE)
            cm = close_re.search(text, pos)
            if cm is None:
                raise fail(f"<{name}> is never closed", mstart, f"add </{name}>")
            _content_regions(text, pos, cm.start(), name, add)
            add(cm.start(), cm.end(), Context.MJ_ATTRIBUTE, name)
            pos = cm.end()
            continue
        stack.append((name, mstart))
    if stack:
        name, off = stack[-1]
        raise fail(f"<{name}> is never closed", off, f"add </{name}>")
    regions.sort(key=lambda r: r[0])  # stable: ties keep their order
    return MjmlMap(text, tuple(regions), tuple(r[0] for r in regions))


class _NextFinder:
    """The next MJML tag or comment at or after a position.  Remembers the
    last search results, so scanning a document stays linear."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.ci = -2
        self.tm: re.Match[str] | None = None
        self.tm_done = False

    def next(self, pos: int) -> tuple[str, int, int, Any] | None:  # (kind, start, end, the tag's match)
        text = self.text
        if self.ci != -1 and self.ci < pos:
            self.ci = text.find("<!--", pos)
        if not self.tm_done and (self.tm is None or self.tm.start() < pos):
            self.tm = _TAG_RE.search(text, pos)
            self.tm_done = self.tm is None
        tm, ci = self.tm, self.ci
        if ci != -1 and (tm is None or ci < tm.start()):
            end = text.find("-->", ci + 4)
            end = len(text) if end == -1 else end + 3
            return ("comment", ci, end, None)
        if tm is None:
            return None
        return ("tag", tm.start(), tm.end(), tm)


def _content_regions(text: str, start: int, end: int, tag: str,
                     add: Callable[[int, int, Context, str], None]) -> None:
    if tag == "mj-style":
        add(start, end, Context.CSS, tag)
        return
    if tag in HEAD_TEXT_TAGS:
        add(start, end, Context.HEAD_TEXT, tag)
        return
    if "xlh" not in text[start:end]:
        # No placeholder token inside: nobody will ask what kind of place
        # this is, so skip the per-tag regions (most of a scan's cost).
        add(start, end, Context.HTML_TEXT, tag)
        return
    pos = start
    ci = -2  # next comment start, found lazily: searching afresh each step is quadratic
    tm = None
    while pos < end:
        if ci != -1 and ci < pos:
            ci = text.find("<!--", pos, end)
        if tm is None or tm.start() < pos:
            tm = _HTML_TAG_RE.search(text, pos, end)
        if ci != -1 and (tm is None or ci <= tm.start()):
            add(pos, ci, Context.HTML_TEXT, tag)
            cend = text.find("-->", ci + 4, end)
            cend = end if cend == -1 else cend + 3
            add(ci, cend, Context.COMMENT, tag)
            pos = cend
        elif tm is not None:
            add(pos, tm.start(), Context.HTML_TEXT, tag)
            add(tm.start(), tm.end(), Context.HTML_TAG, tag)
            pos = tm.end()
        else:
            add(pos, end, Context.HTML_TEXT, tag)
            pos = end




_FRAGMENTS = [
    "<mjml>", "</mjml>", "<mj-head>", "</mj-head>", "<mj-body>", "</mj-body>", "<mj-section>", "</mj-section>",
    "<mj-column>", "</mj-column>", "<mj-text>", "</mj-text>", "<MJ-TEXT>", "</mj-text >", "<mj-raw>", "</mj-raw>",
    "<mj-style>", "</mj-style>", "<mj-title>", "</mj-title>", "<mj-attributes>", "</mj-attributes>",
    "<mj-foo />", "<mj-image src='a>b' />", '<mj-button title="<!--">', "</mj-button>", "<mj-spacer/>",
    "<!--", "-->", "<!-- c -->", "<!---->", "xlh12x", "<b>", "</b>", '<a href="x>y">', "<br/>", "<", ">",
    " ", "\n", "text", "<mj-include path='x' />", "<mj-textt>", "<mj-divider>", "</mj-divider>",
]
_VALID = (
    "<mjml><mj-head><mj-title>T xlh1x</mj-title><mj-style>a{}</mj-style><mj-attributes><mj-foo a='1' />"
    "</mj-attributes></mj-head><mj-body><!-- b --><mj-section><mj-column>{}</mj-column></mj-section>"
    "</mj-body></mjml>"
)


def _outcome(scan: Callable[..., mjml.MjmlMap], text: str) -> object:
    try:
        found = scan(text)
    except mjml.MjmlError as exc:
        return ("error", exc.message, exc.hint, exc.location, exc.source_line)
    return found._spans, found._starts


@pytest.mark.parametrize("seed", range(4))
def test_scan_gives_the_reference_regions_and_errors(seed: int) -> None:
    rng = random.Random(seed)
    inner = ["<mj-text>", "xlh1x", "<b>", "<!--", "xlh2x", "-->", "<i>", "</mj-text>", "<mj-raw>", "<!-- x",
             "</mj-raw>", "<mj-button>", "<a href='<!--'>", "xlh3x", "</mj-button>", "<mj-text/>", "<mj-image/>"]
    errors = 0
    for _ in range(1500):
        if rng.random() < 0.5:
            text = "".join(rng.choice(_FRAGMENTS) for _ in range(rng.randint(0, 30)))
        else:
            content = "".join(rng.choice(inner) for _ in range(rng.randint(0, 12)))
            text = _VALID.replace("{}", content)
        new, old = _outcome(mjml.scan, text), _outcome(_reference_scan, text)
        assert new == old, text
        errors += isinstance(old, tuple) and old[0] == "error"
    assert 0 < errors < 1500  # both kinds were met
