"""The fixes to the MJML source before MRML reads it (``before_mrml``): the
first half of :mod:`letterhead.authoring.mjml_fixes`, which says why each
exists and holds the other half (``after_mrml``, on MRML's HTML)."""

from __future__ import annotations

import functools
import re

from .mjml_attributes import CARRIED, HeadDefaults, carry_marker
from .mjml_attributes import MJ_ATTR as _ATTR
from .mjml_attributes import MJ_TAG as _MJ_TAG

# --------------------------------------------------------------------------
# before_mrml: MJML source
# --------------------------------------------------------------------------

_HEAD = re.compile(r"<mj-head\b[^<]*(?:<(?!/mj-head\s*>)[^<]*)*</mj-head\s*>")  # .*?, unrolled

# Attributes copied verbatim onto an HTML attribute (not into CSS) by MJML.
_HTML_VALUED = frozenset({"alt", "title", "href", "src", "name", "rel", "target", "srcset", "sizes"})
# Components whose <img> gets alt="" from the official compiler when none is given.
_ALT_DEFAULT = frozenset({"mj-image", "mj-carousel-image", "mj-social-element"})
# Cheap tests for a tag that one of the attribute fixes below may change.
_ODD_VALUE = re.compile(r"""=\s*"[^"]*[\n\r\t\\]|=\s*'[^']*[\n\r\t\\"]""")
# The lookbehinds stand after the literal: a pattern that starts with one is
# tried at every position (~7x slower in Python's re).
_UNITLESS_ZERO = re.compile(r"""0(?<![\w.]0)(?![\w.%])""")  # (?<![\w.])0(?![\w.%])
_PADDING_ATTR = re.compile(r"(?:^|-)padding(?:-(?:top|right|bottom|left))?$")
_PX_WIDTH_TRUNCATED = frozenset({"mj-column", "mj-group"})
_FRACTIONAL_PX = re.compile(r"\s*\d+\.\d*px\s*")
_NAMED = _ALT_DEFAULT | CARRIED.keys() | _PX_WIDTH_TRUNCATED  # tags tested by name


def before_mrml(mjml: str) -> str:
    mjml = _fix_content(mjml)
    found = _HEAD.search(mjml)
    head = found.group(0) if found else None
    head_start, head_end = found.span() if found else (0, 0)
    # A default alt from mj-attributes / mj-class must win over alt="";
    # the carried attributes the head gives: every such tag takes the slow path.
    alt_from_attributes, carried_by_head = _head_facts(head) if head is not None else (False, frozenset())
    out: list[str] = []
    pos = 0
    # Most tags need nothing: a few cheap tests here, the rest in _fix_tag.
    for m in _MJ_TAG.finditer(mjml):
        name, attrs, selfclose = m.groups()
        if not (
            (name in _NAMED and (
                ((name in _ALT_DEFAULT or (name in CARRIED and (CARRIED[name] in attrs or name in carried_by_head)))
                 and not head_start <= m.start() < head_end)
                or (name in _PX_WIDTH_TRUNCATED and "." in attrs and _FRACTIONAL_PX.search(attrs))))
            or "fluid-height" in attrs
            or (("\n" in attrs or "\t" in attrs or "\\" in attrs or "'" in attrs) and _ODD_VALUE.search(attrs))
            or ("padding" in attrs and _UNITLESS_ZERO.search(attrs))
        ):
            continue
        fixed = _fix_tag(name, attrs, selfclose, head_start <= m.start() < head_end, head, alt_from_attributes)
        if fixed is not None:
            out += (mjml[pos : m.start()], fixed)
            pos = m.end()
    if not out:
        return mjml
    out.append(mjml[pos:])
    return "".join(out)


