"""Right-to-left variants (issue 13): ``letterhead.authoring.rtl``.

* unit tests on MRML's own output: :func:`mirror` swaps the sides MRML writes
  inline (and nothing else), leaves text, ``<style>`` blocks, placeholder
  tokens and mustaches alone; :func:`mjml_dir` sets ``lang``/``dir`` on the
  root; an independent oracle (Python's HTML parser) checks every attribute
  of every MJML case in tests/projects;
* a Chromium test that *measures* an Arabic email: the ink of each paragraph
  hugs the right edge of its block and the first column is on the right,
  while the same document without :func:`mirror` still reads left to right.
"""

from __future__ import annotations

import re
import struct
import zlib
from html.parser import HTMLParser

import pytest

from letterhead.authoring.compile import render_plain_mjml
from letterhead.authoring.rtl import mirror, mjml_dir

from .browser import browser, open_html
from .helpers import REPO

TOKEN = "xlh0000001x"

# An Arabic email: default-aligned text, explicit left and right, a button, an
# image placed left, and a two-column section whose first column is a red block.
ARABIC = f"""<mjml>
  <mj-head>
    <mj-attributes><mj-all font-family="DejaVu Sans, sans-serif" /></mj-attributes>
  </mj-head>
  <mj-body width="600px" background-color="#ffffff">
    <mj-section>
      <mj-column>
        <mj-text font-size="18px" color="#000000">مرحبا {TOKEN}</mj-text>
        <mj-text align="left" font-size="18px" color="#000000">أهلا وسهلا</mj-text>
        <mj-text align="right" font-size="18px" color="#000000">شكرا لك</mj-text>
        <mj-button href="https://example.com/accept">قبول الدعوة</mj-button>
        <mj-image src="https://example.com/logo.png" width="100px" align="left" />
      </mj-column>
    </mj-section>
    <mj-section>
      <mj-column background-color="#d00000"><mj-spacer height="40px" /></mj-column>
      <mj-column><mj-text font-size="18px" color="#000000">العمود الثاني</mj-text></mj-column>
    </mj-section>
  </mj-body>
</mjml>
"""


def compiled(mjml: str = ARABIC, *, lang: str = "ar", rtl: bool = True) -> str:
    return render_plain_mjml(mjml_dir(mjml, lang, rtl))


# --------------------------------------------------------------------------
# an oracle: the document as Python's HTML parser reads it
# --------------------------------------------------------------------------


class _Events(HTMLParser):
    """Start tags (with attributes), text and comments, in order; Outlook's
    conditional comments are read as the HTML they hold."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.events: list[tuple[str, object]] = []

    def handle_starttag(self, tag, attrs):  # type: ignore[no-untyped-def]
        self.events.append(("tag", (tag, attrs)))

    def handle_startendtag(self, tag, attrs):  # type: ignore[no-untyped-def]
        self.events.append(("tag", (tag, attrs)))

    def handle_data(self, data):  # type: ignore[no-untyped-def]
        self.events.append(("text", data))

    def handle_comment(self, data):  # type: ignore[no-untyped-def]
        if data.startswith("[if"):
            self.events.append(("comment", data.split(">", 1)[0]))
            self.events += events(data.split(">", 1)[1])
        else:
            self.events.append(("comment", data))


def events(html: str) -> list[tuple[str, object]]:
    p = _Events()
    p.feed(html)
    p.close()
    return p.events


def start_tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    out: list[tuple[str, dict[str, str | None]]] = []
    for kind, value in events(html):
        if kind == "tag":
            tag, attrs = value  # type: ignore[misc]
            out.append((tag, dict(attrs)))
    return out


_SIDE = {"left": "right", "right": "left"}
_DECL = re.compile(r"(?<![\w-])(text-align|float|direction)(\s*:\s*)(left|right|ltr)(?![\w-])", re.IGNORECASE)


def expected_attrs(attrs: list[tuple[str, str | None]], *, gets_dir: bool) -> list[tuple[str, str | None]]:
    """What mirroring must make of one tag's attributes (written apart from the module)."""
    out: list[tuple[str, str | None]] = []
    for name, value in attrs:
        if name == "align" and value is not None and value.strip().lower() in _SIDE:
            value = value.replace(value.strip(), _SIDE[value.strip().lower()])
        elif name == "style" and value is not None:
            value = _DECL.sub(lambda m: m.group(1) + m.group(2) + {"left": "right", "right": "left", "ltr": "rtl"}[
                m.group(3).lower()], value)
        elif name == "dir" and gets_dir:
            value = "rtl"
        out.append((name, value))
    if gets_dir and "dir" not in dict(attrs):
        out.append(("dir", "rtl"))
    return out


