"""One MJML compile for all the locale variants of a template.

After Jinja, a template's locale variants are one document with other words:
the same tags in the same order, text runs translated, placeholders numbered
apart, the root's ``lang`` and ``dir``.  MRML, letterhead's fixes and the CSS
inliner cost about a quarter of a variant's build, and they read the tags,
not the words: :func:`skeleton` replaces each text run that differs between
the variants with a marker word (``xlr000000x``), so the document compiles
once; :func:`fill` then writes each variant's own words where the markers
landed, as the inliner's HTML5 serialiser writes text (character references
decoded; ``&``, ``<``, ``>`` and no-break spaces escaped), or as written when
no CSS is inlined (MRML's HTML is then kept as it is).

Exact or nothing.  :func:`skeleton` returns None unless the variants differ
only in text runs between the same tags and comments, inside components
whose content MRML copies (mj-text, mj-button, mj-title...), and in
placeholder tokens and the root's ``lang``/``dir``.  A differing run must
hold more than whitespace (MRML drops or trims whitespace-only runs,
no-break spaces and all); at a component's edge only its core is marked,
the whitespace around it the same in every variant; and it holds no control
character, no "]]>" and no "&" that is not a reference every parser reads
alike.  :func:`fill` returns None when a marker with words stands in a
comment, a raw-text element, or an attribute value its words cannot be
copied into as they are (MRML copies mj-title into ``aria-label``, escaping
quotes and marks Rust-style).  The caller then compiles that variant on its
own, as every variant was compiled before.  ``tests/test_share_equivalence.py``
compares both ways, byte for byte, on real-world MJML with generated
translations; the counterexamples it found are kept there.
"""

from __future__ import annotations

import html
import html.entities
import itertools
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

MARKER_RE = re.compile(r"xlr(\d{6})x")
_MARKER_LIKE_RE = re.compile(r"xlr\d{6,}x")
_TOKEN_RE = re.compile(r"xlh\d{6,}x")  # a placeholder token (letterhead.authoring.protect)
# The pieces of a document: tags, comments (a block placeholder's token too:
# MRML and HTML5 keep a comment where it stands, apart from the text around
# it) and CDATA; text between them.
_TAG_RE = re.compile(r"<!--[\s\S]*?-->|<!\[CDATA\[[\s\S]*?\]\]>|<[^>]*>")
_ROOT_ATTR_RE = re.compile(r"""(\s(?:lang|dir)=")([A-Za-z0-9-]*)(")""")
_MJ_TAG_RE = re.compile(r"<(/?)(mj-[a-z-]+)\b")
# The components whose content MRML copies as it is (measured, and compared
# both ways in the tests): words are marked only inside these.
_WORDS_IN = frozenset({"mj-text", "mj-button", "mj-raw", "mj-table", "mj-title", "mj-preview", "mj-navbar-link",
                       "mj-accordion-title", "mj-accordion-text", "mj-social-element"})
# HTML elements whose content HTML5 does not read as text (serialised raw): no marker inside.
_RAW = ("style", "script", "xmp", "iframe", "noembed", "noframes", "noscript", "plaintext", "textarea")
_RAW_OPEN_RE = re.compile(r"<(" + "|".join(_RAW) + r")\b", re.IGNORECASE)
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ufdd0-\ufdef\ufffe\uffff\r]")
_REFERENCE_RE = re.compile(r"&(?:#([xX][0-9a-fA-F]+|[0-9]+)|([A-Za-z][A-Za-z0-9]*));")


class Words(NamedTuple):
    """A variant's words for one marker: as the compiled HTML writes them in a
    text node, and as plain text (None: not for sure) for when the marker
    lands in an attribute value (MRML copies ``mj-title`` into the body's
    ``aria-label``)."""

    text: str
    plain: str | None


@dataclass(frozen=True)
class Skeleton:
    """``marked``: the document to compile once; ``fills``: per variant (in
    the order given), each marker's words."""

    marked: str
    fills: tuple[Mapping[str, Words], ...]