def _fix_tag(name: str, attrs: str, selfclose: str, in_head: bool, head: str | None,
             alt_from_attributes: bool) -> str | None:
    """The MJML tag ``<name attrs selfclose>`` fixed, or None when it needs nothing."""
    pairs = _ATTR.findall(attrs)
    values = {k.lower(): v for k, _, v in pairs}
    out = []
    changed = False
    carried = CARRIED.get(name) if not in_head else None  # MRML drops it: see below
    for key, eq, raw in pairs:
        lkey = key.lower()
        quote = raw[0] if raw[:1] in "\"'" else '"'
        value = raw[1:-1] if raw[:1] in "\"'" else raw
        original = value
        # MRML prints newlines and tabs inside some MJML attribute values as
        # the two characters "\n" (e.g. mj-image alt); for MJML's attributes
        # (CSS values, class lists, alt text) any whitespace is one space.
        if "\n" in value or "\r" in value or "\t" in value:
            value = " ".join(value.split())
        # A unitless 0 in padding breaks MRML's width arithmetic ("0 50px"
        # makes the column content too wide); MJML reads it as 0px.
        if "padding" in lkey and _PADDING_ATTR.search(lkey):
            value = " ".join("0px" if v == "0" else v for v in value.split(" "))
        # MJML reads a column's or group's px width with parseInt
        # everywhere (its CSS class, its Outlook cell, its content's
        # width): width="199.5px" is 199px; MRML keeps the half pixel.
        if lkey == "width" and name in _PX_WIDTH_TRUNCATED and _FRACTIONAL_PX.fullmatch(value):
            value = value.strip().split(".")[0] + "px"
        # MRML only knows mode="fluid"; MJML's documented value is
        # "fluid-height" (MRML silently renders it as fixed-height, 0px tall).
        if name in ("mj-hero", "mj-class") and lkey == "mode" and value.strip() == "fluid-height":
            value = "fluid"
        if lkey in _HTML_VALUED and ("\\" in value or '"' in value):
            # MRML backslash-escapes '"' and '\' in these ('alt="Say \\"hi\\""');
            # character references survive MRML verbatim and mean the same.
            value = value.replace("\\", "&#92;").replace('"', "&quot;")
            quote = '"'
        if lkey == carried:
            continue
        if value != original:
            changed = True
            out.append(f" {key}{eq}{quote}{value}{quote}")
        else:
            out.append(f" {key}{eq}{raw}")
    # MRML drops mj-button's title and mj-table's role (given here or by
    # mj-attributes): carry them to after_mrml in a css-class marker.
    extra_class, given = "", None
    if name in CARRIED and not in_head:
        defaults = _head_defaults(head) if head is not None and "mj-attributes" in head else None
        extra_class, given = carry_marker(name, values, defaults)
    if extra_class:
        changed = True
        css = values.get("css-class")
        if css is not None:
            css_value = " ".join((css[1:-1] if css[:1] in "\"'" else css).split())
            out = [
                f' css-class="{css_value} {extra_class}"' if o.lstrip().lower().startswith("css-class") else o
                for o in out
            ]
        else:  # the marker must not cost it the css-class mj-attributes give it
            classes = f"{given} {extra_class}" if given else extra_class
            out.append(f" css-class='{classes}'" if '"' in classes else f' css-class="{classes}"')
    # MJML gives every <img> of these an alt="" (decorative) by default;
    # MRML omits alt, so screen readers read out the image's file name.
    if name in _ALT_DEFAULT and not in_head and "alt" not in values and not alt_from_attributes:
        out.append(' alt=""')
        changed = True
    if not changed:
        return None
    space = " " if selfclose and out else ""
    return f"<{name}{''.join(out)}{space}{selfclose}>"




@functools.lru_cache(maxsize=64)
def _head_defaults(head: str) -> HeadDefaults:
    """What the head's mj-attributes give (read only: shared by the templates of one layout)."""
    return HeadDefaults(head)


@functools.lru_cache(maxsize=64)
def _head_facts(head: str) -> tuple[bool, frozenset[str]]:
    """Whether the head gives an alt, and the components whose carried
    attribute it gives (templates of one layout share the head)."""
    # \bname\s*=, its lookbehind after the literal (compiled on first use, by re's cache)
    return bool(re.search(r"alt(?<!\walt)\s*=", head)), \
        frozenset(t for t, k in CARRIED.items() if re.search(rf"{k}(?<!\w{k})\s*=", head))


_CONTENT_TAGS = (
    "mj-text|mj-button|mj-table|mj-raw|mj-navbar-link|mj-social-element|"
    "mj-accordion-title|mj-accordion-text|mj-title|mj-preview"
)
_CONTENT_OPEN = re.compile(r"""<(""" + _CONTENT_TAGS + r""")\b[^>"'/]*(?:(?:/(?!>)|"[^"]*"|'[^']*')[^>"'/]*)*(/?)>""")
_CONTENT_CLOSE = {name: re.compile(rf"</{name}\s*>") for name in _CONTENT_TAGS.split("|")}

