"""Where MRML (mjml-python) and the official MJML compiler disagree, fix it here.

Measured against the official compiler (``mjml`` 5.4 on Node) by
``bench/fidelity.py``, which renders both outputs in Chromium and compares
pixels.  Each fix names the difference it corrects and has a regression
case in ``tests/test_mjml_fidelity.py``.  ``before_mrml`` rewrites the MJML
source (:mod:`letterhead.authoring.mjml_source_fixes`), ``after_mrml`` (here)
rewrites MRML's HTML.  Both must stay cheap (MRML
itself takes about 0.3 ms for an email; these fixes about as much again) and
general (no fix knows a particular template).  What MJML computes from the
source's structure (widths through sections, groups and columns, what
mj-attributes give each component) comes from
:func:`letterhead.authoring.mjml_layout.layout` as a :class:`Layout`: MRML's own
numbers are replaced by MJML's, never re-derived from MRML's.

Known differences left alone (no visible effect): attribute order, short hex
colours (``#0a7`` vs ``#00aa77``), a stray ``vertical-align`` attribute on
``<td>``, how Outlook conditional comments are split, ``word-spacing`` repeated
on the wrapper ``<div>``, column class names with float noise
(``mj-column-per-33-333332``), random ids of carousels and navbars, the
Outlook-only widths of columns in an ``mj-group`` (MRML rounds them its own
way), and mj-carousel ``thumbnails="supported"`` (MRML renders none).  MJML 5
attributes MRML 6 ignores are in :mod:`letterhead.authoring.mjml_attributes`:
mj-button's title and mj-table's role are carried through MRML, the others
are listed in :data:`UNSUPPORTED_ATTRIBUTES` (lint reports them).
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Callable
from typing import AnyStr, NamedTuple, TypeVar

from .mjml_attributes import BUTTON_TITLE_MARK as BUTTON_TITLE_MARK
from .mjml_attributes import TABLE_ROLE_MARK as TABLE_ROLE_MARK
from .mjml_attributes import UNSUPPORTED_ATTRIBUTES as UNSUPPORTED_ATTRIBUTES
from .mjml_attributes import restore_carried
from .mjml_attributes import unsupported_attributes as unsupported_attributes
from .mjml_source_fixes import before_mrml as before_mrml

# --------------------------------------------------------------------------
# after_mrml: MRML's HTML
# --------------------------------------------------------------------------

# mj-table's own <table> (MRML's attribute order and style prefix).
_MJ_TABLE = re.compile(
    r'<table border="0" cellpadding="([^"]*)" cellspacing="([^"]*)" width="([^"]*)"'
    r' style="(color:[^"]*?table-layout:[^"]*)">'
)


def _mj_tables(h: str) -> list[re.Match[str]]:
    """``list(_MJ_TABLE.finditer(h))``, led by each "table-layout:" (one per
    mj-table) instead of trying the regex at each of the dozens of tables: a
    match holds nine '"' before the "table-layout:" of its style, the ninth
    back from it ends 'border=' at the match's start.  A match tried from
    one found elsewhere (inside a value) can only be one that holds it in its
    style, and no match can start inside another before its style (each
    value is followed by a different attribute), so the matches come in
    finditer's order."""
    found: list[re.Match[str]] = []
    pos = 0
    j = h.find("table-layout:")
    while j >= 0:
        quote = j
        for _ in range(9):
            quote = h.rfind('"', pos, quote)
            if quote < 0:
                break
        at = quote - len("<table border=")
        if quote >= 0 and at >= pos:
            m = _MJ_TABLE.match(h, at)
            if m is not None:
                found.append(m)
                pos = m.end()
        j = h.find("table-layout:", max(j + 1, pos))
    return found


def _replace(h: str, found: list[re.Match[str]], replace: Callable[[re.Match[str]], str]) -> str:
    """``h`` with each of ``found`` (matches in order, not overlapping) replaced."""
    if not found:
        return h
    out: list[str] = []
    done = 0
    for m in found:
        out += (h[done : m.start()], replace(m))
        done = m.end()
    out.append(h[done:])
    return "".join(out)