def check_against_oracle(before: str, after: str) -> None:
    """Every start tag mirrored as :func:`expected_attrs` says, everything
    else (text, comments, CSS, the order of things) exactly as it was."""
    old, new = events(before), events(after)
    assert len(old) == len(new)
    seen: set[str] = set()
    for (kind, a), (kind2, b) in zip(old, new, strict=True):
        assert kind == kind2
        if kind != "tag":
            assert a == b
            continue
        tag, attrs = a  # type: ignore[misc]
        gets_dir = (tag in ("html", "body") or (tag == "div" and "body" in seen)) and tag not in seen
        seen.add(tag)
        assert b == (tag, expected_attrs(attrs, gets_dir=gets_dir)), (tag, attrs, b)


# --------------------------------------------------------------------------
# mirror() on MRML's output
# --------------------------------------------------------------------------


def test_mrml_keeps_ltr_sides_inline_in_an_rtl_document() -> None:
    # Why mirror() exists: <mjml dir="rtl"> reaches <html>, not the inline styles.
    html = compiled()
    assert re.search(r'<html[^>]*\bdir="rtl"', html)
    assert "direction:ltr" in html and "text-align:left" in html and 'align="left"' in html


def test_mirror_swaps_every_side_mrml_writes() -> None:
    html = compiled()
    out = mirror(html)
    assert "direction:ltr" not in out
    assert out.count("direction:rtl") == html.count("direction:ltr") + html.count("direction:rtl") > 0
    assert out.count("text-align:right") == html.count("text-align:left") > 0
    assert out.count("text-align:left") == html.count("text-align:right") > 0
    assert out.count('align="right"') == html.count('align="left"') > 0
    assert out.count("text-align:center") == html.count("text-align:center")
    check_against_oracle(html, out)


def _text_div_style(html: str, text: str) -> str:
    m = re.search(r'<div style="([^"]*)">' + re.escape(text) + "</div>", html)
    assert m, text
    return m.group(1)


def test_mirror_mirrors_each_component_as_a_designer_reads_it() -> None:
    out = mirror(compiled())
    # mj-text: the default and an explicit left both end on the right, an explicit right on the left
    assert "text-align:right" in _text_div_style(out, f"مرحبا {TOKEN}")
    assert "text-align:right" in _text_div_style(out, "أهلا وسهلا")
    assert "text-align:left" in _text_div_style(out, "شكرا لك")
    # mj-image align="left": its cell now places it right; mj-button stays centred
    assert re.search(r'<td align="right"[^>]*>\s*<table[^>]*>\s*<tbody>\s*<tr>\s*<td style="width:100px;">', out)
    assert re.search(r'<td align="center"[^>]*>\s*<table[^>]*>\s*<tbody>\s*<tr>\s*<td align="center" bgcolor', out)
    # columns: both column divs and the section cells run right to left
    assert len(re.findall(r'class="mj-outlook-group-fix mj-column-per-50" style="[^"]*direction:rtl', out)) == 2
    # dir on <html>, <body> and the wrapper <div> (Gmail keeps only the last)
    tags = start_tags(out)
    assert [a.get("dir") for t, a in tags if t in ("html", "body")] == ["rtl", "rtl"]
    body = next(i for i, (t, _) in enumerate(tags) if t == "body")
    assert tags[body + 1][0] == "div" and tags[body + 1][1]["dir"] == "rtl"
    assert tags[body + 1][1]["role"] == "article"


def test_mirror_keeps_tokens_text_and_css() -> None:
    html = compiled()
    out = mirror(html)
    assert out.count(TOKEN) == html.count(TOKEN) == 1
    assert re.findall(r"<style.*?</style>", out, re.S) == re.findall(r"<style.*?</style>", html, re.S)
    assert [v for k, v in events(out) if k == "text"] == [v for k, v in events(html) if k == "text"]


