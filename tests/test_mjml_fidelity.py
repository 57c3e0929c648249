"""letterhead's MJML output looks like the official compiler's.

Two kinds of test:

* fast regression tests, one per fix in ``letterhead.authoring.mjml_fixes``, asserting on
  the MJML or HTML (each names the MRML difference it guards);
* pixel tests: every case in ``tests/projects/fidelity/*.mjml`` is compiled by
  letterhead and rendered in headless Chromium next to the official
  compiler's HTML for it, committed under ``tests/projects/fidelity/official/``
  (written by ``bench/fidelity.py --write-official``, so no node is needed
  here), at 600 and 375 px: not one pixel may differ.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
import sys
from html.parser import HTMLParser

import pytest

from letterhead.authoring import mjml_fixes
from letterhead.authoring.compile import render_plain_mjml
from letterhead.authoring.mjml import compile_mjml
from letterhead.authoring.mjml_layout import layout

from .helpers import REPO

CASES = REPO / "tests" / "projects" / "fidelity"
OFFICIAL = CASES / "official"


def body(*components: str, head: str = "") -> str:
    return (
        f"<mjml><mj-head>{head}</mj-head><mj-body><mj-section><mj-column>"
        + "".join(components)
        + "</mj-column></mj-section></mj-body></mjml>"
    )


class _Tags(HTMLParser):
    """Start tags with their attributes as a browser decodes them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):  # type: ignore[no-untyped-def]
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):  # type: ignore[no-untyped-def]
        self.text.append(data)


def parsed(html: str) -> _Tags:
    p = _Tags()
    p.feed(html)
    p.close()
    return p


def tags(html: str, name: str, **having: str) -> list[dict[str, str | None]]:
    return [a for t, a in parsed(html).tags if t == name and all(a.get(k) == v for k, v in having.items())]


# --------------------------------------------------------------------------
# before_mrml
# --------------------------------------------------------------------------


def test_unitless_zero_padding_is_0px() -> None:
    # MRML's width arithmetic breaks on padding="0 50px"; MJML reads 0 as 0px.
    src = body('<mj-image src="https://x/a.png" padding="0 50px" />', '<mj-text padding-left="0">t</mj-text>')
    fixed = mjml_fixes.before_mrml(src)
    assert 'padding="0px 50px"' in fixed and 'padding-left="0px"' in fixed
    html = compile_mjml(src)
    assert tags(html, "img")[0]["width"] == "500"  # 600 - 2 * 50, as MJML computes


def test_unitless_zero_in_mj_attributes_and_inner_padding() -> None:
    fixed = mjml_fixes.before_mrml(
        '<mjml><mj-head><mj-attributes><mj-text padding="0 24px" /></mj-attributes></mj-head>'
        '<mj-body><mj-section><mj-column><mj-button inner-padding="10px 0">b</mj-button>'
        "</mj-column></mj-section></mj-body></mjml>"
    )
    assert 'padding="0px 24px"' in fixed and 'inner-padding="10px 0px"' in fixed
    # values that merely contain a 0 are left alone
    assert mjml_fixes.before_mrml('<mj-text padding="10px 0.5px 20px">') == '<mj-text padding="10px 0.5px 20px">'


def test_bare_less_than_in_text_compiles_and_renders_as_text() -> None:
    # MRML: "unable to parse next template"; MJML passes '<' through and a
    # '<' that starts no tag shows as text.
    html = render_plain_mjml(
        body(
            "<mj-text>3 < 5, 1 <= 2, I <3 email & R&D <b>bold</b></mj-text>",
            '<mj-button href="https://x">Save < now</mj-button>',
            head="<mj-title>A < B</mj-title><mj-preview>x < y</mj-preview>",
        )
    )
    text = "".join(parsed(html).text)
    assert "3 < 5, 1 <= 2, I <3 email & R&D bold" in text
    assert "Save < now" in text
    assert "<title>A &lt; B</title>" in html
    assert "<b>bold</b>" in html  # real tags untouched


def test_whitespace_with_newline_between_tags_is_kept() -> None:
    # MRML drops a whitespace-only text node holding a newline or tab, so
    # "<b>Name</b>\n<a>link</a>" reads "Namelink"; MJML keeps the space.
    html = compile_mjml(body('<mj-text><b>Name</b>\n   <a href="https://x">link</a>\t<i>x</i></mj-text>'))
    assert "Name link x" in " ".join("".join(parsed(html).text).split())
    assert "Namelink" not in html