def skeleton(docs: Sequence[str], *, serialised: bool = True) -> Skeleton | None:
    """The variants ``docs`` (MJML, as MRML would read each) as one marked
    document, or None when they differ in more than their words.
    ``serialised``: the compiled HTML goes through the CSS inliner, which
    writes text as HTML5 serialises it; otherwise it is MRML's, with the
    words as written."""
    if len(docs) < 2 or any("xlr" in d and _MARKER_LIKE_RE.search(d) for d in docs):
        return None
    splits = [_split(d) for d in docs]
    count = len(splits[0][0])
    if any(len(tags) != count for tags, _ in splits):
        return None
    fills: list[dict[str, Words]] = [{} for _ in docs]
    numbers = itertools.count()

    def mark(values: Sequence[Words]) -> str:
        marker = f"xlr{next(numbers):06d}x"
        for fill_of, value in zip(fills, values, strict=True):
            fill_of[marker] = value
        return marker

    out: list[str] = []
    raw: str | None = None  # the raw-text element the pieces are in
    components: list[str] = []  # the MJML components open around them
    for i in range(count + 1):
        texts = [texts_of[i] for _, texts_of in splits]
        if any(t != texts[0] for t in texts):
            where = components[-1] if components else ""
            if raw is not None or where not in _WORDS_IN:
                return None
            # At a component's edge MRML may trim: the same whitespace around
            # the words in every variant; between inline tags, the whole run.
            edge = (i > 0 and splits[0][0][i - 1].startswith("<mj-")) or \
                (i < count and splits[0][0][i].startswith("</mj-"))
            region = _text_region(texts, edge=edge, serialised=serialised)
            if region is None:
                return None
            lead, words, trail = region
            out += (lead, mark(words), trail)
        else:
            out.append(texts[0])
        if i == count:
            break
        tags = [tags_of[i] for tags_of, _ in splits]
        tag = tags[0]
        if any(t != tag for t in tags):
            marked = _tag_region(tags, mark)
            if marked is None:
                return None
            out.append(marked)
        else:
            out.append(tag)
        raw = _raw_after(raw, tag)
        m = _MJ_TAG_RE.match(tag)
        if m is not None and not tag.endswith("/>"):
            if not m.group(1):
                components.append(m.group(2))
            elif components and components[-1] == m.group(2):
                components.pop()
            else:
                return None  # tags that do not nest: not a document to be clever with
    if next(numbers) == 0:
        return None  # nothing differs
    return Skeleton("".join(out), tuple(fills))


def fill(compiled: str, fills: Mapping[str, Words], where: Sequence[tuple[int, int, str]] | None = None) -> str | None:
    """``compiled`` (the marked document's HTML) with one variant's words in
    place of the markers; None when a marker stands where its words would
    not be written for sure (a comment, a raw-text element, an attribute
    they cannot be written in).  ``where``: :func:`places` of ``compiled``
    (worked out once for all the variants)."""
    out: list[str] = []
    pos = 0
    for start, end, context in where if where is not None else places(compiled):
        words = fills.get(compiled[start:end])
        if words is None:
            return None  # not one of ours: refuse rather than guess
        if context == "text":
            value: str | None = words.text
        elif context == "attribute":
            value = words.text if _plain(words.text) else \
                words.plain.replace("&", "&amp;") if words.plain is not None and _attribute_safe(words.plain) else None
        else:
            value = words.text if _plain(words.text) else None
        if value is None:
            return None
        out += (compiled[pos:start], value)
        pos = end
    out.append(compiled[pos:])
    return "".join(out)


_STRUCTURE_RE = re.compile(r"<!--[\s\S]*?(?:-->|$)|<(" + "|".join(
    ("style", "script", "xmp", "iframe", "noembed", "noframes", "noscript", "plaintext", "textarea")
) + r")\b[^>]*>[\s\S]*?(?:</\1\s*>|$)|<[^>]*>?")


def places(compiled: str) -> list[tuple[int, int, str]]:
    """Each marker in the inliner's HTML, and what it stands in: "text",
    "attribute" (a quoted value: the serialiser quotes them all with ``"``),
    or "other" (a comment, a raw-text element, a tag name)."""
    spans = [(m.start(), m.end(), m.group(0)) for m in _STRUCTURE_RE.finditer(compiled) if "xlr" in m.group(0)]
    found: list[tuple[int, int, str]] = []
    k = 0
    for m in MARKER_RE.finditer(compiled):
        start = m.start()
        while k < len(spans) and spans[k][1] <= start:
            k += 1
        if k < len(spans) and spans[k][0] <= start:
            span_start, _, text = spans[k]
            inside_raw = text[1:2] != "/" and "</" in text[1:] and text.find(">") < start - span_start
            if text.startswith("<!--") or inside_raw:
                where = "other"  # a comment, or inside a raw-text element
            else:  # inside a tag: in a value when an odd number of quotes precede it
                where = "attribute" if text.count('"', 0, start - span_start) % 2 == 1 else "other"
        else:
            where = "text"
        found.append((start, m.end(), where))
    return found


def _split(doc: str) -> tuple[list[str], list[str]]:
    tags: list[str] = []
    texts: list[str] = []
    pos = 0
    for m in _TAG_RE.finditer(doc):
        texts.append(doc[pos : m.start()])
        tags.append(m.group(0))
        pos = m.end()
    texts.append(doc[pos:])
    return tags, texts