def test_ltr_document_is_untouched_without_mirror() -> None:
    # An LTR variant never goes through mirror(): mjml_dir(..., rtl=False)
    # changes lang and dir on the document and nothing else.
    en = compiled(lang="en", rtl=False)
    plain = render_plain_mjml(ARABIC)  # the build's old path: lang="en", MRML's dir="auto"
    assert re.search(r'<html lang="en" dir="ltr"', en)
    assert "direction:rtl" not in en and "text-align:left" in en
    strip = lambda h: re.sub(r'\s(?:lang|dir)="[^"]*"', "", h)  # noqa: E731
    assert strip(en) == strip(plain)


def test_mirror_twice_swaps_alignments_back_and_stays_rtl() -> None:
    html = compiled()
    body = re.search(r"<body[^>]*>", html).group(0)  # type: ignore[union-attr]
    expected = html.replace("direction:ltr", "direction:rtl").replace(body, body[:-1] + ' dir="rtl">')
    assert mirror(mirror(html)) == expected


# --------------------------------------------------------------------------
# mirror() on what MRML does not write but a designer's HTML may hold
# --------------------------------------------------------------------------


def test_text_style_blocks_comments_and_mustaches_are_left_alone() -> None:
    html = (
        '<html lang="ar"><head><style>.x { text-align: left; float: left; direction: ltr }</style></head>'
        '<body><div><p style="text-align:left">text-align:left, align="left" and style="float:left"; direction:ltr'
        " &lt;td align=&quot;left&quot;&gt;</p>"
        '<table><tr><td {{#if wide}}align="left"{{/if}} style="text-align:left;color:{{color}}">'
        '{{t "text-align:left"}} {{{raw \'<td align="left">\'}}}</td></tr></table>'
        '<a title="{{x align=\'left\'}}" href="#">left</a>'
        '<!--[if mso]><table align="left" style="direction:ltr"><![endif]-->'
        "<script>var s = '<td align=\"left\">';</script>"
        "</div></body></html>"
    )
    out = mirror(html)
    assert out == (
        '<html lang="ar" dir="rtl"><head><style>.x { text-align: left; float: left; direction: ltr }</style></head>'
        '<body dir="rtl"><div dir="rtl"><p style="text-align:right">text-align:left, align="left" and '
        'style="float:left"; direction:ltr &lt;td align=&quot;left&quot;&gt;</p>'
        '<table><tr><td {{#if wide}}align="right"{{/if}} style="text-align:right;color:{{color}}">'
        '{{t "text-align:left"}} {{{raw \'<td align="left">\'}}}</td></tr></table>'
        '<a title="{{x align=\'left\'}}" href="#">left</a>'
        '<!--[if mso]><table align="right" style="direction:rtl"><![endif]-->'
        "<script>var s = '<td align=\"left\">';</script>"
        "</div></body></html>"
    )


@pytest.mark.parametrize(
    ("before", "after"),
    [
        # other spellings: case, spaces, single quotes, unquoted values
        ("<td ALIGN='LEFT' style='TEXT-ALIGN : LEFT; Float:right'>",
         "<td ALIGN='RIGHT' style='TEXT-ALIGN : RIGHT; Float:left'>"),
        ('<td align = " left " style = "direction : ltr;float:left">',
         '<td align = " right " style = "direction : rtl;float:right">'),
        ("<td align=' left ' style='float:left'>", "<td align=' right ' style='float:right'>"),
        ("<td align=left style=text-align:right>", "<td align=right style=text-align:left>"),
        ('<img src="a.png" align="left"/>', '<img src="a.png" align="right"/>'),
        ('<div title="a > b" style="text-align:left">', '<div title="a > b" style="text-align:right">'),
        ('<p style="font-family:\'Noto Naskh\', serif;text-align:left">',
         '<p style="font-family:\'Noto Naskh\', serif;text-align:right">'),
        # words that only hold a side: untouched
        ('<td style="padding-left:4px;border-right:1px solid;margin-left:auto">', None),
        ('<td class="left" data-align="left" valign="top" title="align left">', None),
        ('<td style="text-align:leftmost;-x-text-align:left;vertical-align:top;background-position:left">', None),
        ('<td style="text-align:center;direction:rtl" align="center">', None),
    ],
)
def test_mirror_reads_attributes_as_a_browser_does(before: str, after: str | None) -> None:
    assert mirror(before) == (after or before)