def test_html_attribute_values_survive_newlines_tabs_quotes_backslashes() -> None:
    # MRML re-prints them with Rust escapes: style="a;\n b" loses every later
    # declaration, title='say "hi"' comes out as title="say \"hi\"".
    style = "color: red;\n  font-weight: bold;\tletter-spacing: 2px;"
    html = compile_mjml(
        body(
            f'<mj-text><span style="{style}" title=\'say "hi"\' data-p="a\\b">x</span></mj-text>',
            f'<mj-raw><div\n  class="raw"\n  style="{style}">r</div></mj-raw>',
        )
    )
    span = tags(html, "span")[0]
    assert span == {"style": style, "title": 'say "hi"', "data-p": "a\\b"}
    assert tags(html, "div", **{"class": "raw"})[0]["style"] == style
    assert "\\n" not in html and '\\"' not in html


def test_mjml_attribute_newlines_and_quotes() -> None:
    # MRML prints a newline in mj-image alt as the two characters "\n", and
    # '"' as '\"' (which ends the attribute).
    html = compile_mjml(body('<mj-image src="https://x/a.png" alt="Line one\n  line two" title=\'The "Shop"\' />'))
    img = tags(html, "img")[0]
    assert img["alt"] == "Line one line two"
    assert img["title"] == 'The "Shop"'


def test_fluid_height_hero() -> None:
    # MRML only knows mode="fluid" and renders "fluid-height" as a 0px
    # fixed-height hero; its ratio spacer lacks the '%' unit.
    html = compile_mjml(
        '<mjml><mj-body><mj-hero mode="fluid-height" background-width="600px" background-height="400px"'
        ' background-url="https://x/h.jpg" padding="60px 0px"><mj-text>Hi</mj-text></mj-hero></mj-body></mjml>'
    )
    assert html.count("padding-bottom:67%") == 2  # Math.round(400 / 600 * 100)
    assert "height:-" not in html and 'height="-' not in html


def test_alt_defaults_to_empty() -> None:
    # MJML gives mj-image, mj-carousel-image and mj-social-element images
    # alt="" by default; MRML omits alt (screen readers then read the URL).
    html = compile_mjml(
        body(
            '<mj-image src="https://x/a.png" />',
            '<mj-image src="https://x/b.png" alt="Logo" />',
            '<mj-social><mj-social-element name="facebook" href="https://x">F</mj-social-element></mj-social>',
            '<mj-carousel><mj-carousel-image src="https://x/1.png" /></mj-carousel>',
        )
    )
    alts = {a["src"]: a.get("alt") for a in tags(html, "img")}
    assert alts["https://x/a.png"] == "" and alts["https://x/b.png"] == "Logo"
    assert all(v is not None for v in alts.values()), alts


def test_alt_default_yields_to_mj_attributes() -> None:
    src = body('<mj-image src="https://x/a.png" />', head='<mj-attributes><mj-image alt="Default" /></mj-attributes>')
    assert 'alt=""' not in mjml_fixes.before_mrml(src)


def test_button_title_is_kept() -> None:
    # MJML puts mj-button's title on the link; MRML drops it.
    html = compile_mjml(
        body(
            '<mj-button href="https://x" title="Pay now &amp; relax" css-class="cta">Pay</mj-button>',
            "<mj-button title='Say \"later\"'>Later</mj-button>",
        )
    )
    assert tags(html, "a")[0]["title"] == "Pay now & relax"
    assert tags(html, "p", title='Say "later"')
    assert mjml_fixes.BUTTON_TITLE_MARK not in html
    assert tags(html, "td", **{"class": "cta"}), "the designer's css-class stays"


# --------------------------------------------------------------------------
# after_mrml
# --------------------------------------------------------------------------


def test_mj_table_border_collapse_follows_cellspacing() -> None:
    # MJML 5: border-collapse:separate iff cellspacing > 0.  MRML: iff a
    # border is set, so row borders vanish and cellspacing does nothing.
    html = compile_mjml(
        body(
            '<mj-table border="1px solid #999" cellpadding="6px"><tr style="border-bottom:1px solid #eee"><td>a</td></tr></mj-table>',
            '<mj-table cellspacing="4" width="300px"><tr><td>b</td></tr></mj-table>',
        )
    )
    first, second = [a for a in tags(html, "table") if "table-layout" in (a.get("style") or "")]
    assert "border-collapse" not in (first["style"] or "")
    assert "border-collapse:separate" in (second["style"] or "")
    assert second["width"] == "300"


