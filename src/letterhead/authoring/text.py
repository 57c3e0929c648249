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

import re
from collections.abc import Callable

import html2text

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
_STANDALONE_BLOCK_RE = re.compile(r"(>\s*)<!--\s*(xlh\d{6,}x)\s*-->(?=\s*<)")


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
    html = _HEAD_RE.sub("", html)
    # A linked logo has no text: label the link with the image's alt text.
    html = _IMAGE_LINK_RE.sub(lambda m: f"{m.group(1)}{m.group(2)}{m.group(3)}", html)
    html = _MSO_RE.sub("", html)
    html = _HIDDEN_DIV_RE.sub("", html, count=1)
    # Block tags between elements: own paragraph; inside running text: inline.
    html = _STANDALONE_BLOCK_RE.sub(lambda m: f"{m.group(1)}<p>{m.group(2)}</p>", html)
    html = COMMENT_TOKEN_RE.sub(lambda m: f"xlh{m.group(1)}x", html)
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
    html = _INLINE_TAG_RE.sub("", html)  # emphasis and spans print nothing (ignore_emphasis)

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
_INLINE_TAG_RE = re.compile(r"</?(?:span|strong|b|em|i|u|font|small|big|mark|abbr|ins|del|s)>", re.IGNORECASE)
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
