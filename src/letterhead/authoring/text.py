"""The plain-text part, generated from the compiled HTML with html2text.

Tuned for email, not Markdown: no line wrapping (a wrapped URL breaks), no
layout-table junk, no images or emphasis marks, no preheader, and links read
``label: url`` (``url`` alone when the label is the URL), because a text part
that loses its links is the usual complaint about generated fallbacks.

Placeholders arrive as tokens (:mod:`letterhead.authoring.protect`).  A block tag that
stood between elements goes on a line of its own, so that Handlebars'
standalone-line rule removes that line when SES renders the text part.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from html.entities import html5

import html2text
from html2text.utils import control_character_replacements, escape_md

from .protect import COMMENT_TOKEN_RE

# MRML renders mj-preview as a hidden div at the top of <body>.
_HIDDEN_DIV_RE = re.compile(
    r"""<div\b[^>]*style="[^"]*display:\s*none[^"]*"[^>]*>[^<]*(?:<(?!/div>)[^<]*)*</div>""",
    re.IGNORECASE,
)
# "[^<]*(?:<(?!X)[^<]*)*X" is ".*?X" (DOTALL), unrolled so the engine runs
# through text in a tight loop instead of trying X at every character.  (No
# possessive quantifiers: CPython 3.11.0-3.11.2, Debian 12's, gets them wrong.)
_HEAD_RE = re.compile(r"<head\b[^<]*(?:<(?!/head>)[^<]*)*</head>", re.IGNORECASE)
_MSO_RE = re.compile(r"<!--\[if [^\]]*\]>[^<]*(?:<(?!!\[endif\]-->)[^<]*)*<!\[endif\]-->", re.IGNORECASE)
_LINK_RE = re.compile(r"\[([^\]\n]*)\]\(<?([^)\s>]+)>?(?: \"[^\"]*\")?\)")
_NEXT_IS_TAG_RE = re.compile(r"\s*<")


_IMAGE_LINK_RE = re.compile(
    r"(<a\b[^>]*>)\s*<img\b[^>]*?\balt=\"([^\"]*)\"[^>]*>\s*(</a>)", re.IGNORECASE
)
_BLOCK_LINE_RE = re.compile(r"^(xlh\d{6,}x)\n\n+", re.MULTILINE)


def html_to_text(
    html: str,
    block_ids: frozenset[str] = frozenset(),
    normalize: Callable[[str], str] = lambda s: s,
) -> str:
    """``block_ids``: the tokens that stand for block tags (``xlh000012x``);
    a line holding only one of them is not followed by a blank line, so the
    text reads the same whichever way the block renders.  ``normalize`` maps
    tokens back to their mustaches, so that ``<a href="mailto:{{e}}">{{e}}</a>``
    is recognised as a link labelled with its own address."""
    html = _lean(html)
    text = _lean_markdown(html)  # html2text's text, read directly
    if text is None:  # something the direct way does not read: html2text itself
        h = _PlainText()
        h.body_width = 0
        h.ignore_images = True
        h.ignore_emphasis = True
        h.ignore_tables = True
        h.protect_links = True
        h.inline_links = True
        h.wrap_links = False
        h.unicode_snob = True
        h.single_line_break = False
        h.ul_item_mark = "-"
        text = h.handle(html)

    text = _LINK_RE.sub(lambda m: _link(m, normalize), text)
    lines = [line.rstrip() for line in text.splitlines()]
    # html2text puts layout-table cells on their own indented lines; keep text flush.
    lines = [line.strip() if not line.lstrip().startswith(("-", "*")) else line for line in lines]
    text = "\n".join(lines)
    text = re.sub(r"\n{3,}", "\n\n", text).strip("\n")
    text = _BLOCK_LINE_RE.sub(lambda m: m.group(1) + "\n" if m.group(1) in block_ids else m.group(0), text)
    return text + "\n"


def _lean(html: str) -> str:
    """The HTML html2text needs: the body's text, links and blocks."""
    html = _HEAD_RE.sub("", html)
    # A linked logo has no text: label the link with the image's alt text.
    html = _IMAGE_LINK_RE.sub(lambda m: f"{m.group(1)}{m.group(2)}{m.group(3)}", html)
    html = _MSO_RE.sub("", html)
    html = _HIDDEN_DIV_RE.sub("", html, count=1)
    html = _uncomment_tokens(html)
    # One pass over the tags, to halve html2text's parse time: it reads only
    # href, so other attributes (long inline styles) go; layout tables carry
    # no text and html2text ignores them (ignore_tables), so they are
    # unwrapped, cells kept as blocks.
    # Table structure and cells first, with literal replacements (no Python
    # call per tag: they are ~85 % of an email's tags), then the rest.
    html = _TABLE_TAG_RE.sub("", html)
    html = _CELL_OPEN_RE.sub("<div>", html)
    html = _CELL_CLOSE_RE.sub("</div>", html)
    html = _ATTRS_RE.sub(_lean_tag, html)
    # MRML nests each component in six blocks; for text one block is enough.
    html = _DIV_RUN_OPEN_RE.sub("<div>", html)
    html = _DIV_RUN_CLOSE_RE.sub("</div>", html)
    return _INLINE_TAG_RE.sub("", html)  # emphasis and spans print nothing (ignore_emphasis)


def _uncomment_tokens(html: str) -> str:
    """Block tags between elements: own paragraph; inside running text: inline.

    One pass for what were two subs: ``(>\\s*)<!--\\s*(xlh\\d{6,}x)\\s*-->(?=\\s*<)``
    to ``\\1<p>\\2</p>``, then the other token comments to their bare token.  A
    token comment is standalone when a ">" precedes it, whitespace aside, that
    the previous standalone one did not end with, and a "<" follows it."""
    out: list[str] = []
    pos = taken = 0  # the end of the last token comment; of the last standalone one
    for m in COMMENT_TOKEN_RE.finditer(html):
        start, end = m.span()
        before = start
        while before > taken and html[before - 1].isspace():  # \s is str.isspace
            before -= 1
        out.append(html[pos:start])
        if before > taken and html[before - 1] == ">" and _NEXT_IS_TAG_RE.match(html, end):
            out.append(f"<p>xlh{m.group(1)}x</p>")
            taken = end
        else:
            out.append(f"xlh{m.group(1)}x")
        pos = end
    if not out:
        return html
    out.append(html[pos:])
    return "".join(out)


class _PlainText(html2text.HTML2Text):
    """html2text without Markdown escapes: a text part is read by people, so
    "1. Open the app" must not come out as "1\\. Open the app"."""

    def handle_data(self, data: str, entity_char: bool = False) -> None:
        super().handle_data(data, entity_char=True)  # entity_char=True: no escaping


_TAG_BODY = r"""[^>"'/]*(?:(?:/(?!>)|"[^"]*"|'[^']*')[^>"'/]*)*"""  # attributes, quote-aware, up to an optional "/"
_TABLE_TAG_RE = re.compile(r"</?(?:table|tbody|thead|tfoot|tr)\b" + _TAG_BODY + "/?>", re.IGNORECASE)
_CELL_OPEN_RE = re.compile(r"<(?:td|th|div)\b" + _TAG_BODY + ">", re.IGNORECASE)  # not self-closing
_CELL_CLOSE_RE = re.compile(r"</(?:td|th|div)\b" + _TAG_BODY + ">", re.IGNORECASE)
# Every other tag; a bare <div> or </div> (what the passes above leave) needs nothing.
_ATTRS_RE = re.compile(r"<(?!/?div>)(/?)([a-zA-Z][a-zA-Z0-9]*)\b(" + _TAG_BODY + r")(/?)>")
_HREF_RE = re.compile(r"""\bhref\s*=\s*("[^"]*"|'[^']*')""", re.IGNORECASE)
_TABLE_TAGS = frozenset({"table", "tbody", "thead", "tfoot", "tr"})
_CELL_TAGS = frozenset({"td", "th"})
_DIV_RUN_OPEN_RE = re.compile(r"<div>(?:\s*<div>)+")
_DIV_RUN_CLOSE_RE = re.compile(r"</div>(?:\s*</div>)+")
# span, strong, small, s, b, big, em, i, ins, u, font, mark, abbr, del: factored
# by first letter, so a tag that is none of them fails at once.
_INLINE_TAG_RE = re.compile(r"</?(?:s(?:pan|trong|mall)?|b(?:ig)?|em|i(?:ns)?|u|font|mark|abbr|del)>", re.IGNORECASE)
_HEADING_TAGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})