def test_carousel_yahoo_query_stays_yahoo_only() -> None:
    # MRML turns MJML's "@media screen yahoo" (never true) into
    # "@media screen, yahoo" (always true): arrows and thumbnails disappear.
    html = compile_mjml(body('<mj-carousel><mj-carousel-image src="https://x/1.png" /><mj-carousel-image src="https://x/2.png" /></mj-carousel>'))
    assert "@media screen yahoo" in html and "screen, yahoo" not in html


def test_image_widths_are_whole_pixels() -> None:
    # MRML: width="143.31401"; MJML truncates the image box to whole pixels.
    html = compile_mjml(
        "<mjml><mj-body><mj-section padding=\"20px 10px\">"
        + '<mj-column width="33.33%"><mj-image src="https://x/a.png" width="160px" href="https://x" /></mj-column>' * 3
        + "</mj-section></mj-body></mjml>"
    )
    widths = [a["width"] for a in tags(html, "img")]
    assert widths and all(re.fullmatch(r"\d+", w or "") for w in widths), widths
    assert not re.search(r'<td style="width:\d+\.\d+px;">', html)


def test_outlook_column_widths_are_whole_pixels() -> None:
    # Outlook's column cells: MRML writes width:191.4px, MJML rounds (191px).
    html = compile_mjml(
        '<mjml><mj-body><mj-section padding="10px"><mj-column width="33%"><mj-text>a</mj-text></mj-column>'
        '<mj-column width="67%"><mj-text>b</mj-text></mj-column></mj-section></mj-body></mjml>'
    )
    mso = "".join(re.findall(r"<!--\[if mso \| IE\]>.*?<!\[endif\]-->", html, re.DOTALL))
    assert "width:191px" in mso and "width:389px" in mso
    assert not re.search(r"width:\d+\.\d+px", mso)


def test_outlook_group_column_widths_share_the_group() -> None:
    # MJML: each column of an mj-group gets its share of the group in
    # Outlook (548 * 50% = 274px); MRML also subtracts the column padding.
    html = compile_mjml(
        '<mjml><mj-body><mj-section padding="0px 26px"><mj-group>'
        + '<mj-column width="50%" padding="0px 6px"><mj-text>a</mj-text></mj-column>' * 2
        + "</mj-group></mj-section></mj-body></mjml>"
    )
    assert html.count("vertical-align:top;width:274px;") == 2, html


def test_hero_content_is_as_wide_as_the_hero_less_its_padding() -> None:
    # MJML lays out mj-hero content in the hero width less its horizontal
    # padding; MRML uses the whole width, so images stick out of the hero.
    html = compile_mjml(
        '<mjml><mj-body><mj-hero height="300px" background-url="https://x/h.jpg" padding="20px 50px" padding-left="70px">'
        '<mj-image src="https://x/i.png" /><mj-image src="https://x/s.png" width="120px" /><mj-divider />'
        "</mj-hero></mj-body></mjml>"
    )
    assert [a["width"] for a in tags(html, "img")] == ["430", "120"]  # 600 - 120 - 2 * 25
    assert 'width="480" style="width:480px;"' in html  # Outlook's content table
    assert 'width="430px"' in html  # Outlook's divider table


def test_unsupported_attributes_are_reported() -> None:
    src = body('<mj-image src="x" border-top="1px solid red" alt="" />', '<mj-text>t</mj-text>')
    assert [(tag, attr) for _, tag, attr in mjml_fixes.unsupported_attributes(src)] == [("mj-image", "border-top")]


def test_default_font_imported_when_output_uses_it() -> None:
    # MJML imports Ubuntu when any font-family in the output names it (here
    # mj-navbar's hamburger); MRML only looks at component attributes.
    html = compile_mjml(
        body(
            '<mj-navbar hamburger="hamburger" font-family="Arial"><mj-navbar-link href="/a">A</mj-navbar-link></mj-navbar>',
            head='<mj-attributes><mj-all font-family="Arial" /></mj-attributes>',
        )
    )
    assert "font-family:Ubuntu" in html
    assert html.count("family=Ubuntu:300,400,500,700") == 2  # <link> and @import, once each
    plain = compile_mjml(body('<mj-text font-family="Arial">a</mj-text>'))
    assert "fonts.googleapis" not in plain