def test_dir_is_replaced_on_the_document_body_and_wrapper() -> None:
    html = '<!doctype html><html DIR="ltr" lang="ar"><body class="x"><!-- <div> --><div dir=auto role="article"><div>'
    assert mirror(html) == (
        '<!doctype html><html dir="rtl" lang="ar"><body class="x" dir="rtl"><!-- <div> -->'
        '<div dir="rtl" role="article"><div>'
    )
    assert mirror("<p>no document</p>") == "<p>no document</p>"


@pytest.mark.parametrize(
    "path",
    sorted((REPO / "tests" / "projects" / "fidelity").glob("*.mjml"))
    + sorted((REPO / "tests" / "projects" / "realworld").glob("*.mjml")),
    ids=lambda p: p.stem,
)
def test_mirror_matches_the_oracle_on_every_mjml_case(path) -> None:  # type: ignore[no-untyped-def]
    html = render_plain_mjml(mjml_dir(path.read_text(encoding="utf-8"), "he", True))
    check_against_oracle(html, mirror(html))


# --------------------------------------------------------------------------
# mjml_dir()
# --------------------------------------------------------------------------


def test_mjml_dir_sets_lang_and_dir_on_the_root() -> None:
    assert mjml_dir("<mjml><mj-body /></mjml>", "ar", True) == '<mjml lang="ar" dir="rtl"><mj-body /></mjml>'
    # replaces the root's own, keeps its other attributes and its line breaks
    src = '<!-- <mjml lang="xx"> -->\n<mjml lang="en"\n  dir="rtl" owa="desktop">\n<mj-body />\n</mjml>'
    out = mjml_dir(src, "pt_BR", False)
    assert out == '<!-- <mjml lang="xx"> -->\n<mjml\n owa="desktop" lang="pt-BR" dir="ltr">\n<mj-body />\n</mjml>'
    assert out.count("\n") == src.count("\n")
    assert mjml_dir("<mj-body />", "ar", True) == "<mj-body />"
    html = render_plain_mjml(mjml_dir(ARABIC, "pt_BR", False))
    assert '<html lang="pt-BR" dir="ltr"' in html and 'lang="pt-BR" dir="ltr"' in html.split("<body", 1)[1]


# --------------------------------------------------------------------------
# Chromium: measured, not read from the HTML
# --------------------------------------------------------------------------