_FLUID_HERO_TD = re.compile(r"(mso-padding-bottom-alt:0;padding-bottom:)(\d+(?:\.\d+)?)(;width:0\.01%;)")
_IMAGE_WIDTH = re.compile(
    r'(<td style="width:)(\d+\.\d+)(px;">(?:<a\b[^>]*>)?<img\b[^>]*?\bwidth=")(\d+\.\d+)(")'
)
_MSO_BLOCK = re.compile(r"<!--\[if mso \| IE\]>[^<]*(?:<(?!!\[endif\]-->)[^<]*)*<!\[endif\]-->")  # .*?, unrolled
_MSO_WIDTH = re.compile(r"(width:)(\d+\.\d+)(px)")
# An mj-hero's cell (with its padding), Outlook table and content.
_HERO = re.compile(
    r'(<td\b[^>]*?\bstyle="([^"]*)"[^>]*>'
    r'<!--\[if mso \| IE\]><table border="0" cellpadding="0" cellspacing="0" width=")(\d+)(" style="width:)(\d+)'
    r'(px;"><tr><td><!\[endif\]--><div class="mj-hero-content")'
    # (.*?) before the end, unrolled: the lazy form tries the end at every character
    r"([^<]*(?:<(?!!--\[if mso \| IE\]></td></tr></table><!\[endif\]--></td>)[^<]*)*)"
    r"(<!--\[if mso \| IE\]></td></tr></table><!\[endif\]--></td>)",
)
# An mj-image: its cell's padding, its box width, the <img> width.
_IMAGE_IN_CELL = re.compile(
    r'(<td align="[a-z]+" style="font-size:0px;((?:padding[a-z-]*:[^;"]*;)*)word-break:break-word;">'
    r'<table [^>]*><tbody><tr><td style="width:)(\d+)(px;">(?:<a\b[^>]*>)?<img\b[^>]*?\bwidth=")(\d+)(")'
)
_DIVIDER_MSO_TABLE = re.compile(r'<table [^>]*style="border-top:[^"]*"[^>]*>')
_PX = re.compile(r"(-?\d+(?:\.\d+)?)px")


def _horizontal_padding(style: str) -> float:
    """Left + right padding in px from a style's padding declarations."""
    left = right = 0.0
    for decl in style.split(";"):
        prop, _, value = decl.partition(":")
        prop = prop.strip()
        nums = [float(v) for v in _PX.findall(value)] if "px" in value else [0.0 for v in value.split() if v == "0"]
        if prop == "padding" and nums:
            right = nums[1] if len(nums) > 1 else nums[0]
            left = nums[3] if len(nums) > 3 else right
        elif prop == "padding-left" and nums:
            left = nums[0]
        elif prop == "padding-right" and nums:
            right = nums[0]
    return left + right


def _fix_hero_widths(m: re.Match[str]) -> str:
    # MJML lays out mj-hero's content in the hero's width less its horizontal
    # padding (480px for padding="0 60px"); MRML ignores the padding, so an
    # mj-image in a hero is as wide as the whole hero and sticks out of it,
    # and Outlook's content table is too wide.
    inner = float(m.group(3)) - _horizontal_padding(m.group(2))
    if inner <= 0 or inner == float(m.group(3)):
        return m.group(0)
    width = str(math.floor(inner + 0.5))

    def image(c: re.Match[str]) -> str:
        # MJML: min(width attribute, box); MRML's value is min(width, whole hero box).
        box = int(inner - _horizontal_padding(c.group(2)))
        return f"{c.group(1)}{min(int(c.group(3)), box)}{c.group(4)}{min(int(c.group(5)), box)}{c.group(6)}"

    delta = float(m.group(3)) - inner

    def divider(t: re.Match[str]) -> str:  # Outlook's table for an mj-divider
        return re.sub(
            r'(width(?::|="))(\d+)(px)',
            lambda w: f"{w.group(1)}{max(int(w.group(2)) - int(delta), 0)}{w.group(3)}",
            t.group(0),
        )

    content = _IMAGE_IN_CELL.sub(image, m.group(7))
    content = _DIVIDER_MSO_TABLE.sub(divider, content)
    return f"{m.group(1)}{width}{m.group(4)}{width}{m.group(6)}{content}{m.group(8)}"