def test_after_mrml_leaves_plain_html_alone() -> None:
    html = '<html><head></head><body><table border="0"><tr><td style="width:10px;">x</td></tr></table></body></html>'
    assert mjml_fixes.after_mrml(html) == html


# --------------------------------------------------------------------------
# layout: what MJML computes from the source's structure
# --------------------------------------------------------------------------


def _section(*columns: str, attrs: str = "") -> str:
    return f"<mjml><mj-body><mj-section{attrs}>{''.join(columns)}</mj-section></mj-body></mjml>"


def _img_widths(html: str) -> list[tuple[str | None, str | None]]:
    """(img width, its cell's or, full-width, its table's CSS width) of each mj-image."""
    found = re.findall(
        r'<table [^>]*style="([^"]*border-collapse:collapse;border-spacing:0px;)"><tbody><tr><td[^>]*?'
        r'(?: style="width:([^;"]*);")?>(?:<a\b[^>]*>)?<img\b[^>]*?\swidth="([^"]*)"',
        html,
    )
    return [(img, cell or (re.search(r"(?<![-\w])width:([^;]*)", table) or [None, None])[1])
            for table, cell, img in found]


# Each expected width is what the official compiler (mjml 5.4) writes for the
# document: MJML truncates where it reads a width back (parseInt of the
# column's "199.99999999999997px", of "5.5px" padding...), MRML does not.
IMAGE_WIDTH_CASES = {
    # the case: 600px body, 33.33333333333333% column, 25px image padding: MRML 150
    "third": (_section('<mj-column width="33.33333333333333%"><mj-image src="https://x/a.png" /></mj-column>'),
              ["149"]),
    "sixths": (
        _section(
            '<mj-column width="16.666666666666664%" border="1px solid #000">'
            '<mj-image src="https://x/a.png" padding="10px 13px" /></mj-column>'
            '<mj-column width="66.66666666666667%" padding-left="5.5px">'
            '<mj-image src="https://x/b.png" border="2px solid red" /></mj-column>'
            '<mj-column width="16.666666666666664%"><mj-image src="https://x/c.png" width="90px" /></mj-column>'
        ),
        ["71", "341", "49"],
    ),
    "px_column": (
        _section(
            '<mj-column width="199.5px" inner-border="2px solid red" padding="3px">'
            '<mj-image src="https://x/a.png" padding-left="0px" padding-right="1.5px" /></mj-column>'
        ),
        ["188"],
    ),
    "group": (  # full-width: MJML 5's validator calls it illegal, but both compilers honour it
        _section(
            '<mj-group><mj-column><mj-image src="https://x/a.png" full-width="full-width" /></mj-column>'
            '<mj-column><mj-image src="https://x/b.png" href="https://y" /></mj-column><mj-raw><p>r</p></mj-raw>'
            '<mj-column><mj-image src="https://x/c.png" fluid-on-mobile="true" /></mj-column></mj-group>',
            attrs=' padding="0 11px"',
        ),
        ["142", "142", "142"],
    ),
    "wrapper_and_hero": (
        "<mjml><mj-body><mj-wrapper><mj-section>"
        '<mj-column width="45.5%"><mj-image src="https://x/a.png" padding="10px 7.5px 3px" /></mj-column>'
        '<mj-column><mj-image src="https://x/b.png" padding="10px 7.5px 3px" /></mj-column></mj-section></mj-wrapper>'
        '<mj-hero background-url="https://x/h.png" padding-left="17px" padding-right="4.5px">'
        '<mj-image src="https://x/c.png" /></mj-hero></mj-body></mjml>',
        ["259", "286", "529"],
    ),
    "mj_attributes": (
        '<mjml><mj-head><mj-attributes><mj-body width="500px" /><mj-section padding="0 13px" border="1px solid" />'
        '<mj-class name="narrow" padding="0 7px" width="120.9px" /></mj-attributes></mj-head><mj-body><mj-section>'
        '<mj-column width="33.33333333333333%"><mj-image src="https://x/a.png" /></mj-column>'
        '<mj-column><mj-image src="https://x/b.png" mj-class="narrow" /></mj-column></mj-section></mj-body></mjml>',
        ["107", "120"],
    ),
}