def png_pixels(png: bytes) -> tuple[int, int, list[bytes], int]:
    """(width, height, rows, bytes a pixel) of an 8-bit RGB/RGBA PNG, as Chromium writes them."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, b""
    width = height = bpp = 0
    while pos < len(png):
        length, kind = struct.unpack(">I4s", png[pos : pos + 8])
        data = png[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", data)
            assert depth == 8 and colour in (2, 6) and interlace == 0, (depth, colour, interlace)
            bpp = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += data
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows: list[bytes] = []
    prev = bytearray(stride)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, rows, bpp


def columns_where(png: bytes, test) -> list[int]:  # type: ignore[no-untyped-def]
    """The x of every pixel column of ``png`` holding a pixel ``test(r, g, b)`` accepts."""
    width, _, rows, bpp = png_pixels(png)
    return [x for x in range(width) if any(test(row[x * bpp], row[x * bpp + 1], row[x * bpp + 2]) for row in rows)]


def dark(r: int, g: int, b: int) -> bool:
    return r < 128 and g < 128 and b < 128


def red(r: int, g: int, b: int) -> bool:
    return r > 160 and g < 80 and b < 80


TEXTS = (f"مرحبا {TOKEN}", "أهلا وسهلا", "العمود الثاني")  # default align, explicit left, column 2
RIGHT_TEXT = "شكرا لك"  # explicit align="right"
# The box of the mj-text <div> holding exactly this text (its <td> holds the padding).
TEXT_BOX_JS = """text => {
  const div = [...document.querySelectorAll('div')].find(d => d.children.length === 0 && d.textContent.trim() === text);
  const r = div.getBoundingClientRect();
  return {x: r.x, y: r.y, width: r.width, height: r.height};
}"""
# The box of the first column's red block, and of the image (a light green stub, tests/browser.py).
RED_BOX_JS = """() => {
  const el = [...document.querySelectorAll('body *')]
    .find(e => getComputedStyle(e).backgroundColor === 'rgb(208, 0, 0)');
  const r = el.getBoundingClientRect();
  return {x: r.x, y: r.y, width: r.width, height: r.height};
}"""
IMAGE_BOX_JS = """() => {
  const r = document.querySelector('img').getBoundingClientRect();
  return {x: r.x, y: r.y, width: r.width, height: r.height};
}"""


def green(r: int, g: int, b: int) -> bool:
    return g > 200 and r < 180 and b < 180


def measure(b, html: str, name: str) -> dict[str, tuple[float, float, int, int]]:  # type: ignore[no-untyped-def]
    """For each text, the red block and the image: (box left, box right, first
    ink x, last ink x), the ink read from a screenshot of a band across the
    whole 600 px page, as high as the box."""
    out: dict[str, tuple[float, float, int, int]] = {}
    page = open_html(b, html, 600)
    try:
        artifacts = REPO / "tests" / "artifacts"
        artifacts.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(artifacts / f"rtl-{name}.png"), full_page=True)
        boxes = [(t, page.evaluate(TEXT_BOX_JS, t), dark) for t in (*TEXTS, RIGHT_TEXT)]
        boxes += [("red block", page.evaluate(RED_BOX_JS), red), ("image", page.evaluate(IMAGE_BOX_JS), green)]
        for key, box, test in boxes:
            clip = {"x": 0, "y": box["y"], "width": 600, "height": box["height"]}
            ink = columns_where(page.screenshot(clip=clip, animations="disabled", caret="hide"), test)
            assert ink, f"no ink for {key} in the {name} rendering"
            out[key] = (box["x"], box["x"] + box["width"], ink[0], ink[-1])
    finally:
        page.close()
    return out


def hugs_right(m: tuple[float, float, int, int]) -> bool:
    """The ink ends at the right edge of its box (a glyph's side bearing
    apart) and starts well inside it: these texts are short."""
    left, right, first, last = m
    return right - 6 <= last + 1 <= right + 1 and first - left > 60


def hugs_left(m: tuple[float, float, int, int]) -> bool:
    left, right, first, last = m
    return left - 1 <= first <= left + 6 and right - (last + 1) > 60


@pytest.mark.browser
def test_arabic_email_reads_right_to_left_in_chromium() -> None:
    plain = compiled()  # <html dir="rtl">, MRML's inline sides as they are
    with browser() as b:
        mirrored = measure(b, mirror(plain), "mirrored")
        unmirrored = measure(b, plain, "unmirrored")

    # mj-text by default, with align="left" and in the second column: on the right;
    # align="right" mirrors to the left; the image (align="left") sits on the right
    assert all(hugs_right(mirrored[t]) for t in TEXTS), mirrored
    assert hugs_left(mirrored[RIGHT_TEXT]), mirrored
    assert mirrored["image"][3] == 574, mirrored["image"]  # 25 px padding from the right
    # the two-column section: the first column (the red block) fills the right
    # half, the second column's text is in the left half
    assert mirrored["red block"][2:] == (300, 599), mirrored["red block"]
    assert mirrored[TEXTS[2]][1] <= 300, mirrored[TEXTS[2]]

    # Without mirror() the same document, dir="rtl" and all, still reads left
    # to right: each paragraph hugs the left edge, the first column is on the left.
    assert all(hugs_left(unmirrored[t]) for t in TEXTS), unmirrored
    assert hugs_right(unmirrored[RIGHT_TEXT]), unmirrored
    assert unmirrored["image"][2] == 25, unmirrored["image"]
    assert unmirrored["red block"][2:] == (0, 299), unmirrored["red block"]