def _text_region(texts: Sequence[str], *, edge: bool, serialised: bool) -> tuple[str, list[Words], str] | None:
    """The whitespace kept around a differing text run (at a component's
    edge: the same in every variant) and each variant's words; None when a
    run is only whitespace (MRML drops or trims such runs, no-break spaces
    and all) or cannot be written for sure."""
    first = texts[0]
    lead = first[: len(first) - len(first.lstrip())] if edge else ""
    trail = first[len(first.rstrip()) :] if edge else ""
    words: list[Words] = []
    for text in texts:
        core = text[len(lead) : len(text) - len(trail)]
        if not core.strip() or not text.startswith(lead) or not text.endswith(trail) or \
                (edge and core != core.strip()):
            return None
        written = _words(core) if serialised else _raw_words(core)
        if written is None:
            return None
        words.append(written)
    return lead, words, trail


def _raw_words(core: str) -> Words | None:
    """``core`` as MRML writes it when nothing re-serialises its HTML: as it
    is (a '>' aside: the source fixes may escape it before MRML reads it)."""
    if "]]>" in core or ">" in core or _CONTROL_RE.search(core):
        return None
    return Words(core, None if "&" in core or "<" in core or ">" in core else core)


def _words(core: str) -> Words | None:
    """``core`` as HTML5 parses then serialises it: in a text node,
    references decoded, ``& < >`` and U+00A0 escaped; decoded, for an
    attribute value."""
    if "]]>" in core or _CONTROL_RE.search(core):
        return None  # MRML cannot parse "]]>": the variant's own compile says so
    piece = core
    if "&" in piece:
        if piece.count("&") != len(_REFERENCE_RE.findall(piece)):
            return None  # a bare '&' or a reference without ';': read in more than one way
        for ref in _REFERENCE_RE.finditer(piece):
            number, name = ref.groups()
            if number is not None:
                code = int(number[1:], 16) if number[0] in "xX" else int(number)
                if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF or _CONTROL_RE.match(chr(code)):
                    return None
            elif f"{name};" not in html.entities.html5:
                return None
        piece = html.unescape(piece)
        if _CONTROL_RE.search(piece):
            return None
    text = piece.replace("&", "&amp;").replace("\u00a0", "&nbsp;").replace("<", "&lt;").replace(">", "&gt;")
    return Words(text, piece)


def _attribute_safe(text: str) -> bool:
    """Text MRML copies into an attribute as it is: letters, numbers,
    punctuation and symbols, and plain spaces; no quote, backslash, no-break
    space or combining mark (which it writes escaped, Rust-style: ``\\u{301}``)."""
    if not text or '"' in text or "\\" in text:
        return False
    for c in text:
        if c == " " or (c.isascii() and c.isprintable()):
            continue
        if unicodedata.category(c)[0] not in "LNPS":
            return False
    return True


def _tag_region(tags: Sequence[str], mark: Callable[[Sequence[Words]], str]) -> str | None:
    """A tag that differs between the variants only in placeholder tokens (or,
    on the ``<mjml>`` root, in ``lang`` and ``dir``), with a marker for each
    such value; None otherwise."""
    root = tags[0].startswith("<mjml") and tags[0][5:6] in (" ", "\t", "\n", ">", "/")
    pattern = re.compile(f"{_TOKEN_RE.pattern}|{_ROOT_ATTR_RE.pattern}") if root else _TOKEN_RE

    def shape(tag: str) -> tuple[str, list[str]]:
        values: list[str] = []

        def keep(m: re.Match[str]) -> str:
            if m.lastindex:  # lang / dir: the value between its quotes
                values.append(m.group(2))
                return f"{m.group(1)}\0{m.group(3)}"
            values.append(m.group(0))
            return "\0"

        return pattern.sub(keep, tag), values

    shapes = [shape(t) for t in tags]
    if "\0" in tags[0] or any(s != shapes[0][0] for s, _ in shapes):
        return None
    pieces = shapes[0][0].split("\0")
    out = [pieces[0]]
    for k in range(1, len(pieces)):
        out += (mark([Words(values[k - 1], values[k - 1]) for _, values in shapes]), pieces[k])
    return "".join(out)


def _raw_after(raw: str | None, tag: str) -> str | None:
    """The raw-text element the text after ``tag`` stands in."""
    if raw is not None:
        return None if tag[:2] == "</" and tag[2:].lower().startswith(raw) else raw
    m = _RAW_OPEN_RE.match(tag)
    if m is None or tag.endswith("/>"):
        return None
    return m.group(1).lower()


def _plain(value: str) -> bool:
    """Written the same wherever it lands (a placeholder token, a language code)."""
    return value.isascii() and value.replace("-", "").isalnum()