@pytest.mark.parametrize("case", sorted(IMAGE_WIDTH_CASES))
def test_image_widths_follow_mjml_arithmetic(case: str) -> None:
    source, expected = IMAGE_WIDTH_CASES[case]
    html = compile_mjml(source)
    assert [img for img, _ in _img_widths(html)] == expected
    assert [css for _, css in _img_widths(html)] == [f"{w}px" for w in expected]


def test_image_widths_stay_mrml_when_the_images_cannot_be_matched() -> None:
    # mj-raw holding what looks like an image block: the images found are not
    # the source's, so MRML's widths stay (whole pixels, as before)
    fake = (
        '<table border="0" cellpadding="0" cellspacing="0" role="presentation" style="border-collapse:collapse;'
        'border-spacing:0px;"><tbody><tr><td style="width:7px;"><img src="r.png" width="7"></td></tr></tbody></table>'
    )
    html = compile_mjml(_section(
        f'<mj-column width="33.33333333333333%"><mj-raw>{fake}</mj-raw><mj-image src="https://x/a.png" /></mj-column>'
    ))
    assert [img for img, _ in _img_widths(html)] == ["7", "150"]
    # a placeholder where a number belongs: MJML's arithmetic gives NaN, MRML's width stays
    source = _section('<mj-column><mj-image src="https://x/a.png" padding="LH_P1" /></mj-column>')
    assert layout(source).image_widths == (None,)
    assert [img for img, _ in _img_widths(compile_mjml(source))] == ["600"]


def test_mj_body_attributes_from_mj_attributes() -> None:
    # MRML ignores <mj-body> defaults in mj-attributes: the email was 600px
    # wide and white where MJML makes it 500px and grey.
    html = compile_mjml(
        '<mjml><mj-head><mj-attributes><mj-body width="500px" background-color="#eeeeee" /></mj-attributes>'
        '</mj-head><mj-body><mj-section><mj-column><mj-text>t</mj-text></mj-column></mj-section></mj-body></mjml>'
    )
    assert "max-width:500px" in html and "max-width:600px" not in html
    assert tags(html, "body")[0]["style"] == "word-spacing:normal;background-color:#eeeeee;"
    # the body's own attribute wins, as in MJML
    html = compile_mjml(
        '<mjml><mj-head><mj-attributes><mj-body width="500px" /></mj-attributes></mj-head>'
        '<mj-body width="520px"><mj-section><mj-column><mj-text>t</mj-text></mj-column></mj-section></mj-body></mjml>'
    )
    assert "max-width:520px" in html


def _social_icons(html: str) -> list[dict[str, str | None]]:
    return [a for a in tags(html, "img") if "ico-social" in (a.get("src") or "") or a.get("src") == "https://x/s.png"]


def test_social_icons_have_mjml_border() -> None:
    # MJML styles each icon "border:0" (the element's border attribute, or
    # mj-social's); MRML writes no border at all.
    html = compile_mjml(body(
        '<mj-social><mj-social-element name="facebook" href="https://f">F</mj-social-element>'
        '<mj-social-element name="x" border="2px solid red" /></mj-social>',
        '<mj-social border="3px dotted blue"><mj-social-element src="https://x/s.png" href="https://s">S'
        "</mj-social-element></mj-social>",
    ))
    styles = [a["style"] for a in _social_icons(html)]
    assert styles == [
        "border:0;border-radius:3px;display:block;",
        "border:2px solid red;border-radius:3px;display:block;",
        "border:3px dotted blue;border-radius:3px;display:block;",
    ]


def test_social_element_mj_attributes_beat_what_mj_social_hands_down() -> None:
    # MJML: mj-class and mj-attributes defaults of an mj-social-element beat
    # mj-social's own values (here its defaults: icon-size 20px, color
    # #333333); MRML let mj-social's win.
    html = compile_mjml(body(
        '<mj-social><mj-social-element name="facebook" mj-class="big" href="https://f">F</mj-social-element>'
        '<mj-social-element name="x" href="https://x" icon-size="25px">X</mj-social-element></mj-social>',
        head='<mj-attributes><mj-social-element color="#00aa00" /><mj-class name="big" icon-size="33px" />'
        "</mj-attributes>",
    ))
    assert [a["width"] for a in _social_icons(html)] == ["33", "25"]
    assert 'style="background:#3b5998;border-radius:3px;width:33px;"' in html
    assert [a["style"] for a in tags(html, "a") if "color:" in (a.get("style") or "")] == [
        "color:#00aa00;font-size:13px;font-family:Ubuntu, Helvetica, Arial, sans-serif;line-height:22px;"
        "text-decoration:none;"
    ] * 2