# An mj-group: its Outlook cell (whose width the columns share), its <div>,
# and everything up to the Outlook row's end.
_GROUP = re.compile(
    r'(<!--\[if mso \| IE\]><td style="width:(\d+(?:\.\d+)?)px;"><!\[endif\]-->'
    r'<div class="[^"]*" style="font-size:0;line-height:0;[^"]*">)'
    # (.*?) before the end, unrolled: the lazy form tries the end at every character
    r"([^<]*(?:<(?!!--\[if mso \| IE\]></tr></table><!\[endif\]--></div>)[^<]*)*)"
    r"(<!--\[if mso \| IE\]></tr></table><!\[endif\]--></div>)",
)
_GROUP_COLUMN_TD = re.compile(
    r'(<!--\[if mso \| IE\]><td style="vertical-align:[a-z]+;width:)(\d+(?:\.\d+)?)(px;"><!\[endif\]-->'
    r'<div class="[^"]*?\bmj-column-(per|px)-(\d+(?:-\d+)?)\b)'
)
_DEFAULT_FONTS = {
    "Open Sans": "https://fonts.googleapis.com/css?family=Open+Sans:300,400,500,700",
    "Droid Sans": "https://fonts.googleapis.com/css?family=Droid+Sans:300,400,500,700",
    "Lato": "https://fonts.googleapis.com/css?family=Lato:300,400,500,700",
    "Roboto": "https://fonts.googleapis.com/css?family=Roboto:300,400,500,700",
    "Ubuntu": "https://fonts.googleapis.com/css?family=Ubuntu:300,400,500,700",
}


class Layout(NamedTuple):
    """What the official compiler computes from the MJML source where MRML
    differs, in document order (found by :func:`letterhead.authoring.mjml_layout.layout`)."""

    image_widths: tuple[int | None, ...]  # each mj-image's width in px (None: leave MRML's)
    social_borders: tuple[str, ...]  # each mj-social-element's icon border
    # (offset, ' name="value"…') to write into the MJML before MRML reads it
    insertions: tuple[tuple[int, str], ...] = ()
    carousel_images: tuple[str, ...] = ()  # each mj-carousel image's width, as MJML writes it ("199.99999999999997px")
    carousel_thumbnails: tuple[str, ...] = ()  # each mj-carousel thumbnail's width
    group_columns: tuple[tuple[str | None, ...], ...] = ()  # each mj-group: its columns' widths on phones


def after_mrml(html_text: str, layout: Layout | None = None) -> str:
    """``layout``: MJML's own numbers for the source, written over MRML's."""
    h = html_text
    if "table-layout:" in h:
        h = _replace(h, _mj_tables(h), _fix_mj_table)
    if "width:0.01%" in h:
        h = _FLUID_HERO_TD.sub(_fix_fluid_hero, h)
    if "mj-hero-content" in h:
        h = _HERO.sub(_fix_hero_widths, h)
    if "@media screen, yahoo" in h:
        # MRML joins mj-carousel's Yahoo-only media query "screen yahoo" (never
        # true in other clients, on purpose) into "screen, yahoo", which is true
        # everywhere: it hides the carousel's arrows and thumbnails in every client.
        h = h.replace("@media screen, yahoo", "@media screen yahoo")
    h = _sub_led(_IMAGE_WIDTH, '<td style="width:', h, _fix_image_width)
    if layout is not None:
        if layout.image_widths:
            h = _set_image_widths(h, layout.image_widths)
        if layout.social_borders:
            h = _set_social_borders(h, layout.social_borders)
        if layout.carousel_images or layout.carousel_thumbnails:
            h = _set_carousel_widths(h, layout.carousel_images, layout.carousel_thumbnails)
        if layout.group_columns:
            h = _set_group_column_widths(h, layout.group_columns)
    if "[if mso" in h and _MSO_WIDTH.search(h):  # a fractional width somewhere: round those in MSO blocks
        h = _MSO_BLOCK.sub(_fix_mso_widths, h)
    if "line-height:0;text-align" in h:
        h = _GROUP.sub(_fix_group_widths, h)
    return _add_default_fonts(restore_carried(h))


def _fix_mj_table(m: re.Match[str]) -> str:
    # MJML 5 sets border-collapse:separate on mj-table when cellspacing > 0
    # (the spacing only shows then); MRML sets it when a border is given and
    # ignores cellspacing, so row borders (<tr style="border-bottom...">)
    # vanish and cellspacing does nothing.  MJML also writes width="300" for
    # width="300px" (a px in the HTML attribute confuses Outlook).
    cellpadding, cellspacing, width, style = m.groups()
    style = style.replace("border-collapse:separate;", "")
    digits = re.sub(r"[^\d.]", "", cellspacing)
    try:
        spaced = float(digits) > 0 if digits else False
    except ValueError:
        spaced = False
    if spaced:
        style += "border-collapse:separate;"
    if width.endswith("px"):
        width = width[:-2]
    return (
        f'<table border="0" cellpadding="{cellpadding}" cellspacing="{cellspacing}" '
        f'width="{width}" style="{style}">'
    )