def _lean_tag(m: re.Match[str]) -> str:
    closing, name, attrs, selfclose = m.groups()
    lower = name.lower()
    if lower in _TABLE_TAGS:
        return ""
    if lower in _CELL_TAGS:
        return f"<{closing}div>"
    if lower in _HEADING_TAGS:  # a heading is a paragraph in plain text, not "# Title"
        return f"<{closing}p>"
    href = _HREF_RE.search(attrs) if lower == "a" and not closing else None
    return f"<{closing}{name}{' href=' + href.group(1) if href else ''}{selfclose}>"


def _link(m: re.Match[str], normalize: Callable[[str], str]) -> str:
    label, url = m.group(1).strip(), m.group(2)
    if normalize(label) in (normalize(url), normalize(url).split(":", 1)[-1]):
        return label if url.lower().startswith(("mailto:", "tel:")) else url
    if not label or label == url or label.rstrip("/") == url.rstrip("/"):
        return url
    if url.lower() in (f"mailto:{label.lower()}", f"tel:{label.lower()}"):
        return label
    return f"{label}: {url}"


# What html2text writes for the lean HTML above, without its HTML parser and
# handlers, when that HTML holds only: text without "<" or "&", entities
# ending in ";", a doctype, and the tags of _LEAN_TAGS as the passes write
# them ("<p>", "</div>", "<br/>", '<a href="...">').  Anything else (a
# comment, a list, a stray "<" or "&", a tag html2text or the parser treat
# specially) returns None and html2text reads the whole document.
# tests/test_perf8_text_fastpath.py holds html2text's way as the reference.
_LEAN_TOKEN_RE = re.compile(
    r"""<(/?)([a-zA-Z][a-zA-Z0-9]*)(?: href=(?:"([^"<>]*)"|'([^'<>]*)'))?(/?)>"""
    r"|&(?:#([0-9]+|[xX][0-9a-fA-F]+)|([a-zA-Z][a-zA-Z0-9]*));"
    r"|<![dD][oO][cC][tT][yY][pP][eE][^<>]*>"
    r"|<|&"  # not "[<&]": alternatives that all start with a literal let the engine skip to the next "<" or "&"
)
_BLOCKS = frozenset({"p", "div"})
# Tags html2text reads as nothing but "a tag" (with ignore_images and
# ignore_emphasis), and that HTMLParser parses as plain tags in every version.
_NEUTRAL_TAGS = frozenset({"html", "body", "img", "span", "font", "center", "strong", "b", "em", "i", "u",
                           "small", "big", "mark", "ins", "section", "article", "header", "footer", "main"})
