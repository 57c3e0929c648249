"""Right-to-left variants: ``dir`` on the document and a mirrored layout.

A template is written once, by a designer working left to right.  Its Arabic,
Hebrew, Persian or Urdu variant (:func:`letterhead.locales.is_rtl`) must read
right to left, and MRML gets only half of that right: from
``<mjml lang="ar" dir="rtl">`` (:func:`mjml_dir`, before MRML) it writes
``<html lang="ar" dir="rtl">`` and the same on the ``<div>`` that wraps the
body, but every section, column and text block keeps the inline
``direction:ltr`` and ``text-align:left`` (and ``align="left"`` attributes)
MJML writes by default.  Inline styles win over an inherited ``dir``, so in a
browser the columns still run left to right and every paragraph hugs the left
edge.  :func:`mirror` (after MRML and CSS inlining) fixes that.

What mirroring means for a designer
-----------------------------------
The RTL variant is the *mirror image* of the source layout, which is what
right-to-left readers expect of an email, as of any page written in their
script:

* the columns of a section run from right to left: the first column, on the
  left in English, is on the right in Arabic;
* ``left`` and ``right`` swap everywhere a side is chosen: text alignment
  (MJML's default ``align="left"`` of ``mj-text`` becomes right), the
  placement of images, buttons, social icons and tables, floats.  A designer's
  *explicit* ``align="left"`` becomes right as well, and ``align="right"``
  becomes left: after MRML an explicit ``left`` cannot be told from the
  default, and in a mirrored layout "left" means "the side the text starts
  on".  ``center`` stays centred;
* the document, the ``<body>`` and the body's wrapper ``<div>`` carry
  ``dir="rtl"``: Gmail and other webmail clients drop the attributes of
  ``<html>`` and ``<body>``, the wrapper's survive.

What is left alone
------------------
* padding, margins and borders: ``padding-left="40px"`` stays on the left.
  Give RTL-sensitive blocks symmetrical padding, or a different value per
  variant;
* images themselves: a picture or an arrow icon is not flipped, only placed
  on the other side.  Use a separate image where the drawing has a direction;
* ``direction:rtl`` the designer set (``<mj-section direction="rtl">``, the
  trick that reverses the columns of an LTR layout) stays ``rtl``: the text in
  those columns must still read right to left, so that section keeps the
  column order of the source;
* ``dir`` attributes other than the three above.  Mark a left-to-right island
  in RTL text (a phone number, a code, a URL) with ``dir="ltr"`` or ``<bdi>``,
  never with ``style="direction:ltr"``, which mirroring turns to ``rtl`` like
  MRML's own;
* ``background-position`` and other CSS values that name a side;
* text content, CSS in ``<style>`` blocks, and anything inside an SES
  mustache ``{{…}}``.  Text is the translator's: an email about "text-align:
  left" keeps its words.  ``<style>`` blocks hold MRML's resets and the
  responsive ``@media`` rules, which set widths and display, never a side
  (measured on the MJML fidelity cases), and the designer's CSS that is not
  inlined (hover and media rules; ``mj-style inline="inline"`` CSS is inline
  by now and *is* mirrored).  Rewriting rules would need a CSS parser that
  knows selectors, strings, comments and ``url()``; the designer can target
  the variant with a ``[dir="rtl"]`` or ``:lang(ar)`` selector instead.
  Mustaches reach this module only if a step upstream leaves them in (the
  build hands it placeholder tokens, ``xlh\\d+x``, which hold no side word);
  their insides are never rewritten.

Outlook's conditional comments (``<!--[if mso | IE]>…<![endif]-->``) hold
tags like any others and are mirrored with the rest.

:func:`mirror` is not idempotent: a second call swaps the alignments back
(left ↔ right is its own inverse) while ``direction`` and ``dir`` stay
``rtl``.  The build calls it once, on the HTML of RTL variants only.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable

from ..locales import bcp47

__all__ = ["mirror", "mjml_dir"]

# How mirror() finds its work.  Python's re is slow at scanning a document
# for several words, slower still case-insensitively, and a regex over every
# tag costs milliseconds (measured on a 21 kB Calndr email: 0.25 ms a word,
# 2 ms for the tags).  So the document is lowered once, as UTF-8 bytes
# (ASCII-only and length-preserving: offsets stay valid), the three values
# mirroring changes (left, right, ltr) are found with bytes.find (a few dozen
# in an email), and each is checked where it stands with a few bytes methods:
# inside a start tag, outside <style>/<script> blocks and mustaches, and the
# whole value of an ``align`` attribute or of a ``text-align``/``float``/
# ``direction`` declaration in a ``style`` attribute.  What that quick look
# cannot settle (a quote ' or a mustache before the value in its tag, a >
# inside a value: MRML and the inliner write none) sends the whole tag through
# the exact regex path, _ATTR_RE.  Measured: 0.4-0.5 ms for each Calndr email
# on the 2-CPU test machine (a compile there takes ~8 ms); tests/test_rtl.py
# checks the result against an HTML parser on every MJML case of the tests.
_VALUES = (b"left", b"right", b"ltr")
_PROPERTIES = {b"left": (b"text-align", b"float"), b"right": (b"text-align", b"float"), b"ltr": (b"direction",)}
_WORD = frozenset(b"abcdefghijklmnopqrstuvwxyz0123456789_-")
_SPACE = frozenset(b" \t\n\r\f")
_VALUE_END = frozenset(b" \t\n\r\f/>")  # what ends an unquoted value
_LETTERS = frozenset(b"abcdefghijklmnopqrstuvwxyz")
# A start tag: quoted values may hold < and >.
_TAG_RE = re.compile(rb"""<[a-zA-Z][^<>"']*(?:(?:"[^"]*"|'[^']*')[^<>"']*)*>""")
# The exact path, for one tag: a mustache (kept) or a style/align attribute...
_ATTR_RE = re.compile(
    rb"""\{\{[^{}]*\}\}"""
    rb"""|(?<![\w:.-])(style|align)(\s*=\s*)(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`{]+))""",
    re.IGNORECASE,
)
# ... and in a style value: a mustache (kept) or a declaration to mirror.
_DECL_RE = re.compile(
    rb"""\{\{[^{}]*\}\}"""
    rb"""|(?<![\w-])(text-align|float|direction)(\s*:\s*)(left|right|ltr)(?![\w-])""",
    re.IGNORECASE,
)
_SWAP = {b"left": b"right", b"right": b"left", b"ltr": b"rtl"}
_DIR_ATTR_RE = re.compile(rb"""\s+dir\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+)""", re.IGNORECASE)


class _Exact(Exception):
    """The quick look cannot settle this tag: use the exact path."""


def _swap(word: bytes) -> bytes:
    swapped = _SWAP[word.lower()]
    return swapped.upper() if word.isupper() else swapped


def _mirror_decl(m: re.Match[bytes]) -> bytes:
    if m.group(1) is None:  # a mustache
        return m.group(0)
    return m.group(1) + m.group(2) + _swap(m.group(3))


def _mirror_attr(m: re.Match[bytes]) -> bytes:
    name = m.group(1)
    if name is None:  # a mustache
        return m.group(0)
    if m.group(3) is not None:
        value, quote = m.group(3), b'"'
    elif m.group(4) is not None:
        value, quote = m.group(4), b"'"
    else:
        value, quote = m.group(5), b""
    if name.lower() == b"style":
        value = _DECL_RE.sub(_mirror_decl, value)
    elif value.strip().lower() in (b"left", b"right"):
        value = value.replace(value.strip(), _swap(value.strip()))
    return name + m.group(2) + quote + value + quote


def _set_dir(tag: bytes) -> bytes:
    """``tag`` (a whole start tag) with ``dir="rtl"``, replacing any dir it has."""
    m = _DIR_ATTR_RE.search(tag)
    if m is not None:  # in place; a duplicate dir goes
        return tag[: m.start()] + b' dir="rtl"' + _DIR_ATTR_RE.sub(b"", tag[m.end() :])
    end = len(tag) - (2 if tag.endswith(b"/>") else 1)
    return tag[:end].rstrip() + b' dir="rtl"' + tag[end:]


def _skipped_spans(low: bytes) -> tuple[list[int], list[int]]:
    """The <style>/<script> blocks and mustaches of ``low``, merged where
    they overlap: (starts, ends), both ascending."""
    spans: list[tuple[int, int]] = []
    for opener, closer in ((b"<style", b"</style"), (b"<script", b"</script"), (b"{{", b"}}")):
        i = low.find(opener)
        while i >= 0:
            j = low.find(closer, i + len(opener))
            j = len(low) if j < 0 else j + len(closer)
            spans.append((i, j))
            i = low.find(opener, j)
    starts: list[int] = []
    ends: list[int] = []
    for i, j in sorted(spans):
        if ends and i < ends[-1]:
            ends[-1] = max(ends[-1], j)
        else:
            starts.append(i)
            ends.append(j)
    return starts, ends


def _attribute_named(head: bytes, name: bytes) -> bool:
    """Whether ``head`` (a tag up to an ``=``, spaces allowed) ends with the attribute ``name``."""
    if head.endswith(b" " + name + b"="):  # as MRML and the inliner write it
        return True
    head = head.rstrip()
    if not head.endswith(b"="):
        return False
    head = head[:-1].rstrip()
    return head.endswith(name) and head[-len(name) - 1] in _SPACE


def _declares(before: bytes, word: bytes) -> bool:
    """Whether ``before`` (a style value up to ``word``) ends with ``property:``
    for a property ``word`` is mirrored in."""
    before = before.rstrip()
    if not before.endswith(b":"):
        return False
    before = before[:-1].rstrip()
    for prop in _PROPERTIES[word]:
        if before.endswith(prop):
            return len(before) == len(prop) or before[-len(prop) - 1] not in _WORD
    return False


def _quick(low: bytes, lt: int, pos: int, word: bytes) -> bool:
    """Whether the value ``word`` at ``pos``, in the start tag that begins at
    ``lt``, is one to swap.  Raises :class:`_Exact` for what only the exact
    path can tell."""
    head = low[lt:pos]
    if b"'" in head or b"{{" in head:
        raise _Exact
    end = pos + len(word)
    if head.count(b'"') % 2:  # in a double-quoted value: whose?
        q = head.rfind(b'"')
        owner, before = head[:q], head[q + 1 :]
        if _attribute_named(owner, b"style"):
            return _declares(before, word)
        return (word != b"ltr" and low[end : end + 8].lstrip()[:1] == b'"' and not before.strip()
                and _attribute_named(owner, b"align"))
    stem = head.rstrip()  # an unquoted value: align=left, or something for the exact path
    if stem.endswith(b"="):
        return word != b"ltr" and low[end] in _VALUE_END and _attribute_named(stem, b"align")
    if stem.endswith(b":"):
        raise _Exact
    return False


def mirror(html: str) -> str:
    """Mirror the compiled HTML of a right-to-left variant (see the module
    docstring): ``dir="rtl"`` on ``<html>``, ``<body>`` and the body's first
    ``<div>``; in ``style`` attributes ``direction:ltr`` → ``rtl`` and
    ``text-align``/``float`` ``left`` ↔ ``right``; ``align="left"`` ↔
    ``"right"``.  Text, ``<style>`` blocks and mustaches are not touched."""
    doc = html.encode("utf-8", "surrogatepass")
    low = doc.lower() + b" "  # a byte after the last: low[end] is always there
    starts, ends = _skipped_spans(low)
    last_skipped = ends[-1] if ends else -1

    def skipped(pos: int) -> bool:
        k = bisect.bisect_right(starts, pos) - 1
        return k >= 0 and pos < ends[k]

    swaps: list[tuple[int, int, int]] = []  # (tag start, value start, value end)
    exact: set[int] = set()  # tag starts for the exact path
    for word in _VALUES:
        pos = low.find(word)
        while pos >= 0:
            end = pos + len(word)
            if low[pos - 1] not in _WORD and low[end] not in _WORD and not (pos < last_skipped and skipped(pos)):
                lt = low.rfind(b"<", 0, pos)
                if lt >= 0 and low[lt + 1] in _LETTERS and lt not in exact and not (lt < last_skipped and skipped(lt)):
                    try:
                        if low.find(b">", lt, pos) >= 0:  # text after the tag, or a '>' in a value
                            m = _TAG_RE.match(low, lt)
                            if m is not None and m.end() > pos:
                                raise _Exact
                        elif _quick(low, lt, pos, word):
                            swaps.append((lt, pos, end))
                    except _Exact:
                        exact.add(lt)
            pos = low.find(word, end)
    edits: dict[int, tuple[int, bytes]] = {}  # start → (end, replacement)
    for lt in exact:
        m = _TAG_RE.match(doc, lt)
        if m is not None:
            edits[lt] = (m.end(), _ATTR_RE.sub(_mirror_attr, m.group(0)))
    for lt, start, end in swaps:
        if lt not in exact:
            edits[start] = (end, _swap(doc[start:end]))
    for lt in _dir_tags(low, skipped):
        m = _TAG_RE.match(doc, lt)
        if m is None:
            continue
        end, tag = edits.get(lt, (m.end(), m.group(0)))
        inner = sorted(s for s in edits if lt < s < end)  # value swaps inside: into the tag first
        if inner and lt not in edits:
            parts: list[bytes] = []
            at = lt
            for s in inner:
                e, new = edits.pop(s)
                parts += (doc[at:s], new)
                at = e
            parts.append(doc[at:end])
            tag = b"".join(parts)
        edits[lt] = (end, _set_dir(tag))
    out: list[bytes] = []
    done = 0
    for start in sorted(edits):
        end, new = edits[start]
        out += (doc[done:start], new)
        done = end
    out.append(doc[done:])
    return b"".join(out).decode("utf-8", "surrogatepass")


def _dir_tags(low: bytes, skipped: Callable[[int], bool]) -> list[int]:
    """Where <html>, <body> and the body's first <div> begin (those present)."""
    found: list[int] = []
    start = 0
    for name in (b"<html", b"<body", b"<div"):
        lt = low.find(name, start)
        while lt >= 0 and (low[lt + len(name)] not in _VALUE_END or skipped(lt)
                           or low.rfind(b"<!--", 0, lt) > low.rfind(b"-->", 0, lt)):  # in a comment
            lt = low.find(name, lt + 1)
        if lt >= 0:
            found.append(lt)
            if name == b"<body":
                start = lt + 1
        elif name == b"<body":
            break
    return found


_MJML_ROOT_RE = re.compile(
    r"""<!--.*?-->|<mjml(?=[\s/>])[^<>"']*(?:(?:"[^"]*"|'[^']*')[^<>"']*)*>""", re.DOTALL | re.IGNORECASE
)
_LANG_DIR_ATTR_RE = re.compile(
    r"""\s+(?:lang|dir)\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>`/]+)""", re.IGNORECASE
)


def mjml_dir(mjml_text: str, lang: str, rtl: bool) -> str:
    """``<mjml lang=… dir=…>`` for a locale variant, replacing the root's own
    ``lang`` and ``dir``: MRML copies both onto ``<html>`` and the body's
    wrapper ``<div>``.  ``lang`` is a locale (``pt_BR``) or a BCP 47 tag
    (``pt-BR``); HTML gets the BCP 47 spelling.  Line breaks are kept, so
    every line stays where it was; offsets after the root tag move, as with
    any attribute added.  A document without an ``<mjml>`` root is returned
    as it is (the compile reports it)."""
    for m in _MJML_ROOT_RE.finditer(mjml_text):
        tag = m.group(0)
        if tag.startswith("<!--"):
            continue
        closing = "/>" if tag.endswith("/>") else ">"
        # the attributes replaced leave their line breaks: the lines after stay where they were
        attrs = _LANG_DIR_ATTR_RE.sub(lambda a: "\n" * a.group(0).count("\n"), tag[5 : -len(closing)])
        attrs = attrs.rstrip(" \t")
        value = re.sub(r"[^A-Za-z0-9-]", "", bcp47(lang))
        new = f'<mjml{attrs} lang="{value}" dir="{"rtl" if rtl else "ltr"}"{closing}'
        return mjml_text[: m.start()] + new + mjml_text[m.end() :]
    return mjml_text