def _fix_content(mjml: str) -> str:
    """Fixes inside the HTML content of mj-text, mj-button, mj-raw... and the
    text of mj-title / mj-preview."""
    out: list[str] = []
    pos = done = 0  # where to search from; what is in out
    search = _CONTENT_OPEN.search
    while True:
        m = search(mjml, pos)
        if m is None:
            break
        name, selfclose = m.groups()
        if selfclose:  # no content
            pos = m.end()
            continue
        close = _CONTENT_CLOSE[name].search(mjml, m.end())
        if close is None:
            break
        start, end = m.end(), close.start()
        if mjml.find("<", start, end) >= 0 or (mjml.find(">", start, end) >= 0 and not mjml[start:end].isascii()):
            content = mjml[start:end]
            fixed = _fix_html(content)
            if fixed != content:
                out += (mjml[done:start], fixed)
                done = end
        pos = end
    if not out:
        return mjml
    out.append(mjml[done:])
    return "".join(out)


def _fix_html(content: str) -> str:
    if "\n" in content or "\t" in content or "\r" in content:
        # MRML drops a whitespace-only text node that holds a newline or a
        # tab: "<b>Name</b>\n<a>link</a>" renders "Namelink".  MJML keeps it
        # (one space on screen); character references are kept by MRML and
        # decode to the very same text.
        content = _WS_BETWEEN_TAGS.sub(_encode_ws, content)
    if _BARE_LT.search(content):
        # MRML cannot parse a bare '<' in text ("3 < 5", "<3"): "unable to
        # parse next template".  MJML passes it through and browsers show a
        # '<' that starts no tag as text; &lt; renders the same.
        content = _BARE_LT.sub("&lt;", content)
    if _ODD_HTML_ATTR.search(content):
        content = _HTML_TAG.sub(lambda t: _ATTR.sub(_html_attr, t.group(0)), content)
    if ">" in content and not content.isascii():
        content = _escape_text_gt(content)
    return content


# A tag or comment in HTML content, or a '>' in its text.
_TAG_OR_GT = re.compile(r"""(<!--[\s\S]*?-->|<[A-Za-z/!?][^>"']*(?:(?:"[^"]*"|'[^']*')[^>"']*)*>)|>""")


def _escape_text_gt(content: str) -> str:
    """MRML's parser panics on a '>' in text after a non-ASCII character of
    the same text ("Café > Menu": "byte index is not a char boundary"); MJML
    passes it through, and &gt; renders the same.  Only those are escaped:
    any other '>' is kept as written."""
    out: list[str] = []
    pos = run = 0
    for m in _TAG_OR_GT.finditer(content):
        if m.group(1) is not None:
            run = m.end()
        elif not content[run : m.start()].isascii():
            out += (content[pos : m.start()], "&gt;")
            pos = m.end()
    if not out:
        return content
    out.append(content[pos:])
    return "".join(out)


# (?<=>)[ ]*[\n\r\t]\s*(?=<), led by its '>' (kept by _encode_ws): no match holds a '>'.
_WS_BETWEEN_TAGS = re.compile(r">[ ]*[\n\r\t]\s*(?=<)")
_BARE_LT = re.compile(r"<(?![A-Za-z/!?])")
_ODD_HTML_ATTR = re.compile(r"""=\s*"[^"<>]*[\n\r\t\\]|=\s*'[^'<>]*[\n\r\t\\"]""")
_HTML_TAG = re.compile(r"""<[A-Za-z][^>"']*(?:(?:"[^"]*"|'[^']*')[^>"']*)*>""")


def _encode_ws(m: re.Match[str]) -> str:
    return m.group(0).replace("\r", "&#13;").replace("\n", "&#10;").replace("\t", "&#9;")


def _html_attr(m: re.Match[str]) -> str:
    # MRML re-prints the attributes of HTML inside mj-text / mj-raw with Rust
    # string escapes: a newline in style="a: 1;\n b: 2" becomes the two
    # characters "\n" (so every later CSS declaration is dropped), tabs become
    # "\t", '\' doubles and a '"' in a single-quoted value becomes '\"' (which
    # ends the attribute).  Character references pass through MRML untouched
    # and the browser decodes them to exactly the original value.
    key, eq, raw = m.groups()
    if raw[:1] not in "\"'":
        return m.group(0)
    value = raw[1:-1]
    if not any(c in value for c in "\n\r\t\\\""):
        return m.group(0)
    value = (
        value.replace("\\", "&#92;")
        .replace('"', "&quot;")
        .replace("\r\n", "&#10;")
        .replace("\n", "&#10;")
        .replace("\r", "&#13;")
        .replace("\t", "&#9;")
    )
    return f'{key}{eq}"{value}"'