_LEAN_TAGS = _BLOCKS | _NEUTRAL_TAGS | {"br", "a"}
_ABSOLUTE_URL_RE = re.compile(r"^[a-zA-Z+]+://")  # html2text's absolute_url_matcher


def _lean_markdown(lean: str) -> str | None:  # one loop keeps html2text's state in locals
    """html2text's ``handle(lean)`` with the options html_to_text sets, or None."""
    out: list[str] = []
    append = out.append
    p_p = 0  # newlines owed before the next output (html2text's p_p)
    start = True  # nothing written yet: owed newlines and spaces are dropped
    space = False  # a space owed before the next output
    last_nl = False  # the last output ended a line
    maybe: str | None = None  # the open link's href while nothing of its label is written
    empty_link = False
    astack: list[str | None] = []  # open <a>s: the href html2text writes, or None

    def emit(data: str) -> None:  # html2text's o(data) for data that is not empty
        nonlocal p_p, start, space, last_nl
        if start:
            space = start = False
            p_p = 0
        if p_p:
            append("\n" * p_p)
            last_nl = True
            space = False
        if space:
            if not last_nl:
                append(" ")
            space = False
        p_p = 0
        append(data)
        last_nl = data[-1] == "\n"

    def handle_data(data: str) -> None:  # html2text's handle_data(data, entity_char=True)
        nonlocal maybe, empty_link, space
        if maybe is not None:
            if maybe == data and _ABSOLUTE_URL_RE.match(maybe):
                emit("<" + data + ">")
                empty_link = False
                return
            emit("[")
            maybe = None
            empty_link = False
        # html2text's o(data, puredata=True): re.sub(r"\s+", " ", data), then a
        # leading space owed.  str.split() splits on what \s matches (str.isspace).
        if data[0].isspace():
            space = True
        words = data.split()
        if words:
            emit(" ".join(words) + " " if data[-1].isspace() else " ".join(words))

    pos = 0
    for m in _LEAN_TOKEN_RE.finditer(lean):
        begin = m.start()
        if pos < begin:
            handle_data(lean[pos:begin])
        pos = m.end()
        closing, name, dq, sq, selfclose, charref, entity = m.groups()
        if name is not None:
            name = name.lower()
            if name not in _LEAN_TAGS or (closing and (selfclose or dq is not None or sq is not None)):
                return None
            if not closing:
                if maybe is not None and name not in _BLOCKS:
                    emit("[")
                    maybe = None
                    empty_link = False
                if name in _BLOCKS:
                    if not astack:
                        p_p = 2
                elif name == "br":
                    emit("  \n")
                elif name == "a":
                    href = dq if dq is not None else sq
                    if href is not None and "&" in href:
                        href = html.unescape(href)  # as HTMLParser reads attribute values
                    if href is not None and not href.startswith("#"):  # skip_internal_links
                        astack.append("<" + href + ">")  # protect_links
                        maybe = href
                        empty_link = True
                    else:
                        astack.append(None)
            if closing or selfclose:  # "<x/>": start and end
                if name in _BLOCKS:
                    if not astack:
                        p_p = 2
                elif name == "a" and astack:
                    link = astack.pop()
                    if maybe and not empty_link:
                        maybe = None
                    elif link:
                        if empty_link:
                            emit("[")
                            empty_link = False
                            maybe = None
                        p_p = 0
                        emit("](" + escape_md(link) + ")")
        elif charref is not None:
            c = int(charref[1:], 16) if charref[0] in "xX" else int(charref)
            if not 0 < c < 0x110000 or 0xD800 <= c < 0xE000:
                c = 0xFFFD
            handle_data(chr(control_character_replacements.get(c, c)))
        elif entity is not None:
            handle_data("&nbsp_place_holder;" if entity == "nbsp" else html5.get(entity + ";", "&" + entity + ";"))
        elif pos - begin == 1:  # not a doctype: a stray "<" or "&"
            return None
    if pos < len(lean):
        handle_data(lean[pos:])
    append("\n")  # finish(): o("", force="end")
    return "".join(out).replace("&nbsp_place_holder;", "\u00a0")