def _fix_fluid_hero(m: re.Match[str]) -> str:
    # MRML writes the fluid hero's aspect-ratio spacer as "padding-bottom:66.666664"
    # (no unit: ignored by browsers, so the hero collapses to its content);
    # MJML writes Math.round(height / width * 100) + "%".
    return f"{m.group(1)}{math.floor(float(m.group(2)) + 0.5)}%{m.group(3)}"


def _fix_image_width(m: re.Match[str]) -> str:
    # MRML keeps float noise in mj-image widths (width="143.31401"); MJML
    # truncates the box width to whole pixels (parseInt), so images come out
    # up to 1px narrower and everything below them moves by a pixel.
    return f"{m.group(1)}{int(float(m.group(2)))}{m.group(3)}{int(float(m.group(4)))}{m.group(5)}"


# An mj-image as MRML writes it: its table's style, its cell, the <img>'s width.
_IMAGE_BLOCK = re.compile(
    r'(<table border="0" cellpadding="0" cellspacing="0" role="presentation"(?: class="mj-full-width-mobile")?'
    r' style=")([^"]*border-collapse:collapse;border-spacing:0px;)(">'
    r'<tbody><tr><td(?: class="mj-full-width-mobile")?)((?: style="[^"]*")?)'
    r'(>(?:<a\b[^>]*>)?<img\b[^>]*?\swidth=")([^"]*)(")'
)
_CSS_WIDTH = re.compile(r"(?<![-\w])width:[^;\"]*")


def _set_image_widths(h: str, widths: tuple[int | None, ...]) -> str:
    # MRML computes an mj-image's width in 32-bit floats from the column's
    # width less paddings; MJML truncates at each step (parseInt of the
    # column's containerWidth, of each padding and border), so a column of
    # 33.33333333333333% of 600px gives MRML 150px and MJML 149px.  MJML's
    # own numbers (mjml_layout.layout) replace MRML's: in the <img> width, the
    # cell's style, and (full-width images) the table's style.
    def replace(m: re.Match[str], width: int | None) -> str:
        if width is None:
            return m.group(0)
        table_style, cell = m.group(2), m.group(4)
        if "min-width:100%" in table_style:  # full-width: the width is on the table
            table_style = _CSS_WIDTH.sub(f"width:{width}px", table_style, count=1)
        elif cell:
            cell = _CSS_WIDTH.sub(f"width:{width}px", cell, count=1)
        return f"{m.group(1)}{table_style}{m.group(3)}{cell}{m.group(5)}{width}{m.group(7)}"

    return _sub_each(_IMAGE_BLOCK, h, widths, replace, _image_blocks(h))


# What every _IMAGE_BLOCK match holds where its table's style ends, and how it starts.
_IMAGE_BLOCK_END = 'border-collapse:collapse;border-spacing:0px;"><tbody><tr><td'
_IMAGE_BLOCK_STARTS = (  # the longer first: from one style quote, it starts earlier
    '<table border="0" cellpadding="0" cellspacing="0" role="presentation" class="mj-full-width-mobile" style="',
    '<table border="0" cellpadding="0" cellspacing="0" role="presentation" style="',
)


def _image_blocks(h: str) -> list[re.Match[str]]:
    """``list(_IMAGE_BLOCK.finditer(h))``, led by _IMAGE_BLOCK_END (one per
    image) instead of trying the regex at each of the dozens of tables.  In a
    match, the end of the table's style is the only place that text can
    stand (it holds a '"', a '>' and a '<': no value or tag of the match can),
    and the style's opening quote is the last '"' before it, so the match
    starts at one of two offsets from that quote; starts and ends come in the
    order of those texts, as finditer finds them."""
    found: list[re.Match[str]] = []
    pos = 0
    j = h.find(_IMAGE_BLOCK_END)
    while j >= 0:
        quote = h.rfind('"', pos, j)
        for start in _IMAGE_BLOCK_STARTS if quote >= 0 else ():
            at = quote + 1 - len(start)
            if at >= pos and h.startswith(start, at):
                m = _IMAGE_BLOCK.match(h, at)
                if m is not None:
                    found.append(m)
                    pos = m.end()
                    break
        j = h.find(_IMAGE_BLOCK_END, max(j + 1, pos))
    return found