def test_carousel_widths_follow_mjml() -> None:
    # MJML 5.4: thumbnails are 110px unless tb-width says otherwise (MRML:
    # the column width / the number of images); images as wide as the
    # column, as MJML writes it.
    html = compile_mjml(body(
        '<mj-carousel><mj-carousel-image src="https://x/1.png" /><mj-carousel-image src="https://x/2.png" />'
        '<mj-carousel-image src="https://x/3.png" /></mj-carousel>'
    ).replace("<mj-column>", '<mj-column width="33.33333333333333%">'))
    thumbnails = [a for a in tags(html, "a") if "mj-carousel-thumbnail" in (a.get("class") or "")]
    assert len(thumbnails) == 3 and all("width:110px;" in (a["style"] or "") for a in thumbnails)
    assert [a["width"] for a in tags(html, "img") if a.get("alt") == "" and a.get("style", "").startswith("display")] \
        == ["110"] * 3
    images = re.findall(r'<img border="0"[^>]*>', html)
    assert len(images) == 4  # three, and the first again for Outlook (in a conditional comment)
    assert all('width="199"' in img and "width:199.99999999999997px;" in img for img in images), images


# --------------------------------------------------------------------------
# Pixels, against the official compiler's committed HTML
# --------------------------------------------------------------------------


def _fidelity_module():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("lh_bench_fidelity", REPO / "bench" / "fidelity.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look themselves up there
    spec.loader.exec_module(module)
    return module


PIXEL_CASES = sorted(p.stem for p in CASES.glob("*.mjml"))
# Pixels a case may differ by from rasterisation alone: the carousel's rounded
# thumbnail borders came out 1 pixel apart once in a clean-clone CI run on a
# loaded machine, with identical HTML widths (test_carousel_widths_follow_mjml
# checks those exactly).  The width bug this case guards showed 6,000+ pixels.
# The social icons' rounded corners did the same once (1 pixel at a corner of
# the Facebook icon at 375 px, clean-clone CI, session 5); the attribute and
# border bugs that case guards differ by hundreds of pixels.
RASTER_NOISE = {"carousel_thumbnails": 8, "social_attributes": 8}


def test_official_html_is_committed_and_current() -> None:
    manifest = json.loads((OFFICIAL / "manifest.json").read_text(encoding="utf-8"))
    assert PIXEL_CASES, "no fidelity cases"
    for name in PIXEL_CASES:
        source = (CASES / f"{name}.mjml").read_text(encoding="utf-8")
        assert name in manifest["cases"] and (OFFICIAL / f"{name}.html").is_file(), (
            f"no official HTML for {name}.mjml: run `.venv/bin/python bench/fidelity.py --write-official`"
        )
        assert manifest["cases"][name]["sha256"] == hashlib.sha256(source.encode("utf-8")).hexdigest(), (
            f"{name}.mjml changed since its official HTML was written: "
            "run `.venv/bin/python bench/fidelity.py --write-official`"
        )


@pytest.fixture(scope="module")
def renderer():  # type: ignore[no-untyped-def]
    fidelity = _fidelity_module()
    with fidelity.Renderer() as r:  # a missing Chromium fails here, never skips
        yield r


@pytest.mark.browser
@pytest.mark.parametrize("name", PIXEL_CASES)
def test_pixels_match_official_compiler(renderer, name: str) -> None:  # type: ignore[no-untyped-def]
    official = (OFFICIAL / f"{name}.html").read_text(encoding="utf-8")
    ours = render_plain_mjml((CASES / f"{name}.mjml").read_text(encoding="utf-8"))
    for width in (600, 375):
        cmp = renderer.compare(official, ours, width)
        if cmp.diff_pixels:
            out = REPO / "tests" / "artifacts"
            out.mkdir(parents=True, exist_ok=True)
            (out / f"fidelity-{name}-{width}.png").write_bytes(cmp.diff_png or b"")
        assert cmp.diff_pixels <= RASTER_NOISE.get(name, 0), (
            f"{name} at {width}px: {cmp.diff_pixels} pixels ({100 * cmp.share:.3f}%) differ from the official "
            f"compiler, height {cmp.height_letterhead} vs {cmp.height_official}px; "
            f"see tests/artifacts/fidelity-{name}-{width}.png (official | letterhead | diff)"
        )