def _sub_led(pattern: re.Pattern[str], lead: str, h: str, replace: Callable[[re.Match[str]], str]) -> str:
    """``pattern.sub(replace, h)`` for a pattern whose every match starts with
    the text ``lead``: tried only where str.find finds it (faster than the
    regex engine's own scan for a prefix)."""
    out: list[str] = []
    done = 0
    i = h.find(lead)
    while i >= 0:
        m = pattern.match(h, i)
        if m is None:
            i = h.find(lead, i + 1)
            continue
        out += (h[done:i], replace(m))
        done = m.end()
        i = h.find(lead, done)
    if not out:
        return h
    out.append(h[done:])
    return "".join(out)


# An mj-social-element's icon: its cell, then the <img>'s style.
_SOCIAL_ICON = re.compile(
    r'<td style="(?:padding:[^;"]*;)?font-size:0;height:[^;"]*;vertical-align:middle;width:[^;"]*;">'
    r'(?:<a\b[^>]*>)?<img\b[^>]*?\sstyle="'
)


def _set_social_borders(h: str, borders: tuple[str, ...]) -> str:
    # MJML styles each social icon <img> with the element's border (default
    # "border:0", which keeps a linked icon free of the blue link border some
    # clients draw); MRML writes no border at all.
    return _sub_each(_SOCIAL_ICON, h, borders, lambda m, border: f"{m[0]}border:{html.escape(border)};")


_CAROUSEL_IMAGE = re.compile(
    r'(<img border="0"[^>]*? width=")[^"]*(" style="border-radius:[^;"]*;display:block;width:)[^;"]*'
    r'(;max-width:100%;height:auto;")'
)
_CAROUSEL_THUMBNAIL = re.compile(
    r'(<a\b[^>]*? class="mj-carousel-thumbnail [^"]*" style="[^"]*;width:)[^;"]*'
    r'(;">\s*<label\b[^>]*>\s*<img\b[^>]*? width=")[^"]*(")'
)


def _set_carousel_widths(h: str, images: tuple[str, ...], thumbnails: tuple[str, ...]) -> str:
    # mj-carousel: MJML writes each image as wide as the column, its width
    # attribute parseInt'ed ("199.99999999999997px", width="199"), where MRML
    # has its own float (200px); and every thumbnail 110px wide unless
    # tb-width says otherwise (MJML 5.4's own quirk: it means the column
    # width / the number of images, but that width is undefined), where MRML
    # shrinks them to fit (100px for 2 images in a 200px column).
    def parse_int(width: str) -> str:
        m = re.match(r"\s*[+-]?\d+", width)
        return m.group().strip() if m else "NaN"

    h = _sub_each(_CAROUSEL_IMAGE, h, images, lambda m, w: f"{m[1]}{parse_int(w)}{m[2]}{w}{m[3]}")
    return _sub_each(_CAROUSEL_THUMBNAIL, h, thumbnails, lambda m, w: f"{m[1]}{w}{m[2]}{parse_int(w)}{m[3]}")


_T = TypeVar("_T")


def _sub_each(
    pattern: re.Pattern[str], text: str, values: tuple[_T, ...], replace: Callable[[re.Match[str], _T], str],
    found: list[re.Match[str]] | None = None,
) -> str:
    """Replace the n-th match of ``pattern`` using the n-th value; nothing
    when the matches are not exactly as many as the values (then they are not
    the components the values were computed for).  ``found``: the matches,
    when the caller has them."""
    if found is None:
        found = list(pattern.finditer(text))
    if len(found) != len(values):
        return text
    out: list[str] = []
    pos = 0
    for m, value in zip(found, values, strict=True):
        out += (text[pos : m.start()], replace(m, value))
        pos = m.end()
    out.append(text[pos:])
    return "".join(out)


_GROUP_COLUMN_DIV = re.compile(r'(<div class="mj-outlook-group-fix mj-column-[^"]*" style="[^"]*?;width:)([^;"]*)(;")')


def _set_group_column_widths(h: str, groups: tuple[tuple[str | None, ...], ...]) -> str:
    # The columns of an mj-group stay side by side on phones, each as wide as
    # its inline style says: MJML writes the column's width as given
    # (33.33333333333333%), or 100 / the number of columns truncated (33%);
    # MRML writes its own float (33.333332%), so at 375px the columns sit a
    # pixel or two off.
    def one_group(m: re.Match[str], widths: tuple[str | None, ...]) -> str:
        content = _sub_each(_GROUP_COLUMN_DIV, m.group(3), widths, lambda c, w: f"{c[1]}{w or c[2]}{c[3]}")
        return m.group(0)[: m.start(3) - m.start()] + content + m.group(0)[m.end(3) - m.start():]

    return _sub_each(_GROUP, h, groups, one_group)


def _fix_mso_widths(m: re.Match[str]) -> str:
    # Outlook's column cells: MRML writes "width:191.4px" / "193.31401px";
    # MJML rounds to whole pixels (Word's renderer does not do fractions).
    return _MSO_WIDTH.sub(lambda w: f"{w.group(1)}{math.floor(float(w.group(2)) + 0.5)}{w.group(3)}", m.group(0))


def _fix_group_widths(m: re.Match[str]) -> str:
    # Outlook's cells for the columns of an mj-group: MJML gives each its share
    # of the group (Math.round(548 * 50%) = 274px); MRML also subtracts the
    # column's own padding (262px for padding="0px 6px"), so in Outlook the
    # columns come out narrower than the group and no longer fill it.
    group_width = float(m.group(2))

    def cell(c: re.Match[str]) -> str:
        amount = float(c.group(5).replace("-", "."))
        width = group_width * amount / 100 if c.group(4) == "per" else amount
        return f"{c.group(1)}{math.floor(width + 0.5)}{c.group(3)}"

    return m.group(1) + _GROUP_COLUMN_TD.sub(cell, m.group(3)) + m.group(4)


def _in_font_family(lower: AnyStr, name: AnyStr) -> bool:
    """Whether ``name`` follows "font-family:" inside a double-quoted value
    of (lowercased) ``lower``: ``re.search('"[^"]*font-family:[^"]*NAME[^"]*"')``."""
    return name in _font_families(lower)


def _font_families(lower: AnyStr) -> AnyStr:
    """What follows each "font-family:" up to the next '"' (when a '"' stands
    before it too), joined by '"': a name (no '"' in it) is in there exactly
    when ``re.search('"[^"]*font-family:[^"]*NAME[^"]*"', lower)`` finds it.
    Led by the few "font-family:" of a document, not by every quote."""
    quote, prop = (b'"', b"font-family:") if isinstance(lower, bytes) else ('"', "font-family:")
    parts = []
    first = lower.find(quote)
    f = lower.find(prop, first + 1) if first != -1 else -1
    while f != -1:
        end = lower.find(quote, f + 12)
        if end == -1:
            break
        parts.append(lower[f + 12 : end])
        f = lower.find(prop, f + 12)
    return quote.join(parts)


# The names as _add_default_fonts looks for them; every URL starts with the prefix.
_DEFAULT_FONT_NAMES = tuple((name.lower().encode(), url) for name, url in _DEFAULT_FONTS.items())
_DEFAULT_FONT_URL_PREFIX = "https://fonts.googleapis.com/css?family="


def _add_default_fonts(h: str) -> str:
    # MJML imports its default web fonts (Ubuntu, Roboto...) whenever a
    # font-family in the output names one, e.g. the Ubuntu that mj-navbar's
    # hamburger or mj-social use unless told otherwise; MRML only imports the
    # fonts named in component attributes, so such text renders in a fallback.
    head_end = h.find("</head>")
    if head_end < 0 or "font-family:" not in h:
        return h
    # Lowered as UTF-8 bytes (ASCII letters only: a third of str.lower's
    # cost).  The same answers as h.lower(): the needles (the names,
    # "font-family:", '"') are ASCII, and the only other characters str.lower
    # turns into ASCII are KELVIN SIGN (k: in no needle) and I WITH DOT ABOVE
    # ("i" + U+0307: no needle holds the combining dot).
    families = _font_families(h.encode("utf-8", "surrogatepass").lower())
    imported = _DEFAULT_FONT_URL_PREFIX in h  # else no default font's URL is
    missing = [url for name, url in _DEFAULT_FONT_NAMES if name in families and not (imported and url in h)]
    if not missing:
        return h
    links = "".join(f'<link href="{u}" rel="stylesheet" type="text/css">' for u in missing)
    imports = "".join(f"@import url({u});" for u in missing)
    block = f'<!--[if !mso]><!-->{links}<style type="text/css">{imports}</style><!--<![endif]-->'
    return h[:head_end] + block + h[head_end:]
